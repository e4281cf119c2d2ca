package discover

import (
	"net"
	"net/netip"
	"slices"
	"testing"
)

// TestSetName: a new name replaces the advertised one (cleaned as New
// cleans it), goes into the records built for the next announcement, and
// asks a running Discoverer to announce once; the same name again asks
// nothing.
func TestSetName(t *testing.T) {
	d, err := New(Options{Service: Service{NodeID: "N1", Name: "vm", Port: 4700, RoomHint: "abcd", Version: 1}})
	if err != nil {
		t.Fatal(err)
	}
	info := ifaceInfo{ifi: net.Interface{Name: "test0"}, v4: []netip.Prefix{netip.MustParsePrefix("10.79.0.1/24")}}
	for _, c := range []struct {
		set, want string
		announce  bool
	}{
		{set: " attic\n", want: "attic", announce: true},
		{set: "attic", want: "attic", announce: false},
		{set: "vm-3fa2", want: "vm-3fa2", announce: true},
	} {
		d.SetName(c.set)
		select {
		case <-d.relend:
			if !c.announce {
				t.Errorf("SetName(%q) asked for an announcement with an unchanged name", c.set)
			}
		default:
			if c.announce {
				t.Errorf("SetName(%q) did not ask for an announcement", c.set)
			}
		}
		if got := d.service().Name; got != c.want {
			t.Errorf("SetName(%q): advertised name %q, want %q", c.set, got, c.want)
		}
		svc, err := newRunner(d, nil).mdnsService(info)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(svc.TXT, "name="+c.want) {
			t.Errorf("SetName(%q): TXT %q lacks name=%s", c.set, svc.TXT, c.want)
		}
	}
}
