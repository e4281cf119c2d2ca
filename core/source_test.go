package core_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/dragonload/dragonload/core"
	testorigin "github.com/dragonload/dragonload/test/origin"
	"github.com/dragonload/dragonload/test/testkit"
)

// chanSource is a PeerSource driven by the test.
type chanSource struct {
	found, lost chan string
}

func (c chanSource) Name() string { return "test" }

func (c chanSource) Run(ctx context.Context, found func(string), lost func(string, string)) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case a := <-c.found:
			found(a)
		case a := <-c.lost:
			lost(a, "gone")
		}
	}
}

// TestPeerJoinsAndLeaves: a lender reported by a source mid-download takes
// part at once; when the source reports it lost it leaves the download, and
// no byte is lost.
func TestPeerJoinsAndLeaves(t *testing.T) {
	const size = 24 * mib
	o := startOrigin(t, testorigin.Config{Size: size, Seed: seed, RatePerSource: 3 * mib})
	on := true
	lender := newEngine(t, func(c *core.Config) {
		c.Lending, c.Listen, c.Source = &on, "127.0.0.41:0", net.ParseIP("127.0.0.41")
	})
	src := chanSource{found: make(chan string, 1), lost: make(chan string, 1)}
	e := newEngine(t, func(c *core.Config) {
		c.Source = net.ParseIP("127.0.0.40")
		c.PeerSources = []core.PeerSource{src}
	})
	events, cancel := e.Subscribe()
	defer cancel()
	id, err := e.Add(o.URL(), "")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a quarter of the file", func() bool { return o.BytesServed() > size/4 })
	src.found <- lender.Addr()
	waitFor(t, "the lender to fetch", func() bool { return o.BytesBySource()["127.0.0.41"] > 2*mib })
	src.lost <- lender.Addr()
	lostAt := o.BytesBySource()["127.0.0.41"]
	end := finish(t, events, id, time.Minute)
	if end.State != core.StateDone {
		t.Fatalf("got %v: %v", end.State, end.Err)
	}
	if testkit.FileSHA256(t, end.Path) != testorigin.SumSHA256(seed, size) {
		t.Fatal("wrong bytes")
	}
	// Bytes already on their way when it was dropped may still arrive,
	// but it gets no new work: at most its two requests in flight.
	if after := o.BytesBySource()["127.0.0.41"] - lostAt; after > 2*16*mib {
		t.Errorf("the lender fetched %d more bytes after it was reported lost", after)
	}
	var share int64
	for _, p := range e.Downloads()[0].Peers {
		if p.Peer == lender.NodeID() {
			share = p.Bytes
		}
	}
	if share == 0 {
		t.Errorf("the lender's share is missing from the statistics: %+v", e.Downloads()[0].Peers)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testkit.WaitFor(t, time.Minute, 10*time.Millisecond, what, cond)
}
