package discover

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// query polls one interface over one address family: a one-shot query
// (RFC 6762 section 5.1) for the service's PTR records, sent from an
// ephemeral port so that responders answer by unicast, and every answer that
// arrives within window.
//
// The hashicorp/mdns client is not used for this. It joins its socket to
// 224.0.0.251 on the interface the routing table picks and gives up on IPv4
// when there is no route for it, it keeps only the last IPv4 and IPv6 address
// of each answer, and it goes on writing to an entry after handing it over.
func query(ctx context.Context, ifi *net.Interface, v6 bool, window time.Duration) ([]record, error) {
	network, laddr, group := "udp4", &net.UDPAddr{IP: net.IPv4zero}, groupV4
	if v6 {
		network, laddr, group = "udp6", &net.UDPAddr{IP: net.IPv6unspecified}, groupV6
	}
	conn, err := net.ListenUDP(network, laddr)
	if err != nil {
		return nil, fmt.Errorf("cannot open a socket to query on %s: %w", ifi.Name, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if v6 {
		p := ipv6.NewPacketConn(conn)
		err = errors.Join(p.SetMulticastInterface(ifi), p.SetMulticastHopLimit(255))
	} else {
		p := ipv4.NewPacketConn(conn)
		err = errors.Join(p.SetMulticastInterface(ifi), p.SetMulticastTTL(255))
	}
	if err != nil {
		return nil, fmt.Errorf("cannot direct queries to %s: %w", ifi.Name, err)
	}

	var m dns.Msg
	m.SetQuestion(serviceFQDN, dns.TypePTR)
	m.RecursionDesired = false
	pkt, err := m.Pack()
	if err != nil {
		return nil, fmt.Errorf("cannot build mDNS query: %w", err)
	}
	deadline := time.Now().Add(window)
	if err := conn.SetDeadline(deadline); err != nil {
		return nil, fmt.Errorf("cannot set query deadline: %w", err)
	}
	if _, err := conn.WriteToUDP(pkt, group); err != nil {
		return nil, fmt.Errorf("cannot send mDNS query on %s: %w", ifi.Name, err)
	}

	var recs []record
	buf := make([]byte, 65536)
	for len(recs) < maxPeers {
		n, _, err := conn.ReadFromUDP(buf)
		if errors.Is(err, os.ErrDeadlineExceeded) || ctx.Err() != nil {
			break
		}
		if err != nil {
			return recs, fmt.Errorf("cannot read mDNS answers on %s: %w", ifi.Name, err)
		}
		got, err := parseResponse(buf[:n])
		if err != nil {
			continue // not ours to fix; the sender's other answers may be fine
		}
		recs = append(recs, got...)
	}
	return recs, nil
}
