package e2e

import (
	"bufio"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	testorigin "github.com/dragonload/dragonload/test/origin"
	"github.com/dragonload/dragonload/test/testkit"
)

const (
	mib  = 1 << 20
	seed = 7
)

// TestPooledDownload: a requester and three lenders, each shaped by the
// origin to R bytes/s on its own source address, share the work; the file
// is correct and the origin served little more than its size.
func TestPooledDownload(t *testing.T) {
	const size, rate = 32 * mib, 4 * mib
	o := origin(t, testorigin.Config{Size: size, Seed: seed, RatePerSource: rate})
	var peers []string
	for _, ip := range []string{"127.0.0.3", "127.0.0.4", "127.0.0.5"} {
		_, addr := agent(t, ip, testRoom)
		peers = append(peers, addr)
	}
	out := t.TempDir()
	begin := time.Now()
	get := start(t, "get", getArgs(t.TempDir(), out, "127.0.0.2", o.URL(), peers)...)
	if code := get.wait(2 * time.Minute); code != 0 {
		t.Fatalf("get exited %d", code)
	}
	elapsed := time.Since(begin)
	checkFile(t, out, size)
	by := o.BytesBySource()
	for _, ip := range []string{"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"} {
		if by[ip] == 0 {
			t.Errorf("participant %s fetched nothing from the origin: %v", ip, by)
		}
	}
	if served := o.BytesServed(); served > size*102/100 {
		t.Errorf("origin served %d bytes for a %d-byte file (> 1.02x)", served, size)
	}
	t.Logf("32 MiB with 4 participants at 4 MiB/s each: %v (ideal %v); origin bytes by source %v",
		elapsed.Round(10*time.Millisecond), time.Duration(float64(size)/float64(4*rate)*float64(time.Second)), by)
}

// TestLenderKilled: a lender SIGKILLed half way does not lose bytes or stall
// the download.
func TestLenderKilled(t *testing.T) {
	const size, rate = 32 * mib, 3 * mib
	o := origin(t, testorigin.Config{Size: size, Seed: seed, RatePerSource: rate})
	victim, vaddr := agent(t, "127.0.0.3", testRoom)
	_, addr2 := agent(t, "127.0.0.4", testRoom)
	out, events := t.TempDir(), filepath.Join(t.TempDir(), "events.jsonl")
	get := start(t, "get", getArgs(t.TempDir(), out, "127.0.0.2", o.URL(), []string{vaddr, addr2}, "--events", events)...)
	waitFor(t, time.Minute, "half the file served", func() bool { return o.BytesServed() >= size/2 })
	if o.BytesBySource()["127.0.0.3"] == 0 {
		t.Fatal("the lender to be killed had not taken part yet")
	}
	victim.kill()
	if code := get.wait(2 * time.Minute); code != 0 {
		t.Fatalf("get exited %d", code)
	}
	checkFile(t, out, size)
	if gap := longestStall(t, events); gap > 5*time.Second {
		t.Errorf("progress stalled for %v after the lender was killed", gap)
	}
}

// TestRequesterKilledResumes: the requester SIGKILLed at ~30% and ~80% and
// restarted with the same command finishes the file, fetching again only
// what was in flight at each kill.
func TestRequesterKilledResumes(t *testing.T) {
	const size, rate = 32 * mib, 2 * mib
	o := origin(t, testorigin.Config{Size: size, Seed: seed, RatePerSource: rate})
	_, a1 := agent(t, "127.0.0.3", testRoom)
	_, a2 := agent(t, "127.0.0.4", testRoom)
	home, out := t.TempDir(), t.TempDir()
	// The bytes of requests in flight at a kill (asked for, not yet in the
	// journal) may be fetched twice; nothing else may.
	var allowance int64
	for i, frac := range []float64{0.3, 0.8} {
		events := filepath.Join(t.TempDir(), "events.jsonl")
		get := start(t, "get", getArgs(home, out, "127.0.0.2", o.URL(), []string{a1, a2}, "--events", events)...)
		target := int64(frac * size)
		waitFor(t, time.Minute, "progress before the kill", func() bool { return o.BytesServed() >= target })
		get.kill()
		requested, landed := requestedBytes(get.out.String()), landedBytes(t, events)
		if landed == 0 || requested < landed {
			t.Fatalf("kill %d: %d bytes durable of %d requested", i+1, landed, requested)
		}
		allowance += requested - landed
		t.Logf("kill %d at %.0f%%: %d bytes requested this run, %d durable, %d in flight", i+1, frac*100, requested, landed, requested-landed)
		if names := testkit.VisibleFiles(t, out); len(names) != 0 {
			t.Fatalf("a file appeared under its final name before completion: %v", names)
		}
	}
	get := start(t, "get", getArgs(home, out, "127.0.0.2", o.URL(), []string{a1, a2})...)
	if code := get.wait(2 * time.Minute); code != 0 {
		t.Fatalf("final get exited %d", code)
	}
	checkFile(t, out, size)
	if total := o.BytesServed(); total > size+allowance {
		t.Errorf("origin served %d bytes in all; at most %d (size + in flight at kills) allowed", total, size+allowance)
	}
}

// TestWrongRoomRefused: an agent of another room is refused and serves
// nothing; the download goes on without it.
func TestWrongRoomRefused(t *testing.T) {
	const size = 8 * mib
	o := origin(t, testorigin.Config{Size: size, Seed: seed, RatePerSource: 4 * mib})
	stranger, saddr := agent(t, "127.0.0.6", "other-room-9x7q2-h4w8t-k3m9p")
	_, addr := agent(t, "127.0.0.3", testRoom)
	out := t.TempDir()
	get := start(t, "get", getArgs(t.TempDir(), out, "127.0.0.2", o.URL(), []string{saddr, addr})...)
	if code := get.wait(time.Minute); code != 0 {
		t.Fatalf("get exited %d", code)
	}
	checkFile(t, out, size)
	if n := o.BytesBySource()["127.0.0.6"]; n != 0 {
		t.Errorf("the agent of another room fetched %d bytes", n)
	}
	if !strings.Contains(get.out.String(), "not in this room") {
		t.Errorf("the requester did not log the room mismatch:\n%s", get.out.String())
	}
	// The stranger is still running: its log may lag behind the requester's exit.
	testkit.WaitFor(t, 15*time.Second, 20*time.Millisecond, "the stranger to log refusing the requester", func() bool {
		return strings.Contains(stranger.out.String(), "room proof failed")
	})
}

// TestGarbagePeer: a "peer" answering every packet with junk is dropped and
// the download goes on.
func TestGarbagePeer(t *testing.T) {
	const size = 8 * mib
	o := origin(t, testorigin.Config{Size: size, Seed: seed, RatePerSource: 4 * mib})
	junk, err := net.ListenPacket("udp", "127.0.0.7:0")
	if err != nil {
		t.Fatal(err)
	}
	defer junk.Close()
	go func() {
		buf := make([]byte, 2048)
		for i := 0; i < 10000; i++ {
			n, from, err := junk.ReadFrom(buf)
			if err != nil {
				return
			}
			for j := range buf[:n] {
				buf[j] ^= 0x5a
			}
			junk.WriteTo(buf[:n], from)
		}
	}()
	_, addr := agent(t, "127.0.0.3", testRoom)
	out := t.TempDir()
	get := start(t, "get", getArgs(t.TempDir(), out, "127.0.0.2", o.URL(), []string{junk.LocalAddr().String(), addr})...)
	if code := get.wait(time.Minute); code != 0 {
		t.Fatalf("get exited %d", code)
	}
	checkFile(t, out, size)
	if o.BytesBySource()["127.0.0.3"] == 0 {
		t.Errorf("the good peer was not used: %v", o.BytesBySource())
	}
}

// TestLenderRefusesPrivateOrigin: without --allow-private-origins a lender
// refuses to fetch from a loopback origin; the requester finishes alone.
func TestLenderRefusesPrivateOrigin(t *testing.T) {
	const size = 8 * mib
	o := origin(t, testorigin.Config{Size: size, Seed: seed, RatePerSource: 2 * mib})
	addr := freePort(t, "127.0.0.3")
	lender := start(t, "strict agent", "agent", "--home", t.TempDir(), "--room", testRoom, "--listen", addr,
		"--no-mdns", "--source", "127.0.0.3", "--log-level", "debug")
	out := t.TempDir()
	get := start(t, "get", getArgs(t.TempDir(), out, "127.0.0.2", o.URL(), []string{addr})...)
	if code := get.wait(time.Minute); code != 0 {
		t.Fatalf("get exited %d", code)
	}
	checkFile(t, out, size)
	if n := o.BytesBySource()["127.0.0.3"]; n != 0 {
		t.Errorf("the strict lender fetched %d bytes from a loopback origin", n)
	}
	testkit.WaitFor(t, 15*time.Second, 20*time.Millisecond, "someone to say why the lender refused", func() bool {
		return strings.Contains(get.out.String()+lender.out.String(), "loopback")
	})
}

// TestBadInput: malformed sources exit 2 with one clear sentence.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.dragon")
	if err := os.WriteFile(bad, []byte("url = \"https://example.org/x\"\nsha256 = \"123\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, source, want string }{
		{"ftp url", "ftp://example.org/x", "ftp"},
		{"not a url", "no such thing", "neither"},
		{"bad link file", bad, "sha256"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := start(t, "get", "get", tc.source, "--home", t.TempDir(), "--no-mdns", "--out", t.TempDir())
			if code := p.wait(30 * time.Second); code != 2 {
				t.Fatalf("exit %d, want 2; output:\n%s", code, p.out.String())
			}
			if !strings.Contains(p.out.String(), tc.want) {
				t.Errorf("output does not mention %q:\n%s", tc.want, p.out.String())
			}
		})
	}
}

// TestQuietUnderCLocale: with the POSIX locale of containers and CI, a
// subcommand prints its output and nothing else (no toolkit noise).
func TestQuietUnderCLocale(t *testing.T) {
	for _, env := range []string{"LANG=C", "LC_ALL=POSIX"} {
		cmd := exec.Command(binary, "link", "https://example.org/x.iso")
		cmd.Env = append(os.Environ(), env)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: %v: %s", env, err, stderr.String())
		}
		if stderr.Len() != 0 || !strings.HasPrefix(string(out), "url = ") {
			t.Errorf("%s: stdout %q, stderr %q", env, out, stderr.String())
		}
	}
}

// TestInterruptKeepsPartial: SIGINT exits 130 and leaves the partial file.
func TestInterruptKeepsPartial(t *testing.T) {
	o := origin(t, testorigin.Config{Size: 16 * mib, Seed: seed, RatePerSource: 2 * mib})
	out := t.TempDir()
	get := start(t, "get", getArgs(t.TempDir(), out, "127.0.0.2", o.URL(), nil)...)
	waitFor(t, 30*time.Second, "some bytes served", func() bool { return o.BytesServed() > 2*mib })
	get.signal(syscall.SIGINT)
	if code := get.wait(30 * time.Second); code != 130 {
		t.Fatalf("exit %d after SIGINT, want 130", code)
	}
	if !strings.Contains(get.out.String(), "resume") {
		t.Errorf("no resume hint:\n%s", get.out.String())
	}
	if names := testkit.VisibleFiles(t, out); len(names) != 0 {
		t.Errorf("visible files after interrupt: %v", names)
	}
}

// checkFile asserts that out holds exactly one visible file, of the test
// content, and nothing else.
func checkFile(t *testing.T, out string, size int64) {
	t.Helper()
	names := testkit.VisibleFiles(t, out)
	if len(names) != 1 {
		t.Fatalf("want exactly one file in %s, got %v", out, names)
	}
	path := filepath.Join(out, names[0])
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() != size {
		t.Fatalf("%s is %d bytes, want %d", names[0], fi.Size(), size)
	}
	if got, want := testkit.FileSHA256(t, path), testorigin.SumSHA256(seed, size); got != want {
		t.Fatalf("sha256 %s, want %s", got, want)
	}
	entries, _ := os.ReadDir(out)
	if len(entries) != 1 {
		t.Errorf("leftover files beside the result: %v", entries)
	}
}

type eventLine struct {
	T      time.Time `json:"t"`
	Type   string    `json:"type"`
	Done   int64
	Length int64
}

func readEvents(t *testing.T, path string) []eventLine {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var evs []eventLine
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var ev eventLine
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			continue // the last line may be torn by SIGKILL
		}
		evs = append(evs, ev)
	}
	return evs
}

// landedBytes sums the ChunkLanded events: bytes the journal recorded.
func landedBytes(t *testing.T, path string) int64 {
	var n int64
	for _, ev := range readEvents(t, path) {
		if ev.Type == "ChunkLanded" {
			n += ev.Length
		}
	}
	return n
}

// requestedBytes sums the requests a requester logged (at debug level).
func requestedBytes(log string) int64 {
	var n int64
	for _, line := range lines(log) {
		if !strings.Contains(line, "msg=request ") {
			continue
		}
		for _, f := range strings.Fields(line) {
			if v, ok := strings.CutPrefix(f, "len="); ok {
				k, _ := strconv.ParseInt(v, 10, 64)
				n += k
			}
		}
	}
	return n
}

// longestStall is the longest time between two progress events that moved.
func longestStall(t *testing.T, path string) time.Duration {
	var last time.Time
	var lastDone int64
	var worst time.Duration
	for _, ev := range readEvents(t, path) {
		if ev.Type != "DownloadProgress" || ev.Done <= lastDone {
			continue
		}
		if !last.IsZero() && ev.T.Sub(last) > worst {
			worst = ev.T.Sub(last)
		}
		last, lastDone = ev.T, ev.Done
	}
	return worst
}
