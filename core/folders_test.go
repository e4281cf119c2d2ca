package core_test

import (
	"testing"

	"github.com/dragonload/dragonload/core"
)

// TestRunFoldersAreNotSaved: --out and --watch hold for one run. A later
// start without them uses the folders set in the app, and a change made in
// the app during a run with --out replaces the one-off folder and is saved.
func TestRunFoldersAreNotSaved(t *testing.T) {
	home := t.TempDir()
	saved, oneOff, watch := t.TempDir(), t.TempDir(), t.TempDir()
	start := func(out, w string) *core.Engine {
		t.Helper()
		e, err := core.New(engineConfig(t, func(c *core.Config) { c.Home, c.OutDir, c.WatchDir = home, out, w }))
		if err != nil {
			t.Fatal(err)
		}
		return e
	}

	e := start("", "")
	if err := e.SetOutDir(saved); err != nil {
		t.Fatal(err)
	}
	e.Close()

	e = start(oneOff, watch)
	if got := e.OutDir(); got != oneOff {
		t.Errorf("with --out, OutDir = %s, want %s", got, oneOff)
	}
	if got := e.WatchDir(); got != watch {
		t.Errorf("with --watch, WatchDir = %s, want %s", got, watch)
	}
	e.SetLending(true) // any saved change writes the settings file
	e.Close()

	e = start("", "")
	if got := e.OutDir(); got != saved {
		t.Errorf("after a run with --out, OutDir = %s, want the saved %s", got, saved)
	}
	if got := e.WatchDir(); got != "" {
		t.Errorf("after a run with --watch, WatchDir = %q, want none", got)
	}
	e.Close()

	// Choosing a folder in the app during a --out run is a real choice.
	e = start(oneOff, "")
	chosen := t.TempDir()
	if err := e.SetOutDir(chosen); err != nil {
		t.Fatal(err)
	}
	if got := e.OutDir(); got != chosen {
		t.Errorf("after SetOutDir, OutDir = %s, want %s", got, chosen)
	}
	e.Close()
	e = start("", "")
	defer e.Close()
	if got := e.OutDir(); got != chosen {
		t.Errorf("the folder chosen in the app was not saved: OutDir = %s, want %s", got, chosen)
	}
}
