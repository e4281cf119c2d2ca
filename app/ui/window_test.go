package ui

import (
	"errors"
	"image/color"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/test"

	"github.com/dragonload/dragonload/core"
)

func TestEnterAddsDownload(t *testing.T) {
	eng := newFakeEngine()
	h := newHarness(t, eng, Options{})

	test.Type(h.u.url, "https://example.com/big.iso")
	h.u.url.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})

	if got, want := eng.addedSources(), []string{"https://example.com/big.iso"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("engine got %q, want %q", got, want)
	}
	if h.u.url.Text != "" {
		t.Errorf("link field still holds %q after a successful add", h.u.url.Text)
	}
	if !h.u.list.split.Visible() || h.u.list.empty.Visible() {
		t.Error("the list did not replace the empty state")
	}
	if h.u.list.selected != "d1" {
		t.Errorf("selected %q, want the new download d1", h.u.list.selected)
	}
	if got := h.u.m.at(0).Name; got != "big.iso" {
		t.Errorf("row name %q before the engine reported one, want big.iso", got)
	}
}

func TestEnterShowsAddError(t *testing.T) {
	eng := newFakeEngine()
	h := newHarness(t, eng, Options{})

	h.u.url.OnSubmitted("")
	if !h.u.addError.Visible() || !strings.Contains(h.u.addError.Text, "Paste a link") {
		t.Fatalf("empty submit: error %q visible=%v", h.u.addError.Text, h.u.addError.Visible())
	}

	test.Type(h.u.url, "https://refuse.example/x")
	h.u.url.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	if !h.u.addError.Visible() || !strings.Contains(h.u.addError.Text, "refused") {
		t.Fatalf("refused add: error %q visible=%v", h.u.addError.Text, h.u.addError.Visible())
	}
	if h.u.url.Text == "" {
		t.Error("the link field was cleared although the add failed")
	}
	test.Type(h.u.url, "y")
	if h.u.addError.Visible() {
		t.Error("the error stayed after the user edited the link")
	}
	if !h.u.list.empty.Visible() {
		t.Error("the empty state went away with nothing added")
	}
}

func TestEmptyStateNamesRoom(t *testing.T) {
	h := newHarness(t, newFakeEngine(), Options{})
	if !h.u.list.empty.Visible() {
		t.Fatal("no empty state without downloads")
	}
	if txt := h.u.list.emptyRoom.Text; !strings.Contains(txt, "dragonload join") || !strings.Contains(txt, "ROOM-CODE-1") || strings.Contains(txt, "--room") {
		t.Errorf("empty state says %q; want the join command with the room code", h.u.list.emptyRoom.Text)
	}
}

func TestProgressAndChunkMapFromEvents(t *testing.T) {
	eng := newFakeEngine()
	h := newHarness(t, eng, Options{})
	const size = 1000
	eng.events <- core.DownloadAdded{ID: "x", Source: "https://e.com/f.bin", Name: "f.bin", OutDir: "/tmp"}
	eng.events <- core.DownloadStateChanged{ID: "x", State: core.StateDownloading}
	eng.events <- core.ChunkLanded{ID: "x", Offset: 0, Length: 250, Peer: core.SelfPeer}
	eng.events <- core.ChunkLanded{ID: "x", Offset: 500, Length: 250, Peer: "PEERB"}
	eng.events <- core.DownloadProgress{ID: "x", Name: "f.bin", Size: size, Done: 500, Rate: 2e6,
		Peers: []core.PeerShare{{Peer: core.SelfPeer, Bytes: 250}, {Peer: "PEERB", Name: "attic", Bytes: 250}}}

	h.waitFor("the row to show progress", func() bool {
		d := h.u.m.downloads["x"]
		return d != nil && d.Done == 500 && len(d.spans) == 2
	})
	h.u.list.selectID("x")

	row := newDownloadRow()
	row.update(h.u.m.downloads["x"])
	if row.bar.value != 0.5 {
		t.Errorf("progress bar at %v, want 0.5", row.bar.value)
	}
	if !strings.Contains(row.detail.Text, "50% · 500 B of 1.00 kB") || !strings.Contains(row.detail.Text, "2.00 MB/s") {
		t.Errorf("detail %q lacks bytes or rate", row.detail.Text)
	}
	if row.share.Text != "this machine 50% · attic 50%" {
		t.Errorf("share %q", row.share.Text)
	}
	if row.state.state != core.StateDownloading {
		t.Errorf("state %v", row.state.state)
	}

	cm := h.u.list.chunks
	if cm.size != size || len(cm.spans) != 2 {
		t.Fatalf("chunk map shows size %d, %d spans; want %d, 2", cm.size, len(cm.spans), size)
	}
	fills := cellFills(cm.size, cm.spans, 4)
	want := []cellFill{{1, 0}, {0, -1}, {1, 1}, {0, -1}}
	if !reflect.DeepEqual(fills, want) {
		t.Fatalf("cells %+v, want %+v", fills, want)
	}
	img := test.WidgetRenderer(cm).(*chunkMapRenderer).draw(400, 40)
	if got := toNRGBA(img.At(2, 2)); got != colorFor(0) {
		t.Errorf("first cell is %v, want this machine's colour %v", got, colorFor(0))
	}
	if got := toNRGBA(img.At(398, 38)); got == colorFor(0) || got == colorFor(1) {
		t.Errorf("last cell is %v, want the empty colour", got)
	}

	// A later chunk fills the map further and the legend follows.
	eng.events <- core.ChunkLanded{ID: "x", Offset: 250, Length: 250, Peer: "PEERB"}
	eng.events <- core.DownloadProgress{ID: "x", Size: size, Done: 750,
		Peers: []core.PeerShare{{Peer: core.SelfPeer, Bytes: 250}, {Peer: "PEERB", Name: "attic", Bytes: 500}}}
	h.waitFor("the third chunk", func() bool { return h.u.m.downloads["x"].Done == 750 })
	if got := cellFills(cm.size, cm.spans, 4)[1]; got != (cellFill{1, 1}) {
		t.Errorf("second cell %+v after the chunk landed", got)
	}
	if n := visibleLegend(h.u.list); n != 2 {
		t.Errorf("legend shows %d peers, want 2", n)
	}
}

func visibleLegend(l *downloadList) int {
	n := 0
	for _, o := range l.legend.Objects {
		if o.Visible() {
			n++
		}
	}
	return n
}

func TestFinishAndFailNotify(t *testing.T) {
	eng := newFakeEngine()
	h := newHarness(t, eng, Options{})
	eng.events <- core.DownloadAdded{ID: "a", Name: "a.iso", OutDir: "/dl"}
	h.waitFor("the download", func() bool { return h.u.m.downloads["a"] != nil })

	test.AssertNotificationSent(t, fyne.NewNotification("Download finished", "a.iso is in /dl"), func() {
		h.u.applyBatch([]core.Event{core.DownloadStateChanged{ID: "a", State: core.StateDone, Path: "/dl/a.iso"}})
	})
	test.AssertNotificationSent(t, nil, func() {
		// The same state again is no news.
		h.u.applyBatch([]core.Event{core.DownloadStateChanged{ID: "a", State: core.StateDone, Path: "/dl/a.iso"}})
	})
	test.AssertNotificationSent(t, fyne.NewNotification("Download failed", "b.iso: origin changed the file"), func() {
		h.u.applyBatch([]core.Event{
			core.DownloadAdded{ID: "b", Name: "b.iso"},
			core.DownloadStateChanged{ID: "b", State: core.StateFailed, Err: errors.New("origin changed the file")},
		})
	})
	h.u.list.selectID("b")
	if h.u.list.errBtn.Disabled() {
		t.Error("Show error is disabled on a failed download")
	}
	if !h.u.list.cancelBtn.Disabled() {
		t.Error("Cancel is enabled on a failed download")
	}
}

func TestPauseButtonPausesSelected(t *testing.T) {
	eng := newFakeEngine()
	h := newHarness(t, eng, Options{})
	eng.events <- core.DownloadAdded{ID: "a", Name: "a.iso"}
	eng.events <- core.DownloadStateChanged{ID: "a", State: core.StateDownloading}
	h.waitFor("the download", func() bool {
		d := h.u.m.downloads["a"]
		return d != nil && d.State == core.StateDownloading
	})
	h.u.list.selectID("a")
	test.Tap(h.u.list.pauseBtn)
	if !reflect.DeepEqual(eng.paused, []core.DownloadID{"a"}) {
		t.Fatalf("paused %v", eng.paused)
	}
	h.u.applyBatch([]core.Event{core.DownloadStateChanged{ID: "a", State: core.StatePaused}})
	if h.u.list.pauseBtn.Visible() || !h.u.list.resumeBtn.Visible() {
		t.Error("a paused download offers Pause rather than Resume")
	}
}

func TestDropAcceptsMangledLinks(t *testing.T) {
	eng := newFakeEngine()
	h := newHarness(t, eng, Options{})
	// storage.NewFileURI is what the desktop driver calls on each dropped
	// name, so this is the exact mangling a dragged browser link gets.
	h.u.Drop([]fyne.URI{
		storage.NewFileURI("https://example.com/a.iso"),
		storage.NewFileURI("http://example.com/b.iso"),
		storage.NewFileURI("dragon://?url=https://example.com/c.iso"),
	})
	want := []string{"https://example.com/a.iso", "http://example.com/b.iso", "dragon://?url=https://example.com/c.iso"}
	if got := eng.addedSources(); !reflect.DeepEqual(got, want) {
		t.Fatalf("engine got %q, want %q", got, want)
	}
	if h.u.addError.Visible() {
		t.Errorf("drop reported an error: %q", h.u.addError.Text)
	}
}

func TestDropReportsUnusableItems(t *testing.T) {
	eng := newFakeEngine()
	h := newHarness(t, eng, Options{})
	h.u.Drop([]fyne.URI{storage.NewFileURI(t.TempDir())})
	if !h.u.addError.Visible() || !strings.Contains(h.u.addError.Text, "drop a link") {
		t.Fatalf("folder drop: error %q visible=%v", h.u.addError.Text, h.u.addError.Visible())
	}
	if len(eng.addedSources()) != 0 {
		t.Fatal("a folder drop added something")
	}
}

func TestSettingsLendToggle(t *testing.T) {
	eng := newFakeEngine()
	h := newHarness(t, eng, Options{})
	test.Tap(h.u.settings.lend)
	if !eng.Lending() {
		t.Fatal("ticking the lend box did not turn lending on")
	}
	h.waitFor("the status line", func() bool { return strings.Contains(h.u.status.Text, "Lending on") })
	test.Tap(h.u.settings.lend)
	if eng.Lending() {
		t.Fatal("unticking the lend box did not turn lending off")
	}
	// The engine's own change shows without being echoed back.
	h.u.applyBatch([]core.Event{core.LendingChanged{On: true}})
	if !h.u.settings.lend.Checked {
		t.Error("the box does not follow the engine")
	}
}

func TestSettingsBandwidthCap(t *testing.T) {
	eng := newFakeEngine()
	h := newHarness(t, eng, Options{})
	h.u.settings.cap.SetText("2.5")
	h.u.settings.applyCap()
	if got := eng.Limits().LendRate; got != 2_500_000 {
		t.Fatalf("cap %d B/s, want 2500000", got)
	}
	h.u.settings.cap.SetText("fast")
	h.u.settings.applyCap()
	if got := eng.Limits().LendRate; got != 2_500_000 {
		t.Fatalf("a bad cap changed the limit to %d", got)
	}
	if !strings.Contains(h.u.settings.capNote.Text, "number") {
		t.Errorf("no hint for a bad cap: %q", h.u.settings.capNote.Text)
	}
}

func TestParseRate(t *testing.T) {
	cases := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"", 0, true}, {"0", 0, true}, {" 2.5 ", 2_500_000, true}, {"3 MB/s", 3_000_000, true},
		{"1,5", 1_500_000, true}, {"-1", 0, false}, {"lots", 0, false}, {"1e9", 0, false},
	}
	for _, tc := range cases {
		got, err := parseRate(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseRate(%q) = %d, %v", tc.in, got, err)
		}
	}
}

func TestOnboardingShowsRoom(t *testing.T) {
	eng := newFakeEngine()
	done := false
	h := newHarness(t, eng, Options{Onboard: true, Onboarded: func() { done = true }})
	overlay := h.win.Canvas().Overlays().Top()
	if overlay == nil {
		t.Fatal("no onboarding dialog on first run")
	}
	markup := test.RenderObjectToMarkup(overlay)
	for _, want := range []string{"Welcome to Dragonload", "ROOM-CODE-1", "dragonload join", "dragonload agent"} {
		if !strings.Contains(markup, want) {
			t.Errorf("onboarding lacks %q", want)
		}
	}
	// Press the dismiss button, as a user would.
	h.win.Canvas().Focus(nil)
	var dismiss fyne.Tappable
	walk(overlay, func(o fyne.CanvasObject) {
		if b, ok := o.(interface{ fyne.Tappable }); ok && strings.Contains(test.RenderObjectToMarkup(o), "Get started") {
			dismiss = b
		}
	})
	if dismiss == nil {
		t.Fatal("no Get started button")
	}
	test.Tap(dismiss)
	if !done {
		t.Error("closing the introduction did not record it")
	}
}

func TestPeersTabShowsPeers(t *testing.T) {
	eng := newFakeEngine()
	h := newHarness(t, eng, Options{})
	if !h.u.peers.empty.Visible() || !strings.Contains(h.u.peers.hint.Text, "dragonload join") || !strings.Contains(h.u.peers.hint.Text, "ROOM-CODE-1") {
		t.Fatalf("no-peer hint %q", h.u.peers.hint.Text)
	}
	eng.events <- core.PeerReady{Peer: core.PeerInfo{ID: "PEERAAAAAAAA", Name: "attic", Addr: "10.0.0.2:4700", Ready: true, Lending: true}}
	h.waitFor("the peer", func() bool { return len(h.u.peers.rows) == 1 })
	if h.u.peers.empty.Visible() {
		t.Error("empty state stays with a peer")
	}
	if got := h.u.peersTab.Text; got != "Peers (1)" {
		t.Errorf("tab %q", got)
	}
	if got := peerCell(h.u.peers.rows[0], 0); got != "attic" {
		t.Errorf("name cell %q", got)
	}
	if !strings.Contains(h.u.status.Text, "1 peer ready") {
		t.Errorf("status %q", h.u.status.Text)
	}
	eng.events <- core.PeerLost{Peer: core.PeerInfo{ID: "PEERAAAAAAAA"}, Reason: "goodbye"}
	h.waitFor("the peer to leave", func() bool { return len(h.u.peers.rows) == 0 })
}

func TestChunkMapCells(t *testing.T) {
	cases := []struct {
		name  string
		size  int64
		spans []span
		n     int
		want  []cellFill
	}{
		{"unknown size", -1, []span{{0, 10, 0}}, 2, []cellFill{{0, -1}, {0, -1}}},
		{"whole", 100, []span{{0, 100, 2}}, 2, []cellFill{{1, 2}, {1, 2}}},
		{"partial cell", 100, []span{{0, 25, 1}}, 2, []cellFill{{0.5, 1}, {0, -1}}},
		{"largest wins", 100, []span{{0, 20, 1}, {20, 30, 2}}, 2, []cellFill{{1, 2}, {0, -1}}},
		{"past the end clipped", 100, []span{{90, 50, 1}}, 2, []cellFill{{0, -1}, {0.2, 1}}},
		{"tiny file many cells", 2, []span{{1, 1, 0}}, 4, []cellFill{{0, -1}, {0, -1}, {1, 0}, {1, 0}}},
	}
	for _, tc := range cases {
		got := cellFills(tc.size, tc.spans, tc.n)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestCellShade(t *testing.T) {
	empty := color.NRGBA{200, 200, 200, 255}
	if got := (cellFill{0, -1}).shade(empty); got != empty {
		t.Errorf("empty cell %v", got)
	}
	if got := (cellFill{1, 3}).shade(empty); got != colorFor(3) {
		t.Errorf("full cell %v", got)
	}
	half := (cellFill{0.5, 3}).shade(empty)
	if half == empty || half == colorFor(3) {
		t.Errorf("half cell %v is not between empty and full", half)
	}
}

func TestModelMergesAdjacentChunks(t *testing.T) {
	m := newModel()
	for i := range int64(100) {
		m.apply(core.ChunkLanded{ID: "a", Offset: i * 10, Length: 10, Peer: "P"})
	}
	if n := len(m.downloads["a"].spans); n != 1 {
		t.Fatalf("100 neighbouring chunks from one peer made %d spans, want 1", n)
	}
	m.apply(core.ChunkLanded{ID: "a", Offset: 1000, Length: 10, Peer: core.SelfPeer})
	if n := len(m.downloads["a"].spans); n != 2 {
		t.Fatalf("a chunk from another peer made %d spans, want 2", n)
	}
}

// walk visits o and everything inside it.
func walk(o fyne.CanvasObject, f func(fyne.CanvasObject)) {
	f(o)
	switch c := o.(type) {
	case *fyne.Container:
		for _, ch := range c.Objects {
			walk(ch, f)
		}
	case fyne.Widget:
		for _, ch := range test.WidgetRenderer(c).Objects() {
			walk(ch, f)
		}
	}
}

func TestShortcutsReachWindowFromLinkField(t *testing.T) {
	closed := 0
	h := newHarness(t, newFakeEngine(), Options{Close: func() { closed++ }})
	h.win.Canvas().Focus(h.u.url)
	h.u.url.TypedShortcut(&desktop.CustomShortcut{KeyName: fyne.Key3, Modifier: fyne.KeyModifierAlt})
	if got := h.u.tabs.SelectedIndex(); got != 2 {
		t.Errorf("Alt+3 in the link field selected tab %d, want 2", got)
	}
	h.u.url.TypedShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyW, Modifier: fyne.KeyModifierShortcutDefault})
	if closed != 1 {
		t.Errorf("Ctrl+W in the link field closed the window %d times, want 1", closed)
	}
	// The field's own shortcuts still work.
	h.u.url.SetText("abc")
	h.u.url.TypedShortcut(&fyne.ShortcutSelectAll{})
	if got := h.u.url.SelectedText(); got != "abc" {
		t.Errorf("Select all in the link field selected %q", got)
	}
}

func TestOpenArguments(t *testing.T) {
	eng := newFakeEngine()
	eng.SetAskOpenedLinks(false) // consent has its own test
	h := newHarness(t, eng, Options{})
	dir := t.TempDir()
	dragon := filepath.Join(dir, "a.dragon")
	if err := os.WriteFile(dragon, []byte("https://e.com/a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h.u.Open([]string{
		"https://e.com/x.iso",
		dragon,
		"file://" + dragon,
		"ftp://e.com/nope",
		filepath.Join(dir, "missing.dragon"),
		"  ",
	})
	want := []string{"https://e.com/x.iso", dragon, dragon}
	if got := eng.addedSources(); !reflect.DeepEqual(got, want) {
		t.Fatalf("engine got %q, want %q", got, want)
	}
	for _, msg := range []string{"ftp://e.com/nope: Dragonload takes http", "missing.dragon: no such file"} {
		if !strings.Contains(h.u.addError.Text, msg) {
			t.Errorf("error %q lacks %q", h.u.addError.Text, msg)
		}
	}
}
