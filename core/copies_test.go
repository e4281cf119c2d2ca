package core_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/dragonload/dragonload/core"
	"github.com/dragonload/dragonload/core/link"
	testorigin "github.com/dragonload/dragonload/test/origin"
	"github.com/dragonload/dragonload/test/testkit"
)

// holder is an engine that downloaded the test file and shares it.
func holder(t *testing.T, o *testorigin.Server, ip string) (*core.Engine, string) {
	t.Helper()
	e := newEngine(t, func(c *core.Config) { c.Source, c.Listen = parseIP(ip), ip+":0" })
	events, cancel := e.Subscribe()
	defer cancel()
	id, err := e.Add(o.URL(), "")
	if err != nil {
		t.Fatal(err)
	}
	end := finish(t, events, id, time.Minute)
	if end.State != core.StateDone {
		t.Fatalf("the holder's download ended %v: %v", end.State, end.Err)
	}
	if len(e.Shared()) != 1 {
		t.Fatalf("the finished download is not in the index: %+v", e.Shared())
	}
	return e, end.Path
}

// fetchFrom downloads what source names on a new engine at ip that knows
// the peers at addrs, and returns how it ended.
func fetchFrom(t *testing.T, ip string, addrs []string, l link.Link, timeout time.Duration) (*core.Engine, core.DownloadStateChanged) {
	t.Helper()
	e := newEngine(t, func(c *core.Config) { c.Source, c.Listen, c.Peers = parseIP(ip), ip+":0", addrs })
	waitReady(t, e, len(addrs))
	events, cancel := e.Subscribe()
	defer cancel()
	id, err := e.AddLink(l, "")
	if err != nil {
		t.Fatal(err)
	}
	return e, finish(t, events, id, timeout)
}

// waitReady waits until n peers are ready.
func waitReady(t *testing.T, e *core.Engine, n int) {
	t.Helper()
	testkit.WaitFor(t, 20*time.Second, 10*time.Millisecond, "peers to be ready", func() bool {
		ready := 0
		for _, p := range e.Peers() {
			if p.Ready {
				ready++
			}
		}
		return ready >= n
	})
}

// copyShare is how many bytes of the download came from LAN copies.
func copyShare(e *core.Engine) (copied int64) {
	for _, s := range e.Downloads()[0].Peers {
		if s.Copy {
			copied += s.Bytes
		}
	}
	return copied
}

// TestLANCopyOfFinished: a machine that finished a download serves it to
// the next one over the LAN: the origin (slow for the second machine)
// sends it little beyond the spot checks, and the file is right.
func TestLANCopyOfFinished(t *testing.T) {
	const size = 16 * mib
	// The cap is per client address: each machine gets 4 MiB/s.
	o := startOrigin(t, testorigin.Config{Size: size, Seed: seed, RatePerSource: 4 * mib})
	h, _ := holder(t, o, "127.0.0.31")
	b, end := fetchFrom(t, "127.0.0.32", []string{h.Addr()}, link.Link{URL: o.URL()}, time.Minute)
	if end.State != core.StateDone || testkit.FileSHA256(t, end.Path) != testorigin.SumSHA256(seed, size) {
		t.Fatalf("ended %v (%v), or with the wrong bytes", end.State, end.Err)
	}
	// Beyond spot checks, this machine may fetch what it started before
	// the copy's first answer came (the copy finder's first round waits up
	// to 250 ms, which a loaded CI machine can use up): the probe's MiB
	// and one more chunk of 1.5 MiB at most.
	fromOrigin := o.BytesBySource()["127.0.0.32"]
	if fromOrigin > size/10+5*mib/2 {
		t.Errorf("the second machine fetched %d of %d bytes from the origin; a LAN copy was there", fromOrigin, size)
	}
	if got := copyShare(b); got < size*9/10-5*mib/2 {
		t.Errorf("the statistics show %d of %d bytes from LAN copies: %+v", got, size, b.Downloads()[0].Peers)
	}
}

// TestLANCopyChangedOnDisk: a shared file rewritten after it was indexed
// is never served: the next machine fetches everything from the origin.
func TestLANCopyChangedOnDisk(t *testing.T) {
	const size = 8 * mib
	o := startOrigin(t, testorigin.Config{Size: size, Seed: seed})
	h, path := holder(t, o, "127.0.0.33")
	altered := make([]byte, size)
	later := time.Now().Add(time.Hour)
	if err := os.WriteFile(path, altered, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
	b, end := fetchFrom(t, "127.0.0.34", []string{h.Addr()}, link.Link{URL: o.URL()}, time.Minute)
	if end.State != core.StateDone || testkit.FileSHA256(t, end.Path) != testorigin.SumSHA256(seed, size) {
		t.Fatalf("ended %v (%v), or with the wrong bytes", end.State, end.Err)
	}
	if got := copyShare(b); got != 0 {
		t.Errorf("%d bytes came from a copy that changed on disk", got)
	}
	if n := len(h.Shared()); n != 0 {
		t.Errorf("the changed file is still in the holder's index (%d entries)", n)
	}
}

// TestTwoRequesters: two machines downloading the same file at once each
// fetch different bytes from the origin and copy the rest from the other
// (ChainRain): together they fetch it from the internet about once.
func TestTwoRequesters(t *testing.T) {
	const size = 32 * mib
	o := startOrigin(t, testorigin.Config{Size: size, Seed: seed, RatePerSource: 4 * mib})
	ips := []string{"127.0.0.35", "127.0.0.36"}
	var engines []*core.Engine
	for _, ip := range ips {
		engines = append(engines, newEngine(t, func(c *core.Config) { c.Source, c.Listen = parseIP(ip), ip+":0" }))
	}
	// Each asks the other: a connection serves only the side that dialed.
	for i, e := range engines {
		if err := e.AddPeer(engines[1-i].Addr()); err != nil {
			t.Fatal(err)
		}
	}
	waitReady(t, engines[0], 1)
	waitReady(t, engines[1], 1)
	ends := make(chan core.DownloadStateChanged, 2)
	for i, e := range engines {
		events, cancel := e.Subscribe()
		defer cancel()
		id, err := e.Add(o.URL(), "")
		if err != nil {
			t.Fatal(err)
		}
		go func() { ends <- finishQuiet(events, id, 2*time.Minute) }()
		if i == 0 {
			time.Sleep(1500 * time.Millisecond)
		}
	}
	for range engines {
		end := <-ends
		if end.State != core.StateDone || testkit.FileSHA256(t, end.Path) != testorigin.SumSHA256(seed, size) {
			t.Fatalf("a download ended %v (%v), or with the wrong bytes", end.State, end.Err)
		}
	}
	for _, e := range engines {
		t.Logf("%s: %+v", e.Name(), e.Downloads()[0].Peers)
	}
	total := o.BytesServed()
	t.Logf("origin served %.2f × the file to the two machines: %v", float64(total)/size, o.BytesBySource())
	if total > size*13/10 {
		t.Errorf("the origin served %d bytes for two copies of a %d-byte file; the machines did not share", total, size)
	}
}

// finishQuiet is finish without a *testing.T, for goroutines: a timeout
// comes back as a failed state.
func finishQuiet(events <-chan core.Event, id core.DownloadID, timeout time.Duration) core.DownloadStateChanged {
	deadline := time.After(timeout)
	for {
		select {
		case ev := <-events:
			if sc, ok := ev.(core.DownloadStateChanged); ok && sc.ID == id && sc.State.Final() {
				return sc
			}
		case <-deadline:
			return core.DownloadStateChanged{ID: id, State: core.StateFailed}
		}
	}
}

// TestSearchAndSHA256Link: a search finds what a member shares, and the
// link it gives (SHA-256, name and size, no url) downloads it from the
// holder alone. With no holder, such a link fails with a sentence saying
// why, within the give-up time.
func TestSearchAndSHA256Link(t *testing.T) {
	const size = 6 * mib
	o := startOrigin(t, testorigin.Config{Size: size, Seed: seed})
	h, _ := holder(t, o, "127.0.0.37")
	b := newEngine(t, func(c *core.Config) {
		c.Source, c.Listen, c.Peers = parseIP("127.0.0.38"), "127.0.0.38:0", []string{h.Addr()}
	})
	waitReady(t, b, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	name := h.Shared()[0].Name
	if got := b.Search(ctx, "nothing-like-it"); len(got) != 0 {
		t.Fatalf("a search for another name found %+v", got)
	}
	res := b.Search(ctx, strings.ToUpper(name))
	if len(res) != 1 || res[0].SHA256 != testorigin.SumSHA256(seed, size) || res[0].Size != size || len(res[0].Holders) != 1 {
		t.Fatalf("search for %q found %+v", name, res)
	}
	served := o.BytesServed()
	events, unsub := b.Subscribe()
	defer unsub()
	id, err := b.AddLink(res[0].Link, "")
	if err != nil {
		t.Fatal(err)
	}
	end := finish(t, events, id, time.Minute)
	if end.State != core.StateDone || testkit.FileSHA256(t, end.Path) != testorigin.SumSHA256(seed, size) {
		t.Fatalf("ended %v (%v), or with the wrong bytes", end.State, end.Err)
	}
	if more := o.BytesServed() - served; more != 0 {
		t.Errorf("a link without a url made the origin serve %d bytes", more)
	}

	alone := newEngine(t, func(c *core.Config) { c.GiveUp = 2 * time.Second })
	events2, unsub2 := alone.Subscribe()
	defer unsub2()
	id, err = alone.AddLink(res[0].Link, "")
	if err != nil {
		t.Fatal(err)
	}
	end = finish(t, events2, id, time.Minute)
	if end.State != core.StateFailed || !strings.Contains(end.Err.Error(), "no room member shares a copy") {
		t.Fatalf("without a holder: %v (%v)", end.State, end.Err)
	}
}

// TestCopyHolderLeaves: a link without a url downloads from two holders at
// once; when one of them goes away mid-download, the other serves the
// rest, and the file is right.
func TestCopyHolderLeaves(t *testing.T) {
	const size = 16 * mib
	o := startOrigin(t, testorigin.Config{Size: size, Seed: seed})
	h1, _ := holder(t, o, "127.0.0.51")
	h2, _ := holder(t, o, "127.0.0.52")
	b := newEngine(t, func(c *core.Config) {
		c.Source, c.Listen, c.Peers = parseIP("127.0.0.53"), "127.0.0.53:0", []string{h1.Addr(), h2.Addr()}
		c.Limits.DownloadRate = 4 << 20 // about 4 s: time for a holder to leave mid-way
	})
	waitReady(t, b, 2)
	served := o.BytesServed()
	events, cancel := b.Subscribe()
	defer cancel()
	l := link.Link{SHA256: testorigin.SumSHA256(seed, size), Name: "file.bin", Size: size}
	id, err := b.AddLink(l, "")
	if err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, 30*time.Second, 10*time.Millisecond, "a quarter of the file", func() bool {
		d := b.Downloads()[0]
		return d.Done >= size/4
	})
	h1.Close()
	end := finish(t, events, id, time.Minute)
	if end.State != core.StateDone || testkit.FileSHA256(t, end.Path) != testorigin.SumSHA256(seed, size) {
		t.Fatalf("ended %v (%v), or with the wrong bytes", end.State, end.Err)
	}
	if more := o.BytesServed() - served; more != 0 {
		t.Errorf("the origin served %d bytes for a link without a url", more)
	}
	var holders int
	for _, s := range b.Downloads()[0].Peers {
		if s.Copy && s.Bytes > 0 {
			holders++
		}
	}
	if holders != 2 {
		t.Errorf("%d holders served bytes, want both: %+v", holders, b.Downloads()[0].Peers)
	}
}
