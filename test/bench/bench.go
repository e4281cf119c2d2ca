package main

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/dragonload/dragonload/test/netbed"
)

// bench holds one run of the whole benchmark.
type bench struct {
	cfg     config
	log     *slog.Logger
	root    string // module root
	work    string
	room    string
	bin     string // dragonload
	binErr  error  // why bin could not be built; every pooled run fails with it
	origBin string // testorigin
	rawBin  string // rawquic
	bed     *netbed.Bed
	origin  *origin
	started time.Time

	goodput  map[int]float64 // host index → bits per second, at the -wan rate
	perHost  float64         // the median of goodput: the per-host goodput of the ideals
	slowHost int             // b's straggler, 0 before b ran
	slowGood float64         // its goodput at the slow rate
	aria     *result
	results  []*result

	// Goodput by host at other rates, measured where the scenario runs.
	manyGood  map[int]float64 // m: every host at -many-wan
	mixedGood map[int]float64 // p: h1, h2, ... at their -mixed-wan rates
}

// result is one measured download.
type result struct {
	Scenario string // "a".."q"
	Name     string // e.g. "a: N=4"
	Row      string // the Targets row of a run that is one of several (see spec.nth); "" = Name
	Host     string // the requester's host, in i; "" = h1
	N        int    // participants at the start, requester included
	Size     int64
	Wall     time.Duration // requester start to exit
	Startup  time.Duration // requester start to the first durable byte
	Finish   time.Duration // the last byte durable to the requester's exit
	Ideal    time.Duration
	Target   float64 // ratio target; 0 = none
	Origin   int64   // bytes the origin served during the run
	LAN      int64   // bytes the requester received on its LAN link
	Tail     tail
	Req      netbed.Usage
	Lenders  []netbed.Usage
	Shares   map[string]int64
	Copied   int64 // bytes from LAN copies, by the requester's last progress report
	Notes    []string
	Err      error

	// Notices saying lenders share the requester's internet link.
	SharedLink []string      // their texts, once each
	SharedAt   time.Duration // requester start to the first of them
	NotHelping time.Duration // requester start to the first "pooling isn't helping"; 0 = none
	// FirstPeer is from the requester's start to its first PeerReady
	// event, 0 when it had none; FirstVia is how that peer was found
	// (core.PeerInfo.Source: "mdns", "manual" for --peer, ...).
	FirstPeer time.Duration
	FirstVia  string
	// h: the references, plain HTTP and raw quic-go from the copy's host
	// to the requester over the LAN, bits per second.
	Intake, RawIntake float64
	// i: origin bytes of both machines together (Origin is this one's).
	Joint int64
}

// Ratio is the time against the ideal, 0 when either is unknown.
func (r *result) Ratio() float64 {
	if r.Ideal <= 0 || r.Wall <= 0 || r.Err != nil {
		return 0
	}
	return r.Wall.Seconds() / r.Ideal.Seconds()
}

// hostPort is where every node listens for QUIC.
const hostPort = 4700

// build makes the two binaries the bench runs.
func (b *bench) build(ctx context.Context) error {
	b.bin = b.cfg.bin
	if !filepath.IsAbs(b.bin) {
		b.bin = filepath.Join(b.root, b.bin)
	}
	if _, err := os.Stat(b.bin); err != nil {
		b.log.Info("building dragonload", "out", b.bin)
		if b.binErr = goBuild(ctx, b.root, b.bin, "."); b.binErr != nil {
			// The baseline runs still tell something; the pooled ones fail.
			b.log.Error("cannot build dragonload", "err", b.binErr)
		}
	}
	b.origBin = filepath.Join(b.work, "testorigin")
	if err := goBuild(ctx, b.root, b.origBin, "./test/origin/cmd/testorigin"); err != nil {
		return err
	}
	b.rawBin = filepath.Join(b.work, "rawquic")
	return goBuild(ctx, b.root, b.rawBin, "./test/rawquic/cmd/rawquic")
}

func goBuild(ctx context.Context, dir, out, pkg string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	cmd.Dir = dir
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("cannot build %s: %w\n%s", pkg, err, msg)
	}
	return nil
}

// scenarios runs the chosen scenarios in an order that reshapes the bed
// as little as possible. A failed run is recorded and the bench goes on;
// only a broken bed or origin stops it.
func (b *bench) scenarios(ctx context.Context) error {
	want := func(s string) bool { return strings.Contains(b.cfg.scenarios, s) }
	if strings.ContainsAny(b.cfg.scenarios, "abcdinoq") {
		// Before d opens any link: every host is at the -wan rate.
		if err := b.measurePerHost(ctx); err != nil {
			return err
		}
	}
	if want("a") {
		b.aria = b.runAria(ctx)
		for _, n := range []int{1, 2, 4, 8} {
			b.pooled(ctx, spec{
				scenario: "a", name: fmt.Sprintf("a: N=%d", n), lenders: seq(2, n),
				ideal:  b.ideal(float64(n) * b.perHost),
				target: 1.05,
			})
		}
	}
	if want("b") {
		h4 := b.bed.Host(4)
		if err := b.bed.SetWANRate(ctx, h4, b.cfg.slowWAN); err != nil {
			return err
		}
		g, err := b.measureGoodput(ctx, []int{4})
		if err != nil {
			return err
		}
		b.slowHost, b.slowGood = 4, g[4]
		b.pooled(ctx, spec{
			scenario: "b", name: fmt.Sprintf("b: straggler h4 at %s", netbed.FormatRate(b.cfg.slowWAN)), lenders: seq(2, 4),
			ideal: b.ideal(3*b.perHost + b.slowGood), target: 1.10,
		})
		if err := b.bed.SetWANRate(ctx, h4, b.cfg.wan); err != nil {
			return err
		}
	}
	if want("c") {
		g := b.perHost
		b.pooled(ctx, spec{
			scenario: "c", name: "c: churn (h4 joins at 25%, h2 killed at 50%)",
			lenders: []int{2, 3}, peers: []int{2, 3, 4},
			actions: []action{{at: 0.25, join: 4}, {at: 0.50, kill: 2}},
			idealAt: func(at []float64) time.Duration {
				return phasedIdeal(b.cfg.size, []float64{at[0], at[1], 1}, []float64{3 * g, 4 * g, 3 * g})
			},
			target: 1.15,
		})
	}
	for _, s := range []struct {
		letter string
		run    func(context.Context) error
	}{
		{"m", b.manyHosts}, {"n", b.smallFile}, {"o", b.slowFirstByte}, {"p", b.mixedLinks}, {"q", b.mdnsStart},
		{"l", b.rawRefs}, {"h", b.lanCopy}, {"i", b.pair}, {"j", b.sharedUplink}, {"k", b.ownLink},
	} {
		if !want(s.letter) {
			continue
		}
		if err := s.run(ctx); err != nil {
			return err
		}
	}
	if want("d") || want("e") {
		// Open the lenders' WAN links, so that only the LAN limits what
		// they deliver. The requester keeps its -wan link: unshaped, it
		// would fetch most of the file itself over a veth, and the run
		// would measure the origin instead of the pooled path.
		if err := b.setWAN(ctx, b.bed.Hosts()[1:], 0); err != nil {
			return err
		}
	}
	if want("d") {
		lan := b.bed.Hosts()[:5]
		if err := b.setLAN(ctx, lan, b.cfg.lan); err != nil {
			return err
		}
		if err := b.startOrigin(ctx, b.cfg.lanSize, 2); err != nil {
			return err
		}
		b.pooled(ctx, spec{
			scenario: "d", name: fmt.Sprintf("d: LAN-bound, LAN %s, 4 lenders", netbed.FormatRate(b.cfg.lan)),
			lenders: seq(2, 5),
			// The requester's intake: the LAN at line rate (QUIC and
			// header overhead included, so 1.0 cannot be reached) plus
			// its own WAN.
			ideal: phasedIdeal(b.cfg.lanSize, []float64{1}, []float64{float64(b.cfg.lan) + b.perHost}),
		})
		if err := b.setLAN(ctx, lan, 0); err != nil {
			return err
		}
	}
	if want("e") {
		if err := b.startOrigin(ctx, b.cfg.memSize, 3); err != nil {
			return err
		}
		b.pooled(ctx, spec{scenario: "e", name: "e: memory, lenders' WAN and LAN unshaped, 2 lenders", lenders: seq(2, 3)})
	}
	return ctx.Err()
}

// goodputHosts is how many hosts measurePerHost measures: those of a.
const goodputHosts = 8

// measurePerHost measures the plain HTTP goodput of the first
// goodputHosts hosts at once, at the -wan rate, from an origin of the
// -size file (which a, b and c then use). perHost is their median, so
// that a measurement that met a loss (or a scheduling hiccup) skews
// nothing.
func (b *bench) measurePerHost(ctx context.Context) error {
	if err := b.startOrigin(ctx, b.cfg.size, 1); err != nil {
		return err
	}
	g, err := b.measureGoodput(ctx, seq(1, goodputHosts))
	if err != nil {
		return err
	}
	b.goodput = g
	b.perHost = medianRate(g)
	return nil
}

// medianRate is the median of the rates of g.
func medianRate(g map[int]float64) float64 {
	all := slices.Sorted(maps.Values(g))
	if len(all) == 0 {
		return 0
	}
	return (all[(len(all)-1)/2] + all[len(all)/2]) / 2
}

// setWAN shapes the WAN links of hosts to bps; 0 removes the shaping.
func (b *bench) setWAN(ctx context.Context, hosts []*netbed.Host, bps int64) error {
	for _, h := range hosts {
		if err := b.bed.SetWANRate(ctx, h, bps); err != nil {
			return err
		}
	}
	return nil
}

// setLAN shapes the LAN links of hosts to bps; 0 removes the shaping.
func (b *bench) setLAN(ctx context.Context, hosts []*netbed.Host, bps int64) error {
	for _, h := range hosts {
		if err := b.bed.SetLANRate(ctx, h, bps); err != nil {
			return err
		}
	}
	return nil
}

// ideal is the time for the a, b, c file at a pool rate in bits per second.
func (b *bench) ideal(rate float64) time.Duration {
	return phasedIdeal(b.cfg.size, []float64{1}, []float64{rate})
}

// phasedIdeal is the best time for size bytes when the pool changes: phase
// i carries the file from fraction ends[i-1] (0 for the first) to ends[i]
// at rates[i] bits per second. 0 if a rate is unknown.
func phasedIdeal(size int64, ends, rates []float64) time.Duration {
	var sec, from float64
	for i, end := range ends {
		if rates[i] <= 0 {
			return 0
		}
		sec += (end - from) * float64(size) * 8 / rates[i]
		from = end
	}
	return time.Duration(sec * float64(time.Second))
}

func seq(from, to int) []int {
	var s []int
	for i := from; i <= to; i++ {
		s = append(s, i)
	}
	return s
}

// origin is the running test origin.
type origin struct {
	originOpts
	proc   *netbed.Proc
	url    string
	sha256 string
	stdout string
}

// originOpts describe a test origin.
type originOpts struct {
	size, seed int64
	rate       int64 // bytes per second per client IP, or with shared for all together; 0 = unlimited
	shared     bool  // -shared-rate: one budget for every client, a shared uplink
	latency    time.Duration
}

// startOrigin replaces the running origin with one serving size bytes.
func (b *bench) startOrigin(ctx context.Context, size, seed int64) error {
	return b.startOriginWith(ctx, originOpts{size: size, seed: seed, latency: b.cfg.latency})
}

// startOriginWith replaces the running origin with one as opt describes,
// in the internet namespace, unless the running one is that already (it
// hashes its whole file at start: about 1 s per GiB).
func (b *bench) startOriginWith(ctx context.Context, opt originOpts) error {
	if b.origin != nil && b.origin.originOpts == opt {
		select {
		case <-b.origin.proc.Done():
		default:
			return nil
		}
	}
	b.stopOrigin()
	o, err := b.launchOrigin(ctx, b.bed.InetNS(), netbed.OriginIP.String()+":8080", filepath.Join(b.work, fmt.Sprintf("origin-%d", opt.seed)), opt)
	if err != nil {
		return err
	}
	b.origin = o
	b.log.Info("origin up", "url", o.url, "size", opt.size, "rate", opt.rate, "shared", opt.shared)
	return nil
}

// launchOrigin starts a test origin in namespace ns, listening on listen,
// with its output in dir, and waits until it has printed its URL and
// digest.
func (b *bench) launchOrigin(ctx context.Context, ns, listen, dir string, opt originOpts) (*origin, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot make %s: %w", dir, err)
	}
	o := &origin{originOpts: opt, stdout: filepath.Join(dir, "origin.out")}
	args := []string{"-listen", listen,
		"-size", strconv.FormatInt(opt.size, 10), "-seed", strconv.FormatInt(opt.seed, 10),
		"-rate", strconv.FormatInt(opt.rate, 10), "-latency", opt.latency.String()}
	if opt.shared {
		args = append(args, "-shared-rate")
	}
	var err error
	if o.proc, err = b.start("origin in "+ns, netbed.Command(ns, b.origBin, args...), filepath.Join(dir, "origin")); err != nil {
		return nil, err
	}
	if err := o.await(ctx, dir); err != nil {
		o.proc.Stop(5 * time.Second)
		return nil, err
	}
	return o, nil
}

// await waits until the origin printed its URL and digest.
func (o *origin) await(ctx context.Context, dir string) error {
	// The origin hashes the whole file before it listens: about 1 s per GiB.
	deadline := time.Now().Add(30*time.Second + time.Duration(o.size>>30)*10*time.Second)
	for o.url == "" || o.sha256 == "" {
		select {
		case <-o.proc.Done():
			return fmt.Errorf("the test origin exited at start (%v); see %s", o.proc.Err(), dir)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the test origin printed no url and sha256 in time; see %s", dir)
		}
		data, _ := os.ReadFile(o.stdout)
		for _, l := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(l, "url "); ok {
				o.url = strings.TrimSpace(v)
			}
			if v, ok := strings.CutPrefix(l, "sha256 "); ok && len(strings.TrimSpace(v)) == 64 {
				o.sha256 = strings.TrimSpace(v)
			}
		}
	}
	return nil
}

func (b *bench) stopOrigin() {
	if b.origin == nil {
		return
	}
	if err := b.origin.proc.Stop(5 * time.Second); err != nil {
		b.log.Warn("cannot stop the origin", "err", err)
	}
	b.origin = nil
}

// originStats is the origin's /stats.
type originStats struct {
	BytesTotal int64            `json:"bytes_total"`
	BySource   map[string]int64 `json:"by_source"`
	Requests   int64            `json:"requests"`
}

func (b *bench) originStats(ctx context.Context) (originStats, error) {
	var s originStats
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	u := strings.TrimSuffix(b.origin.url, "/"+filepath.Base(b.origin.url)) + "/stats"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return s, err
	}
	resp, err := netbed.HTTPClient(b.bed.InetNS()).Do(req)
	if err != nil {
		return s, fmt.Errorf("cannot read the origin's stats: %w", err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&s); err != nil {
		return s, fmt.Errorf("cannot read the origin's stats: %w", err)
	}
	return s, nil
}

// measureGoodput measures a plain HTTP download from the origin on each
// of hosts at once (their WAN links are independent), skipping the first
// 1.5 s of slow start, and returns bits per second by host.
func (b *bench) measureGoodput(ctx context.Context, hosts []int) (map[int]float64, error) {
	var wg sync.WaitGroup
	errs := make([]error, len(hosts))
	rates := make([]float64, len(hosts))
	for i, h := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rates[i], errs[i] = netbed.Goodput(ctx, netbed.HTTPClient(b.bed.Host(h).NS), b.origin.url, 1500*time.Millisecond, 6*time.Second)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	g := map[int]float64{}
	for i, h := range hosts {
		g[h] = rates[i]
		b.log.Info("goodput", "host", h, "mbit", fmt.Sprintf("%.2f", rates[i]/1e6))
	}
	return g, nil
}

// runAria downloads the file from h1 with aria2c, 16 connections.
func (b *bench) runAria(ctx context.Context) *result {
	r := &result{Scenario: "a", Name: "a: aria2c -x16 -s16, h1 alone", N: 1, Size: b.origin.size, Ideal: b.ideal(b.perHost)}
	dir := filepath.Join(b.work, "a-aria2c")
	out := filepath.Join(dir, "out")
	if err := os.MkdirAll(out, 0o755); err != nil {
		r.Err = err
		return r
	}
	before, err := b.originStats(ctx)
	if err != nil {
		r.Err = err
		return r
	}
	cmd := netbed.Command(b.bed.Host(1).NS, "aria2c", "-x16", "-s16", "-k1M",
		"--dir", out, "--out", "file.bin", "--file-allocation=none", "--allow-overwrite=true",
		"--auto-file-renaming=false", "--show-console-readout=false", "--summary-interval=0",
		"--download-result=hide", "--console-log-level=warn", b.origin.url)
	b.log.Info("run", "name", r.Name)
	begin := time.Now()
	p, err := b.start("aria2c", cmd, filepath.Join(dir, "aria2c"))
	if err != nil {
		r.Err = err
		return r
	}
	if !b.wait(ctx, p, 4*r.Ideal+time.Minute) {
		r.Err = fmt.Errorf("aria2c did not finish in %v", 4*r.Ideal+time.Minute)
		return r
	}
	r.Wall = time.Since(begin)
	r.Req, _ = p.Usage()
	if code := p.ExitCode(); code != 0 {
		r.Err = fmt.Errorf("aria2c exited %d; see %s", code, dir)
		return r
	}
	after, err := b.originStats(ctx)
	if err != nil {
		r.Err = err
		return r
	}
	r.Origin = after.BytesTotal - before.BytesTotal
	r.Err = b.verify(filepath.Join(out, "file.bin"))
	b.log.Info("done", "name", r.Name, "time", r.Wall.Round(time.Millisecond), "ideal", r.Ideal.Round(time.Millisecond))
	return r
}

// spec describes one pooled download. The requester is always h1.
type spec struct {
	scenario, name string
	row            string // the Targets row, when the run is one of several
	lenders        []int  // hosts lending from the start
	peers          []int  // hosts given to the requester with --peer; nil = lenders, or none with mdnsAll
	mdns           mdnsMode
	homes          string // the folder of every node's home; "" = the run's folder, so fresh homes
	actions        []action
	ideal          time.Duration
	idealAt        func(at []float64) time.Duration // for a pool that changes: the fractions at which actions ran
	target         float64
	// prepare runs in the run's folder before any lender starts.
	prepare func(ctx context.Context, dir string, r *result) error
}

// mdnsMode is which nodes of a run run mDNS. Those that do run it on the
// bed's LAN interface alone; the others run with --no-mdns.
type mdnsMode int

const (
	mdnsOff     mdnsMode = iota // no node: the requester reaches the lenders by --peer
	mdnsLenders                 // the lenders; the requester still reaches them by --peer alone
	mdnsAll                     // every node: the requester gets no --peer and finds the lenders by mDNS
)

// lanIface is every bed host's LAN interface (netbed names it lan0).
const lanIface = "lan0"

// mdnsArgs are the flags that turn mDNS on, on the LAN interface alone
// (not on wan0, whose far end is the internet namespace), or off.
func mdnsArgs(on bool) []string {
	if on {
		return []string{"--iface", lanIface}
	}
	return []string{"--no-mdns"}
}

// action changes the pool once the requester has this fraction durable.
type action struct {
	at   float64
	join int // host whose agent starts
	kill int // host whose agent is SIGKILLed
}

// agent is one running lender.
type agent struct {
	host *netbed.Host
	proc *netbed.Proc
}

// pooled runs one download with the real binary and records it.
func (b *bench) pooled(ctx context.Context, s spec) *result {
	r := &result{Scenario: s.scenario, Name: s.name, Row: s.row, N: 1 + len(s.lenders), Size: b.origin.size, Ideal: s.ideal, Target: s.target}
	b.results = append(b.results, r)
	b.log.Info("run", "name", r.Name)
	r.Err = b.runPooled(ctx, s, r)
	b.logDone(r)
	return r
}

func (b *bench) logDone(r *result) {
	if r.Err != nil {
		b.log.Error("run failed", "name", r.Name, "err", r.Err)
		return
	}
	b.log.Info("done", "name", r.Name, "time", r.Wall.Round(time.Millisecond), "ideal", r.Ideal.Round(time.Millisecond),
		"origin/S", fmt.Sprintf("%.3f", float64(r.Origin)/float64(r.Size)))
}

func (b *bench) runPooled(ctx context.Context, s spec, r *result) error {
	if b.binErr != nil {
		return b.binErr
	}
	dir := filepath.Join(b.work, slug(s.name))
	out := filepath.Join(dir, "out")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	if s.prepare != nil {
		if err := s.prepare(ctx, dir, r); err != nil {
			return err
		}
	}
	homes := cmp.Or(s.homes, dir)
	lenders := &pool{b: b, r: r, dir: dir, homes: homes, mdns: s.mdns != mdnsOff, agents: map[int]*agent{}}
	defer lenders.close()
	for _, h := range s.lenders {
		if err := lenders.join(ctx, h); err != nil {
			return err
		}
	}

	h1 := b.bed.Host(1)
	before, err := b.originStats(ctx)
	if err != nil {
		return err
	}
	lanBefore, err := b.bed.LANCounters(ctx, h1)
	if err != nil {
		return err
	}
	events := filepath.Join(dir, "events.jsonl")
	peers := s.peers
	if peers == nil && s.mdns != mdnsAll {
		peers = s.lenders
	}
	args := b.getArgs(h1, homes, out, events, peers, s.mdns == mdnsAll)
	limit := 4*max(s.ideal, 30*time.Second) + time.Minute
	begin := time.Now()
	req, err := b.start("requester", netbed.Command(h1.NS, b.bin, args...), filepath.Join(dir, "get"))
	if err != nil {
		return err
	}
	follow := newFollower(events)
	var at []float64
	next := 0
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	timeout := time.NewTimer(limit)
	defer timeout.Stop()
wait:
	for {
		select {
		case <-req.Done():
			r.Wall = time.Since(begin)
			break wait
		case <-ctx.Done():
			b.end(req)
			return ctx.Err()
		case <-timeout.C:
			b.end(req)
			return fmt.Errorf("the requester did not finish in %v (goroutine dump in %s)", limit, filepath.Join(dir, "get.err"))
		case <-tick.C:
		}
		if next >= len(s.actions) {
			continue
		}
		if err := follow.poll(); err != nil {
			return err
		}
		for next < len(s.actions) && follow.tl.fraction() >= s.actions[next].at {
			a, f := s.actions[next], follow.tl.fraction()
			at = append(at, f)
			next++
			if a.join != 0 {
				b.log.Info("churn: agent joins", "host", a.join, "at", fmt.Sprintf("%.1f%%", 100*f))
				if err := lenders.join(ctx, a.join); err != nil {
					return err
				}
			}
			if a.kill != 0 {
				b.log.Info("churn: agent killed", "host", a.kill, "at", fmt.Sprintf("%.1f%%", 100*f))
				lenders.leave(a.kill, true)
			}
		}
	}
	r.Req, _ = req.Usage()
	lenders.close()
	if code := req.ExitCode(); code != 0 {
		return fmt.Errorf("dragonload get exited %d; see %s", code, dir)
	}
	if len(at) < len(s.actions) {
		r.Notes = append(r.Notes, fmt.Sprintf("only %d of %d pool changes happened before the end", len(at), len(s.actions)))
	} else if s.idealAt != nil {
		r.Ideal = s.idealAt(at)
	}
	after, err := b.originStats(ctx)
	if err != nil {
		return err
	}
	r.Origin = after.BytesTotal - before.BytesTotal
	lanAfter, err := b.bed.LANCounters(ctx, h1)
	if err != nil {
		return err
	}
	r.LAN = lanAfter.RxBytes - lanBefore.RxBytes
	if err := b.readEvents(r, events, begin, lenders.started, h1); err != nil {
		return err
	}
	file, err := onlyFile(out)
	if err != nil {
		return err
	}
	return b.verify(file)
}

// getArgs is the command line of a one-shot `dragonload get` of the
// origin's file on host h, with its home in folder homes, the file into
// out, its events into events, the given hosts as peers, and mDNS on or
// off.
func (b *bench) getArgs(h *netbed.Host, homes, out, events string, peers []int, mdns bool) []string {
	args := []string{"get", b.origin.url, "--home", filepath.Join(homes, "home-"+h.Name), "--room", b.room, "--name", h.Name,
		"--listen", fmt.Sprintf("%s:%d", h.LANIP, hostPort), "--allow-private-origins", "--out", out, "--events", events}
	args = append(args, mdnsArgs(mdns)...)
	for _, p := range peers {
		args = append(args, "--peer", fmt.Sprintf("%s:%d", b.bed.Host(p).LANIP, hostPort))
	}
	return args
}

// onlyFile is the one file a download left in folder out.
func onlyFile(out string) (string, error) {
	files, err := os.ReadDir(out)
	if err != nil {
		return "", err
	}
	var names []string
	for _, f := range files {
		if !strings.HasPrefix(f.Name(), ".") {
			names = append(names, f.Name())
		}
	}
	if len(names) != 1 {
		return "", fmt.Errorf("the output folder %s holds %v, want one file", out, names)
	}
	return filepath.Join(out, names[0]), nil
}

// readEvents takes from the events of the requester on host self what
// the run's record needs: start-up and finish times, the first ready
// peer, the 1% steps, who fetched what, what came from LAN copies, the
// shared-link notices, and which lenders never became ready.
func (b *bench) readEvents(r *result, path string, begin time.Time, lenders []int, self *netbed.Host) error {
	tl, err := readTimeline(path)
	if err != nil {
		return err
	}
	if first, full, ok := tl.span(); ok {
		r.Startup, r.Finish = first.Sub(begin), begin.Add(r.Wall).Sub(full)
	}
	if !tl.ready.IsZero() {
		r.FirstPeer, r.FirstVia = max(tl.ready.Sub(begin), time.Nanosecond), tl.via
	}
	r.Shares = map[string]int64{}
	for id, n := range tl.shares {
		node, copied := strings.CutPrefix(id, copyPrefix)
		name := b.hostName(node, tl.names[id], tl.addrs[node], self)
		if copied {
			name += " (LAN copy)"
		}
		r.Shares[name] += n
	}
	r.Copied = tl.copied
	r.SharedLink = tl.sharedLink()
	if n, ok := tl.firstNotice(noticeNotHelping, noticeSharesLink); ok {
		r.SharedAt = max(n.t.Sub(begin), time.Nanosecond)
	}
	if n, ok := tl.firstNotice(noticeNotHelping); ok {
		r.NotHelping = max(n.t.Sub(begin), time.Nanosecond)
	}
	ready := map[string]bool{}
	for id, addr := range tl.addrs {
		ready[b.hostName(id, tl.names[id], addr, self)] = true
	}
	for _, h := range lenders {
		if name := b.bed.Host(h).Name; !ready[name] {
			r.Notes = append(r.Notes, fmt.Sprintf("lender %s never became ready (see agent-%s.err)", name, name))
		}
	}
	if r.Tail, err = tl.tail(); err != nil {
		r.Notes = append(r.Notes, "no 1% steps: "+err.Error())
	}
	return nil
}

// pool is the lenders of one run.
type pool struct {
	b       *bench
	r       *result
	dir     string // the run's folder, for the logs
	homes   string // the folder of the lenders' homes
	mdns    bool   // whether the lenders run mDNS
	agents  map[int]*agent
	started []int // every host that lent in the run, in order
}

// join starts a lender on host h.
func (p *pool) join(ctx context.Context, h int) error {
	a, err := p.b.startAgent(ctx, p.dir, p.homes, h, p.mdns)
	if err != nil {
		return err
	}
	p.agents[h] = a
	p.started = append(p.started, h)
	return nil
}

// leave ends host h's lender, abruptly (SIGKILL) or politely, and records
// what it used.
func (p *pool) leave(h int, kill bool) {
	a := p.agents[h]
	if a == nil {
		return
	}
	delete(p.agents, h)
	if kill {
		a.proc.Signal(syscall.SIGKILL)
	} else if !p.b.end(a.proc) {
		p.r.Notes = append(p.r.Notes, fmt.Sprintf("agent %s ignored SIGTERM (goroutine dump in agent-%s.err)", a.host.Name, a.host.Name))
	}
	a.proc.Wait(5 * time.Second)
	if u, err := a.proc.Usage(); err == nil {
		p.r.Lenders = append(p.r.Lenders, u)
	}
}

// close ends every lender still running.
func (p *pool) close() {
	for h := range p.agents {
		p.leave(h, false)
	}
}

// copyPrefix starts the id of a member's LAN copy in the requester's
// progress reports (core.PeerShare.Peer): "copy:" and its node id.
const copyPrefix = "copy:"

// hostName names a participant by its bed host: "self" is the requester,
// self; a lender is known by the name the bench gave it or by the LAN
// address it was reached at.
func (b *bench) hostName(id, name, addr string, self *netbed.Host) string {
	if id == "self" {
		return self.Name
	}
	for _, h := range b.bed.Hosts() {
		if name == h.Name || strings.HasPrefix(addr, h.LANIP.String()+":") {
			return h.Name
		}
	}
	if len(id) > 8 {
		id = id[:8]
	}
	return "node " + id
}

// startAgent starts a lender on host h, its home in folder homes, its
// logs in dir, and mDNS on or off, and waits until it listens.
func (b *bench) startAgent(ctx context.Context, dir, homes string, h int, mdns bool) (*agent, error) {
	host := b.bed.Host(h)
	args := append([]string{"agent", "--home", filepath.Join(homes, "home-"+host.Name), "--room", b.room, "--name", host.Name,
		"--listen", fmt.Sprintf("%s:%d", host.LANIP, hostPort), "--allow-private-origins"}, mdnsArgs(mdns)...)
	p, err := b.start("agent "+host.Name, netbed.Command(host.NS, b.bin, args...), filepath.Join(dir, "agent-"+host.Name))
	if err != nil {
		return nil, err
	}
	if err := awaitUDP(ctx, p, hostPort, dir); err != nil {
		return nil, err
	}
	return &agent{host: host, proc: p}, nil
}

// awaitUDP waits until p listens on UDP port, at most 30 s, and stops it
// if it does not; its logs are in dir.
func awaitUDP(ctx context.Context, p *netbed.Proc, port int, dir string) error {
	deadline := time.Now().Add(30 * time.Second)
	for !netbed.UDPListening(p.Pid(), port) {
		select {
		case <-p.Done():
			return fmt.Errorf("%s exited at start (%v); see %s", p.Name, p.Err(), dir)
		case <-ctx.Done():
			p.Stop(5 * time.Second)
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.Stop(5 * time.Second)
			return fmt.Errorf("%s did not listen on UDP %d within 30 s; see %s", p.Name, port, dir)
		}
	}
	return nil
}

// end stops p and reports whether it exited on SIGTERM within 5 s. One
// that did not is sent SIGQUIT, which makes a Go program print every
// goroutine's stack to its stderr (the log), and then killed.
func (b *bench) end(p *netbed.Proc) bool {
	p.Signal(syscall.SIGTERM)
	if p.Wait(5 * time.Second) {
		return true
	}
	b.log.Warn("no exit on SIGTERM; asking for a goroutine dump", "name", p.Name, "pid", p.Pid())
	p.Signal(syscall.SIGQUIT)
	p.Wait(3 * time.Second)
	if err := p.Stop(0); err != nil {
		b.log.Warn("cannot stop", "name", p.Name, "err", err)
	}
	return false
}

// wait waits for p to exit, at most limit, and ends it otherwise.
func (b *bench) wait(ctx context.Context, p *netbed.Proc, limit time.Duration) bool {
	select {
	case <-p.Done():
		return true
	case <-ctx.Done():
	case <-time.After(limit):
	}
	b.end(p)
	return false
}

// verify checks a downloaded file against the origin's digest and removes
// it, to keep the disk free for the next run.
func (b *bench) verify(path string) error {
	defer os.Remove(path)
	return b.check(path)
}

// check checks a downloaded file against the origin's digest.
func (b *bench) check(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("cannot check the download: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return fmt.Errorf("cannot check the download: %w", err)
	}
	if n != b.origin.size {
		return fmt.Errorf("the download has %d bytes, the origin %d", n, b.origin.size)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != b.origin.sha256 {
		return fmt.Errorf("the download's sha256 is %s, the origin's %s", got, b.origin.sha256)
	}
	return nil
}

// start starts cmd on the bed with its output in base.out and base.err.
func (b *bench) start(name string, cmd *exec.Cmd, base string) (*netbed.Proc, error) {
	out, err := os.Create(base + ".out")
	if err != nil {
		return nil, fmt.Errorf("cannot start %s: %w", name, err)
	}
	defer out.Close() // the child has its own copy
	errf, err := os.Create(base + ".err")
	if err != nil {
		return nil, fmt.Errorf("cannot start %s: %w", name, err)
	}
	defer errf.Close()
	cmd.Stdout, cmd.Stderr = out, errf
	return b.bed.Start(name, cmd)
}

// slug turns a run name into a folder name.
func slug(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.Trim(b.String(), "-")
}
