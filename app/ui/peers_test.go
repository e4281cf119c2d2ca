package ui

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/dragonload/dragonload/core"
)

// Peers as the engine reports them: X and Y are machines, A, B, C the
// addresses they are dialed at.
var (
	dialA  = core.PeerInfo{Addr: "10.0.0.1:4700", Source: "manual"}
	dialB  = core.PeerInfo{Addr: "10.0.0.2:4700", Source: "mdns"}
	dialC  = core.PeerInfo{Addr: "10.0.0.3:4700", Source: "config"}
	readyX = core.PeerInfo{ID: "XXXXXXXXXXXX", Name: "vm-3fa2", Addr: dialA.Addr, Source: "manual", Ready: true}
	readyY = core.PeerInfo{ID: "YYYYYYYYYYYY", Name: "vm-81c0", Addr: dialB.Addr, Source: "mdns", Ready: true}
)

// TestNoGhostRows: every dial used to share one row keyed by its empty id,
// so a room of two machines read "Peers (3)" with a nameless "Connecting"
// row. A dial has a row of its own, keyed by address, that its machine's
// row replaces once ready and that goes when the dial is over; the tab
// counts machines.
func TestNoGhostRows(t *testing.T) {
	cases := []struct {
		name     string
		events   []core.Event
		want     []string // rows, in table order: name or "dial ADDR"
		machines int
	}{
		{"a dial", []core.Event{core.PeerSeen{Peer: dialA}}, []string{"dial 10.0.0.1:4700"}, 0},
		{"a dial that reached its machine",
			[]core.Event{core.PeerSeen{Peer: dialA}, core.PeerReady{Peer: readyX}},
			[]string{"vm-3fa2"}, 1},
		{"two machines",
			[]core.Event{core.PeerSeen{Peer: dialA}, core.PeerSeen{Peer: dialB}, core.PeerReady{Peer: readyX}, core.PeerReady{Peer: readyY}},
			[]string{"vm-3fa2", "vm-81c0"}, 2},
		{"two machines and a dial still failing",
			[]core.Event{core.PeerSeen{Peer: dialA}, core.PeerSeen{Peer: dialC}, core.PeerSeen{Peer: dialB}, core.PeerReady{Peer: readyX}, core.PeerReady{Peer: readyY}, core.PeerSeen{Peer: dialC}},
			[]string{"vm-3fa2", "vm-81c0", "dial 10.0.0.3:4700"}, 2},
		{"a dial given up",
			[]core.Event{core.PeerSeen{Peer: dialC}, core.PeerLost{Peer: dialC, Reason: "removed"}},
			nil, 0},
		{"a second address of a connected machine",
			[]core.Event{core.PeerSeen{Peer: dialA}, core.PeerSeen{Peer: dialC}, core.PeerReady{Peer: readyX},
				core.PeerLost{Peer: dialC, Reason: "same machine as 10.0.0.1:4700"}},
			[]string{"vm-3fa2"}, 1},
		{"a machine lost and dialed again",
			[]core.Event{core.PeerSeen{Peer: dialA}, core.PeerReady{Peer: readyX}, core.PeerLost{Peer: readyX, Reason: "connection closed"}, core.PeerSeen{Peer: dialA}},
			[]string{"dial 10.0.0.1:4700"}, 0},
		{"a machine removed",
			[]core.Event{core.PeerSeen{Peer: dialA}, core.PeerReady{Peer: readyX}, core.PeerLost{Peer: readyX, Reason: "removed"}},
			nil, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := newModel()
			for _, ev := range c.events {
				m.apply(ev)
			}
			if got := rowNames(m.sortedPeers()); !slices.Equal(got, c.want) {
				t.Errorf("rows %q, want %q", got, c.want)
			}
			if got := m.machines(); got != c.machines {
				t.Errorf("machines() = %d, want %d", got, c.machines)
			}
		})
	}
}

// TestNoGhostRowsFromSeed: the engine's list (Peers) gives dials in
// progress without an id too; a window opened late keeps them apart and
// replaces them as they reach their machines.
func TestNoGhostRowsFromSeed(t *testing.T) {
	m := newModel()
	m.seed(nil, []core.PeerInfo{dialA, dialB, dialC}, true)
	if got := rowNames(m.sortedPeers()); len(got) != 3 {
		t.Fatalf("rows after seed %q, want the three dials", got)
	}
	m.apply(core.PeerReady{Peer: readyX})
	m.apply(core.PeerLost{Peer: dialB, Reason: "expired"})
	if got, want := rowNames(m.sortedPeers()), []string{"vm-3fa2", "dial 10.0.0.3:4700"}; !slices.Equal(got, want) {
		t.Fatalf("rows %q, want %q", got, want)
	}
}

func TestPeersTabCountsMachines(t *testing.T) {
	eng := newFakeEngine()
	h := newHarness(t, eng, Options{})
	for _, ev := range []core.Event{core.PeerSeen{Peer: dialA}, core.PeerSeen{Peer: dialB}, core.PeerSeen{Peer: dialC},
		core.PeerReady{Peer: readyX}, core.PeerReady{Peer: readyY}} {
		eng.events <- ev
	}
	h.waitFor("both machines", func() bool { return h.u.m.machines() == 2 })
	h.waitFor("the redraw", func() bool { return h.u.peersTab.Text == "Peers (2)" })
	if got := rowNames(h.u.peers.rows); len(got) != 3 {
		t.Errorf("rows %q, want two machines and the dial still going", got)
	}
}

// TestPeersEmptyState: the empty Peers tab says how machines find each
// other: by themselves with mDNS, by address (this machine's given) with
// --no-mdns.
func TestPeersEmptyState(t *testing.T) {
	cases := []struct {
		discovering    bool
		want, wantNot  []string
		placeholderHas string
	}{
		{true, []string{"find each other by themselves"}, []string{"discovery is off"}, "mDNS cannot find"},
		{false, []string{"LAN discovery is off", "by its address", "127.0.0.1:4700"}, []string{"find each other by themselves"}, "discovery is off"},
	}
	for _, c := range cases {
		eng := newFakeEngine()
		eng.mu.Lock()
		eng.peerState().noMDNS = !c.discovering
		eng.mu.Unlock()
		h := newHarness(t, eng, Options{})
		p := h.u.peers
		if !p.empty.Visible() {
			t.Fatalf("discovering %v: no empty state without peers", c.discovering)
		}
		for _, w := range c.want {
			if !strings.Contains(p.how.Text, w) {
				t.Errorf("discovering %v: empty state %q lacks %q", c.discovering, p.how.Text, w)
			}
		}
		for _, w := range c.wantNot {
			if strings.Contains(p.how.Text, w) {
				t.Errorf("discovering %v: empty state %q says %q", c.discovering, p.how.Text, w)
			}
		}
		if !strings.Contains(p.addr.PlaceHolder, c.placeholderHas) {
			t.Errorf("discovering %v: address field says %q", c.discovering, p.addr.PlaceHolder)
		}
		if !strings.Contains(p.self.Text, "127.0.0.1:4700") {
			t.Errorf("discovering %v: this machine's line %q lacks its address", c.discovering, p.self.Text)
		}
	}
}

// TestPeerRowActions: a machine can be renamed, an address added by hand
// removed; a machine found on the LAN cannot be removed and a dial in
// progress has no id to rename.
func TestPeerRowActions(t *testing.T) {
	eng := newFakeEngine()
	h := newHarness(t, eng, Options{})
	for _, ev := range []core.Event{core.PeerSeen{Peer: dialC}, core.PeerReady{Peer: readyX}, core.PeerReady{Peer: readyY}} {
		eng.events <- ev
	}
	h.waitFor("three rows", func() bool { return len(h.u.peers.rows) == 3 })
	cases := []struct {
		row                string
		rename, removeable bool
	}{
		{"vm-3fa2", true, true},             // added by hand (--peer)
		{"vm-81c0", true, false},            // found on the LAN
		{"dial 10.0.0.3:4700", false, true}, // added in the app, not reached
	}
	for _, c := range cases {
		cell := actionCell(t, h, c.row)
		if cell.rename.Visible() != c.rename || cell.remove.Visible() != c.removeable {
			t.Errorf("%s: rename shown %v, remove shown %v; want %v, %v",
				c.row, cell.rename.Visible(), cell.remove.Visible(), c.rename, c.removeable)
		}
		if cell.label.Visible() {
			t.Errorf("%s: the actions cell shows a label", c.row)
		}
	}
	// Another column of the same kind of cell shows its text, no buttons.
	cell := h.u.peers.table.CreateCell().(*peerRowCell)
	h.u.peers.table.UpdateCell(widget.TableCellID{Row: 0, Col: 0}, cell)
	if !cell.label.Visible() || cell.actions.Visible() || cell.label.Text != "vm-3fa2" {
		t.Errorf("name cell: label %q shown %v, actions shown %v", cell.label.Text, cell.label.Visible(), cell.actions.Visible())
	}
}

// TestRenamePeerDialog: Rename asks for a name and hands it to the engine
// as typed (the engine trims and checks it); an empty one resets; a name
// the engine refuses is explained.
func TestRenamePeerDialog(t *testing.T) {
	eng := newFakeEngine()
	h := newHarness(t, eng, Options{})
	eng.events <- core.PeerReady{Peer: readyX}
	h.waitFor("the peer", func() bool { return len(h.u.peers.rows) == 1 })
	for _, c := range []struct {
		typed string
		enter bool // press Enter in the field rather than the button
	}{{" attic ", false}, {"", true}} {
		test.Tap(actionCell(t, h, "vm-3fa2").rename)
		dlg := h.win.Canvas().Overlays().Top()
		if dlg == nil || !strings.Contains(test.RenderObjectToMarkup(dlg), "Rename vm-3fa2") {
			t.Fatalf("no rename dialog")
		}
		field := find[*widget.Entry](dlg, func(*widget.Entry) bool { return true })
		field.SetText(c.typed)
		if c.enter {
			field.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
		} else {
			test.Tap(find[*widget.Button](dlg, func(b *widget.Button) bool { return b.Text == "Rename" }))
		}
		if h.win.Canvas().Overlays().Top() != nil {
			t.Fatalf("%q: the dialog stays open", c.typed)
		}
	}
	eng.mu.Lock()
	got := slices.Clone(eng.peerState().renamed)
	eng.peerState().refusals = map[string]error{"rename " + readyX.ID: errors.New("a name cannot contain control characters")}
	eng.mu.Unlock()
	if want := [][2]string{{readyX.ID, " attic "}, {readyX.ID, ""}}; !slices.Equal(got, want) {
		t.Fatalf("RenamePeer calls %q, want %q", got, want)
	}

	test.Tap(actionCell(t, h, "vm-3fa2").rename)
	dlg := h.win.Canvas().Overlays().Top()
	find[*widget.Entry](dlg, func(*widget.Entry) bool { return true }).SetText("tab\there")
	test.Tap(find[*widget.Button](dlg, func(b *widget.Button) bool { return b.Text == "Rename" }))
	if top := h.win.Canvas().Overlays().Top(); top == nil || !strings.Contains(test.RenderObjectToMarkup(top), "control characters") {
		t.Error("a refused name is not explained")
	}
}

// TestRemovePeerDialog: Remove asks first; No keeps the peer, Yes hands
// its address to the engine.
func TestRemovePeerDialog(t *testing.T) {
	eng := newFakeEngine()
	h := newHarness(t, eng, Options{})
	eng.events <- core.PeerReady{Peer: readyX}
	eng.events <- core.PeerSeen{Peer: dialC}
	h.waitFor("the rows", func() bool { return len(h.u.peers.rows) == 2 })
	for _, c := range []struct {
		row, answer string
		want        []string
	}{
		{"vm-3fa2", "No", nil},
		{"vm-3fa2", "Yes", []string{dialA.Addr}},
		{"dial 10.0.0.3:4700", "Yes", []string{dialA.Addr, dialC.Addr}},
	} {
		test.Tap(actionCell(t, h, c.row).remove)
		dlg := h.win.Canvas().Overlays().Top()
		if dlg == nil || !strings.Contains(test.RenderObjectToMarkup(dlg), "Remove peer?") {
			t.Fatalf("%s: no confirmation", c.row)
		}
		test.Tap(find[*widget.Button](dlg, func(b *widget.Button) bool { return b.Text == c.answer }))
		eng.mu.Lock()
		got := slices.Clone(eng.peerState().removed)
		eng.mu.Unlock()
		if !slices.Equal(got, c.want) {
			t.Errorf("%s, %s: RemovePeer calls %q, want %q", c.row, c.answer, got, c.want)
		}
	}
}

// rowNames names each row as the table shows it: a machine by its name, a
// dial by its address.
func rowNames(rows []core.PeerInfo) []string {
	var out []string
	for _, p := range rows {
		if p.ID == "" {
			out = append(out, "dial "+p.Addr)
		} else {
			out = append(out, p.Name)
		}
	}
	return out
}

// actionCell is the actions cell of the row named name, made and filled
// as the table makes and fills it.
func actionCell(t *testing.T, h *harness, name string) *peerRowCell {
	t.Helper()
	i := slices.Index(rowNames(h.u.peers.rows), name)
	if i < 0 {
		t.Fatalf("no row %q in %q", name, rowNames(h.u.peers.rows))
	}
	cell := h.u.peers.table.CreateCell().(*peerRowCell)
	h.u.peers.table.UpdateCell(widget.TableCellID{Row: i, Col: actionsCol}, cell)
	return cell
}

// find returns the first object of type T inside o for which match holds.
func find[T fyne.CanvasObject](o fyne.CanvasObject, match func(T) bool) T {
	var found T
	var ok bool
	walk(o, func(c fyne.CanvasObject) {
		if t, is := c.(T); is && !ok && match(t) {
			found, ok = t, true
		}
	})
	return found
}

// What vm-3fa2 (readyX) says it downloads: one file this machine lends
// to, one of unknown size.
var noteX = core.PeerNote{Peer: readyX.ID, Name: "vm-3fa2", Downloads: []core.PeerDownload{
	{File: "notes.txt", Done: 500},
	{File: "ubuntu.iso", Done: 43, Size: 100, Helping: true},
}}

// TestPeerNotes: a room member's notes put what it downloads under its
// row, this machine's help first, and whom this machine helps into the
// status bar's line; an empty note clears both, so do a note older than
// noteLife, the member leaving, and a Resync.
func TestPeerNotes(t *testing.T) {
	const line = "downloading ubuntu.iso 43 % with your help, notes.txt"
	const helping = "helping vm-3fa2: ubuntu.iso 43 %"
	eng := newFakeEngine()
	h := newHarness(t, eng, Options{})
	clock := time.Date(2025, 1, 1, 10, 0, 0, 0, time.UTC)
	h.u.m.now = func() time.Time { return clock }
	h.u.tabs.SelectIndex(1) // the table draws only the cells it shows
	p := h.u.peers
	eng.events <- core.PeerReady{Peer: readyX}
	eng.events <- core.PeerReady{Peer: readyY}
	h.waitFor("both rows", func() bool { return len(p.rows) == 2 })

	shows := func(what, want, wantHelping string) {
		t.Helper()
		h.waitFor(what, func() bool {
			return !h.u.m.peersDirty && len(p.rows) == 2 && downloadingText(h.u.m.downloadsOf(readyX.ID)) == want
		})
		if got, _ := noteLine(h, "vm-3fa2"); got != want {
			t.Errorf("%s: vm-3fa2 shows %q, want %q", what, got, want)
		}
		if got, _ := noteLine(h, "vm-81c0"); got != "" {
			t.Errorf("%s: vm-81c0, which sent nothing, shows %q", what, got)
		}
		if wantHelping != "" && !strings.Contains(h.u.status.Text, wantHelping) {
			t.Errorf("%s: status bar %q does not say %q", what, h.u.status.Text, wantHelping)
		}
		if wantHelping == "" && strings.Contains(h.u.status.Text, "helping") {
			t.Errorf("%s: status bar %q says it helps", what, h.u.status.Text)
		}
		if got := h.u.m.helpingLine(); got != wantHelping {
			t.Errorf("%s: helping line %q, want %q", what, got, wantHelping)
		}
		// The rows on screen: two lines high for a machine that
		// downloads, one for the others.
		var drawn []string
		walk(p.table, func(o fyne.CanvasObject) {
			if c, ok := o.(*peerRowCell); ok && c.note.Visible() {
				drawn = append(drawn, c.note.Text)
				if c.Size().Height < p.twoLines-0.5 {
					t.Errorf("%s: the row of %q is %v high, want %v", what, c.note.Text, c.Size().Height, p.twoLines)
				}
			}
		})
		if wantDrawn := []string{want}; want == "" && len(drawn) != 0 || want != "" && !slices.Equal(drawn, wantDrawn) {
			t.Errorf("%s: second lines drawn %q, want %q", what, drawn, want)
		}
	}

	eng.events <- noteX
	shows("the note", line, helping)
	eng.events <- core.PeerNote{Peer: readyX.ID, Name: "vm-3fa2"}
	shows("an empty note", "", "")

	// A member gone quiet: its note counts for noteLife, then goes.
	eng.events <- noteX
	shows("the note again", line, helping)
	if p.expiry == nil {
		t.Fatal("no timer forgets the note")
	}
	clock = clock.Add(4 * time.Second)
	p.expireNotes() // what the timer runs
	shows("a 4 s old note", line, helping)
	clock = clock.Add(2 * time.Second)
	p.expireNotes()
	shows("a 6 s old note", "", "")
	if p.expiry != nil {
		t.Error("a timer runs without notes")
	}

	eng.events <- noteX
	shows("a new note", line, helping)
	eng.mu.Lock()
	eng.peerState().peers = []core.PeerInfo{readyX, readyY}
	eng.mu.Unlock()
	eng.events <- core.Resync{From: 3, To: 9}
	shows("a Resync", "", "")

	eng.events <- noteX
	shows("the note after the Resync", line, helping)
	eng.events <- core.PeerLost{Peer: readyX, Reason: "connection closed"}
	eng.events <- core.PeerReady{Peer: readyX}
	shows("the member back", "", "")
}

// TestDownloadingText: the second line of a machine's row.
func TestDownloadingText(t *testing.T) {
	cases := []struct {
		ds   []core.PeerDownload
		want string
	}{
		{nil, ""},
		{[]core.PeerDownload{{File: "ubuntu.iso", Done: 43, Size: 100}}, "downloading ubuntu.iso 43 %"},
		{[]core.PeerDownload{{File: "a.bin", Done: 7}}, "downloading a.bin"},
		{[]core.PeerDownload{{File: "a.bin", Done: 1, Size: 4}, {File: "b.bin", Done: 0, Size: 9}, {File: "c.bin", Size: 2, Done: 2, Helping: true}},
			"downloading c.bin 100 % with your help, a.bin 25 %, b.bin 0 %"},
	}
	for _, c := range cases {
		if got := downloadingText(c.ds); got != c.want {
			t.Errorf("downloadingText(%v) = %q, want %q", c.ds, got, c.want)
		}
	}
}

// noteLine is the second line of the row named name, "" when it has none,
// from its first cell made and filled as the table makes and fills it;
// false when there is no such row.
func noteLine(h *harness, name string) (string, bool) {
	i := slices.Index(rowNames(h.u.peers.rows), name)
	if i < 0 {
		return "", false
	}
	cell := h.u.peers.table.CreateCell().(*peerRowCell)
	h.u.peers.table.UpdateCell(widget.TableCellID{Row: i, Col: 0}, cell)
	if !cell.note.Visible() {
		return "", true
	}
	return cell.note.Text, true
}
