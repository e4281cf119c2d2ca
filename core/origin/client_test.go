package origin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
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
		wantWeak   string
		wantLM     string
		wantPath   string
	}{
		{name: "plain", cfg: testorigin.Config{Size: 5000, ETag: `"v1"`}, wantRanges: true, wantSize: 5000, wantETag: `"v1"`, wantPath: "/file.bin"},
		{name: "HEAD refused", cfg: testorigin.Config{Size: 5000, ETag: `"v1"`, Quirks: testorigin.Quirks{HeadNotAllowed: true}}, wantRanges: true, wantSize: 5000, wantETag: `"v1"`, wantPath: "/file.bin"},
		{name: "no range", cfg: testorigin.Config{Size: 5000, ETag: `"v1"`, Quirks: testorigin.Quirks{NoRange: true}}, wantRanges: false, wantSize: 5000, wantETag: `"v1"`, wantPath: "/file.bin"},
		{name: "no range and no HEAD", cfg: testorigin.Config{Size: 5000, ETag: `"v1"`, Quirks: testorigin.Quirks{NoRange: true, HeadNotAllowed: true}}, wantRanges: false, wantSize: 5000, wantETag: `"v1"`, wantPath: "/file.bin"},
		// A mislabelled range tells no size that can be trusted.
		{name: "wrong Content-Range", cfg: testorigin.Config{Size: 5000, ETag: `"v1"`, Quirks: testorigin.Quirks{WrongContentRange: true}}, wantRanges: false, wantSize: -1, wantETag: `"v1"`, wantPath: "/file.bin"},
		{name: "wrong Content-Range, no HEAD", cfg: testorigin.Config{Size: 5000, ETag: `"v1"`, Quirks: testorigin.Quirks{WrongContentRange: true, HeadNotAllowed: true}}, wantRanges: false, wantSize: -1, wantETag: `"v1"`, wantPath: "/file.bin"},
		{name: "weak ETag", cfg: testorigin.Config{Size: 5000, ETag: `W/"weak"`, LastModified: lm}, wantRanges: true, wantSize: 5000, wantWeak: `W/"weak"`, wantLM: "Thu, 02 Jan 2025 03:04:05 GMT", wantPath: "/file.bin"},
		{name: "weak ETag quirk", cfg: testorigin.Config{Size: 5000, ETag: `"v1"`, Quirks: testorigin.Quirks{WeakETag: true}}, wantRanges: true, wantSize: 5000, wantWeak: `W/"v1"`, wantPath: "/file.bin"},
		{name: "whole file for bytes=0-0", cfg: testorigin.Config{Size: 5000, ETag: `"v1"`, Quirks: testorigin.Quirks{WholeForZeroZero: true}}, wantRanges: true, wantSize: 5000, wantETag: `"v1"`, wantPath: "/file.bin"},
		{name: "whole file for bytes=0-0, no HEAD", cfg: testorigin.Config{Size: 5000, ETag: `"v1"`, Quirks: testorigin.Quirks{WholeForZeroZero: true, HeadNotAllowed: true}}, wantRanges: true, wantSize: 5000, wantETag: `"v1"`, wantPath: "/file.bin"},
		{name: "whole file for bytes=0-0, 2 bytes", cfg: testorigin.Config{Size: 2, ETag: `"v1"`, Quirks: testorigin.Quirks{WholeForZeroZero: true, HeadNotAllowed: true}}, wantRanges: true, wantSize: 2, wantETag: `"v1"`, wantPath: "/file.bin"},
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
			if info.Ranges != tc.wantRanges || id.Size != tc.wantSize || id.ETag != tc.wantETag || id.WeakETag != tc.wantWeak || id.LastModified != tc.wantLM {
				t.Errorf("got ranges=%v %+v; want ranges=%v size=%d etag=%q weak=%q lm=%q", info.Ranges, id, tc.wantRanges, tc.wantSize, tc.wantETag, tc.wantWeak, tc.wantLM)
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
			wantType := "application/octet-stream"
			if tc.cfg.Size == 0 {
				wantType = "" // a 416's type is its error page's
			}
			if info.Name != wantName || info.ContentType != wantType {
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
		// The probe is one GET: it uses up the one 503.
		{name: "503 Retry-After", q: testorigin.Quirks{UnavailableFirst: 1, RetryAfter: 7 * time.Second}, code: 503, retryable: true, after: 7 * time.Second},
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

// TestSinkStopsTrickle: a caller that stops reading a body that trickles
// (a byte a second) gets its answer at once, not after the 4 KiB that drain
// would otherwise wait an hour for.
func TestSinkStopsTrickle(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Range", "bytes 0-9999/10000")
		w.Header().Set("Content-Length", "10000")
		w.WriteHeader(http.StatusPartialContent)
		for range 10000 {
			if _, err := w.Write([]byte{1}); err != nil {
				return
			}
			http.NewResponseController(w).Flush()
			select {
			case <-time.After(time.Second):
			case <-r.Context().Done():
				return
			}
		}
	}))
	defer srv.Close()
	c := loopbackClient(t)
	stop := errors.New("enough")
	begin := time.Now()
	err := c.Range(t.Context(), srv.URL, nil, Identity{Size: 10000}, 0, 10000, func([]byte) error { return stop })
	if !errors.Is(err, stop) {
		t.Fatalf("err %v, want the sink's", err)
	}
	// drain gives up after drainFor; an hour-long wait is what this catches.
	if took := time.Since(begin); took > 20*time.Second {
		t.Errorf("Range returned %s after its sink stopped", took)
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

// TestConnectionReuse checks that the probe and sequential ranges share
// one connection.
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
	info, err := c.Probe(t.Context(), srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range int64(5) {
		var r recorder
		if err := c.Range(t.Context(), info.URL, nil, info.Identity, i*20000, 20000, r.sink); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if conns != 1 {
		t.Errorf("a probe and 5 sequential ranges used %d connections, want 1", conns)
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
	far := &StatusError{Code: 503, RetryAfter: maxRetryAfter, RetryAt: time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC), URL: "http://x/f"}
	if got, want := far.Error(), "http://x/f answered 503 Service Unavailable and asked to retry at 2100-01-01T00:00:00Z"; got != want {
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
		{fmt.Errorf("requesting http://x/f: %w (waited 30s)", ErrNoAnswer), true},
		{&MismatchError{URL: "http://x/f", Field: FieldETag, Got: `"a"`, Want: `"b"`}, false},
		{errors.New("something else"), false},
	}
	for _, c := range cases {
		if got := Retryable(c.err); got != c.want {
			t.Errorf("Retryable(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

// TestProbeMislabelledZeroZero checks the second probe that tells servers
// which mislabel only "bytes=0-0" (busybox httpd, s3rver) from servers
// that cannot do ranges, and that the probe never sends HEAD.
func TestProbeMislabelledZeroZero(t *testing.T) {
	const size = 5000
	content := testorigin.Content(8, 0, size)
	// whole answers a Range request with the whole file under 206,
	// honestly labelled.
	whole := func(w http.ResponseWriter) {
		w.Header().Set("Content-Range", fmt.Sprintf("bytes 0-%d/%d", size-1, size))
		w.Header().Set("Content-Length", fmt.Sprint(size))
		w.Header().Set("ETag", `"w"`)
		w.WriteHeader(http.StatusPartialContent)
		w.Write(content)
	}
	exact := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"w"`)
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(content))
	}
	cases := []struct {
		name     string
		handler  func(w http.ResponseWriter, r *http.Request)
		ranges   bool
		size     int64
		requests []string // Range headers the origin saw, HEAD as "HEAD"
		log      string   // a line the probe logs
		code     int      // the Probe fails with this status
	}{
		{
			name: "only bytes=0-0 mislabelled",
			handler: func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Range") == "bytes=0-0" {
					whole(w)
					return
				}
				exact(w, r)
			},
			ranges: true, size: size, requests: []string{"bytes=0-0", "bytes=1-1"},
			log: `level=INFO msg="origin mislabels the probe's range but serves other ranges exactly"`,
		},
		{
			name: "only bytes=0-0 mislabelled, HEAD refused",
			handler: func(w http.ResponseWriter, r *http.Request) {
				switch {
				case r.Method == http.MethodHead:
					w.WriteHeader(http.StatusMethodNotAllowed)
				case r.Header.Get("Range") == "bytes=0-0":
					whole(w)
				default:
					exact(w, r)
				}
			},
			ranges: true, size: size, requests: []string{"bytes=0-0", "bytes=1-1"},
		},
		{
			// Labelled right, but the body (without Content-Length) holds
			// more than the byte: only reading it shows.
			name: "bytes=0-0 answered with more than one byte",
			handler: func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Range") != "bytes=0-0" {
					exact(w, r)
					return
				}
				w.Header().Set("Content-Range", fmt.Sprintf("bytes 0-0/%d", size))
				w.Header().Set("ETag", `"w"`)
				w.WriteHeader(http.StatusPartialContent)
				http.NewResponseController(w).Flush() // chunked: no length
				w.Write(content[:100])
			},
			ranges: true, size: size, requests: []string{"bytes=0-0", "bytes=1-1"},
			log: `first_answer="the origin answered a different range than the one asked for: `,
		},
		{
			name: "every range answered whole under 206",
			handler: func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodHead {
					exact(w, r)
					return
				}
				whole(w)
			},
			// The label's size is not trusted, and nothing else tells it.
			ranges: false, size: -1, requests: []string{"bytes=0-0", "bytes=1-1"},
			log: `level=WARN msg="origin mislabels ranges, falling back to a single stream"`,
		},
		{
			name: "second probe answered 200",
			handler: func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Range") == "bytes=1-1" {
					w.Header().Set("Content-Length", fmt.Sprint(size))
					w.Write(content)
					return
				}
				whole(w)
			},
			// The 200's Content-Length tells the size.
			ranges: false, size: size, requests: []string{"bytes=0-0", "bytes=1-1"},
		},
		{
			name: "second probe answered 200 without a length",
			handler: func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Range") == "bytes=1-1" {
					http.NewResponseController(w).Flush() // chunked: no length
					w.Write(content)
					return
				}
				whole(w)
			},
			ranges: false, size: -1, requests: []string{"bytes=0-0", "bytes=1-1"},
		},
		{
			name: "size unknown: no second probe",
			handler: func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodHead {
					w.WriteHeader(http.StatusMethodNotAllowed)
					return
				}
				w.Header().Set("ETag", `"w"`)
				w.WriteHeader(http.StatusPartialContent) // no Content-Range
				w.Write(content)
			},
			ranges: false, size: -1, requests: []string{"bytes=0-0"},
		},
		{
			name: "second probe refused",
			handler: func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Range") == "bytes=1-1" {
					w.WriteHeader(http.StatusServiceUnavailable)
					return
				}
				whole(w)
			},
			code: 503, requests: []string{"bytes=0-0", "bytes=1-1"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var seen []string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				if r.Method == http.MethodHead {
					seen = append(seen, "HEAD")
				} else {
					seen = append(seen, r.Header.Get("Range"))
				}
				mu.Unlock()
				tc.handler(w, r)
			}))
			defer srv.Close()
			var logs bytes.Buffer
			c := New(Options{AllowPrivate: true, Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
			defer c.CloseIdleConnections()

			info, err := c.Probe(t.Context(), srv.URL+"/f.bin", nil)
			var se *StatusError
			switch {
			case tc.code != 0 && (!errors.As(err, &se) || se.Code != tc.code):
				t.Errorf("err %v, want status %d", err, tc.code)
			case tc.code == 0 && err != nil:
				t.Fatal(err)
			case tc.code == 0 && (info.Ranges != tc.ranges || info.Identity.Size != tc.size || info.Identity.ETag != `"w"`):
				t.Errorf("ranges %v, %+v; want ranges %v, size %d, ETag \"w\"", info.Ranges, info.Identity, tc.ranges, tc.size)
			}
			mu.Lock()
			defer mu.Unlock()
			if fmt.Sprint(seen) != fmt.Sprint(tc.requests) {
				t.Errorf("origin saw %q, want %q", seen, tc.requests)
			}
			if !strings.Contains(logs.String(), tc.log) {
				t.Errorf("log lacks %s:\n%s", tc.log, logs.String())
			}
		})
	}
}

// TestProbeMislabelledBodyNotRead checks that the probe does not download
// a large file that came instead of one byte.
func TestProbeMislabelledBodyNotRead(t *testing.T) {
	const size = 256 << 20
	s := startOrigin(t, testorigin.Config{Size: size, Quirks: testorigin.Quirks{WholeForZeroZero: true}})
	info, err := loopbackClient(t).Probe(t.Context(), s.URL(), nil)
	if err != nil || !info.Ranges || info.Identity.Size != size {
		t.Fatalf("Probe: %+v, %v; want ranges and %d bytes", info, err, size)
	}
	// What socket buffers hold, nowhere near the file.
	if got := s.BytesServed(); got > size/4 {
		t.Errorf("the origin sent %d bytes for a probe", got)
	}
}

// TestRangeValidators checks that Range compares every pinned validator
// and says which one differed.
func TestRangeValidators(t *testing.T) {
	lm := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	const lmText = "Thu, 02 Jan 2025 03:04:05 GMT"
	weak := startOrigin(t, testorigin.Config{Size: 1000, ETag: `"1"`, LastModified: lm, Quirks: testorigin.Quirks{WeakETag: true}})
	strong := startOrigin(t, testorigin.Config{Size: 1000, ETag: `"abc"`, LastModified: lm})
	none := startOrigin(t, testorigin.Config{Size: 1000, NoETag: true})
	cases := []struct {
		name  string
		url   string
		id    Identity
		field string // "" = success
		msg   string // after the URL
	}{
		{name: "weak ETag and Last-Modified match", url: weak.URL(), id: Identity{Size: 1000, WeakETag: `W/"1"`, LastModified: lmText}},
		{name: "strong ETag and Last-Modified match", url: strong.URL(), id: Identity{Size: 1000, ETag: `"abc"`, LastModified: lmText}},
		{name: "weak ETag changed", url: weak.URL(), id: Identity{Size: 1000, WeakETag: `W/"2"`}, field: FieldETag, msg: ` answered with ETag W/"1" instead of W/"2"`},
		{name: "strong pinned, weak sent", url: weak.URL(), id: Identity{Size: 1000, ETag: `"1"`}, field: FieldETag, msg: ` answered with ETag W/"1" instead of "1"`},
		{name: "weak pinned, strong sent", url: strong.URL(), id: Identity{Size: 1000, WeakETag: `W/"abc"`}, field: FieldETag, msg: ` answered with ETag "abc" instead of W/"abc"`},
		{name: "ETag gone", url: none.URL(), id: Identity{Size: 1000, ETag: `"abc"`}, field: FieldETag, msg: ` answered with no ETag instead of "abc"`},
		{name: "same ETag, other Last-Modified", url: strong.URL(), id: Identity{Size: 1000, ETag: `"abc"`, LastModified: "Fri, 03 Jan 2025 03:04:05 GMT"}, field: FieldLastModified, msg: ` answered with Last-Modified ` + lmText + ` instead of Fri, 03 Jan 2025 03:04:05 GMT`},
		{name: "Last-Modified gone", url: none.URL(), id: Identity{Size: 1000, LastModified: lmText}, field: FieldLastModified, msg: ` answered with no Last-Modified instead of ` + lmText},
		{name: "other size", url: strong.URL(), id: Identity{Size: 2000, ETag: `"abc"`}, field: FieldSize, msg: ` answered with a size of 1000 bytes instead of 2000`},
	}
	c := loopbackClient(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var r recorder
			err := c.Range(t.Context(), tc.url, nil, tc.id, 0, 100, r.sink)
			if tc.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var me *MismatchError
			if !errors.As(err, &me) || !errors.Is(err, ErrIdentityChanged) || Retryable(err) {
				t.Fatalf("err %v, want a non-retryable *MismatchError", err)
			}
			if me.Field != tc.field || me.URL != tc.url || err.Error() != tc.url+tc.msg {
				t.Errorf("field %q, error %q; want %q, %q", me.Field, err, tc.field, tc.url+tc.msg)
			}
			if r.buf.Len() != 0 {
				t.Errorf("sink got %d bytes of another version", r.buf.Len())
			}
		})
	}
}

// TestWholeValidators checks Whole's size and validator checks.
func TestWholeValidators(t *testing.T) {
	s := startOrigin(t, testorigin.Config{Size: 1000, ETag: `"1"`, Quirks: testorigin.Quirks{WeakETag: true, NoRange: true}})
	c := loopbackClient(t)
	cases := []struct {
		id    Identity
		field string
	}{
		{Identity{Size: 1000, WeakETag: `W/"1"`}, ""},
		{Identity{Size: -1, WeakETag: `W/"1"`}, ""},
		{Identity{Size: 1000, WeakETag: `W/"0"`}, FieldETag},
		{Identity{Size: 999, WeakETag: `W/"1"`}, FieldSize},
	}
	for _, tc := range cases {
		err := c.Whole(t.Context(), s.URL(), nil, tc.id, func([]byte) error { return nil })
		var me *MismatchError
		switch {
		case tc.field == "" && err != nil:
			t.Errorf("%+v: %v", tc.id, err)
		case tc.field != "" && (!errors.As(err, &me) || me.Field != tc.field):
			t.Errorf("%+v: %v, want a %s mismatch", tc.id, err, tc.field)
		}
	}
}

// TestLabelQuirksThroughClient runs the origins that label one version
// inconsistently: the client must refuse exactly the responses whose
// labels differ, and say why.
func TestLabelQuirksThroughClient(t *testing.T) {
	cases := []struct {
		name string
		q    testorigin.Quirks
		want []string // per Range call: "" for success, else the mismatching field
	}{
		{name: "alternating ETags", q: testorigin.Quirks{AlternateETags: true}, want: []string{"", FieldETag, "", FieldETag}},
		{name: "ETag dropped every 3rd", q: testorigin.Quirks{DropETagEvery: 3}, want: []string{"", "", FieldETag, ""}},
		{name: "weak ETag of a new version", q: testorigin.Quirks{WeakETag: true, ChangeETagAfter: 1}, want: []string{FieldETag}},
	}
	c := loopbackClient(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := startOrigin(t, testorigin.Config{Size: 10000, Seed: 2, Quirks: testorigin.Quirks{WeakETag: tc.q.WeakETag}})
			info, err := c.Probe(t.Context(), s.URL(), nil)
			if err != nil {
				t.Fatal(err)
			}
			s.SetQuirks(tc.q)
			for i, want := range tc.want {
				var r recorder
				err := c.Range(t.Context(), info.URL, nil, info.Identity, 100, 1000, r.sink)
				var me *MismatchError
				switch {
				case want == "" && (err != nil || !bytes.Equal(r.buf.Bytes(), testorigin.Content(2, 100, 1000))):
					t.Errorf("range %d: %v", i+1, err)
				case want != "" && (!errors.As(err, &me) || me.Field != want || r.buf.Len() != 0):
					t.Errorf("range %d: %v after %d bytes, want a %s mismatch before any", i+1, err, r.buf.Len(), want)
				}
			}
		})
	}
}

// silentListener accepts connections and never writes to them.
func silentListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// TestNoAnswer checks that a server that takes the request and never
// answers fails every operation with a retryable ErrNoAnswer.
func TestNoAnswer(t *testing.T) {
	const wait = 100 * time.Millisecond
	silent := "http://" + silentListener(t) + "/f.bin"
	holding := startOrigin(t, testorigin.Config{Size: 1000, Quirks: testorigin.Quirks{NoAnswer: true}}).URL()
	c := New(Options{AllowPrivate: true, HeaderTimeout: wait})
	defer c.CloseIdleConnections()
	nop := func([]byte) error { return nil }
	ops := []struct {
		name string
		op   func(url string) error
	}{
		{"Probe", func(url string) error { _, err := c.Probe(t.Context(), url, nil); return err }},
		{"Open", func(url string) error { _, _, err := c.Open(t.Context(), url, nil, 1<<20); return err }},
		{"Range", func(url string) error { return c.Range(t.Context(), url, nil, Identity{Size: 1000}, 0, 10, nop) }},
		{"Whole", func(url string) error { return c.Whole(t.Context(), url, nil, Identity{Size: 1000}, nop) }},
	}
	for _, url := range []string{silent, holding} {
		for _, op := range ops {
			t.Run(op.name, func(t *testing.T) {
				err := op.op(url)
				want := "requesting " + url + ": the server accepted the connection but never answered (waited 100ms)"
				if !errors.Is(err, ErrNoAnswer) || !Retryable(err) || err.Error() != want {
					t.Errorf("err %v (retryable %v), want %q, retryable", err, Retryable(err), want)
				}
			})
		}
	}
}

// TestHeaderTimeoutEndsAtFirstByte checks that the header timeout does not
// limit the body: a body that stalls after the headers is the idle
// watchdog's business.
func TestHeaderTimeoutEndsAtFirstByte(t *testing.T) {
	s := startOrigin(t, testorigin.Config{Size: 100000, Quirks: testorigin.Quirks{StallEvery: 1}})
	c := New(Options{AllowPrivate: true, HeaderTimeout: 50 * time.Millisecond})
	defer c.CloseIdleConnections()
	c.idle = 500 * time.Millisecond
	var r recorder
	err := c.Range(t.Context(), s.URL(), nil, Identity{Size: 100000}, 0, 100000, r.sink)
	if errors.Is(err, ErrNoAnswer) || !errors.Is(err, errBodyIdle) || r.buf.Len() != 4096 {
		t.Fatalf("err %v after %d bytes, want an idle body after 4096", err, r.buf.Len())
	}
}

// TestRetryAt checks the uncapped moment an origin asks to be retried at.
func TestRetryAt(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		value string
		after time.Duration
		at    time.Time
	}{
		{value: "120", after: 2 * time.Minute, at: now.Add(2 * time.Minute)},
		{value: "1000000000", after: 10 * time.Minute, at: time.Date(2057, 2, 7, 13, 46, 40, 0, time.UTC)},
		{value: "99999999999999999999", after: 10 * time.Minute, at: time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)},
		{value: "Fri, 01 Jan 2100 00:00:00 GMT", after: 10 * time.Minute, at: time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)},
		{value: "Fri, 01 Jan 2021 00:00:00 GMT", after: 0, at: now},
		{value: "whenever", after: 0, at: time.Time{}},
	}
	for _, tc := range cases {
		t.Run(tc.value, func(t *testing.T) {
			s := startOrigin(t, testorigin.Config{Size: 10, Quirks: testorigin.Quirks{Status: 503, RetryAfterValue: tc.value}})
			c := loopbackClient(t)
			c.now = func() time.Time { return now }
			err := c.Range(t.Context(), s.URL(), nil, Identity{Size: 10}, 0, 10, func([]byte) error { return nil })
			if got := RetryAfter(err); got != tc.after {
				t.Errorf("RetryAfter = %s, want %s", got, tc.after)
			}
			if got := RetryAt(err); !got.Equal(tc.at) {
				t.Errorf("RetryAt = %s, want %s", got, tc.at)
			}
			t.Log(err)
		})
	}
	if !RetryAt(errors.New("x")).IsZero() || !RetryAt(nil).IsZero() {
		t.Error("RetryAt of an error without Retry-After is not zero")
	}
}

func TestMismatchErrorMessage(t *testing.T) {
	cases := []struct {
		e    MismatchError
		want string
	}{
		{MismatchError{URL: "http://h/f", Field: FieldETag, Got: `W/"2"`, Want: `W/"1"`}, `http://h/f answered with ETag W/"2" instead of W/"1"`},
		{MismatchError{URL: "http://h/f", Field: FieldETag, Want: `"abc"`}, `http://h/f answered with no ETag instead of "abc"`},
		{MismatchError{URL: "http://h/f", Field: FieldLastModified, Got: "Fri, 03 Jan 2025 03:04:05 GMT", Want: "Thu, 02 Jan 2025 03:04:05 GMT"}, `http://h/f answered with Last-Modified Fri, 03 Jan 2025 03:04:05 GMT instead of Thu, 02 Jan 2025 03:04:05 GMT`},
		{MismatchError{URL: "http://h/f", Field: FieldSize, Got: "10", Want: "20"}, `http://h/f answered with a size of 10 bytes instead of 20`},
	}
	for _, tc := range cases {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("%q, want %q", got, tc.want)
		}
		wrapped := fmt.Errorf("chunk 3: %w", &tc.e)
		var me *MismatchError
		if !errors.Is(wrapped, ErrIdentityChanged) || !errors.As(wrapped, &me) || errors.Is(wrapped, ErrRangeMismatch) {
			t.Errorf("%v: classified wrongly", wrapped)
		}
	}
}
