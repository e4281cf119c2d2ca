package ui

import (
	"image/color"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// BannerTimeout is how long the in-window banner shows a notification the
// desktop could not show, unless the user closes it first: long enough to
// read two lines, short enough not to cover the list for good.
const BannerTimeout = 8 * time.Second

// Notifier routes the window's notifications. With a notification service
// (system) it sends them through the Fyne app, as desktop notifications;
// without one the window shows them in its banner, and while the app is in
// the background (no window of it has the focus: hidden to the tray, or
// behind others) it also hands the text to Away, the tray menu, where the
// user finds it without the window.
//
// Fyne sends desktop notifications over D-Bus on Linux and, with no
// service there, logs "Failed to send message to bus" and shows nothing;
// so the app asks the bus first (tray.NotificationService) and never
// calls SendNotification without a service.
//
// A Notifier is used on the Fyne main goroutine only.
type Notifier struct {
	app        fyne.App
	system     bool
	away       func(text string)
	foreground bool
	// seen is called when the app comes to the foreground: the window's
	// banner counts its time from then (set by New).
	seen func()
}

// NewNotifier returns a Notifier for a; system says whether a notification
// service runs.
func NewNotifier(a fyne.App, system bool) *Notifier {
	return &Notifier{app: a, system: system}
}

// SetAway sets where a notification the desktop cannot show goes while the
// app is in the background (the tray's SetNotice); it gets "" when the app
// comes to the foreground, as the window then shows the banner. nil: none.
func (n *Notifier) SetAway(f func(text string)) { n.away = f }

// Notify delivers a notification and reports whether the desktop showed
// it; when it did not, the window shows it in its banner.
func (n *Notifier) Notify(title, body string) bool {
	if n.system {
		n.app.SendNotification(fyne.NewNotification(title, body))
		return true
	}
	if !n.foreground && n.away != nil {
		n.away(noticeLine(title, body))
	}
	return false
}

// Foreground records whether the app is in the foreground; the app calls
// it from its Lifecycle's OnEnteredForeground and OnExitedForeground.
func (n *Notifier) Foreground(on bool) {
	n.foreground = on
	if !on {
		return
	}
	if n.away != nil {
		n.away("")
	}
	if n.seen != nil {
		n.seen()
	}
}

// noticeLine joins a notification into the one line a menu item shows.
func noticeLine(title, body string) string {
	if body == "" {
		return title
	}
	return title + ": " + body
}

// notify delivers a notification the model asked for: through
// Options.Notifier, or the Fyne app when that is nil, and in the banner
// when the desktop could not show it. Main goroutine only.
func (u *UI) notify(title, body string) {
	n := u.opts.Notifier
	if n == nil {
		u.app.SendNotification(fyne.NewNotification(title, body))
		return
	}
	if !n.Notify(title, body) {
		u.banner.show(title, body)
	}
}

// banner shows, above the tabs, the last notification the desktop could
// not show: its title in bold, its body after it on the same line (wrapped
// when long), and a button that closes it. It hides itself once it has
// been in a window in the foreground for timeout, so one that came while
// the window was hidden waits for the user; a newer notification replaces
// it and starts the time again.
type banner struct {
	u           *UI
	content     *fyne.Container
	text        *widget.RichText
	title, body *widget.TextSegment
	close       *widget.Button
	timeout     time.Duration
	timer       *time.Timer
	gen         int // counts shows, so a timer set for an older one does nothing
}

func newBanner(u *UI) *banner {
	b := &banner{u: u, timeout: BannerTimeout}
	b.title = &widget.TextSegment{Style: widget.RichTextStyleStrong}
	b.body = &widget.TextSegment{Style: widget.RichTextStyleInline}
	b.text = widget.NewRichText(b.title, b.body)
	b.text.Wrapping = fyne.TextWrapWord
	b.close = widget.NewButtonWithIcon("", theme.CancelIcon(), b.hide)
	b.close.Importance = widget.LowImportance
	// A tint of the brand orange: it reads on the light and dark themes
	// and tells the banner from the list below it.
	bg := canvas.NewRectangle(color.NRGBA{brandOrange.R, brandOrange.G, brandOrange.B, 0x30})
	bg.CornerRadius = theme.InputRadiusSize()
	icon := widget.NewIcon(theme.InfoIcon())
	b.content = container.NewStack(bg, container.NewBorder(nil, nil,
		container.NewPadded(icon), container.NewVBox(b.close), b.text))
	b.content.Hide()
	return b
}

// show puts a notification into the banner. Main goroutine only.
func (b *banner) show(title, body string) {
	b.gen++
	gen := b.gen
	b.title.Text = title
	b.body.Text = strings.TrimSpace(body)
	if b.body.Text != "" {
		b.body.Text = "   " + b.body.Text // a gap after the bold title
	}
	b.text.Refresh()
	b.content.Show()
	b.stopTimer()
	if n := b.u.opts.Notifier; n == nil || n.foreground {
		b.countdown(gen)
	}
}

// seen starts the banner's time when the app comes to the foreground.
// Main goroutine only.
func (b *banner) seen() {
	if b.content.Visible() {
		b.stopTimer()
		b.countdown(b.gen)
	}
}

// countdown hides the banner after timeout unless a newer notification
// took its place by then.
func (b *banner) countdown(gen int) {
	b.timer = time.AfterFunc(b.timeout, func() {
		b.u.do(func() {
			// The window may be closing, and a newer notification keeps
			// its own time.
			if b.u.stopped.Load() || gen != b.gen {
				return
			}
			b.hide()
		})
	})
}

func (b *banner) stopTimer() {
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
}

// hide takes the banner away. Main goroutine only.
func (b *banner) hide() {
	b.stopTimer()
	b.content.Hide()
}
