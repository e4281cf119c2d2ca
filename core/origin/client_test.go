package origin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	testorigin "github.com/dragonload/dragonload/test/origin"
)

// startOrigin runs a test origin on loopback for the length of the test.
func startOrigin(t *testing.T, cfg testorigin.Config) *testorigin.Server {
	t.Helper()
	s := testorigin.New(cfg)
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// loopbackClient is a real client with the guard lifted, as on a test bed.
func loopbackClient(t *testing.T) *Client {
	t.Helper()
	c := New(Options{AllowPrivate: true})
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// recorder is a sink that keeps what it is given.
type recorder struct {
	buf      bytes.Buffer
	calls    int
	maxSlice int
}

func (r *recorder) sink(b []byte) error {
	r.buf.Write(b)
	r.calls++
	r.maxSlice = max(r.maxSlice, len(b))
	return nil
}

func TestProbe(t *testing.T) {
	lm := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := []struct {
		name       string
		cfg        testorigin.Config
		wantRanges bool
		wantSize   int64
		wantETag   string
		wantLM     string
		wantPath   string
	}{
		{name: "plain", cfg: testorigin.Config{Size: 5000, ETag: `"v1"`}, wantRanges: true, wantSize: 5000, wantETag: `"v1"`, wantPath: "/file.bin"},
		{name: "HEAD refused", cfg: testorigin.Config{Size: 5000, ETag: `"v1"`, Quirks: testorigin.Quirks{HeadNotAllowed: true}}, wantRanges: true, wantSize: 5000, wantETag: `"v1"`, wantPath: "/file.bin"},
		{name: "no range", cfg: testorigin.Config{Size: 5000, ETag: `"v1"`, Quirks: testorigin.Quirks{NoRange: true}}, wantRanges: false, wantSize: 5000, wantETag: `"v1"`, wantPath: "/file.bin"},
		{name: "no range and no HEAD", cfg: testorigin.Config{Size: 5000, ETag: `"v1"`, Quirks: testorigin.Quirks{NoRange: true, HeadNotAllowed: true}}, wantRanges: false, wantSize: 5000, wantETag: `"v1"`, wantPath: "/file.bin"},
		{name: "wrong Content-Range", cfg: testorigin.Config{Size: 5000, ETag: `"v1"`, Quirks: testorigin.Quirks{WrongContentRange: true}}, wantRanges: false, wantSize: 5000, wantETag: `"v1"`, wantPath: "/file.bin"},
		{name: "wrong Content-Range, no HEAD", cfg: testorigin.Config{Size: 5000, ETag: `"v1"`, Quirks: testorigin.Quirks{WrongContentRange: true, HeadNotAllowed: true}}, wantRanges: false, wantSize: -1, wantETag: `"v1"`, wantPath: "/file.bin"},
		{name: "weak ETag ignored", cfg: testorigin.Config{Size: 5000, ETag: `W/"weak"`, LastModified: lm}, wantRanges: true, wantSize: 5000, wantLM: "Thu, 02 Jan 2025 03:04:05 GMT", wantPath: "/file.bin"},
		{name: "Last-Modified only", cfg: testorigin.Config{Size: 5000, NoETag: true, LastModified: lm}, wantRanges: true, wantSize: 5000, wantLM: "Thu, 02 Jan 2025 03:04:05 GMT", wantPath: "/file.bin"},
		{name: "redirect chain", cfg: testorigin.Config{Size: 5000, ETag: `"v1"`, Quirks: testorigin.Quirks{Redirects: 3}}, wantRanges: true, wantSize: 5000, wantETag: `"v1"`, wantPath: "/r/3/file.bin"},
		{name: "ten redirects", cfg: testorigin.Config{Size: 5000, ETag: `"v1"`, Quirks: testorigin.Quirks{Redirects: 10, HeadNotAllowed: true}}, wantRanges: true, wantSize: 5000, wantETag: `"v1"`, wantPath: "/r/10/file.bin"},
		{name: "empty file", cfg: testorigin.Config{Size: 0, ETag: `"e"`}, wantRanges: false, wantSize: 0, wantETag: `"e"`, wantPath: "/file.bin"},
		{name: "odd name", cfg: testorigin.Config{Size: 10, ETag: `"n"`, Name: "my file.iso"}, wantRanges: true, wantSize: 10, wantETag: `"n"`, wantPath: "/my file.iso"},
	}
	c := loopbackClient(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := startOrigin(t, tc.cfg)
			info, err := c.Probe(t.Context(), s.URL(), nil)
			if err != nil {
				t.Fatal(err)
			}
			id := info.Identity
			if info.Ranges != tc.wantRanges || id.Size != tc.wantSize || id.ETag != tc.wantETag || id.LastModified != tc.wantLM {
				t.Errorf("got ranges=%v %+v; want ranges=%v size=%d etag=%q lm=%q", info.Ranges, id, tc.wantRanges, tc.wantSize, tc.wantETag, tc.wantLM)
			}
			got, err := url.Parse(info.URL)
			if err != nil {
				t.Fatal(err)
			}
			if orig, _ := url.Parse(s.URL()); got.Host != orig.Host || got.Path != tc.wantPath {
				t.Errorf("URL %s, want path %s on %s", info.URL, tc.wantPath, orig.Host)
			}
			wantName := tc.cfg.Name
			if wantName == "" {
				wantName = "file.bin"
			}
			if info.Name != wantName || info.ContentType != "application/octet-stream" {
				t.Errorf("name %q, type %q", info.Name, info.ContentType)
			}
		})
	}
}

func TestProbeFailures(t *testing.T) {
	cases := []struct {
		name      string
		q         testorigin.Quirks
		code      int
		retryable bool
		after     time.Duration
		isErr     error
	}{
		{name: "404", q: testorigin.Quirks{Status: 404}, code: 404},
		{name: "403", q: testorigin.Quirks{Status: 403}, code: 403},
		{name: "500", q: testorigin.Quirks{Status: 500}, code: 500, retryable: true},
		{name: "429", q: testorigin.Quirks{Status: 429}, code: 429, retryable: true},
		// HEAD and the ranged GET each use up one 503.
		{name: "503 Retry-After", q: testorigin.Quirks{UnavailableFirst: 2, RetryAfter: 7 * time.Second}, code: 503, retryable: true, after: 7 * time.Second},
		{name: "11 redirects", q: testorigin.Quirks{Redirects: 11}},
	}
	c := loopbackClient(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := startOrigin(t, testorigin.Config{Size: 100, Quirks: tc.q})
			_, err := c.Probe(t.Context(), s.URL(), nil)
			if err == nil {
				t.Fatal("Probe succeeded")
			}
			var se *StatusError
			if tc.code != 0 && (!errors.As(err, &se) || se.Code != tc.code) {
				t.Fatalf("err %v, want status %d", err, tc.code)
			}
			if Retryable(err) != tc.retryable {
				t.Errorf("Retryable(%v) = %v", err, !tc.retryable)
			}
			if got := RetryAfter(err); got != tc.after {
				t.Errorf("RetryAfter = %s, want %s", got, tc.after)
			}
			t.Log(err)
		})
	}
}

func TestProbeNameFromDisposition(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Disposition", `attachment; filename="../../etc/passwd"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf`)
		http.ServeContent(w, r, "", time.Unix(1e9, 0), strings.NewReader("hello"))
	}))
	defer srv.Close()
	info, err := loopbackClient(t).Probe(t.Context(), srv.URL+"/dl?id=3", nil)
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "résumé.pdf" || !info.Ranges || info.Identity.Size != 5 || info.Identity.LastModified == "" {
		t.Errorf("got %+v", info)
	}
}

func TestRange(t *testing.T) {
	const size = 300000
	cases := []struct {
		name   string
		off, n int64
	}{
		{"first byte", 0, 1},
		{"last byte", size - 1, 1},
		{"unaligned middle", 12345, 100001},
		{"whole file", 0, size},
	}
	s := startOrigin(t, testorigin.Config{Size: size, Seed: 11})
	c := loopbackClient(t)
	info, err := c.Probe(t.Context(), s.URL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var r recorder
			if err := c.Range(t.Context(), info.URL, nil, info.Identity, tc.off, tc.n, r.sink); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(r.buf.Bytes(), testorigin.Content(11, tc.off, tc.n)) {
				t.Errorf("got %d bytes that are not bytes %d+%d", r.buf.Len(), tc.off, tc.n)
			}
			if r.maxSlice > 64<<10 {
				t.Errorf("sink got a %d-byte slice", r.maxSlice)
			}
		})
	}
}

// TestRangeRefusals checks every way Range refuses an answer, and that
// the headers are judged before any byte reaches the sink.
func TestRangeRefusals(t *testing.T) {
	const size = 200000
	cases := []struct {
		name      string
		q         testorigin.Quirks
		is        error
		code      int
		retryable bool
		after     time.Duration
		sinkMax   int // bytes the sink may have seen
	}{
		{name: "wrong Content-Range", q: testorigin.Quirks{WrongContentRange: true}, is: ErrRangeMismatch},
		{name: "cut body", q: testorigin.Quirks{CutAfter: 5000}, is: ErrShortBody, retryable: true, sinkMax: 5000},
		{name: "reset", q: testorigin.Quirks{ResetAfter: 5000}, retryable: true, sinkMax: 5000},
		{name: "new version", q: testorigin.Quirks{ChangeETagAfter: 1}, is: ErrIdentityChanged},
		{name: "range ignored", q: testorigin.Quirks{NoRange: true}, is: ErrNoRange},
		{name: "404", q: testorigin.Quirks{Status: 404}, code: 404},
		{name: "403", q: testorigin.Quirks{Status: 403}, code: 403},
		{name: "503", q: testorigin.Quirks{UnavailableFirst: 1, RetryAfter: 3 * time.Second}, code: 503, retryable: true, after: 3 * time.Second},
	}
	c := loopbackClient(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := startOrigin(t, testorigin.Config{Size: size, Seed: 1})
			info, err := c.Probe(t.Context(), s.URL(), nil)
			if err != nil {
				t.Fatal(err)
			}
			s.SetQuirks(tc.q)
			var r recorder
			err = c.Range(t.Context(), info.URL, nil, info.Identity, 1000, 100000, r.sink)
			if err == nil {
				t.Fatal("Range succeeded")
			}
			t.Log(err)
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("err %v, want %v", err, tc.is)
			}
			var se *StatusError
			if tc.code != 0 && (!errors.As(err, &se) || se.Code != tc.code) {
				t.Errorf("err %v, want status %d", err, tc.code)
			}
			if Retryable(err) != tc.retryable {
				t.Errorf("Retryable = %v, want %v", !tc.retryable, tc.retryable)
			}
			if got := RetryAfter(err); got != tc.after {
				t.Errorf("RetryAfter = %s, want %s", got, tc.after)
			}
			if r.buf.Len() > tc.sinkMax {
				t.Errorf("sink got %d bytes, at most %d allowed", r.buf.Len(), tc.sinkMax)
			}
			if !bytes.Equal(r.buf.Bytes(), testorigin.Content(1, 1000, int64(r.buf.Len()))) {
				t.Error("sink got bytes that are not the file's")
			}
		})
	}
}

func TestRangeIdentity(t *testing.T) {
	lm := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	s := startOrigin(t, testorigin.Config{Size: 1000, NoETag: true, LastModified: lm})
	c := loopbackClient(t)
	cases := []struct {
		name string
		id   Identity
		is   error
	}{
		{"matching Last-Modified", Identity{Size: 1000, LastModified: "Thu, 02 Jan 2025 03:04:05 GMT"}, nil},
		{"other Last-Modified", Identity{Size: 1000, LastModified: "Fri, 03 Jan 2025 03:04:05 GMT"}, ErrIdentityChanged},
		{"ETag pinned, none sent", Identity{Size: 1000, ETag: `"x"`}, ErrIdentityChanged},
		{"other size", Identity{Size: 2000}, ErrIdentityChanged},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var r recorder
			err := c.Range(t.Context(), s.URL(), nil, tc.id, 0, 100, r.sink)
			if !errors.Is(err, tc.is) || (tc.is == nil && err != nil) {
				t.Fatalf("err %v, want %v", err, tc.is)
			}
			if tc.is != nil && r.buf.Len() != 0 {
				t.Errorf("sink got %d bytes of another version", r.buf.Len())
			}
		})
	}
}

func TestRangeArguments(t *testing.T) {
	c := loopbackClient(t)
	id := Identity{Size: 100}
	for _, a := range []struct{ off, n int64 }{{-1, 10}, {0, 0}, {95, 10}, {100, 1}, {0, -5}} {
		if err := c.Range(t.Context(), "http://127.0.0.1:1/x", nil, id, a.off, a.n, func([]byte) error { return nil }); err == nil || Retryable(err) {
			t.Errorf("Range(off %d, n %d) = %v, want a non-retryable error", a.off, a.n, err)
		}
	}
	if err := c.Range(t.Context(), "http://127.0.0.1:1/x", nil, Identity{Size: -1}, 0, 1, nil); err == nil {
		t.Error("Range with an unknown size succeeded")
	}
}

func TestSinkError(t *testing.T) {
	s := startOrigin(t, testorigin.Config{Size: 1 << 20})
	c := loopbackClient(t)
	info, err := c.Probe(t.Context(), s.URL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	stop := errors.New("disk full")
	err = c.Range(t.Context(), info.URL, nil, info.Identity, 0, 1<<20, func([]byte) error { return stop })
	if !errors.Is(err, stop) || Retryable(err) {
		t.Fatalf("err %v (retryable %v), want the sink's error, not retryable", err, Retryable(err))
	}
}

func TestWhole(t *testing.T) {
	const size = 150000
	cases := []struct {
		name string
		q    testorigin.Quirks
		id   func(Identity) Identity
		is   error
	}{
		{name: "no range server", q: testorigin.Quirks{NoRange: true}},
		{name: "size unknown to caller", q: testorigin.Quirks{NoRange: true}, id: func(id Identity) Identity { id.Size = -1; return id }},
		{name: "other size", id: func(id Identity) Identity { id.Size++; return id }, is: ErrIdentityChanged},
		{name: "other ETag", id: func(id Identity) Identity { id.ETag = `"old"`; return id }, is: ErrIdentityChanged},
		{name: "cut", q: testorigin.Quirks{CutAfter: 70000}, is: ErrShortBody},
	}
	c := loopbackClient(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := startOrigin(t, testorigin.Config{Size: size, Seed: 3})
			info, err := c.Probe(t.Context(), s.URL(), nil)
			if err != nil {
				t.Fatal(err)
			}
			s.SetQuirks(tc.q)
			id := info.Identity
			if tc.id != nil {
				id = tc.id(id)
			}
			var r recorder
			err = c.Whole(t.Context(), info.URL, nil, id, r.sink)
			if !errors.Is(err, tc.is) || (tc.is == nil && err != nil) {
				t.Fatalf("err %v, want %v", err, tc.is)
			}
			if tc.is == nil && !bytes.Equal(r.buf.Bytes(), testorigin.Content(3, 0, size)) {
				t.Errorf("got %d bytes that are not the file", r.buf.Len())
			}
			if tc.is != nil && !bytes.Equal(r.buf.Bytes(), testorigin.Content(3, 0, int64(r.buf.Len()))) {
				t.Error("sink got bytes that are not the file's")
			}
		})
	}
}

// TestIdleBody checks the watchdog: a body that stops delivering fails,
// retryably, instead of hanging.
func TestIdleBody(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Range", "bytes 0-99/100")
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(http.StatusPartialContent)
		w.Write(make([]byte, 10))
		http.NewResponseController(w).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	c := loopbackClient(t)
	c.idle = 200 * time.Millisecond
	var r recorder
	err := c.Range(t.Context(), srv.URL, nil, Identity{Size: 100}, 0, 100, r.sink)
	if !errors.Is(err, ErrShortBody) || !errors.Is(err, errBodyIdle) || !Retryable(err) || r.buf.Len() != 10 {
		t.Fatalf("err %v after %d bytes, want a retryable idle short body after 10", err, r.buf.Len())
	}
}

func TestHeadersSent(t *testing.T) {
	got := make(chan http.Header, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Clone()
		http.ServeContent(w, r, "", time.Time{}, strings.NewReader("0123456789"))
	}))
	defer srv.Close()
	c := New(Options{AllowPrivate: true, UserAgent: "test-agent/1"})
	defer c.CloseIdleConnections()
	var r recorder
	err := c.Range(t.Context(), srv.URL, map[string]string{"Authorization": "Bearer x", "X-Custom": "1"}, Identity{Size: 10}, 2, 3, r.sink)
	if err != nil || r.buf.String() != "234" {
		t.Fatalf("Range: %v, %q", err, r.buf.String())
	}
	h := <-got
	want := map[string]string{"Authorization": "Bearer x", "X-Custom": "1", "User-Agent": "test-agent/1", "Range": "bytes=2-4", "Accept-Encoding": "identity"}
	for k, v := range want {
		if h.Get(k) != v {
			t.Errorf("%s: %q, want %q", k, h.Get(k), v)
		}
	}
	if err := c.Range(t.Context(), srv.URL, map[string]string{"Range": "bytes=0-"}, Identity{Size: 10}, 0, 1, r.sink); err == nil {
		t.Error("a caller's Range header was accepted")
	}
}

// TestConnectionReuse checks that sequential ranges share one connection.
func TestConnectionReuse(t *testing.T) {
	var mu sync.Mutex
	conns := 0
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(testorigin.Content(1, 0, 100000)))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			mu.Lock()
			conns++
			mu.Unlock()
		}
	}
	srv.Start()
	defer srv.Close()
	c := loopbackClient(t)
	for i := range int64(5) {
		var r recorder
		if err := c.Range(t.Context(), srv.URL, nil, Identity{Size: 100000}, i*20000, 20000, r.sink); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if conns != 1 {
		t.Errorf("5 sequential ranges used %d connections, want 1", conns)
	}
}

// TestSourceIP checks that connections leave from Options.SourceIP.
func TestSourceIP(t *testing.T) {
	s := startOrigin(t, testorigin.Config{Size: 10000})
	for _, src := range []string{"127.0.0.2", "127.0.0.3"} {
		c := New(Options{AllowPrivate: true, SourceIP: net.ParseIP(src)})
		info, err := c.Probe(t.Context(), s.URL(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Whole(t.Context(), info.URL, nil, info.Identity, func([]byte) error { return nil }); err != nil {
			t.Fatal(err)
		}
		c.CloseIdleConnections()
	}
	got := s.BytesBySource()
	if len(got) != 2 || got["127.0.0.2"] < 10000 || got["127.0.0.3"] < 10000 {
		t.Errorf("bytes by source %v, want 10000+ from each of 127.0.0.2 and 127.0.0.3", got)
	}
}

// TestRatePerSourceThroughClient runs two client source addresses against
// a shaped origin, each with several parallel ranges, and checks byte
// counts: each address gets its own budget, shared by its connections.
func TestRatePerSourceThroughClient(t *testing.T) {
	// Each source fetches a fixed amount over three connections at once.
	// Load can only make this slower, so the checks are exact byte counts
	// per source and a lower bound on time that holds only if the limit is
	// shared by all of a source's connections (three separate 1 MiB/s
	// limits would finish in a third of it).
	const (
		rate = 1 << 20
		part = 256 << 10
	)
	s := startOrigin(t, testorigin.Config{Size: 16 << 20, RatePerSource: rate})
	begin := time.Now()
	var wg sync.WaitGroup
	for _, src := range []string{"127.0.0.2", "127.0.0.3"} {
		c := New(Options{AllowPrivate: true, SourceIP: net.ParseIP(src)})
		defer c.CloseIdleConnections()
		for i := range int64(3) {
			wg.Go(func() {
				err := c.Range(t.Context(), s.URL(), nil, Identity{Size: 16 << 20, ETag: ""}, i<<22, part, func([]byte) error { return nil })
				if err != nil {
					t.Errorf("%s: %v", src, err)
				}
			})
		}
	}
	wg.Wait()
	elapsed := time.Since(begin)
	got := s.BytesBySource()
	for _, src := range []string{"127.0.0.2", "127.0.0.3"} {
		if got[src] != 3*part {
			t.Errorf("%s: origin counted %d bytes, want %d", src, got[src], 3*part)
		}
	}
	// One burst (the server's write slice) may pass before the limit bites.
	if floor := time.Duration(float64(3*part-(64<<10)) / rate * float64(time.Second)); elapsed < floor {
		t.Errorf("three connections from one source took %v, faster than the %v a shared 1 MiB/s limit allows", elapsed, floor)
	}
}

func TestStatusErrorMessage(t *testing.T) {
	e := &StatusError{Code: 503, RetryAfter: 5 * time.Second, URL: "http://x/f"}
	if got, want := e.Error(), "http://x/f answered 503 Service Unavailable and asked to retry after 5s"; got != want {
		t.Errorf("%q, want %q", got, want)
	}
	wrapped := fmt.Errorf("chunk 3: %w", e)
	if !Retryable(wrapped) || RetryAfter(wrapped) != 5*time.Second {
		t.Error("a wrapped StatusError lost its class")
	}
}

func TestRetryable(t *testing.T) {
	cases := []struct {
		err  error
		want bool
	}{
		{nil, false},
		{&StatusError{Code: 408}, true},
		{&StatusError{Code: 429}, true},
		{&StatusError{Code: 502}, true},
		{&StatusError{Code: 400}, false},
		{&StatusError{Code: 416}, false},
		{fmt.Errorf("x: %w", ErrShortBody), true},
		{fmt.Errorf("x: %w", ErrIdentityChanged), false},
		{fmt.Errorf("x: %w", ErrRangeMismatch), false},
		{fmt.Errorf("x: %w", ErrNoRange), false},
		{&forbiddenError{ip: net.IPv4(127, 0, 0, 1), reason: "loopback"}, false},
		{&urlError{raw: "ftp://x", why: "no"}, false},
		{&net.OpError{Op: "dial", Err: errors.New("connection refused")}, true},
		{&net.DNSError{Err: "no such host", IsNotFound: true}, false},
		{&net.DNSError{Err: "server misbehaving", IsTemporary: true}, true},
		{io.ErrUnexpectedEOF, true},
		{context.Canceled, false},
		{context.DeadlineExceeded, true},
		{&sinkError{err: &net.OpError{Op: "write"}}, false},
		{errors.New("something else"), false},
	}
	for _, c := range cases {
		if got := Retryable(c.err); got != c.want {
			t.Errorf("Retryable(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
