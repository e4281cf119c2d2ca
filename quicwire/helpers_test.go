package quicwire

import (
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dragonload/dragonload/quicwire/wire"
	"github.com/quic-go/quic-go"
)

// Room keys cost ~0.2 s each to derive; the tests share two.
var (
	testRoom  = sync.OnceValue(func() Room { return NewRoom("test-room-one") })
	otherRoom = sync.OnceValue(func() Room { return NewRoom("test-room-two") })
)

// waitLong bounds every wait in these tests; nothing should come close.
const waitLong = 10 * time.Second

// pattern is 1 MiB of fixed pseudo-random bytes; the byte at file offset o
// is pattern[o%len(pattern)], so any range is known to both ends.
var pattern = func() []byte {
	r := rand.New(rand.NewChaCha8([32]byte{'d', 'l'}))
	b := make([]byte, 1<<20)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}()

// writePattern writes bytes [off, off+n) of the pattern file to w in
// pieces of at most piece bytes.
func writePattern(w io.Writer, off, n int64, piece int) error {
	for n > 0 {
		start := int(off % int64(len(pattern)))
		k := min(int64(piece), n, int64(len(pattern)-start))
		if _, err := w.Write(pattern[start : start+int(k)]); err != nil {
			return err
		}
		off += k
		n -= k
	}
	return nil
}

func patternSum(off, n int64) [32]byte {
	h := sha256.New()
	writePattern(h, off, n, 1<<20)
	var s [32]byte
	h.Sum(s[:0])
	return s
}

// handlerFunc adapts a function to Handler.
type handlerFunc func(ctx context.Context, from PeerInfo, req FetchRequest, w io.Writer) error

func (f handlerFunc) ServeFetch(ctx context.Context, from PeerInfo, req FetchRequest, w io.Writer) error {
	return f(ctx, from, req, w)
}

// patternHandler serves the pattern file and counts its calls.
type patternHandler struct {
	calls atomic.Int64
	piece int
}

func (h *patternHandler) ServeFetch(ctx context.Context, from PeerInfo, req FetchRequest, w io.Writer) error {
	h.calls.Add(1)
	piece := h.piece
	if piece == 0 {
		piece = 32 << 10
	}
	return writePattern(w, req.Offset, req.Length, piece)
}

// logRecorder keeps every log record, to check what a node said and why.
type logRecorder struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *logRecorder) WithGroup(string) slog.Handler            { return r }
func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, rec.Clone())
	return nil
}

// find returns the attributes of the first record with message msg.
func (r *logRecorder) find(msg string) (map[string]string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rec := range r.recs {
		if rec.Message != msg {
			continue
		}
		attrs := map[string]string{}
		rec.Attrs(func(a slog.Attr) bool {
			attrs[a.Key] = a.Value.String()
			return true
		})
		return attrs, true
	}
	return nil, false
}

type nodeOpts struct {
	room    Room
	name    string
	handler Handler
	sharer  Sharer
	noter   Noter
	lending bool
	log     *logRecorder
	version int // the highest protocol version spoken; 0 for ProtocolVersion
}

func newNode(t testing.TB, o nodeOpts) *Node {
	t.Helper()
	id, err := NewIdentity()
	if err != nil {
		t.Fatal(err)
	}
	if !o.room.set {
		o.room = testRoom()
	}
	cfg := Config{Identity: id, Room: o.room, Name: o.name, Listen: "127.0.0.1:0", Handler: o.handler, Sharer: o.sharer, Noter: o.noter}
	if o.lending {
		cfg.Lending = func() bool { return true }
	}
	if o.log != nil {
		cfg.Logger = slog.New(o.log)
	}
	if o.version == 0 {
		o.version = ProtocolVersion
	}
	n, err := listen(cfg, o.version)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

func dial(t testing.TB, from, to *Node) *Peer {
	t.Helper()
	return dialAddr(t, from, to.Addr().String())
}

func dialAddr(t testing.TB, from *Node, addr string) *Peer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	p, err := from.Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// rawTransport is a bare QUIC endpoint on loopback for tests that need to
// speak the protocol wrongly on purpose.
func rawTransport(t testing.TB) *quic.Transport {
	t.Helper()
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	tr := &quic.Transport{Conn: udp}
	t.Cleanup(func() { tr.Close(); udp.Close() })
	return tr
}

// rawDial opens a TLS-verified QUIC connection to n as identity id,
// without any hello.
func rawDial(t testing.TB, n *Node, id *Identity) *quic.Conn {
	t.Helper()
	_, clientTLS, err := tlsConfigs(id)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	conn, err := rawTransport(t).Dial(ctx, n.Addr(), clientTLS, quicConfig(false))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.CloseWithError(0, "") })
	return conn
}

// rawServer accepts connections on loopback with a fresh identity and
// hands each, TLS done and nothing else, to serve. It returns the address.
func rawServer(t testing.TB, serve func(conn *quic.Conn, self *Identity)) string {
	t.Helper()
	self := newIdentity(t)
	serverTLS, _, err := tlsConfigs(self)
	if err != nil {
		t.Fatal(err)
	}
	tr := rawTransport(t)
	ln, err := tr.Listen(serverTLS, quicConfig(true))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); tr.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept(context.Background())
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				serve(conn, self)
			}()
		}
	}()
	return ln.Addr().String()
}

// answeringServer is a member, on loopback, speaking protocol versions up
// to version, that answers the first request of each connection with the
// bytes answer returns, whatever the request, then sends FIN. It returns
// the address.
func answeringServer(t testing.TB, version int, answer func() []byte) string {
	t.Helper()
	return rawServer(t, func(conn *quic.Conn, self *Identity) {
		if _, err := serverHello(conn, self, testRoom(), func() Status { return Status{} }, version); err != nil {
			return
		}
		s, err := conn.AcceptStream(conn.Context())
		if err != nil {
			return
		}
		rd := wire.NewReader(s, make([]byte, wire.ReaderBufSize))
		if _, _, err := rd.Next(); err != nil {
			return
		}
		s.Write(answer())
		s.Close()
		<-conn.Context().Done()
	})
}

// closedWith waits for conn to end and returns the application error
// code the other side closed it with.
func closedWith(t testing.TB, conn *quic.Conn) quic.ApplicationErrorCode {
	t.Helper()
	select {
	case <-conn.Context().Done():
	case <-time.After(waitLong):
		t.Fatal("connection still open")
	}
	code, ok := closedByPeer(context.Cause(conn.Context()))
	if !ok {
		t.Fatalf("connection ended by %v, not closed by the peer", context.Cause(conn.Context()))
	}
	return code
}

// findPeer returns the attributes of the first record with message msg
// about the given peer.
func (r *logRecorder) findPeer(msg, peer string) (map[string]string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rec := range r.recs {
		attrs := map[string]string{}
		rec.Attrs(func(a slog.Attr) bool {
			attrs[a.Key] = a.Value.String()
			return true
		})
		if rec.Message == msg && attrs["peer"] == peer {
			return attrs, true
		}
	}
	return nil, false
}

func newIdentity(t testing.TB) *Identity {
	t.Helper()
	id, err := NewIdentity()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func isRemote(err error, code Code) bool {
	var re *RemoteError
	return errors.As(err, &re) && re.Code == code
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
