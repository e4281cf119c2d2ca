package discover

import (
	"fmt"
	"log/slog"
	"net"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

var (
	groupV4 = &net.UDPAddr{IP: net.IPv4(224, 0, 0, 251), Port: 5353}
	groupV6 = &net.UDPAddr{IP: net.ParseIP("ff02::fb"), Port: 5353}
)

// listener is a socket on port 5353 joined to one mDNS group on one
// interface. It receives unsolicited announcements and goodbyes, which the
// library's responder cannot hand out, and sends ours: RFC 6762 section 11
// wants responses to come from port 5353.
type listener struct {
	conn *net.UDPConn
	// read returns the packet's length and the index of the interface it
	// arrived on, or 0 where the platform cannot tell.
	read func(buf []byte) (n, ifindex int, err error)
	dst  *net.UDPAddr
}

func listen(ifi *net.Interface, v6 bool, log *slog.Logger) (*listener, error) {
	network, group := "udp4", groupV4
	if v6 {
		network, group = "udp6", groupV6
	}
	// The standard library sets the outgoing interface and joins the group
	// on it, with the port shared among every mDNS socket on the host.
	conn, err := net.ListenMulticastUDP(network, ifi, group)
	if err != nil {
		return nil, fmt.Errorf("cannot join %v on %s: %w", group.IP, ifi.Name, err)
	}
	l := &listener{conn: conn, dst: group}
	var loopErr, hopErr, cmErr error
	if v6 {
		p := ipv6.NewPacketConn(conn)
		// Loopback lets two nodes on one host hear each other; RFC 6762
		// section 11 asks for the maximum hop limit.
		loopErr = p.SetMulticastLoopback(true)
		hopErr = p.SetMulticastHopLimit(255)
		cmErr = p.SetControlMessage(ipv6.FlagInterface, true)
		l.read = func(buf []byte) (int, int, error) {
			n, cm, _, err := p.ReadFrom(buf)
			if cm != nil {
				return n, cm.IfIndex, err
			}
			return n, 0, err
		}
	} else {
		p := ipv4.NewPacketConn(conn)
		loopErr = p.SetMulticastLoopback(true)
		hopErr = p.SetMulticastTTL(255)
		cmErr = p.SetControlMessage(ipv4.FlagInterface, true)
		l.read = func(buf []byte) (int, int, error) {
			n, cm, _, err := p.ReadFrom(buf)
			if cm != nil {
				return n, cm.IfIndex, err
			}
			return n, 0, err
		}
	}
	// None of these is fatal: without them announcements reach fewer
	// listeners, or traffic of other interfaces is not filtered out here
	// (the subnet check on addresses still applies).
	for what, err := range map[string]error{"multicast loopback": loopErr, "hop limit": hopErr, "interface control messages": cmErr} {
		if err != nil {
			log.Debug("cannot set mDNS socket option", "iface", ifi.Name, "option", what, "err", err)
		}
	}
	return l, nil
}

// send multicasts one packet out of the listener's interface.
func (l *listener) send(pkt []byte) error {
	if err := l.conn.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil {
		return fmt.Errorf("cannot set write deadline: %w", err)
	}
	if _, err := l.conn.WriteToUDP(pkt, l.dst); err != nil {
		return fmt.Errorf("cannot send to %v: %w", l.dst, err)
	}
	return nil
}
