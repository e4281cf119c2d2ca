package core_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dragonload/dragonload/core"
	testorigin "github.com/dragonload/dragonload/test/origin"
	"github.com/dragonload/dragonload/test/testkit"
)

// TestDownloadsPersist: an engine stopped mid-download lists its downloads
// again after a restart: the unfinished one resumes from its journal and
// finishes without being added again, the paused one stays paused, the
// finished one is history that can be removed or cleared.
func TestDownloadsPersist(t *testing.T) {
	const big, small = 16 * mib, 2 * mib
	slow := startOrigin(t, testorigin.Config{Size: big, Seed: seed, RatePerSource: 4 * mib})
	paused := startOrigin(t, testorigin.Config{Size: big, Seed: seed + 1, RatePerSource: mib})
	quick := startOrigin(t, testorigin.Config{Size: small, Seed: seed + 2})
	home, out := t.TempDir(), t.TempDir()
	mod := func(c *core.Config) { c.Home, c.OutDir, c.KeepList = home, out, true }

	first, err := core.New(engineConfig(t, mod))
	if err != nil {
		t.Fatal(err)
	}
	events, cancel := first.Subscribe()
	idQuick, err := first.Add(quick.URL(), "")
	if err != nil {
		t.Fatal(err)
	}
	if end := finish(t, events, idQuick, time.Minute); end.State != core.StateDone {
		t.Fatalf("quick download: %v %v", end.State, end.Err)
	}
	idPaused, _ := first.Add(paused.URL(), "")
	waitState(t, events, idPaused, core.StateDownloading)
	if err := first.Pause(idPaused); err != nil {
		t.Fatal(err)
	}
	waitState(t, events, idPaused, core.StatePaused)
	idSlow, _ := first.Add(slow.URL(), "")
	var landed int64
	deadline := time.After(time.Minute)
	for landed < big/3 {
		select {
		case ev := <-events:
			if c, ok := ev.(core.ChunkLanded); ok && c.ID == idSlow {
				landed += c.Length
			}
		case <-deadline:
			t.Fatal("no progress")
		}
	}
	cancel()
	first.Close()
	// The second engine fetches from an address of its own, so bytes the
	// first one's connections were still being sent as it closed are not
	// counted against the restart.
	pausedServed := paused.BytesServed()
	second := newEngine(t, func(c *core.Config) { mod(c); c.Source = parseIP("127.0.0.5") })
	events2, cancel2 := second.Subscribe()
	defer cancel2()
	list := second.Downloads()
	if len(list) != 3 || list[0].ID != idQuick || list[1].ID != idPaused || list[2].ID != idSlow {
		t.Fatalf("after the restart the list is %+v, want the three downloads in the order added", list)
	}
	if list[0].State != core.StateDone || list[0].Path == "" || list[1].State != core.StatePaused {
		t.Errorf("restored states: %v (%q), %v", list[0].State, list[0].Path, list[1].State)
	}
	// The unfinished one resumes by itself.
	snap := waitFinal(t, second, idSlow)
	if snap.State != core.StateDone {
		t.Fatalf("resumed download ended %v: %v", snap.State, snap.Err)
	}
	if testkit.FileSHA256(t, snap.Path) != testorigin.SumSHA256(seed, big) {
		t.Fatal("wrong bytes after the restart")
	}
	if again := slow.BytesBySource()["127.0.0.5"]; again > big-landed+1 {
		t.Errorf("the restart fetched %d bytes; only %d were missing from the journal (+1 for the probe)", again, big-landed)
	}
	if n := paused.BytesBySource()["127.0.0.5"]; n != 0 {
		t.Errorf("the paused download fetched %d bytes after the restart (%d before)", n, pausedServed)
	}
	if err := second.Remove(idPaused); err == nil {
		t.Error("removing a paused download succeeded; it must be canceled first")
	}
	if err := second.Remove(idQuick); err != nil {
		t.Fatal(err)
	}
	gotRemoved := false
	for !gotRemoved {
		select {
		case ev := <-events2:
			r, ok := ev.(core.DownloadRemoved)
			gotRemoved = ok && r.ID == idQuick
		case <-time.After(10 * time.Second):
			t.Fatal("no DownloadRemoved event")
		}
	}
	if cleared := second.ClearFinished(); len(cleared) != 1 || cleared[0] != idSlow {
		t.Errorf("ClearFinished removed %v, want [%s]", cleared, idSlow)
	}
	second.Close()

	third := newEngine(t, mod)
	if list := third.Downloads(); len(list) != 1 || list[0].ID != idPaused || list[0].State != core.StatePaused {
		t.Errorf("after removing and clearing, the list on disk holds %+v", list)
	}
}

// TestHistoryBounded: however many downloads pass through, the engine
// keeps a bounded number of finished ones.
func TestHistoryBounded(t *testing.T) {
	gone := startOrigin(t, testorigin.Config{Size: mib, Quirks: testorigin.Quirks{Status: 404}})
	e := newEngine(t, func(c *core.Config) { c.KeepList = true })
	const n = 520
	for i := range n {
		id, err := e.Add(fmt.Sprintf("%s?n=%d", gone.URL(), i), "")
		if err != nil {
			t.Fatal(err)
		}
		if s := waitFinal(t, e, id); s.State != core.StateFailed {
			t.Fatalf("download %d: %v", i, s.State)
		}
	}
	// The last download is pruned just after its final state shows, so
	// give the engine a moment; without pruning it stays at 520.
	var got int
	testkit.WaitFor(t, 10*time.Second, 10*time.Millisecond, "the list to be pruned to 500", func() bool {
		got = len(e.Downloads())
		return got <= 500
	})
	if got < 500 {
		t.Errorf("%d downloads kept after %d finished, want the newest 500", got, n)
	}
}

// waitFinal polls the engine until the download is in a final state.
func waitFinal(t *testing.T, e *core.Engine, id core.DownloadID) core.DownloadSnapshot {
	t.Helper()
	var snap core.DownloadSnapshot
	testkit.WaitFor(t, time.Minute, 20*time.Millisecond, "download "+string(id)+" to end", func() bool {
		for _, s := range e.Downloads() {
			if s.ID == id {
				snap = s
				return s.State.Final()
			}
		}
		return false
	})
	return snap
}

// TestStartOverSaysWhy: a resume that has to start over (the file changed
// on the server while the engine was stopped) says why, in a notice the
// CLI and the window show.
func TestStartOverSaysWhy(t *testing.T) {
	const size = 12 * mib
	o := startOrigin(t, testorigin.Config{Size: size, Seed: seed, RatePerSource: 4 * mib})
	home, out := t.TempDir(), t.TempDir()
	mod := func(c *core.Config) { c.Home, c.OutDir, c.KeepList = home, out, true }
	first, err := core.New(engineConfig(t, mod))
	if err != nil {
		t.Fatal(err)
	}
	events, cancel := first.Subscribe()
	id, _ := first.Add(o.URL(), "")
	for landed := int64(0); landed == 0; {
		select {
		case ev := <-events:
			if c, ok := ev.(core.ChunkLanded); ok && c.ID == id {
				landed += c.Length
			}
		case <-time.After(time.Minute):
			t.Fatal("no progress")
		}
	}
	cancel()
	first.Close()
	// From now on the server serves a second version of the file.
	o.SetQuirks(testorigin.Quirks{ChangeETagAfter: 1})

	// The notice may go out before anyone subscribes (the download resumes
	// as the engine starts): the snapshot keeps it for front ends.
	second := newEngine(t, mod)
	snap := waitFinal(t, second, id)
	if snap.State != core.StateDone || testkit.FileSHA256(t, snap.Path) != testorigin.SumSHA256(seed+1, size) {
		t.Fatalf("after starting over: %v %v", snap.State, snap.Err)
	}
	if !strings.Contains(snap.Note, "starts over") || !strings.Contains(snap.Note, "ETag") {
		t.Errorf("the download's note does not say why it started over: %q", snap.Note)
	}
}

// TestCancelWhileProbing: a download resumed and then canceled before its
// partial file is open again (while it asks the origin) leaves nothing in
// the folder.
func TestCancelWhileProbing(t *testing.T) {
	const size = 16 * mib
	o := startOrigin(t, testorigin.Config{Size: size, Seed: seed, RatePerSource: 2 * mib, Latency: 300 * time.Millisecond})
	e := newEngine(t, nil)
	events, cancel := e.Subscribe()
	defer cancel()
	id, err := e.Add(o.URL(), "")
	if err != nil {
		t.Fatal(err)
	}
	waitState(t, events, id, core.StateDownloading)
	testkit.WaitFor(t, 30*time.Second, 20*time.Millisecond, "a partial file", func() bool {
		matches, _ := filepath.Glob(filepath.Join(e.OutDir(), ".*.dlpart*"))
		return len(matches) > 0 && o.BytesServed() > mib
	})
	if err := e.Pause(id); err != nil {
		t.Fatal(err)
	}
	waitState(t, events, id, core.StatePaused)
	if err := e.Resume(id); err != nil {
		t.Fatal(err)
	}
	waitState(t, events, id, core.StateProbing)
	if err := e.Cancel(id); err != nil {
		t.Fatal(err)
	}
	waitState(t, events, id, core.StateCanceled)
	if left, _ := filepath.Glob(filepath.Join(e.OutDir(), ".*")); len(left) != 0 {
		t.Errorf("a canceled download left %v", left)
	}
}

// TestProbeWaitBeyondGiveUp: a Retry-After on the probe longer than the
// give-up time (but within the 5 minutes honoured) is waited for; the
// give-up time counts from the end of the wait.
func TestProbeWaitBeyondGiveUp(t *testing.T) {
	o := startOrigin(t, testorigin.Config{Size: mib, Seed: seed,
		Quirks: testorigin.Quirks{UnavailableFirst: 2, RetryAfter: 3 * time.Second}})
	e := newEngine(t, func(c *core.Config) { c.GiveUp = 2 * time.Second })
	id, err := e.Add(o.URL(), "")
	if err != nil {
		t.Fatal(err)
	}
	if s := waitFinal(t, e, id); s.State != core.StateDone {
		t.Fatalf("ended %v: %v", s.State, s.Err)
	}
}
