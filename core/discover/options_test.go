package discover

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestNew(t *testing.T) {
	good := Options{Service: Service{NodeID: "N1", Name: " box\n", Port: 4700, RoomHint: "ABCD", Version: 1}}
	d, err := New(good)
	if err != nil {
		t.Fatal(err)
	}
	if d.opts.Interval != DefaultInterval || d.opts.TTL != DefaultTTL || d.opts.Quiet != DefaultQuiet {
		t.Errorf("defaults not applied: %+v", d.opts)
	}
	if s := d.service(); s.RoomHint != "abcd" || s.Name != "box" {
		t.Errorf("service not normalised: %+v", s)
	}
	d.SetLending(true)
	if !d.service().Lending {
		t.Error("SetLending(true) did not change the advertised service")
	}

	for _, c := range []struct {
		name   string
		change func(*Options)
		want   string
	}{
		{"no node id", func(o *Options) { o.Service.NodeID = "" }, "node id"},
		{"node id not a label", func(o *Options) { o.Service.NodeID = "a.b" }, "node id"},
		{"no port", func(o *Options) { o.Service.Port = 0 }, "port"},
		{"port too big", func(o *Options) { o.Service.Port = 65536 }, "port"},
		{"room hint", func(o *Options) { o.Service.RoomHint = "abc" }, "room hint"},
		{"version", func(o *Options) { o.Service.Version = 0 }, "version"},
		{"TTL too short", func(o *Options) { o.Interval, o.TTL = time.Second, 1500*time.Millisecond }, "TTL"},
		{"no such interface", func(o *Options) { o.Iface = "dl-no-such0" }, "dl-no-such0"},
	} {
		o := good
		c.change(&o)
		if _, err := New(o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: New = %v, want an error about %s", c.name, err, c.want)
		}
	}
}

func TestUsable(t *testing.T) {
	info := ifaceInfo{
		v4: []netip.Prefix{netip.MustParsePrefix("10.79.0.1/24")},
		v6: []netip.Prefix{netip.MustParsePrefix("fd00:79::1/64")},
	}
	for _, c := range []struct {
		addr string
		want bool
	}{
		{"10.79.0.9", true},
		{"10.79.1.9", false}, // another subnet: another link of a multi-homed peer
		{"fd00:79::9", true},
		{"fd00:79::9%eth0", true},
		{"fd00:80::9", false},
		{"fe80::1%eth0", false},
		{"127.0.0.1", false},
		{"224.0.0.251", false},
		{"0.0.0.0", false},
		{"::", false},
	} {
		if got := info.usable(netip.MustParseAddr(c.addr)); got != c.want {
			t.Errorf("usable(%s) = %t, want %t", c.addr, got, c.want)
		}
	}
}
