package origin

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"sync"
	"testing"
	"time"

	testorigin "github.com/dragonload/dragonload/test/origin"
)

// watchedOrigin serves a test origin through an httptest server that
// records every request (its Range, or "HEAD") and counts connections.
type watchedOrigin struct {
	url string // the file's URL

	mu       sync.Mutex
	requests []string
	opened   int // connections accepted
	closed   int // connections closed
}

func startWatchedOrigin(t *testing.T, cfg testorigin.Config) *watchedOrigin {
	t.Helper()
	o := &watchedOrigin{}
	s := testorigin.New(cfg)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		if r.Method == http.MethodHead {
			o.requests = append(o.requests, "HEAD")
		} else {
			o.requests = append(o.requests, r.Header.Get("Range"))
		}
		o.mu.Unlock()
		s.ServeHTTP(w, r)
	}))
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		o.mu.Lock()
		defer o.mu.Unlock()
		switch st {
		case http.StateNew:
			o.opened++
		case http.StateClosed, http.StateHijacked:
			o.closed++
		}
	}
	srv.Start()
	t.Cleanup(func() { srv.Close(); s.Close() })
	name := cfg.Name
	if name == "" {
		name = "file.bin"
	}
	o.url = srv.URL + "/" + url.PathEscape(name)
	return o
}

func (o *watchedOrigin) seen() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.requests...)
}

func (o *watchedOrigin) conns() (opened, closed int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.opened, o.closed
}

// hasher is a sink that hashes what it is given.
type hasher struct {
	sum      func() string
	write    func([]byte) error
	n        int64
	maxSlice int
}

func newHasher() *hasher {
	h := sha256.New()
	x := &hasher{sum: func() string { return hex.EncodeToString(h.Sum(nil)) }}
	x.write = func(b []byte) error {
		h.Write(b)
		x.n += int64(len(b))
		x.maxSlice = max(x.maxSlice, len(b))
		return nil
	}
	return x
}

// TestOpen checks what one ranged GET learns and keeps, on well-behaved
// origins and on those that ignore or mislabel ranges.
func TestOpen(t *testing.T) {
	const mib = 1 << 20
	cases := []struct {
		name     string
		cfg      testorigin.Config
		n        int64
		first    int64 // First.Len(); 0 = no First
		ranges   bool
		size     int64
		requests []string
		path     string // "" = /file.bin
		typ      string // "" = application/octet-stream; "-" = none
	}{
		{name: "first MiB", cfg: testorigin.Config{Size: 3 * mib}, n: mib, first: mib, ranges: true, size: 3 * mib, requests: []string{"bytes=0-1048575"}},
		{name: "file smaller than n", cfg: testorigin.Config{Size: 5000}, n: mib, first: 5000, ranges: true, size: 5000, requests: []string{"bytes=0-1048575"}},
		{name: "file of exactly n", cfg: testorigin.Config{Size: 4096}, n: 4096, first: 4096, ranges: true, size: 4096, requests: []string{"bytes=0-4095"}},
		{name: "one-byte file", cfg: testorigin.Config{Size: 1}, n: mib, first: 1, ranges: true, size: 1, requests: []string{"bytes=0-1048575"}},
		{name: "n = 1", cfg: testorigin.Config{Size: 5000}, n: 1, first: 1, ranges: true, size: 5000, requests: []string{"bytes=0-0"}},
		{name: "HEAD refused", cfg: testorigin.Config{Size: 5000, Quirks: testorigin.Quirks{HeadNotAllowed: true}}, n: 1000, first: 1000, ranges: true, size: 5000, requests: []string{"bytes=0-999"}},
		{name: "no ranges", cfg: testorigin.Config{Size: 5000, Quirks: testorigin.Quirks{NoRange: true}}, n: mib, size: 5000, requests: []string{"bytes=0-1048575"}},
		// busybox httpd and s3rver mislabel "bytes=0-0" only.
		{name: "whole file for bytes=0-0, n = 2", cfg: testorigin.Config{Size: 5000, Quirks: testorigin.Quirks{WholeForZeroZero: true}}, n: 2, first: 2, ranges: true, size: 5000, requests: []string{"bytes=0-1"}},
		{name: "whole file for bytes=0-0, n = 1 MiB", cfg: testorigin.Config{Size: 5000, Quirks: testorigin.Quirks{WholeForZeroZero: true}}, n: mib, first: 5000, ranges: true, size: 5000, requests: []string{"bytes=0-1048575"}},
		{name: "whole file for bytes=0-0, n = 1", cfg: testorigin.Config{Size: 5000, Quirks: testorigin.Quirks{WholeForZeroZero: true}}, n: 1, ranges: true, size: 5000, requests: []string{"bytes=0-0", "bytes=1-1"}},
		{name: "wrong Content-Range", cfg: testorigin.Config{Size: 5000, Quirks: testorigin.Quirks{WrongContentRange: true}}, n: mib, size: -1, requests: []string{"bytes=0-1048575", "bytes=1-1"}},
		{name: "empty file", cfg: testorigin.Config{Size: 0}, n: mib, size: 0, requests: []string{"bytes=0-1048575"}, typ: "-"},
		{name: "redirects", cfg: testorigin.Config{Size: 5000, Quirks: testorigin.Quirks{Redirects: 2}}, n: 100, first: 100, ranges: true, size: 5000, requests: []string{"bytes=0-99", "bytes=0-99", "bytes=0-99"}, path: "/r/2/file.bin"},
	}
	c := loopbackClient(t)
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Seed = int64(i)
			o := startWatchedOrigin(t, tc.cfg)
			info, first, err := c.Open(t.Context(), o.url, nil, tc.n)
			if err != nil {
				t.Fatal(err)
			}
			if first != nil {
				defer first.Close()
			}
			if info.Ranges != tc.ranges || info.Identity.Size != tc.size || info.Identity.ETag == "" {
				t.Errorf("ranges %v, %+v; want ranges %v, size %d, an ETag", info.Ranges, info.Identity, tc.ranges, tc.size)
			}
			wantPath, wantType := cmp.Or(tc.path, "/file.bin"), cmp.Or(tc.typ, "application/octet-stream")
			if wantType == "-" {
				wantType = ""
			}
			if u, _ := url.Parse(info.URL); u.Path != wantPath || info.Name != "file.bin" || info.ContentType != wantType {
				t.Errorf("URL %s, name %q, type %q; want path %s, file.bin, %q", info.URL, info.Name, info.ContentType, wantPath, wantType)
			}
			switch {
			case tc.first == 0 && first != nil:
				t.Fatalf("First holds %d bytes, want none", first.Len())
			case tc.first != 0 && first == nil:
				t.Fatalf("no First, want %d bytes", tc.first)
			case first != nil:
				if first.Len() != tc.first {
					t.Errorf("First.Len() = %d, want %d", first.Len(), tc.first)
				}
				h := newHasher()
				if err := first.Stream(t.Context(), h.write); err != nil {
					t.Fatal(err)
				}
				if h.n != tc.first || h.sum() != testorigin.SumSHA256(tc.cfg.Seed, tc.first) {
					t.Errorf("streamed %d bytes that are not the file's first %d", h.n, tc.first)
				}
				if h.maxSlice > 64<<10 {
					t.Errorf("sink got a %d-byte slice", h.maxSlice)
				}
			}
			if got := o.seen(); fmt.Sprint(got) != fmt.Sprint(tc.requests) {
				t.Errorf("origin saw %q, want %q", got, tc.requests)
			}
		})
	}
}

// TestOpenArguments: n must be at least 1; nothing is sent otherwise.
func TestOpenArguments(t *testing.T) {
	c := loopbackClient(t)
	for _, n := range []int64{0, -1} {
		info, first, err := c.Open(t.Context(), "http://127.0.0.1:1/x", nil, n)
		if err == nil || Retryable(err) || first != nil || info.URL != "" {
			t.Errorf("Open(n %d) = %+v, %v, %v; want a non-retryable error", n, info, first, err)
		}
	}
	if _, _, err := c.Open(t.Context(), "ftp://x/y", nil, 1); err == nil {
		t.Error("Open of an ftp URL succeeded")
	}
	if _, _, err := c.Open(t.Context(), "http://127.0.0.1:1/x", map[string]string{"Range": "bytes=5-"}, 1); err == nil {
		t.Error("a caller's Range header was accepted")
	}
}

// TestFirstOutlivesOpenCtx: the caller ends Open's context as soon as Open
// returns; the body, still arriving, streams later under another context.
func TestFirstOutlivesOpenCtx(t *testing.T) {
	const n = 1 << 20
	// 4 MiB/s: the MiB is still on its way when Open returns.
	s := startOrigin(t, testorigin.Config{Size: 2 * n, Seed: 7, RatePerSource: 4 << 20})
	c := loopbackClient(t)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	info, first, err := c.Open(ctx, s.URL(), nil, n)
	cancel()
	if err != nil || first == nil || !info.Ranges {
		t.Fatalf("Open: %+v, %v, %v", info, first, err)
	}
	time.Sleep(50 * time.Millisecond)
	h := newHasher()
	if err := first.Stream(t.Context(), h.write); err != nil {
		t.Fatal(err)
	}
	if h.n != n || h.sum() != testorigin.SumSHA256(7, n) {
		t.Errorf("streamed %d bytes that are not the file's first MiB", h.n)
	}
}

// TestOpenCtxEndsBeforeAnswer: Open's context still bounds the wait for
// the answer's headers, and says why it ended.
func TestOpenCtxEndsBeforeAnswer(t *testing.T) {
	s := startOrigin(t, testorigin.Config{Size: 1000, Latency: 10 * time.Second})
	c := loopbackClient(t)
	paused := errors.New("paused by the user")
	cases := []struct {
		name      string
		ctx       func() (context.Context, func())
		is        error
		retryable bool
	}{
		{"deadline", func() (context.Context, func()) {
			return context.WithTimeout(t.Context(), 100*time.Millisecond)
		}, context.DeadlineExceeded, true},
		{"cancelled with a cause", func() (context.Context, func()) {
			ctx, cancel := context.WithCancelCause(t.Context())
			time.AfterFunc(100*time.Millisecond, func() { cancel(paused) })
			return ctx, func() { cancel(nil) }
		}, paused, false},
		{"cancelled before", func() (context.Context, func()) {
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			return ctx, cancel
		}, context.Canceled, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, done := tc.ctx()
			defer done()
			begin := time.Now()
			_, first, err := c.Open(ctx, s.URL(), nil, 100)
			if took := time.Since(begin); took > 5*time.Second {
				t.Errorf("Open returned after %s", took)
			}
			if first != nil || !errors.Is(err, tc.is) {
				t.Fatalf("First %v, err %v; want %v", first, err, tc.is)
			}
			if tc.is == paused && Retryable(err) {
				t.Errorf("Retryable(%v) = true", err)
			}
			if tc.is != paused && Retryable(err) != tc.retryable {
				t.Errorf("Retryable(%v) = %v", err, !tc.retryable)
			}
			t.Log(err)
		})
	}
}

// holdingServer answers any request with a 206 for bytes 0-(size-1) and
// sends sent bytes of it, then nothing until the client leaves.
func holdingServer(t *testing.T, size, sent int) string {
	t.Helper()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Range", fmt.Sprintf("bytes 0-%d/%d", size-1, size))
		w.Header().Set("Content-Length", fmt.Sprint(size))
		w.WriteHeader(http.StatusPartialContent)
		w.Write(testorigin.Content(1, 0, int64(sent)))
		http.NewResponseController(w).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	return srv.URL + "/f.bin"
}

// TestFirstStreamCtx: Stream's context aborts the body read promptly and
// its cause is in the error.
func TestFirstStreamCtx(t *testing.T) {
	url := holdingServer(t, 100000, 1000)
	c := loopbackClient(t)
	paused := errors.New("paused by the user")

	t.Run("cancelled mid-body", func(t *testing.T) {
		_, first, err := c.Open(t.Context(), url, nil, 100000)
		if err != nil || first == nil {
			t.Fatalf("Open: %v, %v", first, err)
		}
		ctx, cancel := context.WithCancelCause(t.Context())
		defer cancel(nil)
		var r recorder
		var once sync.Once
		begin := time.Now()
		err = first.Stream(ctx, func(b []byte) error {
			once.Do(func() { time.AfterFunc(50*time.Millisecond, func() { cancel(paused) }) })
			return r.sink(b)
		})
		if took := time.Since(begin); took > 5*time.Second {
			t.Errorf("Stream returned %s after it began", took)
		}
		if !errors.Is(err, paused) || !errors.Is(err, ErrShortBody) || r.buf.Len() != 1000 {
			t.Fatalf("err %v after %d bytes, want a short body caused by %v after 1000", err, r.buf.Len(), paused)
		}
		t.Log(err)
	})
	t.Run("cancelled before", func(t *testing.T) {
		_, first, err := c.Open(t.Context(), url, nil, 100000)
		if err != nil || first == nil {
			t.Fatalf("Open: %v, %v", first, err)
		}
		ctx, cancel := context.WithCancelCause(t.Context())
		cancel(paused)
		var r recorder
		begin := time.Now()
		if err := first.Stream(ctx, r.sink); !errors.Is(err, paused) || r.buf.Len() != 0 {
			t.Fatalf("err %v after %d bytes, want %v before any", err, r.buf.Len(), paused)
		}
		// Not even the drain waits for the held body.
		if took := time.Since(begin); took >= drainFor {
			t.Errorf("Stream took %s", took)
		}
	})
}

// TestFirstIdle: a body that sends some bytes and then nothing fails with
// a retryable ErrShortBody after the idle time, the bytes delivered.
func TestFirstIdle(t *testing.T) {
	url := holdingServer(t, 100, 10)
	c := loopbackClient(t)
	c.idle = 200 * time.Millisecond
	_, first, err := c.Open(t.Context(), url, nil, 100)
	if err != nil || first == nil {
		t.Fatalf("Open: %v, %v", first, err)
	}
	var r recorder
	err = first.Stream(t.Context(), r.sink)
	if !errors.Is(err, ErrShortBody) || !errors.Is(err, errBodyIdle) || !Retryable(err) || r.buf.Len() != 10 {
		t.Fatalf("err %v after %d bytes, want a retryable idle short body after 10", err, r.buf.Len())
	}
}

// TestFirstStreamChecks: Stream holds the body to exactly Len bytes, as
// Range does, and returns the sink's error.
func TestFirstStreamChecks(t *testing.T) {
	// more labels bytes 0-99 and sends 200, without Content-Length.
	more := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Range", "bytes 0-99/1000")
		w.WriteHeader(http.StatusPartialContent)
		http.NewResponseController(w).Flush() // chunked: no length
		w.Write(testorigin.Content(1, 0, 200))
	}))
	defer more.Close()
	stop := errors.New("disk full")
	cases := []struct {
		name      string
		url       func() string
		n         int64
		sink      func(r *recorder) func([]byte) error
		is        error
		retryable bool
		sinkGot   int
	}{
		{name: "cut body", url: func() string {
			return startOrigin(t, testorigin.Config{Size: 100000, Seed: 1, Quirks: testorigin.Quirks{CutAfter: 5000}}).URL()
		}, n: 50000, is: ErrShortBody, retryable: true, sinkGot: 5000},
		{name: "reset", url: func() string {
			return startOrigin(t, testorigin.Config{Size: 100000, Seed: 1, Quirks: testorigin.Quirks{ResetAfter: 5000}}).URL()
		}, n: 50000, retryable: true, sinkGot: 5000},
		{name: "more than labelled", url: func() string { return more.URL + "/f.bin" }, n: 100, is: ErrRangeMismatch, sinkGot: 100},
		{name: "sink error", url: func() string { return startOrigin(t, testorigin.Config{Size: 100000, Seed: 1}).URL() }, n: 50000,
			sink: func(*recorder) func([]byte) error { return func([]byte) error { return stop } }, is: stop},
	}
	c := loopbackClient(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, first, err := c.Open(t.Context(), tc.url(), nil, tc.n)
			if err != nil || first == nil {
				t.Fatalf("Open: %v, %v", first, err)
			}
			var r recorder
			sink := r.sink
			if tc.sink != nil {
				sink = tc.sink(&r)
			}
			err = first.Stream(t.Context(), sink)
			if err == nil {
				t.Fatal("Stream succeeded")
			}
			t.Log(err)
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("err %v, want %v", err, tc.is)
			}
			if Retryable(err) != tc.retryable {
				t.Errorf("Retryable = %v, want %v", !tc.retryable, tc.retryable)
			}
			if r.buf.Len() != tc.sinkGot || !bytes.Equal(r.buf.Bytes(), testorigin.Content(1, 0, int64(r.buf.Len()))) {
				t.Errorf("sink got %d bytes, want the file's first %d", r.buf.Len(), tc.sinkGot)
			}
		})
	}
}

// TestFirstRelease: a First that is closed, or whose Stream ended, gives
// its connection back (for reuse when the body ended exactly) and leaves
// no goroutine behind.
func TestFirstRelease(t *testing.T) {
	const size = 4 << 20
	cases := []struct {
		name   string
		n      int64
		use    func(f *First) error
		reused bool // the next request goes over the same connection
	}{
		{name: "Close, large body unread", n: 1 << 20, use: func(f *First) error { f.Close(); return nil }},
		{name: "Close, short body drained", n: 100, use: func(f *First) error { f.Close(); return nil }, reused: true},
		{name: "streamed to the end", n: 1 << 20, use: func(f *First) error { return f.Stream(t.Context(), func([]byte) error { return nil }) }, reused: true},
		{name: "sink stopped", n: 1 << 20, use: func(f *First) error {
			if err := f.Stream(t.Context(), func([]byte) error { return errors.New("stop") }); err == nil {
				return errors.New("Stream ignored its sink's error")
			}
			return nil
		}},
		{name: "Stream ctx cancelled", n: 1 << 20, use: func(f *First) error {
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			if err := f.Stream(ctx, func([]byte) error { return nil }); !errors.Is(err, context.Canceled) {
				return fmt.Errorf("Stream with a cancelled ctx: %v", err)
			}
			return nil
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := startWatchedOrigin(t, testorigin.Config{Size: size})
			c := New(Options{AllowPrivate: true})
			before := runtime.NumGoroutine()

			info, first, err := c.Open(t.Context(), o.url, nil, tc.n)
			if err != nil || first == nil {
				t.Fatalf("Open: %v, %v", first, err)
			}
			if err := tc.use(first); err != nil {
				t.Fatal(err)
			}
			if err := c.Range(t.Context(), info.URL, nil, info.Identity, size-10, 10, func([]byte) error { return nil }); err != nil {
				t.Fatal(err)
			}
			opened, closed := o.conns()
			if want := map[bool]int{true: 1, false: 2}[tc.reused]; opened != want {
				t.Errorf("the origin saw %d connections, want %d", opened, want)
			}
			if !tc.reused {
				waitFor(t, "the origin to see the first connection closed", func() bool { _, closed = o.conns(); return closed >= 1 })
			}
			c.CloseIdleConnections()
			waitFor(t, "the goroutines to end", func() bool { return runtime.NumGoroutine() <= before })
		})
	}
}

// TestFirstOnce: Stream runs once; Close after Stream, or twice, does
// nothing; Stream after Close fails.
func TestFirstOnce(t *testing.T) {
	s := startOrigin(t, testorigin.Config{Size: 1000, Seed: 4})
	c := loopbackClient(t)
	_, first, err := c.Open(t.Context(), s.URL(), nil, 100)
	if err != nil || first == nil {
		t.Fatalf("Open: %v, %v", first, err)
	}
	var r recorder
	if err := first.Stream(t.Context(), r.sink); err != nil || r.buf.Len() != 100 {
		t.Fatalf("Stream: %v after %d bytes", err, r.buf.Len())
	}
	calls := r.calls
	if err := first.Stream(t.Context(), r.sink); err == nil || Retryable(err) || r.calls != calls {
		t.Errorf("second Stream: %v (retryable %v), sink called %d more times; want a non-retryable error", err, Retryable(err), r.calls-calls)
	}
	first.Close()
	first.Close()

	_, first, err = c.Open(t.Context(), s.URL(), nil, 100)
	if err != nil || first == nil {
		t.Fatalf("Open: %v, %v", first, err)
	}
	first.Close()
	first.Close()
	if err := first.Stream(t.Context(), r.sink); err == nil || r.calls != calls {
		t.Errorf("Stream after Close: %v", err)
	}
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited 5s for %s", what)
		}
	}
}
