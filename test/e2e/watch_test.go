package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	testorigin "github.com/dragonload/dragonload/test/origin"
	"github.com/dragonload/dragonload/test/testkit"
)

// watchIP is the watching agent's address, for QUIC and for its own
// fetches from the origin (which shapes each source address on its own).
const watchIP = "127.0.0.2"

// TestWatchSlowWrite: a link file written in several slow writes yields
// exactly one download, and nothing shows under the final name before the
// file is whole and verified.
func TestWatchSlowWrite(t *testing.T) {
	const size, rate = 8 * mib, 4 * mib
	o := origin(t, testorigin.Config{Size: size, Seed: seed, RatePerSource: rate})
	home, dir := t.TempDir(), t.TempDir()
	writeSettings(t, home, 3)
	a := watchAgent(t, home, dir)
	waitWatching(t, a, dir)

	// Every prefix that ends at a line end is itself a valid link (saved
	// under the origin's name, without the size and sha256 checks): a
	// watcher that read the file early would start a wrong download.
	sum := testorigin.SumSHA256(seed, size)
	parts := []string{
		fmt.Sprintf("url = %q\n", o.URL()),
		"name = \"slow.bin\"\n",
		fmt.Sprintf("size = %d\n", size),
		fmt.Sprintf("sha256 = %q\n", sum),
	}
	f, err := os.Create(filepath.Join(dir, "slow.dragon"))
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range parts {
		if i > 0 {
			time.Sleep(100 * time.Millisecond) // under the 300 ms debounce
		}
		if _, err := f.WriteString(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	begin := time.Now()

	// Poll the folder every 2 ms until the link file has been moved away.
	final := filepath.Join(dir, "slow.bin")
	moved := filepath.Join(dir, ".dragonload", "done", "slow.dragon")
	var seenFinal time.Duration
	deadline := begin.Add(30 * time.Second)
	for {
		for _, name := range testkit.VisibleFiles(t, dir) {
			if name != "slow.dragon" && name != "slow.bin" {
				// Most likely a download of a half-written link.
				t.Fatalf("unexpected file %q appeared in the watched folder", name)
			}
		}
		if seenFinal == 0 {
			if fi, err := os.Stat(final); err == nil {
				seenFinal = time.Since(begin)
				if fi.Size() != size {
					t.Fatalf("slow.bin appeared with %d bytes of %d", fi.Size(), size)
				}
				if got := testkit.FileSHA256(t, final); got != sum {
					t.Fatalf("slow.bin appeared with sha256 %s, want %s", got, sum)
				}
			}
		}
		if _, err := os.Stat(moved); err == nil && seenFinal > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no finished download after 30 s; visible files %v", testkit.VisibleFiles(t, dir))
		}
		time.Sleep(2 * time.Millisecond)
	}
	elapsed := time.Since(begin)
	checkResults(t, dir, size, "slow.bin")
	log := waitLog(t, a, logMsg{"download added", 1}, logMsg{"download done", 1})
	if n := countMsg(log, "download added"); n != 1 {
		t.Errorf("%d downloads were started, want exactly 1", n)
	}
	if n := countMsg(log, "download done"); n != 1 {
		t.Errorf("%d downloads finished, want exactly 1", n)
	}
	st := watchState(t, dir)
	if len(st) != 1 || st[0].State != "done" || st[0].Final != final {
		t.Errorf("watch state %+v, want one link, done, final %s", st, final)
	}
	if served := o.BytesServed(); served > size+size/50 {
		t.Errorf("origin served %d bytes for a %d-byte file", served, size)
	}

	// The same link dropped in again is moved away, not downloaded twice.
	if err := os.WriteFile(filepath.Join(dir, "slow.dragon"), []byte(strings.Join(parts, "")), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the link dropped again to be moved away", func() bool {
		es, _ := os.ReadDir(filepath.Dir(moved))
		return len(es) == 2
	})
	checkResults(t, dir, size, "slow.bin")
	if n := countMsg(a.out.String(), "download added"); n != 1 {
		t.Errorf("the link dropped again started a download (%d in all, want 1)", n)
	}
	t.Logf("%d MiB at %d MiB/s: result visible after %v, link moved after %v", size/mib, rate/mib,
		seenFinal.Round(time.Millisecond), elapsed.Round(time.Millisecond))
}

// TestWatchManyLinks: 20 links dropped at once all complete, with never
// more downloads at a time than the configured cap. The cap (2) differs
// from the default (3), so a setting that is not read fails too.
func TestWatchManyLinks(t *testing.T) {
	const n, maxDownloads, size, rate = 20, 2, 1 * mib, 8 * mib
	o, peak := countingOrigin(t, testorigin.Config{Size: size, Seed: seed, RatePerSource: rate})
	home, dir := t.TempDir(), t.TempDir()
	writeSettings(t, home, maxDownloads)
	a := watchAgent(t, home, dir)
	waitWatching(t, a, dir)

	// One origin file under 20 URLs (the origin ignores the query) and 20
	// names: 20 distinct downloads.
	sum := testorigin.SumSHA256(seed, size)
	var want []string
	for i := range n {
		name := fmt.Sprintf("f%02d", i)
		want = append(want, name+".bin")
		text := linkText(fmt.Sprintf("%s?copy=%d", o, i), name+".bin", size, sum)
		if err := os.WriteFile(filepath.Join(dir, name+".dragon"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	begin := time.Now()
	doneDir := filepath.Join(dir, ".dragonload", "done")
	waitFor(t, 60*time.Second, "every link file moved to .dragonload/done", func() bool {
		es, _ := os.ReadDir(doneDir)
		return len(es) == n
	})
	elapsed := time.Since(begin)
	checkResults(t, dir, size, want...)

	// The agent logs a download's end from its event stream, which may run
	// behind the engine moving the link file away: wait for every line.
	states := downloadStates(waitLog(t, a, logMsg{"download done", n}))
	ids, done, most := map[string]bool{}, map[string]bool{}, maxRunning(states)
	for _, s := range states {
		ids[s.id] = true
		if s.state == "done" {
			done[s.id] = true
		}
	}
	if len(ids) != n || len(done) != n {
		t.Errorf("the log shows %d downloads and %d done, want %d and %d", len(ids), len(done), n, n)
	}
	if most != maxDownloads {
		t.Errorf("at most %d downloads ran at once by the agent's log, want exactly the cap %d", most, maxDownloads)
	}
	if p := peak(); p > maxDownloads {
		t.Errorf("the origin saw requests of %d downloads at once, cap %d", p, maxDownloads)
	}
	t.Logf("%d links of %d MiB at %d MiB/s: all done in %v; at most %d running by the log, %d at the origin",
		n, size/mib, rate/mib, elapsed.Round(time.Millisecond), most, peak())
}

// TestWatchBadLink: unusable links get their note within 2 s, a download
// that fails at the origin gets one too, none is retried, and the agent goes
// on to download a good link dropped afterwards.
func TestWatchBadLink(t *testing.T) {
	const size = 2 * mib
	o := origin(t, testorigin.Config{Size: size, Seed: seed, RatePerSource: 4 * mib})
	home, dir := t.TempDir(), t.TempDir()
	writeSettings(t, home, 3)
	a := watchAgent(t, home, dir)
	waitWatching(t, a, dir)

	missing := strings.TrimSuffix(o.URL(), "file.bin") + "missing.bin"
	tests := []struct {
		file, text, want string
		within           time.Duration
	}{
		{"sha.dragon", fmt.Sprintf("url = %q\nsha256 = \"123\"\n", o.URL()), "line 2: sha256 must be 64 hex digits", 2 * time.Second},
		// Notes say what kind of problem and where, never quoting the
		// file (a link file may be a symlink to someone's secrets).
		{"key.dragon", fmt.Sprintf("url = %q\nurll = \"x\"\n", o.URL()), "line 2: unknown key", 2 * time.Second},
		{"ftp.dragon", "ftp://127.0.0.1/x\n", "line 1: url is not a usable http or https URL", 2 * time.Second},
		{"junk.dragon", "\xff\xfe\x00\x01 not a link", "not UTF-8", 2 * time.Second},
		{"gone.dragon", linkText(missing, "gone.bin", 0, ""), "404", 10 * time.Second},
	}
	for _, tc := range tests {
		if err := os.WriteFile(filepath.Join(dir, tc.file), []byte(tc.text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	begin := time.Now()
	notes := make(map[string]string)
	for len(notes) < len(tests) && time.Since(begin) < 12*time.Second {
		for _, tc := range tests {
			if _, ok := notes[tc.file]; ok {
				continue
			}
			b, err := os.ReadFile(filepath.Join(dir, tc.file+".error.txt"))
			if err != nil {
				continue
			}
			notes[tc.file] = string(b)
			if took := time.Since(begin); took > tc.within {
				t.Errorf("%s: note after %v, want within %v", tc.file, took.Round(time.Millisecond), tc.within)
			} else {
				t.Logf("%s: note after %v: %q", tc.file, took.Round(time.Millisecond), strings.TrimSpace(string(b)))
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	for _, tc := range tests {
		note, ok := notes[tc.file]
		switch {
		case !ok:
			t.Errorf("%s: no %s.error.txt", tc.file, tc.file)
		case !strings.Contains(note, tc.want):
			t.Errorf("%s: note %q does not say %q", tc.file, note, tc.want)
		}
	}

	// The agent keeps working: a good link dropped now completes.
	good := linkText(o.URL(), "good.bin", size, testorigin.SumSHA256(seed, size))
	if err := os.WriteFile(filepath.Join(dir, "good.dragon"), []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "good.dragon moved to .dragonload/done", func() bool {
		_, err := os.Stat(filepath.Join(dir, ".dragonload", "done", "good.dragon"))
		return err == nil
	})
	select {
	case <-a.done:
		t.Fatal("the agent exited")
	default:
	}
	// Nothing bad was retried: each bad link is still there with its one
	// note, and was looked at once.
	var want []string
	for _, tc := range tests {
		want = append(want, tc.file, tc.file+".error.txt")
	}
	want = append(want, "good.bin")
	slices.Sort(want)
	if got := testkit.VisibleFiles(t, dir); !slices.Equal(got, want) {
		t.Errorf("watched folder holds %v, want %v", got, want)
	}
	log := waitLog(t, a, logMsg{"link file cannot be used", 4}, logMsg{"download added", 2})
	if n := countMsg(log, "link file cannot be used"); n != 4 {
		t.Errorf("unusable links were reported %d times, want 4 (once each)", n)
	}
	if n := countMsg(log, "download added"); n != 2 {
		t.Errorf("%d downloads were started, want 2 (gone.dragon once, good.dragon once)", n)
	}
	if fi, err := os.Stat(filepath.Join(dir, "good.bin")); err != nil || fi.Size() != size {
		t.Fatalf("good.bin: %v", err)
	}
	if got, want := testkit.FileSHA256(t, filepath.Join(dir, "good.bin")), testorigin.SumSHA256(seed, size); got != want {
		t.Errorf("good.bin sha256 %s, want %s", got, want)
	}
}

// TestWatchRestartResumes: an agent stopped mid-download (SIGTERM, or
// SIGKILL) and started again resumes the partial file instead of starting
// over, and makes one file, not two.
func TestWatchRestartResumes(t *testing.T) {
	for _, tc := range []struct {
		name string
		sig  syscall.Signal
	}{{"SIGTERM", syscall.SIGTERM}, {"SIGKILL", syscall.SIGKILL}} {
		t.Run(tc.name, func(t *testing.T) {
			const size, rate = 12 * mib, 4 * mib
			o := origin(t, testorigin.Config{Size: size, Seed: seed, RatePerSource: rate})
			home, dir := t.TempDir(), t.TempDir()
			writeSettings(t, home, 3)
			a := watchAgent(t, home, dir)
			waitWatching(t, a, dir)
			text := linkText(o.URL(), "big.bin", size, testorigin.SumSHA256(seed, size))
			if err := os.WriteFile(filepath.Join(dir, "big.dragon"), []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 30*time.Second, "40% of the file served", func() bool { return o.BytesServed() >= size*2/5 })
			if tc.sig == syscall.SIGKILL {
				a.kill()
			} else {
				a.signal(syscall.SIGTERM)
				if code := a.wait(15 * time.Second); code != 0 {
					t.Fatalf("agent exited %d after SIGTERM, want 0", code)
				}
			}
			atStop := o.BytesServed()
			durable := journalBytes(t, dir, "big.bin")
			t.Logf("stopped with %d bytes served, %d durable in the journal", atStop, durable)
			// A fresh start would fetch the whole size again; a resume
			// fetches at most what the journal lacks, which must then be
			// well under the size for the test to tell them apart.
			if durable < size/5 {
				t.Fatalf("only %d bytes durable at the stop: cannot tell a resume from a fresh start", durable)
			}
			if got := testkit.VisibleFiles(t, dir); !slices.Equal(got, []string{"big.dragon"}) {
				t.Fatalf("after the stop the folder shows %v, want only the link file", got)
			}

			b := watchAgent(t, home, dir)
			waitFor(t, 30*time.Second, "big.dragon moved to .dragonload/done", func() bool {
				_, err := os.Stat(filepath.Join(dir, ".dragonload", "done", "big.dragon"))
				return err == nil
			})
			after := o.BytesServed() - atStop
			// Each probe costs one byte ("Range: bytes=0-0").
			const probes = 4
			if after > size-durable+probes {
				t.Errorf("after the restart the origin served %d bytes; the journal lacked only %d (a fresh start is >= %d)",
					after, size-durable, size)
			}
			// A late duplicate would start within a debounce or two.
			time.Sleep(700 * time.Millisecond)
			checkResults(t, dir, size, "big.bin")
			// The download is logged (added, or restored from the engine's
			// list of downloads) before it resumes, on the same stream.
			log := waitLog(t, b, logMsg{"resuming", 1}, logMsg{"resuming link from an earlier run", 1})
			if n := countMsg(log, "download added") + countMsg(log, "download restored"); n != 1 {
				t.Errorf("the restarted agent started %d downloads, want 1", n)
			}
			if countMsg(log, "resuming") != 1 || countMsg(log, "resuming link from an earlier run") != 1 {
				t.Errorf("the restarted agent did not log resuming the link and its partial file:\n%s", log)
			}
			if st := watchState(t, dir); len(st) != 1 || st[0].State != "done" {
				t.Errorf("watch state %+v, want one link, done", st)
			}
			t.Logf("after the restart the origin served %d bytes (journal lacked %d, size %d)", after, size-durable, size)
		})
	}
}

// writeSettings writes home/config.toml before the agent first starts: the
// test room and the cap on downloads at once.
func writeSettings(t *testing.T, home string, maxDownloads int) {
	t.Helper()
	s := fmt.Sprintf("room = %q\nlending = true\nmax_downloads = %d\n", testRoom, maxDownloads)
	if err := os.WriteFile(filepath.Join(home, "config.toml"), []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

// watchAgent starts `dragonload agent --watch dir` with its state in home;
// finished files go to dir, the default for a watching agent.
func watchAgent(t *testing.T, home, dir string) *proc {
	t.Helper()
	return start(t, "watch agent", "agent", "--home", home, "--watch", dir, "--listen", freePort(t, watchIP),
		"--no-mdns", "--source", watchIP, "--allow-private-origins", "--log-level", "debug")
}

// waitWatching waits until the agent is up and its watcher holds the
// folder's lock. A link written before the watcher subscribes to change
// events is found all the same: its first scan of the folder follows the
// subscription.
func waitWatching(t *testing.T, p *proc, dir string) {
	t.Helper()
	waitFor(t, 15*time.Second, "the agent to watch "+dir, func() bool {
		_, err := os.Stat(filepath.Join(dir, ".dragonload", "lock"))
		return err == nil && strings.Contains(p.out.String(), "agent running")
	})
}

// logMsg is a log message and how many lines of it to wait for.
type logMsg struct {
	msg string
	n   int
}

// waitLog waits until p's log holds at least the given number of lines of
// each message, and returns the log. A running process's log is read
// through a pipe and may lag behind what the test saw happen on disk, so a
// check of the log first waits for the lines it expects; counts above
// those are then still caught by the check.
func waitLog(t *testing.T, p *proc, want ...logMsg) string {
	t.Helper()
	var log string
	waitFor(t, 15*time.Second, fmt.Sprintf("the log of %s to show %v", p.name, want), func() bool {
		log = p.out.String()
		for _, w := range want {
			if countMsg(log, w.msg) < w.n {
				return false
			}
		}
		return true
	})
	return log
}

// linkText is a .dragon file in the layout `dragonload link` writes.
func linkText(url, name string, size int64, sum string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "url = %q\nname = %q\n", url, name)
	if size > 0 {
		fmt.Fprintf(&b, "size = %d\n", size)
	}
	if sum != "" {
		fmt.Fprintf(&b, "sha256 = %q\n", sum)
	}
	return b.String()
}

// checkResults asserts that dir shows exactly the files names, each of the
// test content, and holds nothing else but the watcher's hidden folder: no
// link files, notes or partial files.
func checkResults(t *testing.T, dir string, size int64, names ...string) {
	t.Helper()
	want := slices.Sorted(slices.Values(names))
	if got := testkit.VisibleFiles(t, dir); !slices.Equal(got, want) {
		t.Fatalf("watched folder shows %v, want %v", got, want)
	}
	sum := testorigin.SumSHA256(seed, size)
	for _, name := range names {
		path := filepath.Join(dir, name)
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() != size {
			t.Errorf("%s is %d bytes, want %d", name, fi.Size(), size)
		} else if got := testkit.FileSHA256(t, path); got != sum {
			t.Errorf("%s has sha256 %s, want %s", name, got, sum)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") && e.Name() != ".dragonload" {
			t.Errorf("leftover hidden file %s in the watched folder", e.Name())
		}
	}
}

// watchRecord is one link of the watcher's state file (see core/watch).
type watchRecord struct {
	Name  string `json:"name"`
	State string `json:"state"`
	Final string `json:"final"`
}

func watchState(t *testing.T, dir string) []watchRecord {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, ".dragonload", "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Links map[string]watchRecord `json:"links"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatalf("watch state: %v", err)
	}
	var out []watchRecord
	for _, r := range st.Links {
		out = append(out, r)
	}
	return out
}

// journalBytes sums the "done OFF END" lines of the resume journal of the
// download of name into dir (format in core/store).
func journalBytes(t *testing.T, dir, name string) int64 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "."+name+".dlpart.journal"))
	if err != nil {
		t.Fatalf("resume journal: %v", err)
	}
	var n int64
	for _, line := range lines(string(b)) {
		f := strings.Fields(line)
		if len(f) != 3 || f[0] != "done" {
			continue
		}
		off, err1 := strconv.ParseInt(f[1], 10, 64)
		end, err2 := strconv.ParseInt(f[2], 10, 64)
		if err1 != nil || err2 != nil || end < off {
			t.Fatalf("resume journal: bad line %q", line)
		}
		n += end - off
	}
	return n
}

// countMsg counts the log lines whose message is exactly msg.
func countMsg(log, msg string) int {
	// slog's text handler quotes a message only when it needs quotes.
	forms := []string{" msg=" + strconv.Quote(msg), " msg=" + msg}
	n := 0
	for _, line := range lines(log) {
		for _, f := range forms {
			if strings.Contains(line+" ", f+" ") {
				n++
				break
			}
		}
	}
	return n
}

// stateLine is one download state change from the agent's log.
type stateLine struct{ id, state string }

// downloadStates reads the agent's `msg="download STATE" id=ID` lines in
// order (the engine delivers state changes in order).
func downloadStates(log string) []stateLine {
	var out []stateLine
	for _, line := range lines(log) {
		_, rest, ok := strings.Cut(line, ` msg="download `)
		if !ok {
			continue
		}
		state, rest, ok := strings.Cut(rest, `"`)
		if !ok || strings.Contains(state, " ") {
			continue
		}
		for _, f := range strings.Fields(rest) {
			if id, ok := strings.CutPrefix(f, "id="); ok {
				out = append(out, stateLine{id, state})
				break
			}
		}
	}
	return out
}

// maxRunning is the most downloads in a running state (probing, downloading,
// verifying) at once along the log.
func maxRunning(states []stateLine) int {
	running := make(map[string]bool)
	most := 0
	for _, s := range states {
		switch s.state {
		case "probing", "downloading", "verifying":
			running[s.id] = true
		case "queued", "paused", "done", "failed", "canceled":
			delete(running, s.id)
		}
		most = max(most, len(running))
	}
	return most
}

// countingOrigin runs the test origin behind a handler that tracks how many
// distinct downloads (told apart by the URL's query) have requests in
// flight at once. It returns the file's URL and the peak.
func countingOrigin(t *testing.T, cfg testorigin.Config) (url string, peak func() int) {
	t.Helper()
	o := testorigin.New(cfg)
	var mu sync.Mutex
	inflight, most := make(map[string]int), 0
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.URL.RawQuery
		mu.Lock()
		inflight[key]++
		most = max(most, len(inflight))
		mu.Unlock()
		defer func() {
			mu.Lock()
			if inflight[key]--; inflight[key] == 0 {
				delete(inflight, key)
			}
			mu.Unlock()
		}()
		o.ServeHTTP(w, r)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	name := cfg.Name
	if name == "" {
		name = "file.bin"
	}
	return "http://" + ln.Addr().String() + "/" + name, func() int {
		mu.Lock()
		defer mu.Unlock()
		return most
	}
}

// TestWatchSameURLTwoLinks: two link files naming the same URL under two
// names are two downloads, and both link files are answered.
func TestWatchSameURLTwoLinks(t *testing.T) {
	const size = 2 * mib
	o := origin(t, testorigin.Config{Size: size, Seed: seed, RatePerSource: 4 * mib})
	home, dir := t.TempDir(), t.TempDir()
	writeSettings(t, home, 3)
	a := watchAgent(t, home, dir)
	waitWatching(t, a, dir)
	sum := testorigin.SumSHA256(seed, size)
	for _, n := range []string{"a", "b"} {
		if err := os.WriteFile(filepath.Join(dir, n+".dragon"), []byte(linkText(o.URL(), n+".bin", size, sum)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 20*time.Second, "both links moved to done", func() bool {
		es, _ := os.ReadDir(filepath.Join(dir, ".dragonload", "done"))
		return len(es) == 2
	})
	checkResults(t, dir, size, "a.bin", "b.bin")
}
