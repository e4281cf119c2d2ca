package core_test

import (
	"net"
	"strings"
	"testing"

	"github.com/dragonload/dragonload/core"
	"github.com/dragonload/dragonload/core/link"
	testorigin "github.com/dragonload/dragonload/test/origin"
	"github.com/dragonload/dragonload/test/testkit"
)

// TestMirrors: a link with two good mirrors and two bad ones. The good
// mirrors serve part of the file (each capped per client address, so one
// origin alone is slow); the one of another size and the one that answers
// 404 are dropped with a notice naming them; the file is right.
func TestMirrors(t *testing.T) {
	const size = 24 * mib
	cfg := testorigin.Config{Size: size, Seed: seed, RatePerSource: 3 * mib}
	primary, m1, m2 := startOrigin(t, cfg), startOrigin(t, cfg), startOrigin(t, cfg)
	other := startOrigin(t, testorigin.Config{Size: size + 1, Seed: seed})
	gone := startOrigin(t, testorigin.Config{Size: size, Seed: seed, Quirks: testorigin.Quirks{Status: 404}})
	e := newEngine(t, func(c *core.Config) { c.Source = net.ParseIP("127.0.0.70") })
	events, cancel := e.Subscribe()
	defer cancel()
	id, err := e.AddLink(link.Link{URL: primary.URL(), Mirrors: []string{m1.URL(), other.URL(), m2.URL(), gone.URL()}}, "")
	if err != nil {
		t.Fatal(err)
	}
	notices := noticesUntilEnd(t, events, id)
	snap := e.Downloads()[0]
	if snap.State != core.StateDone || testkit.FileSHA256(t, snap.Path) != testorigin.SumSHA256(seed, size) {
		t.Fatalf("ended %v (%v), or with the wrong bytes", snap.State, snap.Err)
	}
	for name, o := range map[string]*testorigin.Server{"primary": primary, "mirror 1": m1, "mirror 2": m2} {
		if o.BytesServed() < size/8 {
			t.Errorf("%s served only %d of %d bytes", name, o.BytesServed(), size)
		}
	}
	joined := strings.Join(notices, "\n")
	for _, o := range []*testorigin.Server{other, gone} {
		host := strings.TrimPrefix(o.URL(), "http://")
		host = host[:strings.IndexByte(host, '/')]
		if !strings.Contains(joined, "mirror "+host+" is not used") {
			t.Errorf("no notice drops mirror %s:\n%s", host, joined)
		}
	}
}
