package ui

import (
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/dragonload/dragonload/core"
	"github.com/dragonload/dragonload/core/index"
	"github.com/dragonload/dragonload/core/link"
)

// rowNamed is the row of a Shared-tab list showing the file name, or nil
// when no row on screen shows it.
func rowNamed(l *widget.List, name string) *fileRow {
	var row *fileRow
	walk(l, func(o fyne.CanvasObject) {
		if r, ok := o.(*fileRow); ok && r.Visible() && r.name.Text == name {
			row = r
		}
	})
	return row
}

// openShared shows the Shared tab as the user does, with Alt+4.
func openShared(h *harness) *sharedView {
	h.t.Helper()
	h.u.url.TypedShortcut(&desktop.CustomShortcut{KeyName: fyne.Key4, Modifier: fyne.KeyModifierAlt})
	if h.u.tabs.Selected() != h.u.sharedTab {
		h.t.Fatalf("Alt+4 selected %q, want the Shared tab", h.u.tabs.Selected().Text)
	}
	return h.u.shared
}

// The moments of the Shared tab's tests: June has no change of summer
// time anywhere, so that the dates read the same in every time zone.
var (
	sharedNow   = time.Date(2025, 6, 20, 9, 0, 0, 0, time.Local)
	sharedAdded = time.Date(2025, 6, 10, 14, 5, 0, 0, time.Local)
)

// TestSharedListsFiles: the Shared tab lists the files this machine
// shares with their size, when they were added and until when they are
// shared; Stop sharing stops one at once; a finished download and the
// lend switch update the tab.
func TestSharedListsFiles(t *testing.T) {
	eng := newFakeEngine()
	eng.SetLending(true)
	h := newHarness(t, eng, Options{})
	h.u.m.now = func() time.Time { return sharedNow }
	s := openShared(h)
	if !s.empty.Visible() || s.list.Visible() {
		t.Fatal("no empty state with nothing shared")
	}
	if !strings.Contains(s.emptyText.Text, "shared with the room for 14 days") {
		t.Errorf("empty state says %q", s.emptyText.Text)
	}

	eng.share(index.Entry{Path: "/dl/old.iso", Name: "old.iso", Size: 2_000_000, Added: sharedAdded.Add(-24 * time.Hour)})
	eng.share(index.Entry{Path: "/dl/big.iso", Name: "big.iso", Size: 1_500_000, Added: sharedAdded, Shared: true})
	h.u.tabs.SelectIndex(0)
	s = openShared(h) // showing the tab reads the list again
	if s.empty.Visible() || !s.list.Visible() {
		t.Fatal("the empty state stays with two files shared")
	}
	h.waitFor("lending on", func() bool { return h.u.m.lending })
	if !strings.Contains(s.about.Text, "each for 14 days") || !strings.Contains(s.about.Text, "cannot be undone") {
		t.Errorf("the line above the files says %q", s.about.Text)
	}
	if mine := s.split.Trailing; mine.Position().Y != 0 || mine.Size().Height != s.split.Size().Height {
		t.Errorf("with no search results the shared files take %v at %v of %v", mine.Size(), mine.Position(), s.split.Size())
	}
	big, old := rowNamed(s.list, "big.iso"), rowNamed(s.list, "old.iso")
	if big == nil || old == nil {
		t.Fatal("the shared files are not listed")
	}
	if want := "1.50 MB · added 2025-06-10 14:05 · shared until 2025-06-24 14:05"; big.detail.Text != want {
		t.Errorf("big.iso: %q, want %q", big.detail.Text, want)
	}
	if !strings.HasSuffix(old.detail.Text, "· not shared") || old.button.Visible() {
		t.Errorf("a stopped file: %q, button shown %v", old.detail.Text, old.button.Visible())
	}
	if !big.button.Visible() || big.button.Text != "Stop sharing" {
		t.Fatalf("big.iso's button: %q shown %v", big.button.Text, big.button.Visible())
	}

	test.Tap(big.button)
	if _, stopped, _ := eng.shareCalls(); !slices.Equal(stopped, []string{"/dl/big.iso"}) {
		t.Fatalf("StopSharing calls %q, want big.iso's path", stopped)
	}
	if h.win.Canvas().Overlays().Top() != nil {
		t.Error("Stop sharing asked something")
	}
	if big = rowNamed(s.list, "big.iso"); big == nil || !strings.HasSuffix(big.detail.Text, "· not shared") || big.button.Visible() {
		t.Errorf("after Stop sharing the row is %+v", big)
	}

	// A download that finishes is shared: the tab lists it at once.
	eng.share(index.Entry{Path: "/dl/new.bin", Name: "new.bin", Size: 10, Added: sharedNow, Shared: true})
	eng.events <- core.DownloadStateChanged{ID: "n", State: core.StateDone, Path: "/dl/new.bin"}
	h.waitFor("the finished download in the Shared tab", func() bool { return rowNamed(s.list, "new.bin") != nil })

	eng.SetLending(false)
	h.waitFor("the lending switch in the Shared tab", func() bool { return strings.Contains(s.about.Text, "Lending is off") })
	if s.about.Importance != widget.WarningImportance {
		t.Error("lending off is not shown as a warning")
	}
}

// TestSearchShowsResults: Enter in the search field asks the room off the
// main goroutine and says so; the results show name, size, holders and
// the start of the SHA-256; Download fetches a result by its link and
// shows it in the Downloads list.
func TestSearchShowsResults(t *testing.T) {
	eng := newFakeEngine()
	ubuntu := core.SearchResult{
		Name: "ubuntu.iso", Size: 5_000_000_000, SHA256: strings.Repeat("0123456789abcdef", 4),
		Holders: []string{"attic", "den"},
		Link:    link.Link{Name: "ubuntu.iso", Size: 5_000_000_000, SHA256: strings.Repeat("0123456789abcdef", 4)},
	}
	notes := core.SearchResult{Name: "ubuntu-notes.txt", Size: 900, SHA256: strings.Repeat("f", 64), Holders: []string{"den"},
		Link: link.Link{Name: "ubuntu-notes.txt", Size: 900, SHA256: strings.Repeat("f", 64)}}
	hold := make(chan struct{})
	eng.mu.Lock()
	eng.shares().found = []core.SearchResult{ubuntu, notes}
	eng.shares().hold = hold
	eng.mu.Unlock()
	h := newHarness(t, eng, Options{})
	s := openShared(h)

	test.Type(s.query, "ubuntu")
	s.query.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	// The fake's Search has not answered: the window is not waiting for it.
	if !s.status.Visible() || s.status.Text != "Searching the room…" || s.resultsBox.Visible() {
		t.Fatalf("while searching: %q, results shown %v", s.status.Text, s.resultsBox.Visible())
	}
	close(hold)
	h.waitFor("the results", func() bool { return s.resultsBox.Visible() })
	if y := s.split.Trailing.Position().Y; y < s.split.Size().Height/4 {
		t.Errorf("the shared files start %v from the top, over the results", y)
	}
	if want := "2 files in the room match “ubuntu”."; s.status.Text != want {
		t.Errorf("status %q, want %q", s.status.Text, want)
	}
	if searched, _, _ := eng.shareCalls(); !slices.Equal(searched, []string{"ubuntu"}) {
		t.Errorf("Search calls %q", searched)
	}
	row := rowNamed(s.results, "ubuntu.iso")
	if row == nil || rowNamed(s.results, "ubuntu-notes.txt") == nil {
		t.Fatal("the results are not listed")
	}
	if want := "5.00 GB · held by attic, den · sha256 0123456789ab"; row.detail.Text != want {
		t.Errorf("result line %q, want %q", row.detail.Text, want)
	}

	test.Tap(row.button)
	if _, _, links := eng.shareCalls(); len(links) != 1 || links[0].SHA256 != ubuntu.Link.SHA256 || links[0].URL != "" {
		t.Fatalf("AddLink calls %+v, want the result's link", links)
	}
	if h.u.tabs.SelectedIndex() != 0 || h.u.list.selected != "d1" {
		t.Errorf("after Download: tab %d, selected %q; want the Downloads list with d1", h.u.tabs.SelectedIndex(), h.u.list.selected)
	}
	if d := h.u.m.downloads["d1"]; d == nil || d.Name != "ubuntu.iso" {
		t.Errorf("the new row is %+v, want ubuntu.iso", d)
	}
}

// TestSearchFindsNothing: an empty answer says nothing matches, and why
// when no machine of the room is connected; an empty field asks for
// words rather than searching; a refused download is reported.
func TestSearchFindsNothing(t *testing.T) {
	eng := newFakeEngine()
	h := newHarness(t, eng, Options{})
	s := openShared(h)
	s.query.SetText("  ")
	s.query.OnSubmitted(s.query.Text)
	if searched, _, _ := eng.shareCalls(); len(searched) != 0 || !strings.Contains(s.status.Text, "Type words") {
		t.Fatalf("an empty field searched %q; status %q", searched, s.status.Text)
	}

	s.query.SetText("zzz")
	test.Tap(findButton(t, s))
	want := "Nothing in the room matches “zzz”: no other machine of the room is connected."
	h.waitFor("the empty answer", func() bool { return s.status.Text == want })

	eng.events <- core.PeerReady{Peer: core.PeerInfo{ID: "ATTIC", Name: "attic", Addr: "10.0.0.2:4700", Ready: true}}
	h.waitFor("the peer", func() bool { return h.u.m.machines() == 1 })
	test.Tap(findButton(t, s))
	h.waitFor("the second answer", func() bool { return s.status.Text == "Nothing in the room matches “zzz”." })
	if s.resultsBox.Visible() {
		t.Error("an empty result list is shown")
	}

	// A download the engine refuses is reported, and the tab stays.
	bad := core.SearchResult{Name: "refuse.bin", Size: 1, SHA256: strings.Repeat("a", 64),
		Link: link.Link{Name: "refuse.bin", Size: 1, SHA256: strings.Repeat("a", 64)}}
	eng.mu.Lock()
	eng.shares().found = []core.SearchResult{bad}
	eng.mu.Unlock()
	test.Tap(findButton(t, s))
	h.waitFor("the result", func() bool { return rowNamed(s.results, "refuse.bin") != nil })
	test.Tap(rowNamed(s.results, "refuse.bin").button)
	top := h.win.Canvas().Overlays().Top()
	if top == nil || !strings.Contains(test.RenderObjectToMarkup(top), "no machine of the room holds that file") {
		t.Fatal("the refusal is not shown")
	}
	if h.u.tabs.Selected() != h.u.sharedTab {
		t.Error("a refused download left the Shared tab")
	}
}

// TestSearchReplaced: a second search replaces the first, whose answer
// is never shown.
func TestSearchReplaced(t *testing.T) {
	eng := newFakeEngine()
	hold := make(chan struct{})
	eng.mu.Lock()
	eng.shares().hold = hold
	eng.mu.Unlock()
	h := newHarness(t, eng, Options{})
	s := openShared(h)
	s.query.SetText("first")
	s.query.OnSubmitted(s.query.Text)
	s.query.SetText("second")
	s.query.OnSubmitted(s.query.Text)
	// The first search's context is canceled: the fake returns at once,
	// and its answer must be dropped.
	h.waitFor("both searches", func() bool { searched, _, _ := eng.shareCalls(); return len(searched) == 2 })
	for wait := time.After(200 * time.Millisecond); ; {
		select {
		case f := <-h.mainQ:
			f()
			continue
		case <-wait:
		}
		break
	}
	if s.status.Text != "Searching the room…" {
		t.Errorf("while the second search runs, the status says %q", s.status.Text)
	}
	close(hold)
	h.waitFor("the second answer", func() bool { return strings.Contains(s.status.Text, "“second”") })
}

// findButton is the Search button beside the search field.
func findButton(t *testing.T, s *sharedView) *widget.Button {
	t.Helper()
	var b *widget.Button
	walk(s.content, func(o fyne.CanvasObject) {
		if btn, ok := o.(*widget.Button); ok && btn.Text == "Search" {
			b = btn
		}
	})
	if b == nil {
		t.Fatal("no Search button")
	}
	return b
}
