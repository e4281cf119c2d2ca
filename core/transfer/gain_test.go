package transfer

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/dragonload/dragonload/core/span"
)

// The shared-link test (gain.go): first the state machine alone, driven
// by a fake clock; then whole transfers in synctest bubbles, with fake
// sources that draw from fake internet links (uplink), one shared or one
// each.

var gainEpoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

const gainTick = 100 * time.Millisecond

// feeder drives a gainProbe by hand: each call to tick advances the clock
// by gainTick and adds per-tick bytes to the participants named.
type feeder struct {
	g       *gainProbe
	now     time.Time
	left    int64
	bytes   map[string]int64
	usable  map[string]bool // default true
	notices []string
}

func newFeeder(left int64, ids ...string) *feeder {
	f := &feeder{g: newGainProbe(nil), now: gainEpoch, left: left, bytes: map[string]int64{}, usable: map[string]bool{}}
	for _, id := range ids {
		f.g.Join(id, id, f.now)
	}
	return f
}

// tick advances the clock and feeds the counters after adding add.
func (f *feeder) tick(add map[string]int64) {
	f.now = f.now.Add(gainTick)
	var obs []gainObs
	for _, p := range f.g.parts {
		if f.g.Out(p.id) || !p.present {
			obs = append(obs, gainObs{id: p.id, bytes: f.bytes[p.id]})
			continue
		}
		f.bytes[p.id] += add[p.id]
		f.left -= add[p.id]
		u, ok := f.usable[p.id]
		obs = append(obs, gainObs{id: p.id, bytes: f.bytes[p.id], usable: u || !ok})
	}
	f.notices = append(f.notices, f.g.Observe(f.now, f.left, obs)...)
}

// run ticks n times with the same additions.
func (f *feeder) run(n int, add map[string]int64) {
	for range n {
		f.tick(add)
	}
}

// TestGainThresholds drives the state machine tick by tick across each
// threshold: how long self and the lender must have delivered, the time
// left, the settle and measure times, the gain that counts as sharing, the
// cooldown, and the silence that means a participant stopped.
func TestGainThresholds(t *testing.T) {
	const r = 10_000 // bytes per tick per participant: 100 kB/s
	big := int64(1 << 40)
	both := map[string]int64{SelfID: r, "L": r}
	cases := []struct {
		name string
		// test drives f and reports what it got against what it wanted.
		test func(t *testing.T, f *feeder)
		left int64
	}{
		{
			name: "delivering 1.9 s: no test; 2 s: test",
			left: big,
			test: func(t *testing.T, f *feeder) {
				f.run(1, both) // both deliver from this tick on
				f.run(19, both)
				if f.g.Out("L") {
					t.Fatal("tested after 1.9 s of delivering")
				}
				f.run(1, both)
				if !f.g.Out("L") {
					t.Fatal("not tested after 2 s of delivering")
				}
			},
		},
		{
			name: "20 s left: no test",
			// After 21 ticks, A1 = 200 kB/s: 20 s is 4 MB.
			left: 21*2*r + 4_000_000,
			test: func(t *testing.T, f *feeder) {
				f.run(40, both)
				if f.g.tests != 0 {
					t.Fatal("a download of 20 s left was tested")
				}
			},
		},
		{
			name: "20.01 s left: test",
			left: 21*2*r + 4_002_000,
			test: func(t *testing.T, f *feeder) {
				f.run(21, both)
				if f.g.tests != 1 {
					t.Fatal("a download of 20.01 s left was not tested")
				}
			},
		},
		{
			name: "a lender at 1/16 of the aggregate: tested",
			left: big,
			test: func(t *testing.T, f *feeder) {
				f.run(21, map[string]int64{SelfID: 15 * r, "L": r})
				if f.g.tests != 1 {
					t.Fatal("not tested")
				}
			},
		},
		{
			name: "a lender just under 1/16 of the aggregate: not tested",
			left: big,
			test: func(t *testing.T, f *feeder) {
				f.run(40, map[string]int64{SelfID: 15*r + 16, "L": r})
				if f.g.tests != 0 {
					t.Fatal("tested")
				}
			},
		},
		{
			name: "settle 1 s, measure 2 s: the verdict comes 3 s after the pause",
			left: big,
			test: func(t *testing.T, f *feeder) {
				f.run(21, both)
				if !f.g.Out("L") {
					t.Fatal("no test")
				}
				// Separate links: self goes on at r alone.
				f.run(29, map[string]int64{SelfID: r})
				if !f.g.Out("L") || f.g.phase != gainMeasure {
					t.Fatalf("after 2.9 s the test is over or not measuring (phase %d)", f.g.phase)
				}
				f.run(1, map[string]int64{SelfID: r})
				if f.g.Out("L") || f.g.byID["L"].verdict != helps {
					t.Fatal("no helps verdict 3 s after the pause")
				}
			},
		},
		{
			name: "gain exactly half the lender's rate: it helps",
			left: big,
			test: func(t *testing.T, f *feeder) {
				f.run(21, both)
				// A1 = 2r per tick, rL = r; self takes up half of what L freed.
				f.run(30, map[string]int64{SelfID: r + r/2})
				if v := f.g.byID["L"].verdict; v != helps {
					t.Fatalf("verdict %d, want helps", v)
				}
			},
		},
		{
			name: "gain just under half the lender's rate: it shares",
			left: big,
			test: func(t *testing.T, f *feeder) {
				f.run(21, both)
				f.run(30, map[string]int64{SelfID: r + r/2 + 100})
				if v := f.g.byID["L"].verdict; v != shares || !f.g.Out("L") {
					t.Fatalf("verdict %d, want shares and kept out", v)
				}
				if !slices.Equal(f.notices, []string{noticeSharedLink}) {
					t.Errorf("notices %q, want the summary alone", f.notices)
				}
			},
		},
		{
			name: "cooldown: 9.9 s after a test no new one; 10 s: one",
			left: big,
			test: func(t *testing.T, f *feeder) {
				f.run(21, both)
				f.run(30, map[string]int64{SelfID: r}) // L helps at 5.1 s
				end := f.now
				// A new lender restarts testing, after the cooldown.
				f.g.Join("M", "M", f.now)
				all := map[string]int64{SelfID: r, "L": r, "M": r}
				for f.now.Sub(end) < 9900*time.Millisecond {
					f.tick(all)
				}
				if f.g.tests != 1 {
					t.Fatalf("a test started %s after the last one", f.now.Sub(end))
				}
				f.tick(all)
				if f.g.tests != 2 || !f.g.Out("L") {
					t.Fatalf("no test of L (first joined) 10 s after the last one")
				}
			},
		},
		{
			name: "a participant silent for 1 s stopped: the test is cut short",
			left: big,
			test: func(t *testing.T, f *feeder) {
				f.run(21, both)
				f.run(9, map[string]int64{SelfID: r})
				f.run(9, map[string]int64{}) // self silent for 0.9 s: still delivering
				if !f.g.Out("L") {
					t.Fatal("test cut short after 0.9 s of silence")
				}
				f.run(1, map[string]int64{})
				if f.g.Out("L") || f.g.byID["L"].verdict != untested {
					t.Fatal("test not cut short after 1 s of silence, or it has a verdict")
				}
			},
		},
		{
			name: "a participant backing off: the test is cut short",
			left: big,
			test: func(t *testing.T, f *feeder) {
				f.run(21, both)
				f.usable[SelfID] = false
				f.run(1, map[string]int64{SelfID: r})
				if f.g.Out("L") || f.g.tests != 1 {
					t.Fatal("test not cut short when self backed off")
				}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.test(t, newFeeder(tc.left, SelfID, "L"))
		})
	}
}

// room simulates participants on links: the participants in the
// scheduler on one link share its rate equally.
type room struct {
	*feeder
	link map[string]string // participant → link
	rate map[string]int64  // link → bytes per tick
}

func newRoom(links map[string]int64, members ...[2]string) *room {
	r := &room{feeder: newFeeder(1 << 40), link: map[string]string{}, rate: links}
	for _, m := range members {
		r.join(m[0], m[1])
	}
	return r
}

func (r *room) join(id, link string) {
	r.link[id] = link
	r.g.Join(id, id, r.now)
}

func (r *room) step(n int) {
	for range n {
		on := map[string]int64{}
		for _, p := range r.g.parts {
			if p.present && !r.g.Out(p.id) {
				on[r.link[p.id]]++
			}
		}
		add := map[string]int64{}
		for _, p := range r.g.parts {
			if l := r.link[p.id]; on[l] > 0 {
				add[p.id] = r.rate[l] / on[l]
			}
		}
		r.tick(add)
	}
}

func (r *room) verdicts() string {
	var s []string
	for _, p := range r.g.parts {
		if p.lender {
			s = append(s, fmt.Sprintf("%s:%d", p.id, p.verdict))
		}
	}
	return fmt.Sprint(s)
}

// TestGainRoom: the state machine over whole rooms: who is set aside, when,
// and what the user is told.
func TestGainRoom(t *testing.T) {
	const u = 120_000 // bytes per tick: 1.2 MB/s, shared equally by 1 to 4
	t.Run("one uplink: each lender in turn, then the summary alone", func(t *testing.T) {
		r := newRoom(map[string]int64{"home": u}, [2]string{SelfID, "home"}, [2]string{"a", "home"}, [2]string{"b", "home"}, [2]string{"c", "home"})
		var at []time.Duration
		for i := 0; i < 200 && !r.g.Shared(); i++ {
			r.step(1)
			if n := len(at); r.g.tests > n {
				at = append(at, r.now.Sub(gainEpoch))
			}
		}
		if !r.g.Shared() {
			t.Fatalf("not all lenders set aside: %s", r.verdicts())
		}
		// The first after 2 s of delivering; the next ones follow at once.
		want := []time.Duration{2100 * time.Millisecond, 5100 * time.Millisecond, 8100 * time.Millisecond}
		if !slices.Equal(at, want) {
			t.Errorf("tests started at %v, want %v", at, want)
		}
		if !slices.Equal(r.notices, []string{noticeSharedLink}) {
			t.Errorf("notices %q", r.notices)
		}
		r.step(600)
		if r.g.tests != 3 || len(r.notices) != 1 {
			t.Errorf("%d tests and notices %q after another minute", r.g.tests, r.notices)
		}
	})
	t.Run("separate links: one test, nothing set aside", func(t *testing.T) {
		r := newRoom(map[string]int64{"s": u, "a": u, "b": u, "c": u}, [2]string{SelfID, "s"}, [2]string{"a", "a"}, [2]string{"b", "b"}, [2]string{"c", "c"})
		r.step(600)
		if r.g.tests != 1 || r.g.byID["a"].verdict != helps || len(r.notices) > 0 {
			t.Errorf("%d tests, verdicts %s, notices %q", r.g.tests, r.verdicts(), r.notices)
		}
	})
	t.Run("mixed: the lender on self's link alone, with its own notice", func(t *testing.T) {
		r := newRoom(map[string]int64{"home": u, "b": u, "c": u}, [2]string{SelfID, "home"}, [2]string{"a", "home"}, [2]string{"b", "b"}, [2]string{"c", "c"})
		r.step(100)
		if v := r.verdicts(); v != "[a:2 b:1 c:0]" {
			t.Errorf("verdicts %s, want a shares, b helps, c untested", v)
		}
		if !slices.Equal(r.notices, []string{fmt.Sprintf(noticeSharesLink, "a")}) {
			t.Errorf("notices %q", r.notices)
		}
		if r.g.Shared() {
			t.Error("Shared with a lender that helps")
		}
	})
	t.Run("a new lender brings back those set aside; a returning one does not", func(t *testing.T) {
		r := newRoom(map[string]int64{"home": u, "d": u}, [2]string{SelfID, "home"}, [2]string{"a", "home"}, [2]string{"b", "home"})
		r.step(100)
		if !r.g.Shared() {
			t.Fatalf("verdicts %s", r.verdicts())
		}
		// b leaves and comes back: not a new lender.
		r.g.Leave("b", r.now)
		r.step(1)
		r.g.Join("b", "b", r.now)
		if !r.g.Out("a") || !r.g.Out("b") {
			t.Fatal("a lender coming back brought back those set aside")
		}
		r.join("d", "d")
		if r.g.Out("a") || r.g.Out("b") || r.g.Shared() {
			t.Fatal("a new lender did not bring back those set aside")
		}
		r.step(300)
		if v := r.verdicts(); v != "[a:2 b:2 d:1]" {
			t.Errorf("verdicts %s after testing again, want a and b share, d helps", v)
		}
		want := []string{noticeSharedLink, fmt.Sprintf(noticeSharesLink, "a"), fmt.Sprintf(noticeSharesLink, "b")}
		if !slices.Equal(r.notices, want) {
			t.Errorf("notices %q, want %q", r.notices, want)
		}
	})
	t.Run("the lender that helped leaves: the others are tested", func(t *testing.T) {
		r := newRoom(map[string]int64{"home": u, "a": u}, [2]string{SelfID, "home"}, [2]string{"a", "a"}, [2]string{"b", "home"})
		r.step(60)
		if v := r.verdicts(); v != "[a:1 b:0]" {
			t.Fatalf("verdicts %s", v)
		}
		r.g.Leave("a", r.now)
		r.step(200)
		if v := r.verdicts(); v != "[a:1 b:2]" || !r.g.Shared() {
			t.Errorf("verdicts %s, shared %v", v, r.g.Shared())
		}
	})
	t.Run("a mirror pair is part of its lender", func(t *testing.T) {
		g := newGainProbe(nil)
		g.Join("a via http://mirror.test/f", "a via mirror.test", gainEpoch)
		g.Join("a", "Alice", gainEpoch)
		if len(g.parts) != 1 || g.parts[0].name != "Alice" || participantOf("self via http://m.test/x") != SelfID {
			t.Errorf("parts %+v", g.parts[0])
		}
	})
}

// onLink is a source whose requests draw from link.
func onLink(id string, link *uplink) *fakeSource {
	name := id
	if id == SelfID {
		name = "this machine"
	}
	return &fakeSource{id: id, name: name, rate: link.rate, link: link}
}

// runGain runs a transfer of size bytes from srcs and, alongside, during
// (if not nil) with the transfer and its recorder.
func runGain(t *testing.T, size int64, during func(*Transfer, *recorder), srcs ...Source) (*Transfer, *recorder, time.Duration) {
	t.Helper()
	f := newMemFile(size)
	rec := newRecorder()
	tr := New(Config{Pin: testPin(size), File: f, Reporter: rec})
	for _, s := range srcs {
		tr.AddSource(s)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	if during != nil {
		go during(tr, rec)
	}
	start := time.Now()
	if err := tr.Run(ctx); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	if err := f.check(0); err != nil {
		t.Fatal(err)
	}
	if rec.ranges.Size() != size {
		t.Fatalf("%d bytes reported durable, want %d", rec.ranges.Size(), size)
	}
	return tr, rec, took
}

// sharing returns the ids of the sources the last progress said share the
// link.
func sharing(rec *recorder) []string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var ids []string
	for _, s := range rec.last.Sources {
		if s.SharesLink {
			ids = append(ids, s.ID)
		}
	}
	return ids
}

// TestSharedUplink: this machine and three lenders behind one uplink. All
// three are set aside within 15 s, one notice says why, and the download
// takes no longer than this machine alone.
func TestSharedUplink(t *testing.T) {
	// 96 MiB lasts 24 s: after the first test less than gainMinLeft is
	// left, and only the chain rule lets the other lenders be tested.
	for _, size := range []int64{128 * mib, 96 * mib} {
		t.Run(fmt.Sprintf("%d MiB", size/mib), func(t *testing.T) { sharedUplink(t, size) })
	}
}

func sharedUplink(t *testing.T, size int64) {
	const u = 4 * mib
	var alone time.Duration
	synctest.Test(t, func(t *testing.T) {
		_, _, alone = runGain(t, size, nil, onLink(SelfID, &uplink{rate: u}))
	})
	synctest.Test(t, func(t *testing.T) {
		link := &uplink{rate: u}
		start := time.Now()
		tr, rec, took := runGain(t, size, nil, onLink(SelfID, link), onLink("peer-a", link), onLink("peer-b", link), onLink("peer-c", link))
		t.Logf("alone %s, with 3 lenders on the same link %s (%.3f×); all set aside after %s, %d tests",
			alone, took, took.Seconds()/alone.Seconds(), rec.sharedAt.Sub(start), tr.gain.tests)
		if rec.sharedAt.IsZero() || rec.sharedAt.Sub(start) > 15*time.Second {
			t.Errorf("lenders all set aside at %s, want within 15 s", rec.sharedAt.Sub(start))
		}
		if !slices.Equal(rec.notices, []string{noticeSharedLink}) {
			t.Errorf("notices %q, want the summary once", rec.notices)
		}
		if got := sharing(rec); !slices.Equal(got, []string{"peer-a", "peer-b", "peer-c"}) || !rec.last.SharedLink {
			t.Errorf("sharing %v, SharedLink %v", got, rec.last.SharedLink)
		}
		for _, s := range rec.last.Sources {
			if !s.Present {
				t.Errorf("%s not listed as present", s.ID)
			}
		}
		if took > alone*105/100 {
			t.Errorf("took %s, alone %s: more than 5 %% longer", took, alone)
		}
	})
}

// TestSeparateLinks: this machine and three lenders with a link each. One
// test runs, nothing is set aside, nobody is told anything, and the
// download takes the ideal time plus at most 3 % and the test's cost.
func TestSeparateLinks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const size, r = 128 * mib, 1 * mib
		srcs := []Source{onLink(SelfID, &uplink{rate: r})}
		for _, id := range []string{"peer-a", "peer-b", "peer-c"} {
			srcs = append(srcs, onLink(id, &uplink{rate: r}))
		}
		tr, rec, took := runGain(t, size, nil, srcs...)
		ideal := time.Duration(float64(size) / (4 * r) * float64(time.Second))
		// One lender's output for the settle and measure time, spread
		// over all four links.
		cost := (gainSettle + gainWindow) / 4
		t.Logf("took %s; ideal %s, the test's cost %s: %.4f× ideal + cost; %d tests", took, ideal, cost, took.Seconds()/(ideal+cost).Seconds(), tr.gain.tests)
		if len(rec.notices) > 0 || len(sharing(rec)) > 0 || rec.last.SharedLink {
			t.Errorf("notices %q, sharing %v", rec.notices, sharing(rec))
		}
		if tr.gain.tests != 1 {
			t.Errorf("%d tests, want 1", tr.gain.tests)
		}
		if limit := ideal*103/100 + cost; took > limit {
			t.Errorf("took %s, want at most %s", took, limit)
		}
	})
}

// TestMixedLinks: one lender shares this machine's link, two have their
// own. Only that one is set aside, with its own notice.
func TestMixedLinks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const size, r = 128 * mib, 1 * mib
		home := &uplink{rate: 2 * r}
		tr, rec, took := runGain(t, size, nil, onLink(SelfID, home), onLink("peer-a", home),
			onLink("peer-b", &uplink{rate: r}), onLink("peer-c", &uplink{rate: r}))
		t.Logf("took %s (ideal %s), %d tests", took, time.Duration(size/(4*r))*time.Second, tr.gain.tests)
		if got := sharing(rec); !slices.Equal(got, []string{"peer-a"}) || rec.last.SharedLink {
			t.Errorf("sharing %v, SharedLink %v; want peer-a alone", got, rec.last.SharedLink)
		}
		if want := []string{fmt.Sprintf(noticeSharesLink, "peer-a")}; !slices.Equal(rec.notices, want) {
			t.Errorf("notices %q, want %q", rec.notices, want)
		}
	})
}

// TestNewLenderRetests: once all lenders are set aside, a lender that was
// not there before joins: they all come back at once, and testing starts
// over, which finds again who shares the link.
func TestNewLenderRetests(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const size, u = 112 * mib, 1 * mib
		home := &uplink{rate: u}
		a, b, c := onLink("peer-a", home), onLink("peer-b", home), onLink("peer-c", home)
		d := onLink("peer-d", &uplink{rate: u})
		start := time.Now()
		var joined time.Time
		var back []string
		var before, after int64
		during := func(tr *Transfer, rec *recorder) {
			for {
				time.Sleep(100 * time.Millisecond)
				rec.mu.Lock()
				shared := !rec.sharedAt.IsZero()
				rec.mu.Unlock()
				if shared {
					break
				}
			}
			time.Sleep(time.Second)
			before = a.requests.Load() + b.requests.Load() + c.requests.Load()
			joined = time.Now()
			tr.AddSource(d)
			time.Sleep(time.Second)
			after = a.requests.Load() + b.requests.Load() + c.requests.Load()
			rec.mu.Lock()
			for _, s := range rec.last.Sources {
				if s.Present && !s.SharesLink && s.ID != SelfID {
					back = append(back, s.ID)
				}
			}
			rec.mu.Unlock()
		}
		tr, rec, took := runGain(t, size, during, onLink(SelfID, home), a, b, c)
		t.Logf("all set aside after %s; peer-d joined at %s; took %s; %d tests", rec.sharedAt.Sub(start), joined.Sub(start), took, tr.gain.tests)
		if joined.IsZero() {
			t.Fatal("the lenders were never all set aside")
		}
		if !slices.Equal(back, []string{"peer-a", "peer-b", "peer-c", "peer-d"}) || after <= before {
			t.Errorf("a second after peer-d joined, in use: %v, and the others made %d new requests", back, after-before)
		}
		if got := sharing(rec); !slices.Equal(got, []string{"peer-a", "peer-b", "peer-c"}) {
			t.Errorf("at the end, sharing %v; want peer-a, b and c", got)
		}
		if tr.gain.tests != 7 {
			t.Errorf("%d tests, want 3 before peer-d joined and 4 after", tr.gain.tests)
		}
		for id, at := range rec.sharesAt {
			t.Logf("%s first set aside after %s", id, at.Sub(start))
		}
		want := []string{noticeSharedLink}
		for _, id := range []string{"peer-a", "peer-b", "peer-c"} {
			want = append(want, fmt.Sprintf(noticeSharesLink, id))
		}
		if !slices.Equal(rec.notices, want) {
			t.Errorf("notices %q, want %q", rec.notices, want)
		}
	})
}

// TestShortDownloadNotTested: a download estimated to take under 20 s is
// never tested, on one uplink or on separate links.
func TestShortDownloadNotTested(t *testing.T) {
	for _, shared := range []bool{true, false} {
		synctest.Test(t, func(t *testing.T) {
			const size, r = 64 * mib, 1 * mib // 16 s at 4 MiB/s
			home := &uplink{rate: 4 * r}
			var srcs []Source
			for _, id := range []string{SelfID, "peer-a", "peer-b", "peer-c"} {
				link := home
				if !shared {
					link = &uplink{rate: r}
				}
				srcs = append(srcs, onLink(id, link))
			}
			tr, rec, took := runGain(t, size, nil, srcs...)
			t.Logf("shared %v: took %s, %d tests", shared, took, tr.gain.tests)
			if tr.gain.tests != 0 || len(rec.notices) > 0 || len(sharing(rec)) > 0 {
				t.Errorf("shared %v: %d tests, notices %q", shared, tr.gain.tests, rec.notices)
			}
		})
	}
}

// TestCopiesNotTested: a copy on the LAN is neither tested nor set aside;
// the lender behind this machine's link is.
func TestCopiesNotTested(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const size = 96 * mib
		home := &uplink{rate: 2 * mib}
		cp := onLink(copyID, &uplink{rate: 8 * mib})
		var has span.Set
		has.Add(span.Range{Off: 0, End: 32 * mib})
		during := func(tr *Transfer, _ *recorder) { tr.AddCopy(cp, has) }
		tr, rec, _ := runGain(t, size, during, onLink(SelfID, home), onLink("peer-a", home))
		if got := sharing(rec); !slices.Equal(got, []string{"peer-a"}) {
			t.Errorf("sharing %v, want peer-a", got)
		}
		if !slices.Equal(rec.notices, []string{noticeSharedLink}) {
			t.Errorf("notices %q", rec.notices)
		}
		if cp.bytes.Load() == 0 || tr.gain.byID[copyID] != nil {
			t.Errorf("the copy sent %d bytes and is known to the test: %v", cp.bytes.Load(), tr.gain.byID[copyID] != nil)
		}
	})
}

const copyID = "copy:peer-a"

// TestMirrorPairsFollowTheirLender: a lender's mirror pair is tested and
// set aside with the lender, as one.
func TestMirrorPairsFollowTheirLender(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const size = 96 * mib
		home := &uplink{rate: 2 * mib}
		pair := onLink("peer-a via http://mirror.test/f", home)
		pair.name = "peer-a via mirror.test"
		tr, rec, _ := runGain(t, size, nil, onLink(SelfID, home), onLink("peer-a", home), pair)
		if got := sharing(rec); !slices.Equal(got, []string{"peer-a", pair.id}) {
			t.Errorf("sharing %v, want peer-a and its pair", got)
		}
		if tr.gain.tests != 1 || !slices.Equal(rec.notices, []string{noticeSharedLink}) {
			t.Errorf("%d tests, notices %q", tr.gain.tests, rec.notices)
		}
	})
}

// TestFastCopyNotTested: a copy on the LAN that holds the whole file ends
// the download in seconds, however long the origin routes alone would
// take: no lender is tested (a test would cost a lender's output for
// nothing, and measure the copy rather than the links).
func TestFastCopyNotTested(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const size = 96 * mib // 48 s from the home link alone; 8 s with the copy
		home := &uplink{rate: 2 * mib}
		cp := onLink(copyID, &uplink{rate: 12 * mib})
		var has span.Set
		has.Add(span.Range{Off: 0, End: size})
		during := func(tr *Transfer, _ *recorder) { tr.AddCopy(cp, has) }
		tr, rec, _ := runGain(t, size, during, onLink(SelfID, home), onLink("peer-a", home))
		if tr.gain.tests != 0 || len(rec.notices) != 0 {
			t.Errorf("%d tests, notices %q; want none beside a fast copy", tr.gain.tests, rec.notices)
		}
	})
}

// TestLANBoundLenderIsIdle: two lenders whose bytes all pass through one
// limit on this machine's side (its LAN or its CPU), beside this machine's
// own slow link. Pausing one, the other takes up its rate and this
// machine's own link takes up nothing: the first adds nothing to this
// download and stays out, but the links are not shared and nobody is told
// they are.
func TestLANBoundLenderIsIdle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const size = 256 * mib // about 28 s
		lan := &uplink{rate: 8 * mib}
		tr, rec, _ := runGain(t, size, nil, onLink(SelfID, &uplink{rate: 1 * mib}), onLink("peer-a", lan), onLink("peer-b", lan))
		if len(rec.notices) != 0 || len(sharing(rec)) != 0 {
			t.Errorf("notices %q, sharing %v; want none", rec.notices, sharing(rec))
		}
		if !tr.gain.Out("peer-a") || tr.gain.Out("peer-b") {
			t.Errorf("peer-a out %v, peer-b out %v; want only peer-a, which added nothing", tr.gain.Out("peer-a"), tr.gain.Out("peer-b"))
		}
	})
}
