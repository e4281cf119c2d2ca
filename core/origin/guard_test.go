package origin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	testorigin "github.com/dragonload/dragonload/test/origin"
)

func TestRefused(t *testing.T) {
	cases := []struct {
		ip     string
		reason string // "" = allowed
	}{
		{"127.0.0.1", "loopback"},
		{"127.255.0.9", "loopback"},
		{"::1", "loopback"},
		{"::ffff:127.0.0.1", "loopback"},
		{"10.1.2.3", "private"},
		{"172.16.0.1", "private"},
		{"172.31.255.255", "private"},
		{"192.168.1.1", "private"},
		{"::ffff:192.168.1.1", "private"},
		{"fd00::1", "private"},
		{"fc00::1", "private"},
		{"fec0::1", "private"},
		{"100.64.0.1", "carrier-grade NAT"},
		{"100.127.255.254", "carrier-grade NAT"},
		{"169.254.169.254", "cloud metadata"},
		{"::ffff:169.254.169.254", "cloud metadata"},
		{"169.254.1.1", "link-local"},
		{"fe80::1", "link-local"},
		{"224.0.0.251", "multicast"},
		{"239.1.1.1", "multicast"},
		{"ff02::fb", "multicast"},
		{"ff0e::1", "multicast"},
		{"0.0.0.0", "unspecified"},
		{"0.1.2.3", "unspecified"},
		{"::", "unspecified"},
		{"255.255.255.255", "broadcast"},
		{"64:ff9b::7f00:1", "loopback"},
		{"64:ff9b::a00:1", "private"},
		{"8.8.8.8", ""},
		{"1.1.1.1", ""},
		{"100.63.255.255", ""},
		{"100.128.0.0", ""},
		{"172.15.255.255", ""},
		{"172.32.0.0", ""},
		{"203.0.113.10", ""},
		{"2001:4860:4860::8888", ""},
		{"::ffff:8.8.8.8", ""},
		{"64:ff9b::808:808", ""},
		// Reserved and special-purpose ranges the issue named, and their
		// neighbours, which are ordinary public addresses.
		{"198.18.0.1", "benchmarking"},
		{"198.19.255.255", "benchmarking"},
		{"198.17.255.255", ""},
		{"198.20.0.0", ""},
		{"192.0.0.1", "reserved"},
		{"192.0.0.170", "reserved"},
		{"192.0.1.0", ""},
		{"192.88.99.1", "reserved"},
		{"240.0.0.1", "reserved"},
		{"254.255.255.255", "reserved"},
		{"239.255.255.255", "multicast"},
		{"192.0.2.1", ""},    // documentation ranges route nowhere; tests use them as public
		{"198.51.100.1", ""}, // addresses, and refusing them would protect nothing
		{"2001:db8::1", ""},
		// Cloud metadata services, wherever they answer.
		{"169.254.170.2", "cloud metadata"},
		{"fd00:ec2::254", "cloud metadata"},
		{"100.100.100.200", "cloud metadata"},
		{"168.63.129.16", "cloud metadata"},
		{"192.0.0.192", "cloud metadata"},
		{"64:ff9b::a9fe:a9fe", "cloud metadata"},
		// IPv6 forms that carry an IPv4 address.
		{"64:ff9b::c0a8:101", "private"},
		{"64:ff9b::6440:1", "carrier-grade NAT"},
		{"64:ff9b::c612:1", "benchmarking"},
		{"64:ff9b::f000:1", "reserved"},
		{"64:ff9b::ffff:ffff", "broadcast"},
		{"64:ff9b::1.2.3.4", ""},
		{"64:ff9b:1::808:808", "local-use NAT64"},
		{"64:ff9b:1:ffff::1", "local-use NAT64"},
		{"::ffff:198.18.0.1", "benchmarking"},
		{"::ffff:240.0.0.1", "reserved"},
		{"::127.0.0.1", "reserved"}, // IPv4-compatible, deprecated
		{"::8.8.8.8", "reserved"},
		{"::ffff:0:10.0.0.1", "reserved"}, // IPv4-translated (SIIT)
		{"2002:c0a8:101::1", "6to4"},      // 6to4 of 192.168.1.1
		{"2002:808:808::1", "6to4"},       // 6to4 of a public address: the host behind is unknown
		{"2001::1", "Teredo"},
		{"2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"},
		{"2001:2::1", "benchmarking"},
		{"2001:1::1", "reserved"},
		{"2001:10::1", "reserved"},
		{"2001:1ff:ffff::1", "reserved"},
		{"2001:200::1", ""}, // the first global unicast allocation after 2001::/23
		{"100::1", "reserved"},
		{"5f00::1", "reserved"},
		{"4000::1", "reserved"},
		{"3fff:ffff::1", ""},
	}
	for _, c := range cases {
		ip := net.ParseIP(c.ip)
		if ip == nil {
			t.Fatalf("bad test IP %q", c.ip)
		}
		if got := refusal(ip); got != c.reason {
			t.Errorf("refusal(%s) = %q, want %q", c.ip, got, c.reason)
		}
		// Refused also knows this computer's own addresses and networks,
		// which vary from machine to machine: it may refuse more.
		if c.reason != "" && !Refused(ip) {
			t.Errorf("Refused(%s) = false", c.ip)
		}
		// A guard that knows no interfaces refuses exactly the classes.
		if fe := (&guard{}).check(ip); (fe != nil) != (c.reason != "") {
			t.Errorf("check(%s) = %v, want a refusal: %v", c.ip, fe, c.reason != "")
		}
	}
	if !Refused(nil) || !Refused(net.IP{1, 2, 3}) {
		t.Error("a nil or malformed IP is not refused")
	}
}

func TestValidateURL(t *testing.T) {
	cases := []struct {
		raw string
		why string // substring of the error; "" = valid
	}{
		{"http://example.com/file.iso", ""},
		{"https://example.com:8443/a/b?c=d#e", ""},
		{"HTTP://EXAMPLE.COM/", ""},
		{"http://[2001:db8::1]:80/x", ""},
		{"http://user:pw@example.com/x", ""},
		{"", "empty"},
		{"example.com/file", "no scheme"},
		{"ftp://example.com/file", `scheme "ftp" is not supported`},
		{"file:///etc/passwd", `scheme "file" is not supported`},
		{"javascript:alert(1)", `scheme "javascript" is not supported`},
		{"http:example.com", "no host"},
		{"http:///path", "no host"},
		{"http://:80/", "no host"},
		{"http://example.com:0/", "port"},
		{"http://example.com:70000/", "port"},
		{"http://example.com:/", "empty port"},
		{"http://exa mple.com/", "invalid"},
		{"http://example.com/\x00", "invalid"},
		{"http://example.com/" + strings.Repeat("a", 9000), "longer than"},
	}
	for _, c := range cases {
		u, err := ValidateURL(c.raw)
		switch {
		case c.why == "" && err != nil:
			t.Errorf("ValidateURL(%q): %v", c.raw, err)
		case c.why == "" && u == nil:
			t.Errorf("ValidateURL(%q) returned no URL", c.raw)
		case c.why != "" && (err == nil || !strings.Contains(err.Error(), c.why)):
			t.Errorf("ValidateURL(%q) = %v, want an error about %q", c.raw, err, c.why)
		case c.why != "" && Retryable(err):
			t.Errorf("ValidateURL(%q): error is retryable", c.raw)
		}
	}
}

func TestValidateHeaders(t *testing.T) {
	many := map[string]string{}
	for i := range 40 {
		many[fmt.Sprintf("X-H%d", i)] = "v"
	}
	big := map[string]string{}
	for i := range 10 {
		big[fmt.Sprintf("X-B%d", i)] = strings.Repeat("v", 3000)
	}
	cases := []struct {
		name string
		h    map[string]string
		ok   bool
	}{
		{"none", nil, true},
		{"usual", map[string]string{"Authorization": "Bearer t", "Cookie": "a=b", "Referer": "https://x/", "User-Agent": "x", "Accept": "*/*"}, true},
		{"tab in value", map[string]string{"X-A": "a\tb"}, true},
		{"Host", map[string]string{"host": "internal"}, false},
		{"Range", map[string]string{"Range": "bytes=0-"}, false},
		{"If-Range", map[string]string{"If-Range": `"x"`}, false},
		{"If-None-Match", map[string]string{"If-None-Match": `"x"`}, false},
		{"Content-Length", map[string]string{"Content-Length": "5"}, false},
		{"Transfer-Encoding", map[string]string{"Transfer-Encoding": "chunked"}, false},
		{"Connection", map[string]string{"Connection": "close"}, false},
		{"Accept-Encoding", map[string]string{"Accept-Encoding": "gzip"}, false},
		{"Proxy-Authorization", map[string]string{"Proxy-Authorization": "x"}, false},
		{"CRLF", map[string]string{"X-A": "a\r\nHost: evil"}, false},
		{"LF", map[string]string{"X-A": "a\nb"}, false},
		{"NUL", map[string]string{"X-A": "a\x00b"}, false},
		{"bad name", map[string]string{"X A": "b"}, false},
		{"colon in name", map[string]string{"X-A:": "b"}, false},
		{"empty name", map[string]string{"": "b"}, false},
		{"long name", map[string]string{strings.Repeat("X", 200): "b"}, false},
		{"long value", map[string]string{"X-A": strings.Repeat("v", 5000)}, false},
		{"too many", many, false},
		{"too big", big, false},
	}
	for _, c := range cases {
		err := ValidateHeaders(c.h)
		if (err == nil) != c.ok {
			t.Errorf("%s: ValidateHeaders = %v, want ok=%v", c.name, err, c.ok)
		}
		if err != nil && Retryable(err) {
			t.Errorf("%s: error is retryable", c.name)
		}
	}
}

// connCounter is a loopback listener that counts the connections it gets.
func connCounter(t *testing.T) (addr string, count func() int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			n.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String(), n.Load
}

// TestGuardRefusesLoopback uses the real guarded client: the request to a
// loopback listener fails with a clear sentence, and the listener never
// sees a connection.
func TestGuardRefusesLoopback(t *testing.T) {
	addr, count := connCounter(t)
	c := New(Options{})
	defer c.CloseIdleConnections()
	url := "http://" + addr + "/x"
	checks := map[string]func() error{
		"Probe": func() error { _, err := c.Probe(t.Context(), url, nil); return err },
		"Range": func() error { return c.Range(t.Context(), url, nil, Identity{Size: 10}, 0, 1, nil) },
		"Whole": func() error { return c.Whole(t.Context(), url, nil, Identity{Size: 10}, nil) },
	}
	for name, call := range checks {
		err := call()
		want := fmt.Sprintf("refusing to fetch %s: 127.0.0.1 is a loopback address (use --allow-private-origins to allow)", url)
		if !errors.Is(err, ErrForbiddenAddress) || err.Error() != want {
			t.Errorf("%s: %v, want %q", name, err, want)
		}
		if Retryable(err) {
			t.Errorf("%s: refusal is retryable", name)
		}
	}
	if n := count(); n != 0 {
		t.Errorf("the loopback listener got %d connections", n)
	}
}

// TestControlRefusesBeforeConnect calls the real dialer directly with a
// literal loopback address, skipping the resolver-level check, to show
// that the last check (net.Dialer.Control) stops the connect system call.
func TestControlRefusesBeforeConnect(t *testing.T) {
	addr, count := connCounter(t)
	g := newGuard(false, nil)
	conn, err := g.connect(t.Context(), "tcp", addr)
	if err == nil {
		conn.Close()
		t.Fatal("the dialer connected to loopback")
	}
	if !errors.Is(err, ErrForbiddenAddress) {
		t.Errorf("err %v, want a forbidden address", err)
	}
	if n := count(); n != 0 {
		t.Errorf("the listener got %d connections", n)
	}
	for _, a := range []string{"169.254.169.254:80", "[::1]:80", "10.0.0.1:443", "[::ffff:192.168.0.1]:80"} {
		if err := g.control("tcp4", a, nil); !errors.Is(err, ErrForbiddenAddress) {
			t.Errorf("control(%s) = %v, want a refusal", a, err)
		}
	}
	if err := g.control("tcp4", "203.0.113.10:80", nil); err != nil {
		t.Errorf("control refused a public address: %v", err)
	}
	if err := newGuard(true, nil).control("tcp4", "127.0.0.1:80", nil); err != nil {
		t.Errorf("control with AllowPrivate refused loopback: %v", err)
	}
}

// fakeNet is a resolver and connect function for tests: names resolve
// from a table (nothing real is ever looked up), and connects to the
// "public" addresses in routes go to loopback listeners. Every connect
// attempt is recorded.
type fakeNet struct {
	names  map[string][]string
	routes map[string]string // "ip:port" → loopback "ip:port"

	mu       sync.Mutex
	attempts []string
}

func (f *fakeNet) LookupIPAddr(_ context.Context, host string) ([]net.IPAddr, error) {
	ips, ok := f.names[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	var out []net.IPAddr
	for _, s := range ips {
		out = append(out, net.IPAddr{IP: net.ParseIP(s)})
	}
	return out, nil
}

func (f *fakeNet) connect(ctx context.Context, network, address string) (net.Conn, error) {
	f.mu.Lock()
	f.attempts = append(f.attempts, address)
	f.mu.Unlock()
	to, ok := f.routes[address]
	if !ok {
		return nil, fmt.Errorf("fake network: no route to %s", address)
	}
	var d net.Dialer
	return d.DialContext(ctx, network, to)
}

func (f *fakeNet) dialed() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.attempts...)
}

func fakeClient(t *testing.T, f *fakeNet) *Client {
	t.Helper()
	c := newClient(Options{}, &guard{resolve: f, connect: f.connect})
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// TestSSRF covers the targets a hostile room member might name. The fake
// network routes the one "public" address to a loopback server that
// redirects wherever the case says; everything else must be refused
// before any connect is even attempted.
func TestSSRF(t *testing.T) {
	target := startOrigin(t, testorigin.Config{Size: 100})
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusFound)
	}))
	defer redirector.Close()
	const public = "203.0.113.10:80"

	cases := []struct {
		name    string
		url     string
		refused string // the URL the refusal names
		ip      string
	}{
		{name: "metadata service", url: "http://169.254.169.254/latest/meta-data/", refused: "http://169.254.169.254/latest/meta-data/", ip: "169.254.169.254"},
		{name: "loopback literal", url: target.URL(), refused: target.URL(), ip: "127.0.0.1"},
		{name: "IPv6 loopback", url: "http://[::1]:9/x", refused: "http://[::1]:9/x", ip: "::1"},
		{name: "mapped IPv6", url: "http://[::ffff:10.0.0.1]/x", refused: "http://[::ffff:10.0.0.1]/x", ip: "10.0.0.1"},
		{name: "name resolving to loopback (rebinding)", url: "http://rebind.example/x", refused: "http://rebind.example/x", ip: "127.0.0.1"},
		{name: "name resolving to private", url: "http://intranet.example/x", refused: "http://intranet.example/x", ip: "10.1.2.3"},
		{name: "redirect to loopback", url: "http://files.example/dl?to=" + target.URL(), refused: target.URL(), ip: "127.0.0.1"},
		{name: "redirect to metadata", url: "http://files.example/dl?to=http://169.254.169.254/", refused: "http://169.254.169.254/", ip: "169.254.169.254"},
		{name: "redirect to private name", url: "http://files.example/dl?to=http://intranet.example/y", refused: "http://intranet.example/y", ip: "10.1.2.3"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeNet{
				names: map[string][]string{
					"files.example":    {"203.0.113.10"},
					"rebind.example":   {"127.0.0.1"},
					"intranet.example": {"10.1.2.3", "fd00::5"},
				},
				routes: map[string]string{public: redirector.Listener.Addr().String()},
			}
			before := target.Requests()
			_, err := fakeClient(t, f).Probe(t.Context(), tc.url, nil)
			want := fmt.Sprintf("refusing to fetch %s: %s is ", tc.refused, tc.ip)
			if !errors.Is(err, ErrForbiddenAddress) || !strings.HasPrefix(err.Error(), want) {
				t.Fatalf("err %v, want one starting %q", err, want)
			}
			for _, a := range f.dialed() {
				if a != public {
					t.Errorf("a connect to %s was attempted", a)
				}
			}
			if target.Requests() != before {
				t.Error("the loopback origin got a request")
			}
		})
	}
}

// TestSSRFMixedAnswer checks that a name resolving to both a refused and
// an allowed address is reached on the allowed one only.
func TestSSRFMixedAnswer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "", time.Time{}, strings.NewReader("public bytes"))
	}))
	defer srv.Close()
	f := &fakeNet{
		names:  map[string][]string{"mixed.example": {"127.0.0.1", "203.0.113.10"}},
		routes: map[string]string{"203.0.113.10:80": srv.Listener.Addr().String()},
	}
	info, err := fakeClient(t, f).Probe(t.Context(), "http://mixed.example/f.txt", nil)
	if err != nil {
		t.Fatal(err)
	}
	if info.Identity.Size != 12 || info.Name != "f.txt" {
		t.Errorf("got %+v", info)
	}
	for _, a := range f.dialed() {
		if a != "203.0.113.10:80" {
			t.Errorf("connected to %s", a)
		}
	}
}

func TestRedirectToOtherScheme(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
	}))
	defer srv.Close()
	_, err := loopbackClient(t).Probe(t.Context(), srv.URL, nil)
	if err == nil || Retryable(err) || !strings.Contains(err.Error(), `scheme "file" is not supported`) {
		t.Fatalf("err %v, want a non-retryable refusal of the file: redirect", err)
	}
}

func TestAllowPrivateSourceFamily(t *testing.T) {
	f := &fakeNet{names: map[string][]string{"v6only.example": {"2001:db8::1"}}}
	c := newClient(Options{}, &guard{source: net.ParseIP("127.0.0.2"), resolve: f, connect: f.connect})
	defer c.CloseIdleConnections()
	_, err := c.Probe(t.Context(), "http://v6only.example/", nil)
	if err == nil || !strings.Contains(err.Error(), "other IP family") || len(f.dialed()) != 0 {
		t.Fatalf("err %v, dialed %v; want an IP family error and no connect", err, f.dialed())
	}
}

func TestDialTriesNextAddress(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "", time.Time{}, strings.NewReader("abc"))
	}))
	defer srv.Close()
	f := &fakeNet{
		names:  map[string][]string{"two.example": {"203.0.113.1", "203.0.113.2"}},
		routes: map[string]string{"203.0.113.2:80": srv.Listener.Addr().String()},
	}
	if _, err := fakeClient(t, f).Probe(t.Context(), "http://two.example/x", nil); err != nil {
		t.Fatal(err)
	}
	if got := f.dialed(); len(got) < 2 || got[0] != "203.0.113.1:80" || got[1] != "203.0.113.2:80" {
		t.Errorf("dialed %v, want 203.0.113.1:80 then 203.0.113.2:80", got)
	}
}
