package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/dragonload/dragonload/test/netbed"
)

// Scenarios h, i and j: a copy of the file on the LAN, two machines
// fetching the same file at once, and lenders behind one shared uplink.

// pairStagger is how long after h1 h2 starts its get in scenario i.
const pairStagger = 5 * time.Second

// copyHolder is the host that fetched the file before h1 in scenario h.
const copyHolder = 2

// lanCopy is scenario h: h2 fetched the -size file before (its WAN link
// opened for that, so it takes seconds, then restored), keeps it, and its
// agent shares it from the index in its home; h1 then gets the same URL
// with h2 as its peer and should copy nearly all of it over the LAN, at
// about the LAN's plain HTTP rate, and at about raw quic-go's (what QUIC
// alone manages, see rawIntake). The LAN is unshaped unless -copy-lan
// says otherwise.
func (b *bench) lanCopy(ctx context.Context) error {
	if err := b.startOrigin(ctx, b.cfg.size, 1); err != nil {
		return err
	}
	holder, h1 := b.bed.Host(copyHolder), b.bed.Host(1)
	name := fmt.Sprintf("h: LAN copy, %s fetched the file before", holder.Name)
	if b.cfg.copyLAN > 0 {
		name += ", LAN " + netbed.FormatRate(b.cfg.copyLAN)
		for _, h := range []*netbed.Host{h1, holder} {
			if err := b.bed.SetLANRate(ctx, h, b.cfg.copyLAN); err != nil {
				return err
			}
		}
	}
	b.pooled(ctx, spec{
		scenario: "h", name: name, lenders: []int{copyHolder},
		prepare: func(ctx context.Context, dir string, r *result) error {
			if err := b.seedCopy(ctx, dir, holder, r); err != nil {
				return err
			}
			v, err := b.lanIntake(ctx, dir, holder, h1)
			if err != nil {
				return err
			}
			r.Intake = v
			r.Ideal = phasedIdeal(r.Size, []float64{1}, []float64{v})
			r.RawIntake, err = b.rawIntake(ctx, dir, holder, h1, r.Size)
			return err
		},
	})
	// The copy has served; keep the disk free. And whatever happened in
	// the run, the holder's WAN link must be back at the -wan rate.
	os.RemoveAll(filepath.Join(b.work, slug(name), "copy-"+holder.Name))
	err := b.bed.SetWANRate(ctx, holder, b.cfg.wan)
	if b.cfg.copyLAN > 0 {
		for _, h := range []*netbed.Host{h1, holder} {
			err = errors.Join(err, b.bed.SetLANRate(ctx, h, 0))
		}
	}
	return err
}

// seedCopy has host fetch the origin's file alone into a home of its own
// (the one its agent will use), with its WAN link opened for the time
// and restored after, and keeps the file: the copy it will share.
func (b *bench) seedCopy(ctx context.Context, dir string, host *netbed.Host, r *result) error {
	if err := b.bed.SetWANRate(ctx, host, 0); err != nil {
		return err
	}
	err := b.fetchCopy(ctx, dir, host, r)
	if rerr := b.bed.SetWANRate(ctx, host, b.cfg.wan); rerr != nil {
		return errors.Join(err, rerr)
	}
	return err
}

func (b *bench) fetchCopy(ctx context.Context, dir string, host *netbed.Host, r *result) error {
	if b.binErr != nil {
		return b.binErr
	}
	out := filepath.Join(dir, "copy-"+host.Name)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	events := filepath.Join(dir, "events-"+host.Name+".jsonl")
	begin := time.Now()
	p, err := b.start("get on "+host.Name, netbed.Command(host.NS, b.bin, b.getArgs(host, dir, out, events, nil, false)...), filepath.Join(dir, "get-"+host.Name))
	if err != nil {
		return err
	}
	const limit = 5 * time.Minute
	if !b.wait(ctx, p, limit) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%s's own get, WAN open, did not finish in %v; see %s", host.Name, limit, dir)
	}
	took := time.Since(begin)
	if code := p.ExitCode(); code != 0 {
		return fmt.Errorf("%s's own get exited %d; see %s", host.Name, code, dir)
	}
	file, err := onlyFile(out)
	if err != nil {
		return err
	}
	if err := b.check(file); err != nil {
		return fmt.Errorf("%s's copy: %w", host.Name, err)
	}
	r.Notes = append(r.Notes, fmt.Sprintf("%s fetched its copy in %s with its WAN link open", host.Name, secs(took)))
	b.log.Info("copy in place", "host", host.Name, "time", took.Round(time.Millisecond))
	return nil
}

// lanIntake is the plain HTTP goodput from host src to host dst over the
// LAN, in bits per second: a test origin on src's LAN address serves the
// same file, unlimited and without latency, and dst downloads it whole
// twice; the faster GET counts, timed from the request to the last byte.
func (b *bench) lanIntake(ctx context.Context, dir string, src, dst *netbed.Host) (float64, error) {
	o, err := b.launchOrigin(ctx, src.NS, src.LANIP.String()+":8080", filepath.Join(dir, "lan-origin-"+src.Name),
		originOpts{size: b.origin.size, seed: b.origin.seed})
	if err != nil {
		return 0, err
	}
	defer o.proc.Stop(5 * time.Second)
	client := netbed.HTTPClient(dst.NS)
	var best float64
	for range 2 {
		v, err := wholeGet(ctx, client, o.url, o.size)
		if err != nil {
			return 0, fmt.Errorf("cannot measure the LAN intake: %w", err)
		}
		best = max(best, v)
	}
	b.log.Info("LAN intake", "from", src.Name, "to", dst.Name, "mbit", fmt.Sprintf("%.0f", best/1e6))
	return best, nil
}

// wholeGet downloads url, which must have size bytes, and returns the
// rate in bits per second from the request to the last byte.
func wholeGet(ctx context.Context, client *http.Client, url string, size int64) (float64, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	begin := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: status %s", url, resp.Status)
	}
	buf := make([]byte, 1<<20)
	var n int64
	for {
		k, err := resp.Body.Read(buf)
		n += int64(k)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, fmt.Errorf("GET %s: %w", url, err)
		}
	}
	took := time.Since(begin)
	if n != size {
		return 0, fmt.Errorf("GET %s: %d bytes, want %d", url, n, size)
	}
	return float64(n) * 8 / took.Seconds(), nil
}

// side is one of several one-shot gets that run at the same time.
type side struct {
	host *netbed.Host
	peer int           // the host it names with --peer
	at   time.Duration // when it starts, after the first
	r    *result

	out, events string
	lan         netbed.Counters // at the start
	proc        *netbed.Proc
	begin, end  time.Time
	exited      chan struct{} // closed once end is set
}

// pair is scenario i: h1 and h2 get the same file (a fixed size, an
// origin seed of its own) pairStagger apart, each with the other as its
// peer, both one-shot gets that lend no bandwidth; between them they
// should fetch each byte from the internet about once. Each machine's
// time is compared with fetching alone, S / its goodput, for information.
func (b *bench) pair(ctx context.Context) error {
	size := b.cfg.pairSize
	if err := b.startOrigin(ctx, size, 4); err != nil {
		return err
	}
	// Fetching alone, like every host at the -wan rate: S / the median goodput.
	alone := phasedIdeal(size, []float64{1}, []float64{b.perHost})
	sides := []*side{
		{host: b.bed.Host(1), peer: 2, r: &result{Scenario: "i", Name: "i: h1 starts first", Host: "h1", N: 2, Size: size, Ideal: alone}},
		{host: b.bed.Host(2), peer: 1, at: pairStagger,
			r: &result{Scenario: "i", Name: fmt.Sprintf("i: h2 starts %v later", pairStagger), Host: "h2", N: 2, Size: size, Ideal: alone}},
	}
	for _, s := range sides {
		b.results = append(b.results, s.r)
	}
	b.log.Info("run", "name", fmt.Sprintf("i: h1 and h2 get the same file %v apart", pairStagger))
	if err := b.runSides(ctx, filepath.Join(b.work, "i-same-file-at-once"), sides); err != nil {
		for _, s := range sides {
			if s.r.Err == nil {
				s.r.Err = err
			}
		}
	}
	for _, s := range sides {
		b.logDone(s.r)
	}
	return nil
}

// runSides runs the gets of sides, each started at its offset, waits for
// all of them, and records each. An error concerns them all; one that
// concerns a single side is in its result.
func (b *bench) runSides(ctx context.Context, dir string, sides []*side) error {
	if b.binErr != nil {
		return b.binErr
	}
	var limit time.Duration
	for _, s := range sides {
		s.out = filepath.Join(dir, "out-"+s.host.Name)
		s.events = filepath.Join(dir, "events-"+s.host.Name+".jsonl")
		if err := os.MkdirAll(s.out, 0o755); err != nil {
			return err
		}
		var err error
		if s.lan, err = b.bed.LANCounters(ctx, s.host); err != nil {
			return err
		}
		limit = max(limit, s.at+4*max(s.r.Ideal, 30*time.Second)+time.Minute)
	}
	defer func() {
		// Whatever is still running after an early return.
		for _, s := range sides {
			if s.proc == nil {
				continue
			}
			select {
			case <-s.exited:
			default:
				b.end(s.proc)
				<-s.exited
			}
		}
	}()
	before, err := b.originStats(ctx)
	if err != nil {
		return err
	}
	start := time.Now()
	for _, s := range sides {
		select {
		case <-time.After(time.Until(start.Add(s.at))):
		case <-ctx.Done():
			return ctx.Err()
		}
		s.begin = time.Now()
		p, err := b.start("get on "+s.host.Name, netbed.Command(s.host.NS, b.bin, b.getArgs(s.host, dir, s.out, s.events, []int{s.peer}, false)...),
			filepath.Join(dir, "get-"+s.host.Name))
		if err != nil {
			return err
		}
		s.proc, s.exited = p, make(chan struct{})
		go func() {
			<-p.Done()
			s.end = time.Now()
			close(s.exited)
		}()
	}
	deadline := time.NewTimer(time.Until(start.Add(limit)))
	defer deadline.Stop()
	for _, s := range sides {
		select {
		case <-s.exited:
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return fmt.Errorf("the gets did not finish in %v (goroutine dumps in %s)", limit, dir)
		}
	}
	after, err := b.originStats(ctx)
	if err != nil {
		return err
	}
	joint := after.BytesTotal - before.BytesTotal
	for _, s := range sides {
		ip := s.host.WANIP.String()
		s.r.Joint, s.r.Origin = joint, after.BySource[ip]-before.BySource[ip]
		s.r.Err = b.finishSide(ctx, s, dir)
	}
	return nil
}

// finishSide records one finished get of runSides and checks its file.
func (b *bench) finishSide(ctx context.Context, s *side, dir string) error {
	r := s.r
	r.Wall = s.end.Sub(s.begin)
	r.Req, _ = s.proc.Usage()
	if code := s.proc.ExitCode(); code != 0 {
		return fmt.Errorf("dragonload get on %s exited %d; see %s", s.host.Name, code, dir)
	}
	lan, err := b.bed.LANCounters(ctx, s.host)
	if err != nil {
		return err
	}
	r.LAN = lan.RxBytes - s.lan.RxBytes
	if err := b.readEvents(r, s.events, s.begin, nil, s.host); err != nil {
		return err
	}
	file, err := onlyFile(s.out)
	if err != nil {
		return err
	}
	return b.verify(file)
}

// sharedHosts is how many hosts share the one uplink of scenario j.
const sharedHosts = 4

// sharedUplink is scenario j: h1..h4 behind one uplink of the -wan rate,
// which the origin models (its -rate with -shared-rate is one budget for
// every client) while the hosts' own WAN links are unshaped. h1 fetches
// alone, then with h2..h4 lending: pooling cannot help, and the requester
// should say so and stop fetching through the lenders, losing no time.
func (b *bench) sharedUplink(ctx context.Context) error {
	hosts := b.bed.Hosts()[:sharedHosts]
	for _, h := range hosts {
		if err := b.bed.SetWANRate(ctx, h, 0); err != nil {
			return err
		}
	}
	err := b.runShared(ctx)
	for _, h := range hosts {
		if rerr := b.bed.SetWANRate(ctx, h, b.cfg.wan); rerr != nil {
			err = errors.Join(err, rerr)
		}
	}
	return err
}

func (b *bench) runShared(ctx context.Context) error {
	size := b.cfg.sharedSize
	if err := b.startOriginWith(ctx, originOpts{size: size, seed: 5, rate: b.cfg.wan / 8, shared: true, latency: b.cfg.latency}); err != nil {
		return err
	}
	up := netbed.FormatRate(b.cfg.wan)
	alone := b.pooled(ctx, spec{
		scenario: "j", name: fmt.Sprintf("j: h1 alone behind a shared %s uplink", up),
		// The origin's budget counts file bytes: nothing can beat it.
		ideal: phasedIdeal(size, []float64{1}, []float64{float64(b.cfg.wan)}),
	})
	var ideal time.Duration
	if alone.Err == nil {
		ideal = alone.Wall
	}
	b.pooled(ctx, spec{
		scenario: "j", name: fmt.Sprintf("j: h1 + %d lenders behind the same uplink", sharedHosts-1),
		lenders: seq(2, sharedHosts), ideal: ideal, target: targetSharedRatio,
	})
	return nil
}
