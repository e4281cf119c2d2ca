package tray

import (
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/systray"

	"github.com/dragonload/dragonload/app/units"
	"github.com/dragonload/dragonload/core"
)

// Engine is what the tray needs from the download engine; *core.Engine
// implements it.
type Engine interface {
	Lending() bool
	SetLending(on bool)
	PauseAll()
	ResumeAll()
	Downloads() []core.DownloadSnapshot
	Peers() []core.PeerInfo
	Subscribe() (events <-chan core.Event, cancel func())
}

// Options configure the tray.
type Options struct {
	// Open shows and raises the main window.
	Open func()
	// Quit ends the application.
	Quit func()
	// Logger receives the tray's log lines; nil discards.
	Logger *slog.Logger
}

// Labels of the menu items, also what tests and the end-to-end run look for.
const (
	LabelLend      = "Lend bandwidth"
	LabelLendOff   = "Lend bandwidth (off)"
	LabelOpen      = "Open Dragonload"
	LabelPauseAll  = "Pause all"
	LabelResumeAll = "Resume all"
	LabelQuit      = "Quit"
	// LabelIdle is the progress line when no download runs.
	LabelIdle = "No downloads running"
)

// systrayTooltip sets the tray icon's tooltip; tests replace it, as the
// real one talks to the OS's tray.
var systrayTooltip = systray.SetTooltip

// UpdateInterval is the shortest time between two menu rebuilds from
// events: every rebuild re-exports the whole menu over D-Bus.
const UpdateInterval = time.Second

// Tray is the tray menu and the state it shows.
type Tray struct {
	eng  Engine
	opts Options
	log  *slog.Logger
	// do runs a function on the Fyne main goroutine; tests replace it.
	do func(func())

	menu *fyne.Menu
	// progress is the first line (downloads, percent, rate, time left),
	// status the second (peers); notice, in the menu only while set, is
	// the last notification the desktop could not show (SetNotice).
	progress, status, notice              *fyne.MenuItem
	lend, open, pauseAll, resumeAll, quit *fyne.MenuItem
	rest                                  []*fyne.MenuItem // the items after the notice
	noticeText                            string
	setTooltip                            func(string)        // set by Install; nil in tests
	setIcon                               func(fyne.Resource) // set by Install; nil in tests
	icons                                 *busyIcons          // nil: no busy variant
	iconShown                             int                 // busyIcons step last set; idleStep when idle

	mu        sync.Mutex
	downloads map[core.DownloadID]*download
	ready     map[string]bool
	// helping holds the last note of each member this node lends to,
	// with when it came: a member that vanishes without an empty note
	// drops off the status line after core's note lifetime.
	helping map[string]heard
	lending bool
	shown   string // the lines and switches the menu last showed
	cancel  func()
	done    chan struct{}
	stopped atomic.Bool // set by Stop: a queued refresh is dropped
}

// New builds the tray menu for eng. It touches no tray yet: see Install.
func New(eng Engine, opts Options) *Tray {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := &Tray{
		eng: eng, opts: opts, log: log, do: fyne.Do,
		downloads: make(map[core.DownloadID]*download),
		ready:     make(map[string]bool),
		helping:   make(map[string]heard),
		iconShown: idleStep,
	}
	t.progress = fyne.NewMenuItem(LabelIdle, nil)
	t.progress.Disabled = true
	t.status = fyne.NewMenuItem("", nil)
	t.status.Disabled = true
	// Clicking the notice opens the window, where the user reads the rest
	// (the download list), and takes the notice away.
	t.notice = fyne.NewMenuItem("", func() {
		t.SetNotice("")
		if t.opts.Open != nil {
			t.opts.Open()
		}
	})
	t.lend = fyne.NewMenuItem(LabelLend, t.ToggleLending)
	t.open = fyne.NewMenuItem(LabelOpen, func() {
		if t.opts.Open != nil {
			t.opts.Open()
		}
	})
	t.pauseAll = fyne.NewMenuItem(LabelPauseAll, t.eng.PauseAll)
	t.resumeAll = fyne.NewMenuItem(LabelResumeAll, t.eng.ResumeAll)
	t.quit = fyne.NewMenuItem(LabelQuit, func() {
		if t.opts.Quit != nil {
			t.opts.Quit()
		}
	})
	t.quit.IsQuit = true
	t.rest = []*fyne.MenuItem{
		fyne.NewMenuItemSeparator(),
		t.lend,
		fyne.NewMenuItemSeparator(),
		t.open, t.pauseAll, t.resumeAll,
		fyne.NewMenuItemSeparator(),
		t.quit,
	}
	t.menu = fyne.NewMenu("Dragonload")
	t.layout()
	t.seed()
	t.update()
	return t
}

// Menu returns the tray menu.
func (t *Tray) Menu() *fyne.Menu { return t.menu }

// ToggleLending flips this node's lend switch, which is what the "Lend
// bandwidth" item does. Main goroutine only.
func (t *Tray) ToggleLending() {
	on := !t.eng.Lending()
	t.eng.SetLending(on)
	t.mu.Lock()
	t.lending = on
	t.mu.Unlock()
	t.log.Info("lending switched from the tray", "on", on)
	t.refresh()
}

// Install puts the menu and icon into the desktop's tray. From then on the
// icon's tooltip repeats the progress line, and while downloads run the
// icon carries a progress bar along its bottom edge.
func (t *Tray) Install(d desktop.App, icon fyne.Resource) {
	d.SetSystemTrayMenu(t.menu)
	if icon != nil {
		d.SetSystemTrayIcon(icon)
		icons, err := newBusyIcons(icon)
		if err != nil {
			t.log.Info("no busy variant of the tray icon", "err", err)
		} else {
			t.icons = icons
			t.setIcon = d.SetSystemTrayIcon
		}
	}
	// Fyne's desktop.App has no tooltip call, but its driver draws the
	// tray with fyne.io/systray, whose tooltip is package state: setting
	// it here reaches the same icon. (Shown on Windows and macOS, and by
	// the StatusNotifierItem hosts that read ToolTip, such as KDE's.)
	t.setTooltip = systrayTooltip
	t.shown = "" // draw the tooltip and icon now
	t.update()
}

// SetNotice puts text, a notification the desktop could not show, into
// the menu under the status lines, where it stays until the user clicks it
// or it is replaced; "" takes it away. Main goroutine only.
func (t *Tray) SetNotice(text string) {
	text = strings.Join(strings.Fields(text), " ") // one line: a menu item has one
	if text == t.noticeText {
		return
	}
	had := t.noticeText != ""
	t.noticeText = text
	t.notice.Label = text
	if had != (text != "") {
		t.layout()
	}
	t.refresh()
}

// Start follows the engine's events to keep the status line and switches
// current. Main goroutine only; Stop ends it.
func (t *Tray) Start() {
	events, cancel := t.eng.Subscribe()
	t.mu.Lock()
	t.cancel = cancel
	t.done = make(chan struct{})
	done := t.done
	t.mu.Unlock()
	go t.pump(events, done)
}

// Detach stops updating the menu at once, without waiting: call it before
// the Fyne loop is asked to end.
func (t *Tray) Detach() { t.stopped.Store(true) }

// Stop ends the event subscription and waits for the pump to finish.
func (t *Tray) Stop() {
	t.stopped.Store(true)
	t.mu.Lock()
	cancel, done := t.cancel, t.done
	t.cancel = nil
	t.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	<-done
}

// StatusText is the status line (peers) the menu shows now.
func (t *Tray) StatusText() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.statusLocked()
}

// ProgressText is the progress line the menu and the tooltip show now:
// "2 downloads · 43 % · 12.3 MB/s · 1m 05s left", or LabelIdle.
func (t *Tray) ProgressText() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	text, _ := t.progressLocked()
	return text
}

func (t *Tray) seed() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.seedLocked()
}

// seedLocked replaces the state with the engine's: at start, and after a
// Resync, when events that changed it were lost. t.mu must be held.
func (t *Tray) seedLocked() {
	clear(t.downloads)
	clear(t.ready)
	clear(t.helping) // the next notes, a second away, bring them back
	for _, d := range t.eng.Downloads() {
		// A snapshot has no rate; the next progress brings it.
		t.downloads[d.ID] = &download{state: d.State, size: d.Size, done: d.Done}
	}
	for _, p := range t.eng.Peers() {
		t.ready[p.ID] = p.Ready
	}
	t.lending = t.eng.Lending()
}

// pump applies events as they come and redraws the menu at most once per
// UpdateInterval, only when what it shows changed.
func (t *Tray) pump(events <-chan core.Event, done chan struct{}) {
	defer close(done)
	tick := time.NewTicker(UpdateInterval)
	defer tick.Stop()
	changed := false
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				return
			}
			t.apply(ev)
			changed = true
		case <-tick.C:
			// While it helps someone, a note may expire without an event.
			if changed || t.helpsAnyone() {
				changed = false
				t.do(t.refresh)
			}
		}
	}
}

func (t *Tray) apply(ev core.Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch ev := ev.(type) {
	case core.DownloadAdded:
		t.downloads[ev.ID] = &download{state: core.StateQueued, size: -1}
	case core.DownloadStateChanged:
		d := t.download(ev.ID)
		d.state = ev.State
		if ev.State != core.StateDownloading {
			d.rate = 0
		}
		if ev.State == core.StateDone && d.size >= 0 {
			d.done = d.size
		}
	case core.DownloadProgress:
		d := t.download(ev.ID)
		d.size, d.done, d.rate = ev.Size, ev.Done, ev.Rate
	case core.DownloadRemoved:
		delete(t.downloads, ev.ID)
	case core.PeerSeen:
		if _, ok := t.ready[ev.Peer.ID]; !ok {
			t.ready[ev.Peer.ID] = false
		}
	case core.PeerReady:
		t.ready[ev.Peer.ID] = true
	case core.PeerUpdated:
		t.ready[ev.Peer.ID] = ev.Peer.Ready
	case core.PeerLost:
		delete(t.ready, ev.Peer.ID)
		delete(t.helping, ev.Peer.ID)
	case core.PeerNote:
		t.helping[ev.Peer] = heard{note: ev, at: time.Now()}
	case core.LendingChanged:
		t.lending = ev.On
	case core.Resync:
		t.seedLocked()
	}
}

func (t *Tray) helpsAnyone() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.helping) > 0
}

// refresh redraws the menu if what it shows changed. Main goroutine only.
func (t *Tray) refresh() {
	if t.stopped.Load() {
		return
	}
	if t.update() {
		t.menu.Refresh()
	}
}

// update sets the items, the tooltip and the icon from the state and
// reports whether the menu changed. Main goroutine only.
func (t *Tray) update() bool {
	t.mu.Lock()
	status := t.statusLocked()
	progress, frac := t.progressLocked()
	lending := t.lending
	running, paused := 0, 0
	for _, d := range t.downloads {
		switch {
		case d.state == core.StatePaused:
			paused++
		case !d.state.Final():
			running++
		}
	}
	t.mu.Unlock()

	key := fmt.Sprintf("%s|%s|%s|%v|%d|%d", progress, status, t.noticeText, lending, running, paused)
	if key == t.shown {
		return false
	}
	t.shown = key
	t.progress.Label = progress
	t.status.Label = status
	if t.setTooltip != nil {
		t.setTooltip("Dragonload: " + progress)
	}
	t.showIcon(running > 0, frac)
	// A tray menu draws a checkbox only on checked items, so the label
	// also says when lending is off.
	t.lend.Checked = lending
	if lending {
		t.lend.Label = LabelLend
	} else {
		t.lend.Label = LabelLendOff
	}
	t.pauseAll.Disabled = running == 0
	t.resumeAll.Disabled = paused == 0
	return true
}

// heard is a member's note and when it came.
type heard struct {
	note core.PeerNote
	at   time.Time
}

// noteLife is how long a note counts without a newer one: a member that
// downloads sends one a second.
const noteLife = 5 * time.Second

// statusLocked writes the peers line, and whom this node helps:
// "2 peers ready · helping laptop: ubuntu.iso 43 %". t.mu must be held.
func (t *Tray) statusLocked() string {
	ready := 0
	for _, r := range t.ready {
		if r {
			ready++
		}
	}
	var line string
	switch ready {
	case 0:
		line = "No peers"
	case 1:
		line = "1 peer ready"
	default:
		line = fmt.Sprintf("%d peers ready", ready)
	}
	if h := core.HelpingLine(t.helpingLocked(time.Now())); h != "" {
		line += " · " + h
	}
	return line
}

// helpingLocked is what this node helps with now, by member name; notes
// older than noteLife are forgotten. t.mu must be held.
func (t *Tray) helpingLocked(now time.Time) []core.PeerNote {
	var out []core.PeerNote
	for id, h := range t.helping {
		if now.Sub(h.at) > noteLife {
			delete(t.helping, id)
			continue
		}
		n := h.note
		n.Downloads = slices.DeleteFunc(slices.Clone(n.Downloads), func(d core.PeerDownload) bool { return !d.Helping })
		if len(n.Downloads) > 0 {
			out = append(out, n)
		}
	}
	slices.SortFunc(out, func(a, b core.PeerNote) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// progressLocked writes the progress line of the downloads that run (not
// paused, not ended) and returns the fraction done it shows, -1 when it
// shows none. The percent counts the downloads whose size is known; the
// time left, the bytes still to fetch over the total rate, needs every
// size (they share the links, so one finishing speeds the others up).
// t.mu must be held.
func (t *Tray) progressLocked() (string, float64) {
	active, paused := 0, 0
	var size, done, rate float64
	allKnown := true
	for _, d := range t.downloads {
		switch {
		case d.state == core.StatePaused:
			paused++
			continue
		case d.state.Final():
			continue
		}
		active++
		rate += d.rate
		if d.size <= 0 {
			allKnown = allKnown && d.size == 0
			continue
		}
		size += float64(d.size)
		done += float64(min(d.done, d.size))
	}
	if active == 0 {
		if paused > 0 {
			return fmt.Sprintf("%s · %d paused", LabelIdle, paused), -1
		}
		return LabelIdle, -1
	}
	parts := []string{"1 download"}
	if active > 1 {
		parts[0] = fmt.Sprintf("%d downloads", active)
	}
	frac := -1.0
	if size > 0 {
		frac = done / size
		parts = append(parts, fmt.Sprintf("%d %%", int(math.Floor(100*frac))))
	}
	if rate >= 1 {
		parts = append(parts, units.Rate(rate))
		if allKnown && size > done {
			left := time.Duration((size - done) / rate * float64(time.Second))
			parts = append(parts, units.Duration(left)+" left")
		}
	}
	return strings.Join(parts, " · "), frac
}

// download is what the progress line needs of one download.
type download struct {
	state      core.State
	size, done int64 // size -1 while unknown
	rate       float64
}

// download returns the entry of id, making one for a download the tray
// has not heard of (its Added came before the subscription). t.mu must be
// held.
func (t *Tray) download(id core.DownloadID) *download {
	d, ok := t.downloads[id]
	if !ok {
		d = &download{state: core.StateDownloading, size: -1}
		t.downloads[id] = d
	}
	return d
}

// layout puts the items into the menu: the notice only while there is one.
func (t *Tray) layout() {
	items := []*fyne.MenuItem{t.progress, t.status}
	if t.noticeText != "" {
		items = append(items, t.notice)
	}
	t.menu.Items = append(items, t.rest...)
}

// showIcon sets the busy icon, its bar at the step frac reaches, while
// downloads run, and the plain one when none do; it sets one only when the
// step changed, since every icon goes over D-Bus whole.
func (t *Tray) showIcon(busy bool, frac float64) {
	if t.icons == nil || t.setIcon == nil {
		return
	}
	step := idleStep
	if busy {
		step = t.icons.step(frac)
	}
	if step == t.iconShown {
		return
	}
	t.iconShown = step
	t.setIcon(t.icons.icon(step))
}
