package app

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/dragonload/dragonload/app/autostart"
	"github.com/dragonload/dragonload/app/cli"
	"github.com/dragonload/dragonload/app/rpc"
	"github.com/dragonload/dragonload/core"
)

// The app's side of two switches in the Settings pane: the aria2 RPC
// server, which the app runs, and the login item. The window (package
// ui) sees them as ui.RPCSwitch and ui.LoginItem.

// rpcSwitch serves the aria2 JSON-RPC while the user wants it: from the
// start when the app was started with --rpc ADDR (for that run) or the
// setting is on, and as the user turns it on and off in Settings (which
// is remembered). It serves on the --rpc address, else on aria2's
// default, 127.0.0.1:6800, where browser extensions look first.
type rpcSwitch struct {
	eng  *core.Engine
	log  *slog.Logger
	addr string

	mu  sync.Mutex
	srv *rpc.Server // nil while off
}

func newRPCSwitch(eng *core.Engine, flagAddr string, log *slog.Logger) *rpcSwitch {
	addr := flagAddr
	if addr == "" {
		addr = rpc.DefaultAddr
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &rpcSwitch{eng: eng, log: log.With("pkg", "rpc"), addr: addr}
}

// start serves at start-up when --rpc was given (flag) or the setting is
// on. A server the flag asked for must start; one the setting asked for
// may find the port taken (aria2 itself running), which is logged and
// leaves the switch off.
func (r *rpcSwitch) start(flag bool) error {
	if !flag && !r.eng.RPCEnabled() {
		return nil
	}
	err := r.serve()
	if err != nil && !flag {
		r.log.Warn("the aria2 RPC is on in Settings but cannot start", "addr", r.addr, "err", err)
		return nil
	}
	return err
}

// Enabled reports whether the server runs.
func (r *rpcSwitch) Enabled() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.srv != nil
}

// SetEnabled starts or stops the server and remembers the choice; a
// server that cannot start changes nothing.
func (r *rpcSwitch) SetEnabled(on bool) error {
	if on {
		if err := r.serve(); err != nil {
			return err
		}
	} else {
		r.close()
	}
	r.eng.SetRPCEnabled(on)
	return nil
}

// Addr is where the server listens, or would.
func (r *rpcSwitch) Addr() string { return r.addr }

// Secret is the token clients send: the one the server uses.
func (r *rpcSwitch) Secret() (string, error) { return rpc.LoadOrCreateSecret(r.eng.Home()) }

func (r *rpcSwitch) serve() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.srv != nil {
		return nil
	}
	srv, err := rpc.Start(r.eng, r.eng.Home(), r.addr, cli.VersionString(), r.log)
	if err != nil {
		return fmt.Errorf("cannot serve the aria2 RPC on %s: %w", r.addr, err)
	}
	r.srv = srv
	return nil
}

// close stops the server, if it runs. Call it before the engine closes.
func (r *rpcSwitch) close() {
	r.mu.Lock()
	srv := r.srv
	r.srv = nil
	r.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

// loginItem starts this program with this home folder at login.
type loginItem struct{ home string }

func (l loginItem) Enabled() (bool, error) { return autostart.Enabled() }

func (l loginItem) SetEnabled(on bool) error {
	if !on {
		return autostart.Disable()
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("cannot find this program's path: %w", err)
	}
	return autostart.Enable(exe, loginArgs(l.home))
}

// loginArgs are the arguments a login start needs: the home folder,
// unless it is the default one. A login session has not got this shell's
// DRAGONLOAD_HOME, so a home set by it is passed as --home.
func loginArgs(home string) []string {
	if base, err := os.UserConfigDir(); err == nil && sameDir(home, filepath.Join(base, "dragonload")) {
		return nil
	}
	if abs, err := filepath.Abs(home); err == nil {
		home = abs
	}
	return []string{"--home", home}
}
