package core_test

import (
	"strings"
	"testing"
	"time"

	"github.com/dragonload/dragonload/core"
	testorigin "github.com/dragonload/dragonload/test/origin"
	"github.com/dragonload/dragonload/test/testkit"
)

// TestPoolProgressNotes: a lender hears whom it helps and how far the
// whole download has come, while it runs; once the download ends, it
// helps nobody.
func TestPoolProgressNotes(t *testing.T) {
	const size = 16 * mib
	o := startOrigin(t, testorigin.Config{Size: size, Seed: seed, RatePerSource: 3 * mib})
	on := true
	l := newEngine(t, func(c *core.Config) {
		c.Lending, c.Listen, c.Source, c.Name = &on, "127.0.0.41:0", parseIP("127.0.0.41"), "lender"
	})
	r := newEngine(t, func(c *core.Config) {
		c.Peers, c.Source, c.Listen, c.Name = []string{l.Addr()}, parseIP("127.0.0.42"), "127.0.0.42:0", "laptop"
	})
	waitReady(t, r, 1)
	events, cancel := l.Subscribe()
	defer cancel()
	revents, rcancel := r.Subscribe()
	defer rcancel()
	id, err := r.Add(o.URL(), "")
	if err != nil {
		t.Fatal(err)
	}
	var seen []int
	deadline := time.After(time.Minute)
	for len(seen) < 2 {
		select {
		case ev := <-events:
			n, ok := ev.(core.PeerNote)
			if !ok || len(n.Downloads) != 1 || !n.Downloads[0].Helping {
				continue
			}
			if n.Name != "laptop" || n.Downloads[0].File != "file.bin" || n.Downloads[0].Size != size {
				t.Fatalf("the lender heard %+v", n)
			}
			seen = append(seen, n.Downloads[0].Percent())
		case <-deadline:
			t.Fatalf("the lender heard no note of the download it helps (seen %v)", seen)
		}
	}
	if seen[1] < seen[0] {
		t.Errorf("progress went back: %v", seen)
	}
	if line := core.HelpingLine(l.Helping()); !strings.HasPrefix(line, "helping laptop: file.bin ") {
		t.Errorf("helping line %q", line)
	}
	if end := finish(t, revents, id, time.Minute); end.State != core.StateDone {
		t.Fatalf("download ended %v: %v", end.State, end.Err)
	}
	testkit.WaitFor(t, 10*time.Second, 20*time.Millisecond, "the lender to help nobody", func() bool {
		return len(l.Helping()) == 0
	})
}
