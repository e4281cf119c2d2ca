package app

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"fyne.io/fyne/v2"
	fyneapp "fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/driver/desktop"

	"github.com/dragonload/dragonload/app/instance"
	"github.com/dragonload/dragonload/app/ui"
	"github.com/dragonload/dragonload/assets"
	"github.com/dragonload/dragonload/core"
	"github.com/dragonload/dragonload/core/config"
	"github.com/dragonload/dragonload/tray"
)

// ID is the application id: Fyne's preferences folder and the desktop
// entry's name follow it. It matches FyneApp.toml.
const ID = "io.github.dragonload.Dragonload"

// Options configure Run.
type Options struct {
	// Logger receives the app's log lines; nil discards them.
	Logger *slog.Logger
	// RPC is the aria2 JSON-RPC server Settings turns on and off; nil
	// leaves it out of Settings.
	RPC ui.RPCSwitch
}

// Run opens the desktop app on eng and blocks until the user quits. args
// are sources to queue at once: URLs, dragon:// links, paths of .dragon
// files or of text files of links, or file:// URIs of those (what a file
// manager passes through the desktop entry's %U). Run must be called on
// the main goroutine, and the caller closes eng after it returns.
func Run(eng *core.Engine, args []string, opts Options) error {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ln, err := claim(eng.Home(), log)
	if errors.Is(err, instance.ErrRunning) {
		// Another app started between HandOff and now: give it our work.
		path, perr := instance.Path(eng.Home())
		if perr != nil {
			return perr
		}
		return instance.Send(path, absArgs(args))
	}
	if err != nil {
		log.Warn("running without the single-instance socket", "err", err)
	}

	a := fyneapp.NewWithID(ID)
	a.SetIcon(fyne.NewStaticResource("dragonload.png", assets.Icon))
	a.Settings().SetTheme(ui.ThemeNamed(eng.Theme())) // Settings changes it live
	w := a.NewWindow("Dragonload")
	w.Resize(ui.DefaultSize)
	w.CenterOnScreen()

	show := func() {
		w.Show()
		w.RequestFocus()
	}
	// Closing the window (its close button or Ctrl+W) hides it while a
	// tray icon can bring it back, and quits otherwise.
	desk, isDesktop := a.(desktop.App)
	busErr := tray.SessionBus()
	withTray := busErr == nil && isDesktop
	// quit stops the window and the tray from drawing before it asks the
	// Fyne loop to end: once the loop has ended, Fyne runs what they queue
	// on their own goroutines, off the main thread.
	var u *ui.UI
	var tr *tray.Tray
	quit := func() {
		u.Detach()
		if tr != nil {
			tr.Detach()
		}
		a.Quit()
	}
	closeWindow := quit
	if withTray {
		closeWindow = func() {
			log.Info("window closed; still running in the tray")
			w.Hide()
		}
	} else {
		log.Info("no tray icon: closing the window quits", "reason", errOr(busErr, "not a desktop driver"))
	}
	// Desktop notifications need a notification service: without one
	// Fyne logs "Failed to send message to bus" and nothing shows, so the
	// window (a banner) and the tray menu show them instead.
	notifyErr := tray.NotificationService()
	if notifyErr != nil {
		log.Info("no notification service: notifications show in the window", "reason", notifyErr)
	}
	notifier := ui.NewNotifier(a, notifyErr == nil)
	a.Lifecycle().SetOnEnteredForeground(func() { notifier.Foreground(true) })
	a.Lifecycle().SetOnExitedForeground(func() { notifier.Foreground(false) })
	u = ui.New(a, w, eng, ui.Options{
		Logger:    log.With("part", "window"),
		Icon:      a.Icon(),
		Onboard:   !eng.Onboarded(),
		Onboarded: eng.SetOnboarded,
		Quit:      quit,
		Close:     closeWindow,
		RPC:       opts.RPC,
		Autostart: loginItem{home: eng.Home()},
		Notifier:  notifier,
	})

	if withTray {
		tr = tray.New(eng, tray.Options{Open: show, Quit: quit, Logger: log.With("part", "tray")})
		tr.Install(desk, fyne.NewStaticResource("dragonload-tray.png", assets.TrayIcon))
		notifier.SetAway(tr.SetNotice)
		// Clicking the icon shows the window; this also sets a close
		// intercept, which the next line replaces with ours (same effect,
		// plus the log line).
		desk.SetSystemTrayWindow(w)
	}
	w.SetCloseIntercept(closeWindow)

	var serving sync.WaitGroup
	if ln != nil {
		serving.Add(1)
		go func() {
			defer serving.Done()
			err := ln.Serve(func(args []string) {
				fyne.Do(func() {
					u.Open(args)
					show()
				})
			})
			if err != nil {
				log.Warn("single-instance socket stopped", "err", err)
			}
		}()
	}

	// However the loop ends (a signal, the desktop session), nothing may
	// touch a widget or the tray menu once it has.
	a.Lifecycle().SetOnStopped(func() {
		u.Detach()
		if tr != nil {
			tr.Detach()
		}
	})
	a.Lifecycle().SetOnStarted(func() {
		u.Start()
		if tr != nil {
			tr.Start()
		}
		u.Open(args)
	})
	w.Show()
	a.Run()

	if ln != nil {
		ln.Close()
		serving.Wait()
	}
	if tr != nil {
		tr.Stop()
	}
	u.Stop()
	return nil
}

// HandOff passes args to the app already running for home ("" = the
// default home, as the engine resolves it) and reports handled = true, in
// which case the caller exits 0. With no app running it claims the
// single-instance socket for the Run that follows and reports false.
func HandOff(home string, args []string) (handled bool, err error) {
	if home == "" {
		if home, err = config.DefaultHome(); err != nil {
			return false, err
		}
	}
	path, err := instance.Path(home)
	if err != nil {
		return false, err
	}
	abs := absArgs(args)
	// Two tries: a launch racing ours may claim the socket in between.
	for range 2 {
		err = instance.Send(path, abs)
		if err == nil {
			return true, nil
		}
		if !errors.Is(err, instance.ErrNotRunning) {
			return false, err
		}
		ln, lerr := instance.Listen(path, nil)
		if errors.Is(lerr, instance.ErrRunning) {
			continue
		}
		if lerr != nil {
			// No single instance, but the app itself can still run.
			return false, nil
		}
		keep(home, ln)
		return false, nil
	}
	return false, err
}

// sent hands args to an app running for home, if there is one; it claims
// nothing.
func sent(home string, args []string) bool {
	if home == "" {
		var err error
		if home, err = config.DefaultHome(); err != nil {
			return false
		}
	}
	path, err := instance.Path(home)
	return err == nil && instance.Send(path, absArgs(args)) == nil
}

// claimed holds the socket HandOff claimed until Run takes it.
var claimed struct {
	sync.Mutex
	home string
	ln   *instance.Listener
}

func keep(home string, ln *instance.Listener) {
	claimed.Lock()
	defer claimed.Unlock()
	if claimed.ln != nil {
		claimed.ln.Close()
	}
	claimed.home, claimed.ln = home, ln
}

// claim returns the socket HandOff claimed for home, or claims it now.
func claim(home string, log *slog.Logger) (*instance.Listener, error) {
	claimed.Lock()
	ln, h := claimed.ln, claimed.home
	claimed.ln = nil
	claimed.Unlock()
	if ln != nil && sameDir(h, home) {
		return ln, nil
	}
	if ln != nil {
		ln.Close()
	}
	path, err := instance.Path(home)
	if err != nil {
		return nil, err
	}
	return instance.Listen(path, log)
}

// absArgs makes paths of existing files absolute, since the running app
// has another working folder; links and anything else pass unchanged.
func absArgs(args []string) []string {
	out := make([]string, 0, len(args))
	for _, a := range args {
		if !strings.Contains(a, "://") {
			if _, err := os.Stat(a); err == nil {
				if abs, err := filepath.Abs(a); err == nil {
					a = abs
				}
			}
		}
		out = append(out, a)
	}
	return out
}

func sameDir(a, b string) bool {
	aa, err1 := filepath.Abs(a)
	bb, err2 := filepath.Abs(b)
	return err1 == nil && err2 == nil && aa == bb
}

func errOr(err error, s string) string {
	if err != nil {
		return err.Error()
	}
	return s
}

// Desktop is the whole desktop start-up in the shape cli.Desktop takes:
// hand off to a running app, or build the engine, run the app and close
// the engine when the user quits. main.go passes it to cli.Main.
func Desktop(cfg core.Config, sources []string, rpcAddr string, log *slog.Logger) error {
	// A running app takes the sources whether or not this session has a
	// display (a link opened over ssh goes to the desktop's app); without
	// one, nothing else starts.
	if sent(cfg.Home, sources) {
		return nil
	}
	probe, err := checkDisplay()
	if err != nil {
		return err
	}
	defer probe.Close() // once the window has closed; see checkDisplay
	handled, err := HandOff(cfg.Home, sources)
	if err != nil {
		if log != nil {
			log.Warn("cannot reach a running app; starting another", "err", err)
		}
	} else if handled {
		return nil
	}
	if cfg.Logger == nil {
		cfg.Logger = log
	}
	cfg.KeepList = true // the app remembers its downloads across restarts
	eng, err := core.New(cfg)
	if err != nil {
		return err
	}
	// The RPC is off unless --rpc ADDR or Settings turned it on.
	rpcs := newRPCSwitch(eng, rpcAddr, log)
	if err := rpcs.start(rpcAddr != ""); err != nil {
		eng.Close()
		return err
	}
	runErr := Run(eng, sources, Options{Logger: log, RPC: rpcs})
	rpcs.close() // before the engine it serves
	if err := eng.Close(); err != nil && runErr == nil {
		runErr = fmt.Errorf("cannot shut the engine down cleanly: %w", err)
	}
	return runErr
}
