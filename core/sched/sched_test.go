package sched

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/dragonload/dragonload/core/span"
)

func at(d time.Duration) time.Time { return epoch.Add(d) }

// small is a configuration with sizes a test can reason about by hand.
func small(size int64) Config {
	return Config{Size: size, MinChunk: 1000, MaxChunk: 8000, MinSplit: 100, Target: time.Second}
}

func mustNext(t *testing.T, s *Scheduler, p PeerID, now time.Time) Assignment {
	t.Helper()
	a, ok := s.Next(p, now)
	if !ok {
		t.Fatalf("Next(%s) gave nothing", p)
	}
	return a
}

func TestFirstChunksAndInFlight(t *testing.T) {
	s := New(small(100000), epoch)
	s.AddPeer("self", epoch)
	a := mustNext(t, s, "self", epoch)
	b := mustNext(t, s, "self", epoch)
	// The second is half a chunk longer, so the two do not end together.
	if a.Range != (span.Range{Off: 0, End: 1000}) || b.Range != (span.Range{Off: 1000, End: 2500}) {
		t.Errorf("first chunks %v %v, want MinChunk and 1.5×MinChunk from the front", a.Range, b.Range)
	}
	if c, ok := s.Next("self", epoch); ok {
		t.Errorf("third assignment %+v beyond InFlight", c)
	}
	if _, ok := s.Next("stranger", epoch); ok {
		t.Error("assignment for a peer never added")
	}
}

// TestClaim: a peer may book exactly a range nobody holds, received or
// not yet, when it has a free slot; the range then counts like any of its
// assignments, and Next hands out the bytes around it.
func TestClaim(t *testing.T) {
	s := New(small(100000), epoch)
	s.AddPeer("self", epoch)
	s.AddPeer("b", epoch)
	r := span.Range{Off: 0, End: 1500}
	if _, ok := s.Claim("nobody", r, epoch); ok {
		t.Error("a peer that is not there claimed bytes")
	}
	if _, ok := s.Claim("self", span.Range{}, epoch); ok {
		t.Error("an empty range was claimed")
	}
	a, ok := s.Claim("self", r, epoch)
	if !ok || a.Range != r || a.Peer != "self" || a.From != 0 {
		t.Fatalf("Claim gave %+v, %v; want self's assignment of %v", a, ok, r)
	}
	if _, ok := s.Claim("b", span.Range{Off: 1000, End: 2000}, epoch); ok {
		t.Error("bytes already claimed were claimed again")
	}
	// The claim's bytes are on their way: b joins a download under way,
	// and starts at the end (see TestLateJoinerTakesTheTail).
	if b := mustNext(t, s, "b", epoch); b.Range != rg(99000, 100000) {
		t.Errorf("the next peer's chunk %v, want the last 1000 bytes", b.Range)
	}
	mustNext(t, s, "self", epoch)
	if _, ok := s.Claim("self", span.Range{Off: 50000, End: 51000}, epoch); ok {
		t.Error("a peer without a free slot claimed bytes")
	}
	if s.Received(a.ID, r.Len(), epoch.Add(time.Second)) != true {
		t.Error("the claim did not end at its end")
	}
	if err := s.Complete(a.ID, epoch.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Claim("self", span.Range{Off: 0, End: 100}, epoch.Add(time.Second)); ok {
		t.Error("received bytes were claimed")
	}
}

func TestChunkSizeFollowsRate(t *testing.T) {
	cfg := small(1 << 30)
	cfg.MaxChunk = 1 << 20
	cfg.InFlight = 1
	s := New(cfg, epoch)
	s.AddPeer("self", epoch)
	// Feed a steady 3000 bytes per second for several windows.
	now := epoch
	var sizes []int64
	for range 30 {
		a := mustNext(t, s, "self", now)
		sizes = append(sizes, a.Range.Len())
		for pos := a.Range.Off; pos < a.Range.End; {
			n := min(300, a.Range.End-pos)
			now = now.Add(time.Duration(float64(n) / 3000 * float64(time.Second)))
			pos += n
			s.Received(a.ID, n, now)
		}
	}
	last := sizes[len(sizes)-1]
	if sizes[0] != cfg.MinChunk || math.Abs(float64(last)-3000) > 300 {
		t.Errorf("chunk sizes %v: want MinChunk first, then about rate×Target = 3000", sizes)
	}
}

func TestFairShareCapsChunk(t *testing.T) {
	cfg := small(20000)
	cfg.InFlight = 1
	s := New(cfg, epoch)
	for _, p := range []PeerID{"a", "b", "c", "d"} {
		s.AddPeer(p, epoch)
	}
	// With nothing measured every peer weighs the same.
	a := mustNext(t, s, "a", epoch)
	if a.Range.Len() != cfg.MinChunk {
		t.Fatalf("first chunk %v", a.Range)
	}
	s.Received(a.ID, a.Range.Len(), at(100*time.Millisecond)) // 10000 B/s, measured now
	b := mustNext(t, s, "a", at(100*time.Millisecond))
	// rate×Target would be 8000 (MaxChunk); the fair share of the 19000
	// left among four peers is 4750, rounded up to the alignment (100).
	if got := b.Range.Len(); got != 4800 {
		t.Errorf("chunk %v of %d bytes, want the fair share 4800", b.Range, got)
	}
}

func TestSliverIsTakenAlong(t *testing.T) {
	s := New(small(1050), epoch)
	s.AddPeer("self", epoch)
	a := mustNext(t, s, "self", epoch)
	if a.Range != (span.Range{Off: 0, End: 1050}) {
		t.Errorf("got %v: a remainder below MinSplit should be taken along", a.Range)
	}
}

// TestLateJoinerTakesTheTail: a peer that joins once another is measured
// takes its first chunks from the end of the free bytes, aligned, so that
// a slow one does not hold back the file's prefix; one that joins before
// any is measured, and a measured one, go on from the front.
func TestLateJoinerTakesTheTail(t *testing.T) {
	s := New(small(100050), epoch)
	s.AddPeer("self", epoch)
	s.AddPeer("early", epoch)
	a := mustNext(t, s, "self", epoch)
	if b := mustNext(t, s, "early", epoch); b.Range != rg(1000, 2000) {
		t.Errorf("a peer joining before any was measured got %v, want [1000,2000)", b.Range)
	}
	now := at(10 * time.Millisecond)
	receiveAll(t, s, a, now)
	s.AddPeer("late", now)
	if b := mustNext(t, s, "late", now); b.Range != rg(99000, 100050) {
		t.Errorf("late peer's first chunk %v, want [99000,100050)", b.Range)
	}
	// Two chunks end half a chunk apart, as at the front.
	if b := mustNext(t, s, "late", now); b.Range != rg(97400, 99000) {
		t.Errorf("late peer's second chunk %v, want [97400,99000)", b.Range)
	}
	if b := mustNext(t, s, "self", now); b.Range.Off != 2000 {
		t.Errorf("the measured peer got %v, want it to go on from 2000", b.Range)
	}
	// A remainder under MinSplit before the aligned start is taken along.
	s = New(small(14130), epoch)
	s.AddPeer("self", epoch)
	receiveAll(t, s, mustNext(t, s, "self", epoch), at(time.Millisecond))
	for _, want := range []span.Range{rg(1000, 9000), rg(9000, 13000)} {
		if b := mustNext(t, s, "self", now); b.Range != want {
			t.Fatalf("self got %v, want %v", b.Range, want)
		}
	}
	s.pool.Remove(rg(13000, 13050))
	s.AddPeer("late", now)
	if b := mustNext(t, s, "late", now); b.Range != rg(13050, 14130) {
		t.Errorf("late peer got %v, want [13050,14130)", b.Range)
	}
	// Beside a copy that is not fetching (its claims lapsed), a late
	// peer takes the end of what the copy does not hold.
	s = New(small(10000), epoch)
	s.AddPeer("self", epoch)
	receiveAll(t, s, mustNext(t, s, "self", epoch), at(time.Millisecond))
	s.AddCopy("c", set(rg(5000, 10000)), epoch)
	s.AddPeer("late", idle)
	if b := mustNext(t, s, "late", idle); b.Range != rg(4000, 5000) {
		t.Errorf("late peer beside a copy got %v, want [4000,5000)", b.Range)
	}
}

func TestReceivedClampsAndStops(t *testing.T) {
	s := New(small(10000), epoch)
	s.AddPeer("self", epoch)
	a := mustNext(t, s, "self", epoch)
	if s.Received(a.ID, 400, at(time.Millisecond)) {
		t.Fatal("stopped early")
	}
	if !s.Received(a.ID, 5000, at(2*time.Millisecond)) {
		t.Fatal("did not stop at the end")
	}
	if got, _ := s.Progress(); got != 1000 {
		t.Errorf("received %d, want 1000: bytes past the end must not count", got)
	}
	if s.End(a.ID) != -1 || !s.Received(a.ID, 10, at(3*time.Millisecond)) {
		t.Error("finished assignment still live")
	}
	if err := s.Complete(a.ID, at(3*time.Millisecond)); err != nil {
		t.Errorf("Complete after the last byte: %v", err)
	}
}

func TestShortCompleteReturnsRest(t *testing.T) {
	s := New(small(1000), epoch)
	s.AddPeer("self", epoch)
	a := mustNext(t, s, "self", epoch)
	s.Received(a.ID, 300, at(time.Millisecond))
	if err := s.Complete(a.ID, at(time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if got := s.pool.Ranges(); len(got) != 1 || got[0] != (span.Range{Off: 300, End: 1000}) {
		t.Errorf("pool %v, want the unreceived rest", got)
	}
	if st := s.Stats(at(time.Millisecond)); st[0].Failures != 1 {
		t.Errorf("short response not counted as a failure: %+v", st[0])
	}
}

func TestRemovePeerReturnsRestAtOnce(t *testing.T) {
	s := New(small(10000), epoch)
	s.AddPeer("a", epoch)
	s.AddPeer("b", epoch)
	a1 := mustNext(t, s, "a", epoch)
	a2 := mustNext(t, s, "a", epoch)
	s.Received(a1.ID, 250, at(time.Millisecond))
	s.RemovePeer("a", at(2*time.Millisecond))
	if s.End(a1.ID) != -1 || s.End(a2.ID) != -1 {
		t.Error("assignments of a removed peer still live")
	}
	if !s.Received(a1.ID, 10, at(3*time.Millisecond)) {
		t.Error("Received for a removed peer's assignment did not say stop")
	}
	b := mustNext(t, s, "b", at(3*time.Millisecond))
	if b.Range.Off != 250 {
		t.Errorf("next assignment %v, want it to start at the first unreceived byte 250", b.Range)
	}
	var got span.Set
	got.Add(span.Range{Off: 0, End: 250})
	checkInvariants(t, s, &got)
	st := s.Stats(at(3 * time.Millisecond))
	if st[0].Present || st[0].Bytes != 250 {
		t.Errorf("removed peer stats %+v", st[0])
	}
	s.AddPeer("a", at(4*time.Millisecond))
	if _, ok := s.Next("a", at(4*time.Millisecond)); !ok {
		t.Error("re-added peer gets no work")
	}
}

func TestBackoffAndGiveUp(t *testing.T) {
	cfg := small(1000)
	cfg.MaxAttempts = 4
	s := New(cfg, epoch)
	s.AddPeer("self", epoch)
	now := epoch
	boom := errors.New("connection reset")
	wantPause := []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second}
	for i, pause := range wantPause {
		a := mustNext(t, s, "self", now)
		if err := s.Fail(a.ID, boom, 0, now); err != nil {
			t.Fatalf("failure %d: gave up already: %v", i+1, err)
		}
		wake, ok := s.Wake(now)
		if !ok || wake != now.Add(pause) {
			t.Fatalf("failure %d: Wake = %v, %v; want %v later", i+1, wake, ok, pause)
		}
		if _, ok := s.Next("self", wake.Add(-time.Nanosecond)); ok {
			t.Fatalf("failure %d: work handed out during the backoff", i+1)
		}
		now = wake
	}
	a := mustNext(t, s, "self", now)
	err := s.Fail(a.ID, boom, 0, now)
	var gu *GiveUpError
	if !errors.As(err, &gu) || gu.Attempts != 4 || !errors.Is(err, boom) {
		t.Fatalf("fourth failure: %v, want a GiveUpError wrapping the cause", err)
	}
	t.Log(err)
}

func TestFailedBytesGoToOthers(t *testing.T) {
	s := New(small(100000), epoch)
	s.AddPeer("a", epoch)
	s.AddPeer("b", epoch)
	x := mustNext(t, s, "a", epoch)
	s.Received(x.ID, 200, epoch)
	s.Fail(x.ID, errors.New("403"), 0, epoch)
	now := at(time.Second)
	y := mustNext(t, s, "a", now)
	if y.Range.Intersect(span.Range{Off: 200, End: x.Range.End}).Len() != 0 {
		t.Errorf("a got %v again after failing %v", y.Range, x.Range)
	}
	z := mustNext(t, s, "b", now)
	if z.Range.Off != 200 {
		t.Errorf("b got %v, want the bytes a failed on, from 200", z.Range)
	}
	// Alone, a has to retry them itself.
	s.Fail(z.ID, errors.New("gone"), 0, now)
	s.RemovePeer("b", now)
	s.Received(y.ID, y.Range.Len(), now)
	w := mustNext(t, s, "a", now)
	if w.Range.Off != 200 {
		t.Errorf("lone a got %v, want a retry from 200", w.Range)
	}
}

// TestBytesFailedByAllAreRetried: bytes that failed with every present
// peer are nobody's to leave to others; someone must retry them.
func TestBytesFailedByAllAreRetried(t *testing.T) {
	cfg := small(1000)
	cfg.MinSplit = 1000 // one chunk
	s := New(cfg, epoch)
	s.AddPeer("a", epoch)
	s.AddPeer("b", epoch)
	boom := errors.New("reset")
	x := mustNext(t, s, "a", epoch)
	s.Fail(x.ID, boom, 0, epoch)
	y := mustNext(t, s, "b", epoch)
	s.Fail(y.ID, boom, 0, epoch)
	if x.Range != y.Range {
		t.Fatalf("a got %v, b %v; want the whole file each", x.Range, y.Range)
	}
	if z, ok := s.Next("a", at(time.Second)); !ok || z.Range != x.Range {
		t.Errorf("a got %+v, %v; want a retry of %v", z, ok, x.Range)
	}
}

func TestRetryAfterAndCaps(t *testing.T) {
	s := New(small(100000), epoch)
	s.AddPeer("self", epoch)
	a := mustNext(t, s, "self", epoch)
	s.Fail(a.ID, errors.New("503"), 7*time.Second, epoch)
	if st := s.Stats(epoch); st[0].RetryAt != at(7*time.Second) {
		t.Errorf("RetryAt %v, want the peer's 7 s", st[0].RetryAt)
	}
	now := at(7 * time.Second)
	a = mustNext(t, s, "self", now)
	s.Fail(a.ID, errors.New("503"), 24*time.Hour, now)
	if st := s.Stats(now); st[0].RetryAt != now.Add(maxRetryAfter) {
		t.Errorf("RetryAt %v, want capped at %v", st[0].RetryAt, maxRetryAfter)
	}
	// Consecutive failures stop growing the pause at maxBackoff.
	for range 40 {
		now = now.Add(time.Hour)
		a = mustNext(t, s, "self", now)
		s.Fail(a.ID, errors.New("x"), 0, now)
	}
	if st := s.Stats(now); st[0].RetryAt != now.Add(maxBackoff) {
		t.Errorf("RetryAt %v after many failures, want %v later", st[0].RetryAt, maxBackoff)
	}
	// A success resets the streak.
	now = now.Add(time.Hour)
	a = mustNext(t, s, "self", now)
	s.Received(a.ID, a.Range.Len(), now.Add(time.Millisecond))
	a = mustNext(t, s, "self", now)
	s.Fail(a.ID, errors.New("x"), 0, now)
	if st := s.Stats(now); st[0].RetryAt != now.Add(minBackoff) {
		t.Errorf("RetryAt %v after a success, want %v later", st[0].RetryAt, minBackoff)
	}
}

func TestTickFailsSilentPeer(t *testing.T) {
	s := New(small(100000), epoch)
	s.AddPeer("self", epoch)
	a := mustNext(t, s, "self", epoch)
	b := mustNext(t, s, "self", epoch)
	s.Received(a.ID, 10, at(time.Second))
	// Tick at every Wake: the progress windows of a come and go without
	// a stall, since the whole peer is silent; that is the silence rule's.
	deadline := at(time.Second + DefaultStallTimeout)
	now := at(time.Second)
	for range 10 {
		wake, ok := s.Wake(now)
		if !ok || wake.After(deadline) || !wake.After(now) {
			t.Fatalf("Wake(%v) = %v, %v; want a time after now, by the stall deadline %v", now, wake, ok, deadline)
		}
		if wake != deadline && wake != now.Add(DefaultProgressWindow) {
			t.Errorf("Wake(%v) = %v: neither the progress window nor the stall deadline", now, wake)
		}
		if wake == deadline {
			break
		}
		now = wake
		if stalls, err := s.Tick(now); len(stalls) != 0 || err != nil {
			t.Fatalf("Tick at %v, before the deadline: %v, %v", now, stalls, err)
		}
	}
	if stalls, err := s.Tick(deadline.Add(-time.Millisecond)); len(stalls) != 0 || err != nil {
		t.Fatalf("Tick before the deadline: %v, %v", stalls, err)
	}
	stalls, err := s.Tick(deadline)
	want := []Stall{{ID: a.ID, Peer: "self"}, {ID: b.ID, Peer: "self"}}
	if err != nil || !slices.Equal(stalls, want) {
		t.Fatalf("Tick at the deadline: %+v, %v; want %+v", stalls, err, want)
	}
	if s.Unassigned() != 100000-10 || s.Live() != 0 {
		t.Errorf("%d unassigned, %d live; want all but the 10 received, none live", s.Unassigned(), s.Live())
	}
}

func TestSplit(t *testing.T) {
	cfg := small(4000)
	cfg.InFlight = 1
	s := New(cfg, epoch)
	s.AddPeer("a", epoch)
	s.AddPeer("b", epoch)
	// a measures at 1000 B/s on its first chunk; b at 1000 B/s too.
	now := epoch
	x := mustNext(t, s, "a", now)
	y := mustNext(t, s, "b", now)
	for i := range 10 {
		now = at(time.Duration(i+1) * 100 * time.Millisecond)
		s.Received(x.ID, 100, now)
		s.Received(y.ID, 100, now)
	}
	// a takes its fair half of the 2000 left; b takes the rest of the
	// pool, delivering each chunk at once, until only a's chunk is left
	// and b has to split it.
	x = mustNext(t, s, "a", now)
	if x.Range != (span.Range{Off: 2000, End: 3000}) {
		t.Fatalf("a's chunk %v, want its fair half of the rest", x.Range)
	}
	now = now.Add(100 * time.Millisecond)
	s.Received(x.ID, 100, now)
	var z Assignment
	for range 10 {
		z = mustNext(t, s, "b", now)
		if z.From != 0 {
			break
		}
		if !s.Received(z.ID, z.Range.Len(), now) {
			t.Fatal("b's chunk not finished")
		}
	}
	if z.From != x.ID {
		t.Fatalf("no split for idle b: %+v", z)
	}
	// a holds 900 more at 1000 B/s; b is much faster now, so it should
	// get most of it, and a keep a little.
	if z.Range.End != 3000 || s.End(x.ID) != z.Range.Off || z.Range.Off <= 2100 || z.Range.Len() < 450 {
		t.Errorf("split: a keeps up to %d, b gets %v", s.End(x.ID), z.Range)
	}
	got := span.Set{}
	got.Add(span.Range{Off: 0, End: 2100})
	got.Add(span.Range{Off: 3000, End: 4000})
	checkInvariants(t, s, &got)
}

func TestNoSplitBelowMinSplit(t *testing.T) {
	cfg := small(1000)
	cfg.MinSplit = 600
	s := New(cfg, epoch)
	s.AddPeer("a", epoch)
	s.AddPeer("b", epoch)
	x := mustNext(t, s, "a", epoch)
	s.Received(x.ID, 100, at(100*time.Millisecond))
	if y, ok := s.Next("b", at(100*time.Millisecond)); ok {
		t.Errorf("split a %d-byte rest into %+v, below MinSplit", 900, y)
	}
	wake, ok := s.Wake(at(100 * time.Millisecond))
	if !ok || wake != at(100*time.Millisecond+endgamePoll) {
		t.Errorf("Wake = %v, %v; want an end-game poll", wake, ok)
	}
	// Once a is silent for takeoverAfter, b takes over all it has left.
	now := at(100*time.Millisecond + takeoverAfter)
	y, ok := s.Next("b", now)
	if !ok || y.Range != (span.Range{Off: 100, End: 1000}) || y.From != x.ID || s.End(x.ID) != -1 {
		t.Errorf("takeover: %+v %v, a's end %d", y, ok, s.End(x.ID))
	}
}

func TestTally(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 100 {
		var ty tally
		var counts [100]int
		for range 30 {
			a, b := rng.Int64N(101), rng.Int64N(101)
			if a > b {
				a, b = b, a
			}
			worst := 0
			for i := a; i < b; i++ {
				counts[i]++
				worst = max(worst, counts[i])
			}
			if got := ty.add(span.Range{Off: a, End: b}); got != worst {
				t.Fatalf("add([%d,%d)) = %d, want %d", a, b, got, worst)
			}
			var pos int64
			for _, sg := range ty.segs {
				if sg.r.Off < pos || sg.r.Empty() || sg.n <= 0 {
					t.Fatalf("bad segments %v", ty.segs)
				}
				for i := sg.r.Off; i < sg.r.End; i++ {
					if counts[i] != sg.n {
						t.Fatalf("byte %d counted %d, want %d", i, sg.n, counts[i])
					}
				}
				pos = sg.r.End
			}
		}
	}
}

func TestMeter(t *testing.T) {
	var m meter
	m.run(true, epoch)
	now := epoch
	for range 500 { // 5 s at 2000 B/s in 10 ms steps
		now = now.Add(10 * time.Millisecond)
		m.add(20, now)
	}
	if r := m.rate(now); math.Abs(r-2000) > 20 {
		t.Errorf("steady rate %v, want 2000", r)
	}
	// Early estimates are right too, not creeping up from zero.
	var e meter
	e.run(true, epoch)
	e.add(50, at(100*time.Millisecond))
	if r := e.rate(at(100 * time.Millisecond)); math.Abs(r-500) > 20 {
		t.Errorf("early rate %v, want about 500", r)
	}
	// Stopped, it keeps its value; running and silent, it decays.
	m.run(false, now)
	if r := m.rate(now.Add(time.Minute)); math.Abs(r-2000) > 20 {
		t.Errorf("stopped meter decayed to %v", r)
	}
	m.run(true, now.Add(time.Minute))
	if r := m.rate(now.Add(time.Minute + 2*rateWindow)); r > 2000*0.2 {
		t.Errorf("silent running meter still at %v", r)
	}
}

func TestConfigDefaults(t *testing.T) {
	c := withDefaults(Config{Size: -5, MinChunk: 10 << 20, MaxChunk: 1 << 20})
	if c.Size != 0 || c.MaxChunk != c.MinChunk || c.InFlight != DefaultInFlight ||
		c.Target != DefaultTarget || c.MinSplit != DefaultMinSplit ||
		c.MaxAttempts != DefaultMaxAttempts || c.StallTimeout != DefaultStallTimeout ||
		c.ProgressWindow != DefaultProgressWindow || c.MinRate != DefaultMinRate {
		t.Errorf("defaults: %+v", c)
	}
	s := New(Config{}, epoch)
	if !s.Finished() {
		t.Error("an empty download is not finished")
	}
}
