package ui

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/dragonload/dragonload/app/units"
	"github.com/dragonload/dragonload/core"
)

// Options configure the window.
type Options struct {
	// Logger receives what the window cannot show; nil discards.
	Logger *slog.Logger
	// Icon is the application mark shown beside the link field; nil shows none.
	Icon fyne.Resource
	// Onboard shows the first-run introduction when the window opens.
	Onboard bool
	// Onboarded is called once the user has closed the introduction.
	Onboarded func()
	// Quit ends the application (Ctrl+Q); nil leaves Ctrl+Q unbound.
	Quit func()
	// Close does what the window manager's close button does (Ctrl+W):
	// hide to the tray or quit. Window.Close bypasses the close intercept,
	// so the app says which. nil closes the window.
	Close func()
	// Notifier delivers desktop notifications (a download finished or
	// failed); those the desktop cannot show (no notification service)
	// the window shows in a banner. nil sends every notification through
	// the Fyne app.
	Notifier *Notifier
	// RPC is the aria2 JSON-RPC server that Settings turns on and off;
	// nil leaves its section out. Autostart is the login item; nil
	// leaves that switch out. See settings.go.
	RPC       RPCSwitch
	Autostart LoginItem
}

// DefaultSize is the window's size on first open: room for the list, the
// chunk map and the details side by side on a 1366×768 laptop.
var DefaultSize = fyne.NewSize(960, 640)

// RedrawInterval is the shortest time between two redraws from events.
const RedrawInterval = 100 * time.Millisecond

// UI is the content of the main window and everything it drives.
type UI struct {
	app  fyne.App
	win  fyne.Window
	eng  Engine
	opts Options
	log  *slog.Logger
	m    *model

	// do runs a function on the Fyne main goroutine; tests replace it to
	// drive the main loop themselves.
	do func(func())

	url       *entry
	addBtn    *widget.Button
	addError  *widget.Label
	tabs      *container.AppTabs
	peersTab  *container.TabItem
	sharedTab *container.TabItem
	status    *widget.Label
	notice    *widget.Label
	banner    *banner // notifications the desktop could not show

	list     *downloadList
	peers    *peerTable
	settings *settingsPane
	shared   *sharedView

	shortcuts map[string]func() // by ShortcutName

	mu     sync.Mutex
	cancel func()
	done   chan struct{}
	// stopped is set by Stop: a batch queued for the main goroutine
	// before then is dropped rather than drawn into a closing window.
	stopped atomic.Bool
}

// New builds the window's content into w. Call Start to connect it to the
// engine's events, and Stop before the engine closes.
func New(a fyne.App, w fyne.Window, eng Engine, opts Options) *UI {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	u := &UI{app: a, win: w, eng: eng, opts: opts, log: log, m: newModel(), do: fyne.Do}
	u.build()
	if opts.Notifier != nil {
		opts.Notifier.seen = u.banner.seen
	}
	return u
}

// Start subscribes to the engine, loads its current state and begins
// redrawing from events. It must be called on the Fyne main goroutine.
func (u *UI) Start() {
	events, cancel := u.eng.Subscribe()
	u.m.seed(u.eng.Downloads(), u.eng.Peers(), u.eng.Lending())
	u.redraw()
	u.mu.Lock()
	u.cancel = cancel
	u.done = make(chan struct{})
	done := u.done
	u.mu.Unlock()
	go u.pump(events, done)
	u.log.Info("window ready", "downloads", len(u.m.order), "peers", len(u.m.peers))
	if u.opts.Onboard {
		u.showOnboarding()
	}
}

// Detach stops drawing at once, without waiting: call it before the Fyne
// loop is asked to end, since after it has ended Fyne runs queued
// functions on whatever goroutine queues them.
func (u *UI) Detach() { u.stopped.Store(true) }

// Stop ends the event subscription and waits for the pump to finish.
func (u *UI) Stop() {
	u.stopped.Store(true)
	u.mu.Lock()
	cancel, done := u.cancel, u.done
	u.cancel = nil
	u.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	<-done
}

// Window returns the window the UI lives in.
func (u *UI) Window() fyne.Window { return u.win }

// AddSources queues each source (URL, dragon:// link, .dragon path) and
// reports failures under the link field. It runs on the main goroutine.
func (u *UI) AddSources(sources []string) {
	var errs []string
	var last core.DownloadID
	for _, s := range sources {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		id, err := u.eng.Add(s, "")
		if err != nil {
			u.log.Info("cannot add download", "source", s, "err", err)
			errs = append(errs, err.Error())
			continue
		}
		last = id
		// Show the row at once rather than on the next event batch.
		d := u.m.ensure(id)
		if d.Source == "" {
			d.Source = s
		}
		if d.Name == string(id) {
			d.Name = nameFromSource(s)
		}
	}
	if last != "" {
		u.showDownload(last)
	}
	u.showAddError(errs)
}

// showDownload switches to the Downloads list with download id selected.
func (u *UI) showDownload(id core.DownloadID) {
	u.tabs.SelectIndex(0)
	u.redraw()
	u.list.selectID(id)
}

// Open queues what a command line or a second launch passed: links,
// file:// URIs, and paths of .dragon files or text files of links. With
// nothing to open it does nothing; the caller shows the window.
func (u *UI) Open(args []string) {
	var sources, errs []string
	for _, a := range args {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		d := Dropped{File: a}
		if scheme, _, found := strings.Cut(a, "://"); found && !knownScheme(scheme) {
			errs = append(errs, fmt.Sprintf("cannot download %s: Dragonload takes http, https and dragon:// links", a))
			continue
		}
		if _, _, isLink := linkScheme(a); isLink || strings.HasPrefix(strings.ToLower(a), "file:") {
			var err error
			if d, err = ParseDropped(a); err != nil {
				errs = append(errs, err.Error())
				continue
			}
		}
		s, err := Sources(d)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		sources = append(sources, s...)
	}
	// Other programs opened these with the app: links that may come from
	// anyone are shown to the user first (consent.go).
	u.consent(sources)
	if len(errs) > 0 {
		u.showAddError(errs)
	}
}

// Drop handles items dropped onto the window.
func (u *UI) Drop(items []fyne.URI) {
	var sources, errs []string
	for _, it := range items {
		d, err := ParseDropped(it.String())
		if err == nil {
			var s []string
			s, err = Sources(d)
			sources = append(sources, s...)
		}
		if err != nil {
			errs = append(errs, err.Error())
		}
	}
	u.AddSources(sources)
	if len(errs) > 0 {
		u.showAddError(errs)
	}
}

// build lays out the window.
func (u *UI) build() {
	u.url = u.newEntry()
	u.url.SetPlaceHolder("Paste a link (https://…, dragon://…) or a .dragon file path, then press Enter")
	u.url.OnSubmitted = func(string) { u.submit() }
	u.url.OnChanged = func(string) { u.showAddError(nil) }
	u.addBtn = widget.NewButtonWithIcon("Download", theme.DownloadIcon(), u.submit)
	u.addBtn.Importance = widget.HighImportance
	u.addError = widget.NewLabel("")
	u.addError.Importance = widget.DangerImportance
	u.addError.Wrapping = fyne.TextWrapWord
	u.addError.Hide()

	var left fyne.CanvasObject = layoutSpacer(0)
	if u.opts.Icon != nil {
		img := canvas.NewImageFromResource(u.opts.Icon)
		img.FillMode = canvas.ImageFillContain
		img.SetMinSize(fyne.NewSize(36, 36))
		left = img
	}
	bar := container.NewBorder(nil, nil, left, u.addBtn, u.url)
	u.banner = newBanner(u)
	header := container.NewVBox(bar, u.addError, u.banner.content)

	u.list = newDownloadList(u)
	u.peers = newPeerTable(u)
	u.shared = newSharedView(u)
	u.settings = newSettingsPane(u)

	u.peersTab = container.NewTabItemWithIcon("Peers", theme.ComputerIcon(), u.peers.content)
	u.sharedTab = container.NewTabItemWithIcon("Shared", theme.StorageIcon(), u.shared.content)
	u.tabs = container.NewAppTabs(
		container.NewTabItemWithIcon("Downloads", theme.DownloadIcon(), u.list.content),
		u.peersTab,
		container.NewTabItemWithIcon("Settings", theme.SettingsIcon(), u.settings.content),
		u.sharedTab,
	)
	u.tabs.OnSelected = func(t *container.TabItem) {
		u.settings.reload()
		if t == u.sharedTab {
			u.shared.refresh()
			u.win.Canvas().Focus(u.shared.query)
		}
	}

	u.status = widget.NewLabel("")
	u.status.SizeName = theme.SizeNameCaptionText
	u.notice = widget.NewLabel("")
	u.notice.SizeName = theme.SizeNameCaptionText
	u.notice.Truncation = fyne.TextTruncateEllipsis
	footer := container.NewBorder(widget.NewSeparator(), nil, nil, u.status, u.notice)

	u.win.SetContent(container.NewBorder(
		container.NewPadded(header), footer, nil, nil,
		u.tabs,
	))
	u.win.SetOnDropped(func(_ fyne.Position, items []fyne.URI) { u.Drop(items) })
	u.bindShortcuts()
}

// bindShortcuts registers the window's keyboard shortcuts: Ctrl+L focuses
// the link field, Ctrl+W closes the window, Ctrl+Q quits, Alt+1..4 switch
// tabs (as in browsers and terminals).
func (u *UI) bindShortcuts() {
	u.shortcuts = make(map[string]func())
	add := func(key fyne.KeyName, mod fyne.KeyModifier, f func()) {
		sc := &desktop.CustomShortcut{KeyName: key, Modifier: mod}
		u.shortcuts[sc.ShortcutName()] = f
		u.win.Canvas().AddShortcut(sc, func(fyne.Shortcut) { f() })
	}
	add(fyne.KeyL, fyne.KeyModifierShortcutDefault, func() { u.win.Canvas().Focus(u.url) })
	closeWin := u.opts.Close
	if closeWin == nil {
		closeWin = u.win.Close
	}
	add(fyne.KeyW, fyne.KeyModifierShortcutDefault, closeWin)
	if u.opts.Quit != nil {
		add(fyne.KeyQ, fyne.KeyModifierShortcutDefault, u.opts.Quit)
	}
	for i, key := range []fyne.KeyName{fyne.Key1, fyne.Key2, fyne.Key3, fyne.Key4} {
		add(key, fyne.KeyModifierAlt, func() { u.tabs.SelectIndex(i) })
	}
}

// entry is a text field that leaves the window's shortcuts to the window:
// Fyne gives every shortcut to the focused widget alone, so a plain Entry
// would swallow Ctrl+W or Alt+2 while the user is typing a link.
type entry struct {
	widget.Entry
	u *UI
}

func (u *UI) newEntry() *entry {
	e := &entry{u: u}
	e.ExtendBaseWidget(e)
	return e
}

// TypedShortcut implements fyne.Shortcutable.
func (e *entry) TypedShortcut(s fyne.Shortcut) {
	if f, ok := e.u.shortcuts[s.ShortcutName()]; ok {
		f()
		return
	}
	e.Entry.TypedShortcut(s)
}

// submit adds what the link field holds.
func (u *UI) submit() {
	text := strings.TrimSpace(u.url.Text)
	if text == "" {
		u.showAddError([]string{"Paste a link first: an https:// or dragon:// link, or a .dragon file path."})
		return
	}
	u.AddSources(strings.Fields(text))
	if u.addError.Hidden {
		u.url.SetText("")
	}
}

func (u *UI) showAddError(errs []string) {
	if len(errs) == 0 {
		u.addError.Hide()
		return
	}
	u.addError.SetText(strings.Join(errs, "\n"))
	u.addError.Show()
}

// pump batches engine events and hands them to the main goroutine at most
// once per RedrawInterval. It ends when the subscription's channel closes,
// which happens on Stop, as the window goes away: the last partial batch is
// dropped rather than drawn into a closing window.
func (u *UI) pump(events <-chan core.Event, done chan struct{}) {
	defer close(done)
	tick := time.NewTicker(RedrawInterval)
	defer tick.Stop()
	var batch []core.Event
	flush := func() {
		if len(batch) == 0 {
			return
		}
		b := batch
		batch = nil
		u.do(func() { u.applyBatch(b) })
	}
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				return
			}
			batch = append(batch, ev)
		case <-tick.C:
			flush()
		}
	}
}

// applyBatch folds events into the model and redraws; main goroutine only.
func (u *UI) applyBatch(events []core.Event) {
	if u.stopped.Load() {
		return
	}
	for _, ev := range events {
		if n := u.m.apply(ev); n != nil {
			u.notify(n.title, n.body)
		}
	}
	if u.m.stale {
		// Events were lost (Resync): read the engine's state again.
		u.m.seed(u.eng.Downloads(), u.eng.Peers(), u.eng.Lending())
	}
	u.redraw()
}

// redraw refreshes whatever the model marked as changed.
func (u *UI) redraw() {
	if u.m.listDirty || len(u.m.chunksDirty) > 0 {
		u.list.refresh()
		u.m.listDirty = false
		clear(u.m.chunksDirty)
	}
	if u.m.peersDirty {
		u.peers.refresh()
		u.peersTab.Text = fmt.Sprintf("Peers (%d)", u.m.machines())
		u.tabs.Refresh()
		u.m.peersDirty = false
	}
	if u.m.statusDirty {
		u.refreshStatus()
		u.settings.refreshLending()
		u.shared.refreshLending()
		u.m.statusDirty = false
	}
	if u.m.sharedDirty {
		u.shared.refresh()
		u.m.sharedDirty = false
	}
}

// maxHelpingText is the most runes of "helping …" the status line shows.
const maxHelpingText = 60

func (u *UI) refreshStatus() {
	active, ready, down, up := u.m.totals()
	parts := []string{}
	switch ready {
	case 0:
		parts = append(parts, "No peers yet")
	case 1:
		parts = append(parts, "1 peer ready")
	default:
		parts = append(parts, fmt.Sprintf("%d peers ready", ready))
	}
	if u.m.lending {
		parts = append(parts, "Lending on")
	} else {
		parts = append(parts, "Lending off")
	}
	if active > 0 && down >= 1 {
		parts = append(parts, fmt.Sprintf("↓ %s", units.Rate(down)))
	}
	if u.m.lending && up > 0 {
		parts = append(parts, fmt.Sprintf("↑ %s", units.Rate(up)))
	}
	if h := u.m.helpingLine(); h != "" {
		// The status line sets the window's least width: keep it short.
		if r := []rune(h); len(r) > maxHelpingText {
			h = string(r[:maxHelpingText-1]) + "…"
		}
		parts = append(parts, h)
	}
	u.status.SetText(strings.Join(parts, "  ·  "))
	if u.m.notice.Text != "" {
		u.notice.SetText(u.m.notice.Text)
		switch u.m.notice.Level {
		case "error":
			u.notice.Importance = widget.DangerImportance
		case "warn":
			u.notice.Importance = widget.WarningImportance
		default:
			u.notice.Importance = widget.LowImportance
		}
		u.notice.Refresh()
	}
}

// showError reports a failed command in a dialog.
func (u *UI) showError(what string, err error) {
	u.log.Info(what, "err", err)
	showErrorDialog(u.win, what, err)
}
