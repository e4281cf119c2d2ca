package origin

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// seen is what one test server was sent.
type seen struct {
	method, path string
	header       http.Header
}

// hostBed runs two hosts, a.example.com and b.example.com, each with an
// https and an http server on loopback. The fake network routes their
// made-up public addresses to those servers; nothing real is resolved or
// dialled. Every server redirects /go?to=URL to URL and serves a 100-byte
// file at /file, and records every request it gets.
type hostBed struct {
	mu  sync.Mutex
	log map[string][]seen // by "https://a.example.com" and so on
}

func newHostBed(t *testing.T) (*hostBed, *Client) {
	t.Helper()
	bed := &hostBed{log: map[string][]seen{}}
	routes := map[string]string{}
	var roots *x509.CertPool
	for _, host := range []struct{ name, ip string }{{"a.example.com", "203.0.113.1"}, {"b.example.com", "203.0.113.2"}} {
		for _, scheme := range []string{"https", "http"} {
			origin := scheme + "://" + host.name
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				bed.mu.Lock()
				bed.log[origin] = append(bed.log[origin], seen{r.Method, r.URL.Path, r.Header.Clone()})
				bed.mu.Unlock()
				if to := r.URL.Query().Get("to"); r.URL.Path == "/go" && to != "" {
					http.Redirect(w, r, to, http.StatusFound)
					return
				}
				if r.Method == http.MethodHead && r.URL.Query().Has("nohead") {
					w.WriteHeader(http.StatusMethodNotAllowed)
					return
				}
				w.Header().Set("ETag", `"v1"`)
				http.ServeContent(w, r, "file.bin", time.Time{}, strings.NewReader(strings.Repeat("x", 100)))
			})
			var srv *httptest.Server
			port := "80"
			if scheme == "https" {
				srv, port = httptest.NewTLSServer(h), "443"
				roots = x509.NewCertPool()
				roots.AddCert(srv.Certificate()) // httptest's certificate covers *.example.com
			} else {
				srv = httptest.NewServer(h)
			}
			t.Cleanup(srv.Close)
			routes[host.ip+":"+port] = srv.Listener.Addr().String()
		}
	}
	f := &fakeNet{
		names:  map[string][]string{"a.example.com": {"203.0.113.1"}, "b.example.com": {"203.0.113.2"}},
		routes: routes,
	}
	c := guardedClient(t, &guard{resolve: f, connect: f.connect})
	c.transport.TLSClientConfig = &tls.Config{RootCAs: roots}
	return bed, c
}

// requests returns what origin was sent for path.
func (b *hostBed) requests(origin, path string) []seen {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []seen
	for _, s := range b.log[origin] {
		if s.path == path {
			out = append(out, s)
		}
	}
	return out
}

// linkHeaders are what a link might carry; each value holds "secret" so
// that a leak into any header, the Referer included, shows.
var linkHeaders = map[string]string{
	"Authorization": "Bearer secret-token",
	"Cookie":        "session=secret-cookie",
	"X-Api-Key":     "secret-key",
	"User-Agent":    "secret-agent/1",
}

func via(hops ...string) string {
	u := hops[len(hops)-1]
	for i := len(hops) - 2; i >= 0; i-- {
		u = hops[i] + "/go?token=secret-query&to=" + url.QueryEscape(u)
	}
	return u
}

// TestRedirectHeaders checks, for each kind of redirect, which headers the
// final server sees on the probe (one ranged GET, from Probe or Open) and
// on the ranged GETs that follow to Info.URL with Info.Headers.
func TestRedirectHeaders(t *testing.T) {
	cases := []struct {
		name   string
		start  string
		final  string // the origin serving /file
		kept   bool   // the link's headers reach it
		refere string // the Referer the final server sees on the probe
	}{
		{"same host", via("https://a.example.com", "https://a.example.com/file"), "https://a.example.com", true, ""},
		{"other host", via("https://a.example.com", "https://b.example.com/file"), "https://b.example.com", false, "https://a.example.com/"},
		{"https to http on the same host", via("https://a.example.com", "http://a.example.com/file"), "http://a.example.com", false, "-"},
		{"http to https on the same host", via("http://a.example.com", "https://a.example.com/file"), "https://a.example.com", true, ""},
		{"away and back", via("https://a.example.com", "https://b.example.com", "https://a.example.com/file"), "https://a.example.com", false, ""},
		{"no redirect", "https://a.example.com/file", "https://a.example.com", true, "-"},
	}
	probes := []struct {
		name  string
		rng   string // the probe's Range
		probe func(c *Client, url string) (Info, error)
	}{
		{"Probe", "bytes=0-0", func(c *Client, url string) (Info, error) { return c.Probe(t.Context(), url, linkHeaders) }},
		{"Open", "bytes=0-49", func(c *Client, url string) (Info, error) {
			info, first, err := c.Open(t.Context(), url, linkHeaders, 50)
			if err != nil {
				return info, err
			}
			if first == nil || first.Len() != 50 {
				t.Fatalf("First %v, want 50 bytes", first)
			}
			var r recorder
			if err := first.Stream(t.Context(), r.sink); err != nil || r.buf.String() != strings.Repeat("x", 50) {
				t.Fatalf("First.Stream: %v, %q", err, r.buf.String())
			}
			return info, nil
		}},
	}
	for _, p := range probes {
		for _, tc := range cases {
			t.Run(p.name+"/"+tc.name, func(t *testing.T) {
				bed, c := newHostBed(t)
				info, err := p.probe(c, tc.start)
				if err != nil {
					t.Fatal(err)
				}
				if info.URL != tc.final+"/file" || !info.Ranges || info.Identity.Size != 100 {
					t.Fatalf("probe: %+v", info)
				}
				wantHeaders := map[string]string(nil)
				if tc.kept {
					wantHeaders = linkHeaders
				}
				if !reflect.DeepEqual(info.Headers, wantHeaders) {
					t.Errorf("Info.Headers = %v, want %v", info.Headers, wantHeaders)
				}
				if err := c.Range(t.Context(), info.URL, info.Headers, info.Identity, 10, 20, func([]byte) error { return nil }); err != nil {
					t.Fatal(err)
				}

				got := bed.requests(tc.final, "/file")
				var methods []string
				for _, s := range got {
					methods = append(methods, s.method+" "+s.header.Get("Range"))
				}
				if want := []string{"GET " + p.rng, "GET bytes=10-29"}; !reflect.DeepEqual(methods, want) {
					t.Fatalf("%s was sent %q, want %q", tc.final, methods, want)
				}
				for _, s := range got {
					for name, value := range linkHeaders {
						switch v := s.header.Get(name); {
						case tc.kept && v != value:
							t.Errorf("%s %s: %s is %q, want %q", s.method, s.header.Get("Range"), name, v, value)
						case !tc.kept && name == "User-Agent" && v != "dragonload":
							t.Errorf("%s %s: User-Agent is %q, want the client's own", s.method, s.header.Get("Range"), v)
						case !tc.kept && name != "User-Agent" && v != "":
							t.Errorf("%s %s: %s %q reached another host or went over http", s.method, s.header.Get("Range"), name, v)
						}
					}
					if !tc.kept {
						for name, values := range s.header {
							if strings.Contains(strings.Join(values, " "), "secret") {
								t.Errorf("%s %s: header %s leaks %q", s.method, s.header.Get("Range"), name, values)
							}
						}
					}
					if s.header.Get("Accept-Encoding") != "identity" {
						t.Errorf("%s: Accept-Encoding %q", s.method, s.header.Get("Accept-Encoding"))
					}
				}
				// The probe followed the redirects; the GET after it went
				// straight to the URL where it ended.
				switch ref := got[0].header.Get("Referer"); {
				case tc.refere == "-" && ref != "":
					t.Errorf("probe: Referer %q, want none", ref)
				case tc.refere != "" && tc.refere != "-" && ref != tc.refere:
					t.Errorf("probe: Referer %q, want %q", ref, tc.refere)
				}
			})
		}
	}
}

// TestProbeSendsNoHEAD: the probe is one ranged GET, which follows the
// redirects itself (Info.Headers comes from its chain); no host is ever
// sent HEAD, and one that refuses HEAD makes no difference.
func TestProbeSendsNoHEAD(t *testing.T) {
	for _, tc := range []struct {
		name, start, final string
		kept               bool
	}{
		{"other host", via("https://a.example.com", "https://b.example.com/file"), "https://b.example.com", false},
		{"same host", via("https://a.example.com", "https://a.example.com/file"), "https://a.example.com", true},
		{"other host, HEAD refused", via("https://a.example.com", "https://b.example.com/file?nohead"), "https://b.example.com", false},
		{"same host, HEAD refused", via("https://a.example.com", "https://a.example.com/file?nohead"), "https://a.example.com", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bed, c := newHostBed(t)
			info, err := c.Probe(t.Context(), tc.start, linkHeaders)
			if err != nil {
				t.Fatal(err)
			}
			if (info.Headers != nil) != tc.kept || !info.Ranges || info.Identity.Size != 100 {
				t.Errorf("Info %+v, want headers kept: %v", info, tc.kept)
			}
			got := bed.requests(tc.final, "/file")
			if len(got) != 1 || got[0].method != http.MethodGet || got[0].header.Get("Range") != "bytes=0-0" {
				t.Fatalf("%s got %v", tc.final, got)
			}
			if k := got[0].header.Get("X-Api-Key"); (k != "") != tc.kept {
				t.Errorf("X-Api-Key %q", k)
			}
			if want := "https://a.example.com/"; !tc.kept && got[0].header.Get("Referer") != want {
				t.Errorf("GET: Referer %q, want %q", got[0].header.Get("Referer"), want)
			}
			bed.mu.Lock()
			defer bed.mu.Unlock()
			for origin, log := range bed.log {
				for _, s := range log {
					if s.method != http.MethodGet {
						t.Errorf("%s was sent %s %s", origin, s.method, s.path)
					}
				}
			}
		})
	}
}

// TestRangeRedirectDropsHeaders: a ranged GET that is itself redirected
// (a signed URL that expired and moved, say) follows the same rule.
func TestRangeRedirectDropsHeaders(t *testing.T) {
	bed, c := newHostBed(t)
	id := Identity{Size: 100, ETag: `"v1"`}
	for _, tc := range []struct {
		name, start, final string
		kept               bool
	}{
		{"other host", via("https://a.example.com", "https://b.example.com/file"), "https://b.example.com", false},
		{"downgrade", via("https://b.example.com", "http://b.example.com/file"), "http://b.example.com", false},
		{"same host", via("http://a.example.com", "http://a.example.com/file"), "http://a.example.com", true},
	} {
		if err := c.Range(t.Context(), tc.start, linkHeaders, id, 0, 10, func([]byte) error { return nil }); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		got := bed.requests(tc.final, "/file")
		if len(got) == 0 {
			t.Fatalf("%s: %s got no request", tc.name, tc.final)
		}
		s := got[len(got)-1]
		for name, value := range linkHeaders {
			v := s.header.Get(name)
			if tc.kept && v != value || !tc.kept && strings.Contains(v, "secret") {
				t.Errorf("%s: %s saw %s %q", tc.name, tc.final, name, v)
			}
		}
		if s.header.Get("Range") != "bytes=0-9" {
			t.Errorf("%s: the redirected request lost its Range: %q", tc.name, s.header.Get("Range"))
		}
	}
	// The first hop always gets them: they were given for it.
	if got := bed.requests("https://a.example.com", "/go"); len(got) == 0 || got[0].header.Get("X-Api-Key") != "secret-key" {
		t.Error("the host the headers were given for did not get them")
	}
}

// TestSameHost pins the host comparison the rule rests on.
func TestSameHost(t *testing.T) {
	cases := []struct {
		a, b string
		same bool
	}{
		{"https://h.example/x", "https://h.example/y", true},
		{"https://H.Example/x", "https://h.example/y", true},
		{"http://h.example/", "https://h.example/", true}, // an upgrade keeps the default port
		{"http://h.example:80/", "https://h.example:443/", true},
		{"http://h.example/", "http://h.example:80/", true},
		{"http://h.example:8080/", "http://h.example:8080/", true},
		{"http://h.example:8080/", "http://h.example:9090/", false},
		{"http://h.example/", "http://h.example:8080/", false},
		{"https://h.example/", "https://h.example:80/", false},
		{"https://h.example/", "https://sub.h.example/", false}, // stricter than Go's client
		{"https://h.example/", "https://h.example.evil/", false},
		{"https://127.0.0.1/", "https://127.0.0.2/", false},
		{"https://[::1]/", "https://[::1]:443/", true},
	}
	for _, c := range cases {
		a, _ := url.Parse(c.a)
		b, _ := url.Parse(c.b)
		if got := sameHost(a, b); got != c.same {
			t.Errorf("sameHost(%s, %s) = %v", c.a, c.b, got)
		}
	}
	for _, c := range []struct {
		from, to string
		down     bool
	}{
		{"https://h/", "http://h/", true},
		{"HTTPS://h/", "http://h/", true},
		{"http://h/", "https://h/", false},
		{"https://h/", "https://h/", false},
		{"http://h/", "http://h/", false},
	} {
		a, _ := url.Parse(c.from)
		b, _ := url.Parse(c.to)
		if downgrade(a, b) != c.down {
			t.Errorf("downgrade(%s, %s) = %v", c.from, c.to, !c.down)
		}
	}
}
