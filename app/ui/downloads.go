package ui

import (
	"errors"
	"fmt"
	"image/color"
	"net/url"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/dragonload/dragonload/core"
)

// downloadList is the Downloads tab: the list on top, the selected
// download's chunk map and actions below, or an empty state that says what
// to do when there is nothing to list.
type downloadList struct {
	u       *UI
	content *fyne.Container

	empty     *fyne.Container
	emptyRoom *widget.Label
	split     *container.Split
	list      *widget.List
	selected  core.DownloadID
	selIdx    int

	details     *fyne.Container
	noSelection *fyne.Container
	title       *widget.Label
	sub         *widget.Label
	pauseBtn    *widget.Button
	resumeBtn   *widget.Button
	cancelBtn   *widget.Button
	openBtn     *widget.Button
	linkBtn     *widget.Button
	errBtn      *widget.Button
	chunks      *ChunkMap
	legend      *fyne.Container
}

func newDownloadList(u *UI) *downloadList {
	l := &downloadList{u: u, selIdx: -1}
	l.list = widget.NewList(
		func() int { return len(u.m.order) },
		func() fyne.CanvasObject { return newDownloadRow() },
		func(i widget.ListItemID, o fyne.CanvasObject) {
			if d := u.m.at(i); d != nil {
				o.(*downloadRow).update(d)
			}
		},
	)
	l.list.OnSelected = func(i widget.ListItemID) {
		if d := u.m.at(i); d != nil {
			l.selected, l.selIdx = d.ID, i
			l.refreshDetails()
		}
	}
	l.list.OnUnselected = func(i widget.ListItemID) {
		if i == l.selIdx {
			l.selected, l.selIdx = "", -1
			l.refreshDetails()
		}
	}

	l.buildDetails()
	l.split = container.NewVSplit(l.list, l.details)
	l.split.Offset = 0.38
	l.buildEmpty()
	l.content = container.NewStack(l.empty, l.split)
	l.refresh()
	return l
}

func (l *downloadList) buildEmpty() {
	art := canvas.NewImageFromResource(theme.DownloadIcon())
	if l.u.opts.Icon != nil {
		art = canvas.NewImageFromResource(l.u.opts.Icon)
	}
	art.FillMode = canvas.ImageFillContain
	art.SetMinSize(fyne.NewSize(96, 96))
	heading := widget.NewLabelWithStyle("No downloads yet", fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
	heading.SizeName = theme.SizeNameSubHeadingText
	line1 := widget.NewLabelWithStyle("Paste a link above and press Enter,", fyne.TextAlignCenter, fyne.TextStyle{})
	line2 := widget.NewLabelWithStyle("or drop a link, a .dragon file or a list of links onto this window.", fyne.TextAlignCenter, fyne.TextStyle{})
	l.emptyRoom = widget.NewLabelWithStyle("", fyne.TextAlignCenter, fyne.TextStyle{})
	l.emptyRoom.SizeName = theme.SizeNameCaptionText
	l.empty = container.NewCenter(container.NewVBox(
		container.NewCenter(art), heading, tight(line1, line2), layoutSpacer(8), l.emptyRoom,
	))
}

func (l *downloadList) buildDetails() {
	u := l.u
	l.title = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	l.title.Truncation = fyne.TextTruncateEllipsis
	l.sub = widget.NewLabel("")
	l.sub.SizeName = theme.SizeNameCaptionText
	l.sub.Truncation = fyne.TextTruncateEllipsis

	l.pauseBtn = widget.NewButtonWithIcon("Pause", theme.MediaPauseIcon(), func() { l.act(u.eng.Pause) })
	l.resumeBtn = widget.NewButtonWithIcon("Resume", theme.MediaPlayIcon(), func() { l.act(u.eng.Resume) })
	l.cancelBtn = widget.NewButtonWithIcon("Cancel", theme.CancelIcon(), l.confirmCancel)
	l.openBtn = widget.NewButtonWithIcon("Open folder", theme.FolderOpenIcon(), l.openFolder)
	l.linkBtn = widget.NewButtonWithIcon("Copy link", theme.ContentCopyIcon(), l.copyLink)
	l.errBtn = widget.NewButtonWithIcon("Show error", theme.ErrorIcon(), l.showErr)
	actions := container.NewHBox(l.pauseBtn, l.resumeBtn, l.cancelBtn, widget.NewSeparator(), l.openBtn, l.linkBtn, l.errBtn)

	l.chunks = newChunkMap()
	l.legend = container.NewGridWithColumns(2)
	mapLabel := widget.NewLabelWithStyle("Who fetched which part of the file", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	mapLabel.SizeName = theme.SizeNameCaptionText

	top := container.NewVBox(tight(l.title, l.sub), actions, mapLabel)
	l.details = container.NewPadded(container.NewBorder(top, l.legend, nil, nil, l.chunks))

	hint := widget.NewLabelWithStyle("Select a download to see which machine fetched which part of it.", fyne.TextAlignCenter, fyne.TextStyle{})
	hint.Importance = widget.LowImportance
	l.noSelection = container.NewCenter(hint)
	l.details.Add(l.noSelection)
}

// refresh redraws the list and the selected download.
func (l *downloadList) refresh() {
	m := l.u.m
	if len(m.order) == 0 {
		l.split.Hide()
		l.empty.Show()
		code := l.u.eng.RoomCode()
		l.emptyRoom.SetText("Other machines lend their internet link after running:  dragonload agent --room " + code)
		return
	}
	l.empty.Hide()
	l.split.Show()
	if l.selected != "" {
		if i := m.index(l.selected); i != l.selIdx && i >= 0 {
			l.selIdx = i
			l.list.Select(i)
		}
	}
	l.list.Refresh()
	l.refreshDetails()
}

// selectID selects a download in the list.
func (l *downloadList) selectID(id core.DownloadID) {
	if i := l.u.m.index(id); i >= 0 {
		l.list.Select(i)
		l.list.ScrollTo(i)
	}
}

func (l *downloadList) current() *download {
	if l.selected == "" {
		return nil
	}
	return l.u.m.downloads[l.selected]
}

// refreshDetails shows the selected download's chunk map, legend and the
// actions that apply to its state.
func (l *downloadList) refreshDetails() {
	d := l.current()
	box := l.details.Objects[0].(*fyne.Container)
	if d == nil {
		box.Hide()
		l.noSelection.Show()
		return
	}
	l.noSelection.Hide()
	box.Show()
	l.title.SetText(d.Name)
	sub := d.Source
	if d.Path != "" {
		sub = d.Path
	}
	l.sub.SetText(sub)

	running := d.State == core.StateQueued || d.State == core.StateProbing || d.State == core.StateDownloading
	setEnabled(l.pauseBtn, running)
	if d.State == core.StatePaused {
		l.pauseBtn.Hide()
		l.resumeBtn.Show()
	} else {
		l.resumeBtn.Hide()
		l.pauseBtn.Show()
	}
	setEnabled(l.cancelBtn, !d.State.Final())
	setEnabled(l.openBtn, d.folder() != "")
	setEnabled(l.linkBtn, d.State != core.StateCanceled)
	setEnabled(l.errBtn, d.Err != nil)

	l.chunks.set(d.Size, d.spans)
	l.refreshLegend(d)
}

// refreshLegend lists each peer of the download with its colour and share.
func (l *downloadList) refreshLegend(d *download) {
	var total int64
	for _, p := range d.Peers {
		total += p.Bytes
	}
	shares := append([]core.PeerShare(nil), d.Peers...)
	seen := make(map[string]bool, len(shares))
	for _, p := range shares {
		seen[p.Peer] = true
	}
	// Peers that landed chunks but are missing from the last progress
	// report (it may be coalesced away) still get their colour explained.
	for _, peer := range d.colors.peers() {
		if !seen[peer] {
			seen[peer] = true
			shares = append(shares, core.PeerShare{Peer: peer})
		}
	}
	for len(l.legend.Objects) < len(shares) {
		l.legend.Add(newLegendItem())
	}
	for i, o := range l.legend.Objects {
		item := o.(*legendItem)
		if i >= len(shares) {
			item.Hide()
			continue
		}
		p := shares[i]
		text := d.peerName(p.Peer)
		if p.Name != "" && p.Peer != core.SelfPeer {
			text = p.Name
		}
		if total > 0 {
			text += fmt.Sprintf("  ·  %d%%  ·  %s", percent(p.Bytes, total), sizeText(p.Bytes))
		}
		if p.Rate >= 1 {
			text += "  ·  " + rateText(p.Rate)
		}
		item.set(colorFor(d.colors.of(p.Peer)), text)
		item.Show()
	}
	l.legend.Refresh()
}

func (l *downloadList) act(cmd func(core.DownloadID) error) {
	d := l.current()
	if d == nil {
		l.u.showError("Cannot do that", errNoSelection)
		return
	}
	if err := cmd(d.ID); err != nil {
		l.u.showError("Cannot change "+d.Name, err)
	}
}

func (l *downloadList) confirmCancel() {
	d := l.current()
	if d == nil {
		return
	}
	dialog.ShowConfirm("Cancel download?",
		fmt.Sprintf("Stop downloading %s? What has been fetched so far is discarded.", d.Name),
		func(ok bool) {
			if ok {
				l.act(l.u.eng.Cancel)
			}
		}, l.u.win)
}

func (l *downloadList) openFolder() {
	d := l.current()
	if d == nil || d.folder() == "" {
		return
	}
	if err := l.u.app.OpenURL(&url.URL{Scheme: "file", Path: d.folder()}); err != nil {
		l.u.showError("Cannot open the folder", err)
	}
}

func (l *downloadList) copyLink() {
	d := l.current()
	if d == nil {
		return
	}
	link, err := l.u.eng.ShareLink(d.ID)
	if err != nil {
		l.u.showError("Cannot make a link for "+d.Name, err)
		return
	}
	l.u.app.Clipboard().SetContent(link)
	l.u.notice.Importance = widget.LowImportance
	l.u.notice.SetText("Copied a dragon:// link for " + d.Name + ": anyone in the room can paste it.")
}

func (l *downloadList) showErr() {
	d := l.current()
	if d == nil || d.Err == nil {
		return
	}
	showErrorDialog(l.u.win, d.Name+" failed", d.Err)
}

// downloadRow is one line of the list: name and state, a progress bar,
// then bytes, rate and time left beside who contributed.
type downloadRow struct {
	widget.BaseWidget
	name, state, detail, share *widget.Label
	bar                        *thinBar
	content                    fyne.CanvasObject
}

func newDownloadRow() *downloadRow {
	r := &downloadRow{
		name:   widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		state:  widget.NewLabelWithStyle("", fyne.TextAlignTrailing, fyne.TextStyle{}),
		detail: widget.NewLabel(""),
		share:  widget.NewLabelWithStyle("", fyne.TextAlignTrailing, fyne.TextStyle{}),
		bar:    newThinBar(),
	}
	r.name.Truncation = fyne.TextTruncateEllipsis
	r.detail.SizeName = theme.SizeNameCaptionText
	r.detail.Truncation = fyne.TextTruncateEllipsis
	r.share.SizeName = theme.SizeNameCaptionText
	r.share.Truncation = fyne.TextTruncateEllipsis
	r.content = container.NewVBox(
		container.NewBorder(nil, nil, nil, r.state, r.name),
		r.bar,
		container.NewGridWithColumns(2, r.detail, r.share),
	)
	r.ExtendBaseWidget(r)
	return r
}

func (r *downloadRow) update(d *download) {
	r.name.SetText(d.Name)
	r.state.SetText(stateText(d.State))
	imp := widget.MediumImportance
	switch d.State {
	case core.StateDone:
		imp = widget.SuccessImportance
	case core.StateFailed:
		imp = widget.DangerImportance
	case core.StatePaused:
		imp = widget.WarningImportance
	case core.StateCanceled, core.StateQueued:
		imp = widget.LowImportance
	}
	if r.state.Importance != imp {
		r.state.Importance = imp
		r.state.Refresh()
	}
	v := 0.0
	if d.Size > 0 {
		v = float64(d.Done) / float64(d.Size)
	}
	if d.State == core.StateDone {
		v = 1
	}
	r.bar.set(v, d.State == core.StateDone)
	detail := progressText(d.Size, d.Done, d.Rate, d.ETA, d.State, d.Wait)
	if d.State == core.StateFailed && d.Err != nil {
		detail = d.Err.Error()
	}
	r.detail.SetText(detail)
	r.share.SetText(shareText(d.Peers, 3))
}

// CreateRenderer implements fyne.Widget.
func (r *downloadRow) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(r.content)
}

// legendItem is a colour swatch and what it stands for.
type legendItem struct {
	widget.BaseWidget
	swatch *canvas.Rectangle
	label  *widget.Label
}

func newLegendItem() *legendItem {
	li := &legendItem{swatch: canvas.NewRectangle(color.Transparent), label: widget.NewLabel("")}
	li.swatch.SetMinSize(fyne.NewSize(14, 14))
	li.swatch.CornerRadius = 3
	li.label.SizeName = theme.SizeNameCaptionText
	li.label.Truncation = fyne.TextTruncateEllipsis
	li.ExtendBaseWidget(li)
	return li
}

func (li *legendItem) set(c color.Color, text string) {
	li.swatch.FillColor = c
	li.swatch.Refresh()
	li.label.SetText(text)
}

// CreateRenderer implements fyne.Widget.
func (li *legendItem) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(container.NewBorder(nil, nil, container.NewCenter(li.swatch), nil, li.label))
}

// tight stacks objects with no padding between them, for lines that belong
// together (a heading and its caption).
func tight(objs ...fyne.CanvasObject) fyne.CanvasObject {
	return container.New(layout.NewCustomPaddedVBoxLayout(0), objs...)
}

// layoutSpacer is a fixed gap of h units.
func layoutSpacer(h float32) fyne.CanvasObject {
	r := canvas.NewRectangle(color.Transparent)
	r.SetMinSize(fyne.NewSize(h, h))
	return r
}

func setEnabled(b *widget.Button, on bool) {
	if on {
		b.Enable()
	} else {
		b.Disable()
	}
}

// showErrorDialog shows err under a heading that says what failed.
func showErrorDialog(w fyne.Window, what string, err error) {
	if err == nil {
		err = errors.New("unknown error")
	}
	msg := widget.NewLabel(err.Error())
	msg.Wrapping = fyne.TextWrapWord
	msg.Selectable = true
	box := container.NewVBox(msg)
	d := dialog.NewCustom(what, "Close", box, w)
	d.Resize(fyne.NewSize(480, 0))
	d.Show()
}
