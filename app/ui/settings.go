package ui

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/dragonload/dragonload/app/units"
)

// settingsPane is the Settings tab: the room, the folders and lending.
type settingsPane struct {
	u       *UI
	content fyne.CanvasObject

	room     *widget.Label
	command  *widget.Label
	outDir   *widget.Label
	watchDir *widget.Label
	unwatch  *widget.Button
	lend     *widget.Check
	cap      *entry
	capNote  *widget.Label
	node     *widget.Label

	// quiet is set while the pane updates the lend check itself, so its
	// change handler does not send the value back to the engine.
	quiet bool
}

func newSettingsPane(u *UI) *settingsPane {
	s := &settingsPane{u: u}

	s.room = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Monospace: true})
	s.room.SizeName = theme.SizeNameSubHeadingText
	s.room.Selectable = true
	s.command = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Monospace: true})
	s.command.Selectable = true
	room := section("Room", "Machines with the same room code pool their internet links. Keep the code private.",
		container.NewBorder(nil, nil, nil, container.NewHBox(
			widget.NewButtonWithIcon("Copy code", theme.ContentCopyIcon(), func() { s.copy(u.eng.RoomCode()) }),
			widget.NewButtonWithIcon("New room", theme.ViewRefreshIcon(), s.newRoom),
			widget.NewButtonWithIcon("Join a room…", theme.LoginIcon(), s.joinRoom),
		), s.room),
		caption("To add another machine, run this on it:"),
		container.NewBorder(nil, nil, nil,
			widget.NewButtonWithIcon("Copy command", theme.ContentCopyIcon(), func() { s.copy(joinCommand(u.eng.RoomCode())) }),
			s.command),
	)

	s.outDir = widget.NewLabel("")
	s.outDir.Truncation = fyne.TextTruncateEllipsis
	s.watchDir = widget.NewLabel("")
	s.watchDir.Truncation = fyne.TextTruncateEllipsis
	s.unwatch = widget.NewButton("Stop watching", func() { s.setDir(u.eng.SetWatchDir, "") })
	folders := section("Folders", "A .dragon file saved into the watched folder starts downloading by itself.",
		widget.NewForm(
			widget.NewFormItem("Save downloads in", container.NewBorder(nil, nil, nil,
				widget.NewButtonWithIcon("Change…", theme.FolderOpenIcon(), func() { s.chooseDir(u.eng.SetOutDir) }),
				s.outDir)),
			widget.NewFormItem("Watched folder", container.NewBorder(nil, nil, nil,
				container.NewHBox(
					widget.NewButtonWithIcon("Change…", theme.FolderOpenIcon(), func() { s.chooseDir(u.eng.SetWatchDir) }),
					s.unwatch),
				s.watchDir)),
		))

	s.lend = widget.NewCheck("Lend this machine's internet link to the room", func(on bool) {
		if !s.quiet {
			u.eng.SetLending(on)
		}
	})
	s.cap = u.newEntry()
	s.cap.SetPlaceHolder("no cap")
	s.cap.OnSubmitted = func(string) { s.applyCap() }
	s.capNote = caption("")
	s.capNote.Wrapping = fyne.TextWrapOff
	capField := container.NewGridWrap(fyne.NewSize(110, s.cap.MinSize().Height), s.cap)
	lending := section("Lending", "While lending, room peers may ask this machine to fetch parts of their downloads.",
		s.lend,
		container.NewHBox(widget.NewLabel("Lend at most"), capField, widget.NewLabel("MB/s"),
			widget.NewButton("Apply", s.applyCap), s.capNote),
	)

	s.node = caption("")
	s.node.Selectable = true

	s.content = container.NewVScroll(container.NewPadded(container.NewVBox(
		room, widget.NewSeparator(), folders, widget.NewSeparator(), lending, widget.NewSeparator(), s.node)))
	s.reload()
	return s
}

// reload reads every setting from the engine.
func (s *settingsPane) reload() {
	eng := s.u.eng
	code := eng.RoomCode()
	s.room.SetText(code)
	s.command.SetText(joinCommand(code))
	s.outDir.SetText(eng.OutDir())
	if w := eng.WatchDir(); w != "" {
		s.watchDir.SetText(w)
		s.unwatch.Enable()
	} else {
		s.watchDir.SetText("Not watching a folder")
		s.unwatch.Disable()
	}
	if rate := eng.Limits().LendRate; rate > 0 {
		s.cap.SetText(strconv.FormatFloat(float64(rate)/1e6, 'f', -1, 64))
	} else {
		s.cap.SetText("")
	}
	s.capNote.SetText("Leave empty for no cap.")
	s.node.SetText(fmt.Sprintf("Node id %s · QUIC on %s", eng.NodeID(), eng.Addr()))
	s.refreshLending()
}

// refreshLending shows the engine's lend switch without echoing it back.
func (s *settingsPane) refreshLending() {
	on := s.u.m.lending
	if s.lend.Checked == on {
		return
	}
	s.quiet = true
	s.lend.SetChecked(on)
	s.quiet = false
}

func (s *settingsPane) applyCap() {
	rate, err := parseRate(s.cap.Text)
	if err != nil {
		s.capNote.SetText(err.Error())
		s.capNote.Importance = widget.DangerImportance
		s.capNote.Refresh()
		return
	}
	l := s.u.eng.Limits()
	l.LendRate = rate
	s.u.eng.SetLimits(l)
	s.capNote.Importance = widget.LowImportance
	if rate == 0 {
		s.capNote.SetText("Lending without a cap.")
	} else {
		s.capNote.SetText("Lending at most " + units.Rate(float64(rate)) + ".")
	}
}

func (s *settingsPane) copy(text string) {
	s.u.app.Clipboard().SetContent(text)
	s.u.notice.Importance = widget.LowImportance
	s.u.notice.SetText("Copied to the clipboard.")
}

func (s *settingsPane) newRoom() {
	dialog.ShowConfirm("Make a new room?",
		"Machines in the current room stop lending to this one until they join the new code.",
		func(ok bool) {
			if !ok {
				return
			}
			if err := s.u.eng.SetRoom(""); err != nil {
				s.u.showError("Cannot make a new room", err)
			}
			s.reload()
			s.u.list.refresh()
			s.u.peers.refresh()
		}, s.u.win)
}

func (s *settingsPane) joinRoom() {
	code := widget.NewEntry()
	code.SetPlaceHolder("room code from the other machine")
	d := dialog.NewForm("Join a room", "Join", "Cancel",
		[]*widget.FormItem{widget.NewFormItem("Room code", code)},
		func(ok bool) {
			c := strings.TrimSpace(code.Text)
			if !ok || c == "" {
				return
			}
			if err := s.u.eng.SetRoom(c); err != nil {
				s.u.showError("Cannot join that room", err)
			}
			s.reload()
			s.u.list.refresh()
			s.u.peers.refresh()
		}, s.u.win)
	d.Resize(fyne.NewSize(460, 0))
	d.Show()
}

func (s *settingsPane) chooseDir(set func(string) error) {
	d := dialog.NewFolderOpen(func(dir fyne.ListableURI, err error) {
		if err != nil {
			s.u.showError("Cannot open that folder", err)
			return
		}
		if dir != nil {
			s.setDir(set, dir.Path())
		}
	}, s.u.win)
	d.Resize(fyne.NewSize(720, 480))
	d.Show()
}

func (s *settingsPane) setDir(set func(string) error, dir string) {
	if err := set(dir); err != nil {
		s.u.showError("Cannot use that folder", err)
	}
	s.reload()
}

// parseRate reads a cap in MB/s as the user typed it ("", "0", "2.5").
func parseRate(text string) (int64, error) {
	text = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(text), "MB/s"))
	if text == "" {
		return 0, nil
	}
	v, err := strconv.ParseFloat(strings.ReplaceAll(text, ",", "."), 64)
	if err != nil || v < 0 || v > 1e6 {
		return 0, errors.New("type a number of megabytes per second, such as 2.5, or leave it empty")
	}
	return int64(v * 1e6), nil
}

// joinCommand is what to run on another machine to lend to this room.
func joinCommand(code string) string { return "dragonload agent --room " + code }

func caption(text string) *widget.Label {
	l := widget.NewLabel(text)
	l.SizeName = theme.SizeNameCaptionText
	l.Wrapping = fyne.TextWrapWord
	return l
}

// section is a titled group of settings with a one-line explanation.
func section(title, about string, objs ...fyne.CanvasObject) fyne.CanvasObject {
	head := widget.NewLabelWithStyle(title, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	head.SizeName = theme.SizeNameSubHeadingText
	return container.NewVBox(append([]fyne.CanvasObject{tight(head, caption(about))}, objs...)...)
}
