package sched

import (
	"fmt"
	"hash/fnv"
	"slices"
	"testing"
	"time"

	"github.com/dragonload/dragonload/core/span"
)

// The simulator below moves a fake clock in fixed steps. Each simulated
// lender has a link of a fixed rate, a first-byte latency per request, and
// serves its requests either side by side (sharing the link equally) or one
// after the other. It drives the scheduler the way the engine does: Next for
// every peer, clamp each delivery to End, Received, Complete, Tick.
//
// A simulated copy peer (AddCopy) holds what its holds function says right
// now, which may grow or shrink; the scheduler learns it, and the peer's
// claims, when it joins and then once every simPoll, as the engine would
// poll. It serves only bytes it holds and fails a request whose next byte
// it no longer holds. It stops serving and being polled at stallAt, as a
// machine that died.

var epoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

type simPeer struct {
	id       PeerID
	rate     float64       // bytes per second
	latency  time.Duration // request to first byte
	fifo     bool          // serves one request at a time
	join     time.Duration // when AddPeer is called
	leave    time.Duration // when RemovePeer is called; 0 = never
	stallAt  time.Duration // from then on it delivers nothing; 0 = never
	failFrom int64         // every request fails after this many bytes; 0 = never
	trickle  int           // every trickle-th request trickles after trickleAfter bytes; 0 = never
	copy     bool          // a copy peer: serves only what holds returns
	holds    func() span.Set
	claims   func() span.Set // its own download's in-flight bytes; nil = none
}

// simPoll is how often the simulated engine tells the scheduler what its
// copy peers hold and claim.
const simPoll = time.Second

// A trickling request sends trickleAfter bytes at the link's pace, then
// trickleRate bytes per second for good, without using the link.
const (
	trickleAfter = 4 << 10
	trickleRate  = 1.0
)

type simReq struct {
	a     Assignment
	pos   int64
	ready time.Duration // first byte may flow
	acc   float64
	sent  int64 // bytes this request delivered
	slow  bool  // trickles after trickleAfter bytes
}

type sim struct {
	t      *testing.T
	s      *Scheduler
	size   int64
	peers  []*simPeer
	state  map[PeerID]string // "", "in", "out"
	reqs   map[PeerID][]*simReq
	got    span.Set                 // bytes delivered and kept
	origin int64                    // bytes lenders pulled from the origin, kept or not
	lan    int64                    // bytes copy peers sent, kept or not
	told   map[PeerID]span.Set      // what each copy peer holds, as last told
	claims map[PeerID]span.Set      // what each copy peer claims, as last told
	grew   map[PeerID]time.Duration // when what it holds last grew, as told
	now    time.Duration
	step   time.Duration
	trace  []Assignment
	byPeer map[PeerID]int64
	idle   map[PeerID]time.Duration // time a present peer's link carried nothing
	errs   []error
	stalls []Stall
	asked  map[PeerID]int // requests sent to each peer
	slowed int            // requests that began to trickle
}

func newSim(t *testing.T, cfg Config, peers []*simPeer) *sim {
	m := &sim{
		t:      t,
		s:      New(cfg, epoch),
		size:   cfg.Size,
		peers:  peers,
		state:  make(map[PeerID]string),
		reqs:   make(map[PeerID][]*simReq),
		step:   time.Millisecond,
		byPeer: make(map[PeerID]int64),
		idle:   make(map[PeerID]time.Duration),
		asked:  make(map[PeerID]int),
		told:   make(map[PeerID]span.Set),
		claims: make(map[PeerID]span.Set),
		grew:   make(map[PeerID]time.Duration),
	}
	for _, r := range cfg.Done {
		m.got.Add(r)
	}
	return m
}

// run advances until the download finishes or limit passes, and returns
// the finish time.
func (m *sim) run(limit time.Duration) time.Duration {
	m.t.Helper()
	for m.now = 0; m.now <= limit; m.now += m.step {
		if m.advance() {
			return m.now
		}
	}
	m.fail(limit)
	return 0
}

func (m *sim) fail(limit time.Duration) {
	m.t.Helper()
	m.t.Fatalf("not finished after %v: %d of %d bytes, %d unassigned, stats %+v",
		limit, m.got.Size(), m.size, m.s.Unassigned(), m.s.Stats(epoch.Add(m.now)))
}

// advance simulates the step at m.now and reports whether the download
// finished.
func (m *sim) advance() bool {
	m.t.Helper()
	{
		now := epoch.Add(m.now)
		m.membership(now)
		m.poll(now)
		// What a copy peer holds or claims may cut a request short or
		// away entirely: the engine learns it from End.
		var gone []uint64
		for _, rs := range m.reqs {
			for _, r := range rs {
				if m.s.End(r.a.ID) == -1 {
					gone = append(gone, r.a.ID)
				}
			}
		}
		for _, id := range gone {
			m.drop(id)
		}
		stalls, err := m.s.Tick(now)
		m.note(err)
		for _, st := range stalls {
			if m.s.End(st.ID) != -1 {
				m.t.Fatalf("stalled assignment %d still live", st.ID)
			}
			m.drop(st.ID)
		}
		m.stalls = append(m.stalls, stalls...)
		m.assign(now)
		m.deliver(now)
		if m.now%(50*time.Millisecond) == 0 {
			checkInvariants(m.t, m.s, &m.got)
		}
		if m.s.Finished() {
			checkInvariants(m.t, m.s, &m.got)
			if m.got.Size() != m.size || m.got.Len() != 1 {
				m.t.Fatalf("finished with %v of %d bytes", m.got, m.size)
			}
			return true
		}
	}
	return false
}

// poll tells the scheduler what each live copy peer holds and claims, once
// every simPoll.
func (m *sim) poll(now time.Time) {
	if m.now%simPoll != 0 {
		return
	}
	for _, p := range m.peers {
		if p.copy && m.state[p.id] == "in" && !p.dead(m.now) {
			m.tell(p, now)
		}
	}
}

func (m *sim) tell(p *simPeer, now time.Time) {
	has, old := p.holds(), m.told[p.id]
	for _, r := range has.Ranges() {
		if !old.Contains(r) {
			m.grew[p.id] = m.now
		}
	}
	m.told[p.id] = has
	m.s.SetHas(p.id, has, now)
	if p.claims != nil {
		m.claims[p.id] = p.claims()
		m.s.SetClaims(p.id, m.claims[p.id], now)
	}
}

func (p *simPeer) dead(now time.Duration) bool { return p.stallAt > 0 && now >= p.stallAt }

func (m *sim) note(err error) {
	if err != nil {
		m.errs = append(m.errs, err)
	}
}

func (m *sim) membership(now time.Time) {
	for _, p := range m.peers {
		switch {
		case m.state[p.id] == "" && m.now >= p.join:
			m.state[p.id] = "in"
			if p.copy {
				m.s.AddCopy(p.id, span.Set{}, now)
				m.tell(p, now)
			} else {
				m.s.AddPeer(p.id, now)
			}
		case m.state[p.id] == "in" && p.leave > 0 && m.now >= p.leave:
			m.state[p.id] = "out"
			m.s.RemovePeer(p.id, now)
			delete(m.claims, p.id)
			for _, r := range m.reqs[p.id] {
				if m.s.End(r.a.ID) != -1 {
					m.t.Fatalf("assignment %d of removed peer %s still live", r.a.ID, p.id)
				}
			}
			delete(m.reqs, p.id)
		}
	}
}

func (m *sim) assign(now time.Time) {
	for _, p := range m.peers {
		if m.state[p.id] != "in" {
			continue
		}
		for range 10 {
			a, ok := m.s.Next(p.id, now)
			if !ok {
				break
			}
			if a.Range.Empty() || m.got.Overlaps(a.Range) {
				m.t.Fatalf("assignment %+v is empty or overlaps received bytes", a)
			}
			if has := m.told[p.id]; p.copy && !has.Contains(a.Range) {
				m.t.Fatalf("copy peer %s assigned %+v beyond what it holds, %v", p.id, a, has)
			}
			for _, q := range m.peers {
				// The far end of a claim may go to a peer that holds no
				// copy, but never where the claimant is: the start of a
				// claimed range. (An end-game split takes bytes from a
				// peer here, claimed or not.)
				c := m.claims[q.id]
				if !p.copy && a.From == 0 && m.state[q.id] == "in" && m.now < m.grew[q.id]+DefaultClaimPatience && c.Overlaps(a.Range) {
					for _, k := range c.Ranges() {
						if k.Off >= a.Range.Off && k.Off < a.Range.End {
							m.t.Fatalf("%s assigned %+v, where %s's claim %v begins", p.id, a, q.id, k)
						}
					}
				}
			}
			m.trace = append(m.trace, a)
			if a.From != 0 && m.s.End(a.From) == -1 {
				// The split took all the holder had left: the engine
				// cancels that request at once.
				m.drop(a.From)
			}
			m.asked[p.id]++
			slow := p.trickle > 0 && m.asked[p.id]%p.trickle == 0
			m.reqs[p.id] = append(m.reqs[p.id], &simReq{a: a, pos: a.Range.Off, ready: m.now + p.latency, slow: slow})
		}
		if n := len(m.reqs[p.id]); n > m.s.cfg.InFlight {
			m.t.Fatalf("peer %s holds %d requests", p.id, n)
		}
	}
}

func (m *sim) deliver(now time.Time) {
	for _, p := range m.peers {
		if m.state[p.id] != "in" || p.dead(m.now) {
			continue
		}
		var has span.Set
		if p.copy {
			has = p.holds()
		}
		var active, trickling []*simReq
		for _, r := range m.reqs[p.id] {
			switch {
			case r.ready > m.now:
			case r.trickling():
				trickling = append(trickling, r)
			case !p.fifo || len(active) == 0:
				active = append(active, r)
			}
		}
		if len(active) == 0 {
			m.idle[p.id] += m.step
		}
		share := p.rate * m.step.Seconds() / float64(max(len(active), 1))
		for _, r := range append(active, trickling...) {
			if r.trickling() {
				r.acc += trickleRate * m.step.Seconds()
			} else {
				r.acc += share
			}
			n := int64(r.acc)
			r.acc -= float64(n)
			if p.failFrom > 0 && r.sent+n > p.failFrom {
				n = p.failFrom - r.sent
			}
			if r.slow && r.sent < trickleAfter {
				n = min(n, trickleAfter-r.sent)
			}
			if p.copy {
				// It sends only what it holds from where the request
				// has got to, and fails the request once that is nothing.
				held, ok := within(has.Ranges(), r.pos)
				if !ok {
					m.note(m.s.Fail(r.a.ID, fmt.Errorf("copy peer %s lacks byte %d", p.id, r.pos), 0, now))
					m.drop(r.a.ID)
					continue
				}
				n = min(n, held.End-r.pos)
				m.lan += n
			} else {
				m.origin += n
			}
			k := min(n, m.s.End(r.a.ID)-r.pos)
			if k > 0 {
				w := span.Range{Off: r.pos, End: r.pos + k}
				if m.got.Overlaps(w) {
					m.t.Fatalf("peer %s delivered %v twice", p.id, w)
				}
				m.got.Add(w)
				m.byPeer[p.id] += k
				r.pos += k
				r.sent += k
				if r.slow && r.sent == trickleAfter {
					m.slowed++
				}
			}
			if m.s.Received(r.a.ID, max(k, 0), now) {
				m.note(m.s.Complete(r.a.ID, now))
				m.drop(r.a.ID)
				continue
			}
			if p.failFrom > 0 && r.sent >= p.failFrom {
				m.note(m.s.Fail(r.a.ID, fmt.Errorf("peer %s broke", p.id), 0, now))
				m.drop(r.a.ID)
			}
		}
	}
}

func (r *simReq) trickling() bool { return r.slow && r.sent >= trickleAfter }

func (m *sim) drop(id uint64) {
	for p, rs := range m.reqs {
		m.reqs[p] = slices.DeleteFunc(rs, func(r *simReq) bool { return r.a.ID == id })
	}
}

// checkInvariants verifies that the pool, the unreceived rest of every live
// assignment and the received bytes are disjoint and together cover the
// whole file, and that the books agree with each other.
func checkInvariants(t *testing.T, s *Scheduler, got *span.Set) {
	t.Helper()
	var all span.Set
	claim := func(r span.Range, what string) {
		if r.Empty() {
			return
		}
		if all.Overlaps(r) {
			t.Fatalf("%s %v overlaps other bytes (pool %v, received %v)", what, r, s.pool, got)
		}
		all.Add(r)
	}
	for _, r := range got.Ranges() {
		claim(r, "received")
	}
	for _, r := range s.pool.Ranges() {
		claim(r, "pool")
	}
	n := 0
	for _, pr := range s.peers {
		if !pr.present && len(pr.asg) > 0 {
			t.Fatalf("removed peer %s holds %d assignments", pr.id, len(pr.asg))
		}
		if len(pr.asg) > s.cfg.InFlight {
			t.Fatalf("peer %s holds %d assignments", pr.id, len(pr.asg))
		}
		for _, a := range pr.asg {
			n++
			if s.live[a.id] != a || a.peer != pr {
				t.Fatalf("assignment %d books disagree", a.id)
			}
			if !(a.off <= a.pos && a.pos < a.end) {
				t.Fatalf("assignment %d has off %d pos %d end %d", a.id, a.off, a.pos, a.end)
			}
			claim(span.Range{Off: a.pos, End: a.end}, fmt.Sprintf("assignment %d", a.id))
		}
	}
	if n != len(s.live) {
		t.Fatalf("%d live assignments, peers hold %d", len(s.live), n)
	}
	if all.Size() != s.cfg.Size || (s.cfg.Size > 0 && all.Len() != 1) {
		t.Fatalf("bytes accounted for: %v of %d", all, s.cfg.Size)
	}
	if s.received != got.Size() {
		t.Fatalf("scheduler counts %d received, %d were", s.received, got.Size())
	}
}

const mb = 1e6

func peersAt(rates ...float64) []*simPeer {
	out := make([]*simPeer, len(rates))
	for i, r := range rates {
		out[i] = &simPeer{id: PeerID(fmt.Sprintf("p%d", i)), rate: r * mb, latency: 30 * time.Millisecond}
	}
	out[0].id = "self"
	return out
}

func ideal(size int64, peers []*simPeer) time.Duration {
	var sum float64
	for _, p := range peers {
		sum += p.rate
	}
	return time.Duration(float64(size) / sum * float64(time.Second))
}

func TestFinishNearIdeal(t *testing.T) {
	cases := []struct {
		name    string
		size    int64
		rates   []float64
		fifo    bool
		latency time.Duration
	}{
		{"one peer", 100 << 20, []float64{10}, false, 0},
		{"equal", 400 << 20, []float64{10, 10, 10, 10}, false, 0},
		{"equal fifo", 400 << 20, []float64{10, 10, 10, 10}, true, 0},
		{"unequal", 400 << 20, []float64{2.5, 5, 10, 20}, false, 0},
		{"unequal fifo", 400 << 20, []float64{2.5, 5, 10, 20}, true, 0},
		{"many", 600 << 20, []float64{3, 4, 5, 6, 7, 8, 9, 10}, false, 0},
		{"small file", 3 << 20, []float64{10, 10, 10}, false, 0},
		{"slow origin", 400 << 20, []float64{2.5, 5, 10, 20}, false, 300 * time.Millisecond},
		{"slow origin fifo", 400 << 20, []float64{2.5, 5, 10, 20}, true, 300 * time.Millisecond},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			peers := peersAt(c.rates...)
			for _, p := range peers {
				p.fifo = c.fifo
				if c.latency > 0 {
					p.latency = c.latency
				}
			}
			m := newSim(t, Config{Size: c.size}, peers)
			got := m.run(10 * time.Minute)
			want := ideal(c.size, peers)
			// Slack: a few percent, plus the first request's latency and
			// a little for the tail of a very short download.
			limit := time.Duration(float64(want)*1.04) + 150*time.Millisecond + peers[0].latency
			t.Logf("finished in %v, ideal %v (%.1f%%), %d assignments, origin %.4f×size",
				got, want, 100*float64(got-want)/float64(want), len(m.trace), float64(m.origin)/float64(c.size))
			if got > limit {
				t.Errorf("finished in %v, more than %v (ideal %v)", got, limit, want)
			}
			checkOrigin(t, m)
			if len(m.errs) != 0 {
				t.Errorf("errors: %v", m.errs)
			}
		})
	}
}

// TestMixedLatencyWaste: the requester reaches the origin in 20 ms, its
// lenders in 300 ms (a LAN hop plus their own path). When the requester
// cuts a lender's range in the end-game, the bytes already streaming
// through the lender must stay with it, or the origin sends them twice.
func TestMixedLatencyWaste(t *testing.T) {
	peers := peersAt(10, 10, 10, 10)
	peers[0].latency = 20 * time.Millisecond
	for _, p := range peers[1:] {
		p.latency = 300 * time.Millisecond
	}
	const size = 256 << 20
	m := newSim(t, Config{Size: size}, peers)
	got := m.run(10 * time.Minute)
	waste := float64(m.origin)/float64(size) - 1
	t.Logf("finished in %v, ideal %v, origin %.4f×size", got, ideal(size, peers), 1+waste)
	if waste > 0.002 {
		t.Errorf("the origin sent %.2f%% of the file twice; splits cut bytes already in flight", 100*waste)
	}
	if len(m.errs) != 0 {
		t.Errorf("errors: %v", m.errs)
	}
}

func checkOrigin(t *testing.T, m *sim) {
	t.Helper()
	// What a cut holder streams past its new end before the engine reads
	// it is wasted; it is bounded by the split count, not the size.
	if float64(m.origin) > 1.01*float64(m.size)+64<<10 {
		t.Errorf("origin sent %d bytes for %d (%.3f×)", m.origin, m.size, float64(m.origin)/float64(m.size))
	}
}

func TestStraggler(t *testing.T) {
	const size = 300 << 20
	for _, fifo := range []bool{false, true} {
		t.Run(fmt.Sprintf("fifo=%v", fifo), func(t *testing.T) {
			peers := peersAt(10, 10, 10, 1)
			for _, p := range peers {
				p.fifo = fifo
			}
			m := newSim(t, Config{Size: size}, peers)
			got := m.run(10 * time.Minute)
			want := ideal(size, peers)
			// The straggler's last piece is at most about MinSplit, a
			// quarter of a second at 1 MB/s.
			limit := time.Duration(float64(want)*1.03) + 300*time.Millisecond
			t.Logf("finished in %v, ideal %v; straggler sent %d bytes", got, want, m.byPeer["p3"])
			if got > limit {
				t.Errorf("finished in %v, more than %v (ideal %v)", got, limit, want)
			}
			if m.byPeer["p3"] == 0 {
				t.Error("the straggler got no work")
			}
			checkOrigin(t, m)
		})
	}
}

func TestPeerLeaves(t *testing.T) {
	const size = 200 << 20
	peers := peersAt(10, 10, 10)
	peers[1].leave = 3 * time.Second
	peers[2].leave = 5*time.Second + 123*time.Millisecond
	m := newSim(t, Config{Size: size}, peers)
	got := m.run(5 * time.Minute)
	// After they leave only self works; the bytes they received stay.
	if m.byPeer["p1"] == 0 || m.byPeer["p2"] == 0 {
		t.Errorf("leavers sent nothing: %v", m.byPeer)
	}
	left := float64(size - m.byPeer["p1"] - m.byPeer["p2"])
	want := time.Duration(left / (10 * mb) * float64(time.Second))
	t.Logf("finished in %v; self alone would need %v for the rest", got, want)
	if got > time.Duration(float64(want)*1.03)+time.Second {
		t.Errorf("finished in %v, want about %v", got, want)
	}
	checkOrigin(t, m)
}

func TestPeerJoinsLate(t *testing.T) {
	const size = 200 << 20
	peers := peersAt(10, 10)
	peers[1].join = 5 * time.Second
	m := newSim(t, Config{Size: size}, peers)
	got := m.run(5 * time.Minute)
	if m.byPeer["p1"] < size/4 {
		t.Errorf("late peer sent only %d bytes of %d", m.byPeer["p1"], size)
	}
	want := 5*time.Second + time.Duration((size-50*mb)/(20*mb)*float64(time.Second))
	t.Logf("finished in %v, want about %v", got, want)
	if got > time.Duration(float64(want)*1.04) {
		t.Errorf("finished in %v, want about %v", got, want)
	}
}

func TestStalledPeer(t *testing.T) {
	const size = 200 << 20
	peers := peersAt(10, 10, 10)
	peers[2].stallAt = 4 * time.Second
	m := newSim(t, Config{Size: size}, peers)
	got := m.run(5 * time.Minute)
	// The others work on the pool meanwhile; once it is empty, what the
	// silent peer holds is split off or taken over within takeoverAfter.
	live := float64(size-m.byPeer["p2"]) / (20 * mb)
	want := time.Duration(live*float64(time.Second)) + takeoverAfter
	t.Logf("finished in %v, want at most %v; stats %+v", got, want, m.s.Stats(epoch.Add(got)))
	if got > want {
		t.Errorf("finished in %v, want at most %v", got, want)
	}
	if st := m.s.Stats(epoch.Add(got)); st[2].Failures == 0 {
		t.Errorf("stalled peer has no failures: %+v", st[2])
	}
	if len(m.errs) != 0 {
		t.Errorf("errors: %v", m.errs)
	}
}

func TestStallInEndgame(t *testing.T) {
	const size = 100 << 20
	peers := peersAt(10, 10, 10)
	want := ideal(size, peers)
	peers[2].stallAt = want - 200*time.Millisecond
	m := newSim(t, Config{Size: size}, peers)
	got := m.run(time.Minute)
	// Most of what the silent peer holds is split off while its rate
	// decays; the rest is taken over once it was silent takeoverAfter.
	limit := peers[2].stallAt + takeoverAfter + 500*time.Millisecond
	t.Logf("finished in %v, ideal %v, limit %v", got, want, limit)
	if got > limit {
		t.Errorf("finished in %v, more than %v", got, limit)
	}
	checkOrigin(t, m)
}

func TestFlakyPeer(t *testing.T) {
	const size = 100 << 20
	peers := peersAt(10, 10)
	peers[1].failFrom = 300 << 10
	m := newSim(t, Config{Size: size}, peers)
	m.run(5 * time.Minute)
	st := m.s.Stats(epoch.Add(m.now))
	if st[1].Failures < 3 {
		t.Errorf("flaky peer failed only %d times", st[1].Failures)
	}
	if len(m.errs) != 0 {
		t.Errorf("gave up although another peer could fetch every byte: %v", m.errs)
	}
}

// TestBadPeer has a peer fail every request after one byte. It leaves
// the bytes it failed on to the other, so no bytes fail MaxAttempts
// (three) times, and the slow good peer finishes the download.
func TestBadPeer(t *testing.T) {
	peers := peersAt(0.5, 10)
	peers[1].failFrom = 1
	m := newSim(t, Config{Size: 10 << 20, MaxAttempts: 3}, peers)
	m.run(10 * time.Minute)
	if len(m.errs) != 0 {
		t.Errorf("gave up: %v", m.errs[0])
	}
	if st := m.s.Stats(epoch.Add(m.now)); st[1].Failures < 3 {
		t.Errorf("bad peer failed only %d times", st[1].Failures)
	}
}

func TestResume(t *testing.T) {
	const size = 50 << 20
	done := []span.Range{{Off: 0, End: 10 << 20}, {Off: 20 << 20, End: 21 << 20}, {Off: 49 << 20, End: size}}
	peers := peersAt(10, 10)
	m := newSim(t, Config{Size: size, Done: done}, peers)
	m.run(time.Minute)
	var want int64 = size - 12<<20
	if got := m.byPeer["self"] + m.byPeer["p1"]; got != want {
		t.Errorf("fetched %d bytes, want %d", got, want)
	}
	for _, a := range m.trace {
		for _, d := range done {
			if !a.Range.Intersect(d).Empty() {
				t.Errorf("assignment %+v overlaps done %v", a, d)
			}
		}
	}
}

func TestResumeComplete(t *testing.T) {
	s := New(Config{Size: 100, Done: []span.Range{{Off: 0, End: 60}, {Off: 50, End: 200}}}, epoch)
	s.AddPeer("self", epoch)
	if !s.Finished() {
		t.Error("not finished with every byte done")
	}
	if a, ok := s.Next("self", epoch); ok {
		t.Errorf("assigned %+v of a finished download", a)
	}
	if _, ok := s.Wake(epoch); ok {
		t.Error("a finished download wants to wake")
	}
}

func TestDeterministic(t *testing.T) {
	digest := func() uint64 {
		peers := peersAt(3, 7, 11)
		peers[1].leave = 4 * time.Second
		peers[2].join = time.Second
		m := newSim(t, Config{Size: 80 << 20}, peers)
		m.run(time.Minute)
		h := fnv.New64a()
		for _, a := range m.trace {
			fmt.Fprintf(h, "%d %s %v %d\n", a.ID, a.Peer, a.Range, a.From)
		}
		return h.Sum64()
	}
	if a, b := digest(), digest(); a != b {
		t.Errorf("two runs with the same inputs differ: %x, %x", a, b)
	}
}

// TestTricklingRequests has peers whose every third request sends 4 KiB
// and then 1 byte a second for good, as a real origin did. Such a request
// is never silent; the progress rule must cut it short so the download
// finishes in about the time it would take without trickles.
func TestTricklingRequests(t *testing.T) {
	const size = 200 << 20
	cases := []struct {
		name    string
		rates   []float64
		trickle []int // per peer, as simPeer.trickle
		fifo    bool
	}{
		{"self alone", []float64{10}, []int{3}, false},
		{"a lender", []float64{10, 10}, []int{0, 3}, false},
		{"a lender fifo", []float64{10, 10}, []int{0, 3}, true},
		{"everyone", []float64{10, 5, 20}, []int{3, 3, 3}, false},
		{"everyone fifo", []float64{10, 5, 20}, []int{3, 3, 3}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sim := func(trickle bool) *sim {
				peers := peersAt(c.rates...)
				for i, p := range peers {
					p.fifo = c.fifo
					if trickle {
						p.trickle = c.trickle[i]
					}
				}
				return newSim(t, Config{Size: size}, peers)
			}
			base := sim(false).run(10 * time.Minute)
			m := sim(true)
			got := m.run(10 * time.Minute)
			limit := base*3/2 + 10*time.Second
			t.Logf("finished in %v, %v without trickles; %d requests trickled, %d stalled",
				got, base, m.slowed, len(m.stalls))
			if got > limit {
				t.Errorf("finished in %v, more than %v (%v without trickles)", got, limit, base)
			}
			if m.slowed == 0 {
				t.Error("no request trickled")
			}
			for _, st := range m.stalls {
				if !st.Slow {
					t.Errorf("stall %+v: a trickle is not silence", st)
				}
			}
			if len(m.errs) != 0 {
				t.Errorf("errors: %v", m.errs)
			}
			checkOrigin(t, m)
		})
	}
}

// holding returns a holds function for a copy of the bytes rs.
func holding(rs ...span.Range) func() span.Set {
	return func() span.Set {
		var s span.Set
		for _, r := range rs {
			s.Add(r)
		}
		return s
	}
}

// TestCopyServesMost: beside an origin at 2.5 MB/s, a LAN copy of the
// whole file at 100 MB/s serves nearly all of it, and the download takes
// about as long as the copy alone would.
func TestCopyServesMost(t *testing.T) {
	const size = 256 << 20
	peers := []*simPeer{
		{id: "self", rate: 2.5 * mb, latency: 30 * time.Millisecond},
		{id: "lan", rate: 100 * mb, latency: 2 * time.Millisecond, copy: true, holds: holding(span.Range{Off: 0, End: size})},
	}
	m := newSim(t, Config{Size: size}, peers)
	got := m.run(5 * time.Minute)
	share := float64(m.byPeer["lan"]) / size
	want := time.Duration(size / (100 * mb) * float64(time.Second))
	t.Logf("finished in %v (the copy alone: %v); %.2f%% from the copy, origin sent %d bytes", got, want, 100*share, m.origin)
	if share < 0.95 {
		t.Errorf("only %.2f%% of the bytes came from the copy", 100*share)
	}
	if got > want*11/10+100*time.Millisecond {
		t.Errorf("finished in %v, the copy alone takes %v", got, want)
	}
	if len(m.errs) != 0 {
		t.Errorf("errors: %v", m.errs)
	}
}

// TestCopyStillDownloading: the copy grows from the front at 10 MB/s while
// its own download runs, and claims the next 10 MB it is fetching. The
// origin fetches only bytes the copy neither holds nor claims (the
// simulator checks), so the copy still serves most of the file, and the
// download ends as soon as the copy's does.
func TestCopyStillDownloading(t *testing.T) {
	const size = 128 << 20
	const grow = 10 * mb
	var m *sim
	front := func() int64 { return min(int64(grow*m.now.Seconds()), size) }
	peers := []*simPeer{
		{id: "self", rate: 2.5 * mb, latency: 30 * time.Millisecond},
		{id: "lan", rate: 100 * mb, latency: 2 * time.Millisecond, copy: true,
			holds:  func() span.Set { return holding(span.Range{Off: 0, End: front()})() },
			claims: func() span.Set { return holding(span.Range{Off: front(), End: min(front()+10e6, size)})() }},
	}
	m = newSim(t, Config{Size: size}, peers)
	got := m.run(5 * time.Minute)
	alone := time.Duration(size / grow * float64(time.Second))
	t.Logf("finished in %v (the copy's own download: %v); copy %d bytes, origin %d bytes (sent %d)",
		got, alone, m.byPeer["lan"], m.byPeer["self"], m.origin)
	if got > alone+simPoll+100*time.Millisecond {
		t.Errorf("finished in %v, the copy's own download takes %v", got, alone)
	}
	if m.byPeer["lan"] < size/2 {
		t.Errorf("the copy served only %d bytes", m.byPeer["lan"])
	}
	if float64(m.origin) > 1.01*float64(m.byPeer["self"])+64<<10 {
		t.Errorf("origin sent %d bytes for %d kept", m.origin, m.byPeer["self"])
	}
	if len(m.errs) != 0 {
		t.Errorf("errors: %v", m.errs)
	}
}

// TestCopyVanishes: the copy is discarded mid-download. Its requests fail,
// and the origin fetches the rest.
func TestCopyVanishes(t *testing.T) {
	const size = 64 << 20
	var m *sim
	peers := []*simPeer{
		{id: "self", rate: 2.5 * mb, latency: 30 * time.Millisecond},
		{id: "lan", rate: 10 * mb, latency: 2 * time.Millisecond, copy: true, holds: func() span.Set {
			if m.now >= 2500*time.Millisecond {
				return span.Set{}
			}
			return holding(span.Range{Off: 0, End: size})()
		}},
	}
	m = newSim(t, Config{Size: size, MaxAttempts: 3}, peers)
	got := m.run(5 * time.Minute)
	left := float64(size - m.byPeer["lan"])
	want := 3*time.Second + time.Duration(left/(2.5*mb)*float64(time.Second))
	t.Logf("finished in %v (want about %v); copy %d bytes, origin %d; stats %+v", got, want, m.byPeer["lan"], m.byPeer["self"], m.s.Stats(epoch.Add(got)))
	if m.byPeer["lan"] < 20e6 || m.byPeer["self"] < 20e6 {
		t.Errorf("copy sent %d, origin %d: want both a good part", m.byPeer["lan"], m.byPeer["self"])
	}
	if got > want*105/100 {
		t.Errorf("finished in %v, want about %v", got, want)
	}
	if len(m.errs) != 0 {
		t.Errorf("errors: %v", m.errs)
	}
}

// machine is one machine of a room that downloads the same file as the
// others, from its own origin.
type machine struct {
	start  time.Duration // when its download starts
	death  time.Duration // when it stops for good; 0 = never
	origin float64       // its origin's rate, bytes per second
}

// room simulates machines downloading the same file at once, each
// scheduler made when its download starts. Each machine sees every other,
// from the later of their two starts, as a copy peer that serves at
// 100 MB/s what the other holds and claims what the other's scheduler has
// assigned, learnt every simPoll. What a machine holds is what it had
// received lag earlier, as a real engine publishes only what it has
// committed (lag 0: what it has received right now). A machine that dies
// stops, and the others' view of it freezes. It returns each machine's
// simulation and finish time (0 if it died first), and what each had
// received at the start of each whole second.
func room(t *testing.T, size int64, lag, limit time.Duration, ms ...machine) (sims []*sim, ends []time.Duration, had map[time.Duration][]int64) {
	t.Helper()
	sims = make([]*sim, len(ms))
	ends = make([]time.Duration, len(ms))
	snaps := make(map[time.Duration][]span.Set) // received, at the start of each step, lag long
	var clock time.Duration
	had = make(map[time.Duration][]int64)
	for i, me := range ms {
		peers := []*simPeer{{id: "self", rate: me.origin, latency: 30 * time.Millisecond, join: me.start}}
		for j, o := range ms {
			if j == i {
				continue
			}
			id := PeerID("other")
			if len(ms) > 2 {
				id = PeerID(fmt.Sprintf("m%d", j))
			}
			peers = append(peers, &simPeer{id: id, rate: 100 * mb, latency: 2 * time.Millisecond,
				join: max(me.start, o.start), stallAt: o.death, copy: true,
				claims: func() span.Set { return sims[j].s.Assigned() },
				holds: func() span.Set {
					if lag == 0 {
						return sims[j].got.Clone()
					}
					at := clock - lag
					if at < 0 {
						return span.Set{}
					}
					return snaps[at][j].Clone()
				}})
		}
		sims[i] = newSim(t, Config{Size: size}, peers)
		sims[i].s = New(Config{Size: size}, epoch.Add(me.start))
	}
	dead := func(i int, now time.Duration) bool { return ms[i].death > 0 && now >= ms[i].death }
	for now := time.Duration(0); now <= limit; now += time.Millisecond {
		clock = now
		for _, m := range sims {
			if lag > 0 {
				snaps[now] = append(snaps[now], m.got.Clone())
			}
			if now%time.Second == 0 {
				had[now] = append(had[now], m.got.Size())
			}
		}
		if lag > 0 {
			delete(snaps, now-lag-time.Millisecond)
		}
		over := true
		for i, m := range sims {
			m.now = now
			if ends[i] == 0 && !dead(i, now) && m.advance() {
				ends[i] = now
			}
			over = over && (ends[i] > 0 || dead(i, now))
		}
		if over {
			return sims, ends, had
		}
	}
	for i, m := range sims {
		if ends[i] == 0 && !dead(i, limit) {
			m.fail(limit)
		}
	}
	return
}

// twoMachines simulates two machines downloading the same file, each from
// its own origin at 2.5 MB/s, the second from start on; each holds what
// it has received right now. The first dies at death, unless that is 0.
// atDeath is what the second had received then.
func twoMachines(t *testing.T, size int64, start, death, limit time.Duration) (one, two *sim, end1, end2 time.Duration, atDeath int64) {
	t.Helper()
	sims, ends, had := room(t, size, 0, limit, machine{death: death, origin: 2.5 * mb}, machine{start: start, origin: 2.5 * mb})
	return sims[0], sims[1], ends[0], ends[1], had[death.Truncate(time.Second)][1]
}

func TestTwoMachines(t *testing.T) {
	const size = 128 << 20
	one, two, end1, end2, _ := twoMachines(t, size, 5*time.Second, 0, 5*time.Minute)
	origin := one.origin + two.origin
	alone := time.Duration(size / (2.5 * mb) * float64(time.Second))
	t.Logf("finished at %v and %v (alone %v); origins sent %d + %d = %.4f×size; copies sent %d + %d",
		end1, end2, alone, one.origin, two.origin, float64(origin)/size, one.lan, two.lan)
	if float64(origin) > 1.10*size {
		t.Errorf("the two origins sent %.4f×size, want at most 1.10×", float64(origin)/size)
	}
	// Together they fetch at 5 MB/s, the first alone for 5 s.
	want := 5*time.Second + time.Duration((size-12.5*mb)/(5*mb)*float64(time.Second))
	if end1 > want*11/10 || end2 > want*11/10 {
		t.Errorf("finished at %v and %v, want about %v", end1, end2, want)
	}
	for _, m := range []*sim{one, two} {
		if len(m.errs) != 0 {
			t.Errorf("errors: %v", m.errs)
		}
	}
}

// TestTwoMachinesOneDies: the first machine dies. Its claims lapse after
// ClaimPatience, and the second finishes alone: at worst it waits that
// long and then fetches all it lacked at the death from its origin. (At
// 30 s the two are nearly done: the second waits for the last claims.)
func TestTwoMachinesOneDies(t *testing.T) {
	const size = 128 << 20
	for _, death := range []time.Duration{15 * time.Second, 30 * time.Second} {
		t.Run(fmt.Sprint(death), func(t *testing.T) {
			one, two, _, end2, had := twoMachines(t, size, 5*time.Second, death, 5*time.Minute)
			limit := death + DefaultClaimPatience + time.Duration(float64(size-had)/(2.5*mb)*float64(time.Second)) + time.Second
			t.Logf("the second finished at %v (limit %v); it had %d bytes at the death; origins sent %d + %d, copies %d + %d",
				end2, limit, had, one.origin, two.origin, one.lan, two.lan)
			if end2 > limit {
				t.Errorf("the second finished at %v, want by %v", end2, limit)
			}
			if len(two.errs) != 0 {
				t.Errorf("errors: %v", two.errs)
			}
		})
	}
}

// TestMachinesMeetInTheMiddle: the case measured with the real engine.
// The first machine starts alone and soon holds the whole rest of the
// file in two rate-sized chunks; the second starts 1.5 s later (the third
// 1.5 s after that). What each holds shows up a second late, as a real
// engine commits about once a second. The later machines take the far
// ends of the others' claims and the earlier ones give those ends up, so
// the origins send little more than the file once.
func TestMachinesMeetInTheMiddle(t *testing.T) {
	const origin = 4 << 20
	cases := []struct {
		name   string
		size   int64
		origin float64
		starts []time.Duration
	}{
		{"two", 32 << 20, origin, []time.Duration{0, 1500 * time.Millisecond}},
		{"three", 32 << 20, origin, []time.Duration{0, 1500 * time.Millisecond, 3 * time.Second}},
		{"two, 128 MiB 5 s apart", 128 << 20, 2.5 * mb, []time.Duration{0, 5 * time.Second}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var ms []machine
			for _, st := range c.starts {
				ms = append(ms, machine{start: st, origin: c.origin})
			}
			sims, ends, _ := room(t, c.size, time.Second, 5*time.Minute, ms...)
			var sent int64
			for i, m := range sims {
				sent += m.origin
				t.Logf("machine %d: finished at %v; its origin sent %d, copies sent it %d", i, ends[i], m.origin, m.lan)
				if len(m.errs) != 0 {
					t.Errorf("machine %d: errors: %v", i, m.errs)
				}
			}
			alone := time.Duration(float64(c.size) / c.origin * float64(time.Second))
			t.Logf("origins sent %.4f×size; alone a machine takes %v", float64(sent)/float64(c.size), alone)
			if float64(sent) > 1.10*float64(c.size) {
				t.Errorf("the origins sent %.4f×size, want at most 1.10×", float64(sent)/float64(c.size))
			}
		})
	}
}

// TestMachinesMeetAtAnyStart: as above, two machines, the second
// starting anywhere from 0.5 s to 5 s after the first, so that every
// phase of the polls and commits comes up.
func TestMachinesMeetAtAnyStart(t *testing.T) {
	const size = 32 << 20
	var worst float64
	for b := 500 * time.Millisecond; b <= 5*time.Second; b += 170 * time.Millisecond {
		sims, _, _ := room(t, size, time.Second, 5*time.Minute, machine{origin: 4 << 20}, machine{start: b, origin: 4 << 20})
		r := float64(sims[0].origin+sims[1].origin) / size
		worst = max(worst, r)
		if r > 1.10 {
			t.Errorf("second starting at %v: the origins sent %.4f×size, want at most 1.10×", b, r)
		}
	}
	t.Logf("the origins sent at most %.4f×size", worst)
}
