package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"strings"

	"github.com/dragonload/dragonload/core"
)

// Exit codes, see the package doc.
const (
	ExitOK          = 0
	ExitFailed      = 1
	ExitUsage       = 2
	ExitInterrupted = 130
)

// Desktop opens the window and tray with the given sources queued. main
// supplies it; the CLI stays free of Fyne.
type Desktop func(cfg core.Config, sources []string, log *slog.Logger) error

// Env is what a command may touch of the outside world; tests replace it.
type Env struct {
	Stdout, Stderr io.Writer
	IsTTY          bool // stderr is a terminal: draw progress bars
}

// Main runs the command line args (without the program name) and returns
// the process exit code.
func Main(args []string, env Env, desktop Desktop) int {
	cmd := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		switch args[0] {
		case "agent", "get", "peers", "link", "help":
			cmd, args = args[0], args[1:]
		}
	}
	if cmd != "" && cmd != "help" {
		limitMemory()
	}
	switch cmd {
	case "agent":
		return runAgent(args, env)
	case "get":
		return runGet(args, env)
	case "peers":
		return runPeers(args, env)
	case "link":
		return runLink(args, env)
	case "help":
		fmt.Fprint(env.Stdout, usage)
		return ExitOK
	}
	return runDesktop(args, env, desktop)
}

const usage = `Dragonload pools the internet links of the machines on your LAN to download one file faster.

Usage:
  dragonload [SOURCE...]                 open the desktop app; SOURCEs (URL, .dragon file, dragon:// link) are queued
  dragonload agent                       headless: lend bandwidth, watch the folder, serve peers
  dragonload get SOURCE                  download one SOURCE now, with a progress display
  dragonload peers [--wait DUR]          list the peers of this room seen on the LAN
  dragonload link URL [--sha256 H] [--name N] [--size N]   print a .dragon file for URL

Flags every command takes:
  --home DIR                 config and state (default: $DRAGONLOAD_HOME or the user config folder)
  --room CODE                join this room (a shared secret) and remember it; default: the stored one, created on first run
  --name NAME                display name shown to peers (default: host name)
  --listen ADDR              UDP address for QUIC (default :4700 for agent, any port otherwise)
  --peer ADDR                a peer to use besides the ones mDNS finds (repeatable)
  --no-mdns                  do not use LAN discovery
  --iface NAME               network interface for LAN discovery
  --source IP                local address for fetches from origins
  --out DIR                  where finished files go
  --watch DIR                folder watched for .dragon files
  --allow-private-origins    allow origins on loopback/private addresses (test beds, LAN mirrors)
  --log-level LEVEL          debug, info, warn or error

Exit codes: 0 success, 1 failure, 2 bad usage or input, 130 interrupted (run again to resume).
`

// common holds the flags every command takes.
type common struct {
	home, room, name, listen, iface, source, out, watch, logLevel string
	peers                                                         multi
	noMDNS, allowPrivate                                          bool
}

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

func newFlags(name string, env Env) (*flag.FlagSet, *common) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c := &common{}
	fs.StringVar(&c.home, "home", "", "")
	fs.StringVar(&c.room, "room", "", "")
	fs.StringVar(&c.name, "name", "", "")
	fs.StringVar(&c.listen, "listen", "", "")
	fs.Var(&c.peers, "peer", "")
	fs.BoolVar(&c.noMDNS, "no-mdns", false, "")
	fs.StringVar(&c.iface, "iface", "", "")
	fs.StringVar(&c.source, "source", "", "")
	fs.StringVar(&c.out, "out", "", "")
	fs.StringVar(&c.watch, "watch", "", "")
	fs.BoolVar(&c.allowPrivate, "allow-private-origins", false, "")
	fs.StringVar(&c.logLevel, "log-level", "", "")
	return fs, c
}

// parse accepts flags before and after positional arguments.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, errors.New("see `dragonload help` for usage")
			}
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// config turns the common flags into an engine configuration.
func (c *common) config(log *slog.Logger) (core.Config, error) {
	cfg := core.Config{
		Home: c.home, Room: c.room, Name: c.name, Listen: c.listen, Peers: c.peers,
		NoMDNS: c.noMDNS, Iface: c.iface, OutDir: c.out, WatchDir: c.watch,
		AllowPrivate: c.allowPrivate, Logger: log,
	}
	if c.source != "" {
		ip := net.ParseIP(c.source)
		if ip == nil {
			return cfg, fmt.Errorf("--source %q is not an IP address", c.source)
		}
		cfg.Source = ip
	}
	for _, p := range c.peers {
		if _, _, err := net.SplitHostPort(p); err != nil {
			return cfg, fmt.Errorf("--peer %q is not host:port", p)
		}
	}
	return cfg, nil
}

// logger writes structured lines to stderr at the chosen level.
func (c *common) logger(env Env, fallback slog.Level) (*slog.Logger, error) {
	level := fallback
	if c.logLevel != "" {
		if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
			return nil, fmt.Errorf("--log-level %q is not one of debug, info, warn, error", c.logLevel)
		}
	}
	return slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: level})), nil
}

// fail prints one clear sentence to stderr and returns code.
func fail(env Env, code int, err error) int {
	msg := err.Error()
	if msg != "" {
		msg = strings.ToUpper(msg[:1]) + msg[1:]
	}
	if !strings.HasSuffix(msg, ".") {
		msg += "."
	}
	fmt.Fprintln(env.Stderr, "dragonload: "+msg)
	return code
}

func usageError(env Env, err error) int {
	fail(env, ExitUsage, err)
	fmt.Fprintln(env.Stderr, "Run `dragonload help` for usage.")
	return ExitUsage
}

// printJoinHint tells a first-time user how other machines join the room.
func printJoinHint(env Env, eng *core.Engine) {
	fmt.Fprintf(env.Stderr, "Created a new room for this machine. To lend bandwidth from another machine on this LAN, run there:\n\n    dragonload agent --room %s\n\n", eng.RoomCode())
}

func runDesktop(args []string, env Env, desktop Desktop) int {
	fs, c := newFlags("dragonload", env)
	sources, err := parse(fs, args)
	if err != nil {
		return usageError(env, err)
	}
	log, err := c.logger(env, slog.LevelInfo)
	if err != nil {
		return usageError(env, err)
	}
	cfg, err := c.config(log)
	if err != nil {
		return usageError(env, err)
	}
	if desktop == nil {
		return fail(env, ExitFailed, errors.New("this build has no desktop front end; use `dragonload agent` or `dragonload get`"))
	}
	if err := desktop(cfg, sources, log); err != nil {
		return fail(env, ExitFailed, err)
	}
	return ExitOK
}

// headlessMemoryLimit is the Go heap's soft limit for the headless
// commands. Their live heap is a few MiB of buffers, but the allocation
// churn of packet handling lets the default collector grow the heap toward
// twice the last peak before it runs; the limit makes it collect earlier, so
// an agent that lends for days stays small. GOMEMLIMIT, when set, wins.
const headlessMemoryLimit = 48 << 20

func limitMemory() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(headlessMemoryLimit)
	}
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// DefaultEnv is the process's real standard streams.
func DefaultEnv() Env {
	return Env{Stdout: os.Stdout, Stderr: os.Stderr, IsTTY: isTerminal(os.Stderr)}
}
