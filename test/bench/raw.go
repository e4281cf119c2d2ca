package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/dragonload/dragonload/test/netbed"
)

// Scenario l and h's second reference: what one bulk transfer over the
// LAN costs without Dragonload (issue 10, goal 4), with the rawquic tool
// (test/rawquic/cmd/rawquic).

// rawScenario is the letter of the reference transfers' runs.
const rawScenario = "l"

// rawKind is a reference transfer: raw quic-go (rawquic serve to rawquic
// get, quicwire's receive windows) or plain HTTP (a test origin to
// rawquic httpget).
type rawKind string

const (
	rawQUIC rawKind = "raw quic-go"
	rawHTTP rawKind = "raw HTTP"
)

// rawPort is where rawquic serve listens, apart from the nodes' hostPort.
const rawPort = 4800

// rawSeed is the content seed of the test origin as an HTTP sender.
const rawSeed = 10

// rawRun is one reference transfer.
type rawRun struct {
	took time.Duration // as the receiver timed it: dial or request to last byte
	recv netbed.Usage  // the receiving process, from wait4
	send netbed.Usage  // the sender during the transfer: its CPU before and after
}

// rawName is the Targets row of scenario l for kind over a LAN at rate
// (0 = unshaped).
func rawName(kind rawKind, rate int64) string {
	return fmt.Sprintf("l: %s h2→h1, LAN %s", kind, lanName(rate))
}

func lanName(rate int64) string {
	if rate <= 0 {
		return "unshaped"
	}
	return netbed.FormatRate(rate)
}

// rawRefs is scenario l: raw quic-go and plain HTTP from h2 to h1 over
// the LAN, unshaped and then at -lan, repeats times each (every one is
// short), with the receiver's and the sender's CPU. The LAN is unshaped
// again after.
func (b *bench) rawRefs(ctx context.Context) error {
	pair := []*netbed.Host{b.bed.Host(1), b.bed.Host(2)}
	for _, rate := range []int64{0, b.cfg.lan} {
		err := b.setLAN(ctx, pair, rate)
		if err == nil {
			for _, kind := range []rawKind{rawQUIC, rawHTTP} {
				b.rawRow(ctx, kind, rate)
			}
		}
		if err := errors.Join(err, b.setLAN(ctx, pair, 0)); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// rawRow records repeats transfers of kind of the -lan-size file from h2
// to h1, one run each under one Targets row; those a failure cut short
// are failed runs.
func (b *bench) rawRow(ctx context.Context, kind rawKind, rate int64) {
	name := rawName(kind, rate)
	b.log.Info("run", "name", name)
	size := b.cfg.lanSize
	runs, err := b.rawTransfers(ctx, filepath.Join(b.work, slug(name)), kind, b.bed.Host(2), b.bed.Host(1), size, repeats)
	for i := range repeats {
		r := &result{Scenario: rawScenario, Name: fmt.Sprintf("%s (run %d of %d)", name, i+1, repeats), Row: name, N: 2, Size: size, Err: err}
		if i < len(runs) {
			r.Wall, r.Req, r.Lenders, r.Err = runs[i].took, runs[i].recv, []netbed.Usage{runs[i].send}, nil
		}
		b.results = append(b.results, r)
		if r.Err != nil {
			b.log.Error("run failed", "name", r.Name, "err", r.Err)
		} else {
			b.log.Info("done", "name", r.Name, "time", r.Wall.Round(time.Millisecond), "MB/s", fmt.Sprintf("%.0f", float64(size)/r.Wall.Seconds()/1e6))
		}
	}
}

// rawIntake is h's second reference: raw quic-go from src to dst over
// the LAN, the faster of two transfers of size bytes, in bits per second.
func (b *bench) rawIntake(ctx context.Context, dir string, src, dst *netbed.Host, size int64) (float64, error) {
	runs, err := b.rawTransfers(ctx, filepath.Join(dir, "raw-quic-"+src.Name), rawQUIC, src, dst, size, 2)
	if err != nil {
		return 0, fmt.Errorf("cannot measure the raw quic-go intake: %w", err)
	}
	best := slices.MinFunc(runs, func(a, b rawRun) int { return cmp.Compare(a.took, b.took) }).took
	v := float64(size) * 8 / best.Seconds()
	b.log.Info("raw quic-go intake", "from", src.Name, "to", dst.Name, "mbit", fmt.Sprintf("%.0f", v/1e6))
	return v, nil
}

// rawTransfers runs n transfers of kind of size bytes from src to dst over
// the LAN, one after the other, with their logs in dir. One sender serves
// them all; its CPU during each is read from /proc before and after,
// which leaves its start out (a test origin hashes its whole file first).
func (b *bench) rawTransfers(ctx context.Context, dir string, kind rawKind, src, dst *netbed.Host, size int64, n int) ([]rawRun, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	sender, args, err := b.rawSender(ctx, dir, kind, src, size)
	if err != nil {
		return nil, err
	}
	defer sender.Stop(5 * time.Second)
	var runs []rawRun
	for i := 1; i <= n; i++ {
		r, err := b.rawTransfer(ctx, filepath.Join(dir, fmt.Sprintf("get-%d", i)), sender, dst, args)
		if err != nil {
			return runs, err
		}
		runs = append(runs, r)
	}
	return runs, nil
}

// rawSender starts the sending side of kind on src's LAN address and
// returns it with the receiver's rawquic arguments.
func (b *bench) rawSender(ctx context.Context, dir string, kind rawKind, src *netbed.Host, size int64) (*netbed.Proc, []string, error) {
	n := strconv.FormatInt(size, 10)
	if kind == rawHTTP {
		o, err := b.launchOrigin(ctx, src.NS, src.LANIP.String()+":8080", filepath.Join(dir, "origin"), originOpts{size: size, seed: rawSeed})
		if err != nil {
			return nil, nil, err
		}
		return o.proc, []string{"httpget", "-url", o.url, "-size", n}, nil
	}
	addr := fmt.Sprintf("%s:%d", src.LANIP, rawPort)
	p, err := b.start("rawquic serve on "+src.Name, netbed.Command(src.NS, b.rawBin, "serve", "-listen", addr, "-size", n), filepath.Join(dir, "serve"))
	if err != nil {
		return nil, nil, err
	}
	if err := awaitUDP(ctx, p, rawPort, dir); err != nil {
		return nil, nil, err
	}
	return p, []string{"get", "-addr", addr, "-size", n}, nil
}

// rawTransfer runs one rawquic receiver on dst with args, its output in
// base.out and base.err.
func (b *bench) rawTransfer(ctx context.Context, base string, sender *netbed.Proc, dst *netbed.Host, args []string) (rawRun, error) {
	before, err := sender.Usage()
	if err != nil {
		return rawRun{}, err
	}
	p, err := b.start("rawquic "+args[0]+" on "+dst.Name, netbed.Command(dst.NS, b.rawBin, args...), base)
	if err != nil {
		return rawRun{}, err
	}
	const limit = 2 * time.Minute
	if !b.wait(ctx, p, limit) {
		return rawRun{}, cmp.Or(ctx.Err(), fmt.Errorf("rawquic %s did not finish in %v; see %s.err", args[0], limit, base))
	}
	after, err := sender.Usage()
	if err != nil {
		return rawRun{}, err
	}
	if code := p.ExitCode(); code != 0 {
		return rawRun{}, fmt.Errorf("rawquic %s exited %d; see %s.err", args[0], code, base)
	}
	recv, err := p.Usage()
	if err != nil {
		return rawRun{}, err
	}
	took, err := readRawOut(base + ".out")
	if err != nil {
		return rawRun{}, err
	}
	return rawRun{took: took, recv: recv, send: netbed.Usage{CPU: after.CPU - before.CPU, PeakRSS: after.PeakRSS}}, nil
}

// readRawOut reads the time from the line rawquic get or httpget prints,
// "bytes N seconds S".
func readRawOut(path string) (time.Duration, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	var n int64
	var sec float64
	if _, err := fmt.Sscanf(string(data), "bytes %d seconds %g", &n, &sec); err != nil || sec <= 0 {
		return 0, fmt.Errorf("%s: %q is not \"bytes N seconds S\"", path, data)
	}
	return time.Duration(sec * float64(time.Second)), nil
}
