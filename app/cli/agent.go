package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/dragonload/dragonload/app/rpc"
	"github.com/dragonload/dragonload/core"
)

func runAgent(args []string, env Env) int {
	fs, c := newFlags("agent", env)
	pos, err := parse(fs, args)
	if err != nil {
		return usageError(env, "agent", err)
	}
	if len(pos) > 0 {
		return usageError(env, "agent", fmt.Errorf("agent takes no arguments, got %q", pos[0]))
	}
	log, err := c.logger(env, slog.LevelInfo)
	if err != nil {
		return usageError(env, "agent", err)
	}
	cfg, err := c.config(log)
	if err != nil {
		return usageError(env, "agent", err)
	}
	if c.rpc != "" {
		if err := rpc.CheckAddr(c.rpc); err != nil {
			return usageError(env, "agent", fmt.Errorf("--rpc %w", err))
		}
	}
	preferAppPort(&cfg)
	cfg.KeepList = true // the agent remembers its downloads across restarts
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
	if c.rpc != "" {
		srv, err := rpc.Start(eng, eng.Home(), c.rpc, VersionString(), log.With("pkg", "rpc"))
		if err != nil {
			return fail(env, ExitFailed, fmt.Errorf("cannot serve the aria2 RPC on %s: %w", c.rpc, err))
		}
		defer srv.Close() // deferred after eng.Close, so it runs first
	}
	if len(c.room) > 0 && roomWeak(c.room) {
		log.Warn("the room code is short: anyone who records your traffic may guess it; prefer a generated code (run without --room once)")
	}
	log.Info("agent running", "node", eng.NodeID()[:8], "name", eng.Name(), "listen", eng.Addr(),
		"lending", eng.Lending(), "watch", eng.WatchDir(), "out", eng.OutDir())

	events, cancel := eng.Subscribe()
	defer cancel()
	help := helpLog{log: log}
	for {
		select {
		case <-ctx.Done():
			log.Info("agent stopping")
			return ExitOK
		case ev, ok := <-events:
			if !ok {
				return ExitOK
			}
			logEvent(log, ev)
			if n, ok := ev.(core.PeerNote); ok {
				help.note(n)
			}
		}
	}
}

// helpLog logs whom the agent helps, from members' notes: a line when it
// starts helping with a download, every helpStep percent of it, and when
// the download stops, so that a log read later tells the whole story
// without a line a second.
type helpLog struct {
	log  *slog.Logger
	last map[string]int // member and file → last percent logged
}

// helpStep is how far a helped download moves between two log lines.
const helpStep = 10

func (h *helpLog) note(n core.PeerNote) {
	if h.last == nil {
		h.last = make(map[string]int)
	}
	now := make(map[string]bool)
	for _, d := range n.Downloads {
		if !d.Helping {
			continue
		}
		key := n.Peer + "\x00" + d.File
		now[key] = true
		p := d.Percent()
		last, seen := h.last[key]
		if seen && p-last < helpStep {
			continue
		}
		h.last[key] = p
		h.log.Info(core.HelpingLine([]core.PeerNote{{Name: n.Name, Downloads: []core.PeerDownload{d}}}), "peer", n.Peer[:min(8, len(n.Peer))])
	}
	for key := range h.last {
		peer, file, _ := strings.Cut(key, "\x00")
		if peer == n.Peer && !now[key] {
			delete(h.last, key)
			h.log.Info("no longer helping "+n.Name+": "+file, "peer", peer[:min(8, len(peer))])
		}
	}
}

// logEvent writes the events an operator cares about as log lines.
func logEvent(log *slog.Logger, ev core.Event) {
	switch ev := ev.(type) {
	case core.DownloadStateChanged:
		switch ev.State {
		case core.StateFailed:
			log.Error("download failed", "id", ev.ID, "err", ev.Err)
		case core.StateDone:
			log.Info("download done", "id", ev.ID, "path", ev.Path)
		default:
			log.Info("download "+ev.State.String(), "id", ev.ID)
		}
	case core.Notice:
		switch ev.Level {
		case "error":
			log.Error(ev.Text)
		case "warn":
			log.Warn(ev.Text)
		default:
			log.Info(ev.Text)
		}
	case core.LendingChanged:
		log.Info("lending changed", "on", ev.On)
	}
}
