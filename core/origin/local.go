package origin

import (
	"net"
	"net/netip"
	"sync"
	"time"
)

// Reasons the guard gives that are not a class of address.
const (
	reasonOwn    = "own"     // assigned to one of this computer's interfaces
	reasonOnLink = "on-link" // inside a network one of them is attached to
	reasonNoList = "unlisted"
)

// localTTL is how long a listing of this computer's addresses is trusted.
// Short enough that a new DHCP lease or IPv6 prefix is seen within
// seconds, long enough that a burst of dials lists the interfaces once.
const localTTL = 5 * time.Second

// localAddrs knows this computer's own addresses and the networks its
// interfaces are attached to, listed at most once per localTTL.
//
// A member must not be able to use a lender to reach what only the lender
// can reach: a service on the lender's own public address (a connection to
// one's own address never leaves the machine, so a firewall on the
// network side does not apply) or, with IPv6, a host on the lender's LAN
// by its global address, which no private-range check recognises. So
// every address of every interface is refused, and every network prefix
// configured on an interface with a public address: the IPv6 /64 of the
// LAN, or a public IPv4 subnet (campus networks, some hosting) whose other
// hosts are the lender's neighbours just as much as 192.168.1.0/24's are.
// Private, loopback and link-local networks are refused anyway.
type localAddrs struct {
	list func() ([]net.Addr, error) // net.InterfaceAddrs; tests fake it
	now  func() time.Time

	mu   sync.Mutex
	at   time.Time // when own and nets were listed; zero = never
	own  []netip.Addr
	nets []netip.Prefix
	err  error
}

func newLocalAddrs(list func() ([]net.Addr, error)) *localAddrs {
	return &localAddrs{list: list, now: time.Now}
}

// systemAddrs is shared by every client New makes, so that they list the
// interfaces once per localTTL between them.
var systemAddrs = newLocalAddrs(net.InterfaceAddrs)

// refusal says why a (unmapped, without zone) is one of this computer's
// addresses or on one of its networks, or "" when it is neither. When the
// interfaces cannot be listed, every address is refused: the guard cannot
// tell, and a lender that fetches nothing is better than one that fetches
// from itself.
func (l *localAddrs) refusal(a netip.Addr) string {
	if l == nil {
		return ""
	}
	own, nets, err := l.get()
	if err != nil {
		return reasonNoList
	}
	for _, o := range own {
		if o == a {
			return reasonOwn
		}
	}
	for _, p := range nets {
		if p.Contains(a) {
			return reasonOnLink
		}
	}
	return ""
}

func (l *localAddrs) get() ([]netip.Addr, []netip.Prefix, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if !l.at.IsZero() && now.Sub(l.at) < localTTL && now.Sub(l.at) >= 0 {
		return l.own, l.nets, l.err
	}
	l.at = now
	l.own, l.nets, l.err = nil, nil, nil
	addrs, err := l.list()
	if err != nil {
		l.err = err
		return nil, nil, err
	}
	for _, addr := range addrs {
		var (
			ip         net.IP
			ones, bits int
		)
		switch v := addr.(type) {
		case *net.IPNet:
			ip = v.IP
			ones, bits = v.Mask.Size()
		case *net.IPAddr:
			ip = v.IP
		default:
			continue
		}
		a, ok := netip.AddrFromSlice(ip)
		if !ok {
			continue
		}
		a = a.Unmap()
		l.own = append(l.own, a)
		// A network of private, loopback or link-local addresses is refused
		// already. A /0 is no network (some tunnels report one); a
		// non-canonical mask (bits == 0) gives no prefix.
		if bits == 0 || ones == 0 || ones >= bits || (a.Is4() && bits != 32) || refusal(a.AsSlice()) != "" {
			continue
		}
		l.nets = append(l.nets, netip.PrefixFrom(a, ones).Masked())
	}
	return l.own, l.nets, nil
}

// alwaysRefused says why a is refused even with AllowPrivate, or "".
// These are never a file server, on a test bed or a LAN either: the
// unspecified address (which reaches this computer), multicast and
// broadcast (no TCP peer), and the cloud metadata services, which hand
// the machine's credentials to whoever asks and answer on a link-local,
// carrier-grade NAT, IETF or even public (Azure's) address.
func alwaysRefused(a netip.Addr) string {
	switch {
	case a.IsUnspecified(), a.Is4() && thisNet.Contains(a):
		return "unspecified"
	case a.IsMulticast():
		return "multicast"
	case a == broadcast4:
		return "broadcast"
	case cloudMetadata[a]:
		return "cloud metadata"
	}
	return ""
}

var cloudMetadata = map[netip.Addr]bool{
	netip.MustParseAddr("169.254.169.254"): true, // AWS, Azure, GCP, OpenStack, DigitalOcean, Oracle ...
	netip.MustParseAddr("169.254.170.2"):   true, // AWS ECS task credentials
	netip.MustParseAddr("169.254.170.23"):  true, // AWS EKS pod identity
	netip.MustParseAddr("fd00:ec2::254"):   true, // AWS IMDS over IPv6
	netip.MustParseAddr("fd00:ec2::23"):    true, // AWS EKS pod identity over IPv6
	netip.MustParseAddr("100.100.100.200"): true, // Alibaba Cloud
	netip.MustParseAddr("192.0.0.192"):     true, // Oracle Cloud (classic)
	netip.MustParseAddr("168.63.129.16"):   true, // Azure WireServer, a public address
}

// embedded returns the IPv4 address an IPv4-mapped (::ffff:a.b.c.d) or
// well-known NAT64 (64:ff9b::a.b.c.d) address leads to, or a itself. The
// other IPv6 forms that carry an IPv4 address (IPv4-compatible ::a.b.c.d,
// 6to4 2002::/16, Teredo 2001::/32, local-use NAT64 64:ff9b:1::/48) are
// refused whole by refusal: see there.
func embedded(a netip.Addr) netip.Addr {
	a = a.Unmap()
	if a.Is6() && nat64.Contains(a) {
		b := a.As16()
		a = netip.AddrFrom4([4]byte(b[12:]))
	}
	return a
}

// check is the guard's decision for one address it is about to connect
// to: nil, or the refusal to return.
func (g *guard) check(ip net.IP) *forbiddenError {
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return &forbiddenError{ip: ip, reason: "malformed", always: true}
	}
	a = embedded(a.WithZone(""))
	if why := alwaysRefused(a); why != "" {
		return &forbiddenError{ip: ip, reason: why, always: true}
	}
	if g.private() {
		return nil
	}
	if why := refusal(ip); why != "" {
		return &forbiddenError{ip: ip, reason: why}
	}
	if why := g.local.refusal(a); why != "" {
		return &forbiddenError{ip: ip, reason: why}
	}
	return nil
}
