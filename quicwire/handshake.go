package quicwire

import (
	"context"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/dragonload/dragonload/core/names"
	"github.com/dragonload/dragonload/quicwire/cpace"
	"github.com/dragonload/dragonload/quicwire/wire"
	"github.com/quic-go/quic-go"
)

// ProtocolVersion is the highest protocol version this package speaks,
// offered in HELLO. Version 2 replaced version 1's HMAC room proof with
// CPace; version 3 added HAVE, READ, SEARCH and NOTE and kept the hello
// as it was, so a node still speaks 2 with a peer that knows no better;
// version 4 dropped the SHA-256 from END.
const ProtocolVersion = 4

const (
	alpn = "dragonload/1"
	// minVersion is the oldest version this code still speaks.
	minVersion = 2
	// shareVersion is the first version with HAVE, READ, SEARCH and NOTE.
	shareVersion = 3
	// sumlessVersion is the first version whose END carries no SHA-256.
	sumlessVersion = 4
	helloTimeout   = 10 * time.Second
)

// certificate makes the self-signed certificate that carries the node's
// Ed25519 key in TLS. Nothing checks its names or dates: peers trust the
// key, via the room proof, not the certificate.
func certificate(id *Identity) (tls.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("make certificate serial: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: id.ID.String()},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(20, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, id.Key.Public(), id.Key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("make certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: id.Key}, nil
}

// peerID checks the certificate a peer presented, exactly one, self-signed
// by an Ed25519 key, and returns the node id of that key. TLS has already
// checked that the peer holds the key's private half.
func peerID(certs []*x509.Certificate) (NodeID, error) {
	if len(certs) != 1 {
		return NodeID{}, fmt.Errorf("peer presented %d certificates, want 1", len(certs))
	}
	c := certs[0]
	pub, ok := c.PublicKey.(ed25519.PublicKey)
	if !ok {
		return NodeID{}, fmt.Errorf("peer certificate holds a %T key, want Ed25519", c.PublicKey)
	}
	if err := c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature); err != nil {
		return NodeID{}, fmt.Errorf("peer certificate is not self-signed: %w", err)
	}
	return idOf(pub), nil
}

// tlsConfigs returns the server and client TLS configurations of a node.
// Both sides present certificates and check the other's themselves:
// crypto/tls verifies nothing (a client with InsecureSkipVerify, a server
// with RequireAnyClientCert), VerifyConnection does. Session tickets are
// off, so every connection carries a certificate.
func tlsConfigs(id *Identity) (server, client *tls.Config, err error) {
	cert, err := certificate(id)
	if err != nil {
		return nil, nil, err
	}
	verify := func(cs tls.ConnectionState) error {
		_, err := peerID(cs.PeerCertificates)
		return err
	}
	server = &tls.Config{
		Certificates:           []tls.Certificate{cert},
		ClientAuth:             tls.RequireAnyClientCert,
		VerifyConnection:       verify,
		NextProtos:             []string{alpn},
		MinVersion:             tls.VersionTLS13,
		SessionTicketsDisabled: true,
	}
	client = &tls.Config{
		Certificates:           []tls.Certificate{cert},
		InsecureSkipVerify:     true,
		VerifyConnection:       verify,
		NextProtos:             []string{alpn},
		MinVersion:             tls.VersionTLS13,
		ServerName:             "dragonload",
		SessionTicketsDisabled: true,
	}
	return server, client, nil
}

// connPeerID is the verified node id of the other end of conn.
func connPeerID(conn *quic.Conn) (NodeID, error) {
	return peerID(conn.ConnectionState().TLS.PeerCertificates)
}

// The room proof is CPace (draft-irtf-cfrg-cpace-21, package
// quicwire/cpace) bound to the TLS session, followed by key confirmation:
//
//	PRS = the room key (Argon2id of the room code, see room.go)
//	CI  = lv("dragonload/2") || lv(client id) || lv(server id)
//	sid = TLS-Exporter("EXPORTER-dragonload/2 cpace", no context, 32)
//	ISK = CPace-RISTR255-SHA512(PRS, CI, sid), client = initiator
//	Kc  = HKDF-Expand-SHA256(ISK, "dragonload/2 confirm client", 32)
//	Ks  = HKDF-Expand-SHA256(ISK, "dragonload/2 confirm server", 32)
//	tag = HMAC-SHA256(K, the share that side sent)
//
// Key confirmation is the draft's section 10.4: CPace alone authenticates
// only implicitly, and a server must not serve a client that has not shown
// it holds ISK. A transcript, or a fake peer that runs the exchange, lets
// nobody test guesses of the code offline: each run tests one guess.

// cpaceLabel is the TLS exporter label of the CPace session id.
const cpaceLabel = "EXPORTER-dragonload/2 cpace"

// roomProof is one side's CPace exchange on one connection.
type roomProof struct {
	state *cpace.State
	share []byte // what this side sends
}

// startProof begins this side's CPace exchange on conn. client and server
// are the two ends' node ids.
func startProof(conn *quic.Conn, room Room, role cpace.Role, client, server NodeID) (*roomProof, error) {
	cs := conn.ConnectionState().TLS
	sid, err := cs.ExportKeyingMaterial(cpaceLabel, nil, 32)
	if err != nil {
		return nil, fmt.Errorf("export TLS keying material: %w", err)
	}
	ci := lv(nil, []byte("dragonload/2"))
	ci = lv(ci, client[:])
	ci = lv(ci, server[:])
	st, share, err := cpace.Start(role, room.key[:], ci, sid, nil, nil)
	if err != nil {
		return nil, err
	}
	return &roomProof{state: st, share: share}, nil
}

// finish takes the other side's share and returns the two confirmation
// keys (client's, server's). A share that is not a valid element is a
// protocol violation.
func (p *roomProof) finish(peer []byte) (kc, ks []byte, err error) {
	isk, err := p.state.Finish(peer, nil)
	if err != nil {
		return nil, nil, violation("invalid CPace share: %v", err)
	}
	if kc, err = hkdf.Expand(sha256.New, isk, "dragonload/2 confirm client", 32); err != nil {
		return nil, nil, err
	}
	if ks, err = hkdf.Expand(sha256.New, isk, "dragonload/2 confirm server", 32); err != nil {
		return nil, nil, err
	}
	return kc, ks, nil
}

// confirmTag is a side's key-confirmation tag over the share it sent.
func confirmTag(key, share []byte) [wire.SumLen]byte {
	m := hmac.New(sha256.New, key)
	m.Write(share)
	var out [wire.SumLen]byte
	m.Sum(out[:0])
	return out
}

// lv appends b prefixed with its length as a uvarint.
func lv(dst, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

// hello is what one side of the hello exchange learned about the other.
type hello struct {
	id      NodeID
	name    string
	lending bool
	version int // the protocol version in use on the connection
}

// clientHello runs the client side of the hello exchange on a fresh
// connection: HELLO with our proof, WELCOME with the server's, then IDENT
// with our name, sent only once the server proved itself. speaks is the
// highest version to offer; the server may choose any from minVersion up.
func clientHello(ctx context.Context, conn *quic.Conn, self *Identity, room Room, name string, speaks int) (hello, error) {
	remote, err := connPeerID(conn)
	if err != nil {
		return hello{}, err
	}
	if remote == self.ID {
		conn.CloseWithError(closeSelf, "connected to itself")
		return hello{}, errSelf
	}
	pr, err := startProof(conn, room, cpace.Initiator, self.ID, remote)
	if err != nil {
		return hello{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, helloTimeout)
	defer cancel()
	s, err := conn.OpenStreamSync(ctx)
	if err != nil {
		return hello{}, helloError(err)
	}
	deadline, _ := ctx.Deadline()
	s.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { s.CancelRead(streamCanceled); s.CancelWrite(streamCanceled) })
	defer stop()

	hi := wire.Hello{Version: uint64(speaks)}
	copy(hi.Share[:], pr.share)
	frame, err := wire.AppendHello(nil, hi)
	if err != nil {
		return hello{}, err
	}
	if _, err := s.Write(frame); err != nil {
		return hello{}, helloError(err)
	}
	buf := getBuf()
	defer putBuf(buf)
	rd := wire.NewReader(s, *buf)
	typ, p, err := rd.Next()
	if err != nil {
		return hello{}, helloError(err)
	}
	if typ != wire.TypeWelcome {
		return hello{}, violation("%v frame instead of WELCOME", typ)
	}
	w, err := wire.DecodeWelcome(p)
	if err != nil {
		return hello{}, violation("%v", err)
	}
	if w.Version < minVersion || w.Version > uint64(speaks) {
		conn.CloseWithError(closeVersion, "unsupported protocol version")
		return hello{}, fmt.Errorf("peer chose protocol version %d, this node speaks %d to %d", w.Version, minVersion, speaks)
	}
	kc, ks, err := pr.finish(w.Share[:])
	if err != nil {
		return hello{}, err
	}
	want := confirmTag(ks, w.Share[:])
	if !hmac.Equal(w.Confirm[:], want[:]) {
		conn.CloseWithError(closeRoom, "room proof failed")
		return hello{}, ErrRoomMismatch
	}
	if frame, err = wire.AppendIdent(frame[:0], wire.Ident{Confirm: confirmTag(kc, pr.share), Name: name}); err != nil {
		return hello{}, err
	}
	if _, err := s.Write(frame); err != nil {
		return hello{}, helloError(err)
	}
	if err := s.Close(); err != nil {
		return hello{}, helloError(err)
	}
	// What the server tells members about itself, once it checked our tag.
	if typ, p, err = rd.Next(); err != nil {
		return hello{}, helloError(err)
	}
	if typ != wire.TypeStatus {
		return hello{}, violation("%v frame instead of STATUS", typ)
	}
	st, err := wire.DecodeStatus(p)
	if err != nil {
		return hello{}, violation("%v", err)
	}
	if err := rd.ExpectEOF(); err != nil {
		return hello{}, helloError(err)
	}
	return hello{id: remote, name: names.SanitizeDisplayName(st.Name), lending: st.Lending, version: int(w.Version)}, nil
}

// helloError turns what a stream operation failed with into the reason a
// dial failed: a server that closes the connection over our proof means
// we are not in its room.
func helloError(err error) error {
	if code, ok := closedByPeer(err); ok {
		switch code {
		case closeRoom:
			return ErrRoomMismatch
		case closeSelf:
			return errSelf
		case closeVersion:
			return fmt.Errorf("peer speaks no protocol version in common: %w", err)
		}
	}
	if errors.Is(err, wire.ErrMalformed) {
		return violation("%v", err)
	}
	return fmt.Errorf("hello exchange failed: %w", err)
}

// serverHello runs the server side of the hello exchange. Before the
// client's tag checks out it sends only its CPace share and tag, which
// confirm one guess of the code per exchange and nothing else: no name,
// no lending state. status supplies what the server then tells the
// member about itself. speaks is the highest version the server speaks:
// it answers with the lower of that and the client's.
func serverHello(conn *quic.Conn, self *Identity, room Room, status func() Status, speaks int) (hello, error) {
	remote, err := connPeerID(conn)
	if err != nil {
		return hello{}, err
	}
	if remote == self.ID {
		return hello{}, errSelf
	}
	ctx, cancel := context.WithTimeout(conn.Context(), helloTimeout)
	defer cancel()
	s, err := conn.AcceptStream(ctx)
	if err != nil {
		return hello{}, err
	}
	deadline, _ := ctx.Deadline()
	s.SetDeadline(deadline)
	buf := getBuf()
	defer putBuf(buf)
	rd := wire.NewReader(s, *buf)
	typ, p, err := rd.Next()
	if err != nil {
		return hello{}, streamReadError(err)
	}
	if typ != wire.TypeHello {
		return hello{}, violation("%v frame instead of HELLO", typ)
	}
	h, err := wire.DecodeHello(p)
	if err != nil {
		return hello{}, violation("%v", err)
	}
	if h.Version < minVersion {
		return hello{}, errVersion
	}
	inUse := int(min(h.Version, uint64(speaks)))
	pr, err := startProof(conn, room, cpace.Responder, remote, self.ID)
	if err != nil {
		return hello{}, err
	}
	kc, ks, err := pr.finish(h.Share[:])
	if err != nil {
		return hello{}, err
	}
	w := wire.Welcome{Version: uint64(inUse), Confirm: confirmTag(ks, pr.share)}
	copy(w.Share[:], pr.share)
	frame, err := wire.AppendWelcome(nil, w)
	if err != nil {
		return hello{}, err
	}
	if _, err := s.Write(frame); err != nil {
		return hello{}, err
	}
	if typ, p, err = rd.Next(); err != nil {
		return hello{}, streamReadError(err)
	}
	if typ != wire.TypeIdent {
		return hello{}, violation("%v frame instead of IDENT", typ)
	}
	id, err := wire.DecodeIdent(p)
	if err != nil {
		return hello{}, violation("%v", err)
	}
	want := confirmTag(kc, h.Share[:])
	if !hmac.Equal(id.Confirm[:], want[:]) {
		return hello{}, ErrRoomMismatch
	}
	if err := rd.ExpectEOF(); err != nil {
		return hello{}, streamReadError(err)
	}
	st := status()
	if frame, err = wire.AppendStatus(frame[:0], wire.Status{Lending: st.Lending, Name: st.Name}); err != nil {
		return hello{}, err
	}
	if _, err := s.Write(frame); err != nil {
		return hello{}, err
	}
	if err := s.Close(); err != nil {
		return hello{}, err
	}
	return hello{id: remote, name: names.SanitizeDisplayName(id.Name), version: inUse}, nil
}

var errVersion = errors.New("peer speaks no protocol version in common")

// streamReadError marks malformed input as a protocol violation and
// passes every other read error through.
func streamReadError(err error) error {
	if errors.Is(err, wire.ErrMalformed) {
		return violation("%v", err)
	}
	return err
}
