package testorigin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// start runs a server on loopback for the length of the test.
func start(t *testing.T, cfg Config) *Server {
	t.Helper()
	s := New(cfg)
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// client returns an HTTP client whose connections leave from source (a
// 127.0.0.x address) and that does not follow redirects.
func client(t *testing.T, source string) *http.Client {
	t.Helper()
	d := &net.Dialer{Timeout: 5 * time.Second}
	if source != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(source)}
	}
	tr := &http.Transport{DialContext: d.DialContext, DisableCompression: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{
		Transport:     tr,
		Timeout:       20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func get(t *testing.T, c *http.Client, method, url, rng string) (*http.Response, []byte, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rng != "" {
		req.Header.Set("Range", rng)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

func TestServesRanges(t *testing.T) {
	const size = 100000
	s := start(t, Config{Size: size, Seed: 5})
	c := client(t, "")
	cases := []struct {
		rng        string
		status     int
		off, n     int64
		contentRng string
	}{
		{rng: "", status: 200, off: 0, n: size},
		{rng: "bytes=0-0", status: 206, off: 0, n: 1, contentRng: "bytes 0-0/100000"},
		{rng: "bytes=10-19", status: 206, off: 10, n: 10, contentRng: "bytes 10-19/100000"},
		{rng: "bytes=99990-", status: 206, off: 99990, n: 10, contentRng: "bytes 99990-99999/100000"},
		{rng: "bytes=-5", status: 206, off: 99995, n: 5, contentRng: "bytes 99995-99999/100000"},
		{rng: "bytes=99999-200000", status: 206, off: 99999, n: 1, contentRng: "bytes 99999-99999/100000"},
		{rng: "BYTES=1-2", status: 206, off: 1, n: 2, contentRng: "bytes 1-2/100000"},
		{rng: "bytes=100000-", status: 416, contentRng: "bytes */100000"},
		{rng: "bytes=0-1,5-6", status: 200, off: 0, n: size},
		{rng: "bytes=5-1", status: 200, off: 0, n: size},
		{rng: "items=0-1", status: 200, off: 0, n: size},
	}
	for _, tc := range cases {
		t.Run(tc.rng, func(t *testing.T) {
			resp, body, err := get(t, c, http.MethodGet, s.URL(), tc.rng)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if got := resp.Header.Get("Content-Range"); got != tc.contentRng {
				t.Errorf("Content-Range %q, want %q", got, tc.contentRng)
			}
			if tc.status == 416 {
				return
			}
			if !bytes.Equal(body, Content(5, tc.off, tc.n)) {
				t.Errorf("body is not bytes %d+%d of the content (got %d bytes)", tc.off, tc.n, len(body))
			}
			if resp.Header.Get("ETag") == "" || resp.Header.Get("Accept-Ranges") != "bytes" {
				t.Errorf("missing ETag or Accept-Ranges: %v", resp.Header)
			}
		})
	}
}

func TestHead(t *testing.T) {
	lm := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	s := start(t, Config{Size: 1234, Seed: 1, ETag: `"abc"`, LastModified: lm, Name: "a b.iso"})
	resp, body, err := get(t, client(t, ""), http.MethodHead, s.URL(), "")
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.ContentLength != 1234 || len(body) != 0 {
		t.Fatalf("HEAD: status %d, length %d, %d body bytes", resp.StatusCode, resp.ContentLength, len(body))
	}
	if got := resp.Header.Get("ETag"); got != `"abc"` {
		t.Errorf("ETag %q", got)
	}
	if got := resp.Header.Get("Last-Modified"); got != "Wed, 01 May 2024 12:00:00 GMT" {
		t.Errorf("Last-Modified %q", got)
	}
	if !strings.HasSuffix(s.URL(), "/a%20b.iso") {
		t.Errorf("URL %s does not escape the name", s.URL())
	}
	if s.BytesServed() != 0 {
		t.Errorf("HEAD counted %d body bytes", s.BytesServed())
	}
}

func TestQuirks(t *testing.T) {
	const size = 50000
	cases := []struct {
		name   string
		q      Quirks
		method string
		rng    string
		check  func(t *testing.T, resp *http.Response, body []byte, err error)
	}{
		{
			name: "NoRange", q: Quirks{NoRange: true}, rng: "bytes=0-9",
			check: func(t *testing.T, resp *http.Response, body []byte, err error) {
				if err != nil || resp.StatusCode != 200 || len(body) != size || resp.Header.Get("Accept-Ranges") != "" {
					t.Errorf("got %v, %d bytes, %v", resp.Status, len(body), err)
				}
			},
		},
		{
			name: "HeadNotAllowed", q: Quirks{HeadNotAllowed: true}, method: http.MethodHead,
			check: func(t *testing.T, resp *http.Response, _ []byte, err error) {
				if err != nil || resp.StatusCode != 405 {
					t.Errorf("got %v, %v", resp.Status, err)
				}
			},
		},
		{
			name: "WrongContentRange", q: Quirks{WrongContentRange: true}, rng: "bytes=10-19",
			check: func(t *testing.T, resp *http.Response, body []byte, err error) {
				if err != nil || resp.StatusCode != 206 || resp.Header.Get("Content-Range") != "bytes 11-20/50000" {
					t.Errorf("got %v, Content-Range %q, %v", resp.Status, resp.Header.Get("Content-Range"), err)
				}
				if !bytes.Equal(body, Content(1, 10, 10)) {
					t.Error("body is not the bytes asked for")
				}
			},
		},
		{
			name: "WrongContentRangeAtEnd", q: Quirks{WrongContentRange: true}, rng: "bytes=49990-",
			check: func(t *testing.T, resp *http.Response, _ []byte, _ error) {
				if got := resp.Header.Get("Content-Range"); got != "bytes 49989-49998/50000" {
					t.Errorf("Content-Range %q", got)
				}
			},
		},
		{
			name: "CutAfter", q: Quirks{CutAfter: 1000}, rng: "bytes=0-9999",
			check: func(t *testing.T, resp *http.Response, body []byte, err error) {
				if !errors.Is(err, io.ErrUnexpectedEOF) || len(body) != 1000 {
					t.Errorf("got %d bytes, %v; want 1000 and an unexpected EOF", len(body), err)
				}
				if !bytes.Equal(body, Content(1, 0, int64(len(body)))) {
					t.Error("cut body has wrong bytes")
				}
			},
		},
		{
			name: "ResetAfter", q: Quirks{ResetAfter: 1000},
			check: func(t *testing.T, _ *http.Response, body []byte, err error) {
				if err == nil || len(body) > 1000 {
					t.Errorf("got %d bytes, %v; want at most 1000 and an error", len(body), err)
				}
			},
		},
		{
			name: "Status", q: Quirks{Status: 404},
			check: func(t *testing.T, resp *http.Response, _ []byte, err error) {
				if err != nil || resp.StatusCode != 404 {
					t.Errorf("got %v, %v", resp.Status, err)
				}
			},
		},
		{
			name: "Unavailable", q: Quirks{UnavailableFirst: 1, RetryAfter: 1500 * time.Millisecond},
			check: func(t *testing.T, resp *http.Response, _ []byte, err error) {
				if err != nil || resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "2" {
					t.Errorf("got %v, Retry-After %q, %v", resp.Status, resp.Header.Get("Retry-After"), err)
				}
			},
		},
		{
			name: "Redirects", q: Quirks{Redirects: 2},
			check: func(t *testing.T, resp *http.Response, _ []byte, err error) {
				if err != nil || resp.StatusCode != 302 || resp.Header.Get("Location") != "/r/1/file.bin" {
					t.Errorf("got %v, Location %q, %v", resp.Status, resp.Header.Get("Location"), err)
				}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := start(t, Config{Size: size, Seed: 1, Quirks: tc.q})
			method := tc.method
			if method == "" {
				method = http.MethodGet
			}
			resp, body, err := get(t, client(t, ""), method, s.URL(), tc.rng)
			if resp == nil && err != nil && tc.name != "ResetAfter" {
				t.Fatal(err)
			}
			tc.check(t, resp, body, err)
		})
	}
}

func TestUnavailableThenServes(t *testing.T) {
	s := start(t, Config{Size: 10, Seed: 1, Quirks: Quirks{UnavailableFirst: 2}})
	c := client(t, "")
	var codes []int
	for range 3 {
		resp, _, err := get(t, c, http.MethodGet, s.URL(), "")
		if err != nil {
			t.Fatal(err)
		}
		codes = append(codes, resp.StatusCode)
	}
	if codes[0] != 503 || codes[1] != 503 || codes[2] != 200 {
		t.Fatalf("statuses %v, want [503 503 200]", codes)
	}
	s.SetQuirks(Quirks{UnavailableFirst: 1})
	if resp, _, _ := get(t, c, http.MethodGet, s.URL(), ""); resp.StatusCode != 503 {
		t.Fatalf("after SetQuirks: status %d, want 503", resp.StatusCode)
	}
}

func TestRedirectChainEndsAtFile(t *testing.T) {
	s := start(t, Config{Size: 100, Seed: 2, Quirks: Quirks{Redirects: 3}})
	c := client(t, "")
	url := s.URL()
	base := strings.TrimSuffix(url, "/file.bin")
	for hop := range 4 {
		resp, body, err := get(t, c, http.MethodGet, url, "")
		if err != nil {
			t.Fatal(err)
		}
		if hop < 3 {
			if resp.StatusCode != 302 {
				t.Fatalf("hop %d: status %d, want 302", hop, resp.StatusCode)
			}
			url = base + resp.Header.Get("Location")
			continue
		}
		if resp.StatusCode != 200 || !bytes.Equal(body, Content(2, 0, 100)) {
			t.Fatalf("end of chain: status %d, %d bytes", resp.StatusCode, len(body))
		}
	}
	if s.Requests() != 4 {
		t.Errorf("Requests() = %d, want 4", s.Requests())
	}
}

func TestChangeETagAfter(t *testing.T) {
	s := start(t, Config{Size: 1000, Seed: 9, LastModified: time.Unix(1e9, 0), Quirks: Quirks{ChangeETagAfter: 1000}})
	c := client(t, "")
	first, body1, err := get(t, c, http.MethodGet, s.URL(), "")
	if err != nil {
		t.Fatal(err)
	}
	second, body2, err := get(t, c, http.MethodGet, s.URL(), "")
	if err != nil {
		t.Fatal(err)
	}
	if first.Header.Get("ETag") == second.Header.Get("ETag") || first.Header.Get("Last-Modified") == second.Header.Get("Last-Modified") {
		t.Errorf("validators did not change: %v / %v", first.Header, second.Header)
	}
	if !bytes.Equal(body1, Content(9, 0, 1000)) || !bytes.Equal(body2, Content(10, 0, 1000)) {
		t.Error("versions do not have the documented content")
	}
}

func TestNoETag(t *testing.T) {
	s := start(t, Config{Size: 10, NoETag: true})
	resp, _, err := get(t, client(t, ""), http.MethodHead, s.URL(), "")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := resp.Header["Etag"]; ok {
		t.Errorf("ETag sent: %q", resp.Header.Get("ETag"))
	}
}

func TestStatsAndCounters(t *testing.T) {
	s := start(t, Config{Size: 3000, Seed: 1})
	for _, src := range []string{"127.0.0.2", "127.0.0.3", "127.0.0.3"} {
		if _, _, err := get(t, client(t, src), http.MethodGet, s.URL(), "bytes=0-999"); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]int64{"127.0.0.2": 1000, "127.0.0.3": 2000}
	got := s.BytesBySource()
	if len(got) != 2 || got["127.0.0.2"] != 1000 || got["127.0.0.3"] != 2000 {
		t.Errorf("BytesBySource() = %v, want %v", got, want)
	}
	if s.BytesServed() != 3000 || s.Requests() != 3 {
		t.Errorf("BytesServed() = %d, Requests() = %d; want 3000, 3", s.BytesServed(), s.Requests())
	}

	base := strings.TrimSuffix(s.URL(), "/file.bin")
	resp, body, err := get(t, client(t, ""), http.MethodGet, base+"/stats", "")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("/stats: %v %v", resp, err)
	}
	var stats struct {
		BytesTotal int64            `json:"bytes_total"`
		BySource   map[string]int64 `json:"by_source"`
		Requests   int              `json:"requests"`
	}
	if err := json.Unmarshal(body, &stats); err != nil {
		t.Fatalf("/stats: %v in %s", err, body)
	}
	if stats.BytesTotal != 3000 || stats.Requests != 3 || stats.BySource["127.0.0.3"] != 2000 {
		t.Errorf("/stats = %s", body)
	}
	if resp, _, _ := get(t, client(t, ""), http.MethodGet, base+"/other", ""); resp.StatusCode != 404 {
		t.Errorf("unknown path: status %d, want 404", resp.StatusCode)
	}
}

// TestRatePerSource checks that each client address gets its own budget,
// shared by all of its connections. It asserts byte counts over a fixed
// window, not timings: a token bucket can never exceed rate*window+burst,
// so the upper bound holds however slow the machine is.
func TestRatePerSource(t *testing.T) {
	const (
		rate   = 256 << 10
		window = 800 * time.Millisecond
		conns  = 3
	)
	s := start(t, Config{Size: 64 << 20, Seed: 1, RatePerSource: rate})
	ctx, cancel := context.WithTimeout(t.Context(), window)
	defer cancel()
	var wg sync.WaitGroup
	for _, src := range []string{"127.0.0.2", "127.0.0.3"} {
		c := client(t, src)
		for range conns {
			wg.Go(func() {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL(), nil)
				resp, err := c.Do(req)
				if err != nil {
					return
				}
				defer resp.Body.Close()
				io.Copy(io.Discard, resp.Body)
			})
		}
	}
	wg.Wait()

	// The bound allows for the window starting before the first request
	// and for the bucket's initial burst.
	limit := int64(rate*window.Seconds()) + int64(s.slice)*2
	got := s.BytesBySource()
	t.Logf("bytes by source after %s at %d B/s: %v (bound %d)", window, rate, got, limit)
	for _, src := range []string{"127.0.0.2", "127.0.0.3"} {
		n := got[src]
		if n > limit {
			t.Errorf("%s got %d bytes over %d connections in %s, more than one budget (%d)", src, n, conns, window, limit)
		}
		if n < limit/10 {
			t.Errorf("%s got only %d bytes in %s (budget %d)", src, n, window, limit)
		}
	}
}

func TestParseRange(t *testing.T) {
	cases := []struct {
		h      string
		size   int64
		off, n int64
		res    rangeResult
	}{
		{"bytes=0-0", 10, 0, 1, rangeOK},
		{"bytes=0-", 10, 0, 10, rangeOK},
		{"bytes=3-100", 10, 3, 7, rangeOK},
		{"bytes=-3", 10, 7, 3, rangeOK},
		{"bytes=-30", 10, 0, 10, rangeOK},
		{"bytes= 2 - 4 ", 10, 2, 3, rangeOK},
		{"bytes=10-", 10, 0, 0, rangeUnsatisfiable},
		{"bytes=-0", 10, 0, 0, rangeUnsatisfiable},
		{"bytes=0-0", 0, 0, 0, rangeUnsatisfiable},
		{"bytes=4-3", 10, 0, 0, rangeIgnored},
		{"bytes=a-3", 10, 0, 0, rangeIgnored},
		{"bytes=1-2,4-5", 10, 0, 0, rangeIgnored},
		{"bytes=99999999999999999999-", 10, 0, 0, rangeIgnored},
		{"bytes=", 10, 0, 0, rangeIgnored},
		{"bytes 0-1", 10, 0, 0, rangeIgnored},
	}
	for _, c := range cases {
		off, n, res := parseRange(c.h, c.size)
		if res != c.res || (res == rangeOK && (off != c.off || n != c.n)) {
			t.Errorf("parseRange(%q, %d) = %d, %d, %v; want %d, %d, %v", c.h, c.size, off, n, res, c.off, c.n, c.res)
		}
	}
}

func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"bytes=0-0", "bytes=-5", "bytes=5-", "bytes=1-2,3-4", "bytes=9223372036854775807-"} {
		f.Add(s, int64(100))
	}
	f.Fuzz(func(t *testing.T, h string, size int64) {
		if size < 0 {
			size = -(size + 1)
		}
		off, n, res := parseRange(h, size)
		if res == rangeOK && (off < 0 || n <= 0 || off > size-n) {
			t.Fatalf("parseRange(%q, %d) = %d, %d: outside the file", h, size, off, n)
		}
	})
}

func TestLatency(t *testing.T) {
	const latency = 150 * time.Millisecond
	s := start(t, Config{Size: 10, Latency: latency})
	c := client(t, "")
	for range 2 {
		began := time.Now()
		if _, _, err := get(t, c, http.MethodGet, s.URL(), ""); err != nil {
			t.Fatal(err)
		}
		// A lower bound only: a slow machine can add time, never remove it.
		if took := time.Since(began); took < latency {
			t.Errorf("response after %s, want at least %s", took, latency)
		}
	}
}
