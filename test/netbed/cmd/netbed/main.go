// Command netbed builds and removes the Dragonload network test bed by
// hand (see package netbed for the layout). It needs root.
//
//	netbed [-prefix dlb-] up [-wan 20mbit[,2mbit,...]] [-lan RATE] N
//	netbed [-prefix dlb-] down
//	netbed [-prefix dlb-] status
//	netbed [-prefix dlb-] exec HOST COMMAND [ARGS...]
//	netbed sweep
//
// HOST is h1..h16 (or just 1..16), inet or lan. "up" returns once the bed is
// built and leaves nothing running; start the test origin in it with, for
// example:
//
//	go build -o /tmp/testorigin ./test/origin/cmd/testorigin
//	netbed exec inet /tmp/testorigin -listen 10.79.0.1:8080 -size 256MiB
//	netbed exec h1 curl -o /dev/null http://10.79.0.1:8080/...
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/dragonload/dragonload/test/netbed"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "netbed:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("netbed", flag.ContinueOnError)
	prefix := fs.String("prefix", netbed.DefaultPrefix, "start of every namespace name of the bed")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: netbed [-prefix P] up [-wan RATES] [-lan RATE] N | down | status | exec HOST CMD... | sweep")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errors.New("no command given")
	}
	if err := netbed.RequireRoot(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd, rest := fs.Arg(0), fs.Args()[1:]
	switch cmd {
	case "up":
		return up(ctx, *prefix, rest)
	case "down":
		return netbed.Down(ctx, *prefix)
	case "status":
		return status(ctx, *prefix)
	case "exec":
		if len(rest) < 2 {
			return errors.New("exec needs a host and a command")
		}
		return execIn(*prefix, rest[0], rest[1:])
	case "sweep":
		return netbed.SweepStale(ctx)
	}
	return fmt.Errorf("unknown command %q", cmd)
}

func up(ctx context.Context, prefix string, args []string) error {
	fs := flag.NewFlagSet("up", flag.ContinueOnError)
	wan := fs.String("wan", "20mbit", "WAN rate of every host, or a comma-separated rate per host; 0 = unshaped")
	lan := fs.String("lan", "0", "LAN rate of every host; 0 = unshaped")
	verbose := fs.Bool("v", false, "log each step")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("up needs the number of hosts")
	}
	n, err := strconv.Atoi(fs.Arg(0))
	if err != nil {
		return fmt.Errorf("number of hosts %q is not a number", fs.Arg(0))
	}
	var wanRates []int64
	for _, r := range strings.Split(*wan, ",") {
		bps, err := netbed.ParseRate(r)
		if err != nil {
			return err
		}
		wanRates = append(wanRates, bps)
	}
	if len(wanRates) != 1 && len(wanRates) != n {
		return fmt.Errorf("-wan has %d rates for %d hosts: give one, or one per host", len(wanRates), n)
	}
	lanRate, err := netbed.ParseRate(*lan)
	if err != nil {
		return err
	}
	opt := netbed.Options{Prefix: prefix, Hosts: n, WANRate: wanRates[0], LANRate: lanRate}
	if *verbose {
		opt.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	bed, err := netbed.Up(ctx, opt)
	if err != nil {
		return err
	}
	for i, r := range wanRates {
		if len(wanRates) > 1 && r != wanRates[0] {
			if err := bed.SetWANRate(ctx, bed.Host(i+1), r); err != nil {
				return err
			}
		}
	}
	fmt.Printf("internet  %-12s origin address %s\n", bed.InetNS(), netbed.OriginIP)
	fmt.Printf("lan       %-12s bridge br0, LAN %s\n", bed.LANNS(), netbed.FormatRate(lanRate))
	for i, h := range bed.Hosts() {
		r := wanRates[0]
		if len(wanRates) > 1 {
			r = wanRates[i]
		}
		fmt.Printf("%-9s %-12s lan0 %s  wan0 %s  WAN %s\n", h.Name, h.NS, h.LANIP, h.WANIP, netbed.FormatRate(r))
	}
	return nil
}

func status(ctx context.Context, prefix string) error {
	names, err := netbed.Namespaces(prefix)
	if err != nil {
		return err
	}
	if len(names) == 0 {
		fmt.Printf("no bed with prefix %s\n", prefix)
		return nil
	}
	for _, ns := range names {
		out, err := exec.CommandContext(ctx, "ip", "-n", ns, "-br", "addr").Output()
		if err != nil {
			return fmt.Errorf("cannot list the addresses of %s: %w", ns, err)
		}
		qd, err := exec.CommandContext(ctx, "tc", "-n", ns, "qdisc", "show").Output()
		if err != nil {
			return fmt.Errorf("cannot list the qdiscs of %s: %w", ns, err)
		}
		fmt.Printf("== %s\n%s", ns, out)
		for _, l := range strings.Split(strings.TrimSpace(string(qd)), "\n") {
			if strings.Contains(l, "tbf") {
				fmt.Println("  ", l)
			}
		}
	}
	return nil
}

// execIn replaces this process with the command run inside the host's
// namespace, so signals and the terminal go straight to it.
func execIn(prefix, host string, argv []string) error {
	if _, err := strconv.Atoi(host); err == nil {
		host = "h" + host
	}
	ns := prefix + host
	if _, err := os.Stat("/run/netns/" + ns); err != nil {
		return fmt.Errorf("no namespace %s: is the bed up?", ns)
	}
	ip, err := exec.LookPath("ip")
	if err != nil {
		return fmt.Errorf("cannot find ip: %w", err)
	}
	return syscall.Exec(ip, append([]string{"ip", "netns", "exec", ns}, argv...), os.Environ())
}
