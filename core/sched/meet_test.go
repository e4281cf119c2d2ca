package sched

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/dragonload/dragonload/core/span"
)

// long is a configuration whose first chunk is the whole of a 10000-byte
// file, so one assignment holds all of it.
func long() Config {
	c := small(10000)
	c.MinChunk, c.MaxChunk, c.InFlight = 10000, 10000, 1
	return c
}

// longSetup hands o all of the file and lets 1000 bytes of it arrive, and
// adds copy peer c, holding nothing.
func longSetup(t *testing.T) (*Scheduler, Assignment) {
	t.Helper()
	s := New(long(), epoch)
	s.AddPeer("o", epoch)
	a := mustNext(t, s, "o", epoch)
	s.Received(a.ID, 1000, epoch)
	s.AddCopy("c", span.Set{}, epoch)
	return s, a
}

// TestMeetCuts: the early download gives up the far end. The bytes a
// copy peer claims or holds that begin inside the rest of an ordinary
// assignment cut it where they begin.
func TestMeetCuts(t *testing.T) {
	cases := []struct {
		name   string
		claims []span.Range
		has    []span.Range
		end    int64 // o's end after
	}{
		{"claims begin inside", []span.Range{rg(3000, 4000), rg(6000, 7000)}, nil, 3000},
		{"the first start inside cuts", []span.Range{rg(500, 4000), rg(6000, 7000)}, nil, 6000},
		{"claims that cover the position do not", []span.Range{rg(500, 9000)}, nil, 10000},
		{"nor do claims that begin at it", []span.Range{rg(1000, 9000)}, nil, 10000},
		{"claims begin right after it", []span.Range{rg(1001, 9000)}, nil, 1001},
		{"held bytes begin inside", nil, []span.Range{rg(5000, 6000)}, 5000},
		// Held bytes are there to copy now: o's whole rest goes (end -1).
		{"held bytes cover the position", nil, []span.Range{rg(0, 6000)}, -1},
		{"held and claimed bytes as one", []span.Range{rg(2000, 3000)}, []span.Range{rg(500, 2000)}, -1},
		{"the first of held or claimed", []span.Range{rg(8000, 9000)}, []span.Range{rg(4000, 5000)}, 4000},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, a := longSetup(t)
			s.SetHas("c", set(c.has...), epoch)
			s.SetClaims("c", set(c.claims...), epoch)
			if got := s.End(a.ID); got != c.end {
				t.Fatalf("o's end %d, want %d", got, c.end)
			}
			got := span.Set{}
			got.Add(rg(0, 1000))
			checkInvariants(t, s, &got)
			// The cut-off bytes are back in the pool, and an ordinary
			// peer leaves the claimed and held ones alone. (With none
			// cut off, it splits o's assignment, as in any end-game.)
			back := c.end
			if back < 0 {
				back = 1000 // all but the received prefix
			}
			if back < 10000 && !s.pool.Contains(rg(back, 10000)) {
				t.Errorf("pool %v lacks [%d,10000)", s.pool, back)
			}
			s.AddPeer("p", epoch)
			if b, ok := s.Next("p", epoch); ok && b.From == 0 {
				claims, has := set(c.claims...), set(c.has...)
				if claims.Overlaps(b.Range) || has.Overlaps(b.Range) {
					t.Errorf("p got %v, held or claimed", b.Range)
				}
			}
			// The caller reads up to the new end, and no further.
			if stop := s.Received(a.ID, c.end-1000, epoch); !stop || s.End(a.ID) != -1 {
				t.Errorf("assignment not done at its new end")
			}
		})
	}
}

// TestMeetSpares: what does not cut an assignment.
func TestMeetSpares(t *testing.T) {
	// Lapsed claims cut nothing; they hold again once the copy grows.
	s, a := longSetup(t)
	s.SetClaims("c", set(rg(3000, 4000)), idle)
	if s.End(a.ID) != 10000 {
		t.Errorf("lapsed claims cut o to %d", s.End(a.ID))
	}
	s.SetHas("c", set(rg(9000, 9500)), idle)
	if s.End(a.ID) != 3000 {
		t.Errorf("claims of a growing copy cut o to %d, want 3000", s.End(a.ID))
	}

	// Held bytes of a copy peer whose last assignment failed do not.
	s, a = longSetup(t)
	s.SetHas("c", set(rg(9000, 9500)), epoch)
	if s.End(a.ID) != 9000 {
		t.Fatalf("o's end %d, want 9000", s.End(a.ID))
	}
	b := mustNext(t, s, "c", epoch)
	s.Fail(b.ID, errShort, 0, epoch)
	s.SetHas("c", set(rg(5000, 6000), rg(9000, 9500)), epoch)
	if s.End(a.ID) != 9000 {
		t.Errorf("held bytes of a failing copy cut o to %d", s.End(a.ID))
	}

	// A copy peer's assignments are never cut.
	s = New(small(10000), epoch)
	s.AddCopy("c", set(rg(0, 10000)), epoch)
	s.AddCopy("d", span.Set{}, epoch)
	b = mustNext(t, s, "c", epoch)
	s.SetClaims("d", set(rg(b.Range.Off+10, 10000)), epoch)
	s.SetHas("d", set(rg(b.Range.Off+20, 10000)), epoch)
	if s.End(b.ID) != b.Range.End {
		t.Errorf("copy peer's %v cut to %d", b.Range, s.End(b.ID))
	}

	// Removed copy peers cut nothing.
	s, a = longSetup(t)
	s.RemovePeer("c", epoch)
	s.SetClaims("c", set(rg(3000, 4000)), epoch)
	s.SetHas("c", set(rg(3000, 4000)), epoch)
	if s.End(a.ID) != 10000 {
		t.Errorf("a removed copy peer cut o to %d", s.End(a.ID))
	}
}

// TestMeetTwoSchedulers: of two downloads fetching the same bytes, each
// telling the other's scheduler its Assigned as claims, the one behind is
// cut where the one ahead is, and the one ahead is not cut at all.
func TestMeetTwoSchedulers(t *testing.T) {
	cfg := small(100000)
	cfg.MinChunk, cfg.MaxChunk, cfg.InFlight = 50000, 50000, 1
	a := New(cfg, epoch)
	a.AddPeer("self", epoch)
	x := mustNext(t, a, "self", epoch) // [0,50000)
	a.Received(x.ID, 10000, epoch)
	cfg.Done = []span.Range{rg(0, 5000)}
	b := New(cfg, epoch.Add(time.Millisecond))
	b.AddPeer("self", epoch)
	y := mustNext(t, b, "self", epoch) // [5000,55000)
	b.Received(y.ID, 15000, epoch)     // at 20000, ahead of a
	a.AddCopy("b", span.Set{}, epoch)
	b.AddCopy("a", span.Set{}, epoch)
	for i := range 3 {
		now := at(time.Duration(i) * time.Second)
		b.SetClaims("a", a.Assigned(), now)
		if b.End(y.ID) != 55000 {
			t.Errorf("look %d: b cut to %d; a's claims only cover where it is", i, b.End(y.ID))
		}
		a.SetClaims("b", b.Assigned(), now)
		if a.End(x.ID) != 20000 {
			t.Errorf("look %d: a ends at %d, want 20000, where b is", i, a.End(x.ID))
		}
	}
}

// farSetup leaves o with nothing free: copy peer c holds [0,10000) and
// claims the rest, looked at twice a second apart, its claims moving on
// at 2000 bytes per second.
func farSetup(t *testing.T, cfg Config) *Scheduler {
	t.Helper()
	s := New(cfg, epoch)
	s.AddPeer("o", epoch)
	s.AddCopy("c", set(rg(0, 10000)), epoch)
	s.SetClaims("c", set(rg(10000, cfg.Size)), epoch)
	s.SetHas("c", set(rg(0, 11000)), at(time.Second))
	s.SetClaims("c", set(rg(12000, cfg.Size)), at(time.Second))
	return s
}

// TestFarEnd: the late download takes the far end of a claim. With
// nothing free, an ordinary peer takes the far half of the largest
// claimed range, and goes on after it.
func TestFarEnd(t *testing.T) {
	s := farSetup(t, small(100000))
	now := at(time.Second)
	a := mustNext(t, s, "o", now)
	if a.Range != rg(56000, 57000) {
		t.Fatalf("o got %v, want [56000,57000): from the middle of [12000,100000)", a.Range)
	}
	// Its second chunk goes on after the first, claimed as it is.
	b := mustNext(t, s, "o", now)
	if b.Range.Off != 57000 {
		t.Errorf("o's second chunk %v, want it to go on at 57000", b.Range)
	}
	// Once the claimant has given them up, they are free: o goes on.
	receiveAll(t, s, a, at(1100*time.Millisecond))
	s.SetClaims("c", set(rg(14000, 56000)), at(2*time.Second))
	c := mustNext(t, s, "o", at(2*time.Second))
	if c.Range.Off != b.Range.End || c.Range.End > 100000 {
		t.Errorf("o's third chunk %v, want it to go on at %d", c.Range, b.Range.End)
	}
	// The passed bytes [10000,12000) and [12000,14000) stay with c.
	for _, r := range []span.Range{a.Range, b.Range, c.Range} {
		if r.Off < 14000 {
			t.Errorf("o got %v, which c has passed", r)
		}
	}

	// The middle is aligned down, like other cuts.
	cfg := small(100000)
	cfg.MinSplit = 1000
	s = farSetup(t, cfg)
	s.SetClaims("c", set(rg(12345, 100000)), at(1100*time.Millisecond))
	if a := mustNext(t, s, "o", at(1100*time.Millisecond)); a.Range.Off != 56000 {
		t.Errorf("o got %v, want it to start at 56000", a.Range)
	}

	// The largest range of those claimed, by any claimant, but not the
	// bytes a copy peer holds.
	s = farSetup(t, small(100000))
	s.AddCopy("d", set(rg(40000, 100000)), at(time.Second))
	s.SetClaims("d", set(rg(30000, 40000)), at(time.Second))
	s.SetClaims("d", set(rg(31000, 40000)), at(2*time.Second))
	s.SetClaims("c", set(rg(13000, 100000)), at(2*time.Second))
	if a := mustNext(t, s, "o", at(2*time.Second)); a.Range.Off != 21500 || a.Range.End > 30000 {
		t.Errorf("o got %v, want a chunk from the middle of [13000,30000)", a.Range)
	}
}

// TestFarEndWaits: when an ordinary peer does not take a far end.
func TestFarEndWaits(t *testing.T) {
	cases := []struct {
		name string
		more func(s *Scheduler)
	}{
		{"the claimed range is under two MinSplit", func(s *Scheduler) {
			s.SetHas("c", set(rg(0, 11000), rg(12000, 99801)), at(time.Second))
		}},
		{"the claimant may get to the middle first", func(s *Scheduler) {
			s.SetClaims("c", set(rg(70000, 100000)), at(2*time.Second))
		}},
		{"its claims lapsed, and the bytes are free", func(s *Scheduler) {
			s.SetHas("c", set(rg(0, 11000)), at(time.Second+DefaultClaimPatience))
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := farSetup(t, small(100000))
			c.more(s)
			now := at(2 * time.Second)
			if c.name == "its claims lapsed, and the bytes are free" {
				now = at(time.Second + DefaultClaimPatience)
				if a := mustNext(t, s, "o", now); a.Range.Off != 11000 {
					t.Errorf("o got %v, want the lowest free bytes", a.Range)
				}
				return
			}
			if a, ok := s.Next("o", now); ok {
				t.Errorf("o got %v", a.Range)
			}
		})
	}
	// Two MinSplit are enough.
	s := farSetup(t, small(100000))
	s.SetHas("c", set(rg(0, 11000), rg(12000, 99800)), at(time.Second))
	if a := mustNext(t, s, "o", at(2*time.Second)); a.Range != rg(99900, 100000) {
		t.Errorf("o got %v, want [99900,100000)", a.Range)
	}

	// Nor while the claimant's pace is unknown: its claims looked at once.
	s = New(small(100000), epoch)
	s.AddPeer("o", epoch)
	s.AddCopy("c", set(rg(0, 10000)), epoch)
	s.SetClaims("c", set(rg(10000, 100000)), epoch)
	if a, ok := s.Next("o", at(time.Second)); ok {
		t.Errorf("o got %v of a claimant whose pace is unknown", a.Range)
	}
}

// TestPassed: the bytes that left a copy peer's claims from the front
// count as claimed until it holds them, for two more looks at most; those
// that left from the back do not.
func TestPassed(t *testing.T) {
	s := New(small(100000), epoch)
	s.AddPeer("o", epoch)
	s.AddCopy("c", set(rg(0, 10000)), epoch)
	s.SetClaims("c", set(rg(10000, 30000), rg(50000, 60000)), epoch)
	s.SetClaims("c", set(rg(12000, 25000), rg(52000, 60000)), at(time.Second))
	pr := s.byID["c"]
	if want := []span.Range{rg(10000, 12000), rg(50000, 52000)}; !slices.Equal(pr.passed[0], want) {
		t.Errorf("passed %v, want %v", pr.passed[0], want)
	}
	// An ordinary peer leaves them alone, but takes [25000,30000), which
	// left from the back. ([30000,50000) was guessed received at the
	// first look.)
	free := minus(s.pool.Ranges(), s.others(at(time.Second)).reserved)
	if want := []span.Range{rg(25000, 30000), rg(60000, 100000)}; !slices.Equal(free, want) {
		t.Errorf("free %v, want %v", free, want)
	}
	// What it holds no longer counts as passed.
	s.SetHas("c", set(rg(0, 11000)), at(1500*time.Millisecond))
	if want := []span.Range{rg(11000, 12000), rg(50000, 52000)}; !slices.Equal(pr.passed[0], want) {
		t.Errorf("passed %v, want %v", pr.passed[0], want)
	}
	// A whole range gone: its download received it all.
	s.SetClaims("c", set(rg(14000, 25000)), at(2*time.Second))
	if want := []span.Range{rg(12000, 14000), rg(52000, 60000)}; !slices.Equal(pr.passed[0], want) {
		t.Errorf("passed %v, want %v", pr.passed[0], want)
	}
	// A look at the same instant is not another look.
	s.SetClaims("c", set(rg(14000, 25000)), at(2*time.Second))
	s.SetClaims("c", set(rg(16000, 25000)), at(3*time.Second))
	s.SetClaims("c", set(rg(18000, 25000)), at(4*time.Second))
	if got := union(pr.passed[0], pr.passed[1]); !slices.Equal(got, []span.Range{rg(14000, 18000)}) {
		t.Errorf("passed %v after two more looks, want [14000,18000)", got)
	}
	// Claimed again, they are claims.
	s.SetClaims("c", set(rg(15000, 25000)), at(5*time.Second))
	if got := union(pr.passed[0], pr.passed[1]); len(got) != 0 {
		t.Errorf("passed %v, want none", got)
	}
}

// TestGuess: when a copy peer's claims are first told, the gaps below its
// last claimed range count as received, for two more looks.
func TestGuess(t *testing.T) {
	cases := []struct {
		name   string
		has    []span.Range
		claims []span.Range
		guess  []span.Range
	}{
		{"between held and claimed", []span.Range{rg(0, 1000), rg(2000, 3000)}, []span.Range{rg(5000, 6000), rg(8000, 9000)},
			[]span.Range{rg(1000, 2000), rg(3000, 5000), rg(6000, 8000)}},
		{"from the start when it holds nothing", nil, []span.Range{rg(5000, 6000)}, []span.Range{rg(0, 5000)}},
		{"not from the start when it holds something", []span.Range{rg(1000, 2000)}, []span.Range{rg(5000, 6000)}, []span.Range{rg(2000, 5000)}},
		{"not above the last claimed range", []span.Range{rg(0, 1000), rg(7000, 8000)}, []span.Range{rg(5000, 6000)}, []span.Range{rg(1000, 5000)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := New(small(10000), epoch)
			s.AddCopy("c", set(c.has...), epoch)
			s.SetClaims("c", span.Set{}, epoch) // empty claims are no first look
			s.SetClaims("c", set(c.claims...), at(time.Second))
			pr := s.byID["c"]
			if !slices.Equal(pr.guess, c.guess) {
				t.Errorf("guess %v, want %v", pr.guess, c.guess)
			}
			s.SetClaims("c", set(c.claims...), at(2*time.Second))
			if !slices.Equal(pr.guess, c.guess) {
				t.Errorf("guess %v after a look, want %v", pr.guess, c.guess)
			}
			s.SetClaims("c", set(c.claims...), at(3*time.Second))
			if pr.guess != nil {
				t.Errorf("guess %v after two looks, want none", pr.guess)
			}
		})
	}
}

// TestMeetHelpers checks fronts, advance, leads and startAfter against
// byte by byte answers on random sets.
func TestMeetHelpers(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	random := func() ([]span.Range, [64]bool) {
		var s span.Set
		var in [64]bool
		for range rng.IntN(5) {
			a := rng.Int64N(64)
			b := min(a+1+rng.Int64N(12), 64)
			s.Add(rg(a, b))
			for i := a; i < b; i++ {
				in[i] = true
			}
		}
		return s.Ranges(), in
	}
	bytes := func(rs []span.Range) (out [64]bool) {
		for _, r := range rs {
			for i := r.Off; i < r.End; i++ {
				out[i] = true
			}
		}
		return out
	}
	for range 3000 {
		old, inOld := random()
		cur, inCur := random()
		// fronts: a byte of old, not in cur, before some byte of cur in
		// the same range of old, or in a range of old without any.
		got := bytes(fronts(old, cur))
		var n int64
		ok := false
		for _, r := range old {
			last, first := int64(-1), int64(-1)
			for i := r.Off; i < r.End; i++ {
				if inCur[i] {
					last = i
					if first < 0 {
						first = i
					}
				}
			}
			if first >= 0 {
				n, ok = max(n, first-r.Off), true
			}
			for i := r.Off; i < r.End; i++ {
				if want := !inCur[i] && (last < 0 || i < last); got[i] != want {
					t.Fatalf("fronts(%v, %v) = %v: byte %d", old, cur, fronts(old, cur), i)
				}
			}
		}
		for i := range 64 {
			if got[i] && !inOld[i] {
				t.Fatalf("fronts(%v, %v) = %v: byte %d", old, cur, fronts(old, cur), i)
			}
		}
		if m, k := advance(old, cur); m != n || k != ok {
			t.Fatalf("advance(%v, %v) = %d, %v; want %d, %v", old, cur, m, k, n, ok)
		}
		// leads: bytes in neither, below the last range of claims, with
		// a byte of either below them unless has is empty.
		if len(cur) > 0 {
			has, claims := old, cur
			got := bytes(leads(has, claims))
			top := claims[len(claims)-1].Off
			seen := len(has) == 0
			for i := range int64(64) {
				want := seen && i < top && !inOld[i] && !inCur[i]
				if got[i] != want {
					t.Fatalf("leads(%v, %v) = %v: byte %d", has, claims, leads(has, claims), i)
				}
				seen = seen || inOld[i] || inCur[i]
			}
		}
		// startAfter: the first range beginning after off.
		off := rng.Int64N(64)
		r, found := startAfter(old, off)
		var want span.Range
		for _, q := range old {
			if q.Off > off {
				want = q
				break
			}
		}
		if r != want || found == want.Empty() {
			t.Fatalf("startAfter(%v, %d) = %v, %v; want %v", old, off, r, found, want)
		}
	}
}
