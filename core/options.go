package core

import (
	"context"
	"fmt"

	"golang.org/x/time/rate"

	"github.com/dragonload/dragonload/core/config"
)

// The settings below are the ones a user turns in the app's Settings pane
// besides the room, the folders and the limits: whether downloads may use
// origins on this machine and its LAN, and two choices of the desktop
// front end (its theme, and whether it serves the aria2 RPC) that the
// engine only keeps, so that they live in the one settings file it owns.

// MinDownloadRate is the lowest download speed limit, in bytes per second
// (0.1 MB/s). Lower, every request of a download would get a trickle that
// the scheduler takes for a stalled source, and a lender would wait longer
// for the requester to read than a peer stream allows.
const MinDownloadRate = 100_000

// privateHint ends the message of a download refused by the SSRF guard:
// the setting lifts it, in the app and for every command that uses the
// same home folder.
const privateHint = `to allow it, turn on "Allow downloads from this LAN and this machine" in the app's Settings, or use --allow-private-origins`

// SetAllowPrivate lets this node's downloads fetch from loopback, private
// and link-local addresses (a NAS, a LAN mirror) or stops them, and
// remembers it. It holds for each connection made after the call. While
// the engine was started with Config.AllowPrivate (--allow-private-origins)
// they stay allowed for this run, whatever is saved. Room peers' requests
// are never opened by it: only the flag lets a lender fetch from private
// addresses, so a room member cannot reach into this machine's network.
func (e *Engine) SetAllowPrivate(on bool) {
	e.origin.SetAllowPrivate(on || e.cfg.AllowPrivate)
	e.updateSettings(func(s *config.Settings) { s.AllowPrivateOrigins = on })
}

// AllowPrivate reports whether this node's downloads may fetch from
// loopback and private addresses now: the setting, or the flag.
func (e *Engine) AllowPrivate() bool { return e.origin.AllowPrivate() }

// Theme is the desktop window's theme as the user chose it: "system",
// "light" or "dark" (config.ThemeSystem, ...).
func (e *Engine) Theme() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.settings.Theme == "" {
		return config.ThemeSystem
	}
	return e.settings.Theme
}

// SetTheme remembers the desktop window's theme: "system", "light" or
// "dark". The engine draws nothing; the window applies it.
func (e *Engine) SetTheme(name string) error {
	switch name {
	case config.ThemeSystem, config.ThemeLight, config.ThemeDark:
	default:
		return fmt.Errorf("theme %q: want %q, %q or %q", name, config.ThemeSystem, config.ThemeLight, config.ThemeDark)
	}
	e.updateSettings(func(s *config.Settings) { s.Theme = name })
	return nil
}

// RPCEnabled reports whether the user turned on the app's aria2 JSON-RPC
// server (served on 127.0.0.1:6800 by the app; see app/rpc).
func (e *Engine) RPCEnabled() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.settings.RPC
}

// SetRPCEnabled remembers whether the app serves the aria2 JSON-RPC. The
// engine serves nothing itself; the app starts and stops the server.
func (e *Engine) SetRPCEnabled(on bool) { e.updateSettings(func(s *config.Settings) { s.RPC = on }) }

// downloadRate is the download speed limit: one token bucket that every
// byte a download receives passes through, whichever download and source
// (this node's origin requests, lenders' streams, mirrors) it comes from,
// so that the limit holds for all of them together. SetLimits changes it
// while downloads run.
type downloadRate struct {
	l *rate.Limiter
}

// Shape of the bucket. A piece is what one wait lets through: a source
// hands over up to 64 KiB at a time, and waiting for a whole one under a
// low limit would hold each request silent long enough to look stalled.
// The burst is what may pass at once after an idle spell.
const (
	ratePiece = 16 << 10
	rateBurst = 64 << 10
)

func newDownloadRate(bps int64) *downloadRate {
	r := &downloadRate{l: rate.NewLimiter(rate.Inf, rateBurst)}
	r.set(bps)
	return r
}

// set changes the limit (bytes per second; 0 = none) for every byte
// waited for from now on.
func (r *downloadRate) set(bps int64) {
	if bps <= 0 {
		r.l.SetLimit(rate.Inf)
		return
	}
	r.l.SetLimit(rate.Limit(downloadRateFloor(bps)))
}

// wrap returns sink behind the limit: each slice is handed on in pieces,
// each once the bucket lets it through. It fails with ctx's error when
// ctx ends while waiting. Its shape is transfer.Config.Limit's.
func (r *downloadRate) wrap(ctx context.Context, sink func([]byte) error) func([]byte) error {
	return func(b []byte) error {
		for len(b) > 0 {
			lim := r.l.Limit()
			if lim == rate.Inf {
				return sink(b)
			}
			// About 16 pieces a second at low limits keep every request
			// moving; 16 KiB at high ones keep the waits few.
			n := min(len(b), max(min(int(lim/16), ratePiece), 1<<10))
			if err := r.l.WaitN(ctx, n); err != nil {
				if ctx.Err() != nil {
					return context.Cause(ctx)
				}
				return err
			}
			if err := sink(b[:n]); err != nil {
				return err
			}
			b = b[n:]
		}
		return nil
	}
}

// downloadRateFloor raises a positive limit to MinDownloadRate.
func downloadRateFloor(bps int64) int64 {
	if bps > 0 && bps < MinDownloadRate {
		return MinDownloadRate
	}
	return bps
}

// AskOpenedLinks reports whether the desktop app asks before it downloads
// a dragon:// link or a .dragon file that another program opened with it
// (a web page, a file manager): such a link may come from anyone, so by
// default the user sees what it fetches and says yes first.
func (e *Engine) AskOpenedLinks() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return !e.settings.TrustOpenedLinks
}

// SetAskOpenedLinks sets whether the app asks first, and remembers it.
func (e *Engine) SetAskOpenedLinks(ask bool) {
	e.updateSettings(func(s *config.Settings) { s.TrustOpenedLinks = !ask })
}
