package ui

import (
	"context"
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/dragonload/dragonload/core"
	"github.com/dragonload/dragonload/core/index"
)

// sharedView is the Shared tab: a search of the files the room shares,
// each with Download, above the finished downloads this machine shares,
// each with Stop sharing. Room members copy a shared file over the LAN
// instead of downloading it again (core/share.go).
type sharedView struct {
	u       *UI
	content fyne.CanvasObject

	query   *entry
	status  *widget.Label // that a search runs, or what it found
	split   *container.Split
	results *widget.List
	// resultsBox holds results; it is hidden while there are none, and
	// the files this machine shares take its place.
	resultsBox fyne.CanvasObject
	found      []core.SearchResult
	// seq counts searches: only the latest one's answer is shown.
	seq    int
	cancel context.CancelFunc // of the running search

	about     *widget.Label // for how long files are shared, and whether they are now
	list      *widget.List
	empty     *fyne.Container
	emptyText *widget.Label
	files     []index.Entry
	days      int
	lending   bool // as about says it
}

func newSharedView(u *UI) *sharedView {
	s := &sharedView{u: u}

	s.query = u.newEntry()
	s.query.Icon = theme.SearchIcon()
	s.query.SetPlaceHolder("Find a file the room shares: type words of its name, then press Enter")
	s.query.OnSubmitted = func(string) { s.search() }
	find := widget.NewButtonWithIcon("Search", theme.SearchIcon(), s.search)
	s.status = caption("")
	s.status.Hide()
	s.results = widget.NewList(
		func() int { return len(s.found) },
		func() fyne.CanvasObject { return newFileRow("Download", theme.DownloadIcon()) },
		func(i widget.ListItemID, o fyne.CanvasObject) {
			if i < len(s.found) {
				r := s.found[i]
				o.(*fileRow).set(r.Name, resultText(r), func() { s.download(r) })
			}
		},
	)
	s.resultsBox = compact(s.results)
	s.resultsBox.Hide()

	head := widget.NewLabelWithStyle("Shared by this machine", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	head.SizeName = theme.SizeNameSubHeadingText
	s.about = caption("")
	s.list = widget.NewList(
		func() int { return len(s.files) },
		func() fyne.CanvasObject { return newFileRow("Stop sharing", theme.CancelIcon()) },
		func(i widget.ListItemID, o fyne.CanvasObject) {
			if i < len(s.files) {
				e := s.files[i]
				var stop func()
				if e.Shared {
					stop = func() { s.stop(e) }
				}
				o.(*fileRow).set(e.Name, sharedText(e, s.days, s.u.m.now()), stop)
			}
		},
	)
	emptyHead := widget.NewLabelWithStyle("Nothing shared yet", fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
	s.emptyText = widget.NewLabelWithStyle("", fyne.TextAlignCenter, fyne.TextStyle{})
	s.empty = container.NewCenter(container.NewVBox(emptyHead, s.emptyText))
	mine := container.NewBorder(tight(head, s.about), nil, nil, nil,
		container.NewStack(compact(s.list), s.empty))

	s.split = container.NewVSplit(s.resultsBox, mine)
	top := container.NewVBox(container.NewBorder(nil, nil, nil, find, s.query), s.status)
	s.content = container.NewPadded(container.NewBorder(top, nil, nil, nil, s.split))
	return s
}

// refresh reads the files this machine shares from the engine.
func (s *sharedView) refresh() {
	eng := s.u.eng
	s.files = eng.Shared()
	s.days = eng.ShareDays()
	s.lending = s.u.m.lending
	s.refreshAbout()
	if len(s.files) == 0 {
		s.list.Hide()
		s.emptyText.SetText(fmt.Sprintf("Each download this machine finishes is listed here\nand shared with the room for %s.",
			plural(s.days, "day", "days")))
		s.empty.Show()
		return
	}
	s.empty.Hide()
	s.list.Show()
	s.list.Refresh()
}

// refreshLending says again whether the room can copy the files, once
// the lend switch changed.
func (s *sharedView) refreshLending() {
	if s.lending != s.u.m.lending {
		s.lending = s.u.m.lending
		s.refreshAbout()
	}
}

// refreshAbout says for how long the room may copy the files, or why it
// may copy none of them now.
func (s *sharedView) refreshAbout() {
	var text string
	s.about.Importance = widget.WarningImportance
	switch {
	case !s.u.eng.SharesFinished():
		text = "Sharing finished downloads is off (Settings, Lending): the room cannot copy these."
	case !s.lending:
		text = "Lending is off, so the room cannot copy these now: sharing needs lending on (Settings, Lending)."
	default:
		s.about.Importance = widget.MediumImportance
		text = fmt.Sprintf("Room members copy these over the LAN instead of downloading them again, each for %s after it finished.",
			plural(s.days, "day", "days"))
	}
	if len(s.files) > 0 {
		text += " Stop sharing cannot be undone from the app."
	}
	s.about.SetText(text)
}

// search asks the room for the words in the search field, off the main
// goroutine; a new search replaces the one running.
func (s *sharedView) search() {
	if s.cancel != nil {
		s.cancel()
		s.cancel = nil
	}
	s.seq++
	s.show(nil)
	words := strings.TrimSpace(s.query.Text)
	if words == "" {
		s.say("Type words of a file's name, then press Enter.")
		return
	}
	s.say("Searching the room…")
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	seq, eng := s.seq, s.u.eng
	go func() {
		defer cancel()
		found := eng.Search(ctx, words)
		s.u.do(func() {
			if s.u.stopped.Load() || seq != s.seq {
				return // the window is closing, or a newer search runs
			}
			s.cancel = nil
			s.answer(words, found)
		})
	}()
}

// answer shows what a search for words found.
func (s *sharedView) answer(words string, found []core.SearchResult) {
	switch {
	case len(found) == 1:
		s.say(fmt.Sprintf("1 file in the room matches “%s”.", words))
	case len(found) > 1:
		s.say(fmt.Sprintf("%d files in the room match “%s”.", len(found), words))
	case s.u.m.machines() == 0:
		s.say(fmt.Sprintf("Nothing in the room matches “%s”: no other machine of the room is connected.", words))
	default:
		s.say(fmt.Sprintf("Nothing in the room matches “%s”.", words))
	}
	s.show(found)
}

// say shows a line about the search.
func (s *sharedView) say(text string) {
	s.status.SetText(text)
	s.status.Show()
}

// show lists search results, or hides the list when there are none.
func (s *sharedView) show(found []core.SearchResult) {
	s.found = found
	if len(found) == 0 {
		s.resultsBox.Hide()
	} else {
		s.resultsBox.Show()
		s.results.Refresh()
		s.results.ScrollToTop()
	}
	s.split.Refresh()
}

// download fetches a search result from the machines that hold it and
// shows it in the Downloads list.
func (s *sharedView) download(r core.SearchResult) {
	id, err := s.u.eng.AddLink(r.Link, "")
	if err != nil {
		s.u.showError("Cannot download "+r.Name, err)
		return
	}
	if d := s.u.m.ensure(id); d.Name == string(id) {
		d.Name = r.Name // until the engine reports it
	}
	s.u.showDownload(id)
}

// stop stops sharing a file, without asking: the button says what it does.
func (s *sharedView) stop(e index.Entry) {
	if err := s.u.eng.StopSharing(e.Path); err != nil {
		s.u.showError("Cannot stop sharing "+e.Name, err)
	}
	s.refresh()
}

// fileRow is one file of the Shared tab's lists: its name, a line about
// it and a button.
type fileRow struct {
	widget.BaseWidget
	name, detail *widget.Label
	button       *widget.Button
	content      *fyne.Container
}

func newFileRow(label string, icon fyne.Resource) *fileRow {
	r := &fileRow{
		name:   widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		detail: widget.NewLabel(""),
		button: widget.NewButtonWithIcon(label, icon, nil),
	}
	r.name.Truncation = fyne.TextTruncateEllipsis
	r.detail.SizeName = theme.SizeNameCaptionText
	r.detail.Truncation = fyne.TextTruncateEllipsis
	r.content = container.NewBorder(nil, nil, nil, container.NewCenter(r.button), tight(r.name, r.detail))
	r.ExtendBaseWidget(r)
	return r
}

// set shows a file; act is what the button does, nil for no button.
func (r *fileRow) set(name, detail string, act func()) {
	r.name.SetText(name)
	r.detail.SetText(detail)
	r.button.OnTapped = act
	if (act != nil) == r.button.Visible() {
		return
	}
	if act == nil {
		r.button.Hide()
	} else {
		r.button.Show()
	}
	r.content.Refresh()
}

// CreateRenderer implements fyne.Widget.
func (r *fileRow) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(r.content)
}
