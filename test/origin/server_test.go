package testorigin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
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

// TestQueryStringServesFile checks that signed-URL style query strings do
// not change what a path serves.
func TestQueryStringServesFile(t *testing.T) {
	s := start(t, Config{Size: 3000, Seed: 6})
	c := client(t, "")
	cases := []struct {
		query  string
		method string
		rng    string
		status int
		off, n int64
	}{
		{query: "?sig=abc", method: http.MethodGet, status: 200, off: 0, n: 3000},
		{query: "?sig=abc&expires=1700000000", method: http.MethodGet, rng: "bytes=10-19", status: 206, off: 10, n: 10},
		{query: "?", method: http.MethodGet, status: 200, off: 0, n: 3000},
		{query: "?sig=abc", method: http.MethodHead, status: 200},
	}
	for _, tc := range cases {
		t.Run(tc.method+tc.query+tc.rng, func(t *testing.T) {
			resp, body, err := get(t, c, tc.method, s.URL()+tc.query, tc.rng)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status || !bytes.Equal(body, Content(6, tc.off, tc.n)) {
				t.Errorf("status %d with %d bytes, want %d with bytes %d+%d", resp.StatusCode, len(body), tc.status, tc.off, tc.n)
			}
			if resp.Header.Get("ETag") == "" {
				t.Error("no ETag")
			}
		})
	}
}

func TestRetryAfterValue(t *testing.T) {
	cases := []struct {
		name string
		q    Quirks
		code int
		want string
	}{
		{name: "unavailable, delay", q: Quirks{UnavailableFirst: 1, RetryAfterValue: "1000000000"}, code: 503, want: "1000000000"},
		{name: "unavailable, date", q: Quirks{UnavailableFirst: 1, RetryAfter: time.Second, RetryAfterValue: "Fri, 01 Jan 2100 00:00:00 GMT"}, code: 503, want: "Fri, 01 Jan 2100 00:00:00 GMT"},
		{name: "status 503", q: Quirks{Status: 503, RetryAfterValue: "soon"}, code: 503, want: "soon"},
		{name: "status 503 without a value", q: Quirks{Status: 503}, code: 503, want: ""},
		{name: "status 404", q: Quirks{Status: 404, RetryAfterValue: "7"}, code: 404, want: ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := start(t, Config{Size: 10, Quirks: tc.q})
			resp, _, err := get(t, client(t, ""), http.MethodGet, s.URL(), "")
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.code || resp.Header.Get("Retry-After") != tc.want {
				t.Errorf("status %d, Retry-After %q; want %d, %q", resp.StatusCode, resp.Header.Get("Retry-After"), tc.code, tc.want)
			}
		})
	}
}

// TestETagQuirks checks the ETag each response carries, in order, under
// the quirks that change how one version is labelled. The bytes must not
// change.
func TestETagQuirks(t *testing.T) {
	const a, b = `"abc"`, `"abc-alt"`
	cases := []struct {
		name string
		cfg  Config
		want []string // ETag of responses 1, 2, ... ("" = none)
	}{
		{name: "weak", cfg: Config{ETag: a, Quirks: Quirks{WeakETag: true}}, want: []string{`W/"abc"`, `W/"abc"`, `W/"abc"`}},
		{name: "weak, new version", cfg: Config{ETag: a, Quirks: Quirks{WeakETag: true, ChangeETagAfter: 1}}, want: []string{`W/"abc"`, `W/"abc-v2"`, `W/"abc-v2"`}},
		{name: "weak already", cfg: Config{ETag: `W/"x"`, Quirks: Quirks{WeakETag: true}}, want: []string{`W/"x"`, `W/"x"`}},
		{name: "alternate", cfg: Config{ETag: a, Quirks: Quirks{AlternateETags: true}}, want: []string{a, b, a, b, a}},
		{name: "alternate weak", cfg: Config{ETag: a, Quirks: Quirks{AlternateETags: true, WeakETag: true}}, want: []string{`W/` + a, `W/` + b, `W/` + a}},
		{name: "drop every 3rd", cfg: Config{ETag: a, Quirks: Quirks{DropETagEvery: 3}}, want: []string{a, a, "", a, a, ""}},
		{name: "drop every one", cfg: Config{ETag: a, Quirks: Quirks{DropETagEvery: 1}}, want: []string{"", ""}},
		{name: "no ETag stays none", cfg: Config{NoETag: true, Quirks: Quirks{AlternateETags: true, WeakETag: true}}, want: []string{"", ""}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Size, tc.cfg.Seed = 1000, 4
			s := start(t, tc.cfg)
			c := client(t, "")
			for i, want := range tc.want {
				// HEAD and ranged GETs count alike.
				method, rng := http.MethodGet, "bytes=0-99"
				if i%3 == 2 {
					method, rng = http.MethodHead, ""
				}
				resp, body, err := get(t, c, method, s.URL(), rng)
				if err != nil {
					t.Fatal(err)
				}
				if got := resp.Header.Get("ETag"); got != want {
					t.Errorf("response %d: ETag %q, want %q", i+1, got, want)
				}
				wantBody := Content(4, 0, 100)
				if tc.cfg.Quirks.ChangeETagAfter > 0 && i > 0 {
					wantBody = Content(5, 0, 100) // the second version
				}
				if method == http.MethodGet && !bytes.Equal(body, wantBody) {
					t.Errorf("response %d: body is not the file's", i+1)
				}
			}
		})
	}
}

// TestCountersRestartOnSetQuirks checks that the counted quirks count from
// SetQuirks, so that tests know which response is picked.
func TestCountersRestartOnSetQuirks(t *testing.T) {
	s := start(t, Config{Size: 10, ETag: `"e"`})
	c := client(t, "")
	for range 3 {
		get(t, c, http.MethodGet, s.URL(), "")
	}
	s.SetQuirks(Quirks{DropETagEvery: 2})
	var got []string
	for range 4 {
		resp, _, err := get(t, c, http.MethodGet, s.URL(), "")
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, resp.Header.Get("ETag"))
	}
	if want := []string{`"e"`, "", `"e"`, ""}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("ETags %q, want %q", got, want)
	}
}

func TestWholeForZeroZero(t *testing.T) {
	const size = 50000
	s := start(t, Config{Size: size, Seed: 2, Quirks: Quirks{WholeForZeroZero: true}})
	c := client(t, "")
	cases := []struct {
		rng        string
		off, n     int64
		contentRng string
	}{
		{rng: "bytes=0-0", off: 0, n: size, contentRng: "bytes 0-49999/50000"},
		{rng: "bytes=1-1", off: 1, n: 1, contentRng: "bytes 1-1/50000"},
		{rng: "bytes=0-1", off: 0, n: 2, contentRng: "bytes 0-1/50000"},
		{rng: "bytes=0-", off: 0, n: size, contentRng: "bytes 0-49999/50000"},
		{rng: "bytes=-1", off: size - 1, n: 1, contentRng: "bytes 49999-49999/50000"},
		{rng: "bytes=100-199", off: 100, n: 100, contentRng: "bytes 100-199/50000"},
	}
	for _, tc := range cases {
		t.Run(tc.rng, func(t *testing.T) {
			resp, body, err := get(t, c, http.MethodGet, s.URL(), tc.rng)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 206 || resp.Header.Get("Content-Range") != tc.contentRng || resp.ContentLength != tc.n {
				t.Errorf("%s, Content-Range %q, length %d; want 206, %q, %d", resp.Status, resp.Header.Get("Content-Range"), resp.ContentLength, tc.contentRng, tc.n)
			}
			if !bytes.Equal(body, Content(2, tc.off, tc.n)) {
				t.Errorf("body is not bytes %d+%d (%d bytes)", tc.off, tc.n, len(body))
			}
		})
	}
}

func TestPaceFor(t *testing.T) {
	trickle := pace{on: true, after: defaultTrickleAfter, every: time.Second}
	stall := pace{on: true, after: stallAfter, every: -1}
	cases := []struct {
		name string
		q    Quirks
		want []pace // for body responses 1, 2, ...
	}{
		{name: "off", q: Quirks{}, want: []pace{{}, {}, {}}},
		{name: "trickle every 2nd", q: Quirks{TrickleEvery: 2}, want: []pace{{}, trickle, {}, trickle}},
		{name: "trickle after 10", q: Quirks{TrickleEvery: 1, TrickleAfter: 10}, want: []pace{{on: true, after: 10, every: time.Second}}},
		{name: "stall every 3rd", q: Quirks{StallEvery: 3}, want: []pace{{}, {}, stall, {}, {}, stall}},
		{name: "stall wins", q: Quirks{StallEvery: 2, TrickleEvery: 1}, want: []pace{trickle, stall, trickle, stall}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for i, want := range tc.want {
				if got := paceFor(i+1, tc.q); got != want {
					t.Errorf("body response %d: %+v, want %+v", i+1, got, want)
				}
			}
		})
	}
}

// TestPause checks the real clock of trickling and the ends of a pause,
// on synctest's fake clock.
func TestPause(t *testing.T) {
	cases := []struct {
		name  string
		d     time.Duration
		end   func(s *Server, cancel context.CancelFunc) // after 5 s, or nil
		want  bool
		after time.Duration
	}{
		{name: "one second", d: time.Second, want: true, after: time.Second},
		{name: "request ends", d: time.Minute, end: func(_ *Server, cancel context.CancelFunc) { cancel() }, after: 5 * time.Second},
		{name: "forever until the request ends", d: -1, end: func(_ *Server, cancel context.CancelFunc) { cancel() }, after: 5 * time.Second},
		{name: "forever until Close", d: -1, end: func(s *Server, _ context.CancelFunc) { s.Close() }, after: 5 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := New(Config{Size: 10})
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				if tc.end != nil {
					go func() {
						time.Sleep(5 * time.Second)
						tc.end(s, cancel)
					}()
				}
				began := time.Now()
				if got := s.pause(ctx, tc.d); got != tc.want {
					t.Errorf("pause = %v, want %v", got, tc.want)
				}
				if took := time.Since(began); took != tc.after {
					t.Errorf("pause took %s, want %s", took, tc.after)
				}
			})
		})
	}
}

// fakeClock stands in for Server.wait: every pause is reported on paused
// and lasts until the test sends on tick (true) or the request ends.
type fakeClock struct {
	paused chan time.Duration
	tick   chan struct{}
	ended  chan struct{} // receives when a pause ends without a tick
}

func installFakeClock(s *Server) *fakeClock {
	f := &fakeClock{paused: make(chan time.Duration, 16), tick: make(chan struct{}), ended: make(chan struct{}, 16)}
	s.wait = func(ctx context.Context, d time.Duration) bool {
		f.paused <- d
		select {
		case <-f.tick:
			return true
		case <-ctx.Done():
		case <-s.quit:
		}
		f.ended <- struct{}{}
		return false
	}
	return f
}

// receive waits for a value the server must produce; a broken server
// fails the test instead of hanging it.
func receive[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(20 * time.Second):
		t.Fatalf("no %s after 20s", what)
		panic("unreachable")
	}
}

func TestTrickle(t *testing.T) {
	const (
		size  = 20000
		after = 100
	)
	s := New(Config{Size: size, Seed: 3, Quirks: Quirks{TrickleEvery: 2, TrickleAfter: after}})
	clock := installFakeClock(s)
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	c := client(t, "")

	// Body response 1 is whole; HEAD does not count.
	if resp, body, err := get(t, c, http.MethodGet, s.URL(), "bytes=0-999"); err != nil || resp.StatusCode != 206 || len(body) != 1000 {
		t.Fatalf("response 1: %v, %d bytes", err, len(body))
	}
	if _, _, err := get(t, c, http.MethodHead, s.URL(), ""); err != nil {
		t.Fatal(err)
	}

	// Body response 2 trickles: after bytes, then one byte per tick.
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, s.URL(), nil)
	req.Header.Set("Range", "bytes=0-999")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, after+3)
	if _, err := io.ReadFull(resp.Body, buf[:after]); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if d := receive(t, clock.paused, "pause"); d != time.Second {
			t.Errorf("paused for %s, want 1s", d)
		}
		clock.tick <- struct{}{}
	}
	if _, err := io.ReadFull(resp.Body, buf[after:]); err != nil {
		t.Fatal(err)
	}
	receive(t, clock.paused, "fourth pause")
	if !bytes.Equal(buf, Content(3, 0, after+3)) {
		t.Error("trickled bytes are not the file's")
	}
	// The handler waits for a fourth tick: nothing more was sent.
	if got := s.BytesServed(); got != 1000+after+3 {
		t.Errorf("served %d bytes, want %d", got, 1000+after+3)
	}

	// Body response 3 is whole again, while 2 still trickles.
	if _, body, err := get(t, c, http.MethodGet, s.URL(), "bytes=0-999"); err != nil || !bytes.Equal(body, Content(3, 0, 1000)) {
		t.Fatalf("response 3: %v, %d bytes", err, len(body))
	}
	resp.Body.Close()
	receive(t, clock.ended, "end of the pause when the client left")
}

// TestStall checks that a stalled response sends 4 KiB and then nothing,
// and that Close ends it.
func TestStall(t *testing.T) {
	s := New(Config{Size: 50000, Seed: 7, Quirks: Quirks{StallEvery: 1}})
	clock := installFakeClock(s)
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	resp, err := client(t, "").Get(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if d := receive(t, clock.paused, "stall"); d >= 0 {
		t.Errorf("stalled for %s, want forever", d)
	}
	if got := s.BytesServed(); got != stallAfter {
		t.Errorf("served %d bytes before stalling, want %d", got, stallAfter)
	}
	s.Close()
	receive(t, clock.ended, "end of the stall at Close")
	body, err := io.ReadAll(resp.Body)
	if err == nil || !bytes.Equal(body, Content(7, 0, stallAfter)) {
		t.Errorf("read %d bytes and %v, want the first %d bytes and an error", len(body), err, stallAfter)
	}
}

// TestCloseEndsPausedRequests runs each pausing quirk on the real clock
// and checks that Close ends the handler and the client's request.
func TestCloseEndsPausedRequests(t *testing.T) {
	cases := []struct {
		name string
		q    Quirks
	}{
		{name: "trickle", q: Quirks{TrickleEvery: 1, TrickleAfter: 10}},
		{name: "stall", q: Quirks{StallEvery: 1}},
		{name: "no answer", q: Quirks{NoAnswer: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := New(Config{Size: 1 << 20, Quirks: tc.q})
			entered, left := make(chan struct{}, 64), make(chan bool, 64)
			s.wait = func(ctx context.Context, d time.Duration) bool {
				entered <- struct{}{}
				ok := s.pause(ctx, d)
				left <- ok
				return ok
			}
			if err := s.Start("127.0.0.1:0"); err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			c := client(t, "")
			done := make(chan error, 1)
			go func() {
				resp, err := c.Get(s.URL())
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				done <- err
			}()
			receive(t, entered, "pause")
			s.Close()
			// A trickle may have ticked before Close; the pause that Close
			// ends reports false.
			for receive(t, left, "end of the pause") {
			}
			if err := receive(t, done, "end of the request"); err == nil {
				t.Error("the client's request succeeded")
			}
		})
	}
}

// TestNoAnswer checks that the client gets no status line at all.
func TestNoAnswer(t *testing.T) {
	s := New(Config{Size: 100, Quirks: Quirks{NoAnswer: true}})
	clock := installFakeClock(s)
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithCancel(t.Context())
	c := client(t, "")
	done := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL(), nil)
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
			err = fmt.Errorf("got %s", resp.Status)
		}
		done <- err
	}()
	receive(t, clock.paused, "request held")
	if s.Requests() != 1 {
		t.Errorf("Requests() = %d, want 1", s.Requests())
	}
	cancel()
	receive(t, clock.ended, "end of the hold when the client left")
	if err := receive(t, done, "end of the request"); !errors.Is(err, context.Canceled) {
		t.Errorf("client: %v, want its own cancellation", err)
	}
}

// TestSharedRate: with SharedRate, two client addresses together get one
// budget, as two machines behind one uplink.
func TestSharedRate(t *testing.T) {
	const (
		rate   = 256 << 10
		window = 800 * time.Millisecond
	)
	s := start(t, Config{Size: 64 << 20, Seed: 1, RatePerSource: rate, SharedRate: true})
	ctx, cancel := context.WithTimeout(t.Context(), window)
	defer cancel()
	var wg sync.WaitGroup
	for _, src := range []string{"127.0.0.2", "127.0.0.3"} {
		c := client(t, src)
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
	wg.Wait()
	limit := int64(rate*window.Seconds()) + int64(s.slice)*2
	got := s.BytesBySource()
	if sum := got["127.0.0.2"] + got["127.0.0.3"]; sum > limit || got["127.0.0.2"] == 0 || got["127.0.0.3"] == 0 {
		t.Errorf("bytes by source %v: together %d, want both served and at most one budget (%d)", got, sum, limit)
	}
}
