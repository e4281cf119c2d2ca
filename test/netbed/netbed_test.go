package netbed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestParseRate(t *testing.T) {
	cases := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"", 0, false},
		{"off", 0, false},
		{"0", 0, false},
		{"20mbit", 20e6, false},
		{"20Mbit", 20e6, false},
		{"1gbit", 1e9, false},
		{"2.5mbit", 2.5e6, false},
		{"500kbit", 500e3, false},
		{"64000bit", 64000, false},
		{"64000", 64000, false},
		{"100bit", 0, true},
		{"fast", 0, true},
		{"-3mbit", 0, true},
		{"mbit", 0, true},
	}
	for _, c := range cases {
		got, err := ParseRate(c.in)
		if (err != nil) != c.wantErr || got != c.want {
			t.Errorf("ParseRate(%q) = %d, %v; want %d, error %v", c.in, got, err, c.want, c.wantErr)
		}
		if err == nil && got > 0 {
			back, err := ParseRate(FormatRate(got))
			if err != nil || back != got {
				t.Errorf("ParseRate(FormatRate(%d)) = %d, %v", got, back, err)
			}
		}
	}
}

func TestPrefixCheck(t *testing.T) {
	for _, p := range []string{"dlb-", "dlb123-x-", "ab"} {
		if err := checkPrefix(p); err != nil {
			t.Errorf("checkPrefix(%q) = %v, want nil", p, err)
		}
	}
	for _, p := range []string{"", "d", "-dlb", "DLB-", "dlb/../", "dlb x", strings.Repeat("a", 25)} {
		if err := checkPrefix(p); err == nil {
			t.Errorf("checkPrefix(%q) = nil, want an error", p)
		}
	}
}

// TestUpDown checks that Up and Down are idempotent and that the root
// namespace's links are the same before and after.
func TestUpDown(t *testing.T) {
	NeedRoot(t)
	ctx := context.Background()
	prefix := UniquePrefix() + "ud-"
	before := rootLinks(t)
	for range 2 {
		if _, err := Up(ctx, Options{Prefix: prefix, Hosts: 3, WANRate: 20e6, LANRate: 1e9}); err != nil {
			t.Fatal(err)
		}
		names, err := Namespaces(prefix)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{prefix + "h1", prefix + "h2", prefix + "h3", prefix + "inet", prefix + "lan"}
		if !slices.Equal(names, want) {
			t.Fatalf("namespaces %v, want %v", names, want)
		}
		if got := rootLinks(t); !slices.Equal(got, before) {
			t.Fatalf("root namespace links changed: %v, were %v", got, before)
		}
		qd, err := output(ctx, "tc", "-n", prefix+"inet", "qdisc", "show", "dev", "h2")
		if err != nil || !strings.Contains(string(qd), "tbf") || !strings.Contains(string(qd), "20Mbit") {
			t.Fatalf("no 20Mbit tbf on the WAN link of h2: %q, %v", qd, err)
		}
	}
	for range 2 {
		if err := Down(ctx, prefix); err != nil {
			t.Fatal(err)
		}
		names, err := Namespaces(prefix)
		if err != nil || len(names) != 0 {
			t.Fatalf("after Down: namespaces %v, %v", names, err)
		}
	}
	if got := rootLinks(t); !slices.Equal(got, before) {
		t.Fatalf("root namespace links changed: %v, were %v", got, before)
	}
}

// TestAddressPlan checks that every host of the largest bed has addresses
// of its own: a LAN address in the LAN's /24, and a WAN /30 apart from
// every other.
func TestAddressPlan(t *testing.T) {
	lan := &net.IPNet{IP: net.IPv4(10, 77, 0, 0), Mask: net.CIDRMask(24, 32)}
	seen := map[string]int{}
	for i := 1; i <= MaxHosts; i++ {
		if !lan.Contains(LANIP(i)) {
			t.Errorf("h%d's LAN address %s is outside %s", i, LANIP(i), lan)
		}
		wan := &net.IPNet{IP: WANIP(i).Mask(net.CIDRMask(30, 32)), Mask: net.CIDRMask(30, 32)}
		if !wan.Contains(gatewayIP(i)) {
			t.Errorf("h%d's WAN address %s and gateway %s are not in one /30", i, WANIP(i), gatewayIP(i))
		}
		for _, ip := range []net.IP{LANIP(i), WANIP(i), gatewayIP(i)} {
			if j, ok := seen[ip.String()]; ok {
				t.Errorf("h%d and h%d both have %s", j, i, ip)
			}
			seen[ip.String()] = i
		}
		if wan.Contains(OriginIP) || lan.Contains(OriginIP) {
			t.Errorf("h%d's networks hold the origin's address", i)
		}
	}
	if _, err := Up(context.Background(), Options{Prefix: "dlbplan-", Hosts: MaxHosts + 1}); err == nil {
		t.Errorf("Up built a bed of %d hosts", MaxHosts+1)
	}
}

// TestReach checks who can reach whom in the largest bed: hosts reach
// each other over the LAN and the origin over their WAN links, and
// nothing else.
func TestReach(t *testing.T) {
	b := up(t, Options{Hosts: MaxHosts})
	h1, h2, last := b.Host(1), b.Host(2), b.Host(MaxHosts)
	lanAddr := serveEcho(t, h2.NS, h2.LANIP.String()+":0")
	originAddr := serveEcho(t, b.InetNS(), OriginIP.String()+":0")
	cases := []struct {
		name  string
		from  string
		addr  string
		reach bool
	}{
		{"LAN", h1.NS, lanAddr, true},
		{"LAN from the last host", last.NS, lanAddr, true},
		{"origin from h1", h1.NS, originAddr, true},
		{"origin from h2", h2.NS, originAddr, true},
		{"origin from the last host", last.NS, originAddr, true},
		{"other host's WAN address", h1.NS, net.JoinHostPort(h2.WANIP.String(), "9"), false},
		{"LAN from the internet", b.InetNS(), net.JoinHostPort(h1.LANIP.String(), "9"), false},
		{"outside the bed", h1.NS, "192.0.2.1:9", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			conn, err := Dialer(c.from)(ctx, "tcp", c.addr)
			if !c.reach {
				if err == nil {
					conn.Close()
					t.Fatalf("dial %s from %s succeeded, want no route", c.addr, c.from)
				}
				if !errors.Is(err, syscall.ENETUNREACH) {
					t.Fatalf("dial %s from %s: %v, want network unreachable", c.addr, c.from, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(3 * time.Second))
			if _, err := conn.Write([]byte("ping\n")); err != nil {
				t.Fatal(err)
			}
			got := make([]byte, 5)
			if _, err := io.ReadFull(conn, got); err != nil || string(got) != "ping\n" {
				t.Fatalf("echo: %q, %v", got, err)
			}
		})
	}
}

// TestShaping checks the rate on the wire of a WAN link, each way, while a
// transfer fills it. The counters are the kernel's, so a busy test machine
// cannot inflate them the way it can delay a reader; the upper bound is the
// shaping's promise (plus the bucket and the sampling error), the lower
// bound only catches a link that carries nothing.
func TestShaping(t *testing.T) {
	const rate = 20e6
	b := up(t, Options{Hosts: 1, WANRate: rate})
	h := b.Host(1)
	l, err := Listen(b.InetNS(), "tcp", OriginIP.String()+":0")
	if err != nil {
		t.Fatal(err)
	}
	const transfer = 6 * time.Second
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			io.Copy(io.Discard, r.Body)
			return
		}
		io.Copy(w, &zeroReader{stop: time.Now().Add(transfer)})
	}), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	url := "http://" + l.Addr().String() + "/"

	cases := []struct {
		name     string
		transfer func(ctx context.Context) error
		wire     func(Counters) int64
	}{
		{"download", func(ctx context.Context) error {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			resp, err := HTTPClient(h.NS).Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			_, err = io.Copy(io.Discard, resp.Body)
			return err
		}, func(c Counters) int64 { return c.RxBytes }},
		{"upload", func(ctx context.Context) error {
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, &zeroReader{stop: time.Now().Add(transfer)})
			resp, err := HTTPClient(h.NS).Do(req)
			if err != nil {
				return err
			}
			return resp.Body.Close()
		}, func(c Counters) int64 { return c.TxBytes }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- c.transfer(ctx) }()
			time.Sleep(time.Second) // past slow start
			n1, t1 := sample(t, b, h)
			time.Sleep(4 * time.Second)
			n2, t2 := sample(t, b, h)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			bps := float64(c.wire(n2)-c.wire(n1)) * 8 / t2.Sub(t1).Seconds()
			t.Logf("%s through a %s tbf: %.2f Mbit/s on the wire", c.name, FormatRate(rate), bps/1e6)
			if bps > rate*1.03 {
				t.Errorf("%s ran at %.2f Mbit/s, above the %.0f Mbit/s shaping", c.name, bps/1e6, rate/1e6)
			}
			if bps < rate/4 {
				t.Errorf("%s ran at %.2f Mbit/s, far below the %.0f Mbit/s shaping", c.name, bps/1e6, rate/1e6)
			}
		})
	}
}

// TestUnshape checks that removing the shaping of a link is idempotent:
// an unshaped link stays unshaped without an error.
func TestUnshape(t *testing.T) {
	b := up(t, Options{Hosts: 1, WANRate: 20e6})
	h := b.Host(1)
	ctx := context.Background()
	for range 2 {
		if err := b.SetWANRate(ctx, h, 0); err != nil {
			t.Fatal(err)
		}
		if err := b.SetLANRate(ctx, h, 0); err != nil {
			t.Fatal(err)
		}
	}
	qd, err := output(ctx, "tc", "-n", h.NS, "qdisc", "show", "dev", "wan0")
	if err != nil || strings.Contains(string(qd), "tbf") {
		t.Fatalf("wan0 still shaped: %q, %v", qd, err)
	}
}

// sample reads h's WAN counters, timed at the middle of the read.
func sample(t *testing.T, b *Bed, h *Host) (Counters, time.Time) {
	t.Helper()
	before := time.Now()
	c, err := b.WANCounters(context.Background(), h)
	if err != nil {
		t.Fatal(err)
	}
	return c, before.Add(time.Since(before) / 2)
}

// TestProcStop checks that Close ends a process that ignores SIGTERM, and
// its children, within bounded time.
func TestProcStop(t *testing.T) {
	NeedRoot(t)
	b, err := Up(context.Background(), Options{Prefix: UniquePrefix() + "ps-", Hosts: 1, StopGrace: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	stubborn, err := b.Start("stubborn", Command(b.Host(1).NS, "sh", "-c", `trap "" TERM; sleep 60 & wait`))
	if err != nil {
		t.Fatal(err)
	}
	polite, err := b.Start("polite", Command(b.Host(1).NS, "sleep", "60"))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // let sh start its child
	pgid := stubborn.Pid()
	start := time.Now()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Close took %v", d)
	}
	for _, p := range []*Proc{stubborn, polite} {
		select {
		case <-p.Done():
		default:
			t.Errorf("%s still running after Close", p.Name)
		}
	}
	// The orphaned child is reaped by init, not by us: give it a moment.
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(-pgid, 0) == nil && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if err := syscall.Kill(-pgid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("process group %d still exists after Close: %v", pgid, err)
	}
	if u, err := polite.Usage(); err != nil || u.PeakRSS <= 0 {
		t.Errorf("usage of an exited process: %+v, %v", u, err)
	}
}

// TestSweepStale checks that a bed whose owner died is swept and one whose
// owner lives is not.
func TestSweepStale(t *testing.T) {
	NeedRoot(t)
	ctx := context.Background()
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	stale := fmt.Sprintf("dlb%d-", dead.Process.Pid)
	if syscall.Kill(dead.Process.Pid, 0) == nil {
		t.Skip("the pid of an exited process was reused at once")
	}
	live := UniquePrefix() + "sw-"
	for _, p := range []string{stale, live} {
		if _, err := Up(ctx, Options{Prefix: p, Hosts: 1}); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { Down(ctx, stale); Down(ctx, live) })
	if err := SweepStale(ctx); err != nil {
		t.Fatal(err)
	}
	if names, _ := Namespaces(stale); len(names) != 0 {
		t.Errorf("stale bed %s not swept: %v", stale, names)
	}
	if names, _ := Namespaces(live); len(names) != 3 {
		t.Errorf("live bed %s: namespaces %v, want 3", live, names)
	}
}

func TestReadUsage(t *testing.T) {
	u, err := ReadUsage(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if u.PeakRSS <= 0 {
		t.Errorf("peak RSS of this process: %d", u.PeakRSS)
	}
}

// up builds a bed with a prefix unique to the test and removes it after.
func up(t *testing.T, opt Options) *Bed {
	t.Helper()
	NeedRoot(t)
	opt.Prefix = UniquePrefix() + strings.ToLower(t.Name()[4:min(len(t.Name()), 10)]) + "-"
	b, err := Up(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Error(err)
		}
	})
	return b
}

func rootLinks(t *testing.T) []string {
	t.Helper()
	out, err := output(context.Background(), "ip", "-j", "link", "show")
	if err != nil {
		t.Fatal(err)
	}
	var links []struct{ Ifname string }
	if err := json.Unmarshal(out, &links); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range links {
		names = append(names, l.Ifname)
	}
	return names
}

// serveEcho serves one-line echoes on a TCP listener in ns until the test
// ends, and returns its address.
func serveEcho(t *testing.T, ns, addr string) string {
	t.Helper()
	l, err := Listen(ns, "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				io.CopyN(c, c, 5)
			}()
		}
	}()
	return l.Addr().String()
}

// zeroReader yields zeros until stop.
type zeroReader struct{ stop time.Time }

func (z *zeroReader) Read(p []byte) (int, error) {
	if time.Now().After(z.stop) {
		return 0, io.EOF
	}
	clear(p)
	return len(p), nil
}

// TestGoodput checks the measurement itself on loopback: a paced stream
// gives about its pace, and a body that ends before the window is an error.
func TestGoodput(t *testing.T) {
	const chunk, every = 64 << 10, 10 * time.Millisecond // about 52 Mbit/s
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/short" {
			w.Write(make([]byte, 1024))
			return
		}
		buf := make([]byte, chunk)
		for i := 0; i < 80; i++ {
			if _, err := w.Write(buf); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			time.Sleep(every)
		}
	}))
	defer srv.Close()
	bps, err := Goodput(context.Background(), srv.Client(), srv.URL+"/paced", 100*time.Millisecond, 400*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	pace := float64(chunk*8) / every.Seconds()
	if bps > pace*1.5 || bps < pace/4 { // sleeps only ever run long
		t.Errorf("goodput %.1f Mbit/s of a %.1f Mbit/s stream", bps/1e6, pace/1e6)
	}
	if _, err := Goodput(context.Background(), srv.Client(), srv.URL+"/short", 100*time.Millisecond, 400*time.Millisecond); err == nil {
		t.Error("goodput of a 1 KiB body succeeded, want an error")
	}
}

// TestChildSurvivesNamespaceHops checks that a process started on the bed
// lives on while the caller opens sockets in namespaces, which ends the
// OS threads that did it: Pdeathsig must not take that for the parent's
// death.
func TestChildSurvivesNamespaceHops(t *testing.T) {
	b := up(t, Options{Hosts: 1})
	p, err := b.Start("sleeper", Command(b.Host(1).NS, "sleep", "30"))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		if err := inNS(b.Host(1).NS, func() error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	if p.Wait(200 * time.Millisecond) {
		t.Fatalf("the child died while the test hopped namespaces: %v", p.Err())
	}
}
