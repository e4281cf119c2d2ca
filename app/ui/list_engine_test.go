package ui

import (
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/dragonload/dragonload/core"
	testorigin "github.com/dragonload/dragonload/test/origin"
)

// listEngine starts an engine that keeps its download list under home, on
// loopback only.
func listEngine(t *testing.T, home, out string) *core.Engine {
	t.Helper()
	eng, err := core.New(core.Config{
		Home: home, Listen: "127.0.0.1:0", NoMDNS: true, AllowPrivate: true,
		OutDir: out, KeepList: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	return eng
}

// TestListWithRealEngineAcrossRestarts: downloads restored from the
// engine's list after a restart are listed newest first; a file saved as
// "blob (1).bin" is listed under that name; Remove and Clear finished
// take downloads off the list for good (they stay off after a restart).
func TestListWithRealEngineAcrossRestarts(t *testing.T) {
	good := testorigin.New(testorigin.Config{Size: 64 << 10, Seed: 3, Name: "blob.bin"})
	bad := testorigin.New(testorigin.Config{Size: 1 << 10, Seed: 4, Name: "gone.bin", Quirks: testorigin.Quirks{Status: http.StatusNotFound}})
	for _, o := range []*testorigin.Server{good, bad} {
		if err := o.Start("127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		defer o.Close()
	}
	home, out := t.TempDir(), t.TempDir()
	// blob.bin is taken: the download is saved as "blob (1).bin".
	if err := os.WriteFile(filepath.Join(out, "blob.bin"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}

	eng := listEngine(t, home, out)
	var ids []core.DownloadID
	for _, src := range []string{good.URL(), bad.URL(), bad.URL() + "?again"} {
		id, err := eng.Add(src, "")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
		// Wait for each to end, so that the order they were added in is
		// plain and their times differ.
		deadline := time.Now().Add(20 * time.Second)
		for !finalIn(eng, id) {
			if time.Now().After(deadline) {
				t.Fatalf("download of %s did not end", src)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	eng.Close()

	// After a restart: newest first.
	eng = listEngine(t, home, out)
	defer eng.Close()
	h := newHarness(t, eng, Options{})
	if want := []core.DownloadID{ids[2], ids[1], ids[0]}; !slices.Equal(h.u.m.order, want) {
		t.Fatalf("restored list in order %v, want newest first %v", h.u.m.order, want)
	}
	if d := h.u.m.downloads[ids[0]]; d.Name != "blob (1).bin" || d.State != core.StateDone {
		t.Errorf("first download listed as %q (%v), want blob (1).bin done", d.Name, d.State)
	}
	if d := h.u.m.downloads[ids[1]]; d.State != core.StateFailed || d.Err == nil {
		t.Errorf("second download %v with error %v, want failed", d.State, d.Err)
	}

	// Remove one from its row, then clear the rest.
	tapRowAction(t, h, ids[1], actRemove)
	h.waitFor("the removed row to go", func() bool { return h.u.m.index(ids[1]) < 0 })
	h.u.list.clearBtn.Tapped(nil)
	h.waitFor("Clear finished to empty the list", func() bool { return len(h.u.m.order) == 0 })
	if !h.u.list.empty.Visible() {
		t.Error("no empty state after clearing every download")
	}
	if _, err := os.Stat(filepath.Join(out, "blob (1).bin")); err != nil {
		t.Errorf("clearing the list touched the finished file: %v", err)
	}
	eng.Close()

	eng2 := listEngine(t, home, out)
	defer eng2.Close()
	if n := len(eng2.Downloads()); n != 0 {
		t.Errorf("%d downloads came back after a restart; removed and cleared ones must stay gone", n)
	}
}

func finalIn(eng *core.Engine, id core.DownloadID) bool {
	for _, s := range eng.Downloads() {
		if s.ID == id {
			return s.State.Final()
		}
	}
	return false
}
