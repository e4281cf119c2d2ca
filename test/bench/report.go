package main

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dragonload/dragonload/core/osutil"
	"github.com/dragonload/dragonload/test/netbed"
)

// Targets of issue 4 that are not a ratio to the ideal.
const (
	targetIntake  = 110e6     // d: bytes per second into the requester
	targetRSS     = 100 << 20 // e: peak RSS of requester and lender
	targetOrigin  = 1.01      // f: origin bytes / S
	targetTailMul = 2.0       // g: last 1% / median 1%

	targetCopyTime    = 1.10             // h: time ≤ this × S / LAN intake + targetCopySlack
	targetCopySlack   = time.Second      // h
	targetCopyShare   = 0.95             // h: bytes from LAN copies / S
	targetPairOrigin  = 1.10             // i: origin bytes of both machines / S
	targetSharedRatio = 1.02             // j: pooled time / alone time
	targetNoticeAt    = 15 * time.Second // j: "pooling isn't helping" after the requester's start
)

// Targets of issue 10 that are not a ratio to the ideal.
const (
	targetRawCPU     = 1.10                   // d's CPU per GiB against l's raw references
	targetStartup    = 250 * time.Millisecond // a: requester start to first durable byte
	targetStartupAdd = 150 * time.Millisecond // o: the same, beyond the -ttfb
	targetFinish     = 50 * time.Millisecond  // every run: last durable byte to exit
	targetFirstPeer  = 150 * time.Millisecond // q: requester start to its first ready peer, warm restart
)

// report is everything RESULTS.md shows.
type report struct {
	Date     time.Time
	Commit   string
	Machine  string
	Took     time.Duration
	Size     int64
	PairSize int64 // i
	Shared   int64 // j's file size
	LANSize  int64 // d, k, l
	Many     int64 // m, p, o's long run
	Small    int64 // n
	TTFBSize int64 // o's short run, q
	WAN      int64
	SlowWAN  int64
	ManyWAN  int64   // m
	MixedWAN []int64 // p
	LAN      int64
	CopyLAN  int64 // h's LAN rate, 0 = unshaped
	Latency  time.Duration
	TTFB     time.Duration // o's origin latency
	Goodput  map[int]float64
	PerHost  float64
	SlowHost int
	SlowGood float64
	ManyGood map[int]float64 // m
	Mixed    map[int]float64 // p
	Aria     *result
	Results  []*result
	Stopped  error // why the bench stopped early, if it did
}

// report writes RESULTS.md and speedup.png into the -out folder.
func (b *bench) report(ctx context.Context, stopped error) error {
	rep := &report{
		Date:     time.Now().UTC(),
		Commit:   commit(ctx, b.root),
		Machine:  machine(),
		Took:     time.Since(b.started),
		Size:     b.cfg.size,
		PairSize: b.cfg.pairSize,
		Shared:   b.cfg.sharedSize,
		LANSize:  b.cfg.lanSize,
		Many:     b.cfg.manySize,
		Small:    b.cfg.smallSize,
		TTFBSize: b.cfg.ttfbSize,
		WAN:      b.cfg.wan,
		SlowWAN:  b.cfg.slowWAN,
		ManyWAN:  b.cfg.manyWAN,
		MixedWAN: b.cfg.mixedWAN,
		LAN:      b.cfg.lan,
		CopyLAN:  b.cfg.copyLAN,
		Latency:  b.cfg.latency,
		TTFB:     b.cfg.ttfb,
		Goodput:  b.goodput,
		PerHost:  b.perHost,
		SlowHost: b.slowHost,
		SlowGood: b.slowGood,
		ManyGood: b.manyGood,
		Mixed:    b.mixedGood,
		Aria:     b.aria,
		Results:  b.results,
		Stopped:  stopped,
	}
	out := b.cfg.out
	if !filepath.IsAbs(out) {
		out = filepath.Join(b.root, out)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("cannot write the results: %w", err)
	}
	png := filepath.Join(out, "speedup.png")
	if err := plot(ctx, rep.plotScript(png)); err != nil {
		return err
	}
	path := filepath.Join(out, "RESULTS.md")
	if err := osutil.WriteFileAtomic(path, []byte(rep.markdown()), 0o644); err != nil {
		return err
	}
	b.log.Info("results written", "path", path, "plot", png)
	return nil
}

// markdown renders RESULTS.md.
func (rep *report) markdown() string {
	var w strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&w, format, args...) }
	p("# Dragonload benchmark results\n\n")
	p("Written by `make bench` (`go run ./test/bench -out test/bench`, as root) on %s, commit %s, in %s.\n",
		rep.Date.Format("2006-01-02 15:04 MST"), rep.Commit, rep.Took.Round(time.Second))
	p("Machine: %s.\n\n", rep.Machine)
	p("Test bed: network namespaces (test/netbed): a bridged LAN, and per host a WAN link to an \"internet\" namespace shaped with tc tbf both ways; ")
	p("the test origin adds %v of latency per request. The requester (`dragonload get`) is h1; lenders (`dragonload agent`) are h2, h3, ... ", rep.Latency)
	p("A run's time is the requester's wall time, start to exit (start-up, probing and verification included). ")
	p("The ideal is S / (sum of the participants' plain HTTP goodput, measured in this run: the median of the hosts for every host at the same WAN rate, the straggler's own in b); ratio = time / ideal. ")
	p("In d and e the lenders' WAN links are unshaped and the requester keeps its %s link, so nearly every byte crosses the LAN; ", netbed.FormatRate(rep.WAN))
	p("d's ideal is S / (LAN line rate + the requester's goodput). ")
	p("In h, h2 first fetches the file into its own home with its WAN link opened (then restored), keeps it, and its agent shares it; h1 then gets the same URL with h2 as peer. ")
	copyLAN := "unshaped LAN"
	if rep.CopyLAN > 0 {
		copyLAN = "LAN, shaped to " + netbed.FormatRate(rep.CopyLAN) + " for h,"
	}
	p("h's ideal is S / LAN intake, the plain HTTP rate from h2 to h1 over the %s measured in the same run (a test origin on h2's LAN address, the faster of two whole GETs); its share of LAN copies is from h1's last progress report. ", copyLAN)
	p("In i, h1 and h2 run one-shot gets of the same %s file (an origin seed of its own) %v apart, each naming the other as peer; each one's ideal is fetching alone, S / per-host goodput, for information, and its origin / S counts its own WAN address. ", mib(rep.PairSize), pairStagger)
	p("In j, h1..h%d sit behind one shared %s uplink: the origin runs with -rate %s -shared-rate, one budget for all clients together, and the hosts' own WAN links are unshaped; ", sharedHosts, netbed.FormatRate(rep.WAN), netbed.FormatRate(rep.WAN))
	p("the %s file is fetched by h1 alone (ideal: S / the uplink rate) and then by h1 with h2..h%d lending (ideal: h1 alone's time). ", mib(rep.Shared), sharedHosts)
	p("In k, h1's own WAN link is unshaped (the origin is unlimited, so h1 alone fetches as fast as the origin and its link allow), the lenders h2..h5 stay at %s and the LAN runs at %s; ", netbed.FormatRate(rep.WAN), netbed.FormatRate(rep.LAN))
	p("the %s file is fetched by h1 alone and by h1 with h2..h5 lending, in turn, %d times each; h1 alone's ideal is S / one plain GET over its own link, for information, and the pooled runs' is h1 alone's median time. ", mib(rep.LANSize), repeats)
	p("In l, the rawquic tool (test/rawquic) sends the %s file from h2 to h1 over the LAN, unshaped and at %s, %d times each: raw quic-go (one stream, quicwire's receive windows) and plain HTTP (a test origin on h2's LAN address, read by `rawquic httpget`); ", mib(rep.LANSize), netbed.FormatRate(rep.LAN), repeats)
	p("the time is the receiver's, dial or request to last byte; CPU is the receiver's (wait4) and the sender's during the transfer (/proc before and after), per GiB. ")
	p("In m, every host is at %s and h1 fetches the %s file with all the others lending; the ideal uses their median goodput at that rate. ", netbed.FormatRate(rep.ManyWAN), mib(rep.Many))
	p("In n, 4 hosts at %s fetch a %s file. ", netbed.FormatRate(rep.WAN), mib(rep.Small))
	p("In o, the origin waits %v before every answer, and 4 hosts at %s fetch a %s and a %s file; the ideal adds one such wait to S / the pool's goodput, since no tool can have a byte before the first answer. ", rep.TTFB, netbed.FormatRate(rep.WAN), mib(rep.TTFBSize), mib(rep.Many))
	p("In p, h1..h%d have WAN links of %s and fetch the %s file; each host's goodput is measured at its own rate and the ideal is S / their sum. ", len(rep.MixedWAN), mixedName(rep.MixedWAN), mib(rep.Many))
	p("In q, h2..h4 lend at %s with mDNS on (on the LAN interface alone) and h1 gets a %s file: by --peer without mDNS, then by mDNS alone with a fresh home (cold), then by mDNS alone again with the cold run's home (warm), in turn, %d times; ", netbed.FormatRate(rep.WAN), mib(rep.TTFBSize), repeats)
	p("the first ready peer is from the requester's start to its first PeerReady event, and the mDNS runs' ideal is the --peer runs' median time. ")
	p("A run under %v says little, so k, l and q run %d times each and in m..p a run whose ideal is under %v runs %d times; the Targets row shows the median (Every run lists each run). ", shortRun, repeats, shortRun, repeats)
	p("Every download was checked against the origin's SHA-256.\n\n")
	if rep.Stopped != nil {
		p("**The bench stopped early: %s.**\n\n", rep.Stopped)
	}

	p("## Targets\n\n")
	p("| scenario | time | ideal | ratio | target | holds? | notes |\n")
	p("|---|---:|---:|---:|---|---|---|\n")
	for _, rs := range rep.rows("a") {
		rep.medianRow(&w, rs, "≤ 1.05")
	}
	if a := rep.Aria; a != nil {
		row(&w, a.Name, dur(a), durOr(a.Ideal), ratioStr(a), "reference", "", rep.notes(a))
	}
	if cells, ok := rep.separateLinks(); ok {
		row(&w, cells...)
	}
	for _, rs := range rep.rows("b") {
		rep.medianRow(&w, rs, "≤ 1.10")
	}
	for _, rs := range rep.rows("c") {
		rep.medianRow(&w, rs, "≤ 1.15 of the changing pool's ideal")
	}
	for _, r := range rep.byScenario("d") {
		intake := ""
		holds := ""
		if r.Err == nil {
			v := float64(r.Size) / r.Wall.Seconds()
			intake = fmt.Sprintf("intake %.1f MB/s; ", v/1e6)
			holds = yesNo(v >= targetIntake)
		}
		busy := ""
		if r.Err == nil {
			busy = fmt.Sprintf(" (together %.1f of %d cores busy)", (r.Req.CPU+sumCPU(r.Lenders)).Seconds()/r.Wall.Seconds(), runtime.NumCPU())
		}
		note := intake + fmt.Sprintf("CPU: requester %s, lenders %s%s; ", perGiB(r.Req.CPU, r.Size), perGiB(sumCPU(r.Lenders), r.Size), busy) + rep.notes(r)
		row(&w, r.Name, dur(r), durOr(r.Ideal), ratioStr(r), "intake ≥ 110 MB/s", holds, note)
	}
	for _, r := range rep.byScenario("e") {
		holds := ""
		if r.Err == nil {
			holds = yesNo(r.Req.PeakRSS <= targetRSS && maxRSS(r.Lenders) <= targetRSS)
		}
		note := fmt.Sprintf("%s file; peak RSS requester %s, lender %s; ", mib(r.Size), mib(r.Req.PeakRSS), mib(maxRSS(r.Lenders))) + rep.notes(r)
		row(&w, r.Name, dur(r), "—", "—", "peak RSS ≤ 100 MiB", holds, note)
	}
	for _, r := range rep.byScenario("h") {
		holds, note := "", ""
		if r.Err == nil && r.Ideal > 0 {
			holds = yesNo(r.Wall <= time.Duration(targetCopyTime*float64(r.Ideal))+targetCopySlack)
			note = fmt.Sprintf("LAN intake %.0f Mbit/s (plain HTTP h2 → h1); ", r.Intake/1e6)
		}
		row(&w, r.Name, dur(r), durOr(r.Ideal), ratioStr(r), "≤ 1.10 × S / LAN intake + 1 s", holds, note+rep.notes(r))
		if r.Err == nil && r.RawIntake > 0 {
			raw := phasedIdeal(r.Size, []float64{1}, []float64{r.RawIntake})
			row(&w, "h: LAN copy against raw quic-go intake", dur(r), secs(raw), fmt.Sprintf("%.2f", r.Wall.Seconds()/raw.Seconds()),
				"≤ 1.10 × S / raw quic-go intake + 1 s", yesNo(r.Wall <= time.Duration(targetCopyTime*float64(raw))+targetCopySlack),
				fmt.Sprintf("raw quic-go intake %.0f Mbit/s (h2 → h1, the faster of two transfers of the file)", r.RawIntake/1e6))
		}
		if r.Err == nil {
			v := float64(r.Copied) / float64(r.Size)
			row(&w, "h: bytes from LAN copies / S", "", "", fmt.Sprintf("%.1f%%", 100*v), "≥ 95%", yesNo(v >= targetCopyShare),
				"bytes marked Copy in h1's last progress report")
		}
	}
	if rs := rep.byScenario("i"); len(rs) > 0 {
		ok := true
		var each []string
		for _, r := range rs {
			row(&w, r.Name, dur(r), durOr(r.Ideal), ratioStr(r), "information: against fetching alone", "", rep.notes(r))
			ok = ok && r.Err == nil
			each = append(each, fmt.Sprintf("%s %.3f S", cmp.Or(r.Host, "h1"), float64(r.Origin)/float64(r.Size)))
		}
		if ok {
			v := float64(rs[0].Joint) / float64(rs[0].Size)
			row(&w, "i: origin bytes of both machines / S", "", "", fmt.Sprintf("%.3f", v), "≤ 1.10", yesNo(v <= targetPairOrigin),
				cell("by WAN address: "+strings.Join(each, ", ")))
		}
	}
	for _, r := range rep.byScenario("j") {
		if r.N == 1 {
			row(&w, r.Name, dur(r), durOr(r.Ideal), ratioStr(r), "reference: S / uplink rate", "", rep.notes(r))
			continue
		}
		rep.medianRow(&w, []*result{r}, "≤ 1.02 × h1 alone")
		if r.Err != nil {
			continue
		}
		if r.NotHelping > 0 {
			row(&w, "j: \"pooling isn't helping\" notice", secs(r.NotHelping), "", "", "within 15 s of the requester's start",
				yesNo(r.NotHelping <= targetNoticeAt), cell(strings.Join(r.SharedLink, " / ")))
		} else {
			note := "no such notice in h1's events"
			if len(r.SharedLink) > 0 {
				note += "; others: " + strings.Join(r.SharedLink, " / ")
			}
			row(&w, "j: \"pooling isn't helping\" notice", "never", "", "", "within 15 s of the requester's start", yesNo(false), cell(note))
		}
	}
	rep.issue10Rows(&w)
	if worst, ok := rep.worst(func(r *result) float64 { return float64(r.Origin) / float64(r.Size) }); ok {
		v := float64(worst.Origin) / float64(worst.Size)
		row(&w, "f: origin bytes / S (worst run)", "", "", fmt.Sprintf("%.4f", v), "≤ 1.01", yesNo(v <= targetOrigin), worst.Name+"; every run below")
	}
	if worst, ok := rep.worst(func(r *result) float64 { return r.Tail.Ratio() }); ok {
		v := worst.Tail.Ratio()
		row(&w, "g: last 1% / median 1% (worst run)", "", "", fmt.Sprintf("%.2f", v), "≤ 2", yesNo(v <= targetTailMul),
			fmt.Sprintf("%s: last 1%% took %s, median 1%% %s", worst.Name, secs(worst.Tail.Last), secs(worst.Tail.Median)))
	}
	rep.startRows(&w)
	p("\n")

	p("## Every run\n\n")
	p("| run | hosts | time | ideal | ratio | start-up | finish | origin / S | LAN / S | LAN copies / S | shared-link notice | last 1%% | median 1%% | last / median | requester CPU | requester peak RSS | lenders CPU | lender peak RSS | bytes by participant |\n")
	p("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	all := slices.Clone(rep.Results)
	if rep.Aria != nil {
		all = append([]*result{rep.Aria}, all...)
	}
	for _, r := range all {
		if r.Err != nil {
			p("| %s | %d | failed | %s | | | | | | | | | | | | | | | %s |\n", r.Name, r.N, durOr(r.Ideal), errCell(r.Err))
			continue
		}
		if r.Scenario == rawScenario {
			// A reference transfer: the receiver in the requester's
			// columns, the sender in the lenders'.
			row(&w, r.Name, strconv.Itoa(r.N), secs(r.Wall), "—", "—", "", "", "", "", "", "", "", "", "",
				secs(r.Req.CPU), mib(r.Req.PeakRSS), secs(sumCPU(r.Lenders)), mib(maxRSS(r.Lenders)), "")
			continue
		}
		lan, copies, notice, last, med, lm := "", "", "", "", "", ""
		if r.Scenario != "a" || r.Name != rep.ariaName() {
			lan = fmt.Sprintf("%.3f", float64(r.LAN)/float64(r.Size))
			copies = fmt.Sprintf("%.3f", float64(r.Copied)/float64(r.Size))
			notice = "none"
			if r.SharedAt > 0 {
				notice = "at " + secs(r.SharedAt)
			}
		}
		if r.Tail.Median > 0 {
			last, med, lm = secs(r.Tail.Last), secs(r.Tail.Median), fmt.Sprintf("%.2f", r.Tail.Ratio())
		}
		startup, finish := "", ""
		if r.Startup > 0 {
			startup, finish = secs(r.Startup), secs(r.Finish)
		}
		lendCPU, lendRSS := "", ""
		if len(r.Lenders) > 0 {
			lendCPU, lendRSS = secs(sumCPU(r.Lenders)), mib(maxRSS(r.Lenders))
		}
		p("| %s | %d | %s | %s | %s | %s | %s | %.3f | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			r.Name, r.N, dur(r), durOr(r.Ideal), ratioStr(r), startup, finish, float64(r.Origin)/float64(r.Size), lan, copies, notice, last, med, lm,
			secs(r.Req.CPU), mib(r.Req.PeakRSS), lendCPU, lendRSS, shares(r))
	}
	p("\n")

	p("## Per-host goodput\n\n")
	p("Plain HTTP GET of the test file from each host at once, bytes after the first 1.5 s over the next 6 s. ")
	p("The ideals use the median, %.2f Mbit/s, for every host at %s.\n\n", rep.PerHost/1e6, netbed.FormatRate(rep.WAN))
	p("| host | WAN shaping | goodput |\n|---|---|---:|\n")
	for h := 1; h <= netbed.MaxHosts; h++ {
		if g, ok := rep.Goodput[h]; ok {
			p("| h%d | %s | %.2f Mbit/s |\n", h, netbed.FormatRate(rep.WAN), g/1e6)
		}
	}
	if rep.SlowHost != 0 {
		p("| h%d (in b) | %s | %.2f Mbit/s |\n", rep.SlowHost, netbed.FormatRate(rep.SlowWAN), rep.SlowGood/1e6)
	}
	if n := len(rep.ManyGood); n > 0 {
		all := slices.Sorted(maps.Values(rep.ManyGood))
		p("| h1..h%d (in m) | %s | median %.2f Mbit/s (%.2f to %.2f) |\n", n, netbed.FormatRate(rep.ManyWAN), medianRate(rep.ManyGood)/1e6, all[0]/1e6, all[n-1]/1e6)
	}
	for i, rate := range rep.MixedWAN {
		if g, ok := rep.Mixed[i+1]; ok {
			p("| h%d (in p) | %s | %.2f Mbit/s |\n", i+1, netbed.FormatRate(rate), g/1e6)
		}
	}
	p("\n![speedup against N](speedup.png)\n\n")
	p("Speedup is one host's plain download time (S / per-host goodput) over the run's time; the ideal line is N.\n\n")

	p("## How to read this\n\n")
	p("- *time* is what a user waits; *ideal* is the best any tool could do with these links; *ratio* is the overhead (1.00 = perfect).\n")
	p("- *start-up* is from the requester's start to its first durable byte (process start, room key, probe, first chunk); *finish* from the last durable byte to its exit (verification, rename). The ideal has neither.\n")
	p("- *origin / S* above 1 means bytes fetched twice (retries, end-game duplicates). aria2c's is its own overfetch.\n")
	p("- *LAN / S* is what the requester received on its LAN link per file byte; with N hosts about (N-1)/N of the file plus QUIC overhead.\n")
	p("- *LAN copies / S* is the share of the file read from members' copies (a finished or running download of the same file) rather than fetched from the internet, by the requester's last progress report.\n")
	p("- *shared-link notice* is when, after the requester's start, it first said pooling isn't helping or a lender seems to share its internet link; with separate links (a) it should never say so.\n")
	p("- In i, *origin / S* is what the origin sent to that machine's WAN address; the pair's total is in the Targets table. In j, the pooled run's *ideal* is h1 alone's time.\n")
	p("- *last 1%%* against *median 1%%* shows the tail: a slow last chunk that nobody cut short makes it large.\n")
	p("- *median of 3*: the row shows the run with the median time (its ideal, ratio and notes); the times in brackets are every run's, in the order they ran.\n")
	p("- In l, *time* is the receiver's own, dial or request to last byte; in Every run the receiver's CPU and RSS are in the requester's columns and the sender's in the lenders'. Goal 4 compares d's CPU per GiB with them: the requester's with raw quic-go's receiver, the lenders' per GiB lent (bytes by participant other than h1) with raw HTTP's receiver plus raw quic-go's sender.\n")
	p("- CPU is user + system seconds from wait4; peak RSS is the process's maximum resident set (ru_maxrss).\n")
	p("- Logs, events and homes of every run are in the bench's work folder (printed at start; kept when a run fails or with -keep).\n")
	return w.String()
}

// medianRow is the Targets row of runs rs (see rows): the one run's, or
// the median run's of a repeated one, with extra notes first.
func (rep *report) medianRow(w *strings.Builder, rs []*result, target string, extra ...string) {
	m := median(rs)
	holds := ""
	if v := m.Ratio(); v > 0 && m.Target > 0 {
		holds = yesNo(v <= m.Target)
	}
	notes := rep.notes(m)
	if m.Err == nil {
		if len(rs) > 1 {
			extra = append(extra, fmt.Sprintf("median of %d (%s)", len(rs), walls(rs)))
		}
		notes = cell(strings.Join(append(extra, notes), "; "))
	}
	row(w, cmp.Or(m.Row, m.Name), dur(m), durOr(m.Ideal), ratioStr(m), target, holds, notes)
}

// walls lists the times of runs rs, in the order they ran.
func walls(rs []*result) string {
	var each []string
	for _, r := range rs {
		each = append(each, secs(r.Wall))
	}
	return strings.Join(each, ", ")
}

// notes is the short per-run summary of the Targets table.
func (rep *report) notes(r *result) string {
	if r.Err != nil {
		return "**failed**: " + errCell(r.Err)
	}
	parts := []string{fmt.Sprintf("origin %.3f S", float64(r.Origin)/float64(r.Size))}
	if r.Name != rep.ariaName() {
		parts = append(parts, fmt.Sprintf("LAN %.3f S", float64(r.LAN)/float64(r.Size)))
	}
	if r.Tail.Median > 0 {
		parts = append(parts, fmt.Sprintf("last 1%% %.1f× median", r.Tail.Ratio()))
	}
	if r.Copied > 0 {
		parts = append(parts, fmt.Sprintf("LAN copies %.1f%%", 100*float64(r.Copied)/float64(r.Size)))
	}
	if len(r.SharedLink) > 0 {
		parts = append(parts, fmt.Sprintf("notice at %s: %q", secs(r.SharedAt), r.SharedLink[0]))
	}
	parts = append(parts, r.Notes...)
	return cell(strings.Join(parts, "; "))
}

// separateLinks is the Targets row saying whether any run of a, where
// every host has a link of its own, had a shared-link notice.
func (rep *report) separateLinks() ([]string, bool) {
	var n int
	var with []string
	for _, r := range rep.byScenario("a") {
		if r.Err != nil {
			continue
		}
		n++
		if len(r.SharedLink) > 0 {
			with = append(with, fmt.Sprintf("%s at %s: %q", r.Name, secs(r.SharedAt), r.SharedLink[0]))
		}
	}
	if n == 0 {
		return nil, false
	}
	note := fmt.Sprintf("none in %d runs of a", n)
	if len(with) > 0 {
		note = strings.Join(with, "; ")
	}
	return []string{"a: notice never appears with separate links", "", "", "", "no \"pooling isn't helping\" or \"seems to share\" notice", yesNo(len(with) == 0), cell(note)}, true
}

func (rep *report) ariaName() string {
	if rep.Aria == nil {
		return ""
	}
	return rep.Aria.Name
}

// rows groups the runs of scenario s by Targets row, in the order their
// first runs ran.
func (rep *report) rows(s string) [][]*result {
	var out [][]*result
	at := map[string]int{}
	for _, r := range rep.byScenario(s) {
		key := cmp.Or(r.Row, r.Name)
		i, ok := at[key]
		if !ok {
			i, at[key] = len(out), len(out)
			out = append(out, nil)
		}
		out[i] = append(out[i], r)
	}
	return out
}

func (rep *report) byScenario(s string) []*result {
	var out []*result
	for _, r := range rep.Results {
		if r.Scenario == s {
			out = append(out, r)
		}
	}
	return out
}

// worst is the successful Dragonload run with the largest f(run).
func (rep *report) worst(f func(*result) float64) (*result, bool) {
	var w *result
	for _, r := range rep.Results {
		if r.Err == nil && r.Scenario != rawScenario && (w == nil || f(r) > f(w)) {
			w = r
		}
	}
	return w, w != nil
}

// speedups are the points of the plot: (N, one host's plain time / run time).
func (rep *report) speedups() (pooled [][2]float64, aria [][2]float64) {
	if rep.PerHost <= 0 {
		return nil, nil
	}
	single := float64(rep.Size) * 8 / rep.PerHost
	for _, r := range rep.byScenario("a") {
		if r.Err == nil {
			pooled = append(pooled, [2]float64{float64(r.N), single / r.Wall.Seconds()})
		}
	}
	if a := rep.Aria; a != nil && a.Err == nil {
		aria = append(aria, [2]float64{1, single / a.Wall.Seconds()})
	}
	return pooled, aria
}

// plotScript is the gnuplot program that draws speedup.png.
func (rep *report) plotScript(png string) string {
	pooled, aria := rep.speedups()
	var w strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&w, format, args...) }
	data := func(name string, pts [][2]float64) {
		p("$%s << EOD\n", name)
		for _, pt := range pts {
			p("%g %g\n", pt[0], pt[1])
		}
		if len(pts) == 0 {
			p("NaN NaN\n") // an empty block is a gnuplot error; NaN draws nothing
		}
		p("EOD\n")
	}
	data("pooled", pooled)
	data("aria", aria)
	p("set terminal pngcairo size 900,600 font 'sans,11'\n")
	p("set output %q\n", png)
	p("set title %q\n", fmt.Sprintf("Dragonload: %s file, WAN %g Mbit/s per host, origin latency %v", mib(rep.Size), float64(rep.WAN)/1e6, rep.Latency))
	p("set xlabel 'hosts pooling their links (N)'\n")
	p("set ylabel 'speedup over one host''s plain HTTP download'\n")
	p("set xrange [0:9]\nset yrange [0:9]\nset xtics (1, 2, 4, 8)\nset ytics 1\nset grid\nset key top left box opaque\n")
	p("plot x title 'ideal (N × per-host goodput)' with lines dashtype 2 linewidth 2 linecolor rgb '#777777', \\\n")
	p("  $pooled using 1:2 title 'dragonload get + agents' with linespoints pointtype 7 pointsize 1.6 linewidth 2 linecolor rgb '#c0392b', \\\n")
	p("  $aria using 1:2 title 'aria2c -x16 -s16, one host' with points pointtype 4 pointsize 2.4 linewidth 2 linecolor rgb '#2471a3'\n")
	return w.String()
}

func plot(ctx context.Context, script string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "gnuplot")
	cmd.Stdin = strings.NewReader(script)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("gnuplot failed: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// machine describes this computer in one line.
func machine() string {
	cpu := "unknown CPU"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(l, "model name"); ok {
				cpu = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	mem := ""
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		if _, err := fmt.Sscanf(string(data), "MemTotal: %d kB", &kb); err == nil {
			mem = fmt.Sprintf(", %.0f GiB RAM", float64(kb)/(1<<20))
		}
	}
	kernel := ""
	if data, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = ", Linux " + strings.TrimSpace(string(data))
	}
	return fmt.Sprintf("%s, %d cores%s%s, %s", cpu, runtime.NumCPU(), mem, kernel, runtime.Version())
}

// commit names the checked-out commit, marked when the tree has changes.
func commit(ctx context.Context, root string) string {
	out, err := exec.CommandContext(ctx, "git", "-C", root, "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "(no commit)"
	}
	c := strings.TrimSpace(string(out))
	if st, err := exec.CommandContext(ctx, "git", "-C", root, "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(bytes.TrimSpace(st)) > 0 {
		c += " (with uncommitted changes)"
	}
	return c
}

func row(w *strings.Builder, cells ...string) {
	w.WriteString("| " + strings.Join(cells, " | ") + " |\n")
}

// cell keeps text from breaking a Markdown table.
func cell(s string) string {
	s = strings.ReplaceAll(s, "|", "\\|")
	return strings.Join(strings.Fields(s), " ")
}

// errCell is an error cut to a table cell's size (a build error can run
// to pages; the logs have it whole).
func errCell(err error) string {
	msg := []rune(cell(err.Error()))
	if len(msg) > 300 {
		return string(msg[:300]) + "…"
	}
	return string(msg)
}

func dur(r *result) string {
	if r.Err != nil {
		return "failed"
	}
	return secs(r.Wall)
}

func durOr(d time.Duration) string {
	if d <= 0 {
		return "—"
	}
	return secs(d)
}

func secs(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) }

func ratioStr(r *result) string {
	if v := r.Ratio(); v > 0 {
		return fmt.Sprintf("%.2f", v)
	}
	return "—"
}

func yesNo(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

func mib(n int64) string {
	if n >= 1<<30 && n%(1<<30) == 0 {
		return fmt.Sprintf("%d GiB", n>>30)
	}
	return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
}

func perGiB(cpu time.Duration, size int64) string {
	return fmt.Sprintf("%.1f CPU-s/GiB", cpuPerGiB(cpu, size))
}

func sumCPU(us []netbed.Usage) time.Duration {
	var t time.Duration
	for _, u := range us {
		t += u.CPU
	}
	return t
}

func maxRSS(us []netbed.Usage) int64 {
	var m int64
	for _, u := range us {
		m = max(m, u.PeakRSS)
	}
	return m
}

// shares lists what each participant contributed, as the requester's last
// progress report has it.
func shares(r *result) string {
	if len(r.Shares) == 0 {
		return ""
	}
	var total int64
	names := make([]string, 0, len(r.Shares))
	for n, b := range r.Shares {
		names = append(names, n)
		total += b
	}
	slices.SortFunc(names, byHost)
	var parts []string
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("%s %.0f%%", n, 100*float64(r.Shares[n])/float64(max(total, 1))))
	}
	return cell(strings.Join(parts, ", "))
}

// byHost orders participants by host number (h2 before h10), then by
// name (h2 before "h2 (LAN copy)").
func byHost(a, b string) int {
	num := func(s string) int {
		digits := strings.TrimPrefix(s, "h")
		if i := strings.IndexFunc(digits, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
			digits = digits[:i]
		}
		n, err := strconv.Atoi(digits)
		if err != nil || !strings.HasPrefix(s, "h") {
			return math.MaxInt // not a host: last
		}
		return n
	}
	return cmp.Or(cmp.Compare(num(a), num(b)), strings.Compare(a, b))
}
