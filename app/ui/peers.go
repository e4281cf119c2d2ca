package ui

import (
	"fmt"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/dragonload/dragonload/app/units"
	"github.com/dragonload/dragonload/core"
)

// peerTable is the Peers tab: who is in the room, how they are reached and
// what flows each way.
type peerTable struct {
	u       *UI
	content fyne.CanvasObject
	table   *widget.Table
	rows    []core.PeerInfo
	self    *widget.Label
	empty   *fyne.Container
	hint    *widget.Label
	addr    *entry
}

var peerColumns = []struct {
	title string
	width float32
}{
	{"Name", 140},
	{"Address", 150},
	{"Status", 90},
	{"Lending", 76},
	{"RTT", 64},
	{"Rate", 92},
	{"Received", 90},
	{"Lent", 84},
	{"Found by", 84},
}

func newPeerTable(u *UI) *peerTable {
	p := &peerTable{u: u}
	p.table = widget.NewTableWithHeaders(
		func() (int, int) { return len(p.rows), len(peerColumns) },
		func() fyne.CanvasObject {
			l := widget.NewLabel("")
			l.Truncation = fyne.TextTruncateEllipsis
			return l
		},
		func(id widget.TableCellID, o fyne.CanvasObject) {
			if id.Row < len(p.rows) {
				o.(*widget.Label).SetText(peerCell(p.rows[id.Row], id.Col))
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

	p.self = widget.NewLabel("")
	p.self.SizeName = theme.SizeNameCaptionText
	p.self.Truncation = fyne.TextTruncateEllipsis

	p.addr = u.newEntry()
	p.addr.SetPlaceHolder("host:port of a peer that mDNS cannot find (another subnet, a VPN)")
	p.addr.OnSubmitted = func(string) { p.addPeer() }
	addBtn := widget.NewButtonWithIcon("Add peer", theme.ContentAddIcon(), p.addPeer)
	addRow := container.NewBorder(nil, nil, nil, addBtn, p.addr)

	heading := widget.NewLabelWithStyle("No peers in this room yet", fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
	heading.SizeName = theme.SizeNameSubHeadingText
	p.hint = widget.NewLabelWithStyle("", fyne.TextAlignCenter, fyne.TextStyle{Monospace: true})
	p.empty = container.NewCenter(container.NewVBox(
		heading,
		widget.NewLabelWithStyle("On each machine that should lend its internet link, run", fyne.TextAlignCenter, fyne.TextStyle{}),
		p.hint,
		widget.NewLabelWithStyle("Machines on this LAN find each other by themselves.", fyne.TextAlignCenter, fyne.TextStyle{}),
	))

	p.content = container.NewPadded(container.NewBorder(
		p.self, addRow, nil, nil,
		container.NewStack(p.table, p.empty),
	))
	p.refresh()
	return p
}

func (p *peerTable) refresh() {
	p.rows = p.u.m.sortedPeers()
	eng := p.u.eng
	p.self.SetText(fmt.Sprintf("This machine: node %s · listening on %s · room %s",
		shortID(eng.NodeID()), eng.Addr(), eng.RoomCode()))
	if len(p.rows) == 0 {
		p.table.Hide()
		p.hint.SetText(joinCommand(eng.RoomCode()))
		p.empty.Show()
		return
	}
	p.empty.Hide()
	p.table.Show()
	p.table.Refresh()
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

// peerCell is the text of one cell of the peers table.
func peerCell(pi core.PeerInfo, col int) string {
	switch col {
	case 0:
		return peerLabel(pi.ID, pi.Name)
	case 1:
		return pi.Addr
	case 2:
		if pi.Ready {
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
		return pi.Source
	}
	return ""
}
