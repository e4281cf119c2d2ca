package discover

import (
	"net/netip"
	"slices"
	"sort"
	"time"
)

// maxPeers bounds the cache: one host on the link announcing made-up nodes
// must not make us hold (or make the engine dial) without limit.
const maxPeers = 256

// sighting is one report that a peer is alive.
type sighting struct {
	at       time.Time // the report is at least this fresh: arrival, or the start of the poll
	iface    string
	instance string
	svc      Service // from the TXT record; Port unused
	addrs    []netip.AddrPort
}

// cache holds the peers heard recently. It is driven by the times it is
// given, never the clock, and returns the events each change causes.
type cache struct {
	ttl        time.Duration
	peers      map[string]*cached // by node id
	byInstance map[string]string  // instance name to node id, for goodbyes without a TXT
	byes       map[string]time.Time
}

type cached struct {
	svc      Service
	instance string
	lastSeen time.Time
	addrs    map[netip.AddrPort]heardOn
	shown    *Peer // last reported in Found; nil until then
}

type heardOn struct {
	at    time.Time
	iface string
}

func newCache(ttl time.Duration) *cache {
	return &cache{
		ttl:        ttl,
		peers:      map[string]*cached{},
		byInstance: map[string]string{},
		byes:       map[string]time.Time{},
	}
}

// seen records a sighting. One without addresses keeps a known peer alive
// but does not create one.
func (c *cache) seen(s sighting) []Event {
	id := s.svc.NodeID
	if t, ok := c.byes[id]; ok {
		if !s.at.After(t) {
			// A poll that began before the goodbye arrived may still carry
			// the peer's last answer; it must not bring the peer back.
			return nil
		}
		delete(c.byes, id)
	}
	e := c.peers[id]
	if e == nil {
		if len(s.addrs) == 0 || len(c.peers) >= maxPeers {
			return nil
		}
		e = &cached{addrs: map[netip.AddrPort]heardOn{}}
		c.peers[id] = e
	}
	if !s.at.Before(e.lastSeen) {
		e.lastSeen = s.at
		e.svc = s.svc
		if e.instance != s.instance {
			delete(c.byInstance, e.instance)
			e.instance = s.instance
			c.byInstance[s.instance] = id
		}
	}
	for _, a := range s.addrs {
		if h, ok := e.addrs[a]; (!ok && len(e.addrs) < maxAddrsPerHost) || (ok && s.at.After(h.at)) {
			e.addrs[a] = heardOn{at: s.at, iface: s.iface}
		}
	}
	return c.report(id, e)
}

// goodbye drops a peer that said it is leaving, named by node id or, when
// the goodbye carried no readable TXT record, by instance name.
func (c *cache) goodbye(at time.Time, id, instance string) []Event {
	if id == "" {
		id = c.byInstance[instance]
	}
	if id == "" {
		return nil
	}
	if _, ok := c.byes[id]; ok || len(c.byes) < maxPeers {
		c.byes[id] = at
	}
	return c.drop(id, ReasonGoodbye)
}

// expire drops the peers and addresses not heard for the TTL as of now. A
// peer's most recently heard address lives as long as the peer.
func (c *cache) expire(now time.Time) []Event {
	var evs []Event
	for _, id := range sortedKeys(c.peers) {
		e := c.peers[id]
		if now.Sub(e.lastSeen) > c.ttl {
			evs = append(evs, c.drop(id, ReasonExpired)...)
			continue
		}
		newest := e.newestAddr()
		for a, h := range e.addrs {
			if a != newest && now.Sub(h.at) > c.ttl {
				delete(e.addrs, a)
			}
		}
		evs = append(evs, c.report(id, e)...)
	}
	for id, t := range c.byes {
		if now.Sub(t) > c.ttl {
			delete(c.byes, id)
		}
	}
	return evs
}

func (c *cache) drop(id, reason string) []Event {
	e := c.peers[id]
	if e == nil {
		return nil
	}
	delete(c.peers, id)
	delete(c.byInstance, e.instance)
	if e.shown == nil {
		return nil
	}
	return []Event{Lost{NodeID: id, Reason: reason}}
}

// report returns a Found when the peer as it would be shown differs from
// what was last shown.
func (c *cache) report(id string, e *cached) []Event {
	if len(e.addrs) == 0 {
		return nil
	}
	p := e.peer(id)
	if e.shown != nil && equalPeers(*e.shown, p) {
		return nil
	}
	e.shown = &p
	return []Event{Found{Peer: p}}
}

func (e *cached) peer(id string) Peer {
	addrs := make([]netip.AddrPort, 0, len(e.addrs))
	for a := range e.addrs {
		addrs = append(addrs, a)
	}
	sortAddrs(addrs)
	return Peer{
		NodeID:   id,
		Name:     e.svc.Name,
		Addrs:    addrs,
		Lending:  e.svc.Lending,
		RoomHint: e.svc.RoomHint,
		Version:  e.svc.Version,
		Iface:    e.addrs[addrs[0]].iface,
	}
}

func (e *cached) newestAddr() netip.AddrPort {
	var best netip.AddrPort
	var at time.Time
	for a, h := range e.addrs {
		// Ties go to the lowest address so that the choice is stable.
		if h.at.After(at) || h.at.Equal(at) && (!best.IsValid() || a.Compare(best) < 0) {
			best, at = a, h.at
		}
	}
	return best
}

func equalPeers(a, b Peer) bool {
	return a.NodeID == b.NodeID && a.Name == b.Name && a.Lending == b.Lending &&
		a.RoomHint == b.RoomHint && a.Version == b.Version && a.Iface == b.Iface &&
		slices.Equal(a.Addrs, b.Addrs)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// quietWatch notices a silence: nothing heard for after. It reports each
// silence once.
type quietWatch struct {
	after time.Duration
	last  time.Time
	told  bool
}

func (q *quietWatch) heard(when time.Time) {
	if when.After(q.last) {
		q.last = when
	}
	q.told = false
}

// check reports whether a silence has just become long enough to tell.
func (q *quietWatch) check(now time.Time) bool {
	if q.told || now.Sub(q.last) < q.after {
		return false
	}
	q.told = true
	return true
}
