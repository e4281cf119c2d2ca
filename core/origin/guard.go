package origin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/net/http/httpguts"
)

// Refused reports whether a client without AllowPrivate refuses to connect
// to ip: a loopback, link-local, private, carrier-grade NAT, reserved,
// benchmarking, multicast, unspecified, broadcast or cloud metadata
// address (see refusal for the full list, IPv6 forms included), or one of
// this computer's own addresses or networks. A nil or malformed ip is
// refused.
func Refused(ip net.IP) bool {
	return (&guard{local: systemAddrs}).check(ip) != nil
}

// ValidateURL parses raw and checks that it is something the client may
// fetch: an absolute http or https URL with a host and a sane port.
func ValidateURL(raw string) (*url.URL, error) {
	bad := func(why string) (*url.URL, error) { return nil, &urlError{raw: raw, why: why} }
	switch {
	case raw == "":
		return bad("it is empty")
	case len(raw) > maxURLLen:
		return bad(fmt.Sprintf("it is longer than %d bytes", maxURLLen))
	}
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return bad(err.Error())
	}
	switch {
	case u.Scheme == "":
		return bad("it has no scheme (it should start with http:// or https://)")
	case u.Scheme != "http" && u.Scheme != "https":
		return bad(fmt.Sprintf("scheme %q is not supported (only http and https are)", u.Scheme))
	case u.Opaque != "":
		return bad("it has no host (it should look like " + u.Scheme + "://host/path)")
	case u.Hostname() == "":
		return bad("it has no host")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return bad(fmt.Sprintf("port %q is not a number from 1 to 65535", p))
		}
	} else if strings.HasSuffix(u.Host, ":") {
		return bad("it has an empty port")
	}
	// The URL goes on as its String (the probe's answer, a lender's
	// request), where escaping can make it several times longer.
	if len(u.String()) > maxURLLen {
		return bad(fmt.Sprintf("it is longer than %d bytes once escaped", maxURLLen))
	}
	return u, nil
}

// ValidateHeaders checks request headers supplied by a user or a room peer.
// Headers that decide the target, the framing or the byte range of the
// response are the client's own business and are refused: Host, Range,
// If-Range and the other conditionals, Content-Length, Transfer-Encoding,
// Accept-Encoding, Connection and the other hop-by-hop headers, and
// Proxy-*. Cookie and Authorization are allowed, because many downloads sit
// behind a login; the HTTP client drops them on a redirect to another host.
// Names and values must pass the checks Go's HTTP client makes before it
// sends them (httpguts: a token for a name, no control characters but tab
// in a value, CR and LF in particular), and the set is capped in count and
// size.
func ValidateHeaders(h map[string]string) error {
	if len(h) > maxHeaders {
		return &headerError{why: fmt.Sprintf("%d headers given, at most %d are allowed", len(h), maxHeaders)}
	}
	total := 0
	for name, value := range h {
		total += len(name) + len(value)
		switch {
		case name == "":
			return &headerError{why: "a header has an empty name"}
		case len(name) > maxHeaderName:
			return &headerError{name: name, why: fmt.Sprintf("the name is longer than %d bytes", maxHeaderName)}
		case !httpguts.ValidHeaderFieldName(name):
			return &headerError{name: name, why: "the name contains characters not allowed in a header name"}
		case forbiddenHeaders[strings.ToLower(name)]:
			return &headerError{name: name, why: "the client sets this header itself"}
		case strings.HasPrefix(strings.ToLower(name), "proxy-"):
			return &headerError{name: name, why: "proxy headers are not allowed (no proxy is used)"}
		case len(value) > maxHeaderValue:
			return &headerError{name: name, why: fmt.Sprintf("the value is longer than %d bytes", maxHeaderValue)}
		case strings.ContainsAny(value, "\r\n"):
			return &headerError{name: name, why: "the value contains a line break"}
		case !httpguts.ValidHeaderFieldValue(value):
			return &headerError{name: name, why: "the value contains a control character"}
		}
	}
	if total > maxHeaderBytes {
		return &headerError{why: fmt.Sprintf("the headers add up to %d bytes, at most %d are allowed", total, maxHeaderBytes)}
	}
	return nil
}

// Limits on what ValidateURL and ValidateHeaders accept.
const (
	maxURLLen      = 8 << 10
	maxHeaders     = 32
	maxHeaderName  = 128
	maxHeaderValue = 4 << 10
	maxHeaderBytes = 16 << 10
)

var forbiddenHeaders = map[string]bool{
	"host": true, "range": true, "if-range": true, "content-length": true,
	"transfer-encoding": true, "te": true, "trailer": true, "connection": true,
	"keep-alive": true, "upgrade": true, "expect": true, "accept-encoding": true,
	"if-match": true, "if-none-match": true, "if-modified-since": true,
	"if-unmodified-since": true,
}

func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return true
		}
	}
	return false
}

var (
	thisNet    = netip.MustParsePrefix("0.0.0.0/8")
	cgnat      = netip.MustParsePrefix("100.64.0.0/10")
	ietf4      = netip.MustParsePrefix("192.0.0.0/24")
	relay6to4  = netip.MustParsePrefix("192.88.99.0/24")
	bench4     = netip.MustParsePrefix("198.18.0.0/15")
	reserved4  = netip.MustParsePrefix("240.0.0.0/4")
	broadcast4 = netip.AddrFrom4([4]byte{255, 255, 255, 255})

	global6    = netip.MustParsePrefix("2000::/3")
	siteLocal  = netip.MustParsePrefix("fec0::/10")
	nat64      = netip.MustParsePrefix("64:ff9b::/96")
	nat64Local = netip.MustParsePrefix("64:ff9b:1::/48")
	ietf6      = netip.MustParsePrefix("2001::/23")
	teredo     = netip.MustParsePrefix("2001::/32")
	bench6     = netip.MustParsePrefix("2001:2::/48")
	sixToFour  = netip.MustParsePrefix("2002::/16")
)

// refusal says why ip is refused by class ("loopback", "private", ...) or
// "" when its class is allowed. IPv4-mapped and well-known NAT64
// (64:ff9b::/96) addresses are judged by the IPv4 address they lead to.
// The IPv6 forms whose IPv4 address cannot be trusted are refused whole:
// in 6to4 (2002::/16) the IPv4 part names only a site's gateway and the
// rest picks any host behind it, Teredo (2001::/32) hides its client's
// address, local-use NAT64 (64:ff9b:1::/48) may place it anywhere, and
// IPv4-compatible (::a.b.c.d) addresses are deprecated. None of them
// serves files; all of them can lead into a network.
func refusal(ip net.IP) string {
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return "malformed"
	}
	a = embedded(a.WithZone(""))
	if why := alwaysRefused(a); why != "" {
		return why
	}
	switch {
	case a.IsLoopback():
		return "loopback"
	case a.IsLinkLocalUnicast():
		return "link-local"
	case a.IsPrivate(), siteLocal.Contains(a):
		return "private"
	case cgnat.Contains(a):
		return "carrier-grade NAT"
	case bench4.Contains(a), bench6.Contains(a):
		return "benchmarking"
	case teredo.Contains(a):
		return "Teredo"
	case sixToFour.Contains(a):
		return "6to4"
	case nat64Local.Contains(a):
		return "local-use NAT64"
	case ietf4.Contains(a), relay6to4.Contains(a), reserved4.Contains(a), ietf6.Contains(a):
		return "reserved"
	case a.Is6() && !global6.Contains(a):
		// Outside 2000::/3 nothing is routed on the internet: IPv4-
		// compatible and IPv4-translated forms, discard-only 100::/64 ...
		return "reserved"
	}
	return ""
}

// Timeouts of the guarded transport.
const (
	dialTimeout       = 10 * time.Second
	minAttemptTimeout = 2 * time.Second
	maxDialAddrs      = 8
)

// resolver is the part of *net.Resolver the guard uses; tests fake it so
// that no real name is ever resolved.
type resolver interface {
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
}

// connectFunc opens a TCP connection to a literal IP address.
type connectFunc func(ctx context.Context, network, address string) (net.Conn, error)

// guard is the transport's dialer. It resolves the host itself so that it
// can refuse every address before connecting to it; the real connect
// function checks the address once more in net.Dialer.Control, the last
// point before the connect system call.
type guard struct {
	// allowPrivate is AllowPrivate. Client.SetAllowPrivate changes it
	// while requests run: every check reads it afresh, so the change
	// holds for each connection made after it.
	allowPrivate atomic.Bool
	source       net.IP
	resolve      resolver
	connect      connectFunc
	local        *localAddrs // this computer's addresses; nil = none (tests)
}

// private reports whether AllowPrivate lifts the guard.
func (g *guard) private() bool { return g.allowPrivate.Load() }

func newGuard(allowPrivate bool, source net.IP) *guard {
	g := &guard{source: source, resolve: net.DefaultResolver, local: systemAddrs}
	g.allowPrivate.Store(allowPrivate)
	d := &net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second, Control: g.control}
	if source != nil {
		d.LocalAddr = &net.TCPAddr{IP: source}
	}
	g.connect = d.DialContext
	return g
}

// DialContext resolves address, drops the addresses the guard refuses or
// that the source address cannot reach, and connects to the first of the
// rest that answers.
func (g *guard) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, fmt.Errorf("dialing %s: %w", address, err)
	}
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()

	var ips []net.IP
	if a, err := netip.ParseAddr(host); err == nil {
		// A literal keeps its zone (fe80::1%eth0) for the connect below.
		if a.Zone() != "" {
			return g.dialLiteral(ctx, network, address, a)
		}
		ips = []net.IP{a.AsSlice()}
	} else {
		addrs, err := g.resolve.LookupIPAddr(ctx, host)
		if err != nil {
			return nil, err
		}
		for _, a := range addrs {
			ips = append(ips, a.IP)
		}
	}

	var (
		allowed  []net.IP
		refused  *forbiddenError
		wrongFam net.IP
	)
	for _, ip := range ips {
		if fe := g.check(ip); fe != nil {
			if refused == nil {
				refused = fe
			}
			continue
		}
		if g.source != nil && (g.source.To4() == nil) != (ip.To4() == nil) {
			wrongFam = ip
			continue
		}
		allowed = append(allowed, ip)
	}
	switch {
	case len(allowed) == 0 && refused != nil:
		return nil, refused
	case len(allowed) == 0 && wrongFam != nil:
		return nil, fmt.Errorf("dialing %s: source address %s cannot reach %s (other IP family)", host, g.source, wrongFam)
	case len(allowed) == 0:
		return nil, fmt.Errorf("dialing %s: the name has no addresses", host)
	}
	if len(allowed) > maxDialAddrs {
		allowed = allowed[:maxDialAddrs]
	}

	// Split the time left between the addresses, as net.Dialer does, so
	// that one black-holed address cannot use it all up.
	var firstErr error
	deadline, _ := ctx.Deadline()
	for i, ip := range allowed {
		share := time.Until(deadline) / time.Duration(len(allowed)-i)
		attempt, cancelAttempt := context.WithTimeout(ctx, max(share, minAttemptTimeout))
		c, err := g.connect(attempt, network, net.JoinHostPort(ip.String(), port))
		cancelAttempt() // a connected socket no longer depends on it
		if err == nil {
			return c, nil
		}
		if firstErr == nil {
			firstErr = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, firstErr
}

// dialLiteral connects to a zoned IPv6 literal, which is always link-local
// and so only reachable with AllowPrivate.
func (g *guard) dialLiteral(ctx context.Context, network, address string, a netip.Addr) (net.Conn, error) {
	ip := net.IP(a.WithZone("").AsSlice())
	if fe := g.check(ip); fe != nil {
		return nil, fe
	}
	return g.connect(ctx, network, address)
}

// control runs after the socket exists and before it connects.
func (g *guard) control(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("dialing %s: %w", address, err)
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("dialing %s: not an IP address", address)
	}
	ip := net.IP(a.WithZone("").AsSlice())
	if fe := g.check(ip); fe != nil {
		return fe
	}
	return nil
}
