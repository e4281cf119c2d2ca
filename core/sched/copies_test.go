package sched

import (
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/dragonload/dragonload/core/span"
)

// set is a span.Set of rs.
func set(rs ...span.Range) span.Set {
	var s span.Set
	for _, r := range rs {
		s.Add(r)
	}
	return s
}

func rg(off, end int64) span.Range { return span.Range{Off: off, End: end} }

// receiveAll delivers the whole of a at now.
func receiveAll(t *testing.T, s *Scheduler, a Assignment, now time.Time) {
	t.Helper()
	if !s.Received(a.ID, s.End(a.ID)-a.Range.Off, now) {
		t.Fatalf("assignment %+v not done", a)
	}
}

// idle is a time past ClaimPatience, when a copy peer that joined at the
// epoch and never grew is no longer active.
var idle = at(DefaultClaimPatience)

func TestCopyAPI(t *testing.T) {
	s := New(small(10000), epoch)
	// A present ordinary peer becomes a copy peer.
	s.AddPeer("a", epoch)
	s.AddCopy("a", set(rg(0, 100)), epoch)
	// Adding a present copy peer again updates what it holds; it is
	// clipped to the file.
	s.AddCopy("a", set(rg(5000, 20000)), epoch)
	if got := s.byID["a"].has; !slices.Equal(got, []span.Range{rg(5000, 10000)}) {
		t.Errorf("has %v, want [5000,10000)", got)
	}
	// AddPeer leaves a present copy peer a copy peer.
	s.AddPeer("a", epoch)
	if st := s.Stats(epoch); !st[0].Copy {
		t.Errorf("stats %+v, want a copy", st[0])
	}
	// Claims are clipped too.
	s.SetClaims("a", set(rg(9000, 12000)), epoch)
	if got := s.byID["a"].claims; !slices.Equal(got, []span.Range{rg(9000, 10000)}) {
		t.Errorf("claims %v, want [9000,10000)", got)
	}
	// SetHas and SetClaims concern present copy peers only.
	s.AddPeer("b", epoch)
	for _, p := range []PeerID{"b", "stranger"} {
		s.SetHas(p, set(rg(0, 10)), epoch)
		s.SetClaims(p, set(rg(0, 10)), epoch)
	}
	if pr := s.byID["b"]; pr.copy || pr.has != nil || pr.claims != nil || s.byID["stranger"] != nil {
		t.Errorf("SetHas or SetClaims touched an ordinary or unknown peer")
	}
	// A removed copy peer loses its claims and is told nothing more; back
	// with AddPeer, it is an ordinary peer.
	s.RemovePeer("a", epoch)
	s.SetHas("a", set(rg(0, 10000)), epoch)
	if pr := s.byID["a"]; pr.claims != nil || len(pr.has) != 1 || pr.has[0] != rg(5000, 10000) {
		t.Errorf("removed copy peer: has %v, claims %v", pr.has, pr.claims)
	}
	s.AddPeer("a", epoch)
	if st := s.Stats(epoch); st[0].Copy || !st[0].Present {
		t.Errorf("stats %+v, want an ordinary present peer", st[0])
	}
	if c := withDefaults(Config{}); c.ClaimPatience != DefaultClaimPatience {
		t.Errorf("ClaimPatience default %v", c.ClaimPatience)
	}
}

// TestCopyPicksOnlyWhatItHolds: rule 1 for picks from the pool.
func TestCopyPicksOnlyWhatItHolds(t *testing.T) {
	cases := []struct {
		name string
		done []span.Range
		has  []span.Range
		want span.Range // zero: nothing
	}{
		{"a chunk from the front of what it holds", nil, []span.Range{rg(3000, 6000)}, rg(3000, 4000)},
		{"clipped to the end of the held range", nil, []span.Range{rg(3000, 3500), rg(3600, 9000)}, rg(3000, 3500)},
		{"a sliver of a held range taken along", nil, []span.Range{rg(3000, 4050)}, rg(3000, 4050)},
		{"held bytes already received skipped", []span.Range{rg(0, 4000)}, []span.Range{rg(2000, 6000)}, rg(4000, 5000)},
		{"held past the end of the file", nil, []span.Range{rg(9500, 20000)}, rg(9500, 10000)},
		{"holds nothing", nil, nil, span.Range{}},
		{"holds only received bytes", []span.Range{rg(0, 5000)}, []span.Range{rg(1000, 5000)}, span.Range{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := small(10000)
			cfg.Done = c.done
			s := New(cfg, epoch)
			s.AddPeer("o", epoch)
			s.AddCopy("c", set(c.has...), epoch)
			a, ok := s.Next("c", epoch)
			if a.Range != c.want || ok == c.want.Empty() {
				t.Errorf("Next = %+v, %v; want %v", a, ok, c.want)
			}
		})
	}
}

// TestCopyLeavesItsFailedBytes: a copy peer leaves the bytes that failed
// in its hands to others that can fetch them, as any peer does; bytes
// that only it could fetch it retries.
func TestCopyLeavesItsFailedBytes(t *testing.T) {
	for _, others := range []string{"an ordinary peer", "a copy peer holding them", "a copy peer not holding them"} {
		t.Run(others, func(t *testing.T) {
			s := New(small(10000), epoch)
			s.AddCopy("c", set(rg(0, 10000)), epoch)
			switch others {
			case "an ordinary peer":
				s.AddPeer("o", epoch)
			case "a copy peer holding them":
				s.AddCopy("o", set(rg(0, 1000)), epoch)
			default:
				s.AddCopy("o", set(rg(5000, 6000)), epoch)
			}
			a := mustNext(t, s, "c", epoch)
			s.Fail(a.ID, errors.New("gone"), 0, epoch)
			b := mustNext(t, s, "c", at(time.Second))
			want := rg(1000, 2000)
			if others == "a copy peer not holding them" {
				want = a.Range
			}
			if b.Range != want {
				t.Errorf("after failing %v, got %v; want %v", a.Range, b.Range, want)
			}
		})
	}
}

// splitSetup leaves "o" holding [1000, 11000) at 1000 B/s, 1000 bytes of
// it received, and copy peer "c", measured at 10000 B/s, idle with the
// pool empty.
func splitSetup(t *testing.T) (*Scheduler, Assignment, time.Time) {
	t.Helper()
	cfg := small(20000)
	cfg.InFlight = 1
	cfg.Target = 10 * time.Second
	cfg.MaxChunk = 10000
	s := New(cfg, epoch)
	s.AddPeer("o", epoch)
	a := mustNext(t, s, "o", epoch)
	s.Received(a.ID, 1000, at(time.Second))
	o := mustNext(t, s, "o", at(time.Second))
	if o.Range != rg(1000, 11000) {
		t.Fatalf("o got %v", o.Range)
	}
	s.AddCopy("c", set(rg(11000, 20000)), at(time.Second))
	now := at(time.Second)
	for range 5 {
		c, ok := s.Next("c", now)
		if !ok {
			break
		}
		now = now.Add(time.Duration(c.Range.Len()) * 100 * time.Microsecond)
		receiveAll(t, s, c, now)
	}
	s.Received(o.ID, 1000, now)
	if s.Unassigned() != 0 || s.End(o.ID) != 11000 {
		t.Fatalf("pool %v, o's end %d", s.pool, s.End(o.ID))
	}
	return s, o, now
}

// TestCopySplitsOnlyWhatItHolds: bytes c holds cut o's assignment as
// soon as c is told it holds them (see TestMeetCuts): where they begin
// inside its rest, or at o's position when they cover it. c then picks
// them from the pool, and only them.
func TestCopySplitsOnlyWhatItHolds(t *testing.T) {
	const pos = 2000 // o holds [1000,11000) and has received up to here
	cases := []struct {
		name  string
		has   []span.Range
		want  span.Range // zero: nothing
		keeps int64      // o's new end; -1 when its whole rest went
		pool  []span.Range
	}{
		{"held all", []span.Range{rg(0, 20000)}, rg(pos, 11000), -1, nil},
		{"held from before the position", []span.Range{rg(1500, 6000)}, rg(pos, 6000), -1, []span.Range{rg(6000, 11000)}},
		{"held a little from before it", []span.Range{rg(1500, pos+50)}, rg(pos, pos+50), -1, []span.Range{rg(pos+50, 11000)}},
		{"held only before it", []span.Range{rg(0, pos)}, span.Range{}, 11000, nil},
		{"held from after it", []span.Range{rg(5000, 7000)}, rg(5000, 7000), 5000, []span.Range{rg(7000, 11000)}},
		{"held to the end", []span.Range{rg(4000, 20000)}, rg(4000, 11000), 4000, nil},
		{"the first held range", []span.Range{rg(5000, 6000), rg(7000, 9000)}, rg(5000, 6000), 5000, []span.Range{rg(6000, 11000)}},
		{"a small late piece", []span.Range{rg(10950, 11000)}, rg(10950, 11000), 10950, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, o, now := splitSetup(t)
			s.SetHas("c", set(c.has...), now)
			a, ok := s.Next("c", now)
			if a.Range != c.want || ok == c.want.Empty() || (ok && a.From != 0) {
				t.Errorf("Next = %+v, %v; want %v picked", a, ok, c.want)
			}
			if s.End(o.ID) != c.keeps || !slices.Equal(s.pool.Ranges(), c.pool) {
				t.Errorf("o keeps up to %d, pool %v; want %d, %v", s.End(o.ID), s.pool, c.keeps, c.pool)
			}
		})
	}
}

// TestCopySplitsBeforeTheEndgame: a copy peer told it holds bytes an
// ordinary peer is fetching takes them at once, before any end-game, the
// pool not being empty; an ordinary peer does not split before it.
func TestCopySplitsBeforeTheEndgame(t *testing.T) {
	s, o, now := splitSetup(t)
	s.pool.Add(rg(19000, 20000)) // as if never assigned
	s.received -= 1000
	s.SetHas("c", set(rg(1000, 8000)), now)
	a := mustNext(t, s, "c", now)
	if a.Range != rg(2000, 8000) || s.End(o.ID) != -1 {
		t.Errorf("Next = %+v with o's end %d, want [2000,8000) with o's rest gone", a, s.End(o.ID))
	}
	s.AddPeer("p", now)
	if b, ok := s.Next("p", now); ok && b.From != 0 {
		t.Errorf("an ordinary peer split %+v before the end-game", b)
	}
}

// TestCopiesComeFirst: rule 2.
func TestCopiesComeFirst(t *testing.T) {
	cases := []struct {
		name string
		has  []span.Range
		// before runs before o asks, at idle.
		before func(t *testing.T, s *Scheduler)
		want   []span.Range // o's first two chunks; fewer if it gets fewer
	}{
		{"bytes the copy holds left to it", []span.Range{rg(0, 5000)}, nil,
			[]span.Range{rg(5000, 6000), rg(6000, 7500)}},
		{"the copy holds every byte", []span.Range{rg(0, 10000)}, nil, nil},
		{"the copy holds nothing", nil, nil,
			[]span.Range{rg(0, 1000), rg(1000, 2500)}},
		{"bytes that failed with the copy are for anyone", []span.Range{rg(0, 5000)},
			func(t *testing.T, s *Scheduler) {
				a := mustNext(t, s, "c", idle)
				s.Fail(a.ID, errors.New("gone"), 0, idle)
				// A chunk completed: c is preferred again, for what
				// has not failed with it.
				b := mustNext(t, s, "c", idle.Add(time.Second))
				receiveAll(t, s, b, idle.Add(time.Second))
			},
			[]span.Range{rg(0, 1000), rg(5000, 6500)}},
		{"a copy whose last assignment failed is not preferred", []span.Range{rg(0, 5000)},
			func(t *testing.T, s *Scheduler) {
				// [0,1000) completes, [1000,2500) fails at 1500; the
				// held [2500,5000) has not failed with c.
				a := mustNext(t, s, "c", idle)
				b := mustNext(t, s, "c", idle)
				receiveAll(t, s, a, idle)
				s.Received(b.ID, 500, idle)
				s.Fail(b.ID, errors.New("gone"), 0, idle)
			},
			[]span.Range{rg(1500, 2500), rg(2500, 4000)}},
		{"a removed copy", []span.Range{rg(0, 5000)},
			func(t *testing.T, s *Scheduler) { s.RemovePeer("c", idle) },
			[]span.Range{rg(0, 1000), rg(1000, 2500)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := New(small(10000), epoch)
			s.AddPeer("o", epoch)
			s.AddCopy("c", set(c.has...), epoch)
			if c.before != nil {
				c.before(t, s)
			}
			now := idle.Add(time.Second)
			var got []span.Range
			for range 2 {
				if a, ok := s.Next("o", now); ok {
					got = append(got, a.Range)
				}
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("o got %v, want %v", got, c.want)
			}
		})
	}
}

// TestSlowCopyLosesTheTail: in the end-game, an ordinary peer splits a
// slow copy peer's work like anyone's.
func TestSlowCopyLosesTheTail(t *testing.T) {
	cfg := small(12000)
	cfg.InFlight = 1
	cfg.Target = 10 * time.Second
	cfg.MaxChunk = 20000
	s := New(cfg, epoch)
	s.AddPeer("o", epoch)
	a := mustNext(t, s, "o", epoch)
	receiveAll(t, s, a, at(100*time.Millisecond)) // 10000 B/s
	now := at(100 * time.Millisecond)
	s.AddCopy("c", set(rg(0, 12000)), now)
	if b, ok := s.Next("o", now); ok {
		t.Fatalf("o got %+v of what the copy holds", b)
	}
	b := mustNext(t, s, "c", now)
	now = now.Add(time.Second)
	receiveAll(t, s, b, now) // 1000 B/s
	c := mustNext(t, s, "c", now)
	if s.Unassigned() != 0 {
		t.Fatalf("c got %v, %d left", c.Range, s.Unassigned())
	}
	d := mustNext(t, s, "o", now)
	if d.From != c.ID || d.Range.End != c.Range.End || d.Range.Len() < c.Range.Len()*3/4 {
		t.Errorf("o got %+v of c's %+v; want most of it", d, c)
	}
}

// TestNewCopyKeepsItsWork: a copy that has just joined, holding the whole
// file, takes over this machine's first requests; the origin routes,
// this one and a lender that joins after it, take none of its work back
// while its pace is unknown (they would plan with the same rate and halve
// it). A copy still short of MinChunk after two seconds of work is slow,
// and loses work as any peer.
func TestNewCopyKeepsItsWork(t *testing.T) {
	const mib = 1 << 20
	s := New(Config{Size: 24 * mib, MinChunk: mib}, epoch)
	s.AddPeer("self", epoch)
	probe, ok := s.Claim("self", rg(0, mib), epoch)
	if !ok {
		t.Fatal("the probe was not booked")
	}
	mustNext(t, s, "self", epoch)
	now := at(time.Millisecond)
	s.Received(probe.ID, 64<<10, now)
	s.AddCopy("copy", set(rg(0, 24*mib)), now)
	var held int64
	for range 2 {
		held += mustNext(t, s, "copy", now).Range.Len()
	}
	s.AddPeer("lender", now)
	for _, p := range []PeerID{"lender", "self", "lender", "self"} {
		if a, ok := s.Next(p, now); ok {
			t.Fatalf("%s got %+v of what the new copy fetches", p, a)
		}
	}
	if as := s.Assigned(); as.Size() != held {
		t.Errorf("%d bytes assigned, want the copy's %d", as.Size(), held)
	}
	// Two seconds on, the copy delivered nothing: the lender splits.
	now = now.Add(rateWindow)
	if a, ok := s.Next("lender", now); !ok {
		t.Error("the lender took nothing from a copy silent for two seconds")
	} else if a.From == 0 {
		t.Errorf("the lender got %+v, not a split", a)
	}
}

// TestClaims: rule 3. (The claims are told once, so their pace is not
// known and no far end of them is taken: see TestFarEnd.)
func TestClaims(t *testing.T) {
	claims := rg(0, 6000)
	type step struct {
		at   time.Duration
		has  []span.Range // SetHas, if not nil
		drop bool         // RemovePeer
	}
	cases := []struct {
		name  string
		steps []step
		lapse time.Duration // when o may take claimed bytes
	}{
		{"claims lapse when the copy does not grow", nil, DefaultClaimPatience},
		{"growth restarts the patience", []step{{at: 6 * time.Second, has: []span.Range{rg(9000, 9500)}}}, 6*time.Second + DefaultClaimPatience},
		{"the same bytes again do not", []step{
			{at: time.Second, has: []span.Range{rg(9000, 9500)}},
			{at: 6 * time.Second, has: []span.Range{rg(9000, 9500)}},
		}, time.Second + DefaultClaimPatience},
		{"nor do fewer", []step{
			{at: time.Second, has: []span.Range{rg(9000, 9500)}},
			{at: 6 * time.Second, has: []span.Range{rg(9000, 9200)}},
		}, time.Second + DefaultClaimPatience},
		{"other bytes do", []step{
			{at: time.Second, has: []span.Range{rg(9000, 9500)}},
			{at: 6 * time.Second, has: []span.Range{rg(9500, 9600)}},
		}, 6*time.Second + DefaultClaimPatience},
		{"claims lapse when the copy peer leaves", []step{{at: 3 * time.Second, drop: true}}, 3 * time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := New(small(10000), epoch)
			s.AddPeer("o", epoch)
			s.AddCopy("c", span.Set{}, epoch)
			s.SetClaims("c", set(claims), epoch)
			var got []span.Range
			for now := time.Duration(0); now <= 30*time.Second; now += 100 * time.Millisecond {
				for _, st := range c.steps {
					switch {
					case st.at != now:
					case st.drop:
						s.RemovePeer("c", at(now))
					default:
						s.SetHas("c", set(st.has...), at(now))
					}
				}
				told := !slices.ContainsFunc(c.steps, func(st step) bool { return st.at > now })
				if told && now < c.lapse {
					if w, ok := s.Wake(at(now)); !ok || w != at(c.lapse) {
						t.Fatalf("Wake(%v) = %v, %v; want the lapse at %v", now, w, ok, c.lapse)
					}
				}
				a, ok := s.Next("o", at(now))
				if !ok {
					continue
				}
				got = append(got, a.Range)
				if a.Range.Intersect(claims).Len() > 0 && now < c.lapse {
					t.Fatalf("o got claimed %v at %v, before the lapse at %v", a.Range, now, c.lapse)
				}
				if a.Range.Intersect(claims).Len() > 0 {
					return
				}
				receiveAll(t, s, a, at(now))
			}
			t.Errorf("o never got claimed bytes; it got %v", got)
		})
	}
}

// TestOnlyClaimedLeft: when every unassigned byte is held or claimed (and
// no far end of a claim is to be taken: the claims' pace is not known), an
// ordinary peer waits; Wake says when the claims lapse, and then it gets
// them. A copy peer does not heed claims.
func TestOnlyClaimedLeft(t *testing.T) {
	s := New(small(10000), epoch)
	s.AddPeer("o", epoch)
	s.AddCopy("c", set(rg(0, 4000)), epoch)
	s.AddCopy("d", set(rg(0, 10000)), epoch)
	s.RemovePeer("d", epoch)
	s.AddCopy("d", set(rg(9000, 10000)), epoch)
	s.SetClaims("c", set(rg(4000, 10000)), epoch)
	if a, ok := s.Next("o", at(time.Second)); ok {
		t.Fatalf("o got %+v", a)
	}
	if w, ok := s.Wake(at(time.Second)); !ok || w != at(DefaultClaimPatience) {
		t.Errorf("Wake = %v, %v; want the lapse at %v", w, ok, DefaultClaimPatience)
	}
	if a := mustNext(t, s, "d", at(time.Second)); a.Range.Off != 9000 || a.Range.End > 10000 {
		t.Errorf("d got %v, want what it holds, claimed or not", a.Range)
	}
	if a := mustNext(t, s, "o", at(DefaultClaimPatience)); a.Range != rg(4000, 5000) {
		t.Errorf("o got %v after the lapse, want [4000,5000)", a.Range)
	}
	if _, ok := s.Wake(at(DefaultClaimPatience)); !ok {
		t.Error("nothing to wake for with work outstanding")
	}
}

// TestStreamsBesideAnotherDownload: while a copy peer is active, an
// ordinary peer goes on after its own previous chunk, or else starts in
// the middle half of the largest free range, and takes at most half of
// the free range it starts in.
func TestStreamsBesideAnotherDownload(t *testing.T) {
	s := New(small(100000), epoch)
	s.AddPeer("o", epoch)
	s.AddCopy("c", set(rg(0, 10000)), epoch)
	claims := set(rg(10000, 20000))
	s.SetClaims("c", claims, epoch)
	// The free range is [20000, 100000): o starts in [40000, 80000).
	a := mustNext(t, s, "o", epoch)
	if a.Range.Len() != 1000 || a.Range.Off < 40000 || a.Range.Off >= 80000 {
		t.Fatalf("o got %v, want 1000 bytes from [40000,80000)", a.Range)
	}
	// It goes on where it left off, with each chunk.
	b := mustNext(t, s, "o", epoch)
	receiveAll(t, s, a, at(100*time.Millisecond))
	c := mustNext(t, s, "o", at(100*time.Millisecond))
	if b.Range.Off != a.Range.End || c.Range.Off != b.Range.End {
		t.Errorf("o went on with %v then %v after %v", b.Range, c.Range, a.Range)
	}
	// The other download turns out to fetch the bytes of o's last chunk
	// too: o starts elsewhere.
	claims.Add(c.Range)
	s.SetClaims("c", claims, at(200*time.Millisecond))
	receiveAll(t, s, b, at(300*time.Millisecond))
	d := mustNext(t, s, "o", at(300*time.Millisecond))
	if d.Range.Off == c.Range.End || claims.Overlaps(d.Range) {
		t.Errorf("o went on with %v though its previous chunk %v was claimed", d.Range, c.Range)
	}
	// The largest free range is the one to start in.
	s2 := New(small(100000), epoch)
	s2.AddPeer("o", epoch)
	s2.AddCopy("c", set(rg(0, 10000), rg(15000, 20000), rg(30000, 100000)), epoch)
	if a := mustNext(t, s2, "o", epoch); a.Range.Off < 22500 || a.Range.Off >= 27500 {
		t.Errorf("o got %v, want the middle half of [20000,30000)", a.Range)
	}
	// Once the copy is no longer active, o fills from the front again.
	receiveAll(t, s, c, idle)
	e := mustNext(t, s, "o", idle)
	if e.Range.Off != 10000 {
		t.Errorf("o got %v, want the lowest free bytes, from 10000", e.Range)
	}

	// At most half of a free range, but at least MinSplit; a smaller one
	// is taken whole.
	for _, c := range []struct{ free, want span.Range }{
		{rg(8000, 9000), rg(8000, 8500)},
		{rg(8000, 8150), rg(8000, 8150)},
	} {
		s := New(small(10000), epoch)
		s.AddPeer("o", epoch)
		s.AddCopy("c", set(rg(c.free.End, 10000)), epoch)
		s.SetClaims("c", set(rg(0, c.free.Off)), epoch)
		if a := mustNext(t, s, "o", epoch); a.Range != c.want {
			t.Errorf("free %v: o got %v, want %v", c.free, a.Range, c.want)
		}
	}
}

// TestCopyFailsAsAnyPeer: rule 4. A copy peer's failures, short
// responses and stalls cost it what they cost any peer, and its received
// bytes stay received.
func TestCopyFailsAsAnyPeer(t *testing.T) {
	boom := errors.New("reset")
	cases := []struct {
		name  string
		fail  func(s *Scheduler, a Assignment) time.Time // returns when
		pause time.Duration
	}{
		{"Fail", func(s *Scheduler, a Assignment) time.Time {
			s.Fail(a.ID, boom, 0, at(time.Second))
			return at(time.Second)
		}, minBackoff},
		{"Fail with retry-after", func(s *Scheduler, a Assignment) time.Time {
			s.Fail(a.ID, boom, 5*time.Second, at(time.Second))
			return at(time.Second)
		}, 5 * time.Second},
		{"short Complete", func(s *Scheduler, a Assignment) time.Time {
			s.Complete(a.ID, at(time.Second))
			return at(time.Second)
		}, minBackoff},
		{"stall", func(s *Scheduler, a Assignment) time.Time {
			now := at(time.Second + DefaultStallTimeout)
			if stalls, _ := s.Tick(now); len(stalls) != 1 || stalls[0].ID != a.ID || stalls[0].Peer != "c" {
				panic("no stall")
			}
			return now
		}, minBackoff},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := small(10000)
			cfg.InFlight = 1
			s := New(cfg, epoch)
			s.AddCopy("c", set(rg(0, 10000)), epoch)
			a := mustNext(t, s, "c", epoch)
			s.Received(a.ID, 300, at(time.Second))
			now := c.fail(s, a)
			st := s.Stats(now)[0]
			if s.End(a.ID) != -1 || st.Failures != 1 || st.RetryAt != now.Add(c.pause) {
				t.Errorf("end %d, stats %+v; want dead, one failure, a pause of %v", s.End(a.ID), st, c.pause)
			}
			if _, ok := s.Next("c", now); ok {
				t.Error("work for a copy peer backing off")
			}
			// Alone, it retries the rest itself, not the received prefix.
			b := mustNext(t, s, "c", now.Add(c.pause))
			if b.Range.Off != 300 {
				t.Errorf("retry %v, want from 300", b.Range)
			}
		})
	}
	// The same bytes failing MaxAttempts times give up, in a copy
	// peer's hands as in any.
	cfg := small(1000)
	cfg.MaxAttempts = 2
	s := New(cfg, epoch)
	s.AddCopy("c", set(rg(0, 1000)), epoch)
	a := mustNext(t, s, "c", epoch)
	s.Fail(a.ID, boom, 0, epoch)
	a = mustNext(t, s, "c", at(time.Second))
	var gu *GiveUpError
	if err := s.Fail(a.ID, boom, 0, at(time.Second)); !errors.As(err, &gu) {
		t.Errorf("second failure: %v, want a GiveUpError", err)
	}
}

// TestAssigned: rule 5.
func TestAssigned(t *testing.T) {
	cfg := small(20000)
	s := New(cfg, epoch)
	if a := s.Assigned(); a.Len() != 0 {
		t.Errorf("Assigned() = %v with nothing out", a)
	}
	s.AddPeer("o", epoch)
	s.AddCopy("c", set(rg(10000, 20000)), epoch)
	var got span.Set
	want := func() span.Set {
		var w span.Set
		for _, a := range s.live {
			w.Add(rg(a.pos, a.end))
		}
		return w
	}
	check := func(when string) {
		t.Helper()
		checkInvariants(t, s, &got)
		if a, w := s.Assigned(), want(); !a.Equal(&w) {
			t.Errorf("%s: Assigned() = %v, want %v", when, a, w)
		}
	}
	o1 := mustNext(t, s, "o", epoch)
	o2 := mustNext(t, s, "o", epoch)
	c1 := mustNext(t, s, "c", epoch)
	check("handed out")
	if a := s.Assigned(); !a.Equal(&span.Set{}) && a.Size() != o1.Range.Len()+o2.Range.Len()+c1.Range.Len() {
		t.Errorf("Assigned() = %v", a)
	}
	s.Received(o1.ID, 400, at(time.Millisecond))
	got.Add(rg(o1.Range.Off, o1.Range.Off+400))
	check("partly received")
	receiveAll(t, s, c1, at(time.Millisecond))
	got.Add(c1.Range)
	check("one complete")
	s.Fail(o2.ID, errors.New("x"), 0, at(time.Millisecond))
	check("one failed")
}

// TestEndgameBesideCopies: for a peer that holds no copy, the end-game
// begins once every unassigned byte is held by a copy peer or claimed
// (and no far end of a claim is to be taken): it splits the work of a
// slower peer rather than wait, and Wake asks to look again while it
// waits.
func TestEndgameBesideCopies(t *testing.T) {
	cfg := small(10000)
	cfg.InFlight = 1
	s := New(cfg, epoch)
	s.AddPeer("o", epoch)
	s.AddPeer("l", epoch)
	a := mustNext(t, s, "o", epoch)
	b := mustNext(t, s, "l", epoch)
	receiveAll(t, s, a, at(100*time.Millisecond)) // 10000 B/s
	receiveAll(t, s, b, at(2*time.Second))        // 500 B/s
	b = mustNext(t, s, "l", at(2*time.Second))
	now := at(2400 * time.Millisecond)
	s.Received(b.ID, 200, now)
	s.AddCopy("c", set(rg(b.Range.End, 5000)), now)
	s.SetClaims("c", set(rg(5000, 10000)), now)
	if w, ok := s.Wake(now); !ok || w != now.Add(endgamePoll) {
		t.Errorf("Wake = %v, %v; want an end-game poll at %v", w, ok, now.Add(endgamePoll))
	}
	d := mustNext(t, s, "o", now)
	if d.From != b.ID || d.Range.End != b.Range.End || d.Range.Off <= b.Range.Off+200 || s.End(b.ID) != d.Range.Off {
		t.Errorf("o got %+v of l's %+v (which now ends at %d), want its tail", d, b, s.End(b.ID))
	}
}

// TestWakeBesideCopies: Wake asks for an end-game look while an ordinary
// peer waits with only held or claimed bytes left, and not while free
// bytes are left.
func TestWakeBesideCopies(t *testing.T) {
	cfg := small(10000)
	cfg.InFlight = 1
	s := New(cfg, epoch)
	s.AddPeer("o", epoch)
	s.AddCopy("c", set(rg(0, 2000)), epoch)
	s.SetClaims("c", set(rg(2000, 10000)), epoch)
	mustNext(t, s, "c", epoch)
	now := at(time.Second)
	if w, ok := s.Wake(now); !ok || w != now.Add(endgamePoll) {
		t.Errorf("Wake = %v, %v; want an end-game poll at %v", w, ok, now.Add(endgamePoll))
	}
	s.SetClaims("c", set(rg(2000, 9000)), now)
	if w, ok := s.Wake(now); !ok || w != at(DefaultClaimPatience) {
		t.Errorf("Wake = %v, %v with free bytes left; want the lapse at %v", w, ok, DefaultClaimPatience)
	}
	// Without copies, as before: no poll while the pool holds bytes.
	s = New(small(10000), epoch)
	s.AddPeer("o", epoch)
	mustNext(t, s, "o", epoch)
	if w, ok := s.Wake(epoch); !ok || w != at(DefaultStallTimeout) {
		t.Errorf("Wake = %v, %v; want the stall deadline", w, ok)
	}
}

// TestRangeHelpers checks minus, inter, union and heldFrom against byte
// by byte answers on random sets.
func TestRangeHelpers(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	random := func() ([]span.Range, [64]bool) {
		var s span.Set
		var in [64]bool
		for range rng.IntN(6) {
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
		var s span.Set
		for _, r := range rs {
			if s.Overlaps(r) {
				t.Fatalf("%v overlaps itself", rs)
			}
			s.Add(r)
			for i := r.Off; i < r.End; i++ {
				out[i] = true
			}
		}
		if !slices.Equal(s.Ranges(), rs) {
			t.Fatalf("%v is not sorted and coalesced", rs)
		}
		return out
	}
	for range 2000 {
		a, inA := random()
		b, inB := random()
		c, inC := random()
		gotMinus, gotInter, gotUnion := bytes(minus(a, b)), bytes(inter(a, b)), bytes(union(a, b, c))
		for i := range 64 {
			if gotMinus[i] != (inA[i] && !inB[i]) || gotInter[i] != (inA[i] && inB[i]) || gotUnion[i] != (inA[i] || inB[i] || inC[i]) {
				t.Fatalf("byte %d: a %v b %v c %v: minus %v inter %v union %v", i, a, b, c, minus(a, b), inter(a, b), union(a, b, c))
			}
		}
		from, to := rng.Int64N(64), rng.Int64N(65)
		r, ok := heldFrom(a, from, to)
		var want span.Range
		for i := from; i < to; i++ {
			if inA[i] {
				want.Off, want.End = i, i
				for want.End < to && inA[want.End] {
					want.End++
				}
				break
			}
		}
		if r != want || ok == want.Empty() {
			t.Fatalf("heldFrom(%v, %d, %d) = %v, %v; want %v", a, from, to, r, ok, want)
		}
	}
}
