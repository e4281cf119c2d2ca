package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/dragonload/dragonload/app/units"
	"github.com/dragonload/dragonload/core"
	"github.com/dragonload/dragonload/quicwire"
)

func runGet(args []string, env Env) int {
	fs, c := newFlags("get", env)
	eventsPath := fs.String("events", "", "")
	pos, err := parse(fs, args)
	if err != nil {
		return usageError(env, "get", err)
	}
	if len(pos) != 1 {
		return usageError(env, "get", fmt.Errorf("get takes exactly one URL, .dragon file or dragon:// link, got %d arguments", len(pos)))
	}
	level := slog.LevelInfo
	if env.IsTTY {
		level = slog.LevelWarn // the progress display says it all
	}
	log, err := c.logger(env, level)
	if err != nil {
		return usageError(env, "get", err)
	}
	if c.rpc != "" {
		return usageError(env, "get", errors.New("--rpc is for the app and the agent, which keep running"))
	}
	cfg, err := c.config(log)
	if err != nil {
		return usageError(env, "get", err)
	}
	l, err := core.ParseSource(pos[0])
	if err != nil {
		return fail(env, ExitUsage, err)
	}
	if cfg.OutDir == "" {
		cfg.OutDir = "."
	}
	lend := false
	cfg.Lending = &lend
	if c.room != "" && roomWeak(c.room) {
		log.Warn("the room code is short: anyone who records your traffic may guess it; prefer a generated code")
	}

	var evOut io.WriteCloser
	if *eventsPath != "" {
		f, err := os.Create(*eventsPath)
		if err != nil {
			return fail(env, ExitFailed, fmt.Errorf("cannot write events: %w", err))
		}
		evOut = f
		defer f.Close()
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	eng, err := core.New(cfg)
	if err != nil {
		return fail(env, ExitFailed, err)
	}
	defer eng.Close()
	if eng.FirstRun() {
		printJoinHint(env, eng)
	}
	events, cancel := eng.Subscribe()
	defer cancel()
	began := time.Now()
	id, err := eng.AddLink(l, cfg.OutDir)
	if err != nil {
		return fail(env, ExitUsage, err)
	}
	var view display = &logDisplay{out: env.Stderr}
	if env.IsTTY {
		view = newBarDisplay(env.Stderr)
	}
	defer view.close()
	var last core.DownloadProgress // the latest progress of this download
	for {
		select {
		case <-ctx.Done():
			view.close()
			fmt.Fprintln(env.Stderr, "dragonload: interrupted; run the same command again to resume where it stopped.")
			return ExitInterrupted
		case ev, ok := <-events:
			if !ok {
				return fail(env, ExitFailed, errors.New("the engine stopped unexpectedly"))
			}
			if evOut != nil {
				writeEvent(evOut, ev)
			}
			if _, ok := ev.(core.Resync); ok {
				// Events were lost, perhaps this download's end: read
				// its state back rather than wait for it forever.
				if sc, ok := stateOf(eng.Downloads(), id); ok {
					ev = sc
				}
			}
			switch ev := ev.(type) {
			case core.DownloadProgress:
				if ev.ID == id {
					last = ev
					view.progress(ev)
				}
			case core.DownloadStateChanged:
				if ev.ID != id {
					continue
				}
				switch ev.State {
				case core.StateDone:
					view.close()
					fmt.Fprintln(env.Stderr, doneLine(ev.Path, finalShares(eng.Downloads(), id, last), time.Since(began)))
					// stdout is the path alone: scripts read it.
					fmt.Fprintln(env.Stdout, ev.Path)
					return ExitOK
				case core.StateFailed:
					view.close()
					return fail(env, ExitFailed, ev.Err)
				case core.StateCanceled:
					view.close()
					return fail(env, ExitFailed, errors.New("the download was canceled"))
				default:
					view.state(ev.State)
				}
			case core.Notice:
				view.notice(ev)
			case core.PeerReady:
				log.Info("peer ready", "name", ev.Peer.Name, "addr", ev.Peer.Addr, "lending", ev.Peer.Lending)
			case core.PeerLost:
				if ev.Peer.ID == "" {
					// An address that stopped being dialed, never a peer.
					log.Debug("peer address dropped", "addr", ev.Peer.Addr, "reason", ev.Reason)
				} else {
					log.Info("peer lost", "name", ev.Peer.Name, "addr", ev.Peer.Addr, "reason", ev.Reason)
				}
			}
		}
	}
}

func roomWeak(code string) bool { return quicwire.RoomCodeWeak(code) }

// stateOf returns download id's state in snapshots as the state change that
// led to it.
func stateOf(snapshots []core.DownloadSnapshot, id core.DownloadID) (core.DownloadStateChanged, bool) {
	for _, s := range snapshots {
		if s.ID == id {
			return core.DownloadStateChanged{ID: id, State: s.State, Err: s.Err, Path: s.Path}, true
		}
	}
	return core.DownloadStateChanged{}, false
}

// writeEvent appends one event as a JSON line: {"t":..., "type":..., fields}.
func writeEvent(w io.Writer, ev core.Event) {
	v := reflect.ValueOf(ev)
	m := map[string]any{
		"t":    time.Now().UTC().Format(time.RFC3339Nano),
		"type": v.Type().Name(),
	}
	for i := 0; i < v.NumField(); i++ {
		f, val := v.Type().Field(i), v.Field(i).Interface()
		if err, ok := val.(error); ok {
			val = err.Error()
		}
		m[f.Name] = val
	}
	line, err := json.Marshal(m)
	if err != nil {
		return
	}
	w.Write(append(line, '\n'))
}

// display shows a download's progress: bars on a terminal, log lines
// otherwise.
type display interface {
	progress(core.DownloadProgress)
	state(core.State)
	notice(core.Notice)
	close()
}

// logDisplay prints a progress line every few seconds, for pipes and logs.
type logDisplay struct {
	out  io.Writer
	last time.Time
}

const logEvery = 2 * time.Second

func (d *logDisplay) progress(p core.DownloadProgress) {
	if time.Since(d.last) < logEvery && (p.Size <= 0 || p.Done < p.Size) {
		return
	}
	d.last = time.Now()
	fmt.Fprintf(d.out, "%s: %s\n", p.Name, summary(p))
}

func (d *logDisplay) state(s core.State) { fmt.Fprintf(d.out, "download %s\n", s) }
func (d *logDisplay) notice(n core.Notice) {
	fmt.Fprintf(d.out, "%s: %s\n", n.Level, n.Text)
}
func (d *logDisplay) close() {}

// waitingText says until when the server asked to wait (Retry-After).
func waitingText(until time.Time) string {
	until = until.Local()
	layout := "15:04"
	if until.Format("2006-01-02") != time.Now().Format("2006-01-02") {
		layout = "2006-01-02 15:04"
	}
	return "waiting for the server until " + until.Format(layout)
}

// summary is one line: total, rate, ETA and each peer's share.
func summary(p core.DownloadProgress) string {
	var b strings.Builder
	if p.Size > 0 {
		fmt.Fprintf(&b, "%s of %s (%.1f%%)", units.Bytes(p.Done), units.Bytes(p.Size), 100*float64(p.Done)/float64(p.Size))
	} else {
		b.WriteString(units.Bytes(p.Done))
	}
	if !p.WaitUntil.IsZero() {
		b.WriteString(", " + waitingText(p.WaitUntil))
		return b.String()
	}
	if p.Rate >= 1 {
		b.WriteString(" at " + units.Rate(p.Rate))
	}
	if p.ETA > 0 {
		fmt.Fprintf(&b, ", %s left", units.Duration(p.ETA))
	}
	if len(p.Peers) > 0 && p.Done > 0 {
		b.WriteString("; ")
		for i, s := range p.Peers {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s %.0f%%", s.Name, 100*float64(s.Bytes)/float64(max(p.Done, 1)))
		}
	}
	return b.String()
}

// finished is what the summary line of a finished download says.
type finished struct {
	size   int64            // the file's size; -1 unknown
	shares []core.PeerShare // who fetched how much in this run
}

// finalShares reads the finished download's size and shares from the
// engine's snapshot, falling back on its last progress event.
func finalShares(snaps []core.DownloadSnapshot, id core.DownloadID, last core.DownloadProgress) finished {
	f := finished{size: last.Size, shares: last.Peers}
	for _, s := range snaps {
		if s.ID == id {
			if s.Size >= 0 {
				f.size = s.Size
			}
			if len(s.Peers) > 0 {
				f.shares = s.Peers
			}
		}
	}
	return f
}

// doneLine is the summary a finished get prints before the path, like
// aria2c's: the name as saved, the size, the time taken, the average speed
// and where the bytes came from.
//
//	big.iso: 4.70 GB in 2m 05s at 37.6 MB/s average; from lab-2 40%, this machine 35%, lab-3 25%
//
// The time is this run's; bytes an earlier run left in the partial file
// are said apart, and the average counts only what this run fetched.
func doneLine(path string, f finished, took time.Duration) string {
	if fi, err := os.Stat(path); err == nil {
		f.size = fi.Size()
	}
	var fetched int64
	for _, s := range f.shares {
		fetched += max(s.Bytes, 0)
	}
	var b strings.Builder
	b.WriteString(filepath.Base(path) + ": " + units.Bytes(f.size))
	if f.size > 0 && fetched < f.size {
		fmt.Fprintf(&b, " (%s fetched now, the rest by an earlier run)", units.Bytes(fetched))
	}
	b.WriteString(" in " + units.Duration(took))
	if rate := float64(fetched) / took.Seconds(); took >= time.Second && rate >= 1 {
		b.WriteString(" at " + units.Rate(rate) + " average")
	}
	if fetched > 0 {
		b.WriteString("; from " + sharesText(f.shares, fetched))
	}
	return b.String()
}

// sharesText lists each source's share of total, largest first.
func sharesText(shares []core.PeerShare, total int64) string {
	sorted := slices.Clone(shares)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Bytes > sorted[j].Bytes })
	labels := map[string]int{}
	for _, s := range sorted {
		labels[shareLabel(s)]++
	}
	copies := slices.ContainsFunc(sorted, func(s core.PeerShare) bool { return s.Copy && s.Bytes > 0 })
	var parts []string
	for _, s := range sorted {
		if s.Bytes <= 0 {
			continue
		}
		label := shareLabel(s)
		if copies && !s.Copy {
			// Beside LAN copies, say which bytes crossed the internet.
			label = "internet via " + label
		}
		if labels[label] > 1 && s.Peer != core.SelfPeer {
			// Two machines with one name: tell them apart by node.
			label += " (" + shortNode(strings.TrimPrefix(s.Peer, "copy:")) + ")"
		}
		parts = append(parts, fmt.Sprintf("%s %.0f%%", label, 100*float64(s.Bytes)/float64(total)))
	}
	return strings.Join(parts, ", ")
}

// shareLabel names a source for people: "this machine" for our own
// fetches, else the peer's display name or, without one, its node; and
// "LAN copy from" a peer whose copy of the file served the bytes.
func shareLabel(s core.PeerShare) string {
	name := s.Name
	switch {
	case s.Peer == core.SelfPeer:
		name = "this machine"
	case name == "":
		name = shortNode(strings.TrimPrefix(s.Peer, "copy:"))
	}
	if s.Copy {
		return "LAN copy from " + name
	}
	return name
}

func shortNode(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}
