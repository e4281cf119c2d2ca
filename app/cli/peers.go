package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/dragonload/dragonload/core"
)

func runPeers(args []string, env Env) int {
	fs, c := newFlags("peers", env)
	wait := fs.Duration("wait", 3*time.Second, "")
	pos, err := parse(fs, args)
	if err != nil {
		return usageError(env, "peers", err)
	}
	if len(pos) > 0 {
		return usageError(env, "peers", fmt.Errorf("peers takes no arguments, got %q", pos[0]))
	}
	if *wait < 0 || *wait > time.Hour {
		return usageError(env, "peers", fmt.Errorf("--wait %v is out of range (0 to 1h)", *wait))
	}
	// The wait counts from the start of the command, start-up included, so
	// `peers --wait 3s` answers in about three seconds.
	deadline := time.After(*wait)
	eng, ctx, done, code := lookOnly(env, "peers", c)
	if eng == nil {
		return code
	}
	defer done()
	select {
	case <-ctx.Done():
		return ExitInterrupted
	case <-deadline:
	}
	var ready []core.PeerInfo
	for _, p := range eng.Peers() {
		if p.Ready {
			ready = append(ready, p)
		}
	}
	if len(ready) == 0 {
		fmt.Fprintf(env.Stderr, "No peers of this room found after %v. If multicast is blocked on this network (common on Wi-Fi), add a peer by address: --peer HOST:4700.\n", *wait)
		return ExitOK
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tNODE\tADDRESS\tLENDING\tRTT\tFOUND BY")
	for _, p := range ready {
		lending := "no"
		switch {
		case p.Banned != "":
			lending = "banned" // this node no longer uses it; see the settings file
		case p.Lending:
			lending = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", p.Name, p.ID[:8], p.Addr, lending, p.RTT.Round(100*time.Microsecond), p.Source)
	}
	tw.Flush()
	return ExitOK
}

// lookOnly starts the engine of a command that only looks at the room
// (peers, search): it lends nothing and keeps no download list. It
// returns a nil engine and the exit code when it cannot start; else the
// engine, a context that ends on an interrupt, and what to call at the end.
func lookOnly(env Env, cmd string, c *common) (*core.Engine, context.Context, func(), int) {
	log, err := c.logger(env, slog.LevelWarn)
	if err != nil {
		return nil, nil, nil, usageError(env, cmd, err)
	}
	if c.rpc != "" {
		return nil, nil, nil, usageError(env, cmd, errors.New("--rpc is for the app and the agent, which keep running"))
	}
	cfg, err := c.config(log)
	if err != nil {
		return nil, nil, nil, usageError(env, cmd, err)
	}
	lend := false
	cfg.Lending = &lend
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	eng, err := core.New(cfg)
	if err != nil {
		stop()
		return nil, nil, nil, fail(env, ExitFailed, err)
	}
	return eng, ctx, func() { eng.Close(); stop() }, ExitOK
}
