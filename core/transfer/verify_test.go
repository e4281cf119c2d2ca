package transfer

import (
	"context"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/dragonload/dragonload/core/sched"
	"github.com/dragonload/dragonload/core/span"
)

// TestSpotChecks: a lender that alters the bytes of some of its requests
// is caught by a spot check, banned, and every byte it delivered is
// audited against the origin, so the file ends right; an honest lender is
// never banned; the checks cost at most about 1/64 of the lenders' bytes
// from the origin.
func TestSpotChecks(t *testing.T) {
	tests := []struct {
		name   string
		behave func(int, Request) act
	}{
		{"alters every request", func(int, Request) act { return act{version: 1} }},
		{"alters one request in three", every(3, act{version: 1})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const size = 64 * mib
				me, honest := self(4*mib, nil), lender("honest", 4*mib, nil)
				liar := lender("liar", 4*mib, tc.behave)
				cfg := Config{Checks: Checks{Rate: 1, Rand: rand.New(rand.NewPCG(1, 2))}}
				f, rec, _, err := run(t, size, cfg, me, honest, liar)
				if err != nil {
					t.Fatal(err)
				}
				if err := f.check(0); err != nil {
					t.Fatalf("the file is wrong after the liar was dealt with: %v", err)
				}
				if !slices.Equal(rec.banned, []string{"liar"}) {
					t.Errorf("banned %v, want [liar]", rec.banned)
				}
				if !slices.ContainsFunc(rec.notices, func(s string) bool { return strings.Contains(s, "liar") && strings.Contains(s, "repaired") }) {
					t.Errorf("no notice names the liar and the repair: %q", rec.notices)
				}
			})
		})
	}
}

// TestSpotCheckCost: with honest lenders, nobody is banned and the checks
// fetch at most 1/64 of the lenders' bytes again (plus the MinCheck floor
// for small requests).
func TestSpotCheckCost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const size = 128 * mib
		me := self(4*mib, nil)
		a, b := lender("a", 4*mib, nil), lender("b", 4*mib, nil)
		_, rec, _, err := run(t, size, Config{Checks: DefaultChecks()}, me, a, b)
		if err != nil {
			t.Fatal(err)
		}
		if len(rec.banned) > 0 {
			t.Fatalf("honest lenders banned: %v", rec.banned)
		}
		extra := me.bytes.Load() - rec.durable[SelfID]
		lent := rec.durable["a"] + rec.durable["b"]
		if extra <= 0 {
			t.Fatalf("no spot check was made (this node fetched %d bytes, %d durable)", me.bytes.Load(), rec.durable[SelfID])
		}
		if ratio := float64(extra) / float64(lent); ratio > 0.02 {
			t.Errorf("spot checks fetched %d bytes for %d lent: %.2f %%, want at most 2 %%", extra, lent, 100*ratio)
		}
		t.Logf("spot checks: %d bytes for %d lent (%.2f %%)", extra, lent, 100*float64(extra)/float64(lent))
	})
}

// TestSpotChecksLeaveNoTail: spot checks fetch their slices from the
// origin when a lender's request starts, so they are ready when it ends:
// with sixteen machines on links of one rate, the transfer returns at
// once after the last byte is durable rather than waiting for checks
// queued on this node's link after the last request (about 0.5 s here
// when checks were made once requests ended, 9 % of the download). The
// checks still cost their bytes, 1/64 of the lent ones: the time against
// no checks is logged (1.01 to 1.05 × in virtual time, the spread coming
// from the order goroutines run in).
func TestSpotChecksLeaveNoTail(t *testing.T) {
	took := map[bool]time.Duration{}
	for _, on := range []bool{false, true} {
		synctest.Test(t, func(t *testing.T) {
			const size, rate = 128 * mib, 1250 * kib
			srcs := []Source{onLink(SelfID, &uplink{rate: rate})}
			for i := range 15 {
				srcs = append(srcs, onLink(string(rune('a'+i)), &uplink{rate: rate}))
			}
			var c Checks
			if on {
				c = DefaultChecks()
				c.Rand = rand.New(rand.NewPCG(1, 2))
			}
			start := time.Now()
			f, rec, d, err := run(t, size, Config{Checks: c}, srcs...)
			if err != nil || len(rec.banned) > 0 {
				t.Fatalf("%v, banned %v", err, rec.banned)
			}
			if err := f.check(0); err != nil {
				t.Fatal(err)
			}
			took[on] = d
			if tail := start.Add(d).Sub(rec.lastDurable); on && tail > 100*time.Millisecond {
				t.Errorf("the transfer returned %v after the last byte was durable; want spot checks done by then", tail)
			}
		})
	}
	t.Logf("with checks %v, without %v", took[true], took[false])
}

// TestSpotCheckDetection measures, over 50 transfers with different draws,
// how often a lender is caught: one that alters whole requests (one in
// ten) must be caught every time; one that flips a single byte in one
// request in ten is caught only when a check's slice covers that byte, and
// the rate is logged for docs/protocol.md. A lender that is not caught
// leaves a wrong file: that is why links should carry a SHA-256.
func TestSpotCheckDetection(t *testing.T) {
	const runs = 50
	for _, tc := range []struct {
		name    string
		behave  func(int, Request) act
		atLeast int
	}{
		{"one request in ten altered", every(10, act{version: 1}), runs},
		{"one byte in one request in ten", func(n int, r Request) act {
			if n%10 == 0 {
				return act{flip: r.Range.Len()/3 + 1}
			}
			return act{}
		}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			caught, right, altered := 0, 0, 0
			for i := range runs {
				synctest.Test(t, func(t *testing.T) {
					// Small requests, so the liar makes dozens of them.
					const size = 8 * mib
					me := self(4*mib, nil)
					liar := lender("liar", 4*mib, tc.behave)
					cfg := Config{
						Checks: Checks{Rate: 1, Rand: rand.New(rand.NewPCG(uint64(i), 7))},
						Sched:  sched.Config{MinChunk: 128 * kib, MaxChunk: 128 * kib, MinSplit: 32 * kib},
					}
					f, rec, _, err := run(t, size, cfg, me, liar)
					if err != nil {
						t.Fatal(err)
					}
					if liar.altered.Load() == 0 {
						return // it never got to alter a request
					}
					altered++
					if len(rec.banned) > 0 {
						caught++
						if err := f.check(0); err != nil {
							t.Errorf("run %d: caught, but the file is wrong: %v", i, err)
						}
					}
					if f.check(0) == nil {
						right++
					}
				})
			}
			t.Logf("%s: caught in %d of %d runs where it altered bytes; file right in %d", tc.name, caught, altered, right)
			if altered < runs/2 {
				t.Fatalf("the liar altered bytes in only %d of %d runs: the test does not measure much", altered, runs)
			}
			if caught < tc.atLeast*altered/runs {
				t.Errorf("caught in %d of %d runs, want at least %d", caught, altered, tc.atLeast*altered/runs)
			}
		})
	}
}

// TestAudit: Audit finds exactly the bytes that differ from the origin's,
// rewrites them, and leaves the rest alone.
func TestAudit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const size = 5*mib + 123
		f := newMemFile(size)
		for i := range int64(size) {
			f.data[i] = content(0, i)
		}
		bad := []span.Range{{Off: 10, End: 20}, {Off: 3*mib - 1, End: 3*mib + 1}, {Off: size - 1, End: size}}
		for _, r := range bad {
			for i := r.Off; i < r.End; i++ {
				f.data[i] ^= 0xff
			}
		}
		differ, err := Audit(context.Background(), self(8*mib, nil), testPin(size), f, []span.Range{{Off: 0, End: size}})
		if err != nil {
			t.Fatal(err)
		}
		if err := f.check(0); err != nil && !strings.Contains(err.Error(), "durable") {
			t.Fatalf("after the audit: %v", err)
		}
		var want, got span.Set
		for _, r := range bad {
			want.Add(r)
		}
		for _, r := range differ {
			got.Add(r)
		}
		if !got.Equal(&want) {
			t.Errorf("Audit reported %v as different, want %v", got.String(), want.String())
		}
	})
}

// TestSpotCheckOnTrickle: this node's own requests trickle or stall one
// time in two, spot checks included; the checks give up in bounded time
// and the transfer ends, right, without waiting on them.
func TestSpotCheckOnTrickle(t *testing.T) {
	for _, bad := range []act{{trickle: true, first: 4 * kib}, {silent: true, first: 4 * kib}} {
		synctest.Test(t, func(t *testing.T) {
			const size = 32 * mib
			me := self(8*mib, every(2, bad))
			honest := lender("honest", 8*mib, nil)
			f, rec, took, err := run(t, size, Config{Checks: DefaultChecks(), GiveUp: 20 * time.Second}, me, honest)
			if err != nil {
				t.Fatalf("trickle %v silent %v: %v", bad.trickle, bad.silent, err)
			}
			if err := f.check(0); err != nil {
				t.Fatal(err)
			}
			if len(rec.banned) > 0 {
				t.Errorf("an honest lender was banned over checks that could not be made: %v", rec.banned)
			}
			if took > 30*time.Second {
				t.Errorf("took %v", took)
			}
		})
	}
}
