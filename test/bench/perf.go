package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/dragonload/dragonload/test/netbed"
)

// Scenarios k, m, n, o, p and q of issue 10 (performance): the requester's
// own link fast, many hosts, small files, a slow first byte, links of
// different speeds, and finding the lenders by mDNS.

// shortRun is the time under which one run says little: start-up and the
// scheduling of a busy machine weigh too much in it. Such a run is
// repeated and the median counts.
const shortRun = 10 * time.Second

// repeats is how many times a short run runs.
const repeats = 3

// Targets of issue 10 that are ratios, in the run's spec.
const (
	targetOwnLink = 1.00 // k: pooled median / alone median
	targetMany    = 1.04 // m
	targetSmall   = 1.20 // n
	targetTTFB    = 1.25 // o, the -ttfb-size file
	targetTTFBBig = 1.05 // o, the -many-size file
	targetMixed   = 1.05 // p
)

// nth is run i of n of s: with a name (and folder) of its own, filed
// under s's name as its Targets row.
func (s spec) nth(i, n int) spec {
	s.row = s.name
	if n > 1 {
		s.name = fmt.Sprintf("%s (run %d of %d)", s.name, i, n)
	}
	return s
}

// repeated runs s once, or repeats times when its ideal is under shortRun:
// no run beats its ideal, so every run shorter than shortRun is repeated.
func (b *bench) repeated(ctx context.Context, s spec) {
	n := 1
	if s.ideal < shortRun {
		n = repeats
	}
	for i := 1; i <= n; i++ {
		b.pooled(ctx, s.nth(i, n))
	}
}

// median is the run of rs with the median time, or the first failed one:
// a row with a failed run fails.
func median(rs []*result) *result {
	for _, r := range rs {
		if r.Err != nil {
			return r
		}
	}
	sorted := slices.SortedFunc(slices.Values(rs), func(a, b *result) int { return cmp.Compare(a.Wall, b.Wall) })
	return sorted[(len(sorted)-1)/2]
}

// ownLink is scenario k: h1's own WAN link unshaped, so that it could
// fetch the whole -lan-size file itself at the origin's pace, while the
// lenders h2..h5 keep the -wan rate and the LAN runs at -lan. Pooling
// must not make h1 slower than going alone. Alone and pooled runs take
// turns, repeats of each, so that both meet the same noise; the pooled
// runs' ideal is the alone runs' median time. Every rate is restored
// after.
func (b *bench) ownLink(ctx context.Context) error {
	hosts := b.bed.Hosts()[:5]
	err := b.setLAN(ctx, hosts, b.cfg.lan)
	if err == nil {
		err = b.bed.SetWANRate(ctx, hosts[0], 0)
	}
	if err == nil {
		err = b.runOwnLink(ctx)
	}
	return errors.Join(err, b.bed.SetWANRate(ctx, hosts[0], b.cfg.wan), b.setLAN(ctx, hosts, 0))
}

func (b *bench) runOwnLink(ctx context.Context) error {
	size := b.cfg.lanSize
	if err := b.startOrigin(ctx, size, 2); err != nil {
		return err
	}
	// For information: h1 alone against one plain GET over its link.
	plain, err := wholeGet(ctx, netbed.HTTPClient(b.bed.Host(1).NS), b.origin.url, size)
	if err != nil {
		return fmt.Errorf("cannot measure h1's own link: %w", err)
	}
	b.log.Info("own link", "host", "h1", "mbit", fmt.Sprintf("%.0f", plain/1e6))
	alone := spec{scenario: "k", name: fmt.Sprintf("k: h1 alone, own link unshaped, LAN %s", netbed.FormatRate(b.cfg.lan)),
		ideal: phasedIdeal(size, []float64{1}, []float64{plain})}
	pooled := spec{scenario: "k", name: fmt.Sprintf("k: h1 + 4 lenders at %s, own link unshaped", netbed.FormatRate(b.cfg.wan)),
		lenders: seq(2, 5), target: targetOwnLink}
	var alones, pooleds []*result
	for i := 1; i <= repeats; i++ {
		alones = append(alones, b.pooled(ctx, alone.nth(i, repeats)))
		pooleds = append(pooleds, b.pooled(ctx, pooled.nth(i, repeats)))
	}
	if m := median(alones); m.Err == nil {
		for _, r := range pooleds {
			r.Ideal = m.Wall
		}
	}
	return nil
}

// manyHosts is scenario m: every host of the bed at -many-wan, h1 with all
// the others lending the -many-size file. The ideal is from their
// goodput measured at that rate (the median, as in a). Every WAN link is
// back at -wan after.
func (b *bench) manyHosts(ctx context.Context) error {
	hosts := b.bed.Hosts()
	err := b.setWAN(ctx, hosts, b.cfg.manyWAN)
	if err == nil {
		err = b.runMany(ctx, len(hosts))
	}
	return errors.Join(err, b.setWAN(ctx, hosts, b.cfg.wan))
}

func (b *bench) runMany(ctx context.Context, n int) error {
	size := b.cfg.manySize
	g, err := b.manyOrigin(ctx, n)
	if err != nil {
		return err
	}
	b.manyGood = g
	b.repeated(ctx, spec{
		scenario: "m", name: fmt.Sprintf("m: %d hosts at %s, %s", n, netbed.FormatRate(b.cfg.manyWAN), mib(size)),
		lenders: seq(2, n), ideal: phasedIdeal(size, []float64{1}, []float64{float64(n) * medianRate(g)}), target: targetMany,
	})
	return nil
}

// smallFile is scenario n: the -small-size file with 4 hosts at -wan, where
// start-up and the end weigh as much as the transfer.
func (b *bench) smallFile(ctx context.Context) error {
	size := b.cfg.smallSize
	if err := b.startOrigin(ctx, size, 7); err != nil {
		return err
	}
	b.repeated(ctx, spec{
		scenario: "n", name: fmt.Sprintf("n: %s, N=4", mib(size)), lenders: seq(2, 4),
		ideal: phasedIdeal(size, []float64{1}, []float64{4 * b.perHost}), target: targetSmall,
	})
	return nil
}

// slowFirstByte is scenario o: an origin that answers every request after
// -ttfb, 4 hosts at -wan, a -ttfb-size and a -many-size file. The ideal
// adds one -ttfb to S / the pool's goodput: no tool has a byte before the
// first answer, and one that keeps enough requests in flight waits no
// more. Every later scenario starts an origin of its own, at -latency.
func (b *bench) slowFirstByte(ctx context.Context) error {
	for _, f := range []struct {
		size, seed int64
		target     float64
	}{{b.cfg.ttfbSize, 8, targetTTFB}, {b.cfg.manySize, 9, targetTTFBBig}} {
		if err := b.startOriginWith(ctx, originOpts{size: f.size, seed: f.seed, latency: b.cfg.ttfb}); err != nil {
			return err
		}
		b.repeated(ctx, spec{
			scenario: "o", name: fmt.Sprintf("o: TTFB %v, N=4, %s", b.cfg.ttfb, mib(f.size)), lenders: seq(2, 4),
			ideal: b.cfg.ttfb + phasedIdeal(f.size, []float64{1}, []float64{4 * b.perHost}), target: f.target,
		})
	}
	return nil
}

// mixedLinks is scenario p: h1, h2, ... at the -mixed-wan rates, h1
// fetching the -many-size file with the others lending. The ideal is S /
// the sum of their goodputs, each measured at its own rate; the report
// sets each host's share of the bytes against its share of that sum. The
// links are back at -wan after.
func (b *bench) mixedLinks(ctx context.Context) error {
	hosts := b.bed.Hosts()[:len(b.cfg.mixedWAN)]
	var err error
	for i, h := range hosts {
		if err = b.bed.SetWANRate(ctx, h, b.cfg.mixedWAN[i]); err != nil {
			break
		}
	}
	if err == nil {
		err = b.runMixed(ctx, len(hosts))
	}
	return errors.Join(err, b.setWAN(ctx, hosts, b.cfg.wan))
}

func (b *bench) runMixed(ctx context.Context, n int) error {
	size := b.cfg.manySize
	g, err := b.manyOrigin(ctx, n)
	if err != nil {
		return err
	}
	b.mixedGood = g
	var sum float64
	for _, v := range g {
		sum += v
	}
	b.repeated(ctx, spec{
		scenario: "p", name: fmt.Sprintf("p: mixed links %s, N=%d, %s", mixedName(b.cfg.mixedWAN), n, mib(size)),
		lenders: seq(2, n), ideal: phasedIdeal(size, []float64{1}, []float64{sum}), target: targetMixed,
	})
	return nil
}

// manyOrigin starts the origin of the -many-size file (m and p) and
// measures the goodput of h1..hn at their links' current rates.
func (b *bench) manyOrigin(ctx context.Context, n int) (map[int]float64, error) {
	if err := b.startOrigin(ctx, b.cfg.manySize, 6); err != nil {
		return nil, err
	}
	return b.measureGoodput(ctx, seq(1, n))
}

// mixedName writes rates as "5/10/20/40mbit" when they share a unit.
func mixedName(rates []int64) string {
	if len(rates) == 0 {
		return ""
	}
	var parts []string
	for _, r := range rates {
		parts = append(parts, netbed.FormatRate(r))
	}
	unit := strings.TrimLeft(parts[0], "0123456789.")
	numbers := make([]string, len(parts))
	for i, p := range parts {
		if strings.TrimLeft(p, "0123456789.") != unit {
			return strings.Join(parts, "/")
		}
		numbers[i] = strings.TrimSuffix(p, unit)
	}
	return strings.Join(numbers, "/") + unit
}

// The kinds of q's runs, which start their names and Targets rows.
const (
	startPeer = "q: --peer"
	startCold = "q: mDNS cold"
	startWarm = "q: mDNS warm"
)

// mdnsStart is scenario q: how soon a requester that finds its lenders by
// mDNS alone has its first ready peer, started with a fresh home (cold)
// and restarted with the home of a run that met the same lenders (warm),
// which may dial them from a cache at once while mDNS confirms them. h1
// gets the -ttfb-size file at the usual latency with h2..h4 lending, all
// at -wan, the lenders with mDNS on; the reference reaches them by
// --peer. The kinds take turns, repeats times: --peer, then cold with
// fresh homes in a folder of the pair's own, then warm with that folder's
// homes again, so that every warm requester met the lenders exactly once
// before (and each lender keeps its node id). The mDNS runs' ideal is the
// --peer runs' median time.
func (b *bench) mdnsStart(ctx context.Context) error {
	size := b.cfg.ttfbSize
	if err := b.startOrigin(ctx, size, 11); err != nil {
		return err
	}
	kind := func(start string, mdns mdnsMode) spec {
		return spec{scenario: "q", name: fmt.Sprintf("%s, N=4, %s", start, mib(size)), lenders: seq(2, 4), mdns: mdns}
	}
	peer, cold, warm := kind(startPeer, mdnsLenders), kind(startCold, mdnsAll), kind(startWarm, mdnsAll)
	peer.ideal = phasedIdeal(size, []float64{1}, []float64{4 * b.perHost})
	var refs, found []*result
	for i := 1; i <= repeats; i++ {
		cold.homes = filepath.Join(b.work, fmt.Sprintf("q-homes-%d", i))
		warm.homes = cold.homes
		refs = append(refs, b.pooled(ctx, peer.nth(i, repeats)))
		found = append(found, b.pooled(ctx, cold.nth(i, repeats)), b.pooled(ctx, warm.nth(i, repeats)))
	}
	if m := median(refs); m.Err == nil {
		for _, r := range found {
			r.Ideal = m.Wall
		}
	}
	return nil
}
