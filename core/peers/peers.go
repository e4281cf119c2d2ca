package peers

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/dragonload/dragonload/quicwire"
)

// Conn is what the table needs of a connection to a proven room peer.
// *quicwire.Peer is one.
type Conn interface {
	ID() quicwire.NodeID
	// Name is the nickname given with SetNickname, else the name the peer
	// announces.
	Name() string
	// SetNickname gives the peer a name of this node's own ("" = none).
	SetNickname(nickname string)
	Lending() bool      // as last heard
	RTT() time.Duration // smoothed round-trip time
	// Done is closed when the connection is gone, for whatever reason.
	Done() <-chan struct{}
	// Status asks the peer for its state and remembers it (Name, Lending).
	Status(ctx context.Context) (quicwire.Status, error)
	Close() error
}

var _ Conn = (*quicwire.Peer)(nil)

// Dialer connects to the room peer at addr and proves room membership;
// it returns an error wrapping quicwire.ErrRoomMismatch for a peer of
// another room. The engine's dialer uses its current QUIC node, which
// changes with the room.
type Dialer[C Conn] interface {
	Dial(ctx context.Context, addr string) (C, error)
}

// DialFunc is a function used as a Dialer.
type DialFunc[C Conn] func(ctx context.Context, addr string) (C, error)

// Dial implements Dialer.
func (f DialFunc[C]) Dial(ctx context.Context, addr string) (C, error) { return f(ctx, addr) }

// Info describes one peer as this node sees it.
type Info struct {
	ID       string // node id (full, base32); "" until ready
	Name     string // Nickname when set, else the name the peer announces
	Nickname string // this node's own name for the peer (SetNickname); "" = none
	Addr     string
	Lending  bool
	RTT      time.Duration
	Source   string // how the address was found ("mdns", "manual", ...)
	Ready    bool   // room proof succeeded on a live connection
	Received int64  // bytes this node received from the peer
	Lent     int64  // bytes this node sent to the peer
	Rate     float64
}

// Event is what the table reports: Seen, Ready, Lost, Updated or Lent.
type Event interface{ event() }

// Seen reports an address about to be dialed (heard of, not yet proven):
// Peer has Addr and Source, no ID. It is not reported for an address known
// to reach a machine that is connected through another address.
type Seen struct{ Peer Info }

// Ready reports a peer that passed the room proof.
type Ready struct{ Peer Info }

// Lost reports a ready peer that went away (Peer.ID set), or an address
// reported Seen that is no longer dialed on its own (Peer.ID ""): it was
// forgotten, or it turned out to reach a machine connected through
// another address.
type Lost struct {
	Peer   Info
	Reason string
}

// Updated reports changed numbers for a ready peer (lending, name, rate,
// RTT).
type Updated struct{ Peer Info }

// Lent reports the bytes this node sent to a peer: the total so far and
// the last second's rate.
type Lent struct {
	Peer  string // node id
	Bytes int64
	Rate  float64
}

func (Seen) event()    {}
func (Ready) event()   {}
func (Lost) event()    {}
func (Updated) event() {}
func (Lent) event()    {}

// Options configure a table.
type Options[C Conn] struct {
	Dialer Dialer[C]
	// Observe receives every event, from the table's goroutines and from
	// the callers of its methods, never under the table's lock (so it may
	// call the table, though not Forget or RedialAll, which wait for an
	// address's events to be delivered). nil discards them.
	Observe func(Event)
	Logger  *slog.Logger
}

// Backoff between dial attempts to one address. Bounded so a manual peer
// that comes up late is found within half a minute.
const (
	dialMin     = 500 * time.Millisecond
	dialMax     = 30 * time.Second
	dialTimeout = 10 * time.Second
	statusEvery = 2 * time.Second
	rateEvery   = time.Second
)

// Table keeps one dial loop per known address and one entry per proven
// peer. Its methods are safe for concurrent use.
type Table[C Conn] struct {
	dialer  Dialer[C]
	observe func(Event)
	log     *slog.Logger
	ctx     context.Context // ends at Close; every dial loop's parent
	stop    context.CancelFunc
	wg      sync.WaitGroup // the dial loops

	mu        sync.Mutex
	closed    bool
	addrs     map[string]*slot    // by address
	conns     map[string]*conn[C] // by node id, proven peers
	stats     map[string]*counts  // by node id, survives reconnects
	nicknames map[string]string   // by node id, connected or not
}

type slot struct {
	addr   string
	source string
	cancel context.CancelFunc
	// node is the id of the machine last reached through addr ("" before
	// the first success): while that machine is connected through another
	// address, addr is neither reported Seen nor listed.
	node string
	// listed is set while addr was reported Seen and not yet Ready or
	// Lost, so that every Seen is closed by exactly one Ready or Lost.
	listed bool
	// emit is held from setting listed to reporting Seen, and while
	// reporting the Lost that closes it, so that they are reported in
	// that order whichever goroutines report them.
	emit sync.Mutex
}

type conn[C Conn] struct {
	c      C
	addr   string
	source string
}

type counts struct {
	received, lent         int64
	lastReceived, lastLent int64
	rate                   float64
}

// New returns an empty table. Close it to stop its dial loops.
func New[C Conn](opts Options[C]) *Table[C] {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	observe := opts.Observe
	if observe == nil {
		observe = func(Event) {}
	}
	t := &Table[C]{
		dialer:    opts.Dialer,
		observe:   observe,
		log:       log,
		addrs:     make(map[string]*slot),
		conns:     make(map[string]*conn[C]),
		stats:     make(map[string]*counts),
		nicknames: make(map[string]string),
	}
	t.ctx, t.stop = context.WithCancel(context.Background())
	return t
}

// Close stops every dial loop, drops every connection (Lost "stopped") and
// waits until every loop has ended. Want does nothing afterwards.
func (t *Table[C]) Close() {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	t.stop()
	t.wg.Wait()
}

// Want starts a dial loop for addr unless one runs already. source says
// how the address was found.
func (t *Table[C]) Want(addr, source string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.addrs[addr]; ok || t.closed {
		return
	}
	ctx, cancel := context.WithCancel(t.ctx)
	s := &slot{addr: addr, source: source, cancel: cancel}
	t.addrs[addr] = s
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		t.dialLoop(ctx, s)
	}()
}

// Forget stops dialing addr and drops a peer connected through it. An
// address still being dialed is reported Lost with an empty ID.
func (t *Table[C]) Forget(addr, reason string) {
	t.mu.Lock()
	s, ok := t.addrs[addr]
	delete(t.addrs, addr)
	listed := ok && s.listed
	if ok {
		s.listed = false
	}
	// The peers connected through addr leave the table before the dial
	// loop is cancelled: the loop, seeing its context end, would drop them
	// itself and report "stopped" instead of the reason given here.
	var victims []*conn[C]
	for id, c := range t.conns {
		if c.addr == addr {
			victims = append(victims, c)
			delete(t.conns, id)
		}
	}
	t.mu.Unlock()
	if ok {
		s.cancel()
	}
	for _, c := range victims {
		t.lost(c, reason)
	}
	if listed {
		t.unlisted(s, reason)
	}
}

// SetNickname gives the node with id a name of this node's own, which
// every Info and the connection's Name carry from then on in place of the
// name it announces ("" removes it). It holds for a node connected later
// too. A connected node is reported Updated.
func (t *Table[C]) SetNickname(id, nickname string) {
	t.mu.Lock()
	if nickname == "" {
		delete(t.nicknames, id)
	} else {
		t.nicknames[id] = nickname
	}
	c, ok := t.conns[id]
	var info Info
	if ok {
		c.c.SetNickname(nickname)
		info = t.infoLocked(c)
	}
	t.mu.Unlock()
	if ok {
		t.observe(Updated{Peer: info})
	}
}

// Source says how addr was found, if it is dialed.
func (t *Table[C]) Source(addr string) (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s, ok := t.addrs[addr]; ok {
		return s.source, true
	}
	return "", false
}

// DropAll drops every ready peer; their dial loops dial them again.
func (t *Table[C]) DropAll(reason string) {
	t.mu.Lock()
	conns := slices.Collect(maps.Values(t.conns))
	t.mu.Unlock()
	for _, c := range conns {
		t.drop(c, reason)
	}
}

// RedialAll restarts every dial loop (after a room change).
func (t *Table[C]) RedialAll() {
	t.mu.Lock()
	slots := slices.Collect(maps.Values(t.addrs))
	t.mu.Unlock()
	for _, s := range slots {
		t.Forget(s.addr, "room changed")
		t.Want(s.addr, s.source)
	}
}

// Ready returns the proven peers that lend.
func (t *Table[C]) Ready() []C {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []C
	for _, c := range t.conns {
		if c.c.Lending() {
			out = append(out, c.c)
		}
	}
	return out
}

// Connected returns every proven peer, lending or not: room members that
// do not lend bandwidth may still share copies of files.
func (t *Table[C]) Connected() []C {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]C, 0, len(t.conns))
	for _, c := range t.conns {
		out = append(out, c.c)
	}
	return out
}

// Get returns the proven peer with node id id.
func (t *Table[C]) Get(id string) (C, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if c, ok := t.conns[id]; ok {
		return c.c, true
	}
	var zero C
	return zero, false
}

// Received counts bytes this node received from the peer with node id id.
func (t *Table[C]) Received(id string, n int) {
	t.mu.Lock()
	if s := t.stats[id]; s != nil {
		s.received += int64(n)
	}
	t.mu.Unlock()
}

// LentTo counts bytes this node sent to a peer (the lender's callback).
func (t *Table[C]) LentTo(id quicwire.NodeID, n int) {
	t.mu.Lock()
	s := t.stats[id.String()]
	if s == nil {
		s = &counts{}
		t.stats[id.String()] = s
	}
	s.lent += int64(n)
	t.mu.Unlock()
}

// Run reports per-peer rates once a second until ctx ends or the table is
// closed. Its caller owns the loop.
func (t *Table[C]) Run(ctx context.Context) {
	tick := time.NewTicker(rateEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.ctx.Done():
			return
		case <-tick.C:
		}
		var updates []Updated
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
				updates = append(updates, Updated{Peer: t.infoLocked(c)})
			}
		}
		t.mu.Unlock()
		for _, ev := range updates {
			t.observe(ev)
		}
		for _, ev := range lent {
			t.observe(ev)
		}
	}
}

// List returns every known peer, ready ones first, then by name, then by
// address. An address dialed but not (or no longer) connected is listed
// with its source only, unless it is known to reach a machine connected
// through another address: one row per machine.
func (t *Table[C]) List() []Info {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []Info
	seen := make(map[string]bool)
	for _, c := range t.conns {
		out = append(out, t.infoLocked(c))
		seen[c.addr] = true
	}
	for addr, s := range t.addrs {
		if !seen[addr] && !t.elsewhereLocked(s) {
			out = append(out, Info{Addr: addr, Source: s.source})
		}
	}
	slices.SortFunc(out, func(a, b Info) int {
		return cmp.Or(
			cmp.Compare(boolInt(b.Ready), boolInt(a.Ready)),
			cmp.Compare(a.Name, b.Name),
			cmp.Compare(a.Addr, b.Addr),
		)
	})
	return out
}

func (t *Table[C]) drop(c *conn[C], reason string) {
	id := c.c.ID().String()
	t.mu.Lock()
	cur, ok := t.conns[id]
	mine := ok && cur == c
	if mine {
		delete(t.conns, id)
	}
	t.mu.Unlock()
	if mine {
		t.lost(c, reason)
	} else {
		c.c.Close()
	}
}

// lost closes a connection already taken out of the table and reports it.
func (t *Table[C]) lost(c *conn[C], reason string) {
	c.c.Close()
	t.log.Info("peer lost", "peer", c.c.ID().Short(), "addr", c.addr, "reason", reason)
	t.observe(Lost{Peer: t.info(c), Reason: reason})
}

func (t *Table[C]) dialLoop(ctx context.Context, s *slot) {
	addr, source := s.addr, s.source
	backoff := dialMin
	for ctx.Err() == nil {
		s.emit.Lock()
		if t.list(s) {
			t.observe(Seen{Peer: Info{Addr: addr, Source: source}})
		}
		s.emit.Unlock()
		dctx, cancel := context.WithTimeout(ctx, dialTimeout)
		p, err := t.dialer.Dial(dctx, addr)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			level := t.log.Debug
			if errors.Is(err, quicwire.ErrRoomMismatch) {
				level = t.log.Warn
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
		c := &conn[C]{c: p, addr: addr, source: source}
		if !t.register(c, s) {
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

// register makes c the connection to its node, unless that node is
// connected already. Either way the address's Seen is closed: by Ready,
// or by Lost when the node is connected through another address. Other
// addresses of the same node that are listed are closed by Lost too.
func (t *Table[C]) register(c *conn[C], s *slot) bool {
	id := c.c.ID().String()
	t.mu.Lock()
	s.node = id
	listed := s.listed
	s.listed = false
	if kept, dup := t.conns[id]; dup {
		t.mu.Unlock()
		if listed {
			t.unlisted(s, "same machine as "+kept.addr)
		}
		return false
	}
	t.conns[id] = c
	if t.stats[id] == nil {
		t.stats[id] = &counts{}
	}
	c.c.SetNickname(t.nicknames[id])
	var others []*slot
	for _, o := range t.addrs {
		if o != s && o.node == id && o.listed {
			o.listed = false
			others = append(others, o)
		}
	}
	t.mu.Unlock()
	t.log.Info("peer ready", "peer", c.c.ID().Short(), "name", c.c.Name(), "addr", c.addr, "lending", c.c.Lending())
	t.observe(Ready{Peer: t.info(c)})
	for _, o := range others {
		t.unlisted(o, "same machine as "+c.addr)
	}
	return true
}

// unlisted reports the Lost that closes the Seen of s, whose listed flag
// its caller cleared.
func (t *Table[C]) unlisted(s *slot, reason string) {
	s.emit.Lock()
	defer s.emit.Unlock()
	t.observe(Lost{Peer: Info{Addr: s.addr, Source: s.source}, Reason: reason})
}

// list marks s as reported Seen and says whether to report it: not once
// it was forgotten, nor while its machine is connected through another
// address.
func (t *Table[C]) list(s *slot) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.addrs[s.addr] != s || t.elsewhereLocked(s) {
		return false
	}
	s.listed = true
	return true
}

// elsewhereLocked reports whether s is known to reach a machine that is
// connected through another address.
func (t *Table[C]) elsewhereLocked(s *slot) bool {
	if s.node == "" {
		return false
	}
	c, ok := t.conns[s.node]
	return ok && c.addr != s.addr
}

// serve watches one proven connection until it dies, polling its status so
// lending changes reach the downloads and a peer's new name reaches the
// screen.
func (t *Table[C]) serve(ctx context.Context, c *conn[C]) {
	tick := time.NewTicker(statusEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			t.drop(c, "stopped")
			return
		case <-c.c.Done():
			t.drop(c, "connection closed")
			return
		case <-tick.C:
			was, wasName := c.c.Lending(), c.c.Name()
			sctx, cancel := context.WithTimeout(ctx, dialTimeout)
			_, err := c.c.Status(sctx)
			cancel()
			if err != nil && ctx.Err() == nil {
				t.drop(c, "no answer to status: "+err.Error())
				return
			}
			if c.c.Lending() != was || c.c.Name() != wasName {
				t.observe(Updated{Peer: t.info(c)})
			}
		}
	}
}

func (t *Table[C]) info(c *conn[C]) Info {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.infoLocked(c)
}

func (t *Table[C]) infoLocked(c *conn[C]) Info {
	id := c.c.ID().String()
	p := Info{
		ID:       id,
		Name:     c.c.Name(),
		Nickname: t.nicknames[id],
		Addr:     c.addr,
		Lending:  c.c.Lending(),
		RTT:      c.c.RTT(),
		Source:   c.source,
		Ready:    true,
	}
	if s := t.stats[id]; s != nil {
		p.Received, p.Lent, p.Rate = s.received, s.lent, s.rate
	}
	return p
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
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
