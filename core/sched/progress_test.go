package sched

import (
	"errors"
	"maps"
	"slices"
	"testing"
	"time"
)

// The tests below drive the progress rule through a rig: a Scheduler
// stepped in 10 ms, each peer's n-th request delivering at a rate its
// behaviour gives, Tick called only once Wake says so, free slots refilled
// at every step, as the engine does.

// flowRate is a request's rate in bytes per second, given the bytes it has
// sent and the time since it was sent.
type flowRate func(sent int64, age time.Duration) float64

func steady(r float64) flowRate { return func(int64, time.Duration) float64 { return r } }

// trickle sends trickleAfter bytes at r, then trickleRate for good.
func trickle(r float64) flowRate { return upTo(trickleAfter, r, trickleRate) }

// mute sends trickleAfter bytes at r, then nothing.
func mute(r float64) flowRate { return upTo(trickleAfter, r, 0) }

// upTo sends n bytes at r, then goes on at rest.
func upTo(n int64, r, rest float64) flowRate {
	return func(sent int64, _ time.Duration) float64 {
		if sent < n {
			return min(r, float64(n-sent)/rigStep.Seconds())
		}
		return rest
	}
}

// paused is r, but nothing for d from the age at.
func paused(r float64, at, d time.Duration) flowRate {
	return func(_ int64, age time.Duration) float64 {
		if age >= at && age < at+d {
			return 0
		}
		return r
	}
}

// lumps delivers n bytes at once every period, nothing in between.
func lumps(n float64, period time.Duration) flowRate {
	return func(_ int64, age time.Duration) float64 {
		if age%period < rigStep {
			return n / rigStep.Seconds()
		}
		return 0
	}
}

// behaviour gives the rate of a peer's n-th request, from 1.
type behaviour func(n int) flowRate

// except is b, but rates[n] for the listed requests.
func except(b flowRate, rates map[int]flowRate) behaviour {
	return func(n int) flowRate {
		if r, ok := rates[n]; ok {
			return r
		}
		return b
	}
}

const rigStep = 10 * time.Millisecond

type rig struct {
	t      *testing.T
	s      *Scheduler
	now    time.Time
	wake   time.Time
	peers  []PeerID
	behave map[PeerID]behaviour
	asked  map[PeerID]int
	flows  []*flow
	trace  []Assignment
	stalls []stallAt
	errs   []error
}

type flow struct {
	a       Assignment
	n       int // the peer's n-th request
	rate    flowRate
	start   time.Time
	acc     float64
	sent    int64
	crossed time.Time // when sent reached trickleAfter
}

type stallAt struct {
	Stall
	at    time.Time
	n     int           // the stalled flow's request number
	since time.Time     // the stalled flow's crossed
	pause time.Duration // the peer's backoff right after
}

func newRig(t *testing.T, cfg Config, behave map[PeerID]behaviour, peers ...PeerID) *rig {
	r := &rig{t: t, s: New(cfg, epoch), now: epoch, peers: peers, behave: behave, asked: make(map[PeerID]int)}
	for _, p := range peers {
		r.s.AddPeer(p, epoch)
	}
	return r
}

// run steps for d or until the download is finished.
func (r *rig) run(d time.Duration) {
	r.t.Helper()
	for end := r.now.Add(d); r.now.Before(end) && !r.s.Finished(); {
		r.now = r.now.Add(rigStep)
		if !r.wake.IsZero() && !r.now.Before(r.wake) {
			r.tick()
		}
		r.assign()
		r.deliver()
		if r.s.Live() != len(r.flows) {
			r.t.Fatalf("Live() = %d with %d requests running", r.s.Live(), len(r.flows))
		}
		r.wake, _ = r.s.Wake(r.now)
	}
}

func (r *rig) tick() {
	stalls, err := r.s.Tick(r.now)
	if err != nil {
		r.errs = append(r.errs, err)
	}
	stats := r.s.Stats(r.now)
	for _, st := range stalls {
		f := r.flow(st.ID)
		if f == nil {
			r.t.Fatalf("stall %+v of no running request", st)
		}
		rec := stallAt{Stall: st, at: r.now, n: f.n, since: f.crossed}
		for _, ps := range stats {
			if ps.Peer == st.Peer && !ps.RetryAt.IsZero() {
				rec.pause = ps.RetryAt.Sub(r.now)
			}
		}
		r.stalls = append(r.stalls, rec)
	}
	r.forget()
}

func (r *rig) assign() {
	for _, p := range r.peers {
		for {
			a, ok := r.s.Next(p, r.now)
			if !ok {
				break
			}
			r.asked[p]++
			n := r.asked[p]
			r.trace = append(r.trace, a)
			r.flows = append(r.flows, &flow{a: a, n: n, rate: r.behave[p](n), start: r.now})
		}
	}
	r.forget() // a split may have taken all another request had left
}

func (r *rig) deliver() {
	for _, f := range r.flows {
		f.acc += f.rate(f.sent, r.now.Sub(f.start)) * rigStep.Seconds()
		n := int64(f.acc)
		f.acc -= float64(n)
		n = min(n, r.s.End(f.a.ID)-(f.a.Range.Off+f.sent))
		if n > 0 {
			f.sent += n
			if f.sent >= trickleAfter && f.crossed.IsZero() {
				f.crossed = r.now
			}
		}
		r.s.Received(f.a.ID, max(n, 0), r.now)
	}
	r.forget()
}

// forget drops the requests whose assignments are no longer live.
func (r *rig) forget() {
	r.flows = slices.DeleteFunc(r.flows, func(f *flow) bool { return r.s.End(f.a.ID) == -1 })
}

func (r *rig) flow(id uint64) *flow {
	for _, f := range r.flows {
		if f.a.ID == id {
			return f
		}
	}
	return nil
}

// big is a download that outlasts every test below.
func big() Config { return Config{Size: 1 << 40} }

func TestProgressRuleStallsTrickle(t *testing.T) {
	const fast = 4e6
	cases := []struct {
		name     string
		peer     PeerID
		inFlight int
		bad      int      // the request that misbehaves
		rate     flowRate // how
		maxRate  float64  // the stall's Rate must be below this
	}{
		// Measured peers are held to their share: the 4 KiB burst alone
		// does not lift the first window over the bar.
		{"self beside a healthy stream", "self", 2, 3, trickle(fast), 1400},
		{"lender alone", "p1", 1, 3, trickle(fast), 1400},
		{"silent stream beside a healthy one", "self", 2, 3, mute(fast), 1400},
		// The bar is what the peer showed before, not its rate dragged
		// down by the stream being judged.
		{"lone stream dropping to a twentieth", "p1", 1, 3, upTo(trickleAfter, fast, fast/20), fast / 16},
		// An unmeasured peer is held to MinRate only: the burst carries
		// its first window, the second fails it.
		{"unmeasured lender trickling from its first chunk", "p1", 1, 1, trickle(fast), DefaultMinRate},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := big()
			cfg.InFlight = c.inFlight
			r := newRig(t, cfg, map[PeerID]behaviour{c.peer: except(steady(fast), map[int]flowRate{c.bad: c.rate})}, c.peer)
			r.run(20 * time.Second)
			if len(r.stalls) != 1 {
				t.Fatalf("stalls %+v, want just the one of request %d", r.stalls, c.bad)
			}
			st := r.stalls[0]
			took := st.at.Sub(st.since)
			t.Logf("stalled %v after it began to trickle: %+v", took, st)
			if st.n != c.bad || !st.Slow || st.Peer != c.peer || st.Rate >= c.maxRate {
				t.Errorf("stall %+v of request %d, want a slow stall of request %d at below %v B/s", st, st.n, c.bad, c.maxRate)
			}
			if took > 2*DefaultProgressWindow+rigStep {
				t.Errorf("stalled %v after the trickle began, more than two progress windows", took)
			}
			if len(r.errs) != 0 {
				t.Errorf("errors: %v", r.errs)
			}
		})
	}
}

func TestProgressRuleSparesHealthy(t *testing.T) {
	cases := []struct {
		name   string
		behave map[PeerID]behaviour
	}{
		{"steady slow peer beside a fast one", map[PeerID]behaviour{
			"self": except(steady(5e6), nil),
			"p1":   except(steady(50e3), nil),
		}},
		{"slow peer delivering in lumps", map[PeerID]behaviour{
			"self": except(steady(5e6), nil),
			"p1":   except(lumps(64<<10, 1300*time.Millisecond), nil),
		}},
		{"one stream pausing for a second", map[PeerID]behaviour{
			"self": except(steady(2e6), map[int]flowRate{4: paused(2e6, 2*time.Second, time.Second)}),
		}},
		{"every stream pausing for a second", map[PeerID]behaviour{
			"self": func(int) flowRate { return paused(2e6, 2*time.Second, time.Second) },
		}},
		{"a peer slowing down fourfold", map[PeerID]behaviour{
			"self": func(n int) flowRate {
				if n < 4 {
					return steady(4e6)
				}
				return steady(1e6)
			},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newRig(t, big(), c.behave, slices.Sorted(maps.Keys(c.behave))...)
			r.run(40 * time.Second)
			if len(r.stalls) != 0 {
				t.Errorf("stalls %+v", r.stalls)
			}
			for _, st := range r.s.Stats(r.now) {
				if st.Failures != 0 || st.Bytes == 0 {
					t.Errorf("peer %+v: want bytes and no failures", st)
				}
			}
		})
	}
}

// TestStallBackoff: stalls back a peer off like any failure, exponentially
// while they come one after another, and a good chunk resets that.
func TestStallBackoff(t *testing.T) {
	cfg := big()
	cfg.InFlight = 1
	bad := trickle(4e6)
	r := newRig(t, cfg, map[PeerID]behaviour{
		"self": except(steady(4e6), map[int]flowRate{3: bad, 4: bad, 5: bad, 7: bad}),
	}, "self")
	r.run(60 * time.Second)
	var got []time.Duration
	for _, st := range r.stalls {
		got = append(got, st.pause)
	}
	want := []time.Duration{minBackoff, 2 * minBackoff, 4 * minBackoff, minBackoff}
	if !slices.Equal(got, want) {
		t.Errorf("pauses after the stalls %v, want %v", got, want)
	}
}

// TestSlowGivesUp: bytes that only ever trickle use up their attempts.
func TestSlowGivesUp(t *testing.T) {
	cfg := big()
	cfg.MaxAttempts = 3
	r := newRig(t, cfg, map[PeerID]behaviour{"self": func(int) flowRate { return trickle(4e6) }}, "self")
	r.run(time.Minute)
	var gu *GiveUpError
	if len(r.errs) == 0 || !errors.As(r.errs[0], &gu) || !errors.Is(r.errs[0], ErrSlow) {
		t.Fatalf("errors %v, want a GiveUpError for slowness", r.errs)
	}
	if gu.Attempts != cfg.MaxAttempts {
		t.Errorf("gave up after %d attempts, want %d", gu.Attempts, cfg.MaxAttempts)
	}
}

// TestEndgameTakesOverLaggingHolder: once the pool is empty, an idle peer
// takes over what a trickling request has left after takeoverAfter,
// without waiting for the end of its progress window.
func TestEndgameTakesOverLaggingHolder(t *testing.T) {
	cfg := Config{Size: 16 << 20, InFlight: 1}
	r := newRig(t, cfg, map[PeerID]behaviour{
		// Slow enough that self runs out of work only once p1's trickle
		// has lagged for takeoverAfter.
		"self": except(steady(3e6), nil),
		"p1":   except(steady(4e6), map[int]flowRate{2: trickle(4e6)}),
	}, "self", "p1")
	r.run(time.Minute)
	if !r.s.Finished() || len(r.stalls) != 0 || len(r.errs) != 0 {
		t.Fatalf("finished %v, stalls %+v, errors %v", r.s.Finished(), r.stalls, r.errs)
	}
	var bad, over Assignment
	n := 0
	for _, a := range r.trace {
		if a.Peer == "p1" {
			if n++; n == 2 {
				bad = a
			}
		}
		if bad.ID != 0 && a.From == bad.ID {
			over = a
		}
	}
	// All but what trickled in: 4 KiB and a byte a second.
	if over.ID == 0 || over.Peer != "self" || over.Range.End != bad.Range.End || over.Range.Off > bad.Range.Off+trickleAfter+10 {
		t.Fatalf("trickling %+v not taken over whole: %+v", bad, over)
	}
	if st := r.s.Stats(r.now); st[1].Failures != 1 {
		t.Errorf("the lagging holder was not charged a failure: %+v", st[1])
	}
}

// TestSlowRestIsForAnyone: a slow request is the luck of that request, so
// unlike bytes that failed outright, its rest is not left to other peers.
func TestSlowRestIsForAnyone(t *testing.T) {
	cfg := Config{Size: 100 << 20, InFlight: 1}
	s := New(cfg, epoch)
	s.AddPeer("self", epoch)
	s.AddPeer("p1", epoch)
	a := mustNext(t, s, "self", epoch)
	mustNext(t, s, "p1", epoch)
	s.Received(a.ID, trickleAfter, at(10*time.Millisecond))
	// Unmeasured, self is held to MinRate: the burst carries the first
	// window, the trickle fails the second.
	if stalls, err := s.Tick(at(3010 * time.Millisecond)); len(stalls) != 0 || err != nil {
		t.Fatalf("first window: %+v, %v", stalls, err)
	}
	for _, d := range []time.Duration{4 * time.Second, 5 * time.Second} {
		s.Received(a.ID, 1, at(d))
	}
	now := at(6010 * time.Millisecond)
	stalls, err := s.Tick(now)
	want := []Stall{{ID: a.ID, Peer: "self", Slow: true, Rate: 2.0 / 3}}
	if err != nil || !slices.Equal(stalls, want) {
		t.Fatalf("second window: %+v, %v; want %+v", stalls, err, want)
	}
	b := mustNext(t, s, "self", now.Add(minBackoff))
	if b.Range.Off != trickleAfter+2 {
		t.Errorf("self got %v after its trickle, want the rest from %d", b.Range, trickleAfter+2)
	}
}
