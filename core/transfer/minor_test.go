package transfer

import (
	"testing"
	"testing/synctest"
	"time"
)

// TestMinorRule: the rule alone, tick by tick. A lender under 1/64 of the
// aggregate rate, measured from its first tick of delivery in its stretch
// in the scheduler, for half a second or a chunk, is kept out; it comes
// back when the aggregate falls below 32 times its rate. A silent lender,
// this machine and copies are never kept out, and a lender's routes
// (mirror pairs) count together.
func TestMinorRule(t *testing.T) {
	t0 := time.Unix(0, 0)
	const fast = 64 * mib // this machine's rate in most steps
	type step struct {
		at   time.Duration
		obs  []minorObs
		out  []string // kept out after the step
		nout []string // not kept out after the step
	}
	self := func(rate float64) minorObs { return minorObs{part: SelfID, in: true, rate: rate} }
	lend := func(id string, bytes int64) minorObs {
		return minorObs{part: participantOf(id), lender: true, in: true, rate: 1, bytes: bytes}
	}
	ms := time.Millisecond
	cases := []struct {
		name  string
		steps []step
	}{
		{"slow lender out after half a second of delivery", []step{
			{0, []minorObs{self(fast), lend("peer-a", 0)}, nil, nil},
			{100 * ms, []minorObs{self(fast), lend("peer-a", 64*kib)}, nil, nil}, // delivering from here
			{400 * ms, []minorObs{self(fast), lend("peer-a", 256*kib)}, nil, []string{"peer-a"}},
			{600 * ms, []minorObs{self(fast), lend("peer-a", 320*kib)}, []string{"peer-a"}, nil}, // 512 KiB/s < 1 MiB/s
		}},
		{"judged at once after a chunk", []step{
			{0, []minorObs{self(1 << 30), lend("peer-a", 0)}, nil, nil},
			{100 * ms, []minorObs{self(1 << 30), lend("peer-a", 64*kib)}, nil, nil},
			{400 * ms, []minorObs{self(1 << 30), lend("peer-a", 1216*kib)}, []string{"peer-a"}, nil}, // 4 MiB/s < 16 MiB/s
		}},
		{"a silent lender is not judged", []step{
			{0, []minorObs{self(fast), lend("peer-a", 0)}, nil, nil},
			{5 * time.Second, []minorObs{self(fast), lend("peer-a", 0)}, nil, []string{"peer-a"}},
		}},
		{"lender at 1/32 stays", []step{
			{0, []minorObs{self(fast), lend("peer-a", 0)}, nil, nil},
			{100 * ms, []minorObs{self(fast), lend("peer-a", 64*kib)}, nil, nil},
			{600 * ms, []minorObs{self(fast), lend("peer-a", 1088*kib)}, nil, []string{"peer-a"}}, // 2 MiB/s
		}},
		{"mirror pair counts with its lender", []step{
			{0, []minorObs{self(fast), lend("peer-a", 0), lend("peer-a via http://m/", 0)}, nil, nil},
			{100 * ms, []minorObs{self(fast), lend("peer-a", 32*kib), lend("peer-a via http://m/", 32*kib)}, nil, nil},
			{600 * ms, []minorObs{self(fast), lend("peer-a", 416*kib), lend("peer-a via http://m/", 416*kib)}, nil, []string{"peer-a"}}, // 1.5 MiB/s together
		}},
		{"self and copies never out", []step{
			{0, []minorObs{self(1), {part: "copy:x", in: true, rate: 1, bytes: 10 * mib}, {part: "peer-a", lender: true, in: true, rate: fast}}, nil, nil},
			{10 * time.Second, []minorObs{self(1), {part: "copy:x", in: true, rate: 1, bytes: 20 * mib}, {part: "peer-a", lender: true, in: true, rate: fast, bytes: 640 * mib}}, nil,
				[]string{SelfID, "copy:x", "peer-a"}},
		}},
		{"back when the aggregate falls", []step{
			{0, []minorObs{self(fast), lend("peer-a", 0)}, nil, nil},
			{100 * ms, []minorObs{self(fast), lend("peer-a", 64*kib)}, nil, nil},
			{1100 * ms, []minorObs{self(fast), lend("peer-a", 576*kib)}, []string{"peer-a"}, nil}, // 512 KiB/s
			{2 * time.Second, []minorObs{self(24 * mib), {part: "peer-a", lender: true, bytes: 576 * kib}}, []string{"peer-a"}, nil},
			{3 * time.Second, []minorObs{self(15 * mib), {part: "peer-a", lender: true, bytes: 576 * kib}}, nil, []string{"peer-a"}}, // 32 × 512 KiB/s = 16 MiB/s
		}},
		{"judged over its stretch back in", []step{
			{0, []minorObs{self(fast), lend("peer-a", 0)}, nil, nil},
			{100 * ms, []minorObs{self(fast), lend("peer-a", 64*kib)}, nil, nil},
			{1100 * ms, []minorObs{self(fast), lend("peer-a", 576*kib)}, []string{"peer-a"}, nil},
			{2 * time.Second, []minorObs{self(15 * mib), {part: "peer-a", lender: true, bytes: 576 * kib}}, nil, []string{"peer-a"}},
			// Back in with 576 KiB behind it and 2 MiB/s from its first
			// tick in: over 1/64 of 64 MiB/s, though not over the whole
			// download.
			{3 * time.Second, []minorObs{self(fast), lend("peer-a", 576*kib)}, nil, []string{"peer-a"}},
			{3100 * ms, []minorObs{self(fast), lend("peer-a", 640*kib)}, nil, []string{"peer-a"}},
			{3600 * ms, []minorObs{self(fast), lend("peer-a", 1664*kib)}, nil, []string{"peer-a"}},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var m minorRule
			for i, s := range c.steps {
				m.Observe(t0.Add(s.at), s.obs)
				for _, id := range s.out {
					if !m.Out(id) {
						t.Errorf("step %d: %s not kept out", i, id)
					}
				}
				for _, id := range s.nout {
					if m.Out(id) {
						t.Errorf("step %d: %s kept out", i, id)
					}
				}
			}
		})
	}
}

// TestMinorLendersKeptOut: this machine's link is faster than it can take
// bytes in, and lenders' bytes (over QUIC) cost it seven times its own
// (the CPU-bound requester model of fakeSource.cpu). Four lenders at 1/256
// of its rate each are kept out once measured, and the download takes at
// most 3 % longer than this machine alone (1.02 times); without the rule
// it takes a third longer.
func TestMinorLendersKeptOut(t *testing.T) {
	const size, intake = 512 * mib, 64 * mib
	run1 := func(lenders int) (time.Duration, []*fakeSource) {
		var took time.Duration
		var ls []*fakeSource
		synctest.Test(t, func(t *testing.T) {
			cpu := &uplink{rate: intake}
			me := &fakeSource{id: SelfID, name: "this machine", rate: 1 << 30, cpu: cpu, cost: 1}
			srcs := []Source{me}
			for i := range lenders {
				l := &fakeSource{id: "peer-" + string(rune('a'+i)), rate: intake / 256, cpu: cpu, cost: 7}
				ls = append(ls, l)
				srcs = append(srcs, l)
			}
			f, _, d, err := run(t, size, Config{}, srcs...)
			if err != nil {
				t.Fatal(err)
			}
			if err := f.check(0); err != nil {
				t.Fatal(err)
			}
			took = d
		})
		return took, ls
	}
	alone, _ := run1(0)
	pooled, ls := run1(4)
	t.Logf("pooled %v alone %v ratio %.3f", pooled, alone, pooled.Seconds()/alone.Seconds())
	if pooled > alone*103/100 {
		t.Errorf("pooled %v, alone %v: want at most 1.03 × alone", pooled, alone)
	}
	for _, l := range ls {
		if b := l.bytes.Load(); b > 2*mib {
			t.Errorf("%s delivered %d bytes; want it kept out after its first chunk or two", l.id, b)
		}
	}
}

// TestMinorLenderBack: a lender kept out while this machine's link is
// fast comes back when it slows to a crawl, and carries the rest.
func TestMinorLenderBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const size = 1024 * mib
		home := &uplink{rate: 128 * mib}
		me := onLink(SelfID, home)
		l := lender("peer-a", mib, nil)
		var atSlow int64
		during := func(tr *Transfer, rec *recorder) {
			time.Sleep(4 * time.Second)
			atSlow = l.bytes.Load()
			home.set(256 * kib)
		}
		_, _, took := runGain(t, size, during, me, l)
		if atSlow > 3*mib {
			t.Errorf("the lender delivered %d bytes while this machine was fast; want it kept out", atSlow)
		}
		if more := l.bytes.Load() - atSlow; more < 64*mib {
			t.Errorf("after this machine slowed the lender delivered %d bytes; want it back (took %v)", more, took)
		}
	})
}
