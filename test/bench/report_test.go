package main

import (
	"errors"
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
	// Every row of a table has as many cells as its header.
	cells := 0
	for _, l := range strings.Split(md, "\n") {
		switch {
		case !strings.HasPrefix(l, "|"):
			cells = 0
		case cells == 0:
			cells = strings.Count(l, " | ")
		case strings.Count(strings.ReplaceAll(l, `\|`, ""), " | ") != cells && !strings.HasPrefix(l, "|---"):
			t.Errorf("row has %d cells, its table %d: %s", strings.Count(l, " | ")+1, cells+1, l)
		}
	}

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
