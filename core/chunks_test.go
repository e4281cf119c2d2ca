package core_test

import (
	"testing"
	"time"

	"github.com/dragonload/dragonload/core"
	testorigin "github.com/dragonload/dragonload/test/origin"
	"github.com/dragonload/dragonload/test/testkit"
)

// TestChunkOwnersSurviveRestart: who fetched which bytes, and what the
// lender was called, is still known after the engine restarts, so the
// window's chunk map and legend do not turn into "before a restart".
func TestChunkOwnersSurviveRestart(t *testing.T) {
	const size = 16 * mib
	o := startOrigin(t, testorigin.Config{Size: size, Seed: seed, RatePerSource: 4 * mib})
	on := true
	lender := newEngine(t, func(c *core.Config) {
		c.Lending, c.Listen, c.Name = &on, "127.0.0.21:0", "lender-one"
		c.Source = parseIP("127.0.0.21")
	})
	home, out := t.TempDir(), t.TempDir()
	mod := func(c *core.Config) {
		c.Home, c.OutDir, c.KeepList = home, out, true
		c.Source = parseIP("127.0.0.20")
	}
	first, err := core.New(engineConfig(t, func(c *core.Config) { mod(c); c.Peers = []string{lender.Addr()} }))
	if err != nil {
		t.Fatal(err)
	}
	events, cancel := first.Subscribe()
	id, err := first.Add(o.URL(), "")
	if err != nil {
		t.Fatal(err)
	}
	landed := map[string]int64{}
	deadline := time.After(time.Minute)
	for landed[core.SelfPeer] == 0 || landed[lender.NodeID()] == 0 {
		select {
		case ev := <-events:
			if c, ok := ev.(core.ChunkLanded); ok && c.ID == id {
				landed[c.Peer] += c.Length
			}
		case <-deadline:
			t.Fatalf("the lender and this node did not both land a chunk: %v", landed)
		}
	}
	cancel()
	first.Close()

	// Without the lender this time: the names must come from the list.
	second := newEngine(t, mod)
	snap := waitFinal(t, second, id)
	if snap.State != core.StateDone || testkit.FileSHA256(t, snap.Path) != testorigin.SumSHA256(seed, size) {
		t.Fatalf("after the restart: %v %v", snap.State, snap.Err)
	}
	by := map[string]int64{}
	var total int64
	for _, c := range snap.Chunks {
		by[c.Peer] += c.Length
		total += c.Length
	}
	if by[lender.NodeID()] == 0 {
		t.Errorf("the lender's chunks from before the restart are gone from the chunk map: %v", by)
	}
	if total != size {
		t.Errorf("the chunk map covers %d bytes of %d", total, size)
	}
	if got := snap.Names[lender.NodeID()]; got != "lender-one" {
		t.Errorf("the lender's name after the restart is %q, want lender-one (names %v)", got, snap.Names)
	}
}

// TestStartOverClearsChunks: a file that changes on the server mid-download
// starts over from nothing, and the chunk map says so: it ends covering the
// file once, not the first version's bytes plus the second's.
func TestStartOverClearsChunks(t *testing.T) {
	const size = 12 * mib
	// Responses are cut every 2 MiB, so requests made after the change
	// see it.
	cut := testorigin.Quirks{CutAfter: 2 * mib}
	o := startOrigin(t, testorigin.Config{Size: size, Seed: seed, RatePerSource: 6 * mib, Quirks: cut})
	e := newEngine(t, nil)
	events, cancel := e.Subscribe()
	defer cancel()
	id, err := e.Add(o.URL(), "")
	if err != nil {
		t.Fatal(err)
	}
	var resets []core.ChunksReset
	changed := false
	deadline := time.After(time.Minute)
	for {
		select {
		case ev := <-events:
			switch ev := ev.(type) {
			case core.ChunkLanded:
				if !changed && ev.ID == id {
					// Some bytes of the first version are durable: from
					// now on the server has a second one.
					changed = true
					cut.ChangeETagAfter = 1
					o.SetQuirks(cut)
				}
			case core.ChunksReset:
				resets = append(resets, ev)
			case core.DownloadStateChanged:
				if ev.ID == id && ev.State.Final() {
					goto done
				}
			}
		case <-deadline:
			t.Fatal("the download did not end")
		}
	}
done:
	snap := e.Downloads()[0]
	if sum := testkit.FileSHA256(t, snap.Path); snap.State != core.StateDone || sum != testorigin.SumSHA256(seed+1, size) {
		t.Fatalf("after starting over: %v %v (first version %v, second %v)", snap.State, snap.Err,
			sum == testorigin.SumSHA256(seed, size), sum == testorigin.SumSHA256(seed+1, size))
	}
	var total int64
	for _, c := range snap.Chunks {
		total += c.Length
	}
	if total != size {
		t.Errorf("the chunk map covers %d bytes of a %d-byte file: the first version's chunks were kept", total, size)
	}
	if len(resets) < 2 || resets[len(resets)-1].Durable != 0 || len(resets[len(resets)-1].Chunks) != 0 {
		t.Errorf("the run that started over did not reset the chunk map to nothing: %+v", resets)
	}
}
