package quicwire

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/dragonload/dragonload/quicwire/wire"
	"github.com/quic-go/quic-go"
)

// Config describes a node.
type Config struct {
	Identity *Identity
	Room     Room
	Name     string       // display name sent to peers, at most 256 bytes of UTF-8
	Listen   string       // UDP address, e.g. "127.0.0.2:0" or ":4700"
	Handler  Handler      // serves chunk requests from peers; nil refuses all with NotLending
	Sharer   Sharer       // serves copies and searches to peers; nil refuses all with NotShared
	Noter    Noter        // hears what members are downloading; nil reads notes and drops them
	Lending  func() bool  // reported to peers in WELCOME and STATUS; nil means false
	Logger   *slog.Logger // nil discards
}

// Status is what a node tells room members about itself.
type Status struct {
	Name    string
	Lending bool
}

// FetchRequest asks a lender for bytes [Offset, Offset+Length) of URL.
// Size, ETag and LastModified pin the file's identity: a lender whose
// origin serves another version must refuse with IdentityChanged.
type FetchRequest struct {
	URL            string
	Headers        map[string]string
	Offset, Length int64
	Size           int64
	ETag           string
	LastModified   string
}

// PeerInfo names the requester of a fetch, copy or search, or the sender
// of a note, for the Handler, the Sharer and the Noter.
type PeerInfo struct {
	ID   NodeID
	Name string
	Addr string
}

// Handler serves fetch requests from room members. quicwire does not
// check Lending before calling it, and leaves rate and concurrency limits
// to it; at most 64 requests per connection run at once.
type Handler interface {
	// ServeFetch writes exactly req.Length bytes to w, streaming them as they arrive from
	// the origin. ctx is cancelled when the requester cancels or the connection dies.
	ServeFetch(ctx context.Context, from PeerInfo, req FetchRequest, w io.Writer) error
}

// Node is one endpoint of the peer protocol: a single UDP socket and QUIC
// transport that both accepts room members' connections and dials them.
type Node struct {
	id        *Identity
	room      Room
	name      atomic.Pointer[string] // SetName replaces it
	handler   Handler
	sharer    Sharer
	noter     Noter
	speaks    int // the highest protocol version offered and accepted
	lending   func() bool
	log       *slog.Logger
	udp       *net.UDPConn
	tr        *quic.Transport
	ln        *quic.Listener
	serverTLS *tls.Config
	clientTLS *tls.Config

	admit *admission[*quic.Conn] // budgets of accepted connections (admit.go)

	mu     sync.Mutex
	closed bool
	conns  map[*quic.Conn]bool // true for accepted connections
	wg     sync.WaitGroup      // accept loop, connection and stream servers
}

const (
	// maxStreams caps the requests a peer may have open on one connection,
	// and so the goroutines serving it.
	maxStreams = 64
	// requestTimeout bounds reading a request, and a whole status query.
	requestTimeout = 10 * time.Second
	// dataGap is the longest a fetch may wait on the peer, to read the next
	// frame or to write one.
	dataGap = 30 * time.Second
	// connIdle ends a connection whose peer went silent (killed, unplugged).
	// Keep-alives flow every quarter of it, so only a dead peer trips it:
	// downloads and the peer table learn of it within seconds, and a lender
	// stops fetching for a requester that is gone.
	connIdle = 8 * time.Second
	// closeWait bounds how long Close waits for handlers to return after
	// their contexts are cancelled.
	closeWait = 5 * time.Second
)

// Listen opens the UDP socket at cfg.Listen and starts serving.
func Listen(cfg Config) (*Node, error) {
	return listen(cfg, ProtocolVersion)
}

// listen is Listen for a node that speaks versions up to speaks, so that
// tests can stand in for a node of an older version.
func listen(cfg Config, speaks int) (*Node, error) {
	if cfg.Identity == nil {
		return nil, errors.New("quicwire: config has no identity")
	}
	if !cfg.Room.set {
		return nil, errors.New("quicwire: config has no room")
	}
	if err := checkName(cfg.Name); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	lending := cfg.Lending
	if lending == nil {
		lending = func() bool { return false }
	}
	serverTLS, clientTLS, err := tlsConfigs(cfg.Identity)
	if err != nil {
		return nil, err
	}
	laddr, err := net.ResolveUDPAddr("udp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("quicwire: bad listen address %q: %w", cfg.Listen, err)
	}
	udp, err := net.ListenUDP("udp", laddr)
	if err != nil {
		return nil, fmt.Errorf("quicwire: listen on %s: %w", cfg.Listen, err)
	}
	resetKey := quic.StatelessResetKey(sha256.Sum256(append([]byte("dragonload/1 stateless reset"), cfg.Identity.Key.Seed()...)))
	admit := newAdmission[*quic.Conn]()
	tr := &quic.Transport{Conn: udp, StatelessResetKey: &resetKey,
		// Refused before any cryptography is spent on it: an address over
		// its budget of silent connections, or banned for failed proofs.
		ConnContext: func(ctx context.Context, ci *quic.ClientInfo) (context.Context, error) {
			if why := admit.precheck(addrIP(ci.RemoteAddr), time.Now()); why != "" {
				return ctx, errors.New(why)
			}
			return ctx, nil
		},
	}
	ln, err := tr.Listen(serverTLS, quicConfig(true))
	if err != nil {
		tr.Close()
		udp.Close()
		return nil, fmt.Errorf("quicwire: start QUIC listener: %w", err)
	}
	n := &Node{
		id:        cfg.Identity,
		room:      cfg.Room,
		handler:   cfg.Handler,
		sharer:    cfg.Sharer,
		noter:     cfg.Noter,
		speaks:    speaks,
		lending:   lending,
		log:       log,
		udp:       udp,
		tr:        tr,
		ln:        ln,
		serverTLS: serverTLS,
		clientTLS: clientTLS,
		conns:     make(map[*quic.Conn]bool),
		admit:     admit,
	}
	n.name.Store(&cfg.Name)
	n.wg.Add(1)
	go n.acceptLoop()
	log.Debug("listening", "addr", n.Addr().String(), "id", n.id.ID.Short())
	return n, nil
}

// Addr is the local UDP address.
func (n *Node) Addr() *net.UDPAddr { return n.udp.LocalAddr().(*net.UDPAddr) }

// ID is this node's id.
func (n *Node) ID() NodeID { return n.id.ID }

// Name is the display name this node sends to peers.
func (n *Node) Name() string { return *n.name.Load() }

// SetName changes the display name this node sends to peers. It goes out
// in every later hello (IDENT, and the STATUS that ends it) and STATUS
// answer: peers connected already hear it at their next status query, but
// the name a lender keeps for a requester (PeerInfo.Name) stays the one of
// the requester's IDENT until it connects again.
func (n *Node) SetName(name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	n.name.Store(&name)
	return nil
}

// Dial connects to the node at addr (host:port, UDP) and runs the hello
// exchange, which proves to each side that the other is in the room. It
// fails with ErrRoomMismatch when either proof fails, and refuses to
// connect to this node itself. Handshake and hello together get at most
// 10 s, less if ctx says so.
func (n *Node) Dial(ctx context.Context, addr string) (*Peer, error) {
	ctx, cancel := context.WithTimeout(ctx, helloTimeout)
	defer cancel()
	raddr, err := n.resolve(ctx, addr)
	if err != nil {
		return nil, err
	}
	conn, err := n.tr.Dial(ctx, raddr, n.clientTLS, quicConfig(false))
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	if _, ok := n.track(conn, false); !ok {
		conn.CloseWithError(closeNormal, "node closing")
		return nil, fmt.Errorf("dial %s: %w", addr, net.ErrClosed)
	}
	h, err := clientHello(ctx, conn, n.id, n.room, n.Name(), n.speaks)
	if err != nil {
		var pe *protocolError
		if errors.As(err, &pe) {
			id, _ := connPeerID(conn)
			n.drop(conn, id, pe.reason)
		} else {
			conn.CloseWithError(closeNormal, "hello failed")
		}
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	p := &Peer{node: n, conn: conn, id: h.id, addr: conn.RemoteAddr().String(), name: h.name, version: h.version}
	p.lending.Store(h.lending)
	n.log.Debug("connected to peer", "peer", h.id.Short(), "addr", p.addr, "name", h.name, "version", h.version)
	return p, nil
}

// Close closes every connection, telling peers, stops listening and waits
// (boundedly) for the handlers of this node to return.
func (n *Node) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	conns := make([]*quic.Conn, 0, len(n.conns))
	for c := range n.conns {
		conns = append(conns, c)
	}
	n.mu.Unlock()

	n.ln.Close()
	for _, c := range conns {
		c.CloseWithError(closeNormal, "node closing")
	}
	err := n.tr.Close()
	if uerr := n.udp.Close(); err == nil {
		err = uerr
	}
	done := make(chan struct{})
	go func() { n.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(closeWait):
		n.log.Warn("handlers still running after close", "wait", closeWait)
	}
	return err
}

func quicConfig(server bool) *quic.Config {
	c := &quic.Config{
		HandshakeIdleTimeout:           helloTimeout / 2, // the whole handshake gets twice this
		MaxIdleTimeout:                 connIdle,
		KeepAlivePeriod:                connIdle / 4,
		MaxIncomingStreams:             -1, // the dialing side only asks, never serves
		MaxIncomingUniStreams:          -1,
		MaxStreamReceiveWindow:         4 << 20,
		MaxConnectionReceiveWindow:     12 << 20,
		InitialStreamReceiveWindow:     1 << 20,
		InitialConnectionReceiveWindow: 2 << 20,
	}
	if server {
		c.MaxIncomingStreams = maxStreams
	}
	return c
}

// resolve turns host:port into a UDP address, preferring the socket's
// address family when it is bound to one.
func (n *Node) resolve(ctx context.Context, addr string) (*net.UDPAddr, error) {
	if ap, err := netip.ParseAddrPort(addr); err == nil {
		return net.UDPAddrFromAddrPort(ap), nil
	}
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("bad peer address %q: %w", addr, err)
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("bad port in peer address %q", addr)
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil || len(ips) == 0 {
		return nil, fmt.Errorf("resolve peer address %q: %w", addr, err)
	}
	local, _ := netip.AddrFromSlice(n.Addr().IP)
	pick := ips[0]
	if !local.IsUnspecified() {
		for _, ip := range ips {
			if ip.Unmap().Is4() == local.Unmap().Is4() {
				pick = ip
				break
			}
		}
	}
	return net.UDPAddrFromAddrPort(netip.AddrPortFrom(pick.Unmap(), uint16(port))), nil
}

// track registers a connection so that Close can close it, and forgets it
// when it ends. It reports false when the node is closed. An accepted
// connection must also get a slot from the admission budgets (admit.go):
// when it does not, track reports why and the caller refuses it.
func (n *Node) track(conn *quic.Conn, inbound bool) (refused string, ok bool) {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return "node closing", false
	}
	if inbound {
		why, old, evicted := n.admit.admit(conn, remoteIP(conn), time.Now())
		if why != "" {
			n.mu.Unlock()
			return why, false
		}
		if evicted {
			// Made room: the oldest connection still silent about the
			// room goes, so outsiders cannot hold every slot.
			defer old.CloseWithError(closeBusy, "too many connections")
		}
	}
	n.conns[conn] = inbound
	n.mu.Unlock()
	context.AfterFunc(conn.Context(), func() {
		n.admit.gone(conn)
		n.mu.Lock()
		defer n.mu.Unlock()
		delete(n.conns, conn)
	})
	return "", true
}

// remoteIP is the address a connection came from.
func remoteIP(conn *quic.Conn) netip.Addr { return addrIP(conn.RemoteAddr()) }

func addrIP(a net.Addr) netip.Addr {
	if u, ok := a.(*net.UDPAddr); ok {
		return u.AddrPort().Addr().Unmap()
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return ap.Addr().Unmap()
}

// drop closes a connection whose peer broke the protocol.
func (n *Node) drop(conn *quic.Conn, peer NodeID, reason string) {
	n.log.Warn("dropping peer", "peer", peer.Short(), "addr", conn.RemoteAddr().String(), "reason", reason)
	conn.CloseWithError(closeProtocol, "protocol violation: "+truncate(reason, 200))
}

func (n *Node) status() Status {
	return Status{Name: n.Name(), Lending: n.lending()}
}

// checkName refuses a display name the wire cannot carry.
func checkName(name string) error {
	if len(name) > wire.MaxName || !utf8.ValidString(name) {
		return fmt.Errorf("quicwire: node name must be at most %d bytes of UTF-8", wire.MaxName)
	}
	return nil
}
