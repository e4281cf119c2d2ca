package ui

import (
	"errors"
	"fmt"
	"image/color"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/dragonload/dragonload/core"
)

// listFake is the fake engine with what the Downloads list's management
// actions need: a snapshot to start from, and Remove, ClearFinished and
// Resume (which retries a failed download) recorded.
type listFake struct {
	*fakeEngine
	lmu     sync.Mutex
	snaps   []core.DownloadSnapshot
	resumed []core.DownloadID
	removed []core.DownloadID
	cleared int
}

func newListFake(snaps ...core.DownloadSnapshot) *listFake {
	return &listFake{fakeEngine: newFakeEngine(), snaps: snaps}
}

func (f *listFake) Downloads() []core.DownloadSnapshot {
	f.lmu.Lock()
	defer f.lmu.Unlock()
	return slices.Clone(f.snaps)
}

func (f *listFake) Resume(id core.DownloadID) error {
	f.lmu.Lock()
	defer f.lmu.Unlock()
	f.resumed = append(f.resumed, id)
	return nil
}

func (f *listFake) Remove(id core.DownloadID) error {
	f.lmu.Lock()
	defer f.lmu.Unlock()
	f.removed = append(f.removed, id)
	return nil
}

func (f *listFake) ClearFinished() []core.DownloadID {
	f.lmu.Lock()
	defer f.lmu.Unlock()
	f.cleared++
	return nil
}

func (f *listFake) calls() (resumed, removed []core.DownloadID, cleared int) {
	f.lmu.Lock()
	defer f.lmu.Unlock()
	return slices.Clone(f.resumed), slices.Clone(f.removed), f.cleared
}

// legendTexts lists the visible legend lines of the selected download.
func legendTexts(l *downloadList) []string {
	var out []string
	for _, o := range l.legend.Objects {
		if li, ok := o.(*legendItem); ok && li.Visible() {
			out = append(out, li.label.Text)
		}
	}
	return out
}

// legendLine returns the legend line that starts with who, or "".
func legendLine(l *downloadList, who string) string {
	for _, s := range legendTexts(l) {
		if strings.HasPrefix(s, who) {
			return s
		}
	}
	return ""
}

// TestLegendAcrossPauseResume: the transfer engine restarts its per-peer
// byte counts with every run, so after a pause and resume the shares in
// progress reports cover only the new run. The legend and the row's
// shares must count what the chunk map holds: every durable byte, from
// the first run on.
func TestLegendAcrossPauseResume(t *testing.T) {
	eng := newListFake()
	h := newHarness(t, eng, Options{})
	const size = 1000
	eng.events <- core.DownloadAdded{ID: "x", Name: "big.iso"}
	eng.events <- core.DownloadStateChanged{ID: "x", State: core.StateDownloading}
	eng.events <- core.ChunkLanded{ID: "x", Offset: 0, Length: 300, Peer: core.SelfPeer}
	eng.events <- core.ChunkLanded{ID: "x", Offset: 300, Length: 200, Peer: "PEERB"}
	eng.events <- core.DownloadProgress{ID: "x", Size: size, Done: 500, Rate: 100,
		Peers: []core.PeerShare{{Peer: core.SelfPeer, Bytes: 300}, {Peer: "PEERB", Name: "attic", Bytes: 200}}}
	eng.events <- core.DownloadStateChanged{ID: "x", State: core.StatePaused}
	// The second run: its shares start from zero.
	eng.events <- core.DownloadStateChanged{ID: "x", State: core.StateDownloading}
	eng.events <- core.ChunkLanded{ID: "x", Offset: 500, Length: 200, Peer: core.SelfPeer}
	eng.events <- core.ChunkLanded{ID: "x", Offset: 700, Length: 100, Peer: "PEERB"}
	eng.events <- core.DownloadProgress{ID: "x", Size: size, Done: 800, Rate: 100,
		Peers: []core.PeerShare{{Peer: core.SelfPeer, Bytes: 200, Rate: 50}, {Peer: "PEERB", Name: "attic", Bytes: 100, Rate: 50}}}
	h.waitFor("the second run's progress", func() bool {
		d := h.u.m.downloads["x"]
		return d != nil && d.Done == 800
	})
	h.u.list.selectID("x")

	if got := legendLine(h.u.list, "this machine"); !strings.Contains(got, "63%") || !strings.Contains(got, "500 B") {
		t.Errorf("legend for this machine %q, want 63%% and 500 B (both runs)", got)
	}
	if got := legendLine(h.u.list, "attic"); !strings.Contains(got, "38%") || !strings.Contains(got, "300 B") {
		t.Errorf("legend for attic %q, want 38%% and 300 B (both runs)", got)
	}
	row := newDownloadRow()
	row.update(h.u.m.downloads["x"])
	if got, want := row.share.Text, "this machine 63% · attic 38%"; got != want {
		t.Errorf("row shares %q, want %q", got, want)
	}
}

// TestLegendAfterRestart: after a restart the engine lists a download with
// its bytes so far but no record of who fetched them; the legend says so
// rather than giving the new run's bytes as the whole file.
func TestLegendAfterRestart(t *testing.T) {
	eng := newListFake(core.DownloadSnapshot{
		ID: "r", Source: "https://e.com/r.bin", Name: "r.bin", OutDir: "/dl",
		State: core.StateQueued, Size: 1000, Done: 600, Added: time.Now().Add(-time.Hour),
	})
	h := newHarness(t, eng, Options{})
	eng.events <- core.DownloadStateChanged{ID: "r", State: core.StateDownloading}
	eng.events <- core.ChunkLanded{ID: "r", Offset: 600, Length: 200, Peer: core.SelfPeer}
	eng.events <- core.DownloadProgress{ID: "r", Size: 1000, Done: 800,
		Peers: []core.PeerShare{{Peer: core.SelfPeer, Bytes: 200}}}
	h.waitFor("progress after the restart", func() bool { return h.u.m.downloads["r"].Done == 800 })
	h.u.list.selectID("r")
	if got := legendLine(h.u.list, "this machine"); !strings.Contains(got, "25%") || !strings.Contains(got, "200 B") {
		t.Errorf("legend for this machine %q, want 25%% and 200 B", got)
	}
	if got := legendLine(h.u.list, "before a restart"); !strings.Contains(got, "75%") || !strings.Contains(got, "600 B") {
		t.Errorf("legend %q lacks the 600 B fetched before the restart", legendTexts(h.u.list))
	}

	eng.events <- core.ChunkLanded{ID: "r", Offset: 800, Length: 200, Peer: "PEERB"}
	eng.events <- core.DownloadProgress{ID: "r", Size: 1000, Done: 1000,
		Peers: []core.PeerShare{{Peer: core.SelfPeer, Bytes: 200}, {Peer: "PEERB", Name: "attic", Bytes: 200}}}
	eng.events <- core.DownloadStateChanged{ID: "r", State: core.StateDone, Path: "/dl/r.bin"}
	h.waitFor("the end", func() bool { return h.u.m.downloads["r"].State == core.StateDone })
	want := map[string][]string{"this machine": {"20%", "200 B"}, "attic": {"20%", "200 B"}, "before a restart": {"60%", "600 B"}}
	for who, parts := range want {
		got := legendLine(h.u.list, who)
		for _, p := range parts {
			if !strings.Contains(got, p) {
				t.Errorf("legend for %s %q lacks %q (all: %q)", who, got, p, legendTexts(h.u.list))
			}
		}
	}
}

// TestFinalNameAsSaved: a file saved under another name because the first
// was taken is listed and notified under the name it has on disk.
func TestFinalNameAsSaved(t *testing.T) {
	eng := newListFake()
	h := newHarness(t, eng, Options{})
	eng.events <- core.DownloadAdded{ID: "b", Name: "blob.bin", OutDir: "/dl"}
	eng.events <- core.DownloadProgress{ID: "b", Name: "blob.bin", Size: 10, Done: 10}
	h.waitFor("the download", func() bool { return h.u.m.downloads["b"] != nil && h.u.m.downloads["b"].Size == 10 })
	test.AssertNotificationSent(t, fyne.NewNotification("Download finished", "blob (1).bin is in /dl"), func() {
		h.u.applyBatch([]core.Event{core.DownloadStateChanged{ID: "b", State: core.StateDone, Path: "/dl/blob (1).bin"}})
	})
	if got := h.u.m.at(0).Name; got != "blob (1).bin" {
		t.Errorf("row named %q, want blob (1).bin", got)
	}
	// The same for a window that opens later; one never probed is named
	// from its link.
	unnamed := newModel()
	unnamed.seed([]core.DownloadSnapshot{{ID: "n", Source: "https://e.com/files/missing.iso", State: core.StateFailed}}, nil, false)
	if got := unnamed.at(0).Name; got != "missing.iso" {
		t.Errorf("a download never probed is named %q, want missing.iso from its link", got)
	}
	m := newModel()
	m.seed([]core.DownloadSnapshot{{ID: "b", Name: "blob.bin", State: core.StateDone, Path: "/dl/blob (1).bin"}}, nil, false)
	if got := m.at(0).Name; got != "blob (1).bin" {
		t.Errorf("seeded row named %q, want blob (1).bin", got)
	}
}

// TestFinishedRowShowsTimeAndSpeed: a finished row says how long the
// download took (added to ended) and its average speed.
func TestFinishedRowShowsTimeAndSpeed(t *testing.T) {
	added := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	eng := newListFake(core.DownloadSnapshot{
		ID: "d", Name: "big.iso", OutDir: "/dl", Path: "/dl/big.iso", State: core.StateDone,
		Size: 210_000_000, Done: 210_000_000, Added: added, Ended: added.Add(200 * time.Second),
	})
	h := newHarness(t, eng, Options{})
	row := newDownloadRow()
	row.update(h.u.m.at(0))
	for _, want := range []string{"210 MB", "took 3m 20s", "1.05 MB/s average"} {
		if !strings.Contains(row.detail.Text, want) {
			t.Errorf("finished row says %q; want %q in it", row.detail.Text, want)
		}
	}
}

// TestFailedRowShowsWholeError: the whole error is on the row, wrapped and
// selectable, not cut short.
func TestFailedRowShowsWholeError(t *testing.T) {
	msg := "no usable answer from the server for 2m0s: http://127.0.0.1:8080/some/long/path/to/the/file.bin answered 503 Service Unavailable, and every lender in the room was refused too"
	eng := newListFake(core.DownloadSnapshot{
		ID: "f", Name: "file.bin", State: core.StateFailed, Err: errors.New(msg), Size: 1000, Done: 400,
	})
	h := newHarness(t, eng, Options{})
	var found *widget.Label
	walk(h.win.Content(), func(o fyne.CanvasObject) {
		if l, ok := o.(*widget.Label); ok && l.Text == msg && l.Visible() {
			found = l
		}
	})
	if found == nil {
		// Rows are built lazily; check a row directly as well.
		row := newDownloadRow()
		row.update(h.u.m.at(0))
		walk(row, func(o fyne.CanvasObject) {
			if l, ok := o.(*widget.Label); ok && l.Text == msg && l.Visible() {
				found = l
			}
		})
	}
	if found == nil {
		t.Fatalf("no label holds the whole error %q", msg)
	}
	if found.Truncation != fyne.TextTruncateOff || found.Wrapping == fyne.TextWrapOff {
		t.Errorf("the error is cut (truncation %v, wrapping %v), want it wrapped", found.Truncation, found.Wrapping)
	}
	if !found.Selectable {
		t.Error("the error cannot be selected for copying")
	}
}

// variantTheme shows one variant of a theme whatever the desktop asks.
type variantTheme struct {
	fyne.Theme
	v fyne.ThemeVariant
}

func (t variantTheme) Color(n fyne.ThemeColorName, _ fyne.ThemeVariant) color.Color {
	return t.Theme.Color(n, t.v)
}

// TestStateLabelsReadable: every state word on a row reads against the
// row's background, plain, hovered or selected, on the light and the dark
// theme (WCAG AA for text: a contrast ratio of at least 4.5).
func TestStateLabelsReadable(t *testing.T) {
	for _, v := range []struct {
		name    string
		variant fyne.ThemeVariant
	}{{"light", theme.VariantLight}, {"dark", theme.VariantDark}} {
		t.Run(v.name, func(t *testing.T) {
			a := test.NewTempApp(t)
			th := variantTheme{Theme(), v.variant}
			a.Settings().SetTheme(th)
			w := a.NewWindow("x")
			defer w.Close()
			bg := toNRGBA(th.Color(theme.ColorNameBackground, v.variant))
			surfaces := map[string]color.NRGBA{
				"plain":    bg,
				"hovered":  over(bg, toNRGBA(th.Color(theme.ColorNameHover, v.variant))),
				"selected": over(bg, toNRGBA(th.Color(theme.ColorNameSelection, v.variant))),
			}
			for s := core.StateQueued; s <= core.StateCanceled; s++ {
				row := newDownloadRow()
				w.SetContent(row)
				w.Resize(fyne.NewSize(800, 120))
				row.update(&download{ID: "s", Name: "f.bin", State: s, Size: 100, Done: 50})
				word := stateText(s)
				var fg *canvas.Text
				walk(row, func(o fyne.CanvasObject) {
					if tx, ok := o.(*canvas.Text); ok && tx.Text == word {
						fg = tx
					}
				})
				if fg == nil {
					t.Fatalf("%s: no text %q on the row", s, word)
				}
				for name, surface := range surfaces {
					// A badge behind the word counts as its surface.
					under := surface
					if b := badgeBehind(row, fg); b != nil {
						under = over(surface, toNRGBA(b.FillColor))
					}
					if r := contrast(toNRGBA(fg.Color), under); r < 4.5 {
						t.Errorf("%s on a %s row: %q in %v on %v has contrast %.2f, want ≥ 4.5", v.name, name, word, toNRGBA(fg.Color), under, r)
					}
				}
			}
		})
	}
}

// badgeBehind returns the filled rectangle of the state badge that holds
// text, if the row draws one.
func badgeBehind(row *downloadRow, text *canvas.Text) *canvas.Rectangle {
	var rect *canvas.Rectangle
	walk(row, func(o fyne.CanvasObject) {
		if w, ok := o.(*stateBadge); ok {
			r := test.WidgetRenderer(w).(*stateBadgeRenderer)
			if r.text == text {
				rect = r.pill
			}
		}
	})
	return rect
}

// TestRowsAtDefaultSize: at the window's default size the list shows at
// least five rows, and more room goes to the list than to the chunk map.
func TestRowsAtDefaultSize(t *testing.T) {
	var snaps []core.DownloadSnapshot
	for i := range 12 {
		snaps = append(snaps, core.DownloadSnapshot{
			ID: core.DownloadID(fmt.Sprintf("d%02d", i)), Name: fmt.Sprintf("file-%02d.bin", i),
			State: core.StateDownloading, Size: 1000, Done: int64(i * 80),
		})
	}
	h := newHarness(t, newListFake(snaps...), Options{})
	h.win.Resize(DefaultSize)
	l := h.u.list
	sep := l.list.Theme().Size(theme.SizeNamePadding) // between rows
	rowH := newDownloadRow().MinSize().Height + sep
	listH := l.list.Size().Height
	if rows := (listH + sep) / rowH; rows < 5 {
		t.Errorf("the list is %.0f high with rows of %.0f: %.1f rows visible, want at least 5", listH, rowH, rows)
	}
	if detailsH := l.details.Size().Height; detailsH > listH {
		t.Errorf("the chunk-map pane (%.0f) is taller than the list (%.0f)", detailsH, listH)
	}
}

// tapRowAction taps the button for a on the list row showing download id.
func tapRowAction(t *testing.T, h *harness, id core.DownloadID, a action) {
	t.Helper()
	var row *downloadRow
	walk(h.u.list.list, func(o fyne.CanvasObject) {
		if r, ok := o.(*downloadRow); ok && r.id == id {
			row = r
		}
	})
	if row == nil {
		t.Fatalf("no row shows %s", id)
	}
	b := row.buttons[a]
	if !b.Visible() || b.Disabled() {
		t.Fatalf("the row of %s offers no %s", id, a.label())
	}
	test.Tap(b)
}

// TestRowActions: each row offers what its state allows, and each button
// is one engine command: open file and open folder ask the desktop for
// file:// URLs, retry resumes a failed download, remove forgets a final
// one, Clear finished forgets them all.
func TestRowActions(t *testing.T) {
	now := time.Now()
	eng := newListFake(
		core.DownloadSnapshot{ID: "done", Name: "blob.bin", OutDir: "/dl", Path: "/dl/blob (1).bin", State: core.StateDone, Size: 10, Done: 10, Added: now.Add(-4 * time.Minute)},
		core.DownloadSnapshot{ID: "failed", Name: "f.bin", OutDir: "/dl", State: core.StateFailed, Err: errors.New("404"), Added: now.Add(-3 * time.Minute)},
		core.DownloadSnapshot{ID: "run", Name: "r.bin", OutDir: "/dl", State: core.StateDownloading, Size: 10, Done: 2, Added: now.Add(-2 * time.Minute)},
		core.DownloadSnapshot{ID: "paused", Name: "p.bin", OutDir: "/dl", State: core.StatePaused, Size: 10, Done: 2, Added: now.Add(-time.Minute)},
	)
	h := newHarness(t, eng, Options{})
	var opened []string
	h.u.list.open = func(u *url.URL) error {
		opened = append(opened, u.String())
		return nil
	}

	want := map[core.DownloadID][]action{
		"done":   {actOpenFile, actOpenFolder, actRemove},
		"failed": {actRetry, actRemove},
		"run":    {actPause, actCancel},
		"paused": {actResume, actCancel},
	}
	for id, acts := range want {
		if got := actionsFor(h.u.m.downloads[id]); !slices.Equal(got, acts) {
			t.Errorf("%s offers %v, want %v", id, got, acts)
		}
	}

	tapRowAction(t, h, "done", actOpenFile)
	tapRowAction(t, h, "done", actOpenFolder)
	if w := []string{"file:///dl/blob%20%281%29.bin", "file:///dl"}; !slices.Equal(opened, w) {
		t.Errorf("opened %q, want %q", opened, w)
	}
	tapRowAction(t, h, "failed", actRetry)
	tapRowAction(t, h, "done", actRemove)
	tapRowAction(t, h, "run", actPause)
	resumed, removed, _ := eng.calls()
	if !slices.Equal(resumed, []core.DownloadID{"failed"}) {
		t.Errorf("resumed %v, want the failed download retried", resumed)
	}
	if !slices.Equal(removed, []core.DownloadID{"done"}) {
		t.Errorf("removed %v, want done", removed)
	}
	if !slices.Equal(eng.paused, []core.DownloadID{"run"}) {
		t.Errorf("paused %v, want run", eng.paused)
	}

	// The details pane offers the same for the selected download.
	h.u.list.selectID("done")
	l := h.u.list
	for _, b := range []*widget.Button{l.fileBtn, l.openBtn, l.removeBtn} {
		if !b.Visible() || b.Disabled() {
			t.Errorf("details of a finished download lack %q", b.Text)
		}
	}
	for _, b := range []*widget.Button{l.pauseBtn, l.cancelBtn, l.retryBtn, l.resumeBtn} {
		if b.Visible() {
			t.Errorf("details of a finished download offer %q", b.Text)
		}
	}
	test.Tap(l.fileBtn)
	if got := opened[len(opened)-1]; got != "file:///dl/blob%20%281%29.bin" {
		t.Errorf("Open file opened %q", got)
	}

	// Clear finished is one engine command; the list follows its events.
	if l.clearBtn.Disabled() {
		t.Fatal("Clear finished is disabled with finished downloads listed")
	}
	if got, want := l.summary.Text, "4 downloads · 1 running · 1 paused · 1 done · 1 failed"; got != want {
		t.Errorf("summary %q, want %q", got, want)
	}
	test.Tap(l.clearBtn)
	if _, _, n := eng.calls(); n != 1 {
		t.Fatalf("ClearFinished called %d times, want 1", n)
	}
	eng.events <- core.DownloadRemoved{ID: "done"}
	eng.events <- core.DownloadRemoved{ID: "failed"}
	h.waitFor("the finished downloads to leave", func() bool { return len(h.u.m.order) == 2 })
	if l.current() != nil || l.selected != "" {
		t.Errorf("the removed download is still selected: %q", l.selected)
	}
	if !l.clearBtn.Disabled() {
		t.Error("Clear finished is enabled with nothing finished")
	}
	if l.summary.Text != "2 downloads · 1 running · 1 paused" {
		t.Errorf("summary %q", l.summary.Text)
	}
}

// TestRowHeightsFollowOrder: the list keeps row heights by position, so a
// failed row's taller height moves with it when a new download goes on top.
func TestRowHeightsFollowOrder(t *testing.T) {
	msg := strings.Repeat("the server refused the request and said why at length; ", 6)
	eng := newListFake(core.DownloadSnapshot{ID: "f", Name: "f.bin", State: core.StateFailed, Err: errors.New(msg), Added: time.Now().Add(-time.Minute)})
	h := newHarness(t, eng, Options{})
	l := h.u.list
	tall := l.measure.heightAt(h.u.m.downloads["f"], l.list.Size().Width)
	if tall <= l.rowMin {
		t.Fatalf("a failed row with a long error is %.0f high, no taller than a plain row (%.0f)", tall, l.rowMin)
	}
	h.u.applyBatch([]core.Event{core.DownloadAdded{ID: "n", Name: "new.bin"}})
	if got := h.u.m.order; !slices.Equal(got, []core.DownloadID{"n", "f"}) {
		t.Fatalf("order %v", got)
	}
	row0, row1 := rowHeight(t, l.list, "n"), rowHeight(t, l.list, "f")
	if row0 != l.rowMin || row1 != tall {
		t.Errorf("heights %.0f, %.0f; want %.0f for the new row and %.0f for the failed one", row0, row1, l.rowMin, tall)
	}
}

// rowHeight is the height the list gives the row showing download id.
func rowHeight(t *testing.T, list *widget.List, id core.DownloadID) float32 {
	t.Helper()
	var h float32 = -1
	walk(list, func(o fyne.CanvasObject) {
		if r, ok := o.(*downloadRow); ok && r.id == id && r.Visible() {
			h = r.Size().Height
		}
	})
	if h < 0 {
		t.Fatalf("no row shows %s", id)
	}
	return h
}

// TestRestoredFinishedMap: a download that finished before a restart has
// no record of who fetched it; its map is drawn whole in the colour the
// legend gives "before a restart", not empty.
func TestRestoredFinishedMap(t *testing.T) {
	eng := newListFake(core.DownloadSnapshot{
		ID: "d", Name: "big.iso", Path: "/dl/big.iso", State: core.StateDone, Size: 1000, Done: 1000,
	})
	h := newHarness(t, eng, Options{})
	h.u.list.selectID("d")
	if got := legendTexts(h.u.list); len(got) != 1 || !strings.HasPrefix(got[0], "before a restart") || !strings.Contains(got[0], "100%") {
		t.Errorf("legend %q, want one line: before a restart, 100%%", got)
	}
	cm := h.u.list.chunks
	img := test.WidgetRenderer(cm).(*chunkMapRenderer).draw(200, 40)
	want := unknownColor(cm.Theme(), fyne.CurrentApp().Settings().ThemeVariant())
	scale := 1.0
	if w := cm.Size().Width; w > 0 {
		scale = 200 / float64(w)
	}
	g := newGrid(200, 40, scale)
	for i := range g.cols * g.rows {
		x0, y0, x1, y1 := g.cell(i)
		if got := toNRGBA(img.At((x0+x1)/2, (y0+y1)/2)); got != want {
			t.Fatalf("cell %d is %v, want %v", i, got, want)
		}
	}
}

// TestLegendNamesCopies: bytes copied from a member's copy on the LAN
// are labelled as such in the legend and the row, and the others as
// fetched from the internet; after a restart, when no run reports the
// copy any more, the chunk map still knows it.
func TestLegendNamesCopies(t *testing.T) {
	eng := newListFake()
	h := newHarness(t, eng, Options{})
	eng.events <- core.DownloadAdded{ID: "c", Name: "film.mkv"}
	eng.events <- core.DownloadStateChanged{ID: "c", State: core.StateDownloading}
	eng.events <- core.ChunkLanded{ID: "c", Offset: 0, Length: 750, Peer: "copy:ATTICNODE"}
	eng.events <- core.ChunkLanded{ID: "c", Offset: 750, Length: 250, Peer: core.SelfPeer}
	eng.events <- core.DownloadProgress{ID: "c", Size: 1000, Done: 1000, Peers: []core.PeerShare{
		{Peer: "copy:ATTICNODE", Name: "attic", Bytes: 750, Copy: true},
		{Peer: core.SelfPeer, Bytes: 250},
	}}
	h.waitFor("the progress", func() bool { d := h.u.m.downloads["c"]; return d != nil && d.Done == 1000 })
	h.u.list.selectID("c")
	if got := legendLine(h.u.list, "LAN copy from attic"); !strings.Contains(got, "75%") {
		t.Errorf("legend %q, want a line for attic's LAN copy with 75%%", legendTexts(h.u.list))
	}
	if got := legendLine(h.u.list, "internet via this machine"); !strings.Contains(got, "25%") {
		t.Errorf("legend %q, want a line for this machine's internet link with 25%%", legendTexts(h.u.list))
	}
	row := newDownloadRow()
	row.update(h.u.m.downloads["c"])
	if got, want := row.share.Text, "LAN copy from attic 75% · internet via this machine 25%"; got != want {
		t.Errorf("row shares %q, want %q", got, want)
	}

	// Restored after a restart: the chunk map and the names, no run.
	eng2 := newListFake(core.DownloadSnapshot{
		ID: "c", Name: "film.mkv", State: core.StatePaused, Size: 1000, Done: 1000,
		Chunks: []core.ChunkLanded{
			{ID: "c", Offset: 0, Length: 750, Peer: "copy:ATTICNODE"},
			{ID: "c", Offset: 750, Length: 250, Peer: "DENNODE"},
		},
		Names: map[string]string{"copy:ATTICNODE": "attic", "DENNODE": "den"},
	})
	h2 := newHarness(t, eng2, Options{})
	h2.u.list.selectID("c")
	want := []string{"LAN copy from attic  ·  75%  ·  750 B", "internet via den  ·  25%  ·  250 B"}
	if got := legendTexts(h2.u.list); !slices.Equal(got, want) {
		t.Errorf("restored legend %q, want %q", got, want)
	}
}
