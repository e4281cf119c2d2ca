package core

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/dragonload/dragonload/core/peers"
	"github.com/dragonload/dragonload/core/recent"
)

// The warm start: a restarted node dials the room peers it reached lately
// at once, from HOME/recent-peers.json (package recent), while mDNS takes
// its second or so to hear of them again. See docs/discovery.md.

// recentSource is the name of the warm-start peer source, which Source
// shows for the addresses it dialed first.
const recentSource = "recent"

// recentGrace is how long a remembered address is dialed without being
// reached before it is given up, unless another source reports it too.
const recentGrace = 10 * time.Second

// recentOptions tune the warm start for the tests of this package; the
// zero value is the product's behaviour.
type recentOptions struct {
	// always runs the recent source even with NoMDNS: tests never run
	// real mDNS, and inject a fake one through Config.PeerSources.
	always bool
	grace  time.Duration // 0 = recentGrace
	// started is called before any peer source starts, so that a test
	// can subscribe to the events of the very first dial.
	started func(*Engine)
}

// startRecent loads the recent peers and, when mDNS is on, adds them as a
// peer source. The peers given by hand are left out: they are dialed
// anyway, as "manual".
func (e *Engine) startRecent() {
	l, err := recent.Load(e.home)
	if err != nil {
		e.log.Warn("starting without the recent peers", "err", err)
	}
	e.recent = l
	if e.cfg.recent.started != nil {
		e.cfg.recent.started(e)
	}
	if e.cfg.NoMDNS && !e.cfg.recent.always {
		return
	}
	e.mu.Lock()
	tag := e.roomKey.Tag()
	byHand := slices.Concat(e.settings.Peers, e.cfg.Peers)
	e.mu.Unlock()
	var addrs []string
	for _, p := range l.Peers(tag) {
		if !slices.Contains(byHand, p.Addr) {
			addrs = append(addrs, p.Addr)
		}
	}
	if len(addrs) == 0 {
		return
	}
	grace := e.cfg.recent.grace
	if grace <= 0 {
		grace = recentGrace
	}
	e.log.Debug("dialing the recent peers", "count", len(addrs))
	e.runSource(e.ctx, &recentPeers{addrs: addrs, grace: grace, table: e.peers})
}

// rememberPeer records a peer that became ready for the next start, if it
// was found on the LAN (by mDNS, or by this cache from an earlier mDNS
// find). Peers given by hand are not recorded: they are dialed anyway.
// The list writes its file only when it changes, not on every ready.
func (e *Engine) rememberPeer(p peers.Info) {
	if e.recent == nil || (p.Source != "mdns" && p.Source != recentSource) {
		return
	}
	e.mu.Lock()
	tag := e.roomKey.Tag()
	e.mu.Unlock()
	if _, err := e.recent.Ready(tag, p.ID, p.Addr, time.Now()); err != nil {
		e.log.Warn("cannot remember a peer for the next start", "addr", p.Addr, "err", err)
	}
}

// recentTable is what the recent source asks of the peer table.
type recentTable interface {
	Source(addr string) (string, bool)
	List() []peers.Info
}

// recentPeers is the warm start as a peer source: it reports every
// remembered address at once, and after the grace period reports lost
// each one whose dial loop is still its own and has not reached its peer:
// an old address of a machine that left is not dialed for ever. An address
// another source reports too is not given up (see claims): mDNS's
// report of an address this source dialed first keeps working.
//
// The addresses it reached stay dialed under its name, like those found
// by mDNS; mDNS, which runs beside it, reports them lost when their
// machines leave.
type recentPeers struct {
	addrs []string
	grace time.Duration
	table recentTable
}

func (r *recentPeers) Name() string { return recentSource }

func (r *recentPeers) Run(ctx context.Context, found func(string), lost func(string, string)) error {
	for _, a := range r.addrs {
		found(a)
	}
	tm := time.NewTimer(r.grace)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return nil
	case <-tm.C:
	}
	ready := make(map[string]bool)
	for _, p := range r.table.List() {
		if p.Ready {
			ready[p.Addr] = true
		}
	}
	for _, a := range r.addrs {
		if src, ok := r.table.Source(a); ok && src == recentSource && !ready[a] {
			lost(a, "not reached since the restart")
		}
	}
	<-ctx.Done()
	return nil
}

// wantForgetter is what claims drives: the peer table.
type wantForgetter interface {
	Want(addr, source string)
	Forget(addr, reason string)
}

// claims remembers which sources reported each address found and not yet
// lost. The peer table keeps one dial loop per address, owned by the
// source that wanted it first, and Forget stops it whoever asks; so a
// source that only gives hints (the recent source) must not forget an
// address another source still reports. found and lost run under one lock
// with the table's Want and Forget, so that no report slips between the
// check and the Forget.
type claims struct {
	mu sync.Mutex
	by map[string]map[string]bool // address → names of the sources reporting it
}

// found records that source reports addr and has the table dial it.
func (c *claims) found(t wantForgetter, addr, source string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.by == nil {
		c.by = make(map[string]map[string]bool)
	}
	if c.by[addr] == nil {
		c.by[addr] = make(map[string]bool)
	}
	c.by[addr][source] = true
	t.Want(addr, source)
}

// lost records that source no longer reports addr and has the table
// forget it, unless yield is set and another source still reports it. It
// reports whether the table was told to forget.
func (c *claims) lost(t wantForgetter, addr, source, reason string, yield bool) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	set := c.by[addr]
	delete(set, source)
	if len(set) == 0 {
		delete(c.by, addr)
	}
	if yield && len(set) > 0 {
		return false
	}
	t.Forget(addr, reason)
	return true
}
