package transfer

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
)

// TestLimitSeesEveryByte: Config.Limit wraps the sink of every fetch of
// every source, the spot checks of a lender's bytes included, so a
// download speed limit built on it holds for all bytes a download
// receives.
func TestLimitSeesEveryByte(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const size = 16 * mib
		var passed, wraps atomic.Int64
		limit := func(_ context.Context, sink func([]byte) error) func([]byte) error {
			wraps.Add(1)
			return func(b []byte) error {
				if err := sink(b); err != nil {
					return err
				}
				passed.Add(int64(len(b)))
				return nil
			}
		}
		// A request of this node's of at most MaxCheck bytes is a spot
		// check: assignments are at least MinSplit.
		var checks atomic.Int64
		a := self(4*mib, func(_ int, req Request) act {
			if req.Range.Len() <= MaxCheck {
				checks.Add(1)
			}
			return act{}
		})
		b := lender("peer-b", 4*mib, nil)
		f, _, _, err := run(t, size, Config{Limit: limit, Checks: Checks{Rate: 1}}, a, b)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.check(0); err != nil {
			t.Fatal(err)
		}
		sent := a.bytes.Load() + b.bytes.Load()
		if b.bytes.Load() == 0 {
			t.Fatal("the lender sent nothing: the test proves nothing about lenders")
		}
		if checks.Load() == 0 {
			t.Fatal("no spot check ran: the test proves nothing about them")
		}
		if got := passed.Load(); got != sent {
			t.Errorf("%d bytes passed the limit, the sources sent %d", got, sent)
		}
		if wraps.Load() != a.requests.Load()+b.requests.Load() {
			t.Errorf("the limit wrapped %d sinks for %d fetches", wraps.Load(), a.requests.Load()+b.requests.Load())
		}
	})
}
