package e2e

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dragonload/dragonload/core/transfer"
	testorigin "github.com/dragonload/dragonload/test/origin"
	"github.com/dragonload/dragonload/test/testkit"
)

// hostileGiveUp is the give-up time the hostile runs set in config.toml
// (give_up_seconds): a download with no durable progress for this long
// fails. The runs that must fail because of it are bounded by it.
const hostileGiveUp = 20 * time.Second

// hostileName is the file's name on the test origin and on disk.
const hostileName = "file.bin"

// hostileWant is the outcome a hostile case allows.
type hostileWant int

const (
	wantFile       hostileWant = iota // exit 0 with the file's bytes (version 1)
	wantFail                          // exit 1, no file, a clear error
	wantV2OrFail                      // exit 0 with version 2 entirely, or exit 1 with no file
	wantFileOrFail                    // exit 0 with the file (version 1), or exit 1 with no file
)

type hostileCase struct {
	name   string
	size   int64
	rate   int64 // per source address
	quirks testorigin.Quirks
	want   hostileWant
	// words must all appear in the error sentence (case-insensitive) of a
	// failed run.
	words []string
	// within bounds a failed run from its start, or from the event (mid,
	// swap) when there is one; 0 = the give-up bound (plus 10 s for
	// starting the process and probing).
	within time.Duration
	// okLog must appear in the log of a run that exits 0 (wantFileOrFail).
	okLog string
	// lenderRate, when set, replaces rate in the runs with a lender.
	lenderRate int64
	// At the event, mid replaces the origin's quirks (once 2 MiB were
	// served: the first requests are under way, most of the file is not
	// yet asked for), and swap renames the output folder away and creates
	// a new one at its path (once a quarter of the file was served).
	mid  *testorigin.Quirks
	swap bool
	// slow cases mostly wait (for the give-up time, or on a slow origin):
	// they run in parallel with each other, at most -parallel at once.
	slow bool
}

// hostileRow is one line of the summary table.
type hostileRow struct {
	name, mode, outcome string
	shape               string // size and rate per source
	secs                float64
	ratio               float64 // origin bytes / size
	lender              float64 // share of origin bytes fetched by the lender
}

// TestHostileOrigins runs `dragonload get` against origins that misbehave
// the ways real ones do, alone and with one lender, and checks that every
// run ends, within a bound, with the right bytes or a clear error; never
// with wrong bytes under the final name.
func TestHostileOrigins(t *testing.T) {
	const size, rate = 32 * mib, 8 * mib
	in1e9s := strconv.Itoa(time.Now().Add(1e9 * time.Second).UTC().Year()) // the year of Retry-After: 1000000000
	cases := []hostileCase{
		{name: "trickle 1 in 3", size: size, rate: rate, quirks: testorigin.Quirks{TrickleEvery: 3}, want: wantFile},
		{name: "stall 1 in 3", size: size, rate: rate, quirks: testorigin.Quirks{StallEvery: 3}, want: wantFile},
		{name: "never answers", size: size, rate: rate, quirks: testorigin.Quirks{NoAnswer: true},
			want: wantFail, words: []string{"never answered"}, slow: true},
		{name: "retry-after 2100", size: size, rate: rate,
			quirks: testorigin.Quirks{Status: 503, RetryAfterValue: "Fri, 01 Jan 2100 00:00:00 GMT"},
			want:   wantFail, words: []string{"2100-01-01 00:00 UTC", "not waiting more than 5m0s"}, within: 10 * time.Second},
		{name: "retry-after 1e9 s", size: size, rate: rate,
			quirks: testorigin.Quirks{Status: 503, RetryAfterValue: "1000000000"},
			want:   wantFail, words: []string{"asked to wait until " + in1e9s, "not waiting more than 5m0s"}, within: 10 * time.Second},
		// The scheduler asks for about 4 s of a source's rate at a time, two
		// requests per source: 48 MiB at 4 MiB/s alone (2 MiB/s each with
		// a lender) leaves bytes to ask for after the change at 30%.
		{name: "weak etag changes", size: 48 * mib, rate: 4 * mib, lenderRate: 2 * mib,
			quirks: testorigin.Quirks{WeakETag: true, ChangeETagAfter: 48 * mib * 3 / 10}, want: wantV2OrFail, words: []string{"chang"}, slow: true},
		{name: "alternating etags", size: size, rate: rate, quirks: testorigin.Quirks{AlternateETags: true}, want: wantFile},
		{name: "etag dropped 1 in 3", size: size, rate: rate, quirks: testorigin.Quirks{DropETagEvery: 3}, want: wantFile},
		// The probe sees a wrong Content-Range too. The engine may refuse the
		// origin or download it in one stream without ranges (the bytes are
		// right); it must never trust a mislabelled range.
		{name: "wrong content-range", size: size, rate: rate, quirks: testorigin.Quirks{WrongContentRange: true},
			want: wantFileOrFail, words: []string{"range"}, okLog: "falling back to a single stream"},
		// The "after probe" cases change the origin once 2 MiB were served;
		// at 2 MiB/s the scheduler has not asked for most of the file yet
		// (it asks for about 4 s of a source's rate at a time), so requests
		// meet the new behaviour, alone and with a lender.
		//
		// After a clean probe, every ranged response is mislabelled.
		{name: "wrong c-range after probe", size: size, rate: 2 * mib, mid: &testorigin.Quirks{WrongContentRange: true},
			want: wantFail, words: []string{"range"}, slow: true},
		{name: "no answer after probe", size: size, rate: 2 * mib, mid: &testorigin.Quirks{NoAnswer: true},
			want: wantFail, words: []string{"never answered"}, slow: true},
		{name: "retry-after 2100 later", size: size, rate: 2 * mib,
			mid:  &testorigin.Quirks{Status: 503, RetryAfterValue: "Fri, 01 Jan 2100 00:00:00 GMT"},
			want: wantFail, words: []string{"2100-01-01 00:00 UTC", "not waiting more than 5m0s"}, within: 10 * time.Second},
		{name: "folder replaced", size: 24 * mib, rate: 2 * mib, want: wantFail,
			words: []string{"deleted or replaced"}, within: 5 * time.Second, swap: true},
	}
	var (
		mu    sync.Mutex
		table []hostileRow
	)
	// The table is printed once every subtest, parallel ones too, ended.
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		order := map[string]int{}
		for i, tc := range cases {
			order[tc.name] = i
		}
		slices.SortStableFunc(table, func(a, b hostileRow) int {
			return cmp.Or(cmp.Compare(order[a.name], order[b.name]), cmp.Compare(a.mode, b.mode))
		})
		var b strings.Builder
		fmt.Fprintf(&b, "hostile origins (give_up_seconds = %d; file MiB @ MiB/s per source):\n", int(hostileGiveUp.Seconds()))
		fmt.Fprintf(&b, "%-26s %-6s %-5s %7s %6s %7s  %s\n", "case", "mode", "file", "seconds", "orig/S", "lender", "outcome")
		for _, r := range table {
			fmt.Fprintf(&b, "%-26s %-6s %-5s %7.1f %6.2f %6.0f%%  %s\n", r.name, r.mode, r.shape, r.secs, r.ratio, 100*r.lender, r.outcome)
		}
		t.Log(b.String())
	})
	for _, tc := range cases {
		for _, lender := range []bool{false, true} {
			mode := "alone"
			if lender {
				mode = "lender"
			}
			t.Run(tc.name+"/"+mode, func(t *testing.T) {
				if tc.slow {
					t.Parallel()
				}
				row := hostileRow{name: tc.name, mode: mode, outcome: "TEST FAILED (see log)"}
				defer func() {
					if t.Failed() && !strings.HasPrefix(row.outcome, "TEST FAILED") {
						row.outcome = "TEST FAILED: " + row.outcome
					}
					mu.Lock()
					table = append(table, row)
					mu.Unlock()
				}()
				runHostile(t, tc, lender, &row)
			})
		}
	}
}

// runHostile runs one case once and checks its outcome.
func runHostile(t *testing.T, tc hostileCase, withLender bool, row *hostileRow) {
	rate := tc.rate
	if withLender && tc.lenderRate > 0 {
		rate = tc.lenderRate
	}
	row.shape = fmt.Sprintf("%d@%d", tc.size/mib, rate/mib)
	o := origin(t, testorigin.Config{Size: tc.size, Seed: seed, RatePerSource: rate, Name: hostileName, Quirks: tc.quirks})
	home := t.TempDir()
	writeHomeConfig(t, home, fmt.Sprintf("give_up_seconds = %d", int(hostileGiveUp.Seconds())))
	out := filepath.Join(t.TempDir(), "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	var peers []string
	var lenderProc *proc
	if withLender {
		a, addr := agent(t, "127.0.0.3", testRoom)
		lenderProc = a
		waitAgentUp(t, a)
		peers = []string{addr}
	}

	events := filepath.Join(t.TempDir(), "events.jsonl")
	began := time.Now()
	get := start(t, "get", getArgs(home, out, "127.0.0.2", o.URL(), peers, "--events", events)...)
	var eventAt time.Time // when mid or swap took effect
	moved := out + ".moved"
	if tc.mid != nil || tc.swap {
		at := tc.size / 4
		if tc.mid != nil {
			at = 2 * mib
		}
		waitFor(t, 30*time.Second, fmt.Sprintf("%d bytes served", at), func() bool {
			return o.BytesServed() >= at || get.exited()
		})
		if get.exited() {
			t.Fatalf("get ended before %d bytes were served:\n%s", at, get.out.String())
		}
		if tc.mid != nil {
			o.SetQuirks(*tc.mid)
		}
		if tc.swap {
			if err := os.Rename(out, moved); err != nil {
				t.Fatal(err)
			}
			if err := os.Mkdir(out, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		eventAt = time.Now()
	}
	hard := hostileGiveUp + 30*time.Second
	code, exited := get.waitExit(hard)
	ended := time.Now()
	elapsed := ended.Sub(began)
	row.secs = elapsed.Seconds()
	row.ratio = float64(o.BytesServed()) / float64(tc.size)
	if total := o.BytesServed(); total > 0 {
		row.lender = float64(o.BytesBySource()["127.0.0.3"]) / float64(total)
	}
	if !exited {
		row.outcome = fmt.Sprintf("HANG: still running after %v", hard)
		t.Errorf("get did not end within %v (give-up %v + 30 s)", hard, hostileGiveUp)
		return
	}
	sentence := errorSentence(get.out.String())
	switch {
	case code == 0:
		row.outcome = "exit 0"
	default:
		row.outcome = fmt.Sprintf("exit %d: %s", code, sentence)
	}

	// Whatever happened, the final name never holds wrong bytes.
	dirs := []string{out}
	if tc.swap {
		dirs = append(dirs, moved)
	}
	v1, v2 := testorigin.SumSHA256(seed, tc.size), testorigin.SumSHA256(seed+1, tc.size)
	var got string // sha256 of the one result file, "" if none
	for _, dir := range dirs {
		names := testkit.VisibleFiles(t, dir)
		switch {
		case len(names) > 1:
			t.Errorf("%s holds several visible files: %v", dir, names)
		case len(names) == 1:
			if got != "" {
				t.Errorf("a result in two folders: %v", dirs)
			}
			got = testkit.FileSHA256(t, filepath.Join(dir, names[0]))
			if names[0] != hostileName {
				t.Errorf("the result is named %q, want %q", names[0], hostileName)
			}
		}
	}
	version := ""
	switch got {
	case "":
	case v1:
		version = "version 1"
	case v2:
		version = "version 2"
	default:
		version = "WRONG BYTES"
		t.Errorf("the file under its final name holds wrong bytes (sha256 %s, neither version %s nor %s)", got, v1, v2)
	}
	if code == 0 {
		row.outcome = "exit 0, " + version
	}

	switch tc.want {
	case wantFile:
		if code != 0 || got != v1 {
			t.Errorf("exit %d with %q; want exit 0 with the file (version 1); error: %s", code, version, sentence)
		}
	case wantV2OrFail:
		switch {
		case code == 0 && got == v2:
		case code == 1 && got == "":
			checkSentence(t, sentence, tc.words)
		default:
			t.Errorf("exit %d with %q; want exit 0 with version 2 entirely, or exit 1 and no file", code, version)
		}
	case wantFileOrFail:
		switch {
		case code == 0 && got == v1:
			if !strings.Contains(get.out.String(), tc.okLog) {
				t.Errorf("exit 0 but the log does not say %q", tc.okLog)
			}
		case code == 1 && got == "":
			checkSentence(t, sentence, tc.words)
		default:
			t.Errorf("exit %d with %q; want exit 0 with the file, or exit 1 and no file", code, version)
		}
	case wantFail:
		if code != 1 || got != "" {
			t.Errorf("exit %d with %q; want exit 1 and no file", code, version)
		}
		checkSentence(t, sentence, tc.words)
	}
	if code != 0 {
		// A failure must come within the bound of the run's start, of the
		// event, or of the last durable progress, whichever was last: the
		// give-up clock starts again with every commit. A replaced folder
		// counts from the swap alone.
		within, ref, from := tc.within, began, "its start"
		if within == 0 {
			within = hostileGiveUp + 10*time.Second
		}
		if !eventAt.IsZero() {
			ref, from = eventAt, "the event"
			row.outcome += fmt.Sprintf(" [%.1fs after the event]", ended.Sub(eventAt).Seconds())
		}
		if landed := lastLanded(t, events); landed.After(ref) && !tc.swap {
			ref, from = landed, "the last durable bytes"
			row.outcome += fmt.Sprintf(" [%.1fs after the last durable bytes]", ended.Sub(landed).Seconds())
		}
		if took := ended.Sub(ref); took > within {
			t.Errorf("failed %v after %s; want within %v", took.Round(100*time.Millisecond), from, within)
		}
	}
	if tc.swap {
		if !strings.Contains(sentence, out) {
			t.Errorf("the error does not name the folder %s: %q", out, sentence)
		}
		for _, dir := range dirs {
			if _, err := os.Lstat(filepath.Join(dir, hostileName)); err == nil {
				t.Errorf("%s appeared in %s", hostileName, dir)
			}
		}
	}
	if t.Failed() || os.Getenv("DRAGONLOAD_E2E_LOGS") != "" {
		t.Logf("origin served %d bytes (%v by source)", o.BytesServed(), o.BytesBySource())
	}
	if os.Getenv("DRAGONLOAD_E2E_LOGS") != "" && !t.Failed() {
		t.Logf("--- output of get ---\n%s", get.out.String())
		if lenderProc != nil {
			t.Logf("--- output of the lender ---\n%s", lenderProc.out.String())
		}
	}
}

// lastLanded is the time of the last ChunkLanded event (bytes made
// durable) in a --events file; zero if none.
func lastLanded(t *testing.T, path string) time.Time {
	var last time.Time
	for _, ev := range readEvents(t, path) {
		if ev.Type == "ChunkLanded" && ev.T.After(last) {
			last = ev.T
		}
	}
	return last
}

// checkSentence asserts that a failure printed one sentence holding every
// word of words (case-insensitive).
func checkSentence(t *testing.T, sentence string, words []string) {
	t.Helper()
	if sentence == "" {
		t.Errorf("no error sentence (a line starting with \"dragonload: \")")
		return
	}
	if !strings.HasSuffix(sentence, ".") {
		t.Errorf("the error is not one sentence ending in a period: %q", sentence)
	}
	for _, w := range words {
		if !strings.Contains(strings.ToLower(sentence), strings.ToLower(w)) {
			t.Errorf("the error does not mention %q: %q", w, sentence)
		}
	}
}

// TestZeroZeroOrigin: an origin that answers "Range: bytes=0-0" with the
// whole file (as busybox httpd and s3rver do) but every other range
// exactly still gets a pooled download, and a killed download resumes.
func TestZeroZeroOrigin(t *testing.T) {
	const size = 32 * mib
	quirks := testorigin.Quirks{WholeForZeroZero: true}
	t.Run("pooled", func(t *testing.T) {
		o := origin(t, testorigin.Config{Size: size, Seed: seed, RatePerSource: 4 * mib, Name: hostileName, Quirks: quirks})
		a, addr := agent(t, "127.0.0.3", testRoom)
		waitAgentUp(t, a)
		out := t.TempDir()
		began := time.Now()
		get := start(t, "get", getArgs(t.TempDir(), out, "127.0.0.2", o.URL(), []string{addr})...)
		if code := get.wait(time.Minute); code != 0 {
			t.Fatalf("get exited %d: %s", code, errorSentence(get.out.String()))
		}
		checkFile(t, out, size)
		total, by := o.BytesServed(), o.BytesBySource()
		share := float64(by["127.0.0.3"]) / float64(total)
		t.Logf("pooled from a bytes=0-0 origin in %.1fs: origin served %.3f x size, lender share %.0f%% (%v)",
			time.Since(began).Seconds(), float64(total)/size, 100*share, by)
		if share <= 0.10 {
			t.Errorf("the lender fetched %.1f%% of the origin's bytes; want more than 10%%", 100*share)
		}
		if total > size*115/100 {
			t.Errorf("origin served %d bytes for a %d-byte file (> 1.15x): the probe took the whole file?", total, size)
		}
	})
	t.Run("resume", func(t *testing.T) {
		o := origin(t, testorigin.Config{Size: size, Seed: seed, RatePerSource: 8 * mib, Name: hostileName, Quirks: quirks})
		killAndResume(t, o, size, o.URL(), o.URL(), false)
	})
}

// TestSignedURLResume: a download killed at 40% resumes from a newly
// signed URL of the same file (another query string): run again with the
// same home (the download list remembers the killed download), and with a
// fresh home (only the partial file and its journal tell).
func TestSignedURLResume(t *testing.T) {
	const size = 32 * mib
	for _, fresh := range []bool{false, true} {
		name := "same home"
		if fresh {
			name = "fresh home"
		}
		t.Run(name, func(t *testing.T) {
			o := origin(t, testorigin.Config{Size: size, Seed: seed, RatePerSource: 8 * mib, Name: hostileName})
			killAndResume(t, o, size, o.URL()+"?sig=aaa", o.URL()+"?sig=bbb", fresh)
		})
	}
}

// killAndResume runs `get first` alone, SIGKILLs it once the origin served
// 40% of the file, then runs `get second` (with a fresh --home when
// freshHome) to the end, and checks the file and that the second run
// fetched only what the journal lacked.
func killAndResume(t *testing.T, o *testorigin.Server, size int64, first, second string, freshHome bool) {
	t.Helper()
	home, out := t.TempDir(), t.TempDir()
	get := start(t, "get (killed)", getArgs(home, out, "127.0.0.2", first, nil)...)
	waitFor(t, time.Minute, "40% of the file served", func() bool { return o.BytesServed() >= size*4/10 || get.exited() })
	if get.exited() {
		t.Fatalf("get ended before it was killed:\n%s", get.out.String())
	}
	get.kill()
	atKill := o.BytesServed()
	durable := durableBytes(out, hostileName)
	if names := testkit.VisibleFiles(t, out); len(names) != 0 {
		t.Fatalf("a file appeared under its final name before completion: %v", names)
	}
	if durable == 0 {
		t.Fatalf("nothing durable after %d bytes were served (journal %s)", atKill, filepath.Join(out, "."+hostileName+".dlpart.journal"))
	}
	if freshHome {
		home = t.TempDir()
	}
	began := time.Now()
	rerun := start(t, "get (rerun)", getArgs(home, out, "127.0.0.2", second, nil)...)
	if code := rerun.wait(time.Minute); code != 0 {
		t.Fatalf("the rerun exited %d: %s", code, errorSentence(rerun.out.String()))
	}
	checkFile(t, out, size)
	total := o.BytesServed()
	again := total - atKill
	t.Logf("killed after %d bytes served (%.0f%%), %d durable, %d in flight lost; rerun fetched %d bytes (journal lacked %d) in %.1fs; "+
		"origin served %d bytes in all = %.3f x size",
		atKill, 100*float64(atKill)/float64(size), durable, atKill-durable, again, size-durable,
		time.Since(began).Seconds(), total, float64(total)/float64(size))
	if !strings.Contains(rerun.out.String(), "msg=resuming") {
		t.Errorf("the rerun did not log resuming the partial file")
	}
	// A kill loses at most what was not yet committed (the transfer
	// journals every 4 MiB, transfer.DefaultCommitBytes) plus what sat in
	// the sockets' buffers, about a MiB per stream on loopback.
	if lost, most := atKill-durable, int64(transfer.DefaultCommitBytes+2*mib); lost > most {
		t.Errorf("the kill lost %d bytes served but not durable, want at most %d", lost, most)
	}
	// The rerun fetches what the journal lacked; 1 MiB covers its probe.
	if again > size-durable+mib {
		t.Errorf("the rerun fetched %d bytes; the journal lacked only %d", again, size-durable)
	}
}
