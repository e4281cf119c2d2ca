package core

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// pushThrough hands size bytes to r's wrapped sink from workers goroutines
// at once, 64 KiB at a time as a source does, and returns how long that
// took and how many bytes reached the sink.
func pushThrough(t *testing.T, r *downloadRate, size int64, workers int) (time.Duration, int64) {
	t.Helper()
	var mu sync.Mutex
	var got int64
	sink := r.wrap(t.Context(), func(b []byte) error {
		mu.Lock()
		got += int64(len(b))
		mu.Unlock()
		return nil
	})
	buf := make([]byte, 64<<10)
	begin := time.Now()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for left := size / int64(workers); left > 0; {
				n := min(left, int64(len(buf)))
				if err := sink(buf[:n]); err != nil {
					t.Error(err)
					return
				}
				left -= n
			}
		})
	}
	wg.Wait()
	return time.Since(begin), got
}

// TestDownloadRateHoldsTheLimit: 4 MB pushed by four sources together
// through a 2 MB/s limit take 2 s less the burst, in virtual time; with
// no limit they take none. Every byte reaches the sink.
func TestDownloadRateHoldsTheLimit(t *testing.T) {
	const size = 4_000_000
	synctest.Test(t, func(t *testing.T) {
		took, got := pushThrough(t, newDownloadRate(2_000_000), size, 4)
		if got != size {
			t.Fatalf("%d bytes reached the sink, want %d", got, size)
		}
		want := time.Duration(float64(size-rateBurst) / 2e6 * float64(time.Second))
		if took < want-50*time.Millisecond || took > want+50*time.Millisecond {
			t.Errorf("4 MB at 2 MB/s took %s, want about %s", took, want)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		took, got := pushThrough(t, newDownloadRate(0), size, 4)
		if got != size || took != 0 {
			t.Errorf("without a limit: %d bytes in %s, want %d at once", got, took, size)
		}
	})
}

// TestDownloadRateChangesLive: set changes the limit for the bytes that
// follow, as SetLimits does while a download runs; 0 lifts it.
func TestDownloadRateChangesLive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newDownloadRate(0)
		if took, _ := pushThrough(t, r, 2_000_000, 2); took != 0 {
			t.Fatalf("unlimited took %s", took)
		}
		r.set(1_000_000)
		took, _ := pushThrough(t, r, 2_000_000, 2)
		if took < 1800*time.Millisecond || took > 2100*time.Millisecond {
			t.Errorf("2 MB after set(1 MB/s) took %s, want about 2 s", took)
		}
		r.set(4_000_000)
		took, _ = pushThrough(t, r, 2_000_000, 2)
		if took < 400*time.Millisecond || took > 600*time.Millisecond {
			t.Errorf("2 MB after set(4 MB/s) took %s, want about 0.5 s", took)
		}
		r.set(0)
		if took, _ := pushThrough(t, r, 2_000_000, 2); took != 0 {
			t.Errorf("after set(0) 2 MB took %s, want no wait", took)
		}
	})
}

// TestDownloadRateFloor: a limit below MinDownloadRate is raised to it,
// so no request is starved into looking stalled.
func TestDownloadRateFloor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		took, _ := pushThrough(t, newDownloadRate(1000), 1_000_000, 1)
		want := time.Duration(float64(1_000_000-rateBurst) / MinDownloadRate * float64(time.Second))
		if took < want-100*time.Millisecond || took > want+100*time.Millisecond {
			t.Errorf("1 MB at a limit of 1 kB/s took %s, want the floor's %s", took, want)
		}
	})
	var l Limits
	mergeLimits(&l, Limits{DownloadRate: 5})
	if l.DownloadRate != MinDownloadRate {
		t.Errorf("SetLimits with DownloadRate 5 keeps %d, want %d", l.DownloadRate, MinDownloadRate)
	}
	mergeLimits(&l, Limits{DownloadRate: NoRateCap})
	if l.DownloadRate != 0 {
		t.Errorf("NoRateCap leaves %d", l.DownloadRate)
	}
}

// TestDownloadRateCancel: a sink waiting for the bucket gives up with the
// context's cause when the download stops.
func TestDownloadRateCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newDownloadRate(MinDownloadRate)
		stopped := errors.New("paused")
		ctx, cancel := context.WithCancelCause(t.Context())
		sink := r.wrap(ctx, func([]byte) error { return nil })
		done := make(chan error)
		go func() {
			buf := make([]byte, 64<<10)
			for {
				if err := sink(buf); err != nil {
					done <- err
					return
				}
			}
		}()
		time.Sleep(2 * time.Second)
		cancel(stopped)
		if err := <-done; !errors.Is(err, stopped) {
			t.Errorf("sink returned %v, want the cause %v", err, stopped)
		}
	})
}
