package tray

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"

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
)

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

	menu                                          *fyne.Menu
	status, lend, open, pauseAll, resumeAll, quit *fyne.MenuItem

	mu        sync.Mutex
	downloads map[core.DownloadID]core.State
	rates     map[core.DownloadID]float64
	ready     map[string]bool
	lending   bool
	shown     string // the status line and switches the menu last showed
	cancel    func()
	done      chan struct{}
	stopped   atomic.Bool // set by Stop: a queued refresh is dropped
}

// New builds the tray menu for eng. It touches no tray yet: see Install.
func New(eng Engine, opts Options) *Tray {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := &Tray{
		eng: eng, opts: opts, log: log, do: fyne.Do,
		downloads: make(map[core.DownloadID]core.State),
		rates:     make(map[core.DownloadID]float64),
		ready:     make(map[string]bool),
	}
	t.status = fyne.NewMenuItem("", nil)
	t.status.Disabled = true
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
	t.menu = fyne.NewMenu("Dragonload",
		t.status,
		fyne.NewMenuItemSeparator(),
		t.lend,
		fyne.NewMenuItemSeparator(),
		t.open, t.pauseAll, t.resumeAll,
		fyne.NewMenuItemSeparator(),
		t.quit,
	)
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

// Install puts the menu and icon into the desktop's tray.
func (t *Tray) Install(d desktop.App, icon fyne.Resource) {
	d.SetSystemTrayMenu(t.menu)
	if icon != nil {
		d.SetSystemTrayIcon(icon)
	}
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

// StatusText is the status line the menu shows now.
func (t *Tray) StatusText() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.statusLocked()
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
	clear(t.rates) // a snapshot has none; the next progress brings them
	clear(t.ready)
	for _, d := range t.eng.Downloads() {
		t.downloads[d.ID] = d.State
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
			if changed {
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
		t.downloads[ev.ID] = core.StateQueued
	case core.DownloadStateChanged:
		t.downloads[ev.ID] = ev.State
		if ev.State != core.StateDownloading {
			delete(t.rates, ev.ID)
		}
	case core.DownloadProgress:
		t.rates[ev.ID] = ev.Rate
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
	case core.LendingChanged:
		t.lending = ev.On
	case core.Resync:
		t.seedLocked()
	}
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

// update sets the items from the state and reports whether anything changed.
func (t *Tray) update() bool {
	t.mu.Lock()
	status := t.statusLocked()
	lending := t.lending
	running, paused := 0, 0
	for _, s := range t.downloads {
		switch {
		case s == core.StatePaused:
			paused++
		case !s.Final():
			running++
		}
	}
	t.mu.Unlock()

	key := fmt.Sprintf("%s|%v|%d|%d", status, lending, running, paused)
	if key == t.shown {
		return false
	}
	t.shown = key
	t.status.Label = status
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

func (t *Tray) statusLocked() string {
	ready := 0
	for _, r := range t.ready {
		if r {
			ready++
		}
	}
	var parts []string
	switch ready {
	case 0:
		parts = append(parts, "No peers")
	case 1:
		parts = append(parts, "1 peer ready")
	default:
		parts = append(parts, fmt.Sprintf("%d peers ready", ready))
	}
	active := 0
	var rate float64
	for id, s := range t.downloads {
		if !s.Final() && s != core.StatePaused {
			active++
			rate += t.rates[id]
		}
	}
	if active == 0 {
		parts = append(parts, "idle")
	} else {
		parts = append(parts, fmt.Sprintf("%d downloading", active))
		if rate >= 1 {
			parts = append(parts, rateText(rate))
		}
	}
	return strings.Join(parts, " · ")
}

// rateText writes bytes per second in decimal units, as the window does.
func rateText(bps float64) string {
	units := []string{"B/s", "kB/s", "MB/s", "GB/s", "TB/s"}
	i := 0
	for bps >= 999.5 && i < len(units)-1 {
		bps /= 1000
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0f %s", bps, units[i])
	}
	return fmt.Sprintf("%.2f %s", bps, units[i])
}
