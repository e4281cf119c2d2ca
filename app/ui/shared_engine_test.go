package ui

import (
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/dragonload/dragonload/core"
	testorigin "github.com/dragonload/dragonload/test/origin"
	"github.com/dragonload/dragonload/test/testkit"
)

// TestSearchAndCopyWithRealEngines: a machine of the room that finished
// a download shares it; the window of another machine finds it with the
// search field and downloads it with the Download button, from that copy
// alone; the legend names the copy, and the file is then shared from
// this machine too.
func TestSearchAndCopyWithRealEngines(t *testing.T) {
	const size = 2<<20 + 77
	origin := testorigin.New(testorigin.Config{Size: size, Seed: 9, Name: "atlas.bin"})
	if err := origin.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer origin.Close()
	const room = "ui-share-k3m9p-x7q2a-h4w8t"
	start := func(name string, peers ...string) *core.Engine {
		eng, err := core.New(core.Config{
			Home: t.TempDir(), Room: room, Name: name, Listen: "127.0.0.1:0", Peers: peers,
			NoMDNS: true, AllowPrivate: true, OutDir: t.TempDir(),
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { eng.Close() })
		return eng
	}

	attic := start("attic")
	events, cancel := attic.Subscribe()
	defer cancel()
	id, err := attic.Add(origin.URL(), "")
	if err != nil {
		t.Fatal(err)
	}
	for done := false; !done; {
		select {
		case ev := <-events:
			if sc, ok := ev.(core.DownloadStateChanged); ok && sc.ID == id && sc.State.Final() {
				if sc.State != core.StateDone {
					t.Fatalf("attic's download ended %v: %v", sc.State, sc.Err)
				}
				done = true
			}
		case <-time.After(time.Minute):
			t.Fatal("attic's download did not finish")
		}
	}
	served := origin.BytesServed()

	eng := start("desk", attic.Addr())
	h := newHarness(t, eng, Options{})
	h.waitFor("attic to be ready", func() bool { return h.u.m.machines() == 1 })
	s := openShared(h)
	test.Type(s.query, "atlas")
	s.query.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	h.waitFor("the search's answer", func() bool { return s.status.Text != "Searching the room…" })
	row := rowNamed(s.results, "atlas.bin")
	if row == nil {
		t.Fatalf("the search found no atlas.bin: %q", s.status.Text)
	}
	if want := "held by attic · sha256 " + testorigin.SumSHA256(9, size)[:12]; !strings.Contains(row.detail.Text, want) {
		t.Errorf("the result says %q, want %q in it", row.detail.Text, want)
	}

	test.Tap(row.button)
	h.waitFor("the copy to finish", func() bool {
		d := h.u.m.at(0)
		return d != nil && d.State.Final()
	})
	d := h.u.m.at(0)
	if d.State != core.StateDone || testkit.FileSHA256(t, d.Path) != testorigin.SumSHA256(9, size) {
		t.Fatalf("the copy ended %v (%v), or with the wrong bytes", d.State, d.Err)
	}
	if n := origin.BytesServed() - served; n != 0 {
		t.Errorf("the origin served %d bytes for a file named by its SHA-256 alone", n)
	}
	h.u.list.selectID(d.ID)
	if got := legendTexts(h.u.list); len(got) != 1 || !strings.HasPrefix(got[0], "LAN copy from attic  ·  100%") {
		t.Errorf("legend %q, want one line: LAN copy from attic, 100%%", got)
	}
	h.waitFor("the copy among this machine's shared files", func() bool { return rowNamed(s.list, "atlas.bin") != nil })
}
