package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
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
