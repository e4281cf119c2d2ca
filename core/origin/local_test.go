package origin

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeInterfaces stands in for net.InterfaceAddrs: this "computer" has a
// public IPv4 address in a public /24, a global IPv6 address in a /64,
// and the usual loopback, private and link-local ones.
func fakeInterfaces() ([]net.Addr, error) {
	return []net.Addr{
		&net.IPNet{IP: net.ParseIP("127.0.0.1"), Mask: net.CIDRMask(8, 32)},
		&net.IPNet{IP: net.ParseIP("::1"), Mask: net.CIDRMask(128, 128)},
		&net.IPNet{IP: net.ParseIP("10.0.0.5"), Mask: net.CIDRMask(8, 32)},
		&net.IPNet{IP: net.ParseIP("fe80::5"), Mask: net.CIDRMask(64, 128)},
		&net.IPNet{IP: net.ParseIP("203.0.113.7"), Mask: net.CIDRMask(24, 32)},
		&net.IPNet{IP: net.ParseIP("2001:db8:1::5"), Mask: net.CIDRMask(64, 128)},
		// A point-to-point tunnel address: the address only, no network.
		&net.IPNet{IP: net.ParseIP("198.51.100.77"), Mask: net.CIDRMask(32, 32)},
		// Some tunnels report a /0; that must not refuse the whole internet.
		&net.IPNet{IP: net.ParseIP("2001:db8:9::9"), Mask: net.CIDRMask(0, 128)},
	}, nil
}

// localNet is a fake network (nothing real is resolved or dialled) with
// names for each address of interest.
func localNet() *fakeNet {
	return &fakeNet{names: map[string][]string{
		"self.example":        {"203.0.113.7"},
		"self-mapped.example": {"::ffff:203.0.113.7"},
		"self-nat64.example":  {"64:ff9b::cb00:7107"}, // 203.0.113.7 through NAT64
		"neighbour.example":   {"203.0.113.99"},
		"self6.example":       {"2001:db8:1::5"},
		"lan6.example":        {"2001:db8:1::99"},
		"tunnel.example":      {"198.51.100.77"},
		"other6.example":      {"2001:db8:2::1"},
		"other4.example":      {"198.51.100.1"},
		"tunnel-net.example":  {"198.51.100.78"},
		"slash0.example":      {"2001:db8:9::10"},
		"metadata.example":    {"169.254.169.254"},
		"azure.example":       {"168.63.129.16"},
		"zero.example":        {"0.0.0.0"},
		"loopback.example":    {"127.0.0.1"},
	}}
}

// TestGuardRefusesLocalAddresses: a member must not reach services on the
// lender's own public addresses or on its LAN's global IPv6 addresses.
// Every connect goes through the recording hook; a refused address must
// never reach it.
func TestGuardRefusesLocalAddresses(t *testing.T) {
	refused := []struct{ host, ip, what string }{
		{"self.example", "203.0.113.7", "is an address of this computer"},
		{"self-mapped.example", "203.0.113.7", "is an address of this computer"},
		{"self-nat64.example", "64:ff9b::cb00:7107", "is an address of this computer"},
		{"self6.example", "2001:db8:1::5", "is an address of this computer"},
		{"tunnel.example", "198.51.100.77", "is an address of this computer"},
		{"lan6.example", "2001:db8:1::99", "is on a network this computer is attached to"},
		{"neighbour.example", "203.0.113.99", "is on a network this computer is attached to"},
	}
	for _, tc := range refused {
		t.Run(tc.host, func(t *testing.T) {
			f := localNet()
			c := guardedClient(t, &guard{resolve: f, connect: f.connect, local: newLocalAddrs(fakeInterfaces)})
			url := "http://" + tc.host + "/x"
			_, err := c.Probe(t.Context(), url, nil)
			want := fmt.Sprintf("refusing to fetch %s: %s %s (use --allow-private-origins to allow)", url, tc.ip, tc.what)
			if !errors.Is(err, ErrForbiddenAddress) || err.Error() != want {
				t.Fatalf("err %v,\nwant %q", err, want)
			}
			if Retryable(err) {
				t.Error("the refusal is retryable")
			}
			if d := f.dialed(); len(d) != 0 {
				t.Errorf("connects were attempted to %v", d)
			}
		})
	}
	allowed := []struct{ host, addr string }{
		{"other6.example", "[2001:db8:2::1]:80"},
		{"other4.example", "198.51.100.1:80"},
		{"tunnel-net.example", "198.51.100.78:80"}, // a /32 is no network
		{"slash0.example", "[2001:db8:9::10]:80"},  // nor is a /0
	}
	for _, tc := range allowed {
		t.Run(tc.host, func(t *testing.T) {
			f := localNet()
			c := guardedClient(t, &guard{resolve: f, connect: f.connect, local: newLocalAddrs(fakeInterfaces)})
			// The fake network has no route there: the hook records the
			// address and fails, and nothing is ever connected.
			_, err := c.Probe(t.Context(), "http://"+tc.host+"/x", nil)
			if err == nil || errors.Is(err, ErrForbiddenAddress) || !strings.Contains(err.Error(), "fake network: no route") {
				t.Fatalf("err %v, want the fake network's own failure", err)
			}
			if d := f.dialed(); len(d) == 0 || d[0] != tc.addr {
				t.Errorf("dialled %v, want %s first", d, tc.addr)
			}
		})
	}

	// The last check before connect(2) knows the same addresses.
	g := &guard{local: newLocalAddrs(fakeInterfaces)}
	for _, a := range []string{"203.0.113.7:80", "[2001:db8:1::99]:443", "[2001:db8:1::5]:80", "[::ffff:203.0.113.7]:80"} {
		if err := g.control("tcp", a, nil); !errors.Is(err, ErrForbiddenAddress) {
			t.Errorf("control(%s) = %v, want a refusal", a, err)
		}
	}
	for _, a := range []string{"[2001:db8:2::1]:80", "198.51.100.1:443"} {
		if err := g.control("tcp", a, nil); err != nil {
			t.Errorf("control(%s) = %v, want no refusal", a, err)
		}
	}
}

// TestAllowPrivateKeepsSomeRefusals: AllowPrivate opens loopback, private
// and this computer's own addresses for test beds and LAN mirrors, but
// never the cloud metadata services, the unspecified address, multicast
// or broadcast.
func TestAllowPrivateKeepsSomeRefusals(t *testing.T) {
	g := &guard{local: newLocalAddrs(fakeInterfaces)}
	g.allowPrivate.Store(true)
	for _, s := range []string{"127.0.0.1", "10.1.2.3", "fd00::1", "169.254.1.1", "100.64.0.1", "198.18.0.1", "240.0.0.1", "203.0.113.7", "2001:db8:1::99", "2002:c0a8:101::1"} {
		if fe := g.check(net.ParseIP(s)); fe != nil {
			t.Errorf("with AllowPrivate, %s is refused: %v", s, fe)
		}
	}
	for _, tc := range []struct{ ip, what string }{
		{"169.254.169.254", "a cloud metadata"},
		{"::ffff:169.254.169.254", "a cloud metadata"},
		{"fd00:ec2::254", "a cloud metadata"},
		{"168.63.129.16", "a cloud metadata"},
		{"100.100.100.200", "a cloud metadata"},
		{"0.0.0.0", "an unspecified"},
		{"::", "an unspecified"},
		{"224.0.0.1", "a multicast"},
		{"ff02::1", "a multicast"},
		{"255.255.255.255", "a broadcast"},
	} {
		fe := g.check(net.ParseIP(tc.ip))
		// The flag cannot lift these, so the message does not offer it.
		want := fmt.Sprintf("refusing to connect to %s: %s is %s address", net.ParseIP(tc.ip), net.ParseIP(tc.ip), tc.what)
		if fe == nil || fe.Error() != want {
			t.Errorf("with AllowPrivate, check(%s) = %v, want %q", tc.ip, fe, want)
		}
	}

	// Through the dialer: the metadata service is never dialled, the
	// lender's own address and loopback are.
	f := localNet()
	g = &guard{resolve: f, connect: f.connect, local: newLocalAddrs(fakeInterfaces)}
	g.allowPrivate.Store(true)
	c := guardedClient(t, g)
	for _, host := range []string{"metadata.example", "azure.example", "zero.example"} {
		if _, err := c.Probe(t.Context(), "http://"+host+"/", nil); !errors.Is(err, ErrForbiddenAddress) {
			t.Errorf("%s with AllowPrivate: %v, want a refusal", host, err)
		}
	}
	if d := f.dialed(); len(d) != 0 {
		t.Errorf("dialled %v", d)
	}
	for _, host := range []string{"self.example", "loopback.example"} {
		if _, err := c.Probe(t.Context(), "http://"+host+"/", nil); errors.Is(err, ErrForbiddenAddress) {
			t.Errorf("%s with AllowPrivate: %v", host, err)
		}
	}
	// (Probe dials once per host: its one ranged GET.)
	if d := f.dialed(); !slices.Contains(d, "203.0.113.7:80") || !slices.Contains(d, "127.0.0.1:80") || len(slices.Compact(d)) != 2 {
		t.Errorf("dialled %v, want 203.0.113.7:80 and 127.0.0.1:80", d)
	}
}

// TestLocalAddrsRelisted: the interfaces are listed at most once per
// localTTL, and a change (a new DHCP lease) is seen after it.
func TestLocalAddrsRelisted(t *testing.T) {
	var (
		mu    sync.Mutex
		calls int
		addr  = "203.0.113.7"
		fail  error
	)
	list := func() ([]net.Addr, error) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if fail != nil {
			return nil, fail
		}
		return []net.Addr{&net.IPNet{IP: net.ParseIP(addr), Mask: net.CIDRMask(32, 32)}}, nil
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newLocalAddrs(list)
	l.now = func() time.Time { return now }
	g := &guard{local: l}
	refused := func(s string) bool { return g.check(net.ParseIP(s)) != nil }

	if !refused("203.0.113.7") || refused("203.0.113.8") || refused("203.0.113.9") {
		t.Fatal("the first listing is not applied")
	}
	if calls != 1 {
		t.Errorf("three checks listed the interfaces %d times, want 1", calls)
	}
	mu.Lock()
	addr = "203.0.113.8" // the lease changed
	mu.Unlock()
	now = now.Add(localTTL - time.Millisecond)
	if !refused("203.0.113.7") || refused("203.0.113.8") {
		t.Error("the listing was not kept for localTTL")
	}
	now = now.Add(time.Millisecond)
	if refused("203.0.113.7") || !refused("203.0.113.8") {
		t.Error("the new address was not seen after localTTL")
	}
	if calls != 2 {
		t.Errorf("listed %d times, want 2", calls)
	}

	// When the interfaces cannot be listed, nothing can be checked, so
	// everything is refused, with a sentence saying why.
	mu.Lock()
	fail = errors.New("netlink: permission denied")
	mu.Unlock()
	now = now.Add(localTTL)
	fe := g.check(net.ParseIP("198.51.100.1"))
	want := "refusing to connect to 198.51.100.1: 198.51.100.1 cannot be checked because this computer's own addresses could not be listed (use --allow-private-origins to allow)"
	if fe == nil || fe.Error() != want {
		t.Errorf("check while listing fails = %v, want %q", fe, want)
	}
}

// guardedClient is a Client whose transport dials through g.
func guardedClient(t *testing.T, g *guard) *Client {
	t.Helper()
	c := newClient(Options{}, g)
	t.Cleanup(c.CloseIdleConnections)
	return c
}
