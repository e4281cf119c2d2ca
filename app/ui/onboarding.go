package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// showOnboarding introduces the app on first run: what it does, this
// machine's room code, and how another machine joins the room.
func (u *UI) showOnboarding() {
	code := u.eng.RoomCode()
	intro := widget.NewLabel("Dragonload downloads one big file faster by pooling the internet links " +
		"of the machines on your network. Each machine in your room fetches some parts; this one puts them together.")
	intro.Wrapping = fyne.TextWrapWord

	room := widget.NewLabelWithStyle(code, fyne.TextAlignLeading, fyne.TextStyle{Monospace: true})
	room.SizeName = theme.SizeNameSubHeadingText
	room.Selectable = true
	cmd := widget.NewLabelWithStyle(joinCommand, fyne.TextAlignLeading, fyne.TextStyle{Monospace: true})
	cmd.Selectable = true
	copyCmd := widget.NewButtonWithIcon("Copy", theme.ContentCopyIcon(), func() {
		u.app.Clipboard().SetContent(joinCommand)
	})

	step := func(n, text string) fyne.CanvasObject {
		l := widget.NewLabel(text)
		l.Wrapping = fyne.TextWrapWord
		num := widget.NewLabelWithStyle(n, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
		return container.NewBorder(nil, nil, num, nil, l)
	}
	content := container.NewVBox(
		intro,
		widget.NewSeparator(),
		step("1.", "This machine's room code:"),
		room,
		step("2.", "On every other machine that should lend its link, install Dragonload, run this and type the code when asked:"),
		container.NewBorder(nil, nil, nil, copyCmd, cmd),
		step("3.", "Paste a link here and press Enter, or drop it onto the window."),
		caption("The room code is in Settings whenever you need it again."),
	)
	d := dialog.NewCustomWithoutButtons("Welcome to Dragonload", content, u.win)
	start := widget.NewButton("Get started", d.Hide)
	start.Importance = widget.HighImportance
	d.SetButtons([]fyne.CanvasObject{start})
	// Escape or Enter closes the introduction too, unless a widget (the
	// selectable code) has the keyboard.
	c := u.win.Canvas()
	prev := c.OnTypedKey()
	c.SetOnTypedKey(func(k *fyne.KeyEvent) {
		switch k.Name {
		case fyne.KeyEscape, fyne.KeyReturn, fyne.KeyEnter:
			d.Hide()
		default:
			if prev != nil {
				prev(k)
			}
		}
	})
	d.SetOnClosed(func() {
		c.SetOnTypedKey(prev)
		if u.opts.Onboarded != nil {
			u.opts.Onboarded()
		}
	})
	d.Resize(fyne.NewSize(560, 0))
	d.Show()
}
