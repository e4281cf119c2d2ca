package core

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/dragonload/dragonload/quicwire"
)

// peerTable keeps one dial loop per known address and one entry per proven
// peer. A peer is "ready" only once the QUIC room proof succeeded; it is
// lost when its connection dies, when discovery expires it or hears its
// goodbye, or when the room changes. Downloads learn of ready and lost peers
// through the event bus like every other subscriber.
type peerTable struct {
	e *Engine

	mu    sync.Mutex
	addrs map[string]*addrSlot   // by address
	conns map[string]*peerConn   // by node id, proven peers
	stats map[string]*peerCounts // by node id, survives reconnects
}

type addrSlot struct {
	addr   string
	source string
	cancel context.CancelFunc
}

type peerConn struct {
	peer   *quicwire.Peer
	addr   string
	source string
}

type peerCounts struct {
	received, lent         int64
	lastReceived, lastLent int64
	rate                   float64
}

// Backoff between dial attempts to one address. Bounded so a manual peer
// that comes up late is found within half a minute.
const (
	dialMin     = 500 * time.Millisecond
	dialMax     = 30 * time.Second
	dialTimeout = 10 * time.Second
	statusEvery = 2 * time.Second
)

func newPeerTable(e *Engine) *peerTable {
	return &peerTable{
		e:     e,
		addrs: make(map[string]*addrSlot),
		conns: make(map[string]*peerConn),
		stats: make(map[string]*peerCounts),
	}
}

// want starts a dial loop for addr unless one runs already.
func (t *peerTable) want(addr, source string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.addrs[addr]; ok || t.e.closed.Load() {
		return
	}
	ctx, cancel := context.WithCancel(t.e.ctx)
	t.addrs[addr] = &addrSlot{addr: addr, source: source, cancel: cancel}
	t.e.wg.Add(1)
	go func() {
		defer t.e.wg.Done()
		t.dialLoop(ctx, addr, source)
	}()
}

// forget stops dialing addr and drops a peer connected through it.
func (t *peerTable) forget(addr, reason string) {
	t.mu.Lock()
	slot, ok := t.addrs[addr]
	delete(t.addrs, addr)
	var victims []*peerConn
	for _, c := range t.conns {
		if c.addr == addr {
			victims = append(victims, c)
		}
	}
	t.mu.Unlock()
	if ok {
		slot.cancel()
	}
	for _, c := range victims {
		t.drop(c, reason)
	}
}

func (t *peerTable) dropAll(reason string) {
	t.mu.Lock()
	conns := slices.Collect(maps.Values(t.conns))
	t.mu.Unlock()
	for _, c := range conns {
		t.drop(c, reason)
	}
}

// redialAll restarts every dial loop (after a room change).
func (t *peerTable) redialAll() {
	t.mu.Lock()
	slots := slices.Collect(maps.Values(t.addrs))
	t.mu.Unlock()
	for _, s := range slots {
		t.forget(s.addr, "room changed")
		t.want(s.addr, s.source)
	}
}

func (t *peerTable) drop(c *peerConn, reason string) {
	t.mu.Lock()
	cur, ok := t.conns[c.peer.ID().String()]
	if ok && cur == c {
		delete(t.conns, c.peer.ID().String())
	}
	t.mu.Unlock()
	c.peer.Close()
	if ok && cur == c {
		t.e.log.Info("peer lost", "peer", c.peer.ID().Short(), "addr", c.addr, "reason", reason)
		t.e.bus.publish(PeerLost{Peer: t.info(c), Reason: reason})
	}
}

func (t *peerTable) dialLoop(ctx context.Context, addr, source string) {
	backoff := dialMin
	for ctx.Err() == nil {
		t.e.bus.publish(PeerSeen{Peer: PeerInfo{Addr: addr, Source: source}})
		node := t.e.currentNode()
		dctx, cancel := context.WithTimeout(ctx, dialTimeout)
		p, err := node.Dial(dctx, addr)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			level := t.e.log.Debug
			if errors.Is(err, quicwire.ErrRoomMismatch) {
				level = t.e.log.Warn
				backoff = dialMax
			}
			level("cannot reach peer", "addr", addr, "err", err)
			if !sleep(ctx, backoff) {
				return
			}
			backoff = min(backoff*2, dialMax)
			continue
		}
		backoff = dialMin
		c := &peerConn{peer: p, addr: addr, source: source}
		if !t.register(c) {
			// Already connected to this node through another address or
			// its own dial to us: keep one connection, watch the other.
			p.Close()
			if !sleep(ctx, dialMax) {
				return
			}
			continue
		}
		t.serve(ctx, c)
	}
}

func (t *peerTable) register(c *peerConn) bool {
	id := c.peer.ID().String()
	t.mu.Lock()
	if _, dup := t.conns[id]; dup {
		t.mu.Unlock()
		return false
	}
	t.conns[id] = c
	if t.stats[id] == nil {
		t.stats[id] = &peerCounts{}
	}
	t.mu.Unlock()
	t.e.log.Info("peer ready", "peer", c.peer.ID().Short(), "name", c.peer.Name(), "addr", c.addr, "lending", c.peer.Lending())
	t.e.bus.publish(PeerReady{Peer: t.info(c)})
	return true
}

// serve watches one proven connection until it dies, polling its status so
// lending changes reach the downloads.
func (t *peerTable) serve(ctx context.Context, c *peerConn) {
	tick := time.NewTicker(statusEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			t.drop(c, "stopped")
			return
		case <-c.peer.Done():
			t.drop(c, "connection closed")
			return
		case <-tick.C:
			was := c.peer.Lending()
			sctx, cancel := context.WithTimeout(ctx, dialTimeout)
			_, err := c.peer.Status(sctx)
			cancel()
			if err != nil && ctx.Err() == nil {
				t.drop(c, "no answer to status: "+err.Error())
				return
			}
			if c.peer.Lending() != was {
				t.e.bus.publish(PeerUpdated{Peer: t.info(c)})
			}
		}
	}
}

// ready returns the proven peers that lend.
func (t *peerTable) ready() []*quicwire.Peer {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []*quicwire.Peer
	for _, c := range t.conns {
		if c.peer.Lending() {
			out = append(out, c.peer)
		}
	}
	return out
}

func (t *peerTable) get(id string) *quicwire.Peer {
	t.mu.Lock()
	defer t.mu.Unlock()
	if c, ok := t.conns[id]; ok {
		return c.peer
	}
	return nil
}

func (t *peerTable) received(id string, n int) {
	t.mu.Lock()
	if s := t.stats[id]; s != nil {
		s.received += int64(n)
	}
	t.mu.Unlock()
}

// lent counts bytes this node sent to a peer (the lender's callback).
func (t *peerTable) lent(id quicwire.NodeID, n int) {
	t.mu.Lock()
	s := t.stats[id.String()]
	if s == nil {
		s = &peerCounts{}
		t.stats[id.String()] = s
	}
	s.lent += int64(n)
	t.mu.Unlock()
}

// tick publishes per-peer rates once a second.
func (t *peerTable) tick(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		var updates []PeerInfo
		var lent []Lent
		t.mu.Lock()
		for id, s := range t.stats {
			dr, dl := s.received-s.lastReceived, s.lent-s.lastLent
			s.lastReceived, s.lastLent = s.received, s.lent
			moving := dr > 0 || dl > 0 || s.rate > 0
			s.rate = float64(dr + dl)
			if dl > 0 {
				lent = append(lent, Lent{Peer: id, Bytes: s.lent, Rate: float64(dl)})
			}
			if c, ok := t.conns[id]; ok && moving {
				updates = append(updates, t.infoLocked(c))
			}
		}
		t.mu.Unlock()
		for _, p := range updates {
			t.e.bus.publish(PeerUpdated{Peer: p})
		}
		for _, l := range lent {
			t.e.bus.publish(l)
		}
	}
}

func (t *peerTable) list() []PeerInfo {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []PeerInfo
	seen := make(map[string]bool)
	for _, c := range t.conns {
		out = append(out, t.infoLocked(c))
		seen[c.addr] = true
	}
	for addr, s := range t.addrs {
		if !seen[addr] {
			out = append(out, PeerInfo{Addr: addr, Source: s.source})
		}
	}
	slices.SortFunc(out, func(a, b PeerInfo) int {
		if a.Ready != b.Ready {
			if a.Ready {
				return -1
			}
			return 1
		}
		if a.Name != b.Name {
			if a.Name < b.Name {
				return -1
			}
			return 1
		}
		if a.Addr < b.Addr {
			return -1
		}
		return 1
	})
	return out
}

func (t *peerTable) info(c *peerConn) PeerInfo {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.infoLocked(c)
}

func (t *peerTable) infoLocked(c *peerConn) PeerInfo {
	id := c.peer.ID().String()
	p := PeerInfo{
		ID:      id,
		Name:    c.peer.Name(),
		Addr:    c.addr,
		Lending: c.peer.Lending(),
		RTT:     c.peer.RTT(),
		Source:  c.source,
		Ready:   true,
	}
	if s := t.stats[id]; s != nil {
		p.Received, p.Lent, p.Rate = s.received, s.lent, s.rate
	}
	return p
}

// sleep waits d or until ctx ends; it reports whether ctx is still alive.
func sleep(ctx context.Context, d time.Duration) bool {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-tm.C:
		return true
	}
}
