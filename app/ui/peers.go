package ui

import (
	"fmt"
	"image/color"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/dragonload/dragonload/app/units"
	"github.com/dragonload/dragonload/core"
)

// peerTable is the Peers tab: who is in the room, how they are reached and
// what flows each way. Each row is one machine, or one address still being
// dialed; its last column holds Rename (for a machine) and Remove (for an
// address added by hand). A machine that is downloading has a second line,
// what it downloads (from its notes: model.notes), under its columns.
type peerTable struct {
	u       *UI
	content fyne.CanvasObject
	table   *widget.Table
	rows    []core.PeerInfo
	self    *widget.Label
	empty   *fyne.Container
	hint    *widget.Label // the command that adds another machine
	how     *widget.Label // how machines find each other
	addr    *entry

	// line and twoLines are the heights of a row without and with what
	// its machine downloads.
	line, twoLines float32
	// expiry forgets the notes of members gone quiet (noteLife); set
	// while there are notes. Main goroutine only.
	expiry *time.Timer
}

var peerColumns = []struct {
	title string
	width float32
}{
	{"Name", 136},
	{"Address", 136},
	{"Status", 100},
	{"Lending", 70},
	{"RTT", 60},
	{"Rate", 84},
	{"Received", 84},
	{"Lent", 76},
	{"Found by", 76},
	{"", 84}, // actions
}

// actionsCol is the column of Rename and Remove.
var actionsCol = len(peerColumns) - 1

func newPeerTable(u *UI) *peerTable {
	p := &peerTable{u: u}
	p.table = widget.NewTableWithHeaders(
		func() (int, int) { return len(p.rows), len(peerColumns) },
		newPeerRowCell,
		func(id widget.TableCellID, o fyne.CanvasObject) {
			if id.Row < len(p.rows) {
				p.updateCell(o.(*peerRowCell), p.rows[id.Row], id.Col)
			}
		},
	)
	p.table.ShowHeaderColumn = false
	p.table.CreateHeader = func() fyne.CanvasObject {
		return widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	}
	p.table.UpdateHeader = func(id widget.TableCellID, o fyne.CanvasObject) {
		if id.Col >= 0 && id.Col < len(peerColumns) {
			o.(*widget.Label).SetText(peerColumns[id.Col].title)
		}
	}
	for i, c := range peerColumns {
		p.table.SetColumnWidth(i, c.width)
	}
	tmpl := newPeerRowCell().(*peerRowCell)
	p.line = tmpl.MinSize().Height
	p.twoLines = p.line + tmpl.noteHeight()

	p.self = widget.NewLabel("")
	p.self.SizeName = theme.SizeNameCaptionText
	p.self.Truncation = fyne.TextTruncateEllipsis

	p.addr = u.newEntry()
	p.addr.OnSubmitted = func(string) { p.addPeer() }
	addBtn := widget.NewButtonWithIcon("Add peer", theme.ContentAddIcon(), p.addPeer)
	addRow := container.NewBorder(nil, nil, nil, addBtn, p.addr)

	heading := widget.NewLabelWithStyle("No peers in this room yet", fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
	heading.SizeName = theme.SizeNameSubHeadingText
	p.hint = widget.NewLabelWithStyle("", fyne.TextAlignCenter, fyne.TextStyle{Monospace: true})
	p.how = widget.NewLabelWithStyle("", fyne.TextAlignCenter, fyne.TextStyle{})
	p.empty = container.NewCenter(container.NewVBox(
		heading,
		widget.NewLabelWithStyle("On each machine that should lend its internet link, run", fyne.TextAlignCenter, fyne.TextStyle{}),
		p.hint,
		p.how,
	))

	p.content = container.NewPadded(container.NewBorder(
		p.self, addRow, nil, nil,
		container.NewStack(p.table, p.empty),
	))
	p.refresh()
	return p
}

func (p *peerTable) refresh() {
	defer p.expireLater()
	p.rows = p.u.m.sortedPeers()
	eng := p.u.eng
	give := shareAddrs(eng.Addr())
	p.self.SetText(fmt.Sprintf("This machine: %s · node %s · room %s",
		strings.Join(give, " or "), shortID(eng.NodeID()), eng.RoomCode()))
	if eng.Discovering() {
		p.addr.SetPlaceHolder("host:port of a peer that mDNS cannot find (another subnet, a VPN)")
	} else {
		p.addr.SetPlaceHolder("host:port of a peer, for example 192.168.1.20:4700 (LAN discovery is off)")
	}
	if len(p.rows) == 0 {
		p.table.Hide()
		p.hint.SetText(joinCommand + "   (room code " + eng.RoomCode() + ")")
		p.how.SetText(findText(eng.Discovering(), give))
		p.empty.Show()
		return
	}
	p.empty.Hide()
	for i, pi := range p.rows {
		h := p.line
		if downloadingText(p.u.m.downloadsOf(pi.ID)) != "" {
			h = p.twoLines
		}
		p.table.SetRowHeight(i, h)
	}
	p.table.Show()
	p.table.Refresh()
}

// expireLater arranges for the notes to be forgotten once they are older
// than noteLife, should the members go quiet: no event comes then.
func (p *peerTable) expireLater() {
	if p.expiry != nil {
		return
	}
	at, ok := p.u.m.nextExpiry()
	if !ok {
		return
	}
	u := p.u
	p.expiry = time.AfterFunc(max(at.Sub(u.m.now()), 0)+100*time.Millisecond, func() {
		if u.stopped.Load() {
			return
		}
		u.do(func() {
			if !u.stopped.Load() {
				p.expireNotes()
			}
		})
	})
}

// expireNotes forgets the notes of members gone quiet and redraws; main
// goroutine only.
func (p *peerTable) expireNotes() {
	p.expiry = nil
	if p.u.m.expireNotes() {
		p.u.redraw()
	}
	p.expireLater()
}

func (p *peerTable) addPeer() {
	addr := strings.TrimSpace(p.addr.Text)
	if addr == "" {
		return
	}
	if err := p.u.eng.AddPeer(addr); err != nil {
		p.u.showError("Cannot add peer "+addr, err)
		return
	}
	p.addr.SetText("")
}

// rename asks for a nickname for the machine of row pi; an empty one goes
// back to the name the machine gives itself.
func (p *peerTable) rename(pi core.PeerInfo) {
	name := widget.NewEntry()
	name.SetText(pi.Nickname)
	if pi.Nickname == "" {
		name.SetPlaceHolder(pi.Name) // what it calls itself
	} else {
		name.SetPlaceHolder("the name it gives itself")
	}
	item := widget.NewFormItem("Name", name)
	item.HintText = "Only this machine sees it. Leave it empty for the name the peer gives itself."
	id, label := pi.ID, peerLabel(pi.ID, pi.Name)
	d := dialog.NewForm("Rename "+label, "Rename", "Cancel", []*widget.FormItem{item}, func(ok bool) {
		if !ok {
			return
		}
		if err := p.u.eng.RenamePeer(id, name.Text); err != nil {
			p.u.showError("Cannot rename "+label, err)
		}
	}, p.u.win)
	name.OnSubmitted = func(string) { d.Submit() } // Enter renames
	d.Resize(fyne.NewSize(460, 0))
	d.Show()
	p.u.win.Canvas().Focus(name)
}

// remove asks before forgetting an address added by hand.
func (p *peerTable) remove(pi core.PeerInfo) {
	addr, what := pi.Addr, pi.Addr
	if pi.ID != "" {
		what = peerLabel(pi.ID, pi.Name) + " (" + pi.Addr + ")"
	}
	dialog.ShowConfirm("Remove peer?",
		fmt.Sprintf("Stop using %s and forget its address? Add it again to use it again.", what),
		func(ok bool) {
			if !ok {
				return
			}
			if err := p.u.eng.RemovePeer(addr); err != nil {
				p.u.showError("Cannot remove "+what, err)
			}
		}, p.u.win)
}

// peerRowCell is one cell of the table: a label, or in the actions column
// the Rename and Remove buttons (Fyne tables make every cell from one
// template). The first cell of a machine that is downloading also draws
// the row's second line, what it downloads, across the columns up to the
// actions: a Fyne table has no cell that spans columns, and it does not
// clip its cells, so the line is the first cell's, wider than the cell,
// on a strip of the background that hides the column dividers.
type peerRowCell struct {
	widget.BaseWidget
	label                 *widget.Label
	actions               *fyne.Container
	rename, remove, unban *widget.Button
	note                  *widget.Label // the second line; hidden on a one-line row
	noteBack              *canvas.Rectangle
}

func newPeerRowCell() fyne.CanvasObject {
	c := &peerRowCell{label: widget.NewLabel(""), note: widget.NewLabel("")}
	c.label.Truncation = fyne.TextTruncateEllipsis
	c.note.SizeName = theme.SizeNameCaptionText
	c.note.Truncation = fyne.TextTruncateEllipsis
	c.note.Hide()
	c.noteBack = canvas.NewRectangle(color.Transparent)
	c.noteBack.Hide()
	c.rename = widget.NewButtonWithIcon("", theme.DocumentCreateIcon(), nil)
	c.remove = widget.NewButtonWithIcon("", theme.DeleteIcon(), nil)
	c.unban = widget.NewButtonWithIcon("", theme.ContentUndoIcon(), nil)
	c.rename.Importance, c.remove.Importance = widget.LowImportance, widget.LowImportance
	c.unban.Importance = widget.LowImportance
	c.actions = container.NewHBox(c.rename, c.remove, c.unban)
	c.ExtendBaseWidget(c)
	return c
}

// CreateRenderer implements fyne.Widget.
func (c *peerRowCell) CreateRenderer() fyne.WidgetRenderer {
	return &peerRowRenderer{c: c, objects: []fyne.CanvasObject{c.noteBack, c.note, c.label, c.actions}}
}

// setNote shows text as the row's second line; "" hides it.
func (c *peerRowCell) setNote(text string) {
	c.note.SetText(text)
	if (text != "") == c.note.Visible() {
		return
	}
	if text == "" {
		c.note.Hide()
		c.noteBack.Hide()
	} else {
		c.note.Show()
		c.noteBack.Show()
	}
	c.Refresh()
}

// noteHeight is what the second line adds to a row: a caption, its top
// padding tucked under the first line's bottom padding.
func (c *peerRowCell) noteHeight() float32 {
	return c.note.MinSize().Height - c.tuck()
}

// tuck is how far the second line's label rises into the first line.
func (c *peerRowCell) tuck() float32 { return c.Theme().Size(theme.SizeNameInnerPadding) }

// noteWidth is the width of the second line: the columns before the
// actions and the dividers between them.
func noteWidth(th fyne.Theme) float32 {
	var w float32
	for _, col := range peerColumns[:actionsCol] {
		w += col.width
	}
	return w + float32(actionsCol-1)*th.Size(theme.SizeNameSeparatorThickness)
}

// peerRowRenderer lays a cell out: the label or the actions on the row's
// first line, and the row's second line under it when it is shown.
type peerRowRenderer struct {
	c       *peerRowCell
	objects []fyne.CanvasObject
}

func (r *peerRowRenderer) firstLine() fyne.Size {
	return r.c.label.MinSize().Max(r.c.actions.MinSize())
}

func (r *peerRowRenderer) Layout(size fyne.Size) {
	line := min(size.Height, r.firstLine().Height)
	r.c.label.Resize(fyne.NewSize(size.Width, line))
	r.c.label.Move(fyne.Position{})
	r.c.actions.Resize(fyne.NewSize(size.Width, line))
	r.c.actions.Move(fyne.Position{})
	if !r.c.note.Visible() {
		return
	}
	th := r.c.Theme()
	top := line - r.c.tuck()
	w := noteWidth(th)
	r.c.note.Move(fyne.NewPos(0, top))
	r.c.note.Resize(fyne.NewSize(w, max(0, size.Height-top)))
	// The strip covers the dividers from just under the first line's
	// text down to the row's divider.
	gap := th.Size(theme.SizeNameInnerPadding) / 2
	r.c.noteBack.Move(fyne.NewPos(0, line-gap))
	r.c.noteBack.Resize(fyne.NewSize(w, max(0, size.Height-line+gap)))
}

func (r *peerRowRenderer) MinSize() fyne.Size { return r.firstLine() }

func (r *peerRowRenderer) Refresh() {
	r.c.noteBack.FillColor = r.c.Theme().Color(theme.ColorNameBackground, fyne.CurrentApp().Settings().ThemeVariant())
	r.c.noteBack.Refresh()
	r.Layout(r.c.Size())
}

func (r *peerRowRenderer) Objects() []fyne.CanvasObject { return r.objects }
func (r *peerRowRenderer) Destroy()                     {}

func (p *peerTable) updateCell(c *peerRowCell, pi core.PeerInfo, col int) {
	if col == 0 {
		c.setNote(downloadingText(p.u.m.downloadsOf(pi.ID)))
	} else {
		c.setNote("")
	}
	if col != actionsCol {
		c.actions.Hide()
		c.label.SetText(peerCell(pi, col))
		c.label.Show()
		return
	}
	c.label.Hide()
	// Only a machine has an id to give a nickname to; only an address
	// added by hand can be removed (mDNS finds the others again).
	c.rename.OnTapped = func() { p.rename(pi) }
	c.remove.OnTapped = func() { p.remove(pi) }
	c.unban.OnTapped = func() { p.unban(pi) }
	show(c.rename, pi.ID != "")
	show(c.remove, byHand(pi))
	show(c.unban, pi.Banned != "")
	c.actions.Show()
}

// unban asks before letting a banned machine lend again.
func (p *peerTable) unban(pi core.PeerInfo) {
	label := peerLabel(pi.ID, pi.Name)
	dialog.ShowConfirm("Let "+label+" lend again?",
		"This machine stopped using it as a lender: "+pi.Banned+". Forgive it only if you know why that happened.",
		func(ok bool) {
			if !ok {
				return
			}
			if err := p.u.eng.Unban(pi.ID); err != nil {
				p.u.showError("Cannot forgive "+label, err)
			}
		}, p.u.win)
}

// peerCell is the text of one cell of the peers table.
func peerCell(pi core.PeerInfo, col int) string {
	if pi.ID == "" && col != 1 && col != 2 && col != 8 {
		return "–" // not reached yet: nothing known but how to reach it
	}
	switch col {
	case 0:
		return peerLabel(pi.ID, pi.Name)
	case 1:
		return pi.Addr
	case 2:
		switch {
		case pi.Banned != "":
			return "Banned"
		case pi.Ready:
			return "Ready"
		}
		return "Connecting"
	case 3:
		if pi.Lending {
			return "Yes"
		}
		return "No"
	case 4:
		if pi.RTT <= 0 {
			return "–"
		}
		return pi.RTT.Round(100 * time.Microsecond).String()
	case 5:
		return units.Rate(pi.Rate)
	case 6:
		return units.Bytes(pi.Received)
	case 7:
		return units.Bytes(pi.Lent)
	case 8:
		switch {
		case pi.Source == "mdns" || pi.Source == "recent":
			// Found on the LAN now, or dialed at start because it was
			// found there before (core's warm start).
			return "LAN"
		case byHand(pi):
			return "by hand"
		}
		return pi.Source
	}
	return ""
}

// downloadingText is a machine's second line, what it downloads now:
// "downloading ubuntu.iso 43 % with your help, notes.txt"; "" for
// nothing. The downloads this machine lends to come first, so that a line
// cut short still says it helps.
func downloadingText(ds []core.PeerDownload) string {
	if len(ds) == 0 {
		return ""
	}
	ds = slices.Clone(ds)
	slices.SortStableFunc(ds, func(a, b core.PeerDownload) int {
		switch {
		case a.Helping && !b.Helping:
			return -1
		case b.Helping && !a.Helping:
			return 1
		}
		return 0
	})
	parts := make([]string, 0, len(ds))
	for _, d := range ds {
		s := d.File
		if pc := d.Percent(); pc >= 0 {
			s += fmt.Sprintf(" %d %%", pc)
		}
		if d.Helping {
			s += " with your help"
		}
		parts = append(parts, s)
	}
	return "downloading " + strings.Join(parts, ", ")
}

// byHand reports whether the peer's address was added by hand (--peer,
// the settings file, the Add peer field), so it may be removed.
func byHand(pi core.PeerInfo) bool { return pi.Source == "manual" || pi.Source == "config" }

// findText says how machines of the room find each other: by themselves
// with LAN discovery, else by the addresses added below. Two short lines:
// a wrapped label would collapse in the centred empty state.
func findText(discovering bool, give []string) string {
	if discovering {
		return "Machines on this LAN find each other by themselves.\n" +
			"Where they cannot (another subnet, blocked multicast), add one below by its address."
	}
	return "LAN discovery is off (--no-mdns): add each machine below by its address (HOST:4700).\n" +
		"Give the others this machine's address: " + strings.Join(give, " or ")
}

// shareAddrs is what to give others so that they can add this machine:
// the address the engine listens on, or, when it listens on every
// interface, this machine's LAN addresses with that port (IPv4 first, at
// most two).
func shareAddrs(bound string) []string {
	host, port, err := net.SplitHostPort(bound)
	if err != nil {
		return []string{bound}
	}
	if ip, err := netip.ParseAddr(host); err != nil || !ip.IsUnspecified() {
		return []string{bound}
	}
	ifAddrs, err := net.InterfaceAddrs()
	if err != nil {
		return []string{bound}
	}
	var ips []netip.Addr
	for _, a := range ifAddrs {
		pfx, err := netip.ParsePrefix(a.String())
		if err != nil {
			continue
		}
		ip := pfx.Addr().Unmap()
		if ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsMulticast() {
			continue
		}
		ips = append(ips, ip)
	}
	if len(ips) == 0 {
		return []string{"port " + port}
	}
	slices.SortStableFunc(ips, func(a, b netip.Addr) int {
		switch {
		case a.Is4() && !b.Is4():
			return -1
		case b.Is4() && !a.Is4():
			return 1
		}
		return 0
	})
	var out []string
	for _, ip := range ips[:min(2, len(ips))] {
		out = append(out, net.JoinHostPort(ip.String(), port))
	}
	return out
}
