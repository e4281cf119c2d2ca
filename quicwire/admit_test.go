package quicwire

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
)

// TestAdmission walks the budgets of accepted connections: per address,
// in all (the oldest silent one makes room), members apart, and addresses
// whose room proofs keep failing.
func TestAdmission(t *testing.T) {
	t0 := time.Unix(1000, 0)
	ip := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}) }

	t.Run("per address", func(t *testing.T) {
		a := newAdmission[int]()
		for k := range maxUnprovenPerIP {
			if why, _, _ := a.admit(k, ip(1), t0); why != "" {
				t.Fatalf("connection %d refused: %s", k, why)
			}
		}
		if why, _, _ := a.admit(99, ip(1), t0); why == "" {
			t.Fatal("one address got more than its share")
		}
		if why := a.precheck(ip(1), t0); why == "" {
			t.Fatal("the check before the handshake lets a full address through")
		}
		if why := a.precheck(ip(2), t0); why != "" {
			t.Fatalf("the check before the handshake refuses another address: %s", why)
		}
		if why, _, _ := a.admit(100, ip(2), t0); why != "" {
			t.Fatalf("another address was refused: %s", why)
		}
		a.gone(0)
		if why, _, _ := a.admit(101, ip(1), t0); why != "" {
			t.Fatalf("a freed slot was not reusable: %s", why)
		}
	})

	t.Run("oldest silent one makes room", func(t *testing.T) {
		a := newAdmission[int]()
		for k := range maxUnproven {
			a.admit(k, ip(k), t0)
		}
		a.proven(0) // a member now: not evictable
		if u, m := a.counts(); u != maxUnproven-1 || m != 1 {
			t.Fatalf("counts %d, %d", u, m)
		}
		a.admit(1000, ip(1000), t0)
		why, old, evicted := a.admit(1001, ip(1001), t0)
		if why != "" || !evicted || old != 1 {
			t.Fatalf("admit when full: %q, evicted %v (%d); want connection 1 to go", why, evicted, old)
		}
		// A flood much larger than the budget: every slot keeps turning
		// over, the count stays bounded, and the member stays.
		for k := 2000; k < 12000; k++ {
			a.admit(k, ip(k), t0)
		}
		if u, m := a.counts(); u != maxUnproven || m != 1 {
			t.Fatalf("after a flood of 10000: %d unproven, %d members; want %d and 1", u, m, maxUnproven)
		}
		if len(a.order) > 4*maxUnproven+1 {
			t.Errorf("the eviction order holds %d keys for %d connections", len(a.order), maxUnproven)
		}
	})

	t.Run("members have their own slots", func(t *testing.T) {
		a := newAdmission[int]()
		for k := range maxMembers {
			a.admit(k, ip(k), t0)
			if !a.proven(k) {
				t.Fatalf("member %d refused", k)
			}
		}
		a.admit(-1, ip(1), t0)
		if a.proven(-1) {
			t.Error("more members than maxMembers")
		}
	})

	t.Run("failed proofs", func(t *testing.T) {
		a := newAdmission[int]()
		bad := ip(7)
		for i := range maxFailures - 1 {
			a.failed(bad, t0.Add(time.Duration(i)*time.Second))
		}
		if why, _, _ := a.admit(1, bad, t0.Add(10*time.Second)); why != "" {
			t.Fatalf("refused before the limit: %s", why)
		}
		a.gone(1)
		a.failed(bad, t0.Add(11*time.Second))
		if why, _, _ := a.admit(2, bad, t0.Add(12*time.Second)); why == "" {
			t.Fatal("an address with too many failed proofs was admitted")
		}
		if why, _, _ := a.admit(3, ip(8), t0.Add(12*time.Second)); why != "" {
			t.Fatalf("another address was refused: %s", why)
		}
		if why, _, _ := a.admit(4, bad, t0.Add(12*time.Second+failBan)); why != "" {
			t.Fatalf("still refused after the ban: %s", why)
		}
		// Failures spread thinner than the window never ban.
		slow := ip(9)
		for i := range 3 * maxFailures {
			a.failed(slow, t0.Add(time.Duration(i)*(failWindow/time.Duration(maxFailures-2))))
		}
		if f := a.failures[slow]; !f.banned.IsZero() {
			t.Errorf("slow failures banned the address until %v", f.banned)
		}
	})

	t.Run("failure table bounded", func(t *testing.T) {
		a := newAdmission[int]()
		for i := range 3 * maxFailAddrs {
			a.failed(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, byte(i >> 16), byte(i >> 8), byte(i)}), t0)
		}
		if n := len(a.failures); n > maxFailAddrs {
			t.Errorf("%d failure records, want at most %d", n, maxFailAddrs)
		}
	})
}

// TestSilentFlood: outsiders open far more connections than there are
// slots, from many addresses, complete TLS and never say HELLO, and keep
// doing so; a member dials in the middle of it and is served.
func TestSilentFlood(t *testing.T) {
	lender := newNode(t, nodeOpts{lending: true, handler: &patternHandler{}})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var opened sync.Map
	const addrs, each = 40, 12 // 480 connections, over and over
	for i := range addrs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ip := net.IPv4(127, 0, 1, byte(10+i))
			udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip})
			if err != nil {
				t.Error(err)
				return
			}
			tr := &quic.Transport{Conn: udp}
			defer func() { tr.Close(); udp.Close() }()
			_, clientTLS, _ := tlsConfigs(newIdentity(t))
			for ctx.Err() == nil {
				for range each {
					dctx, dcancel := context.WithTimeout(ctx, 2*time.Second)
					c, err := tr.Dial(dctx, lender.Addr(), clientTLS, quicConfig(false))
					dcancel()
					if err == nil {
						opened.Store(c, true)
					}
				}
			}
		}()
	}
	defer func() {
		cancel()
		wg.Wait()
		opened.Range(func(k, _ any) bool { k.(*quic.Conn).CloseWithError(0, ""); return true })
	}()

	time.Sleep(time.Second) // the flood is on
	member := newNode(t, nodeOpts{})
	var last error
	for try := range 3 {
		dctx, dcancel := context.WithTimeout(context.Background(), waitLong)
		p, err := member.Dial(dctx, lender.Addr().String())
		if err == nil {
			var got int64
			ferr := p.Fetch(dctx, FetchRequest{URL: "http://x/", Offset: 0, Length: 1 << 20, Size: -1},
				func(b []byte) error { got += int64(len(b)); return nil })
			dcancel()
			if ferr != nil || got != 1<<20 {
				t.Fatalf("the member's fetch during the flood: %d bytes, %v", got, ferr)
			}
			t.Logf("member in on try %d", try+1)
			last = nil
			break
		}
		dcancel()
		last = err
	}
	if last != nil {
		t.Fatalf("a member could not get in during the flood: %v", last)
	}
	if u, m := lender.admit.counts(); u > maxUnproven || m > maxMembers {
		t.Errorf("slots in use %d unproven, %d members; budgets %d and %d", u, m, maxUnproven, maxMembers)
	}
	if errors.Is(last, ErrRoomMismatch) {
		t.Fatal(fmt.Sprint(last))
	}
}
