package ui

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/dragonload/dragonload/app/units"
	"github.com/dragonload/dragonload/core"
	"github.com/dragonload/dragonload/core/link"
)

// A dragon:// link or a .dragon file that another program opens with the
// app (a web page's link, a file manager) may come from anyone. Before the
// window downloads one, it shows what the link asks for and waits for the
// user's Download, unless the user turned that off in Settings. Nothing is
// fetched, probed or even resolved before the answer: the host learns of
// the link only once the user said yes. Plain http(s) URLs given to the
// app start as before: they name what they fetch in full.

// needsConsent reports whether a source handed to the app from outside is
// a link the user should see first: a dragon:// link or a .dragon file.
func needsConsent(source string) bool {
	if scheme, _, ok := linkScheme(source); ok {
		return scheme == "dragon"
	}
	return strings.EqualFold(filepath.Ext(source), ".dragon")
}

// consent asks before adding sources, or adds them at once when none needs
// asking or the user said not to be asked.
func (u *UI) consent(sources []string) {
	var ask, now []string
	for _, s := range sources {
		if needsConsent(s) && u.eng.AskOpenedLinks() {
			ask = append(ask, s)
		} else {
			now = append(now, s)
		}
	}
	u.AddSources(now)
	if len(ask) == 0 {
		return
	}
	rows := []fyne.CanvasObject{}
	for _, s := range ask {
		rows = append(rows, describeLink(s, u.lenders()))
	}
	dontAsk := widget.NewCheck("Don't ask again for links opened from other programs", nil)
	body := container.NewVBox(append(rows, widget.NewSeparator(), dontAsk)...)
	title := "Download this file?"
	if len(ask) > 1 {
		title = fmt.Sprintf("Download these %d files?", len(ask))
	}
	d := dialog.NewCustomConfirm(title, "Download", "Cancel", body, func(ok bool) {
		if dontAsk.Checked {
			u.eng.SetAskOpenedLinks(false)
		}
		if ok {
			u.AddSources(ask)
		}
	}, u.win)
	d.Resize(fyne.NewSize(560, 0))
	d.Show()
}

// describeLink says what a link will fetch, from what it says itself.
func describeLink(source string, lenders int) fyne.CanvasObject {
	l, err := core.ParseSource(source)
	if err != nil {
		// Added anyway on Download, where the engine says what is wrong.
		return widget.NewLabel(source + ": " + err.Error())
	}
	if !l.HasOrigin() {
		return describeRoomLink(l, lenders)
	}
	name := l.Name
	if name == "" {
		name = "the file at " + l.URL
	}
	host := l.URL
	if u, err := url.Parse(l.URL); err == nil && u.Host != "" {
		host = u.Host
	}
	size := "size asked from the server once you choose Download"
	if l.Size > 0 {
		size = units.Bytes(l.Size)
	}
	lines := []string{
		fmt.Sprintf("%s from %s", name, host),
		"Size: " + size,
	}
	if l.SHA256 != "" {
		lines = append(lines, "Checked against its SHA-256 before it is saved")
	}
	if len(l.Mirrors) > 0 {
		lines = append(lines, fmt.Sprintf("Also from %d mirrors", len(l.Mirrors)))
	}
	if len(l.Headers) > 0 {
		lines = append(lines, fmt.Sprintf("Sends %d extra request headers to %s", len(l.Headers), host))
	}
	switch {
	case lenders == 1:
		lines = append(lines, "1 machine of your room will help fetch it")
	case lenders > 1:
		lines = append(lines, fmt.Sprintf("%d machines of your room will help fetch it", lenders))
	default:
		lines = append(lines, "Fetched by this machine alone (no room peer is lending now)")
	}
	label := widget.NewLabel(strings.Join(lines, "\n"))
	label.Wrapping = fyne.TextWrapWord
	return label
}

// describeRoomLink says what a link without a url will fetch: a file named
// by its SHA-256, name and size alone, which only machines of the room that
// share a copy can supply. Such a link always gives all three.
func describeRoomLink(l link.Link, lenders int) fyne.CanvasObject {
	lines := []string{
		fmt.Sprintf("%s (%s), from copies shared in your room, checked against its SHA-256", l.Name, units.Bytes(l.Size)),
		"The link names no web server: only machines of your room that hold this file can supply it",
	}
	switch {
	case lenders == 1:
		lines = append(lines, "1 machine of your room is sharing now")
	case lenders > 1:
		lines = append(lines, fmt.Sprintf("%d machines of your room are sharing now", lenders))
	default:
		lines = append(lines, "No machine of your room is sharing now: the download needs one that holds this file")
	}
	label := widget.NewLabel(strings.Join(lines, "\n"))
	label.Wrapping = fyne.TextWrapWord
	return label
}

// lenders counts the ready peers that lend now.
func (u *UI) lenders() int {
	n := 0
	for _, p := range u.eng.Peers() {
		if p.Ready && p.Lending {
			n++
		}
	}
	return n
}
