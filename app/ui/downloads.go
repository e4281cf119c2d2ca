package ui

import (
	"errors"
	"fmt"
	"image/color"
	"net/url"
	"path/filepath"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/dragonload/dragonload/app/units"
	"github.com/dragonload/dragonload/core"
)

// listShare is the part of the Downloads tab's height the list gets; the
// selected download's chunk map has the rest.
const listShare = 0.64

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
	summary   *widget.Label
	clearBtn  *widget.Button
	selected  core.DownloadID
	selIdx    int

	// open shows a file or folder with the desktop's handler; tests
	// replace it.
	open func(*url.URL) error

	// For rows taller than the others (a failed one with its whole error).
	measure    *downloadRow
	rowMin     float32
	heightsFor float32 // the list width the row heights were set for
	tallRows   bool    // some row had its own height
	heights    map[core.DownloadID]measured

	details     *fyne.Container
	detailsBox  fyne.CanvasObject // details in the compact theme
	actionBar   *fyne.Container
	noSelection *fyne.Container
	title       *widget.Label
	sub         *widget.Label
	pauseBtn    *widget.Button
	resumeBtn   *widget.Button
	cancelBtn   *widget.Button
	retryBtn    *widget.Button
	fileBtn     *widget.Button
	openBtn     *widget.Button
	linkBtn     *widget.Button
	errBtn      *widget.Button
	removeBtn   *widget.Button
	chunks      *ChunkMap
	legend      *fyne.Container
}

func newDownloadList(u *UI) *downloadList {
	l := &downloadList{u: u, selIdx: -1, open: u.app.OpenURL}
	l.list = widget.NewList(
		func() int { return len(u.m.order) },
		func() fyne.CanvasObject {
			r := newDownloadRow()
			r.act = l.do
			return r
		},
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
	l.measure = newDownloadRow()
	l.rowMin = l.measure.MinSize().Height

	l.summary = widget.NewLabel("")
	l.summary.SizeName = theme.SizeNameCaptionText
	l.clearBtn = widget.NewButtonWithIcon("Clear finished", theme.ContentClearIcon(), l.clearFinished)
	l.clearBtn.Importance = widget.LowImportance
	bar := container.NewBorder(nil, nil, l.summary, l.clearBtn)
	// The compact theme also narrows the gaps between rows.
	top := compact(container.NewBorder(bar, nil, nil, nil, container.New(&widthWatch{changed: l.fitHeights}, l.list)))

	l.buildDetails()
	l.split = container.NewVSplit(top, l.details)
	l.split.Offset = listShare
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
	l.title = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	l.title.Truncation = fyne.TextTruncateEllipsis
	l.sub = widget.NewLabel("")
	l.sub.SizeName = theme.SizeNameCaptionText
	l.sub.Truncation = fyne.TextTruncateEllipsis

	sel := func(a action) func() {
		return func() {
			if d := l.current(); d != nil {
				l.do(a, d.ID)
			} else {
				l.u.showError("Cannot do that", errNoSelection)
			}
		}
	}
	l.pauseBtn = widget.NewButtonWithIcon("Pause", actPause.icon(), sel(actPause))
	l.resumeBtn = widget.NewButtonWithIcon("Resume", actResume.icon(), sel(actResume))
	l.cancelBtn = widget.NewButtonWithIcon("Cancel", actCancel.icon(), sel(actCancel))
	l.retryBtn = widget.NewButtonWithIcon("Retry", actRetry.icon(), sel(actRetry))
	l.fileBtn = widget.NewButtonWithIcon("Open file", actOpenFile.icon(), sel(actOpenFile))
	l.openBtn = widget.NewButtonWithIcon("Open folder", actOpenFolder.icon(), sel(actOpenFolder))
	l.linkBtn = widget.NewButtonWithIcon("Copy link", theme.ContentCopyIcon(), l.copyLink)
	l.errBtn = widget.NewButtonWithIcon("Show error", theme.ErrorIcon(), l.showErr)
	l.removeBtn = widget.NewButtonWithIcon("Remove", actRemove.icon(), sel(actRemove))
	l.actionBar = container.NewHBox(l.pauseBtn, l.resumeBtn, l.cancelBtn, l.retryBtn, l.fileBtn, l.openBtn, l.linkBtn, l.errBtn, l.removeBtn)

	l.chunks = newChunkMap()
	l.legend = container.NewGridWithColumns(2)
	mapLabel := widget.NewLabelWithStyle("Who fetched which part of the file", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	mapLabel.SizeName = theme.SizeNameCaptionText

	top := container.NewVBox(tight(l.title, l.sub), l.actionBar, mapLabel)
	l.detailsBox = compact(container.NewBorder(top, l.legend, nil, nil, l.chunks))
	l.details = container.NewPadded(l.detailsBox)

	hint := widget.NewLabelWithStyle("Select a download to see which machine fetched which part of it.", fyne.TextAlignCenter, fyne.TextStyle{})
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
		l.emptyRoom.SetText("Other machines lend their internet link after running  " + joinCommand + "  with this room code: " + code)
		l.selected, l.selIdx = "", -1
		l.list.UnselectAll()
		return
	}
	l.empty.Hide()
	l.split.Show()
	if l.selected != "" {
		switch i := m.index(l.selected); {
		case i < 0: // removed
			l.selected, l.selIdx = "", -1
			l.list.UnselectAll()
		case i != l.selIdx:
			l.selIdx = i
			l.list.Select(i)
		}
	}
	l.refreshSummary()
	l.heightsFor = -1
	l.fitHeights(l.list.Size().Width)
	l.list.Refresh()
	l.refreshDetails()
}

// refreshSummary counts the downloads above the list and offers Clear
// finished when there is something to clear.
func (l *downloadList) refreshSummary() {
	var running, paused, done, failed, canceled int
	for _, d := range l.u.m.downloads {
		switch d.State {
		case core.StatePaused:
			paused++
		case core.StateDone:
			done++
		case core.StateFailed:
			failed++
		case core.StateCanceled:
			canceled++
		default:
			running++
		}
	}
	parts := []string{plural(len(l.u.m.downloads), "download", "downloads")}
	for _, c := range []struct {
		n    int
		what string
	}{{running, "running"}, {paused, "paused"}, {done, "done"}, {failed, "failed"}, {canceled, "canceled"}} {
		if c.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c.n, c.what))
		}
	}
	l.summary.SetText(strings.Join(parts, " · "))
	setEnabled(l.clearBtn, done+failed+canceled > 0)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// fitHeights gives each row the height its content needs at the list's
// width: a failed row shows its whole error, wrapped. The list keeps
// heights by position, so they are set again whenever the order changes.
func (l *downloadList) fitHeights(width float32) {
	if width <= 0 || width == l.heightsFor {
		return
	}
	l.heightsFor = width
	m := l.u.m
	tall := false
	for _, id := range m.order {
		if d := m.downloads[id]; d.State == core.StateFailed && d.Err != nil {
			tall = true
			break
		}
	}
	if !tall && !l.tallRows {
		return // every row has the template's height
	}
	l.tallRows = tall
	if l.heights == nil {
		l.heights = make(map[core.DownloadID]measured)
	}
	for id := range l.heights {
		if _, ok := m.downloads[id]; !ok {
			delete(l.heights, id)
		}
	}
	for i := range m.order {
		h := l.rowMin
		if d := m.at(i); d.State == core.StateFailed && d.Err != nil {
			key := measured{width: width, err: d.Err.Error()}
			if got, ok := l.heights[d.ID]; ok && got.width == key.width && got.err == key.err {
				h = got.height
			} else {
				h = l.measure.heightAt(d, width)
				key.height = h
				l.heights[d.ID] = key
			}
		}
		l.list.SetItemHeight(i, h)
	}
}

// measured is a row's height for a width and an error text.
type measured struct {
	width  float32
	err    string
	height float32
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
	box := l.details.Objects[0]
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

	can := make(map[action]bool)
	for _, a := range actionsFor(d) {
		can[a] = true
	}
	// Pause and Resume share a place; Open folder is there whenever the
	// folder is known.
	show(l.pauseBtn, can[actPause] || (d.State != core.StatePaused && !can[actResume] && !d.State.Final()))
	setEnabled(l.pauseBtn, can[actPause])
	show(l.resumeBtn, can[actResume])
	show(l.cancelBtn, can[actCancel])
	show(l.retryBtn, can[actRetry])
	show(l.fileBtn, can[actOpenFile])
	show(l.openBtn, d.folder() != "")
	show(l.linkBtn, d.State != core.StateCanceled)
	show(l.errBtn, d.Err != nil)
	show(l.removeBtn, can[actRemove])
	l.actionBar.Refresh()

	l.chunks.set(d.Size, d.spans, d.State == core.StateDone)
	l.refreshLegend(d)
}

// show shows and enables b, or hides and disables it.
func show(b *widget.Button, on bool) {
	setEnabled(b, on)
	if on {
		b.Show()
	} else {
		b.Hide()
	}
}

// refreshLegend lists each peer of the download with its colour, its
// share of the file so far (from the chunk map, so it holds across pauses
// and restarts) and its current rate; once some bytes were copied on the
// LAN, each line says whether its bytes are a copy or came from the
// internet (shareLabel).
func (l *downloadList) refreshLegend(d *download) {
	shares := d.shares()
	copies := anyCopy(shares)
	var total int64
	for _, p := range shares {
		total += p.Bytes
	}
	if len(l.legend.Objects) < len(shares) {
		for len(l.legend.Objects) < len(shares) {
			l.legend.Add(newLegendItem())
		}
		l.detailsBox.Refresh() // theme the new items
	}
	for i, o := range l.legend.Objects {
		item := o.(*legendItem)
		if i >= len(shares) {
			item.Hide()
			continue
		}
		p := shares[i]
		text := shareLabel(p, copies)
		if total > 0 {
			text += fmt.Sprintf("  ·  %d%%  ·  %s", percent(p.Bytes, total), units.Bytes(p.Bytes))
		}
		if p.Rate >= 1 {
			text += "  ·  " + units.Rate(p.Rate)
		}
		var c color.Color
		if p.Peer == priorPeer {
			c = unknownColor(l.chunks.Theme(), fyne.CurrentApp().Settings().ThemeVariant())
		} else {
			c = colorFor(d.colors.of(p.Peer))
		}
		item.set(c, text)
		item.Show()
	}
	l.legend.Refresh()
}

// action is one thing a row or the details pane can do to a download.
type action int

const (
	actPause action = iota
	actResume
	actCancel
	actRetry
	actOpenFile
	actOpenFolder
	actRemove
	numActions
)

func (a action) label() string {
	return [...]string{"Pause", "Resume", "Cancel", "Retry", "Open file", "Open folder", "Remove from list"}[a]
}

func (a action) icon() fyne.Resource {
	switch a {
	case actPause:
		return theme.MediaPauseIcon()
	case actResume:
		return theme.MediaPlayIcon()
	case actCancel:
		return theme.CancelIcon()
	case actRetry:
		return theme.MediaReplayIcon()
	case actOpenFile:
		return theme.FileIcon()
	case actOpenFolder:
		return theme.FolderOpenIcon()
	default:
		return theme.DeleteIcon()
	}
}

// actionsFor lists what can be done to d now, in the order a row shows
// them (at most rowActions).
func actionsFor(d *download) []action {
	var out []action
	switch d.State {
	case core.StateQueued, core.StateProbing, core.StateDownloading:
		out = append(out, actPause, actCancel)
	case core.StatePaused:
		out = append(out, actResume, actCancel)
	case core.StateVerifying:
		out = append(out, actCancel)
	case core.StateDone:
		if d.Path != "" {
			out = append(out, actOpenFile)
		}
		if d.folder() != "" {
			out = append(out, actOpenFolder)
		}
	case core.StateFailed:
		out = append(out, actRetry)
	}
	if d.State.Final() {
		out = append(out, actRemove)
	}
	return out
}

// do runs action a on download id.
func (l *downloadList) do(a action, id core.DownloadID) {
	d := l.u.m.downloads[id]
	if d == nil {
		return
	}
	eng := l.u.eng
	var err error
	switch a {
	case actPause:
		err = eng.Pause(id)
	case actResume, actRetry:
		// Resume also retries a failed download.
		err = eng.Resume(id)
	case actCancel:
		l.confirmCancel(d)
		return
	case actOpenFile:
		if d.Path == "" {
			return
		}
		if err := l.open(fileURL(d.Path)); err != nil {
			l.u.showError("Cannot open "+d.Name, err)
		}
		return
	case actOpenFolder:
		if d.folder() == "" {
			return
		}
		if err := l.open(fileURL(d.folder())); err != nil {
			l.u.showError("Cannot open the folder", err)
		}
		return
	case actRemove:
		err = l.u.eng.Remove(id)
	}
	if err != nil {
		l.u.showError("Cannot change "+d.Name, err)
	}
}

// fileURL is the file:// URL of a local path.
func fileURL(path string) *url.URL {
	p := filepath.ToSlash(path)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // C:/x on Windows
	}
	return &url.URL{Scheme: "file", Path: p}
}

// clearFinished takes every finished, failed and canceled download off
// the list; the files stay where they are.
func (l *downloadList) clearFinished() {
	l.u.eng.ClearFinished()
}

func (l *downloadList) confirmCancel(d *download) {
	id := d.ID
	dialog.ShowConfirm("Cancel download?",
		fmt.Sprintf("Stop downloading %s? What has been fetched so far is discarded.", d.Name),
		func(ok bool) {
			if !ok {
				return
			}
			if err := l.u.eng.Cancel(id); err != nil {
				l.u.showError("Cannot cancel "+d.Name, err)
			}
		}, l.u.win)
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

// widthWatch lays out one object over the whole area and reports when
// the width changed (rows that wrap need new heights).
type widthWatch struct {
	changed func(width float32)
}

func (w *widthWatch) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	for _, o := range objs {
		o.Move(fyne.NewPos(0, 0))
		o.Resize(size)
	}
	w.changed(size.Width)
}

func (w *widthWatch) MinSize(objs []fyne.CanvasObject) fyne.Size {
	var s fyne.Size
	for _, o := range objs {
		s = s.Max(o.MinSize())
	}
	return s
}

// rowActions is how many action buttons a row has room for.
const rowActions = 3

// downloadRow is one entry of the list: name and state, a progress bar,
// then bytes, rate and time left (or time taken) beside who contributed,
// the whole error of a failed download, and buttons for what can be done.
type downloadRow struct {
	widget.BaseWidget
	id  core.DownloadID
	act func(action, core.DownloadID)

	name, detail, share, errText *widget.Label
	state                        *stateBadge
	bar                          *thinBar
	buttons                      [numActions]*widget.Button
	actions, text                *fyne.Container
	content                      fyne.CanvasObject
}

func newDownloadRow() *downloadRow {
	r := &downloadRow{
		name:    widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		state:   newStateBadge(),
		detail:  widget.NewLabel(""),
		share:   widget.NewLabelWithStyle("", fyne.TextAlignTrailing, fyne.TextStyle{}),
		errText: widget.NewLabel(""),
		bar:     newThinBar(),
	}
	r.name.Truncation = fyne.TextTruncateEllipsis
	r.detail.SizeName = theme.SizeNameCaptionText
	r.detail.Truncation = fyne.TextTruncateEllipsis
	r.share.SizeName = theme.SizeNameCaptionText
	r.share.Truncation = fyne.TextTruncateEllipsis
	r.errText.Wrapping = fyne.TextWrapWord
	r.errText.Selectable = true
	r.errText.Hide()
	objs := make([]fyne.CanvasObject, numActions)
	for a := range numActions {
		b := widget.NewButtonWithIcon("", a.icon(), func() {
			if r.act != nil && r.id != "" {
				r.act(a, r.id)
			}
		})
		b.Importance = widget.LowImportance
		b.Hide()
		r.buttons[a], objs[a] = b, b
	}
	r.actions = container.New(&rowActionsLayout{theme: r.buttons[0].Theme}, objs...)
	r.text = container.New(layout.NewCustomPaddedVBoxLayout(0),
		container.NewBorder(nil, nil, nil, container.NewCenter(r.state), r.name),
		r.bar,
		container.NewGridWithColumns(2, r.detail, r.share),
		r.errText,
	)
	r.content = compact(container.NewBorder(nil, nil, nil, r.actions, r.text))
	r.ExtendBaseWidget(r)
	return r
}

func (r *downloadRow) update(d *download) {
	r.id = d.ID
	r.name.SetText(d.Name)
	r.state.set(d.State)
	v := 0.0
	if d.Size > 0 {
		v = float64(d.Done) / float64(d.Size)
	}
	switch d.State {
	case core.StateDone:
		v = 1
	case core.StateCanceled:
		v = 0 // its partial file is gone
	}
	r.bar.set(v, d.State == core.StateDone)
	switch d.State {
	case core.StateDone:
		r.detail.SetText(finishedText(d.Size, d.Added, d.Ended))
	case core.StateCanceled:
		r.detail.SetText("canceled; what was fetched was deleted")
	default:
		r.detail.SetText(progressText(d.Size, d.Done, d.Rate, d.ETA, d.State, d.Wait))
	}
	if d.State == core.StateCanceled {
		r.share.SetText("")
	} else {
		r.share.SetText(shareText(d.shares(), 3))
	}
	if line := r.text.Objects[2]; (r.detail.Text == "" && r.share.Text == "") == line.Visible() {
		if line.Visible() {
			line.Hide()
		} else {
			line.Show()
		}
		r.text.Refresh()
	}
	if d.State == core.StateFailed && d.Err != nil {
		r.errText.SetText(d.Err.Error())
		if !r.errText.Visible() {
			r.errText.Show()
			r.text.Refresh()
		}
	} else if r.errText.Visible() {
		r.errText.Hide()
		r.text.Refresh()
	}
	on := make(map[action]bool)
	for _, a := range actionsFor(d) {
		on[a] = true
	}
	for a, b := range r.buttons {
		if on[action(a)] {
			b.Show()
		} else {
			b.Hide()
		}
	}
	r.actions.Refresh()
}

// heightAt is the height r needs to show d at the given width.
func (r *downloadRow) heightAt(d *download, width float32) float32 {
	r.update(d)
	h := r.MinSize().Height
	// A wrapped label knows its height only once it has its width.
	for range 3 {
		r.Resize(fyne.NewSize(width, h))
		next := r.MinSize().Height
		if next == h {
			break
		}
		h = next
	}
	return h
}

// CreateRenderer implements fyne.Widget.
func (r *downloadRow) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(r.content)
}

// rowActionsLayout puts a row's visible buttons at its right edge,
// centred vertically, in a column as wide as rowActions buttons so that
// the text of every row lines up.
type rowActionsLayout struct {
	theme func() fyne.Theme
}

// button is the size of an icon-only button (hidden buttons do not say).
func (l rowActionsLayout) button() (btn fyne.Size, gap float32) {
	th := l.theme()
	side := th.Size(theme.SizeNameInlineIcon) + 2*th.Size(theme.SizeNameInnerPadding)
	return fyne.NewSize(side, side), th.Size(theme.SizeNamePadding)
}

func (l rowActionsLayout) MinSize([]fyne.CanvasObject) fyne.Size {
	btn, gap := l.button()
	return fyne.NewSize(rowActions*btn.Width+rowActions*gap, btn.Height)
}

func (l rowActionsLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	btn, gap := l.button()
	x := size.Width
	for i := len(objs) - 1; i >= 0; i-- {
		o := objs[i]
		if !o.Visible() {
			continue
		}
		x -= btn.Width
		o.Resize(btn)
		o.Move(fyne.NewPos(x, (size.Height-btn.Height)/2))
		x -= gap
	}
}

// stateBadge is a download's state as a word on a tinted pill, in a
// colour taken from the theme (success, error, warning, text) and made
// dark or light enough to read on the row, plain, hovered or selected, in
// either theme variant.
type stateBadge struct {
	widget.BaseWidget
	state core.State
}

func newStateBadge() *stateBadge {
	b := &stateBadge{state: -1}
	b.ExtendBaseWidget(b)
	return b
}

func (b *stateBadge) set(s core.State) {
	if s == b.state {
		return
	}
	b.state = s
	b.Refresh()
}

// stateColorName is the theme colour a state is drawn in.
func stateColorName(s core.State) fyne.ThemeColorName {
	switch s {
	case core.StateDone:
		return theme.ColorNameSuccess
	case core.StateFailed:
		return theme.ColorNameError
	case core.StatePaused:
		return theme.ColorNameWarning
	case core.StateQueued, core.StateCanceled:
		return theme.ColorNamePlaceHolder
	}
	return theme.ColorNameForeground
}

// stateColors are a state's text and pill colours in theme th, variant v.
func stateColors(th fyne.Theme, v fyne.ThemeVariant, s core.State) (text, pill color.NRGBA) {
	base := toNRGBA(th.Color(stateColorName(s), v))
	pill = base
	pill.A = 0x26
	bg := toNRGBA(th.Color(theme.ColorNameBackground, v))
	var surfaces []color.NRGBA
	for _, row := range []color.NRGBA{
		bg,
		over(bg, toNRGBA(th.Color(theme.ColorNameHover, v))),
		over(bg, toNRGBA(th.Color(theme.ColorNameSelection, v))),
	} {
		surfaces = append(surfaces, over(row, pill))
	}
	return readable(base, surfaces...), pill
}

// CreateRenderer implements fyne.Widget.
func (b *stateBadge) CreateRenderer() fyne.WidgetRenderer {
	r := &stateBadgeRenderer{b: b, pill: canvas.NewRectangle(color.Transparent), text: canvas.NewText("", color.Black)}
	r.text.TextStyle.Bold = true
	r.Refresh()
	return r
}

type stateBadgeRenderer struct {
	b    *stateBadge
	pill *canvas.Rectangle
	text *canvas.Text
}

func (r *stateBadgeRenderer) padding() fyne.Size {
	p := r.b.Theme().Size(theme.SizeNameInnerPadding)
	return fyne.NewSize(p*1.5, p/2)
}

// MinSize is as wide as the widest state, so that a recycled row need
// not be laid out again when its state changes, and badges line up.
func (r *stateBadgeRenderer) MinSize() fyne.Size {
	p := r.padding()
	var w float32
	for s := core.StateQueued; s <= core.StateCanceled; s++ {
		w = max(w, fyne.MeasureText(stateText(s), r.text.TextSize, r.text.TextStyle).Width)
	}
	t := r.text.MinSize()
	return fyne.NewSize(w+2*p.Width, t.Height+2*p.Height)
}

// Layout draws the pill around the word, at the right edge.
func (r *stateBadgeRenderer) Layout(s fyne.Size) {
	p := r.padding()
	t := r.text.MinSize()
	pill := fyne.NewSize(min(s.Width, t.Width+2*p.Width), s.Height)
	r.pill.Resize(pill)
	r.pill.Move(fyne.NewPos(s.Width-pill.Width, 0))
	r.text.Move(fyne.NewPos(s.Width-pill.Width+(pill.Width-t.Width)/2, (s.Height-t.Height)/2))
	r.text.Resize(t)
}

func (r *stateBadgeRenderer) Refresh() {
	th := r.b.Theme()
	v := fyne.CurrentApp().Settings().ThemeVariant()
	text, pill := stateColors(th, v, r.b.state)
	r.text.Text = ""
	if r.b.state >= 0 {
		r.text.Text = stateText(r.b.state)
	}
	r.text.Color = text
	r.text.TextSize = th.Size(theme.SizeNameCaptionText)
	r.pill.FillColor = pill
	r.pill.CornerRadius = (r.text.MinSize().Height + 2*r.padding().Height) / 2
	r.Layout(r.b.Size())
	r.text.Refresh()
	r.pill.Refresh()
}

func (r *stateBadgeRenderer) Objects() []fyne.CanvasObject {
	return []fyne.CanvasObject{r.pill, r.text}
}

func (r *stateBadgeRenderer) Destroy() {}

// compactTheme is the app's theme with less padding, for the list's rows
// and the details pane: the list shows more downloads at once.
type compactTheme struct{}

func (compactTheme) base() fyne.Theme { return fyne.CurrentApp().Settings().Theme() }

func (t compactTheme) Color(n fyne.ThemeColorName, v fyne.ThemeVariant) color.Color {
	return t.base().Color(n, v)
}
func (t compactTheme) Font(s fyne.TextStyle) fyne.Resource     { return t.base().Font(s) }
func (t compactTheme) Icon(n fyne.ThemeIconName) fyne.Resource { return t.base().Icon(n) }
func (t compactTheme) Size(n fyne.ThemeSizeName) float32 {
	switch n {
	case theme.SizeNameInnerPadding:
		return 3
	case theme.SizeNamePadding:
		return 3
	}
	return t.base().Size(n)
}

// compact draws o with compactTheme.
func compact(o fyne.CanvasObject) fyne.CanvasObject {
	return container.NewThemeOverride(o, compactTheme{})
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
