package discover

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
)

// ifaceInfo is one interface mDNS runs on, as last enumerated.
type ifaceInfo struct {
	ifi   net.Interface
	v4    []netip.Prefix // IPv4 addresses with their subnets
	v6    []netip.Prefix // global and unique-local IPv6 addresses with their subnets
	anyV6 bool           // some IPv6 address, link-local included, so IPv6 multicast can work
}

// interfaces lists the interfaces to run on: only the one named, or else
// every one that is up, running, multicast-capable, neither loopback nor
// point-to-point, and has an address worth advertising.
func interfaces(only string) ([]ifaceInfo, error) {
	var ifis []net.Interface
	if only != "" {
		ifi, err := net.InterfaceByName(only)
		if err != nil {
			return nil, fmt.Errorf("cannot find interface %q: %w", only, err)
		}
		ifis = []net.Interface{*ifi}
	} else {
		var err error
		if ifis, err = net.Interfaces(); err != nil {
			return nil, fmt.Errorf("cannot list network interfaces: %w", err)
		}
	}
	var out []ifaceInfo
	for _, ifi := range ifis {
		const want = net.FlagUp | net.FlagRunning | net.FlagMulticast
		if ifi.Flags&want != want || ifi.Flags&net.FlagLoopback != 0 {
			continue
		}
		// Tunnels rarely carry multicast to anyone useful; use one only when asked.
		if only == "" && ifi.Flags&net.FlagPointToPoint != 0 {
			continue
		}
		info, err := describe(ifi)
		if err != nil {
			return nil, err
		}
		if len(info.v4)+len(info.v6) > 0 {
			out = append(out, info)
		}
	}
	return out, nil
}

func describe(ifi net.Interface) (ifaceInfo, error) {
	info := ifaceInfo{ifi: ifi}
	addrs, err := ifi.Addrs()
	if err != nil {
		return info, fmt.Errorf("cannot list the addresses of interface %s: %w", ifi.Name, err)
	}
	for _, a := range addrs {
		n, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip, ok := netip.AddrFromSlice(n.IP)
		if !ok {
			continue
		}
		ip = ip.Unmap()
		ones, _ := n.Mask.Size()
		p := netip.PrefixFrom(ip, ones)
		switch {
		case ip.Is4():
			info.v4 = append(info.v4, p)
		case ip.IsLinkLocalUnicast():
			info.anyV6 = true
		default:
			info.anyV6 = true
			if ip.IsGlobalUnicast() {
				info.v6 = append(info.v6, p)
			}
		}
	}
	return info, nil
}

// ips are the addresses advertised on the interface.
func (i ifaceInfo) ips() []net.IP {
	var ips []net.IP
	for _, p := range slices.Concat(i.v4, i.v6) {
		ips = append(ips, net.IP(p.Addr().AsSlice()))
	}
	return ips
}

// sameAddrs reports whether i and j advertise the same addresses.
func (i ifaceInfo) sameAddrs(j ifaceInfo) bool {
	return slices.Equal(i.v4, j.v4) && slices.Equal(i.v6, j.v6)
}

// key identifies what the interface's sockets depend on; when it changes
// they are opened afresh.
func (i ifaceInfo) key() string {
	return fmt.Sprintf("%d/%t/%t", i.ifi.Index, len(i.v4) > 0, i.anyV6)
}

// usable reports whether a peer's address heard on this interface can be
// dialed through it: on one of its subnets, and not link-local IPv6, whose
// zone cannot be known for sure (see the package doc).
func (i ifaceInfo) usable(a netip.Addr) bool {
	a = a.WithZone("")
	if !a.IsValid() || a.IsUnspecified() || a.IsLoopback() || a.IsMulticast() ||
		a.Is6() && a.IsLinkLocalUnicast() {
		return false
	}
	for _, p := range slices.Concat(i.v4, i.v6) {
		if p.Masked().Contains(a) {
			return true
		}
	}
	return false
}
