package netbed

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// DefaultPrefix names the bed a person builds with cmd/netbed.
const DefaultPrefix = "dlb-"

// MaxHosts is the largest bed Up builds.
const MaxHosts = 16

// OriginIP is the address of the internet namespace that hosts reach over
// their WAN links; the test origin listens on it.
var OriginIP = net.IPv4(10, 79, 0, 1)

// Options describe a bed.
type Options struct {
	Prefix  string // start of every namespace name; "" = DefaultPrefix
	Hosts   int    // 1..MaxHosts
	WANRate int64  // bits per second of every host's WAN link, both ways; 0 = unshaped
	LANRate int64  // bits per second of every host's LAN link, both ways; 0 = unshaped
	// StopGrace is how long Close waits after SIGTERM before it kills a
	// process; 0 = 5 s.
	StopGrace time.Duration
	Logger    *slog.Logger
}

// Host is one machine of the bed.
type Host struct {
	Index int    // 1-based
	Name  string // "h1"
	NS    string // its network namespace, prefix + Name
	LANIP net.IP // on lan0
	WANIP net.IP // on wan0
}

// Bed is a built test network. Close ends its processes and removes it.
type Bed struct {
	prefix string
	hosts  []*Host
	grace  time.Duration
	log    *slog.Logger

	mu    sync.Mutex
	procs []*Proc
}

// Counters are an interface's byte counters since it was created.
type Counters struct {
	RxBytes int64
	TxBytes int64
}

// Up builds a bed, first removing whatever an earlier bed with the same
// prefix left behind, so running it twice gives the same network.
func Up(ctx context.Context, opt Options) (*Bed, error) {
	if opt.Prefix == "" {
		opt.Prefix = DefaultPrefix
	}
	if err := checkPrefix(opt.Prefix); err != nil {
		return nil, err
	}
	if opt.Hosts < 1 || opt.Hosts > MaxHosts {
		return nil, fmt.Errorf("a bed has 1 to %d hosts, not %d", MaxHosts, opt.Hosts)
	}
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := Down(ctx, opt.Prefix); err != nil {
		return nil, err
	}
	if opt.StopGrace <= 0 {
		opt.StopGrace = 5 * time.Second
	}
	b := &Bed{prefix: opt.Prefix, grace: opt.StopGrace, log: log}
	for i := 1; i <= opt.Hosts; i++ {
		name := "h" + strconv.Itoa(i)
		b.hosts = append(b.hosts, &Host{
			Index: i,
			Name:  name,
			NS:    opt.Prefix + name,
			LANIP: LANIP(i),
			WANIP: WANIP(i),
		})
	}
	if err := b.build(ctx, opt); err != nil {
		// Leave nothing half-built behind; the build error is the one to report.
		_ = Down(context.WithoutCancel(ctx), opt.Prefix)
		return nil, err
	}
	log.Info("bed up", "prefix", opt.Prefix, "hosts", opt.Hosts, "wan", FormatRate(opt.WANRate), "lan", FormatRate(opt.LANRate))
	return b, nil
}

// LANIP is host i's LAN address.
func LANIP(i int) net.IP { return net.IPv4(10, 77, 0, byte(i)) }

// WANIP is host i's address on its WAN link.
func WANIP(i int) net.IP { return net.IPv4(10, 78, byte(i), 2) }

// gatewayIP is the internet namespace's end of host i's WAN link.
func gatewayIP(i int) net.IP { return net.IPv4(10, 78, byte(i), 1) }

// Prefix is the start of every namespace name of the bed.
func (b *Bed) Prefix() string { return b.prefix }

// Hosts are the bed's hosts, in order.
func (b *Bed) Hosts() []*Host { return b.hosts }

// Host returns host i (1-based).
func (b *Bed) Host(i int) *Host { return b.hosts[i-1] }

// InetNS is the internet namespace, where the origin runs.
func (b *Bed) InetNS() string { return b.prefix + "inet" }

// LANNS is the namespace holding the LAN bridge.
func (b *Bed) LANNS() string { return b.prefix + "lan" }

// SetWANRate reshapes host h's WAN link, both ways; 0 removes the shaping.
func (b *Bed) SetWANRate(ctx context.Context, h *Host, bps int64) error {
	if err := shape(ctx, h.NS, "wan0", bps); err != nil {
		return err
	}
	return shape(ctx, b.InetNS(), h.Name, bps)
}

// SetLANRate reshapes host h's LAN link, both ways; 0 removes the shaping.
func (b *Bed) SetLANRate(ctx context.Context, h *Host, bps int64) error {
	if err := shape(ctx, h.NS, "lan0", bps); err != nil {
		return err
	}
	return shape(ctx, b.LANNS(), h.Name, bps)
}

// LANCounters reads host h's LAN interface counters.
func (b *Bed) LANCounters(ctx context.Context, h *Host) (Counters, error) {
	return ReadCounters(ctx, h.NS, "lan0")
}

// WANCounters reads host h's WAN interface counters.
func (b *Bed) WANCounters(ctx context.Context, h *Host) (Counters, error) {
	return ReadCounters(ctx, h.NS, "wan0")
}

// Start starts cmd (made by Command) and keeps track of it, so that Close
// ends it if nobody else did.
func (b *Bed) Start(name string, cmd *exec.Cmd) (*Proc, error) {
	if err := spawn(cmd); err != nil {
		return nil, fmt.Errorf("cannot start %s: %w", name, err)
	}
	p := &Proc{Name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	b.mu.Lock()
	b.procs = append(b.procs, p)
	b.mu.Unlock()
	b.log.Debug("started", "name", name, "pid", p.Pid(), "args", cmd.Args)
	return p, nil
}

// Close ends every process the bed started (SIGTERM, then SIGKILL after
// Options.StopGrace) and removes the bed.
func (b *Bed) Close() error {
	b.mu.Lock()
	procs := b.procs
	b.procs = nil
	b.mu.Unlock()
	var errs []error
	for _, p := range procs {
		if err := p.Signal(syscall.SIGTERM); err != nil {
			errs = append(errs, err)
		}
	}
	deadline := time.Now().Add(b.grace)
	for _, p := range procs {
		p.Wait(time.Until(deadline))
	}
	for _, p := range procs {
		if err := p.Stop(0); err != nil {
			errs = append(errs, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := Down(ctx, b.prefix); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Down removes every namespace whose name starts with prefix, ending the
// processes still inside them first. Removing a namespace removes its
// links, and with them their peers in the other namespaces. A prefix with
// no namespaces is not an error.
func Down(ctx context.Context, prefix string) error {
	if err := checkPrefix(prefix); err != nil {
		return err
	}
	names, err := Namespaces(prefix)
	if err != nil {
		return err
	}
	var pids []int
	for _, ns := range names {
		p, err := nsPids(ctx, ns)
		if err != nil {
			return err
		}
		pids = append(pids, p...)
	}
	killAll(pids)
	var errs []error
	for _, ns := range names {
		if err := run(ctx, "ip", "netns", "delete", ns); err != nil {
			// Deleted meanwhile by a concurrent Down: the goal is reached.
			if _, serr := os.Stat(filepath.Join(netnsDir, ns)); serr == nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// Namespaces lists the network namespaces whose names start with prefix.
func Namespaces(prefix string) ([]string, error) {
	entries, err := os.ReadDir(netnsDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot list network namespaces: %w", err)
	}
	var names []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

// UniquePrefix is a prefix that no other running process uses: it holds
// this process's id, which also lets SweepStale recognise it once the
// process is gone.
func UniquePrefix() string { return fmt.Sprintf("dlb%d-", os.Getpid()) }

// SweepStale removes the beds of UniquePrefix prefixes whose process no
// longer exists: what a crashed test or benchmark left behind.
func SweepStale(ctx context.Context) error {
	names, err := Namespaces("dlb")
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	var errs []error
	for _, ns := range names {
		m := uniquePrefixRE.FindStringSubmatch(ns)
		if m == nil || seen[m[0]] {
			continue
		}
		seen[m[0]] = true
		pid, _ := strconv.Atoi(m[1])
		if syscall.Kill(pid, 0) == nil || pid == os.Getpid() {
			continue
		}
		if err := Down(ctx, m[0]); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

var uniquePrefixRE = regexp.MustCompile(`^dlb([0-9]+)-`)

// RequireRoot reports why the bed cannot be built by this process, or nil.
func RequireRoot() error {
	if os.Geteuid() != 0 {
		return errors.New("netbed needs root to create network namespaces (run as root; CI does)")
	}
	for _, tool := range []string{"ip", "tc"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("netbed needs %s from iproute2: %w", tool, err)
		}
	}
	return nil
}

// ReadCounters reads the byte counters of interface dev in namespace ns.
func ReadCounters(ctx context.Context, ns, dev string) (Counters, error) {
	out, err := output(ctx, "ip", "-n", ns, "-j", "-s", "link", "show", "dev", dev)
	if err != nil {
		return Counters{}, err
	}
	var links []struct {
		Stats64 struct {
			Rx struct{ Bytes int64 }
			Tx struct{ Bytes int64 }
		}
	}
	if err := json.Unmarshal(out, &links); err != nil || len(links) != 1 {
		return Counters{}, fmt.Errorf("cannot parse the counters of %s in %s: %q", dev, ns, out)
	}
	return Counters{RxBytes: links[0].Stats64.Rx.Bytes, TxBytes: links[0].Stats64.Tx.Bytes}, nil
}

// build creates the namespaces, links, addresses, routes and shaping.
func (b *Bed) build(ctx context.Context, opt Options) error {
	lan, inet := b.LANNS(), b.InetNS()
	all := []string{lan, inet}
	for _, h := range b.hosts {
		all = append(all, h.NS)
	}
	for _, ns := range all {
		if err := run(ctx, "ip", "netns", "add", ns); err != nil {
			return err
		}
		if err := quietNS(ns); err != nil {
			return err
		}
		if err := run(ctx, "ip", "-n", ns, "link", "set", "lo", "up"); err != nil {
			return err
		}
	}
	steps := [][]string{
		{"ip", "-n", lan, "link", "add", "br0", "type", "bridge"},
		{"ip", "-n", lan, "link", "set", "br0", "up"},
		{"ip", "-n", inet, "addr", "add", OriginIP.String() + "/32", "dev", "lo"},
	}
	for _, h := range b.hosts {
		steps = append(steps,
			[]string{"ip", "-n", lan, "link", "add", h.Name, "type", "veth", "peer", "name", "lan0", "netns", h.NS},
			[]string{"ip", "-n", lan, "link", "set", h.Name, "master", "br0", "up"},
			[]string{"ip", "-n", h.NS, "addr", "add", h.LANIP.String() + "/24", "dev", "lan0"},
			[]string{"ip", "-n", h.NS, "link", "set", "lan0", "up"},
			[]string{"ip", "-n", inet, "link", "add", h.Name, "type", "veth", "peer", "name", "wan0", "netns", h.NS},
			[]string{"ip", "-n", inet, "addr", "add", gatewayIP(h.Index).String() + "/30", "dev", h.Name},
			[]string{"ip", "-n", inet, "link", "set", h.Name, "up"},
			[]string{"ip", "-n", h.NS, "addr", "add", h.WANIP.String() + "/30", "dev", "wan0"},
			[]string{"ip", "-n", h.NS, "link", "set", "wan0", "up"},
			[]string{"ip", "-n", h.NS, "route", "add", "10.79.0.0/24", "via", gatewayIP(h.Index).String(), "dev", "wan0"},
		)
	}
	for _, s := range steps {
		if err := run(ctx, s[0], s[1:]...); err != nil {
			return err
		}
	}
	for _, h := range b.hosts {
		if opt.WANRate > 0 {
			if err := b.SetWANRate(ctx, h, opt.WANRate); err != nil {
				return err
			}
		}
		if opt.LANRate > 0 {
			if err := b.SetLANRate(ctx, h, opt.LANRate); err != nil {
				return err
			}
		}
	}
	return nil
}

// quietNS turns IPv6 and forwarding off in namespace ns before any link is
// added, so that new links inherit it.
func quietNS(ns string) error {
	return inNS(ns, func() error {
		for _, f := range []string{
			"/proc/sys/net/ipv6/conf/all/disable_ipv6",
			"/proc/sys/net/ipv6/conf/default/disable_ipv6",
		} {
			if err := os.WriteFile(f, []byte("1"), 0o644); err != nil {
				return fmt.Errorf("cannot turn IPv6 off in %s: %w", ns, err)
			}
		}
		if err := os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("0"), 0o644); err != nil {
			return fmt.Errorf("cannot turn forwarding off in %s: %w", ns, err)
		}
		return nil
	})
}

// shape puts a token bucket filter of bps bits per second on the egress of
// dev in ns, or removes it for bps 0. The bucket holds at least 4 ms at the
// rate (32 KiB minimum, which also covers any single packet), and the queue
// at most 50 ms, deep enough that TCP fills the link.
func shape(ctx context.Context, ns, dev string, bps int64) error {
	if bps <= 0 {
		err := run(ctx, "tc", "-n", ns, "qdisc", "del", "dev", dev, "root")
		if err != nil && !noQdisc(err) {
			return err
		}
		return nil
	}
	burst := max(bps/8*4/1000, 32<<10)
	return run(ctx, "tc", "-n", ns, "qdisc", "replace", "dev", dev, "root", "tbf",
		"rate", strconv.FormatInt(bps, 10)+"bit",
		"burst", strconv.FormatInt(burst, 10),
		"latency", "50ms")
}

// noQdisc tells whether deleting a root qdisc failed because there was
// none to delete; iproute2 and kernel versions say so in different words.
func noQdisc(err error) bool {
	for _, msg := range []string{"No such file", "Cannot find", "Invalid handle", "handle of zero"} {
		if strings.Contains(err.Error(), msg) {
			return true
		}
	}
	return false
}

// checkPrefix keeps prefixes to safe, short namespace names: they go into
// file names under /run/netns and into commands.
func checkPrefix(prefix string) error {
	if !prefixRE.MatchString(prefix) {
		return fmt.Errorf("bed prefix %q must be 2 to 24 lowercase letters, digits or dashes, starting with a letter", prefix)
	}
	return nil
}

var prefixRE = regexp.MustCompile(`^[a-z][a-z0-9-]{1,23}$`)

// nsPids lists the processes inside namespace ns.
func nsPids(ctx context.Context, ns string) ([]int, error) {
	out, err := output(ctx, "ip", "netns", "pids", ns)
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, f := range strings.Fields(string(out)) {
		if pid, err := strconv.Atoi(f); err == nil && pid != os.Getpid() {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// killAll ends leftover processes: SIGTERM, up to 3 s to exit, then SIGKILL.
func killAll(pids []int) {
	if len(pids) == 0 {
		return
	}
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGTERM)
	}
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		alive := 0
		for _, pid := range pids {
			if syscall.Kill(pid, 0) == nil {
				alive++
			}
		}
		if alive == 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// run runs a setup command, bounded in time, and folds its stderr into the
// error.
func run(ctx context.Context, name string, args ...string) error {
	_, err := output(ctx, name, args...)
	return err
}

func output(ctx context.Context, name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s %s failed: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}
