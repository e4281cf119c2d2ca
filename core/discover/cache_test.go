package discover

import (
	"fmt"
	"net/netip"
	"reflect"
	"testing"
	"time"
)

const testTTL = 6 * time.Second

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func peerSvc(id string, lending bool) Service {
	return Service{NodeID: id, Name: "name of " + id, Lending: lending, RoomHint: "abcd", Version: 1}
}

func sight(when time.Duration, id string, lending bool, addrs ...string) sighting {
	s := sighting{at: at(when), iface: "eth0", instance: id + "." + serviceFQDN, svc: peerSvc(id, lending)}
	for _, a := range addrs {
		s.addrs = append(s.addrs, ap(a))
	}
	return s
}

func found(id string, lending bool, addrs ...string) Event {
	p := Peer{NodeID: id, Name: "name of " + id, Lending: lending, RoomHint: "abcd", Version: 1, Iface: "eth0"}
	for _, a := range addrs {
		p.Addrs = append(p.Addrs, ap(a))
	}
	return Found{Peer: p}
}

func checkEvents(t *testing.T, step string, got []Event, want ...Event) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: events\n%v\nwant\n%v", step, got, want)
	}
}

func TestCacheFound(t *testing.T) {
	c := newCache(testTTL)
	checkEvents(t, "first sighting", c.seen(sight(0, "A", false, "10.0.0.2:4700")), found("A", false, "10.0.0.2:4700"))
	checkEvents(t, "same again", c.seen(sight(time.Second, "A", false, "10.0.0.2:4700")))
	checkEvents(t, "lending on", c.seen(sight(2*time.Second, "A", true, "10.0.0.2:4700")), found("A", true, "10.0.0.2:4700"))
	checkEvents(t, "older news is not applied", c.seen(sight(time.Second, "A", false)))
	checkEvents(t, "second address, IPv4 sorts first", c.seen(sight(3*time.Second, "A", true, "[fd00::2]:4700", "10.0.0.2:4700")),
		found("A", true, "10.0.0.2:4700", "[fd00::2]:4700"))
	checkEvents(t, "a sighting without addresses creates nothing", c.seen(sight(0, "B", false)))
	checkEvents(t, "nothing expires early", c.expire(at(3*time.Second+testTTL)))
}

func TestCacheExpiry(t *testing.T) {
	c := newCache(testTTL)
	c.seen(sight(0, "A", false, "10.0.0.2:4700"))
	c.seen(sight(0, "B", false, "10.0.0.3:4700"))
	c.seen(sight(4*time.Second, "B", false, "10.0.0.3:4700"))
	checkEvents(t, "at the TTL", c.expire(at(testTTL)))
	checkEvents(t, "just after the TTL", c.expire(at(testTTL+time.Millisecond)), Lost{NodeID: "A", Reason: ReasonExpired})
	checkEvents(t, "B after its TTL", c.expire(at(4*time.Second+testTTL+time.Millisecond)), Lost{NodeID: "B", Reason: ReasonExpired})
	checkEvents(t, "A heard again", c.seen(sight(20*time.Second, "A", false, "10.0.0.2:4700")), found("A", false, "10.0.0.2:4700"))
}

func TestCacheAddressExpiry(t *testing.T) {
	c := newCache(testTTL)
	c.seen(sight(0, "A", false, "10.0.0.2:4700"))
	c.seen(sight(4*time.Second, "A", false, "10.0.0.9:4700")) // moved to a new address
	checkEvents(t, "old address expires, the peer does not", c.expire(at(7*time.Second)), found("A", false, "10.0.0.9:4700"))

	// Answers that carry no usable address (another link's, on a
	// multi-homed peer) keep the peer and its newest address alive.
	for s := 8 * time.Second; s <= 30*time.Second; s += 2 * time.Second {
		c.seen(sight(s, "A", false))
		checkEvents(t, fmt.Sprintf("alive at %v", s), c.expire(at(s)))
	}
	checkEvents(t, "silent for the TTL", c.expire(at(30*time.Second+testTTL+time.Millisecond)), Lost{NodeID: "A", Reason: ReasonExpired})
}

func TestCacheGoodbye(t *testing.T) {
	c := newCache(testTTL)
	c.seen(sight(0, "A", false, "10.0.0.2:4700"))
	c.seen(sight(0, "B", false, "10.0.0.3:4700"))
	checkEvents(t, "goodbye", c.goodbye(at(1500*time.Millisecond), "A", ""), Lost{NodeID: "A", Reason: ReasonGoodbye})
	checkEvents(t, "goodbye again", c.goodbye(at(1600*time.Millisecond), "A", ""))
	checkEvents(t, "a poll that began before the goodbye", c.seen(sight(time.Second, "A", false, "10.0.0.2:4700")))
	checkEvents(t, "a poll that began after it", c.seen(sight(2*time.Second, "A", false, "10.0.0.2:4700")), found("A", false, "10.0.0.2:4700"))
	checkEvents(t, "goodbye by instance name", c.goodbye(at(3*time.Second), "", "B."+serviceFQDN), Lost{NodeID: "B", Reason: ReasonGoodbye})
	checkEvents(t, "goodbye of a stranger", c.goodbye(at(3*time.Second), "", "C."+serviceFQDN))
	checkEvents(t, "goodbye of an unknown id", c.goodbye(at(3*time.Second), "C", ""))
	if len(c.byes) != 2 { // B and C; A's went when A was heard after it
		t.Errorf("%d goodbyes remembered, want 2", len(c.byes))
	}
	c.expire(at(3*time.Second + testTTL + time.Millisecond))
	if len(c.byes) != 0 {
		t.Errorf("goodbyes are remembered after the TTL: %v", c.byes)
	}
}

func TestCacheIface(t *testing.T) {
	c := newCache(testTTL)
	s := sight(0, "A", false, "[fd00::2]:4700")
	s.iface = "wlan0"
	c.seen(s)
	evs := c.seen(sight(time.Second, "A", false, "10.0.0.2:4700"))
	if len(evs) != 1 || evs[0].(Found).Peer.Iface != "eth0" {
		t.Errorf("events %v, want one Found on eth0, where the first (IPv4) address was heard", evs)
	}
}

func TestCacheBounds(t *testing.T) {
	c := newCache(testTTL)
	for i := range maxPeers + 10 {
		c.seen(sight(0, fmt.Sprintf("N%d", i), false, "10.0.0.2:4700"))
	}
	if len(c.peers) != maxPeers {
		t.Errorf("%d peers held, want the bound %d", len(c.peers), maxPeers)
	}
	var s sighting
	for i := range maxAddrsPerHost + 10 {
		s = sight(0, "N0", false, netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, 0, byte(i)}), 1).String())
		c.seen(s)
	}
	if n := len(c.peers["N0"].addrs); n != maxAddrsPerHost {
		t.Errorf("%d addresses held for one peer, want the bound %d", n, maxAddrsPerHost)
	}
}

func TestQuietWatch(t *testing.T) {
	q := quietWatch{after: 20 * time.Second}
	q.heard(t0)
	for _, c := range []struct {
		when  time.Duration
		heard bool
		want  bool
	}{
		{19 * time.Second, false, false},
		{20 * time.Second, false, true},
		{25 * time.Second, false, false}, // told once per silence
		{26 * time.Second, true, false},  // heard: a new silence starts
		{45 * time.Second, false, false},
		{46 * time.Second, false, true},
		{47 * time.Second, false, false},
	} {
		if c.heard {
			q.heard(at(c.when))
		}
		if got := q.check(at(c.when)); got != c.want {
			t.Errorf("at %v: check = %t, want %t", c.when, got, c.want)
		}
	}
	// News stamped earlier than the last (a poll that began before an
	// announcement arrived) ends the silence but does not rewind it.
	q.heard(at(60 * time.Second))
	q.heard(at(50 * time.Second))
	if q.check(at(75 * time.Second)) {
		t.Error("silence counted from older news")
	}
}
