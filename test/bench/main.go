package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/dragonload/dragonload/test/netbed"
	testorigin "github.com/dragonload/dragonload/test/origin"
)

// config is the command line.
type config struct {
	out        string        // where RESULTS.md and speedup.png go
	bin        string        // the dragonload binary; built when missing
	work       string        // logs, homes and downloads; "" = a temporary folder
	keep       bool          // keep the work folder even when every run passed
	scenarios  string        // which of allScenarios to run
	size       int64         // file size for a, b, c, h
	lanSize    int64         // file size for d, k and l
	memSize    int64         // file size for e
	pairSize   int64         // file size for i
	sharedSize int64         // file size for j
	manySize   int64         // file size for m, p and o's long run
	smallSize  int64         // file size for n
	ttfbSize   int64         // file size for o's short run and q
	wan        int64         // WAN rate for a, b, c, h, i, k's lenders, n, o, q, and the shared uplink of j; bits per second
	slowWAN    int64         // the straggler's WAN rate in b
	manyWAN    int64         // WAN rate of every host in m
	mixedWAN   []int64       // WAN rates of h1, h2, ... in p
	lan        int64         // LAN rate for d, k and l's shaped runs
	copyLAN    int64         // LAN rate of h1 and h2 in h; 0 = unshaped
	latency    time.Duration // origin latency per request
	ttfb       time.Duration // origin latency per request in o
	timeout    time.Duration // the whole bench
}

// allScenarios are the scenarios -scenarios picks from; f and g are
// measured in every run.
const allScenarios = "abcdehijklmnopq"

func main() {
	var cfg config
	var size, lanSize, memSize, pairSize, sharedSize, manySize, smallSize, ttfbSize, wan, slowWAN, manyWAN, mixedWAN, lan, copyLAN string
	flag.StringVar(&cfg.out, "out", "test/bench", "folder for RESULTS.md and speedup.png")
	flag.StringVar(&cfg.bin, "bin", "bin/dragonload", "dragonload binary (built with go build when missing)")
	flag.StringVar(&cfg.work, "work", "", "folder for logs, homes and downloads (default: a new temporary folder)")
	flag.BoolVar(&cfg.keep, "keep", false, "keep the work folder even if every run passed")
	flag.StringVar(&cfg.scenarios, "scenarios", allScenarios, "scenarios to run (f and g are measured in every run)")
	flag.StringVar(&size, "size", "256MiB", "file size for scenarios a, b, c and h")
	flag.StringVar(&lanSize, "lan-size", "1GiB", "file size for scenarios d, k and l")
	flag.StringVar(&memSize, "mem-size", "4GiB", "file size for scenario e")
	flag.StringVar(&pairSize, "pair-size", "128MiB", "file size for scenario i")
	flag.StringVar(&sharedSize, "shared-size", "64MiB", "file size for scenario j")
	flag.StringVar(&manySize, "many-size", "128MiB", "file size for scenarios m and p and o's long run")
	flag.StringVar(&smallSize, "small-size", "8MiB", "file size for scenario n")
	flag.StringVar(&ttfbSize, "ttfb-size", "32MiB", "file size for o's short run and scenario q")
	flag.StringVar(&wan, "wan", "20mbit", "WAN rate of every host in a, b, c, h, i, n, o and q, of k's lenders, and of the shared uplink in j")
	flag.StringVar(&slowWAN, "slow-wan", "2mbit", "WAN rate of the straggler in b")
	flag.StringVar(&manyWAN, "many-wan", "10mbit", "WAN rate of every host in m")
	flag.StringVar(&mixedWAN, "mixed-wan", "5mbit,10mbit,20mbit,40mbit", "WAN rates of h1, h2, ... in p, one per host")
	flag.StringVar(&lan, "lan", "1gbit", "LAN rate in d and k, and of l's shaped runs")
	flag.StringVar(&copyLAN, "copy-lan", "0", "LAN rate of h1 and h2 in h; 0 = unshaped")
	flag.DurationVar(&cfg.latency, "latency", 20*time.Millisecond, "origin latency per request")
	flag.DurationVar(&cfg.ttfb, "ttfb", 300*time.Millisecond, "origin latency per request in o")
	flag.DurationVar(&cfg.timeout, "timeout", 40*time.Minute, "give up on the whole bench after this long")
	flag.Parse()
	err := func() error {
		var err error
		for _, s := range []struct {
			v   string
			dst *int64
		}{{size, &cfg.size}, {lanSize, &cfg.lanSize}, {memSize, &cfg.memSize}, {pairSize, &cfg.pairSize}, {sharedSize, &cfg.sharedSize},
			{manySize, &cfg.manySize}, {smallSize, &cfg.smallSize}, {ttfbSize, &cfg.ttfbSize}} {
			if *s.dst, err = testorigin.ParseSize(s.v); err != nil {
				return err
			}
		}
		for _, r := range []struct {
			v   string
			dst *int64
		}{{wan, &cfg.wan}, {slowWAN, &cfg.slowWAN}, {manyWAN, &cfg.manyWAN}, {lan, &cfg.lan}, {copyLAN, &cfg.copyLAN}} {
			if *r.dst, err = netbed.ParseRate(r.v); err != nil {
				return err
			}
		}
		if cfg.mixedWAN, err = parseRates(mixedWAN); err != nil {
			return err
		}
		if strings.Trim(cfg.scenarios, allScenarios+"fg") != "" {
			return fmt.Errorf("-scenarios %q: pick from %s", cfg.scenarios, allScenarios)
		}
		if cfg.wan <= 0 || cfg.slowWAN <= 0 || cfg.manyWAN <= 0 {
			return errors.New("the scenarios need shaped WAN links: -wan, -slow-wan and -many-wan must not be 0")
		}
		return run(cfg)
	}()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(cfg config) error {
	if err := netbed.RequireRoot(); err != nil {
		return err
	}
	for _, tool := range []string{"go", "aria2c", "gnuplot"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("the bench needs %s (make deps-bench installs it): %w", tool, err)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))

	root, err := repoRoot(ctx)
	if err != nil {
		return err
	}
	work := cfg.work
	if work == "" {
		if work, err = os.MkdirTemp("", "dragonload-bench-"); err != nil {
			return fmt.Errorf("cannot make a work folder: %w", err)
		}
	} else if err := os.MkdirAll(work, 0o755); err != nil {
		return fmt.Errorf("cannot make the work folder: %w", err)
	}
	log.Info("work folder", "path", work)

	b := &bench{cfg: cfg, log: log, root: root, work: work, room: roomCode(), goodput: map[int]float64{}}
	b.started = time.Now()
	if err := b.build(ctx); err != nil {
		return err
	}
	if err := netbed.SweepStale(ctx); err != nil {
		log.Warn("cannot sweep stale beds", "err", err)
	}
	b.bed, err = netbed.Up(ctx, netbed.Options{Prefix: netbed.UniquePrefix(), Hosts: netbed.MaxHosts, WANRate: cfg.wan, StopGrace: 5 * time.Second})
	if err != nil {
		return err
	}
	runErr := b.scenarios(ctx)
	b.stopOrigin()
	if err := b.bed.Close(); err != nil {
		log.Warn("cannot remove the bed", "err", err)
	}
	if runErr != nil {
		log.Error("bench stopped early", "err", runErr)
	}
	// Report even when interrupted: what ran is worth keeping.
	if err := b.report(context.WithoutCancel(ctx), runErr); err != nil {
		return err
	}
	failed := runErr != nil
	for _, r := range b.results {
		failed = failed || r.Err != nil
	}
	if failed || cfg.keep || cfg.work != "" {
		log.Info("logs kept", "path", work)
	} else {
		os.RemoveAll(work)
	}
	return runErr
}

// parseRates reads -mixed-wan: a shaped rate per host, h1 first.
func parseRates(list string) ([]int64, error) {
	var rates []int64
	for _, v := range strings.Split(list, ",") {
		r, err := netbed.ParseRate(v)
		if err != nil {
			return nil, err
		}
		if r <= 0 {
			return nil, fmt.Errorf("-mixed-wan %q: every host needs a shaped rate", list)
		}
		rates = append(rates, r)
	}
	if len(rates) < 2 || len(rates) > netbed.MaxHosts {
		return nil, fmt.Errorf("-mixed-wan %q: give 2 to %d rates", list, netbed.MaxHosts)
	}
	return rates, nil
}

// roomCode makes a fresh room code shaped like a generated one (4 groups
// of 5 Crockford base32 characters, 100 bits), so every bench run has a
// room of its own.
func roomCode() string {
	const crockford = "0123456789abcdefghjkmnpqrstvwxyz"
	raw := make([]byte, 20)
	rand.Read(raw)
	var b strings.Builder
	for i, c := range raw {
		if i > 0 && i%5 == 0 {
			b.WriteByte('-')
		}
		b.WriteByte(crockford[c&31])
	}
	return b.String()
}

// repoRoot is the folder holding go.mod.
func repoRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("cannot find the module root: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("run the bench inside the dragonload module")
	}
	return filepath.Dir(mod), nil
}
