package netbed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Goodput downloads url with client and returns the rate at which body
// bytes arrived, in bits per second, over the window that starts warmup
// after the first byte (skipping TCP slow start and the origin's latency).
// It stops reading once the window is over, so the file may be larger
// than the window needs; a body that ends first cuts the window short.
func Goodput(ctx context.Context, client *http.Client, url string, warmup, window time.Duration) (float64, error) {
	ctx, cancel := context.WithTimeout(ctx, warmup+window+time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, fmt.Errorf("cannot measure goodput from %s: %w", url, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("cannot measure goodput from %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("cannot measure goodput from %s: status %s", url, resp.Status)
	}
	buf := make([]byte, 64<<10)
	var (
		total      int64
		start      time.Time
		winStart   time.Time
		winStartN  int64
		last       time.Time
		haveWindow bool
	)
	for {
		n, err := resp.Body.Read(buf)
		now := time.Now()
		if n > 0 {
			if start.IsZero() {
				start = now
			}
			total += int64(n)
			last = now
			if !haveWindow && now.Sub(start) >= warmup {
				winStart, winStartN, haveWindow = now, total, true
			}
			if haveWindow && now.Sub(winStart) >= window {
				break
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, fmt.Errorf("cannot measure goodput from %s: %w", url, err)
		}
	}
	if !haveWindow || last.Sub(winStart) < window/2 {
		return 0, fmt.Errorf("cannot measure goodput from %s: %d bytes were too few for a %v window after %v", url, total, window, warmup)
	}
	return float64(total-winStartN) * 8 / last.Sub(winStart).Seconds(), nil
}
