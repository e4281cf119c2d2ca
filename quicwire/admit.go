package quicwire

import (
	"net/netip"
	"sync"
	"time"
)

// Anyone on the network can complete a QUIC and TLS handshake with a node
// (the certificate is self-signed) and then say nothing. Before the room
// proof, such connections once shared one budget with room members, so
// 256 silent ones locked every member out. admission keeps outsiders in a
// budget of their own:
//
//   - connections that have not proven the room yet get at most
//     maxUnproven slots in all and maxUnprovenPerIP per source address; when
//     all slots are taken, the oldest unproven connection makes room, so a
//     flood can delay a member's hello by its own length at most, never
//     lock it out (a hello takes a round trip or two, a flood of newer
//     connections must arrive within that time to evict it);
//   - proven members have their own maxMembers slots;
//   - an address whose room proofs keep failing (guesses at the code, one
//     per exchange) is refused for a while: maxFailures in failWindow, then
//     failBan. The table of such addresses is bounded too.
//
// It is a plain state machine over connection keys and a clock, so its
// rules are tested without QUIC; node.go feeds it.
type admission[K comparable] struct {
	mu       sync.Mutex
	unproven map[K]pending
	byIP     map[netip.Addr]int
	order    []K // unproven keys, oldest first (may hold keys gone since)
	members  map[K]bool
	failures map[netip.Addr]*failures
}

// Budgets; see the type's comment.
const (
	maxUnproven      = 64
	maxUnprovenPerIP = 8
	maxMembers       = 256
	maxFailures      = 10
	failWindow       = time.Minute
	failBan          = time.Minute
	maxFailAddrs     = 4096
)

type pending struct {
	ip    netip.Addr
	since time.Time
}

type failures struct {
	n      int
	since  time.Time // start of the counting window
	banned time.Time // refused until then
}

func newAdmission[K comparable]() *admission[K] {
	return &admission[K]{
		unproven: make(map[K]pending),
		byIP:     make(map[netip.Addr]int),
		members:  make(map[K]bool),
		failures: make(map[netip.Addr]*failures),
	}
}

// admit decides on a connection just accepted from ip. It returns why it
// is refused ("" when admitted) and, when admitting it took the slot of the
// oldest unproven connection, that connection's key, which the caller
// closes.
func (a *admission[K]) admit(k K, ip netip.Addr, now time.Time) (refused string, evict K, evicted bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	ip = ip.Unmap()
	if why := a.refusedLocked(ip, now); why != "" {
		return why, evict, false
	}
	if len(a.unproven) >= maxUnproven {
		for len(a.order) > 0 {
			old := a.order[0]
			a.order = a.order[1:]
			if _, ok := a.unproven[old]; ok {
				a.forgetLocked(old)
				evict, evicted = old, true
				break
			}
		}
	}
	a.unproven[k] = pending{ip: ip, since: now}
	a.byIP[ip]++
	a.order = append(a.order, k)
	return "", evict, evicted
}

// precheck tells, before a new connection's handshake, whether admit would
// refuse it for its address, so that no cryptography is spent on it.
func (a *admission[K]) precheck(ip netip.Addr, now time.Time) (refused string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.refusedLocked(ip.Unmap(), now)
}

func (a *admission[K]) refusedLocked(ip netip.Addr, now time.Time) string {
	if f := a.failures[ip]; f != nil && now.Before(f.banned) {
		return "too many failed room proofs from this address"
	}
	if a.byIP[ip] >= maxUnprovenPerIP {
		return "too many connections from this address"
	}
	return ""
}

// proven moves a connection that passed the room proof to the members'
// slots. It reports false when those are full (the caller closes it).
func (a *admission[K]) proven(k K) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.forgetLocked(k)
	if len(a.members) >= maxMembers {
		return false
	}
	a.members[k] = true
	return true
}

// failed counts a failed room proof from ip.
func (a *admission[K]) failed(ip netip.Addr, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	ip = ip.Unmap()
	f := a.failures[ip]
	if f == nil {
		if len(a.failures) >= maxFailAddrs {
			a.pruneLocked(now)
		}
		f = &failures{since: now}
		a.failures[ip] = f
	}
	if now.Sub(f.since) > failWindow {
		f.n, f.since = 0, now
	}
	f.n++
	if f.n >= maxFailures {
		f.banned = now.Add(failBan)
		f.n, f.since = 0, now
	}
}

// gone forgets a connection that ended, whatever its state.
func (a *admission[K]) gone(k K) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.forgetLocked(k)
	delete(a.members, k)
}

// counts reports the slots in use, for tests and logs.
func (a *admission[K]) counts() (unproven, members int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.unproven), len(a.members)
}

func (a *admission[K]) forgetLocked(k K) {
	p, ok := a.unproven[k]
	if !ok {
		return
	}
	delete(a.unproven, k)
	if a.byIP[p.ip]--; a.byIP[p.ip] <= 0 {
		delete(a.byIP, p.ip)
	}
	// Keep order from growing without bound under churn: drop the keys of
	// connections already gone once they make up most of it.
	if len(a.order) > 2*maxUnproven && len(a.order) > 4*len(a.unproven) {
		live := a.order[:0]
		for _, o := range a.order {
			if _, ok := a.unproven[o]; ok {
				live = append(live, o)
			}
		}
		a.order = live
	}
}

// pruneLocked makes room in a full failure table: every record that does
// not ban its address now goes (its count starts again), and if bans alone
// fill the table, arbitrary ones go. It runs only when the table filled
// up again, so its cost is spread over that many failures; each failure
// already cost its sender a QUIC handshake and a CPace exchange.
func (a *admission[K]) pruneLocked(now time.Time) {
	for ip, f := range a.failures {
		if !now.Before(f.banned) {
			delete(a.failures, ip)
		}
	}
	for ip := range a.failures {
		if len(a.failures) < maxFailAddrs*7/8 {
			break
		}
		delete(a.failures, ip)
	}
}
