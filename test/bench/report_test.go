package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dragonload/dragonload/test/netbed"
)

func TestMarkdown(t *testing.T) {
	const size = 256 << 20
	ok := func(scenario, name string, n int, wall, ideal time.Duration, target float64) *result {
		return &result{Scenario: scenario, Name: name, N: n, Size: size, Wall: wall, Ideal: ideal, Target: target,
			Origin: size + size/200, LAN: size * int64(n-1) / int64(n),
			Tail:    tail{Last: 3 * time.Second, Median: time.Second},
			Req:     netbed.Usage{CPU: 2 * time.Second, PeakRSS: 60 << 20},
			Lenders: []netbed.Usage{{CPU: time.Second, PeakRSS: 50 << 20}, {CPU: time.Second, PeakRSS: 120 << 20}},
			Shares:  map[string]int64{"h1": size / 2, "h2": size / 2}}
	}
	rep := &report{
		Date: t0, Commit: "abc1234", Machine: "test box", Took: time.Minute, Size: size,
		WAN: 20e6, SlowWAN: 2e6, LAN: 1e9, Latency: 20 * time.Millisecond,
		Goodput:  map[int]float64{1: 19.2e6, 2: 19.1e6},
		PerHost:  19.15e6,
		SlowHost: 4, SlowGood: 1.9e6,
		Aria: &result{Scenario: "a", Name: "a: aria2c", N: 1, Size: size, Wall: 113 * time.Second, Ideal: 112 * time.Second, Origin: size},
		Results: []*result{
			ok("a", "a: N=1", 1, 115*time.Second, 112*time.Second, 1.05),
			ok("a", "a: N=2", 2, 70*time.Second, 56*time.Second, 1.05),
			{Scenario: "a", Name: "a: N=4", N: 4, Size: size, Ideal: 28 * time.Second, Target: 1.05, Err: errors.New("dragonload get exited 1 | see logs")},
			ok("d", "d: LAN", 5, 8*time.Second, 8*time.Second, 0),
			ok("e", "e: memory", 3, 40*time.Second, 0, 0),
		},
	}
	md := rep.markdown()
	for _, want := range []string{
		"commit abc1234",
		"| a: N=1 | 115.0 s | 112.0 s | 1.03 | ≤ 1.05 | yes |",
		"| a: N=2 | 70.0 s | 56.0 s | 1.25 | ≤ 1.05 | **no** |",
		"| a: N=4 | failed | 28.0 s | — | ≤ 1.05 |  | **failed**: dragonload get exited 1 \\| see logs |",
		"| a: aria2c | 113.0 s | 112.0 s | 1.01 | reference |",
		"intake 33.6 MB/s",
		"| intake ≥ 110 MB/s | **no** |",
		"peak RSS requester 60 MiB, lender 120 MiB",
		"| peak RSS ≤ 100 MiB | **no** |",
		"| f: origin bytes / S (worst run) |  |  | 1.0050 | ≤ 1.01 | yes |",
		"| g: last 1% / median 1% (worst run) |  |  | 3.00 | ≤ 2 | **no** |",
		"| h2 | 20mbit | 19.10 Mbit/s |",
		"| h4 (in b) | 2mbit | 1.90 Mbit/s |",
		"h1 50%, h2 50%",
		"The ideals use the median, 19.15 Mbit/s, for every host at 20mbit.",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("RESULTS.md lacks %q", want)
		}
	}
	if strings.Contains(md, "%!") {
		t.Errorf("RESULTS.md has a formatting error:\n%s", md)
	}
	for _, l := range strings.Split(md, "\n") {
		if strings.HasPrefix(l, "| a: N=2 | 70.0 s") && strings.Count(l, " | ") != 6 {
			t.Errorf("targets row has %d cells: %s", strings.Count(l, " | ")+1, l)
		}
	}
}

func TestPlotScript(t *testing.T) {
	rep := &report{Size: 256 << 20, WAN: 20e6, PerHost: 8 * 256 << 20, // S / goodput = 1 s
		Results: []*result{
			{Scenario: "a", N: 1, Wall: time.Second},
			{Scenario: "a", N: 2, Wall: 500 * time.Millisecond},
			{Scenario: "a", N: 4, Err: errors.New("failed")},
		},
		Aria: &result{N: 1, Wall: 2 * time.Second},
	}
	script := rep.plotScript("/tmp/x.png")
	for _, want := range []string{"$pooled << EOD\n1 1\n2 2\nEOD\n", "$aria << EOD\n1 0.5\nEOD\n", `set output "/tmp/x.png"`} {
		if !strings.Contains(script, want) {
			t.Errorf("plot script lacks %q:\n%s", want, script)
		}
	}
	empty := (&report{Size: 1, WAN: 1}).plotScript("/tmp/x.png")
	if !strings.Contains(empty, "$pooled << EOD\nNaN NaN\nEOD\n") {
		t.Errorf("plot script without runs:\n%s", empty)
	}
}

func TestErrCell(t *testing.T) {
	long := errors.New(strings.Repeat("é", 400) + "\n| x")
	got := errCell(long)
	if len([]rune(got)) != 301 || strings.ContainsAny(got, "\n") {
		t.Errorf("errCell = %q", got)
	}
}

func TestMarkdownNewScenarios(t *testing.T) {
	const size = 256 << 20
	run := func(scenario, name string, n int, wall, ideal time.Duration) *result {
		return &result{Scenario: scenario, Name: name, N: n, Size: size, Wall: wall, Ideal: ideal, Origin: size, LAN: size / 2,
			Tail: tail{Last: time.Second, Median: time.Second}}
	}
	a1 := run("a", "a: N=1", 1, 112*time.Second, 112*time.Second)
	a2 := run("a", "a: N=2", 2, 56*time.Second, 56*time.Second)
	a2.SharedLink, a2.SharedAt = []string{"h2 seems to share this machine's internet link: not fetching through it"}, 9*time.Second
	h := run("h", "h: LAN copy", 2, 3*time.Second, 2*time.Second)
	h.Copied, h.Intake, h.Origin = size*97/100, 8*size/2, 0
	i1 := run("i", "i: h1 starts first", 2, 60*time.Second, 112*time.Second)
	i2 := run("i", "i: h2 starts 5s later", 2, 58*time.Second, 112*time.Second)
	i1.Origin, i2.Origin = size/2, size/2+size/20
	i1.Joint, i2.Joint = size+size/20, size+size/20
	i1.Host, i2.Host = "h1", "h2"
	alone := run("j", "j: h1 alone", 1, 28*time.Second, 27*time.Second)
	pooled := run("j", "j: h1 + 3 lenders", 4, 29*time.Second, 28*time.Second)
	pooled.Target = targetSharedRatio
	pooled.SharedLink, pooled.SharedAt, pooled.NotHelping = []string{"pooling isn't helping: these machines seem to share one internet link"}, 12*time.Second, 12*time.Second
	rep := &report{Date: t0, Commit: "abc1234", Machine: "test box", Size: size, PairSize: 128 << 20, Shared: 64 << 20,
		WAN: 20e6, Latency: 20 * time.Millisecond, Results: []*result{a1, a2, h, i1, i2, alone, pooled}}
	md := rep.markdown()
	for _, want := range []string{
		`| a: notice never appears with separate links |  |  |  | no "pooling isn't helping" or "seems to share" notice | **no** | a: N=2 at 9.0 s: "h2 seems to share`,
		"| h: LAN copy | 3.0 s | 2.0 s | 1.50 | ≤ 1.10 × S / LAN intake + 1 s | yes | LAN intake 1074 Mbit/s (plain HTTP h2 → h1); origin 0.000 S;",
		"LAN copies 97.0%",
		"| h: bytes from LAN copies / S |  |  | 97.0% | ≥ 95% | yes |",
		"| i: h1 starts first | 60.0 s | 112.0 s | 0.54 | information: against fetching alone |  |",
		"| i: origin bytes of both machines / S |  |  | 1.050 | ≤ 1.10 | yes | by WAN address: h1 0.500 S, h2 0.550 S |",
		"| j: h1 alone | 28.0 s | 27.0 s | 1.04 | reference: S / uplink rate |  |",
		"| j: h1 + 3 lenders | 29.0 s | 28.0 s | 1.04 | ≤ 1.02 × h1 alone | **no** |",
		`| j: "pooling isn't helping" notice | 12.0 s |  |  | within 15 s of the requester's start | yes | pooling isn't helping: these machines seem to share one internet link |`,
		"| 0.000 | none |",
		"| 0.970 | none |",
		"| 0.000 | at 12.0 s |",
		"In j, h1..h4 sit behind one shared 20mbit uplink",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("RESULTS.md lacks %q", want)
		}
	}
	if strings.Contains(md, "%!") {
		t.Errorf("RESULTS.md has a formatting error:\n%s", md)
	}
	checkCells(t, md)

	// A notice that never came fails j; no run of a had one.
	pooled.SharedLink, pooled.NotHelping = nil, 0
	a2.SharedLink = nil
	md = (&report{Size: size, WAN: 20e6, Results: []*result{a1, a2, pooled}}).markdown()
	for _, want := range []string{
		`| j: "pooling isn't helping" notice | never |  |  | within 15 s of the requester's start | **no** | no such notice in h1's events |`,
		"| yes | none in 2 runs of a |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("RESULTS.md lacks %q", want)
		}
	}
}

// checkCells checks that every row of every table of md has as many
// cells as its header.
func checkCells(t *testing.T, md string) {
	t.Helper()
	pipes := func(l string) int { return strings.Count(strings.ReplaceAll(l, `\|`, ""), "|") }
	cells := 0
	for _, l := range strings.Split(md, "\n") {
		switch {
		case !strings.HasPrefix(l, "|"):
			cells = 0
		case cells == 0:
			cells = pipes(l)
		case pipes(l) != cells:
			t.Errorf("row has %d cells, its table %d: %s", pipes(l)-1, cells-1, l)
		}
	}
}

func TestMarkdownIssue10(t *testing.T) {
	const gib, size = 1 << 30, 256 << 20
	run := func(scenario, name, row string, wall, ideal time.Duration, target float64) *result {
		return &result{Scenario: scenario, Name: name, Row: row, N: 4, Size: size, Wall: wall, Ideal: ideal, Target: target,
			Origin: size, LAN: size / 2, Startup: 300 * time.Millisecond, Finish: 10 * time.Millisecond,
			Tail: tail{Last: time.Second, Median: time.Second}, Req: netbed.Usage{CPU: 2 * time.Second}}
	}
	// three runs of one row, with the given times, in that order
	three := func(scenario, row string, ideal time.Duration, target float64, walls ...time.Duration) []*result {
		var rs []*result
		for i, w := range walls {
			rs = append(rs, run(scenario, fmt.Sprintf("%s (run %d of 3)", row, i+1), row, w, ideal, target))
		}
		return rs
	}
	raw := func(kind rawKind, rate int64, wall, recv, send time.Duration) []*result {
		var rs []*result
		for i := range 3 {
			rs = append(rs, &result{Scenario: rawScenario, Name: fmt.Sprintf("%s (run %d of 3)", rawName(kind, rate), i+1), Row: rawName(kind, rate),
				N: 2, Size: gib, Wall: wall, Req: netbed.Usage{CPU: recv, PeakRSS: 16 << 20}, Lenders: []netbed.Usage{{CPU: send, PeakRSS: 9 << 20}}})
		}
		return rs
	}
	var all []*result
	a := []*result{run("a", "a: N=1", "", 112*time.Second, 112*time.Second, 1.05), run("a", "a: N=2", "", 56*time.Second, 56*time.Second, 1.05),
		run("a", "a: N=4", "", 28*time.Second, 28*time.Second, 1.05)}
	a[0].Startup, a[1].Startup, a[2].Startup = 300*time.Millisecond, 200*time.Millisecond, 250*time.Millisecond
	a[1].Finish = 80 * time.Millisecond
	all = append(all, a...)
	d := run("d", "d: LAN-bound", "", 9*time.Second, 8*time.Second, 0)
	d.Size, d.Req.CPU = gib, 3*time.Second
	d.Lenders = []netbed.Usage{{CPU: time.Second}, {CPU: 3 * time.Second}}
	d.Shares = map[string]int64{"h1": 0, "h2": gib / 4, "h3": gib / 4, "h4": gib / 4, "h5": gib / 4}
	h := run("h", "h: LAN copy", "", 3*time.Second, 2*time.Second, 0)
	h.Intake, h.RawIntake, h.Copied = 8*size/2, 8*size/2, size
	all = append(all, d, h)
	alone := three("k", "k: h1 alone, own link unshaped, LAN 1gbit", 4*time.Second, 0, 5*time.Second, 6*time.Second, 7*time.Second)
	pooled := three("k", "k: h1 + 4 lenders at 20mbit, own link unshaped", 6*time.Second, targetOwnLink, 7*time.Second, 9*time.Second, 8*time.Second)
	for i := range 3 {
		all = append(all, alone[i], pooled[i])
	}
	for _, rate := range []int64{0, 1e9} {
		all = append(all, raw(rawQUIC, rate, 9*time.Second, 2*time.Second, 1500*time.Millisecond)...)
		all = append(all, raw(rawHTTP, rate, 9*time.Second, time.Second, 500*time.Millisecond)...)
	}
	all = append(all, three("m", "m: 16 hosts at 10mbit, 128 MiB", 7*time.Second, targetMany, 7200*time.Millisecond, 7100*time.Millisecond, 7300*time.Millisecond)...)
	all = append(all, three("n", "n: 8 MiB, N=4", 880*time.Millisecond, targetSmall, time.Second, 1200*time.Millisecond, 1100*time.Millisecond)...)
	o := three("o", "o: TTFB 300ms, N=4, 32 MiB", 3800*time.Millisecond, targetTTFB, 4*time.Second, 4*time.Second, 4*time.Second)
	o = append(o, run("o", "o: TTFB 300ms, N=4, 128 MiB", "o: TTFB 300ms, N=4, 128 MiB", 15*time.Second, 14*time.Second, targetTTFBBig))
	for i, st := range []time.Duration{400, 500, 450, 420} {
		o[i].Startup = st * time.Millisecond
	}
	all = append(all, o...)
	p := run("p", "p: mixed links 5/10/20/40mbit, N=4, 128 MiB", "p: mixed links 5/10/20/40mbit, N=4, 128 MiB", 15*time.Second, 14*time.Second, targetMixed)
	p.Shares = map[string]int64{"h1": size / 10, "h2": size * 15 / 100, "h3": size / 4, "h4": size / 2}
	all = append(all, p)

	many := map[int]float64{}
	for i := 1; i <= 16; i++ {
		many[i] = 9.5e6 + float64(i)*1e4
	}
	rep := &report{Date: t0, Commit: "abc1234", Machine: "test box", Size: size, LANSize: gib, Many: 128 << 20, Small: 8 << 20, TTFBSize: 32 << 20,
		WAN: 20e6, ManyWAN: 10e6, MixedWAN: []int64{5e6, 10e6, 20e6, 40e6}, LAN: 1e9, Latency: 20 * time.Millisecond, TTFB: 300 * time.Millisecond,
		ManyGood: many, Mixed: map[int]float64{1: 4.8e6, 2: 9.6e6, 3: 19.2e6, 4: 38.4e6}, Results: all}
	md := rep.markdown()
	for _, want := range []string{
		"| h: LAN copy against raw quic-go intake | 3.0 s | 2.0 s | 1.50 | ≤ 1.10 × S / raw quic-go intake + 1 s | yes | raw quic-go intake 1074 Mbit/s",
		"| k: h1 alone, own link unshaped, LAN 1gbit | 6.0 s | 4.0 s | 1.50 | reference: S / one plain GET over h1's own link |  | requester CPU 2.0 s, 8.0 CPU-s/GiB; median of 3 (5.0 s, 6.0 s, 7.0 s); origin 1.000 S;",
		"| k: h1 + 4 lenders at 20mbit, own link unshaped | 8.0 s | 6.0 s | 1.33 | ≤ 1.00 × h1 alone's median | **no** | requester CPU 2.0 s, 8.0 CPU-s/GiB; median of 3 (7.0 s, 9.0 s, 8.0 s);",
		"| l: raw quic-go h2→h1, LAN unshaped | 9.0 s | — | — | reference |  | median of 3: 119 MB/s; receiver 2.00 CPU-s/GiB, sender 1.50 CPU-s/GiB |",
		"| l: raw HTTP h2→h1, LAN 1gbit | 9.0 s | — | — | reference |  | median of 3: 119 MB/s; receiver 1.00 CPU-s/GiB, sender 0.50 CPU-s/GiB |",
		"| d: requester CPU per GiB against raw quic-go receive |  |  | 1.50 | ≤ 1.10 × raw quic-go receive | **no** | requester 3.00 CPU-s/GiB; raw quic-go receiver 2.00 CPU-s/GiB (LAN 1gbit, median of 3) |",
		"| d: lender CPU per GiB lent against raw HTTP receive + raw quic-go send |  |  | 1.60 | ≤ 1.10 × (raw HTTP receive + raw quic-go send) | **no** | lenders 4.00 CPU-s per GiB lent (1 GiB lent); raw HTTP receiver 1.00 + raw quic-go sender 1.50 = 2.50 CPU-s/GiB (LAN 1gbit, medians of 3) |",
		"| m: 16 hosts at 10mbit, 128 MiB | 7.2 s | 7.0 s | 1.03 | ≤ 1.04 | yes | median of 3 (7.2 s, 7.1 s, 7.3 s);",
		"| n: 8 MiB, N=4 | 1.1 s | 0.9 s | 1.25 | ≤ 1.20 | **no** |",
		"| o: TTFB 300ms, N=4, 32 MiB | 4.0 s | 3.8 s | 1.05 | ≤ 1.25 | yes |",
		"| o: TTFB 300ms, N=4, 128 MiB | 15.0 s | 14.0 s | 1.07 | ≤ 1.05 | **no** | origin 1.000 S;",
		"| ≤ 1.05 | **no** | h1 (5mbit) 10.0% of bytes, 6.7% of goodput, h2 (10mbit) 15.0% of bytes, 13.3% of goodput, h3 (20mbit) 25.0% of bytes, 26.7% of goodput, h4 (40mbit) 50.0% of bytes, 53.3% of goodput;",
		"| start-up to the first durable byte, origin latency 20ms, --peer (a): median | 250 ms |  |  | ≤ 250 ms | yes | over 3 runs: 200 ms to 300 ms |",
		"| start-up to the first durable byte, TTFB 300ms, --peer (o): median | 420 ms |  |  | ≤ 450 ms (TTFB + 150 ms) | yes | over 4 runs: 400 ms to 500 ms |",
		"| finish, last durable byte to exit (worst run) | 80 ms |  |  | ≤ 50 ms | **no** | a: N=2; over 22 runs; every run below |",
		"| l: raw quic-go h2→h1, LAN 1gbit (run 2 of 3) | 2 | 9.0 s | — | — |  |  |  |  |  |  |  |  |  | 2.0 s | 16 MiB | 1.5 s | 9 MiB |  |",
		"| n: 8 MiB, N=4 (run 3 of 3) | 4 | 1.1 s | 0.9 s | 1.25 |",
		"| h1..h16 (in m) | 10mbit | median 9.59 Mbit/s (9.51 to 9.66) |",
		"| h3 (in p) | 20mbit | 19.20 Mbit/s |",
		"In p, h1..h4 have WAN links of 5/10/20/40mbit",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("RESULTS.md lacks %q", want)
		}
	}
	if strings.Contains(md, "%!") {
		t.Errorf("RESULTS.md has a formatting error:\n%s", md)
	}
	checkCells(t, md)

	// A failed run fails its row; the references' failure leaves out goal 4.
	pooled[1].Err = errors.New("dragonload get exited 1")
	for _, r := range all {
		if r.Scenario == rawScenario {
			r.Err = errors.New("rawquic get exited 1")
		}
	}
	md = rep.markdown()
	for _, want := range []string{
		"| k: h1 + 4 lenders at 20mbit, own link unshaped | failed | 6.0 s | — | ≤ 1.00 × h1 alone's median |  | **failed**: dragonload get exited 1 |",
		"| l: raw HTTP h2→h1, LAN 1gbit | failed | — | — | reference |  | **failed**: rawquic get exited 1 |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("RESULTS.md lacks %q", want)
		}
	}
	if strings.Contains(md, "against raw quic-go receive") {
		t.Error("goal 4's rows without the references")
	}
	checkCells(t, md)
}

func TestByHost(t *testing.T) {
	names := []string{"node abcd1234", "h10", "h2 (LAN copy)", "h1", "h2"}
	slices.SortFunc(names, byHost)
	if want := []string{"h1", "h2", "h2 (LAN copy)", "h10", "node abcd1234"}; !slices.Equal(names, want) {
		t.Errorf("sorted %q, want %q", names, want)
	}
}

func TestMarkdownMDNSStart(t *testing.T) {
	const size = 32 << 20
	msec := time.Millisecond
	run := func(kind string, i int, wall, first time.Duration, via string) *result {
		row := kind + ", N=4, 32 MiB"
		return &result{Scenario: "q", Name: fmt.Sprintf("%s (run %d of 3)", row, i), Row: row, N: 4, Size: size, Wall: wall,
			Origin: size, LAN: size * 3 / 4, Startup: 200 * msec, Finish: 10 * msec, FirstPeer: first, FirstVia: via}
	}
	peer := []*result{run(startPeer, 1, 3800*msec, 90*msec, "manual"), run(startPeer, 2, 3900*msec, 80*msec, "manual"), run(startPeer, 3, 3700*msec, 100*msec, "manual")}
	cold := []*result{run(startCold, 1, 4100*msec, 600*msec, "mdns"), run(startCold, 2, 4200*msec, 620*msec, "mdns"), run(startCold, 3, 4300*msec, 610*msec, "mdns")}
	warm := []*result{run(startWarm, 1, 4000*msec, 110*msec, "cache"), run(startWarm, 2, 3800*msec, 120*msec, "cache"), run(startWarm, 3, 3900*msec, 900*msec, "mdns")}
	var all []*result
	for i := range 3 {
		peer[i].Ideal = 3500 * msec
		cold[i].Ideal, warm[i].Ideal = 3800*msec, 3800*msec
		all = append(all, peer[i], cold[i], warm[i])
	}
	rep := &report{Date: t0, Commit: "abc1234", Machine: "test box", Size: 256 << 20, TTFBSize: size, WAN: 20e6, Results: all}
	md := rep.markdown()
	for _, want := range []string{
		"| q: first ready peer, warm restart (median of 3) | 120 ms |  |  | ≤ 150 ms | yes | runs: 110 ms (cache), 120 ms (cache), 900 ms (mdns); start-up median 200 ms; with --peer: median 90 ms |",
		"| q: first ready peer, cold (median of 3) | 610 ms |  |  | reference |  | runs: 600 ms (mdns), 620 ms (mdns), 610 ms (mdns); start-up median 200 ms; with --peer: median 90 ms |",
		"| q: mDNS cold / --peer wall time | 4.2 s | 3.8 s | 1.11 | information |  | median of 3 (4.1 s, 4.2 s, 4.3 s); --peer median of 3 (3.8 s, 3.9 s, 3.7 s); origin 1.000 S; LAN 0.750 S |",
		"| q: mDNS warm / --peer wall time | 3.9 s | 3.8 s | 1.03 | information |  | median of 3 (4.0 s, 3.8 s, 3.9 s); --peer median of 3 (3.8 s, 3.9 s, 3.7 s);",
		"| q: mDNS cold, N=4, 32 MiB (run 2 of 3) | 4 | 4.2 s | 3.8 s | 1.11 | 0.2 s |",
		"In q, h2..h4 lend at 20mbit with mDNS on (on the LAN interface alone) and h1 gets a 32 MiB file",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("RESULTS.md lacks %q", want)
		}
	}
	if strings.Contains(md, "%!") {
		t.Errorf("RESULTS.md has a formatting error:\n%s", md)
	}
	checkCells(t, md)

	// Warm runs without a ready peer count as later than any; a failed run
	// fails its rows, and a failed --peer run leaves the comparisons out.
	warm[0].FirstPeer, warm[0].FirstVia = 0, ""
	warm[2].FirstPeer, warm[2].FirstVia = 0, ""
	peer[1].Err = errors.New("dragonload get exited 1")
	cold[2].Err = errors.New("dragonload get exited 1")
	md = rep.markdown()
	for _, want := range []string{
		"| q: first ready peer, warm restart (median of 3) | never |  |  | ≤ 150 ms | **no** | runs: never, 120 ms (cache), never; start-up median 200 ms |",
		"| q: first ready peer, cold (median of 3) | failed |  |  | reference |  | q: mDNS cold, N=4, 32 MiB (run 3 of 3): **failed**: dragonload get exited 1 |",
		"| q: mDNS cold / --peer wall time | failed |  |  | information |  | q: mDNS cold, N=4, 32 MiB (run 3 of 3): **failed**: dragonload get exited 1 |",
		"| q: mDNS warm / --peer wall time | failed |  |  | information |  | q: --peer, N=4, 32 MiB (run 2 of 3): **failed**: dragonload get exited 1 |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("RESULTS.md lacks %q", want)
		}
	}
	checkCells(t, md)
}
