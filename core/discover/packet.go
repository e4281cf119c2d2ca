package discover

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/hashicorp/mdns"
	"github.com/miekg/dns"
)

const (
	serviceFQDN = ServiceType + ".local." // as dns.CanonicalName writes it

	// Bounds on what one packet may make us hold: a packet is at most 64 KiB,
	// but nothing legitimate comes near these.
	maxRecordsPerPacket = 32
	maxAddrsPerHost     = 16
)

// record is what one response says about one service instance.
type record struct {
	instance string // canonical instance name, <label>._dragonload._udp.local.
	goodbye  bool   // its PTR record had TTL 0
	txt      []string
	port     int
	addrs    []netip.Addr
}

// parseResponse reads the Dragonload service instances from an mDNS packet.
// It returns nothing for queries and for responses about other services.
func parseResponse(pkt []byte) ([]record, error) {
	var m dns.Msg
	if err := m.Unpack(pkt); err != nil {
		return nil, fmt.Errorf("cannot parse mDNS packet: %w", err)
	}
	if !m.Response || m.Opcode != dns.OpcodeQuery || m.Rcode != dns.RcodeSuccess {
		return nil, nil // RFC 6762 section 18: ignore anything else
	}
	var (
		ptrs  []*dns.PTR
		srvs  = map[string]*dns.SRV{}
		txts  = map[string]*dns.TXT{}
		hosts = map[string][]netip.Addr{}
	)
	for _, rrs := range [][]dns.RR{m.Answer, m.Extra} {
		for _, rr := range rrs {
			name := dns.CanonicalName(rr.Header().Name)
			switch rr := rr.(type) {
			case *dns.PTR:
				if name == serviceFQDN {
					ptrs = append(ptrs, rr)
				}
			case *dns.SRV:
				if srvs[name] == nil {
					srvs[name] = rr
				}
			case *dns.TXT:
				if txts[name] == nil {
					txts[name] = rr
				}
			case *dns.A:
				hosts[name] = appendAddr(hosts[name], rr.A)
			case *dns.AAAA:
				hosts[name] = appendAddr(hosts[name], rr.AAAA)
			}
		}
	}
	var out []record
	done := map[string]bool{}
	for _, p := range ptrs {
		inst := dns.CanonicalName(p.Ptr)
		if done[inst] || !isInstance(inst) {
			continue
		}
		if len(out) == maxRecordsPerPacket {
			break
		}
		done[inst] = true
		r := record{instance: inst, goodbye: p.Hdr.Ttl == 0}
		if t := txts[inst]; t != nil {
			r.txt = t.Txt
		}
		if s := srvs[inst]; s != nil {
			r.port = int(s.Port)
			r.addrs = hosts[dns.CanonicalName(s.Target)]
		}
		out = append(out, r)
	}
	return out, nil
}

// announcement builds the unsolicited response that advertises svc, or with
// goodbye its withdrawal: the PTR, SRV and TXT records with TTL 0. Address
// records are left out of a goodbye: some clients (hashicorp/mdns among them)
// ignore TTLs and take a packet with PTR, SRV, TXT and an address for a live
// instance.
func announcement(svc *mdns.MDNSService, goodbye bool) ([]byte, error) {
	rrs := svc.Records(dns.Question{Name: serviceFQDN, Qtype: dns.TypePTR, Qclass: dns.ClassINET})
	if goodbye {
		kept := rrs[:0]
		for _, rr := range rrs {
			switch rr.(type) {
			case *dns.PTR, *dns.SRV, *dns.TXT:
				rr.Header().Ttl = 0
				kept = append(kept, rr)
			}
		}
		rrs = kept
	}
	m := dns.Msg{
		MsgHdr:   dns.MsgHdr{Response: true, Authoritative: true},
		Compress: true,
		Answer:   rrs,
	}
	pkt, err := m.Pack()
	if err != nil {
		return nil, fmt.Errorf("cannot build mDNS announcement: %w", err)
	}
	return pkt, nil
}

// isInstance reports whether a canonical name is <label>.<serviceFQDN>.
func isInstance(name string) bool {
	label, ok := strings.CutSuffix(name, "."+serviceFQDN)
	return ok && label != "" && !strings.Contains(label, ".")
}

func appendAddr(list []netip.Addr, ip []byte) []netip.Addr {
	if len(list) >= maxAddrsPerHost {
		return list
	}
	if a, ok := netip.AddrFromSlice(ip); ok {
		return append(list, a.Unmap())
	}
	return list
}
