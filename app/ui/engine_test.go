package ui

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/dragonload/dragonload/core"
	testorigin "github.com/dragonload/dragonload/test/origin"
)

// realEngine starts an engine on loopback only: no mDNS, private origins
// allowed (the test origin is on 127.0.0.1).
func realEngine(t *testing.T) (*core.Engine, string) {
	t.Helper()
	out := t.TempDir()
	eng, err := core.New(core.Config{
		Home:         t.TempDir(),
		Listen:       "127.0.0.1:0",
		NoMDNS:       true,
		AllowPrivate: true,
		OutDir:       out,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	return eng, out
}

func TestEnterDownloadsWithRealEngine(t *testing.T) {
	const size = 3<<20 + 12345
	origin := testorigin.New(testorigin.Config{Size: size, Seed: 1, Name: "real.bin"})
	if err := origin.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer origin.Close()
	eng, out := realEngine(t)
	h := newHarness(t, eng, Options{})

	test.Type(h.u.url, origin.URL())
	h.u.url.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	if h.u.addError.Visible() {
		t.Fatalf("add failed: %s", h.u.addError.Text)
	}
	if n := len(eng.Downloads()); n != 1 {
		t.Fatalf("engine has %d downloads after Enter, want 1", n)
	}

	// The window follows the engine's events to the end.
	h.waitFor("the download to finish in the window", func() bool {
		d := h.u.m.at(0)
		return d != nil && d.State.Final()
	})
	d := h.u.m.at(0)
	if d.State != core.StateDone {
		t.Fatalf("download ended %v: %v", d.State, d.Err)
	}
	if d.Name != "real.bin" || d.Size != size || d.Done != size {
		t.Errorf("row shows %q %d/%d, want real.bin %d/%d", d.Name, d.Done, d.Size, size, size)
	}
	fi, err := os.Stat(filepath.Join(out, "real.bin"))
	if err != nil || fi.Size() != size {
		t.Fatalf("finished file: %v, %v", fi, err)
	}

	// The chunk map covers the whole file, all fetched by this machine.
	h.u.list.selectID(d.ID)
	fills := cellFills(h.u.list.chunks.size, h.u.list.chunks.spans, 64)
	for i, f := range fills {
		if f.frac < 0.999 || f.color != 0 {
			t.Fatalf("cell %d of the finished map is %+v, want full and this machine's", i, f)
		}
	}
	if !strings.Contains(h.u.list.sub.Text, "real.bin") {
		t.Errorf("details show %q, want the final path", h.u.list.sub.Text)
	}
}

func TestAddErrorFromRealEngine(t *testing.T) {
	eng, _ := realEngine(t)
	h := newHarness(t, eng, Options{})
	test.Type(h.u.url, "ftp://example.com/file")
	h.u.url.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	if !h.u.addError.Visible() || h.u.addError.Text == "" {
		t.Fatal("an ftp link was accepted without a word")
	}
	if n := len(eng.Downloads()); n != 0 {
		t.Fatalf("engine has %d downloads", n)
	}
}

func TestSettingsShowRealEngine(t *testing.T) {
	eng, out := realEngine(t)
	h := newHarness(t, eng, Options{})
	s := h.u.settings
	if s.room.Text != eng.RoomCode() || s.room.Text == "" {
		t.Errorf("room %q, engine %q", s.room.Text, eng.RoomCode())
	}
	if s.outDir.Text != out {
		t.Errorf("out dir %q, want %q", s.outDir.Text, out)
	}
	test.Tap(s.lend)
	want := s.lend.Checked
	if eng.Lending() != want {
		t.Fatalf("box says %v, engine lends %v", want, eng.Lending())
	}
	h.waitFor("the lending event", func() bool { return h.u.m.lending == want })
	test.Tap(s.lend)
	if eng.Lending() == want {
		t.Fatal("the second tap did not flip lending back")
	}
}
