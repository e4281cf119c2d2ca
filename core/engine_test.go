package core_test

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dragonload/dragonload/core"
	"github.com/dragonload/dragonload/core/link"
	testorigin "github.com/dragonload/dragonload/test/origin"
	"github.com/dragonload/dragonload/test/testkit"
)

const (
	mib  = 1 << 20
	seed = 3
	room = "test7-k3m9p-x7q2a-h4w8t"
)

// newEngine starts an engine on loopback with nothing from the LAN.
func newEngine(t *testing.T, mod func(*core.Config)) *core.Engine {
	t.Helper()
	e, err := core.New(engineConfig(t, mod))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func startOrigin(t *testing.T, cfg testorigin.Config) *testorigin.Server {
	t.Helper()
	s := testorigin.New(cfg)
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// finish waits for the download's final state.
func finish(t *testing.T, events <-chan core.Event, id core.DownloadID, timeout time.Duration) core.DownloadStateChanged {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case ev := <-events:
			if sc, ok := ev.(core.DownloadStateChanged); ok && sc.ID == id && sc.State.Final() {
				return sc
			}
		case <-deadline:
			t.Fatalf("download %s did not finish within %v", id, timeout)
		}
	}
}

// TestOriginQuirks: each misbehaving origin ends with the right bytes or a
// clear error, never wrong bytes under the final name.
func TestOriginQuirks(t *testing.T) {
	const size = 6 * mib
	tests := []struct {
		name    string
		quirks  testorigin.Quirks
		wantSum string // "" = the download must fail
		wantErr string
	}{
		{name: "well behaved", wantSum: testorigin.SumSHA256(seed, size)},
		{name: "no range support", quirks: testorigin.Quirks{NoRange: true}, wantSum: testorigin.SumSHA256(seed, size)},
		{name: "HEAD refused", quirks: testorigin.Quirks{HeadNotAllowed: true}, wantSum: testorigin.SumSHA256(seed, size)},
		{name: "wrong content-range", quirks: testorigin.Quirks{WrongContentRange: true}, wantSum: testorigin.SumSHA256(seed, size)},
		{name: "body cut short", quirks: testorigin.Quirks{CutAfter: 700 << 10}, wantSum: testorigin.SumSHA256(seed, size)},
		{name: "connection reset mid-body", quirks: testorigin.Quirks{ResetAfter: 900 << 10}, wantSum: testorigin.SumSHA256(seed, size)},
		// The first chunks (1 MiB each) are served as version 1 of the file;
		// every later request sees version 2: the engine must start over
		// and deliver version 2 whole, never a mix.
		{name: "etag change mid-download", quirks: testorigin.Quirks{ChangeETagAfter: 1 * mib}, wantSum: testorigin.SumSHA256(seed+1, size)},
		{name: "redirect chain", quirks: testorigin.Quirks{Redirects: 4}, wantSum: testorigin.SumSHA256(seed, size)},
		// Like a CDN link that expires minutes after the redirect: the
		// engine asks the original URL again and resumes.
		{name: "signed URL expires mid-download", quirks: testorigin.Quirks{Redirects: 1, SignedURLBytes: 2 * mib}, wantSum: testorigin.SumSHA256(seed, size)},
		// A single stream has nobody to hand a trickle to: it is given up
		// after a 30 s window below 1 KiB/s instead of hanging.
		{name: "no range support, trickling", quirks: testorigin.Quirks{NoRange: true, TrickleEvery: 1}, wantErr: "sent only"},
		{name: "404", quirks: testorigin.Quirks{Status: 404}, wantErr: "404"},
		{name: "403", quirks: testorigin.Quirks{Status: 403}, wantErr: "403"},
		{name: "503 with retry-after", quirks: testorigin.Quirks{UnavailableFirst: 2, RetryAfter: time.Second}, wantSum: testorigin.SumSHA256(seed, size)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := startOrigin(t, testorigin.Config{Size: size, Seed: seed, RatePerSource: 16 * mib})
			o.SetQuirks(tc.quirks)
			e := newEngine(t, nil)
			events, cancel := e.Subscribe()
			defer cancel()
			begin := time.Now()
			id, err := e.Add(o.URL(), "")
			if err != nil {
				t.Fatal(err)
			}
			end := finish(t, events, id, time.Minute)
			names := testkit.VisibleFiles(t, e.OutDir())
			if tc.wantSum == "" {
				if end.State != core.StateFailed || end.Err == nil || !strings.Contains(end.Err.Error(), tc.wantErr) {
					t.Fatalf("got %v (%v), want failure mentioning %q", end.State, end.Err, tc.wantErr)
				}
				if len(names) != 0 {
					t.Fatalf("files under a final name after a failure: %v", names)
				}
				return
			}
			if end.State != core.StateDone {
				t.Fatalf("got %v: %v", end.State, end.Err)
			}
			if len(names) != 1 || filepath.Join(e.OutDir(), names[0]) != end.Path {
				t.Fatalf("want exactly the result %s in the folder, got %v", end.Path, names)
			}
			if got := testkit.FileSHA256(t, end.Path); got != tc.wantSum {
				t.Fatalf("wrong bytes under the final name: sha256 %s, want %s", got, tc.wantSum)
			}
			if tc.quirks.UnavailableFirst > 0 && time.Since(begin) < tc.quirks.RetryAfter {
				t.Errorf("finished in %v: Retry-After %v was not honoured", time.Since(begin), tc.quirks.RetryAfter)
			}
		})
	}
}

// TestPoolWithLenders: lenders in the same room take part; one in another
// room is never used.
func TestPoolWithLenders(t *testing.T) {
	const size = 24 * mib
	o := startOrigin(t, testorigin.Config{Size: size, Seed: seed, RatePerSource: 6 * mib})
	on := true
	var addrs []string
	for i, r := range []string{room, room, "another-room-x7q2a-h4w8t"} {
		src := []string{"127.0.0.11", "127.0.0.12", "127.0.0.13"}[i]
		l := newEngine(t, func(c *core.Config) {
			c.Room, c.Lending, c.Listen = r, &on, src+":0"
			c.Source = parseIP(src)
		})
		addrs = append(addrs, l.Addr())
	}
	e := newEngine(t, func(c *core.Config) { c.Peers = addrs; c.Source = parseIP("127.0.0.10") })
	events, cancel := e.Subscribe()
	defer cancel()
	id, err := e.Add(o.URL(), "")
	if err != nil {
		t.Fatal(err)
	}
	end := finish(t, events, id, time.Minute)
	if end.State != core.StateDone {
		t.Fatalf("got %v: %v", end.State, end.Err)
	}
	if got := testkit.FileSHA256(t, end.Path); got != testorigin.SumSHA256(seed, size) {
		t.Fatal("wrong bytes")
	}
	by := o.BytesBySource()
	if by["127.0.0.11"] == 0 || by["127.0.0.12"] == 0 {
		t.Errorf("a same-room lender did not take part: %v", by)
	}
	if by["127.0.0.13"] != 0 {
		t.Errorf("the lender of another room fetched %d bytes", by["127.0.0.13"])
	}
	snap := e.Downloads()[0]
	var fromPeers int64
	for _, s := range snap.Peers {
		if s.Peer != core.SelfPeer {
			fromPeers += s.Bytes
		}
	}
	if fromPeers == 0 {
		t.Errorf("per-peer statistics show no peer share: %+v", snap.Peers)
	}
	var landed int64
	for _, c := range snap.Chunks {
		landed += c.Length
	}
	if landed != size {
		t.Errorf("chunk map covers %d bytes, want %d", landed, size)
	}
}

// TestNeverOverwrites: an existing file keeps its bytes; the download gets
// a new name.
func TestNeverOverwrites(t *testing.T) {
	o := startOrigin(t, testorigin.Config{Size: 2 * mib, Seed: seed, Name: "data.bin"})
	e := newEngine(t, nil)
	existing := filepath.Join(e.OutDir(), "data.bin")
	if err := os.WriteFile(existing, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	events, cancel := e.Subscribe()
	defer cancel()
	id, err := e.Add(o.URL(), "")
	if err != nil {
		t.Fatal(err)
	}
	end := finish(t, events, id, time.Minute)
	if end.State != core.StateDone {
		t.Fatalf("got %v: %v", end.State, end.Err)
	}
	if b, _ := os.ReadFile(existing); string(b) != "mine" {
		t.Fatal("the existing file was overwritten")
	}
	if end.Path == existing || !strings.HasPrefix(filepath.Base(end.Path), "data") {
		t.Fatalf("unexpected result path %s", end.Path)
	}
}

// TestChecksumMismatch: a link whose sha256 does not match fails the
// verification and leaves nothing under the final name.
func TestChecksumMismatch(t *testing.T) {
	o := startOrigin(t, testorigin.Config{Size: 2 * mib, Seed: seed})
	e := newEngine(t, nil)
	events, cancel := e.Subscribe()
	defer cancel()
	id, err := e.AddLink(link.Link{URL: o.URL(), SHA256: strings.Repeat("ab", 32)}, "")
	if err != nil {
		t.Fatal(err)
	}
	end := finish(t, events, id, time.Minute)
	if end.State != core.StateFailed || !strings.Contains(strings.ToLower(end.Err.Error()), "sha") {
		t.Fatalf("got %v (%v), want a checksum failure", end.State, end.Err)
	}
	if names := testkit.VisibleFiles(t, e.OutDir()); len(names) != 0 {
		t.Fatalf("files under a final name: %v", names)
	}
}

// TestPauseResumeCancel drives the command API.
func TestPauseResumeCancel(t *testing.T) {
	const size = 8 * mib
	o := startOrigin(t, testorigin.Config{Size: size, Seed: seed, RatePerSource: 2 * mib})
	e := newEngine(t, nil)
	events, cancel := e.Subscribe()
	defer cancel()
	id, err := e.Add(o.URL(), "")
	if err != nil {
		t.Fatal(err)
	}
	waitState(t, events, id, core.StateDownloading)
	if err := e.Pause(id); err != nil {
		t.Fatal(err)
	}
	waitState(t, events, id, core.StatePaused)
	served := o.BytesServed()
	time.Sleep(300 * time.Millisecond)
	if o.BytesServed() > served+256<<10 {
		t.Errorf("still fetching while paused: %d -> %d", served, o.BytesServed())
	}
	if err := e.Resume(id); err != nil {
		t.Fatal(err)
	}
	waitState(t, events, id, core.StateDownloading)
	if err := e.Cancel(id); err != nil {
		t.Fatal(err)
	}
	waitState(t, events, id, core.StateCanceled)
	entries, _ := os.ReadDir(e.OutDir())
	if len(entries) != 0 {
		t.Errorf("cancel left files behind: %v", entries)
	}
}

// TestResumeAfterRestart: an engine closed mid-download leaves a partial
// file; a new engine on the same folders finishes it without fetching the
// recorded bytes again.
func TestResumeAfterRestart(t *testing.T) {
	const size = 12 * mib
	o := startOrigin(t, testorigin.Config{Size: size, Seed: seed, RatePerSource: 4 * mib})
	home, out := t.TempDir(), t.TempDir()
	mod := func(c *core.Config) { c.Home, c.OutDir = home, out }
	first, err := core.New(engineConfig(t, mod))
	if err != nil {
		t.Fatal(err)
	}
	events, cancel := first.Subscribe()
	if _, err := first.Add(o.URL(), ""); err != nil {
		t.Fatal(err)
	}
	var landed int64
	deadline := time.After(time.Minute)
	for landed < size/3 {
		select {
		case ev := <-events:
			if c, ok := ev.(core.ChunkLanded); ok {
				landed += c.Length
			}
		case <-deadline:
			t.Fatal("no progress")
		}
	}
	cancel()
	first.Close()
	// The second engine fetches from an address of its own, so bytes the
	// first one's connections were still being sent as it closed are not
	// counted against the restart.
	second := newEngine(t, func(c *core.Config) { mod(c); c.Source = parseIP("127.0.0.5") })
	events2, cancel2 := second.Subscribe()
	defer cancel2()
	id, err := second.Add(o.URL(), "")
	if err != nil {
		t.Fatal(err)
	}
	end := finish(t, events2, id, time.Minute)
	if end.State != core.StateDone {
		t.Fatalf("got %v: %v", end.State, end.Err)
	}
	if testkit.FileSHA256(t, end.Path) != testorigin.SumSHA256(seed, size) {
		t.Fatal("wrong bytes after resume")
	}
	// The probe reads one byte (Range: bytes=0-0) to confirm range support.
	if again := o.BytesBySource()["127.0.0.5"]; again > size-landed+1 {
		t.Errorf("second run fetched %d bytes; only %d were missing from the journal (+1 for the probe)", again, size-landed)
	}
}

func waitState(t *testing.T, events <-chan core.Event, id core.DownloadID, want core.State) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case ev := <-events:
			if sc, ok := ev.(core.DownloadStateChanged); ok && sc.ID == id {
				if sc.State == want {
					return
				}
				if sc.State.Final() {
					t.Fatalf("reached %v (%v) waiting for %v", sc.State, sc.Err, want)
				}
			}
		case <-deadline:
			t.Fatalf("timed out waiting for %v", want)
		}
	}
}

func engineConfig(t *testing.T, mod func(*core.Config)) core.Config {
	off := false
	cfg := core.Config{
		Home: t.TempDir(), Room: room, Listen: "127.0.0.1:0", NoMDNS: true,
		AllowPrivate: true, OutDir: t.TempDir(), Lending: &off,
	}
	if mod != nil {
		mod(&cfg)
	}
	return cfg
}

func parseIP(s string) net.IP { return net.ParseIP(s) }

// TestRoomJoinIsRemembered: the first start creates a room; a start with
// --room joins another and the next plain start stays in it.
func TestRoomJoinIsRemembered(t *testing.T) {
	home := t.TempDir()
	start := func(room string) *core.Engine {
		e, err := core.New(engineConfig(t, func(c *core.Config) { c.Home, c.Room = home, room }))
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		return e
	}
	first := start("")
	if !first.FirstRun() || first.RoomCode() == "" {
		t.Fatalf("first start: firstRun %v, room %q", first.FirstRun(), first.RoomCode())
	}
	if again := start(""); again.FirstRun() || again.RoomCode() != first.RoomCode() {
		t.Fatalf("second start: firstRun %v, room %q, want %q", again.FirstRun(), again.RoomCode(), first.RoomCode())
	}
	start("joined-k3m9p-x7q2a-h4w8t")
	if after := start(""); after.RoomCode() != "joined-k3m9p-x7q2a-h4w8t" {
		t.Fatalf("after joining, room %q", after.RoomCode())
	}
}
