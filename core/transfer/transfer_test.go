package transfer

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/dragonload/dragonload/core/origin"
	"github.com/dragonload/dragonload/core/sched"
	"github.com/dragonload/dragonload/core/span"
)

func self(rate int64, behave func(int, Request) act) *fakeSource {
	return &fakeSource{id: SelfID, name: "this machine", rate: rate, behave: behave}
}

func lender(id string, rate int64, behave func(int, Request) act) *fakeSource {
	return &fakeSource{id: id, name: id, rate: rate, behave: behave}
}

// TestCompletes: two healthy sources fill the file with the right bytes,
// each byte reported durable once, shared by rate.
func TestCompletes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const size = 64 * mib
		a, b := self(4*mib, nil), lender("peer-b", 4*mib, nil)
		f, rec, took, err := run(t, size, Config{}, a, b)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.check(0); err != nil {
			t.Fatal(err)
		}
		if rec.ranges.Size() != size {
			t.Fatalf("%d bytes reported durable, want %d", rec.ranges.Size(), size)
		}
		ideal := time.Duration(size / (8 * mib) * int64(time.Second))
		if took > ideal*11/10+2*time.Second {
			t.Errorf("took %s, ideal %s", took, ideal)
		}
		if rec.durable["peer-b"] < size/3 || rec.durable[SelfID] < size/3 {
			t.Errorf("shares %v: want about half each", rec.durable)
		}
	})
}

// TestFirstToSelf: Config.First goes to this node's own source, whatever
// the scheduler would have chosen (here a lender whose id sorts before
// SelfID would take the file's start), so that the probe's answer, which
// carries those bytes, is used rather than thrown away.
func TestFirstToSelf(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var fromZero atomic.Int64 // requests for bytes from 0, by this node (1) or a lender (100)
		starts := func(weight int64) func(int, Request) act {
			return func(_ int, req Request) act {
				if req.Range.Off == 0 {
					fromZero.Add(weight)
				}
				return act{}
			}
		}
		me := self(4*mib, starts(1))
		_, _, _, err := run(t, 16*mib, Config{First: span.Range{Off: 0, End: mib}}, me, lender("aaa", 4*mib, starts(100)), lender("peer-b", 4*mib, starts(100)))
		if err != nil {
			t.Fatal(err)
		}
		if got := fromZero.Load(); got != 1 {
			t.Fatalf("requests for bytes from 0: %d by this node and %d by lenders; want this node's alone", got%100, got/100)
		}
	})
}

// TestResumesFromDone: bytes already durable are not fetched again.
func TestResumesFromDone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const size = 16 * mib
		f := newMemFile(size)
		for i := range int64(size / 2) {
			f.data[i] = content(0, i)
		}
		f.durable.Add(span.Range{Off: 0, End: size / 2})
		src := self(8*mib, nil)
		_, _, _, err := run(t, size, Config{File: f, Done: []span.Range{{Off: 0, End: size / 2}}}, src)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.check(0); err != nil {
			t.Fatal(err)
		}
		if got := src.bytes.Load(); got != size/2 {
			t.Errorf("fetched %d bytes, want %d", got, size/2)
		}
	})
}

// TestTrickle: 1 request in 3 sends 4 KiB and then 1 byte per second. The
// progress rule takes the rest away within seconds, alone and with a
// lender, and the file completes.
func TestTrickle(t *testing.T) {
	for _, tc := range []struct {
		name    string
		lenders int
	}{{"alone", 0}, {"with a lender", 1}} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const size, rate = 32 * mib, 2 * mib
				trickle := every(3, act{trickle: true, first: 4 * kib})
				srcs := []Source{self(rate, trickle)}
				for i := range tc.lenders {
					srcs = append(srcs, lender("peer-"+string(rune('a'+i)), rate, trickle))
				}
				f, _, took, err := run(t, size, Config{}, srcs...)
				if err != nil {
					t.Fatal(err)
				}
				if err := f.check(0); err != nil {
					t.Fatal(err)
				}
				ideal := time.Duration(size / (rate * int64(len(srcs))) * int64(time.Second))
				if took > 2*ideal+30*time.Second {
					t.Errorf("took %s; without trickles it takes %s", took, ideal)
				}
				t.Logf("took %s (ideal %s)", took, ideal)
			})
		})
	}
}

// TestNeverAnswers: a server that accepts every request and never sends a
// byte. The transfer fails after GiveUp with a sentence saying so.
func TestNeverAnswers(t *testing.T) {
	for _, lenders := range []int{0, 1} {
		synctest.Test(t, func(t *testing.T) {
			silent := func(int, Request) act { return act{silent: true} }
			srcs := []Source{self(mib, silent)}
			if lenders > 0 {
				srcs = append(srcs, lender("peer-a", mib, silent))
			}
			_, _, took, err := run(t, 8*mib, Config{}, srcs...)
			var stuck *StuckError
			if !errors.As(err, &stuck) {
				t.Fatalf("err = %v, want a StuckError", err)
			}
			if !strings.Contains(err.Error(), "never answered") {
				t.Errorf("error %q does not say the source never answered", err)
			}
			if took < DefaultGiveUp || took > DefaultGiveUp+15*time.Second {
				t.Errorf("gave up after %s, want about %s", took, DefaultGiveUp)
			}
		})
	}
}

// TestRetryAfter: a short wait is honoured and reported; one beyond
// MaxWait fails at once with the date.
func TestRetryAfter(t *testing.T) {
	t.Run("far", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			until := time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
			busy := func(int, Request) act {
				return act{fail: &Failure{Kind: Transient, RetryAt: until, Err: errors.New("503 Service Unavailable")}}
			}
			_, _, took, err := run(t, 8*mib, Config{}, self(mib, busy))
			var we *WaitError
			if !errors.As(err, &we) || !strings.Contains(err.Error(), "2100-01-01") {
				t.Fatalf("err = %v, want a WaitError naming 2100-01-01", err)
			}
			if took > time.Second {
				t.Errorf("took %s to refuse", took)
			}
		})
	})
	t.Run("near", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			start := time.Now()
			until := start.Add(3 * time.Minute)
			busy := func(n int, _ Request) act {
				if time.Now().Before(until) {
					return act{fail: &Failure{Kind: Transient, RetryAt: until, Err: errors.New("503 Service Unavailable")}}
				}
				return act{}
			}
			f, rec, took, err := run(t, 8*mib, Config{}, self(8*mib, busy))
			if err != nil {
				t.Fatal(err)
			}
			if err := f.check(0); err != nil {
				t.Fatal(err)
			}
			if took < 3*time.Minute || took > 3*time.Minute+10*time.Second {
				t.Errorf("took %s, want just over the 3 minutes asked for", took)
			}
			if len(rec.waits) < 2 || !rec.waits[0].Equal(until) || !rec.waits[len(rec.waits)-1].IsZero() {
				t.Errorf("waiting reports %v, want %v then zero", rec.waits, until)
			}
		})
	})
}

// changingProbe returns a probe that answers with the identities in turn,
// the last one forever.
func changingProbe(ids ...origin.Identity) func(context.Context) (Pin, error) {
	var n atomic.Int64
	return func(context.Context) (Pin, error) {
		i := min(int(n.Add(1))-1, len(ids)-1)
		return Pin{URL: "http://origin.test/file.bin", Identity: ids[i]}, nil
	}
}

// TestValidators: a real change ends the transfer with a ChangedError and
// no byte of the second version is written; an inconsistent validator is
// dropped with a notice and the file completes.
func TestValidators(t *testing.T) {
	const size = 16 * mib
	weak1 := origin.Identity{Size: size, WeakETag: `W/"1"`}
	weak2 := origin.Identity{Size: size, WeakETag: `W/"2"`}
	strongA := origin.Identity{Size: size, ETag: `"a"`}
	strongB := origin.Identity{Size: size, ETag: `"b"`}
	mismatch := &Failure{Kind: Changed, Field: origin.FieldETag, Err: errors.New("answered with another ETag")}
	missing := &Failure{Kind: Changed, Field: origin.FieldETag, Err: errors.New("answered with no ETag")}
	cases := []struct {
		name      string
		pin       origin.Identity
		behave    func(int, Request) act
		probe     func(context.Context) (Pin, error)
		changed   bool
		notice    bool
		wantPinET string
	}{
		{
			name: "weak ETag changes",
			pin:  weak1,
			behave: func(n int, _ Request) act {
				if n >= 2 {
					return act{fail: mismatch}
				}
				return act{}
			},
			probe:   changingProbe(weak2),
			changed: true,
		},
		{
			name:      "strong ETags alternate for the same bytes",
			pin:       strongA,
			behave:    every(2, act{fail: mismatch}),
			probe:     changingProbe(strongB, strongA),
			notice:    true,
			wantPinET: "",
		},
		{
			name:      "ETag missing from 1 response in 3",
			pin:       strongA,
			behave:    every(3, act{fail: missing}),
			probe:     changingProbe(origin.Identity{Size: size}, strongA),
			notice:    true,
			wantPinET: "",
		},
		{
			name:    "size changes",
			pin:     strongA,
			behave:  every(2, act{fail: &Failure{Kind: Changed, Field: origin.FieldSize, Err: errors.New("total 5")}}),
			probe:   changingProbe(origin.Identity{Size: size + 1, ETag: `"a"`}),
			changed: true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				src := self(4*mib, tc.behave)
				f := newMemFile(size)
				rec := newRecorder()
				tr := New(Config{Pin: Pin{URL: "http://origin.test/f", Identity: tc.pin}, File: f, Reporter: rec, Probe: tc.probe})
				tr.AddSource(src)
				err := tr.Run(context.Background())
				var ce *ChangedError
				if tc.changed {
					if !errors.As(err, &ce) {
						t.Fatalf("err = %v, want a ChangedError", err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if err := f.check(0); err != nil {
					t.Fatal(err)
				}
				if tc.notice != (len(rec.notices) > 0) {
					t.Errorf("notices %q", rec.notices)
				}
				if got := tr.Pin().Identity.ETag; got != tc.wantPinET {
					t.Errorf("pinned ETag %q after the download, want %q", got, tc.wantPinET)
				}
			})
		})
	}
}

// TestFailureAccounting: a server that mislabels every range fails the
// download the same way alone and with a lender, within the give-up bound.
func TestFailureAccounting(t *testing.T) {
	for _, lenders := range []int{0, 1, 3} {
		synctest.Test(t, func(t *testing.T) {
			wrong := func(int, Request) act { return act{fail: errWrongRange} }
			srcs := []Source{self(mib, wrong)}
			for i := range lenders {
				srcs = append(srcs, lender("peer-"+string(rune('a'+i)), mib, wrong))
			}
			_, _, took, err := run(t, 8*mib, Config{}, srcs...)
			if err == nil || !errors.Is(err, errWrongRange) {
				t.Fatalf("lenders=%d: err = %v, want the origin's error", lenders, err)
			}
			if took > DefaultGiveUp+10*time.Second {
				t.Errorf("lenders=%d: ended after %s", lenders, took)
			}
			t.Logf("lenders=%d: %s: %v", lenders, took, err)
		})
	}
}

// TestSourceVanishes: a lender removed mid-download loses nothing; its
// ranges go back to the pool uncharged.
func TestSourceVanishes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const size = 32 * mib
		f := newMemFile(size)
		rec := newRecorder()
		tr := New(Config{Pin: testPin(size), File: f, Reporter: rec})
		a, b := self(2*mib, nil), lender("peer-b", 2*mib, nil)
		tr.AddSource(a)
		tr.AddSource(b)
		go func() {
			time.Sleep(3 * time.Second)
			tr.RemoveSource("peer-b", "lost")
			time.Sleep(2 * time.Second)
			tr.AddSource(b) // it comes back
		}()
		if err := tr.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := f.check(0); err != nil {
			t.Fatal(err)
		}
	})
}

// TestFatalAndRefused: this node's own 404 ends the transfer at once; a
// lender's is its own problem; a refusing lender leaves uncharged.
func TestFatalAndRefused(t *testing.T) {
	notFound := &Failure{Kind: Fatal, Err: errors.New("http://origin.test/file.bin answered 404 Not Found")}
	synctest.Test(t, func(t *testing.T) {
		_, _, took, err := run(t, 8*mib, Config{}, self(mib, func(int, Request) act { return act{fail: notFound} }), lender("peer-a", mib, nil))
		if !errors.Is(err, notFound.Err) || took > time.Second {
			t.Fatalf("err = %v after %s, want the 404 at once", err, took)
		}
	})
	for _, f := range []*Failure{notFound, {Kind: Refused, Err: errors.New("peer refused fetch: not lending")}} {
		synctest.Test(t, func(t *testing.T) {
			bad := lender("peer-a", 4*mib, func(int, Request) act { return act{fail: f} })
			file, _, _, err := run(t, 8*mib, Config{}, self(mib, nil), bad)
			if err != nil {
				t.Fatalf("%v: %v", f.Kind, err)
			}
			if err := file.check(0); err != nil {
				t.Fatal(err)
			}
			// Its first two requests go out together; none after they fail.
			if n := bad.requests.Load(); n > sched.DefaultInFlight {
				t.Errorf("%v: the lender was asked %d times, want at most %d", f.Kind, n, sched.DefaultInFlight)
			}
		})
	}
}

// TestExpiredLink: the redirect target stops working; the transfer asks
// the origin for a fresh link and goes on with it.
func TestExpiredLink(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const size = 16 * mib
		expire := func(n int, req Request) act {
			if req.Pin.URL == "http://cdn.test/old" && n > 2 {
				return act{fail: &Failure{Kind: Expired, Err: errors.New("403 Forbidden")}}
			}
			return act{}
		}
		src := self(4*mib, expire)
		pin := Pin{URL: "http://cdn.test/old", Identity: origin.Identity{Size: size, ETag: `"a"`}}
		probe := func(context.Context) (Pin, error) {
			return Pin{URL: "http://cdn.test/new", Identity: origin.Identity{Size: size, ETag: `"a"`}}, nil
		}
		f := newMemFile(size)
		tr := New(Config{Pin: pin, File: f, Reporter: newRecorder(), Probe: probe})
		tr.AddSource(src)
		if err := tr.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := f.check(0); err != nil {
			t.Fatal(err)
		}
		urls := src.seenURLs()
		if urls[len(urls)-1] != "http://cdn.test/new" {
			t.Errorf("last request went to %s", urls[len(urls)-1])
		}
	})
}

// TestCommitCadence: the journal is committed by bytes as well as by time,
// so at most about CommitBytes plus what is in flight is ever unjournaled.
func TestCommitCadence(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const size = 128 * mib
		f, _, _, err := run(t, size, Config{CommitEvery: time.Hour}, self(32*mib, nil), lender("peer-a", 32*mib, nil))
		if err != nil {
			t.Fatal(err)
		}
		// Each of two sources may land one more 3.2 MiB slice while the
		// commit that the 4 MiB mark started is being written.
		if limit := int64(DefaultCommitBytes + 2*64*kib*2); f.maxDirty > limit {
			t.Errorf("up to %d bytes were written but not durable, want at most %d", f.maxDirty, limit)
		}
		if f.commits < size/DefaultCommitBytes/2 {
			t.Errorf("%d commits for %d MiB", f.commits, size/mib)
		}
	})
}

// TestFirstBytesAtOnce: the first bytes written are committed and shown
// at once, not at the 4 MiB mark or the next progress tick.
func TestFirstBytesAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f, rec, _, err := run(t, 8*mib, Config{CommitEvery: time.Hour}, self(mib, nil))
		if err != nil {
			t.Fatal(err)
		}
		if d := rec.firstDurable.Sub(f.wroteAt); d != 0 {
			t.Errorf("the first bytes became durable %v after they were written", d)
		}
		if d := rec.firstShown.Sub(f.wroteAt); d != 0 {
			t.Errorf("the first bytes were shown %v after they were written", d)
		}
	})
}

// TestWritesLeaveTheLock: a write that blocks (a slow disk) holds up only
// its own request; other sources keep landing bytes.
func TestWritesLeaveTheLock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const size = 32 * mib
		f := newMemFile(size)
		f.block, f.blockAt = make(chan struct{}), 0
		rec := newRecorder()
		tr := New(Config{Pin: testPin(size), File: f, Reporter: rec})
		tr.AddSource(self(4*mib, nil))
		tr.AddSource(lender("peer-a", 4*mib, nil))
		done := make(chan error, 1)
		go func() { done <- tr.Run(context.Background()) }()
		time.Sleep(3 * time.Second)
		f.mu.Lock()
		written := f.written
		f.mu.Unlock()
		close(f.block)
		if written < 4*mib {
			t.Errorf("only %d bytes written while one write was blocked", written)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if err := f.check(0); err != nil {
			t.Fatal(err)
		}
	})
}

// TestFolderGone: a commit that fails (the folder was replaced) ends the
// transfer at once with that error.
func TestFolderGone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gone := errors.New("the folder /x was deleted or replaced during the download")
		f := newMemFile(32 * mib)
		f.failWith = gone
		_, _, took, err := run(t, 32*mib, Config{File: f}, self(4*mib, nil))
		var we *WriteError
		if !errors.As(err, &we) || !errors.Is(err, gone) {
			t.Fatalf("err = %v, want the commit's error", err)
		}
		if took > 2*time.Second {
			t.Errorf("stopped after %s, want within one commit", took)
		}
	})
}

// TestCancel: cancelling keeps what was written: it is committed before Run
// returns the cause.
func TestCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const size = 64 * mib
		f := newMemFile(size)
		rec := newRecorder()
		tr := New(Config{Pin: testPin(size), File: f, Reporter: rec, CommitEvery: time.Hour})
		tr.AddSource(self(4*mib, nil))
		cause := errors.New("paused")
		ctx, cancel := context.WithCancelCause(context.Background())
		time.AfterFunc(2500*time.Millisecond, func() { cancel(cause) })
		if err := tr.Run(ctx); !errors.Is(err, cause) {
			t.Fatalf("err = %v, want the cause", err)
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.durable.Size() != f.written || f.written < 8*mib {
			t.Errorf("%d written, %d durable", f.written, f.durable.Size())
		}
	})
}

// TestFailedFetchKeepsPrefix: the bytes a fetch delivered before it failed
// are kept (and journaled); only the rest is fetched again.
func TestFailedFetchKeepsPrefix(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const size = 4 * mib
		cut := errors.New("stream reset by peer")
		src := lender("peer-a", 4*mib, func(n int, _ Request) act {
			if n == 1 {
				return act{fail: cut, first: 300 * kib}
			}
			return act{}
		})
		f, rec, _, err := run(t, size, Config{Sched: sched.Config{MinChunk: size, MaxChunk: size}}, src)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.check(0); err != nil {
			t.Fatal(err)
		}
		if got := src.bytes.Load(); got != size {
			t.Errorf("the lender sent %d bytes, want %d: the failed fetch's prefix was fetched again", got, size)
		}
		if rec.durable["peer-a"] != size {
			t.Errorf("durable by source: %v", rec.durable)
		}
	})
}

// TestLenderAskedToWaitTooLong: a lender whose origin route asks for a
// wait beyond MaxWait leaves the download; this node finishes it.
func TestLenderAskedToWaitTooLong(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		until := time.Now().Add(time.Hour)
		busy := lender("peer-a", 4*mib, func(int, Request) act {
			return act{fail: &Failure{Kind: Transient, RetryAt: until, Err: errors.New("peer refused fetch: busy")}}
		})
		f, _, _, err := run(t, 8*mib, Config{}, self(2*mib, nil), busy)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.check(0); err != nil {
			t.Fatal(err)
		}
		if n := busy.requests.Load(); n > sched.DefaultInFlight {
			t.Errorf("the lender was asked %d times after asking to wait an hour", n)
		}
	})
}
