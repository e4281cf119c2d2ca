package discover

import (
	"net"
	"net/netip"
	"slices"
	"testing"

	"github.com/hashicorp/mdns"
	"github.com/miekg/dns"
)

var testService = Service{NodeID: "NODEA", Name: "box", Port: 4700, Lending: true, RoomHint: "abcd", Version: 1}

func testMDNSService(t testing.TB) *mdns.MDNSService {
	t.Helper()
	svc, err := mdns.NewMDNSService(testService.NodeID, ServiceType, "local.", "NODEA.local.", testService.Port,
		[]net.IP{net.ParseIP("10.79.0.1"), net.ParseIP("fd00:79::1")}, encodeTXT(testService))
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func TestAnnouncementRoundTrip(t *testing.T) {
	svc := testMDNSService(t)
	for _, goodbye := range []bool{false, true} {
		pkt, err := announcement(svc, goodbye)
		if err != nil {
			t.Fatal(err)
		}
		recs, err := parseResponse(pkt)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 1 {
			t.Fatalf("goodbye=%t: parsed %d records, want 1: %+v", goodbye, len(recs), recs)
		}
		r := recs[0]
		if r.instance != "nodea._dragonload._udp.local." || r.goodbye != goodbye || r.port != 4700 {
			t.Errorf("goodbye=%t: parsed %+v", goodbye, r)
		}
		if got, err := decodeTXT(r.txt); err != nil || got != (Service{NodeID: "NODEA", Name: "box", Lending: true, RoomHint: "abcd", Version: 1}) {
			t.Errorf("goodbye=%t: TXT decodes to %+v, %v", goodbye, got, err)
		}
		want := []netip.Addr{netip.MustParseAddr("10.79.0.1"), netip.MustParseAddr("fd00:79::1")}
		if goodbye {
			want = nil
		}
		if !slices.Equal(r.addrs, want) {
			t.Errorf("goodbye=%t: addresses %v, want %v", goodbye, r.addrs, want)
		}
	}
}

// TestAnswerParses checks that what the library's responder sends for our
// own query is read completely, every address included.
func TestAnswerParses(t *testing.T) {
	z := &zone{}
	z.svc.Store(testMDNSService(t))
	m := dns.Msg{MsgHdr: dns.MsgHdr{Response: true}, Answer: z.Records(dns.Question{Name: serviceFQDN, Qtype: dns.TypePTR})}
	pkt, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	recs, err := parseResponse(pkt)
	if err != nil || len(recs) != 1 || len(recs[0].addrs) != 2 || recs[0].goodbye {
		t.Fatalf("parsed %+v, %v", recs, err)
	}
}

func TestParseResponseIgnores(t *testing.T) {
	ptr := func(name, target string, ttl uint32) dns.RR {
		return &dns.PTR{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: ttl}, Ptr: target}
	}
	pack := func(m dns.Msg) []byte {
		pkt, err := m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		return pkt
	}
	ours := ptr(serviceFQDN, "N1."+serviceFQDN, 120)
	for _, c := range []struct {
		name string
		pkt  []byte
	}{
		{"query", pack(dns.Msg{Answer: []dns.RR{ours}})},
		{"error response", pack(dns.Msg{MsgHdr: dns.MsgHdr{Response: true, Rcode: dns.RcodeServerFailure}, Answer: []dns.RR{ours}})},
		{"other opcode", pack(dns.Msg{MsgHdr: dns.MsgHdr{Response: true, Opcode: dns.OpcodeUpdate}, Answer: []dns.RR{ours}})},
		{"other service", pack(dns.Msg{MsgHdr: dns.MsgHdr{Response: true}, Answer: []dns.RR{ptr("_http._tcp.local.", "N1._http._tcp.local.", 120)}})},
		{"pointer outside the service", pack(dns.Msg{MsgHdr: dns.MsgHdr{Response: true}, Answer: []dns.RR{ptr(serviceFQDN, "evil.example.", 120)}})},
		{"pointer to a deeper name", pack(dns.Msg{MsgHdr: dns.MsgHdr{Response: true}, Answer: []dns.RR{ptr(serviceFQDN, "a.b."+serviceFQDN, 120)}})},
	} {
		recs, err := parseResponse(c.pkt)
		if err != nil || len(recs) != 0 {
			t.Errorf("%s: parsed %+v, %v; want nothing", c.name, recs, err)
		}
	}
	if _, err := parseResponse([]byte{1, 2, 3}); err == nil {
		t.Error("a 3-byte packet parsed without error")
	}
}

func TestParseResponseBounds(t *testing.T) {
	m := dns.Msg{MsgHdr: dns.MsgHdr{Response: true}}
	for i := range maxRecordsPerPacket + 5 {
		inst := string(rune('a'+i%26)) + string(rune('a'+i/26)) + "." + serviceFQDN
		m.Answer = append(m.Answer,
			&dns.PTR{Hdr: dns.RR_Header{Name: serviceFQDN, Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: 120}, Ptr: inst},
			&dns.PTR{Hdr: dns.RR_Header{Name: serviceFQDN, Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: 120}, Ptr: inst}) // repeated
	}
	m.Answer = append(m.Answer, &dns.SRV{Hdr: dns.RR_Header{Name: "aa." + serviceFQDN, Rrtype: dns.TypeSRV, Class: dns.ClassINET, Ttl: 120}, Port: 1, Target: "h.local."})
	for i := range maxAddrsPerHost + 5 {
		m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: "h.local.", Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 120}, A: net.IPv4(10, 0, 0, byte(i))})
	}
	pkt, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	recs, err := parseResponse(pkt)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != maxRecordsPerPacket {
		t.Errorf("parsed %d records, want the bound %d", len(recs), maxRecordsPerPacket)
	}
	if len(recs) > 0 && len(recs[0].addrs) != maxAddrsPerHost {
		t.Errorf("kept %d addresses of one host, want the bound %d", len(recs[0].addrs), maxAddrsPerHost)
	}
}

func FuzzParseResponse(f *testing.F) {
	svc := testMDNSService(f)
	for _, goodbye := range []bool{false, true} {
		pkt, err := announcement(svc, goodbye)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(pkt)
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, pkt []byte) {
		recs, err := parseResponse(pkt)
		if err != nil && len(recs) > 0 {
			t.Fatal("records returned with an error")
		}
		if len(recs) > maxRecordsPerPacket {
			t.Fatalf("%d records, more than the bound", len(recs))
		}
		for _, r := range recs {
			if !isInstance(r.instance) || len(r.addrs) > maxAddrsPerHost || r.port < 0 || r.port > 65535 {
				t.Fatalf("bad record %+v", r)
			}
			for _, a := range r.addrs {
				if !a.IsValid() || a.Is4In6() {
					t.Fatalf("bad address %v in %+v", a, r)
				}
			}
		}
	})
}
