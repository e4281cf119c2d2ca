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
	"slices"
	"strings"

	"github.com/dragonload/dragonload/app/rpc"
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
type Desktop func(cfg core.Config, sources []string, rpcAddr string, log *slog.Logger) error

// Env is what a command may touch of the outside world; tests replace it.
type Env struct {
	Stdout, Stderr io.Writer
	IsTTY          bool      // stderr is a terminal: draw progress bars
	Stdin          io.Reader // for `join`; nil = nothing to read
}

// Main runs the command line args (without the program name) and returns
// the process exit code.
//
// A first word that names a command runs it; -h, --help and --version are
// answered at once. Anything else is for the desktop app, which starts
// only when every remaining argument is something it can queue (a URL, a
// dragon:// link or an existing file): a mistyped command ends with exit 2
// before the engine (and its mDNS) or the toolkit (which needs a display)
// start.
func Main(args []string, env Env, desktop Desktop) int {
	if path := os.Getenv(ProfileEnv); path != "" {
		stop, err := startProfile(path)
		if err != nil {
			return fail(env, ExitUsage, err)
		}
		defer func() {
			if err := stop(); err != nil {
				fmt.Fprintf(env.Stderr, "dragonload: the CPU profile %s is incomplete: %v\n", path, err)
			}
		}()
	}
	if len(args) > 0 {
		switch args[0] {
		case "-h", "-help", "--help":
			return printHelp(env, "")
		case "-version", "--version":
			return runVersion(args[1:], env)
		}
		if c := lookup(args[0]); c != nil {
			return c.run(args[1:], env)
		}
		// Before the app's flags are parsed: "peer --wait 1s" is a
		// mistyped command, not an unknown flag.
		if w := args[0]; !strings.HasPrefix(w, "-") && strings.TrimSpace(w) != "" && !isSource(w) {
			return unknownCommand(env, w)
		}
	}
	return runDesktop(args, env, desktop)
}

// command is one subcommand of the contract in DESIGN.md.
type command struct {
	name string
	run  func(args []string, env Env) int
	help string // its whole help text, for `help CMD` and `CMD --help`
}

// commands lists the subcommands in the order help lists them.
var commands []command

func init() {
	commands = []command{
		{"agent", headless(runAgent), agentHelp},
		{"get", headless(runGet), getHelp},
		{"peers", headless(runPeers), peersHelp},
		{"search", headless(runSearch), searchHelp},
		{"link", runLink, linkHelp},
		{"join", runJoin, joinHelp},
		{"rpc-secret", runRPCSecret, rpcSecretHelp},
		{"version", runVersion, versionHelp},
		{"help", runHelp, helpHelp},
	}
}

// lookup finds a command by its exact name.
func lookup(name string) *command {
	for i := range commands {
		if commands[i].name == name {
			return &commands[i]
		}
	}
	return nil
}

// headless wraps a command that runs the engine: it bounds the heap first.
func headless(run func([]string, Env) int) func([]string, Env) int {
	return func(args []string, env Env) int {
		limitMemory()
		return run(args, env)
	}
}

// common holds the flags every command takes.
type common struct {
	home, room, roomFile, name, listen, iface, source, out, watch, logLevel, rpc string
	peers                                                                        multi
	noMDNS, allowPrivate                                                         bool
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
	fs.StringVar(&c.roomFile, "room-file", "", "")
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
	fs.StringVar(&c.rpc, "rpc", "", "")
	return fs, c
}

// parse accepts flags before and after positional arguments. It returns
// flag.ErrHelp for -h, -help or --help anywhere, and other flag errors as
// sentences (see flagError).
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	pos, _, err := parseAt(fs, args)
	return pos, err
}

// parseAt is parse that also returns where in args each positional
// argument was.
func parseAt(fs *flag.FlagSet, args []string) (pos []string, at []int, err error) {
	n := len(args)
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, nil, flag.ErrHelp
			}
			return nil, nil, flagError(fs, err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, at, nil
		}
		if args[0] == "--" {
			for i, a := range args[1:] {
				pos, at = append(pos, a), append(at, n-len(args)+1+i)
			}
			return pos, at, nil
		}
		pos, at = append(pos, args[0]), append(at, n-len(args))
		args = args[1:]
	}
}

// flagError rewrites the flag package's errors as sentences in the
// documented spelling of flags (--out, not -out).
func flagError(fs *flag.FlagSet, err error) error {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		var names []string
		fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
		if near := closest(name, names); near != "" {
			return fmt.Errorf("unknown flag --%s; did you mean --%s?", name, near)
		}
		return fmt.Errorf("unknown flag --%s", name)
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: -"); ok {
		return fmt.Errorf("--%s needs a value", name)
	}
	// invalid value "x" for flag -wait: parse error
	// invalid boolean value "x" for -no-mdns: parse error
	for _, p := range []string{"invalid value ", "invalid boolean value "} {
		rest, ok := strings.CutPrefix(msg, p)
		if !ok {
			continue
		}
		val, name, ok := strings.Cut(rest, " for ")
		if !ok {
			break
		}
		name, _, _ = strings.Cut(strings.TrimPrefix(name, "flag "), ":")
		return fmt.Errorf("%s is not a valid value for --%s", val, strings.TrimLeft(name, "-"))
	}
	return err
}

// config turns the common flags into an engine configuration.
func (c *common) config(log *slog.Logger) (core.Config, error) {
	if err := c.resolveRoom(); err != nil {
		return core.Config{}, err
	}
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
		if err := checkPeerAddr(p); err != nil {
			return cfg, err
		}
	}
	return cfg, nil
}

// preferAppPort makes the app and the agent, which keep running, listen on
// UDP 4700 unless --listen says otherwise, so that the address others are
// given for --peer stays the same; the engine takes another port when 4700
// is taken (an app and an agent on one machine). One-shot commands (get,
// peers) keep any free port: an app may hold 4700 while they run.
func preferAppPort(cfg *core.Config) {
	if cfg.Listen == "" {
		cfg.PreferListen = core.DefaultListen
	}
}

// checkPeerAddr says in one sentence what is wrong with a --peer address,
// without the parser's own error glued on.
func checkPeerAddr(addr string) error {
	if err := core.CheckPeerAddr(addr); err != nil {
		return fmt.Errorf("--peer %w", err)
	}
	return nil
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

// fail prints one clear sentence to stderr and returns code. The message
// is printed as the error gives it, after "dragonload: " as Unix tools do:
// its first word may be a URL, a file name or a field of a link file, and
// those are never re-cased.
func fail(env Env, code int, err error) int {
	fmt.Fprintln(env.Stderr, "dragonload: "+sentence(err.Error()))
	return code
}

// sentence ends msg with a full stop unless it ends with punctuation.
func sentence(msg string) string {
	msg = strings.TrimSpace(msg)
	if msg == "" {
		return "failed."
	}
	if strings.HasSuffix(msg, ".") || strings.HasSuffix(msg, "?") || strings.HasSuffix(msg, "!") {
		return msg
	}
	return msg + "."
}

// usageError reports bad usage of command cmd ("" = the app) as one
// sentence that points to the command's help, and returns ExitUsage. For
// -h or --help (flag.ErrHelp) it prints the command's help and returns
// ExitOK.
func usageError(env Env, cmd string, err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return printHelp(env, cmd)
	}
	help := "dragonload help"
	if cmd != "" {
		help += " " + cmd
	}
	msg := strings.TrimRight(strings.TrimSpace(err.Error()), ".")
	if strings.HasSuffix(msg, "?") {
		fmt.Fprintf(env.Stderr, "dragonload: %s\n", msg)
	} else {
		fmt.Fprintf(env.Stderr, "dragonload: %s; see `%s`.\n", msg, help)
	}
	return ExitUsage
}

// printJoinHint tells a first-time user how other machines join the room.
func printJoinHint(env Env, eng *core.Engine) {
	fmt.Fprintf(env.Stderr, "Created a new room for this machine; its code is\n\n    %s\n\nTo lend bandwidth from another machine on this LAN, run `dragonload join` there, type this code, then run `dragonload agent`.\n\n", eng.RoomCode())
}

func runDesktop(args []string, env Env, desktop Desktop) int {
	fs, c := newFlags("dragonload", env)
	sources, at, err := parseAt(fs, args)
	if err != nil {
		return usageError(env, "", err)
	}
	// A command after flags common to all ("--no-mdns agent") runs as if
	// it came first.
	if len(sources) > 0 {
		if cmd := lookup(sources[0]); cmd != nil {
			return cmd.run(slices.Delete(slices.Clone(args), at[0], at[0]+1), env)
		}
	}
	var queue []string
	for i, s := range sources {
		switch {
		case strings.TrimSpace(s) == "":
			// Nothing to queue (the window skips blank ones too).
		case isSource(s):
			queue = append(queue, s)
		case i == 0:
			return unknownCommand(env, s)
		default:
			return fail(env, ExitUsage, fmt.Errorf("%q is not a URL, a dragon:// link or an existing file", s))
		}
	}
	log, err := c.logger(env, slog.LevelInfo)
	if err != nil {
		return usageError(env, "", err)
	}
	cfg, err := c.config(log)
	if err != nil {
		return usageError(env, "", err)
	}
	if desktop == nil {
		return fail(env, ExitFailed, errors.New("this build has no desktop front end; use `dragonload agent` or `dragonload get`"))
	}
	preferAppPort(&cfg)
	if c.rpc != "" {
		if err := rpc.CheckAddr(c.rpc); err != nil {
			return usageError(env, "", fmt.Errorf("--rpc %w", err))
		}
	}
	if err := desktop(cfg, queue, c.rpc, log); err != nil {
		return fail(env, ExitFailed, err)
	}
	return ExitOK
}

// isSource reports whether the app can queue s: a URL or link with a
// scheme (the window itself explains the schemes it cannot download), or
// the path of an existing file (a .dragon file, a text file of links).
func isSource(s string) bool {
	s = strings.TrimSpace(s)
	if scheme, rest, ok := strings.Cut(s, ":"); ok && validScheme(scheme) {
		switch strings.ToLower(scheme) {
		case "http", "https", "dragon", "file":
			return true
		}
		if strings.HasPrefix(rest, "//") {
			return true
		}
	}
	_, err := os.Stat(s)
	return err == nil
}

// validScheme: a letter, then letters, digits, "+", "-" or "." (RFC 3986).
func validScheme(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		letter := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		if !letter && (i == 0 || !('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	return true
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
	return Env{Stdout: os.Stdout, Stderr: os.Stderr, IsTTY: isTerminal(os.Stderr), Stdin: os.Stdin}
}
