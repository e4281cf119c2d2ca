package quicwire

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"math/big"
	"testing"
	"time"
)

func parseCert(t *testing.T, der []byte) *x509.Certificate {
	t.Helper()
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestPeerID(t *testing.T) {
	id := newIdentity(t)
	cert, err := certificate(id)
	if err != nil {
		t.Fatal(err)
	}
	good := parseCert(t, cert.Certificate[0])

	// The same Ed25519 key, signed by another: not self-signed.
	other := newIdentity(t)
	otherCert, _ := certificate(other)
	parent := parseCert(t, otherCert.Certificate[0])
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, id.Key.Public(), other.Key)
	if err != nil {
		t.Fatal(err)
	}
	crossSigned := parseCert(t, der)

	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, err = x509.CreateCertificate(rand.Reader, tmpl, tmpl, &ecKey.PublicKey, ecKey)
	if err != nil {
		t.Fatal(err)
	}
	ecCert := parseCert(t, der)

	if got, err := peerID([]*x509.Certificate{good}); err != nil || got != id.ID {
		t.Fatalf("good certificate: %v %v", got, err)
	}
	for name, certs := range map[string][]*x509.Certificate{
		"none":         nil,
		"two":          {good, good},
		"cross-signed": {crossSigned},
		"ecdsa":        {ecCert},
	} {
		if _, err := peerID(certs); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// The server checks client certificates itself: an ECDSA certificate,
// which crypto/tls would accept under RequireAnyClientCert, is refused
// during the handshake.
func TestServerRefusesForeignCertificate(t *testing.T) {
	lender := newNode(t, nodeOpts{})
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(3), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &ecKey.PublicKey, ecKey)
	if err != nil {
		t.Fatal(err)
	}
	conf := &tls.Config{
		Certificates:       []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: ecKey}},
		InsecureSkipVerify: true,
		NextProtos:         []string{alpn},
		MinVersion:         tls.VersionTLS13,
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	conn, err := rawTransport(t).Dial(ctx, lender.Addr(), conf, quicConfig(false))
	if err == nil {
		// TLS 1.3 clients finish before the server has checked them; the
		// refusal then arrives as the connection's end.
		select {
		case <-conn.Context().Done():
			if _, app := closedByPeer(context.Cause(conn.Context())); app {
				t.Fatalf("closed by the application (%v), not by the TLS check", context.Cause(conn.Context()))
			}
		case <-time.After(helloTimeout / 2):
			t.Fatal("server kept a connection with an ECDSA client certificate")
		}
	}
}
