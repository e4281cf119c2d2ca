package main

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/dragonload/dragonload/test/netbed"
)

// The Targets rows of issue 10 (performance): scenarios k..q, d's CPU
// against the raw references, and start-up and finish over the runs.

// issue10Rows writes the Targets rows of k, l, m, n, o, p and q, and d's
// CPU against l.
func (rep *report) issue10Rows(w *strings.Builder) {
	for _, rs := range rep.rows("k") {
		m := median(rs)
		target := "reference: S / one plain GET over h1's own link"
		if m.Target > 0 {
			target = fmt.Sprintf("≤ %.2f × h1 alone's median", m.Target)
		}
		rep.medianRow(w, rs, target, fmt.Sprintf("requester CPU %s, %s", secs(m.Req.CPU), perGiB(m.Req.CPU, m.Size)))
	}
	for _, rs := range rep.rows(rawScenario) {
		f, ok := rawFiguresOf(rs)
		if !ok {
			m := median(rs)
			row(w, cmp.Or(m.Row, m.Name), "failed", "—", "—", "reference", "", rep.notes(m))
			continue
		}
		row(w, rs[0].Row, secs(f.took), "—", "—", "reference", "",
			fmt.Sprintf("median of %d: %.0f MB/s; receiver %.2f CPU-s/GiB, sender %.2f CPU-s/GiB", len(rs), f.mbps, f.recv, f.send))
	}
	rep.rawCPURows(w)
	for _, s := range []string{"m", "n", "o"} {
		for _, rs := range rep.rows(s) {
			rep.medianRow(w, rs, fmt.Sprintf("≤ %.2f", rs[0].Target))
		}
	}
	for _, rs := range rep.rows("p") {
		rep.medianRow(w, rs, fmt.Sprintf("≤ %.2f", rs[0].Target), rep.mixedShares(median(rs)))
	}
	rep.mdnsRows(w)
}

// mdnsRows are q's Targets rows: the first ready peer of the warm runs
// (goal 2's target) and of the cold ones (a reference), each the median
// over its runs, and the median wall time of each kind against the
// --peer runs', for information.
func (rep *report) mdnsRows(w *strings.Builder) {
	runs := map[string][]*result{}
	for _, rs := range rep.rows("q") {
		for _, kind := range []string{startPeer, startCold, startWarm} {
			if strings.HasPrefix(rs[0].Row, kind) {
				runs[kind] = rs
			}
		}
	}
	peer := runs[startPeer]
	rep.firstPeerRow(w, "warm restart", runs[startWarm], peer, targetFirstPeer)
	rep.firstPeerRow(w, "cold", runs[startCold], peer, 0)
	for _, kind := range []string{startCold, startWarm} {
		rep.againstPeerRow(w, kind, runs[kind], peer)
	}
}

// never stands for a first ready peer that never came: later than any.
const never = time.Duration(math.MaxInt64)

// firstPeerRow is the Targets row of the first ready peer over the runs
// rs of one kind, which label names: their median, against target (0 = a
// reference), with every run's and the --peer runs' median in the notes.
func (rep *report) firstPeerRow(w *strings.Builder, label string, rs, peer []*result, target time.Duration) {
	if len(rs) == 0 {
		return
	}
	name := fmt.Sprintf("q: first ready peer, %s (median of %d)", label, len(rs))
	goal, holds := "reference", ""
	if target > 0 {
		goal = "≤ " + ms(target)
	}
	if m := median(rs); m.Err != nil {
		row(w, name, "failed", "", "", goal, "", cell(m.Name)+": "+rep.notes(m))
		return
	}
	v := middle(firstPeers(rs))
	if target > 0 {
		holds = yesNo(v <= target)
	}
	var each []string
	for _, r := range rs {
		each = append(each, firstPeerOf(r))
	}
	notes := []string{"runs: " + strings.Join(each, ", ")}
	if t := timed(rs); len(t) > 0 {
		notes = append(notes, "start-up median "+ms(middle(startups(t))))
	}
	if len(peer) > 0 && median(peer).Err == nil {
		notes = append(notes, "with --peer: median "+msOrNever(middle(firstPeers(peer))))
	}
	row(w, name, msOrNever(v), "", "", goal, holds, cell(strings.Join(notes, "; ")))
}

// firstPeers are the runs' first ready peers, never for a run that had
// none.
func firstPeers(rs []*result) []time.Duration {
	var out []time.Duration
	for _, r := range rs {
		out = append(out, cmp.Or(r.FirstPeer, never))
	}
	return out
}

// firstPeerOf is a run's first ready peer and how it was found.
func firstPeerOf(r *result) string {
	s := msOrNever(cmp.Or(r.FirstPeer, never))
	if r.FirstVia != "" {
		s += " (" + r.FirstVia + ")"
	}
	return s
}

func msOrNever(d time.Duration) string {
	if d == never {
		return "never"
	}
	return ms(d)
}

// againstPeerRow is the Targets row, for information, of the median wall
// time of the runs rs of one kind against the --peer runs' median.
func (rep *report) againstPeerRow(w *strings.Builder, kind string, rs, peer []*result) {
	if len(rs) == 0 || len(peer) == 0 {
		return
	}
	name := kind + " / --peer wall time"
	m, ref := median(rs), median(peer)
	for _, f := range []*result{m, ref} {
		if f.Err != nil {
			row(w, name, "failed", "", "", "information", "", cell(f.Name)+": "+rep.notes(f))
			return
		}
	}
	row(w, name, secs(m.Wall), secs(ref.Wall), fmt.Sprintf("%.2f", m.Wall.Seconds()/ref.Wall.Seconds()), "information", "",
		fmt.Sprintf("median of %d (%s); --peer median of %d (%s); %s", len(rs), walls(rs), len(peer), walls(peer), rep.notes(m)))
}

// rawFigures are the medians of a reference's runs.
type rawFigures struct {
	took       time.Duration
	mbps       float64 // file bytes per second, in millions
	recv, send float64 // CPU seconds per GiB
}

// rawFiguresOf takes each figure's median over the runs rs, which must
// all have succeeded.
func rawFiguresOf(rs []*result) (rawFigures, bool) {
	var took []time.Duration
	var recv, send []float64
	for _, r := range rs {
		if r.Err != nil {
			return rawFigures{}, false
		}
		took = append(took, r.Wall)
		recv = append(recv, cpuPerGiB(r.Req.CPU, r.Size))
		send = append(send, cpuPerGiB(sumCPU(r.Lenders), r.Size))
	}
	if len(rs) == 0 {
		return rawFigures{}, false
	}
	t := middle(took)
	return rawFigures{took: t, mbps: float64(rs[0].Size) / t.Seconds() / 1e6, recv: middle(recv), send: middle(send)}, true
}

// rawFigures are the figures of reference kind over the LAN at rate.
func (rep *report) rawFigures(kind rawKind, rate int64) (rawFigures, bool) {
	for _, rs := range rep.rows(rawScenario) {
		if rs[0].Row == rawName(kind, rate) {
			return rawFiguresOf(rs)
		}
	}
	return rawFigures{}, false
}

// rawCPURows are goal 4's rows: the CPU per GiB of d's requester against
// raw quic-go's receiver, and of d's lenders per GiB lent against what a
// lender must do at least, receive over HTTP and send over QUIC; both at
// d's LAN rate.
func (rep *report) rawCPURows(w *strings.Builder) {
	i := slices.IndexFunc(rep.byScenario("d"), func(r *result) bool { return r.Err == nil })
	quic, ok := rep.rawFigures(rawQUIC, rep.LAN)
	if i < 0 || !ok {
		return
	}
	d := rep.byScenario("d")[i]
	lan := "LAN " + netbed.FormatRate(rep.LAN)
	req := cpuPerGiB(d.Req.CPU, d.Size)
	v := req / quic.recv
	row(w, "d: requester CPU per GiB against raw quic-go receive", "", "", fmt.Sprintf("%.2f", v), "≤ 1.10 × raw quic-go receive", yesNo(v <= targetRawCPU),
		fmt.Sprintf("requester %.2f CPU-s/GiB; raw quic-go receiver %.2f CPU-s/GiB (%s, median of %d)", req, quic.recv, lan, repeats))
	http, ok := rep.rawFigures(rawHTTP, rep.LAN)
	lent := lentBytes(d)
	if !ok || lent <= 0 {
		return
	}
	lend, ref := cpuPerGiB(sumCPU(d.Lenders), lent), http.recv+quic.send
	v = lend / ref
	row(w, "d: lender CPU per GiB lent against raw HTTP receive + raw quic-go send", "", "", fmt.Sprintf("%.2f", v),
		"≤ 1.10 × (raw HTTP receive + raw quic-go send)", yesNo(v <= targetRawCPU),
		fmt.Sprintf("lenders %.2f CPU-s per GiB lent (%s lent); raw HTTP receiver %.2f + raw quic-go sender %.2f = %.2f CPU-s/GiB (%s, medians of %d)",
			lend, mib(lent), http.recv, quic.send, ref, lan, repeats))
}

// lentBytes is what r's lenders delivered: the bytes by participant other
// than the requester.
func lentBytes(r *result) int64 {
	var n int64
	for name, b := range r.Shares {
		if name != cmp.Or(r.Host, "h1") {
			n += b
		}
	}
	return n
}

// mixedShares sets each host's share of p's bytes against its share of
// the pool's goodput.
func (rep *report) mixedShares(r *result) string {
	if r.Err != nil || len(rep.Mixed) == 0 {
		return ""
	}
	var total int64
	for _, b := range r.Shares {
		total += b
	}
	var good float64
	for _, g := range rep.Mixed {
		good += g
	}
	var parts []string
	for i, rate := range rep.MixedWAN {
		h := fmt.Sprintf("h%d", i+1)
		parts = append(parts, fmt.Sprintf("%s (%s) %.1f%% of bytes, %.1f%% of goodput", h, netbed.FormatRate(rate),
			100*float64(r.Shares[h])/float64(max(total, 1)), 100*rep.Mixed[i+1]/good))
	}
	return strings.Join(parts, ", ")
}

// startRows are goal 2's rows: the median start-up (requester start to
// its first durable byte) over the runs of a and over those of o, and the
// worst finish (last durable byte to exit) over every run.
func (rep *report) startRows(w *strings.Builder) {
	if rs := timed(rep.byScenario("a")); len(rs) > 0 {
		v := middle(startups(rs))
		row(w, fmt.Sprintf("start-up to the first durable byte, origin latency %v, --peer (a): median", rep.Latency), ms(v), "", "", "≤ "+ms(targetStartup),
			yesNo(v <= targetStartup), startSpread(rs))
	}
	if rs := timed(rep.byScenario("o")); len(rs) > 0 {
		v, target := middle(startups(rs)), rep.TTFB+targetStartupAdd
		row(w, fmt.Sprintf("start-up to the first durable byte, TTFB %v, --peer (o): median", rep.TTFB), ms(v), "", "", fmt.Sprintf("≤ %s (TTFB + %s)", ms(target), ms(targetStartupAdd)),
			yesNo(v <= target), startSpread(rs))
	}
	all := timed(rep.Results)
	if len(all) == 0 {
		return
	}
	worst := slices.MaxFunc(all, func(a, b *result) int { return cmp.Compare(a.Finish, b.Finish) })
	row(w, "finish, last durable byte to exit (worst run)", ms(worst.Finish), "", "", "≤ "+ms(targetFinish), yesNo(worst.Finish <= targetFinish),
		fmt.Sprintf("%s; over %d runs; every run below", worst.Name, len(all)))
}

// timed are the successful Dragonload runs of rs whose events told when
// the first and the last byte were durable.
func timed(rs []*result) []*result {
	var out []*result
	for _, r := range rs {
		if r.Err == nil && r.Scenario != rawScenario && r.Startup > 0 {
			out = append(out, r)
		}
	}
	return out
}

func startups(rs []*result) []time.Duration {
	var out []time.Duration
	for _, r := range rs {
		out = append(out, r.Startup)
	}
	return out
}

// startSpread is the range of the runs' start-ups.
func startSpread(rs []*result) string {
	s := startups(rs)
	return fmt.Sprintf("over %d runs: %s to %s", len(rs), ms(slices.Min(s)), ms(slices.Max(s)))
}

// middle is the median of vs, the lower middle one of an even count.
func middle[T cmp.Ordered](vs []T) T {
	s := slices.Sorted(slices.Values(vs))
	return s[(len(s)-1)/2]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }

func cpuPerGiB(cpu time.Duration, size int64) float64 {
	return cpu.Seconds() / (float64(size) / (1 << 30))
}
