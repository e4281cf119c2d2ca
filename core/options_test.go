package core_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dragonload/dragonload/core"
	"github.com/dragonload/dragonload/core/config"
	testorigin "github.com/dragonload/dragonload/test/origin"
	"github.com/dragonload/dragonload/test/testkit"
)

// download adds url to e and waits for its final state.
func download(t *testing.T, e *core.Engine, url string) (core.DownloadStateChanged, time.Duration) {
	t.Helper()
	events, cancel := e.Subscribe()
	defer cancel()
	begin := time.Now()
	id, err := e.Add(url, "")
	if err != nil {
		t.Fatal(err)
	}
	end := finish(t, events, id, time.Minute)
	return end, time.Since(begin)
}

// restart closes e and starts another engine on the same home folder,
// with mod applied to a fresh test configuration.
func restart(t *testing.T, e *core.Engine, mod func(*core.Config)) *core.Engine {
	t.Helper()
	home := e.Home()
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	return newEngine(t, func(c *core.Config) {
		c.Home = home
		if mod != nil {
			mod(c)
		}
	})
}

func guarded(c *core.Config) { c.AllowPrivate = false }

// TestAllowPrivateSetting: without the setting a download from a loopback
// origin is refused with a message that names the setting; once it is on,
// the same engine fetches from that origin, and an engine started later
// on the same home still does. Turning it off refuses again.
func TestAllowPrivateSetting(t *testing.T) {
	o := startOrigin(t, testorigin.Config{Size: mib, Seed: seed})
	e := newEngine(t, guarded)
	if e.AllowPrivate() {
		t.Fatal("a fresh engine without the flag allows private origins")
	}
	end, _ := download(t, e, o.URL())
	if end.State != core.StateFailed || end.Err == nil || !strings.Contains(end.Err.Error(), `"Allow downloads from this LAN and this machine" in the app's Settings`) {
		t.Fatalf("guarded download: %v (%v), want a refusal naming the setting", end.State, end.Err)
	}

	e.SetAllowPrivate(true)
	if !e.AllowPrivate() {
		t.Fatal("AllowPrivate() = false after SetAllowPrivate(true)")
	}
	if end, _ := download(t, e, o.URL()); end.State != core.StateDone {
		t.Fatalf("after SetAllowPrivate(true): %v (%v)", end.State, end.Err)
	}

	e = restart(t, e, guarded)
	if !e.AllowPrivate() {
		t.Fatal("the setting was not read back by the next engine")
	}
	if end, _ := download(t, e, o.URL()); end.State != core.StateDone {
		t.Fatalf("after a restart with the setting on: %v (%v)", end.State, end.Err)
	}

	e.SetAllowPrivate(false)
	if end, _ := download(t, e, o.URL()); end.State != core.StateFailed {
		t.Fatalf("after SetAllowPrivate(false): %v, want a refusal", end.State)
	}
	if e = restart(t, e, guarded); e.AllowPrivate() {
		t.Fatal("turning the setting off was not saved")
	}
}

// TestAllowPrivateFlagNotSaved: --allow-private-origins (Config.AllowPrivate)
// opens private origins for its run only: turning the setting off cannot
// close them while it holds, and nothing of it reaches the settings file.
func TestAllowPrivateFlagNotSaved(t *testing.T) {
	o := startOrigin(t, testorigin.Config{Size: mib, Seed: seed})
	e := newEngine(t, nil) // the test configuration sets the flag
	if !e.AllowPrivate() {
		t.Fatal("the flag does not allow private origins")
	}
	e.SetAllowPrivate(false)
	if !e.AllowPrivate() {
		t.Fatal("SetAllowPrivate(false) overrode the flag for this run")
	}
	if end, _ := download(t, e, o.URL()); end.State != core.StateDone {
		t.Fatalf("with the flag: %v (%v)", end.State, end.Err)
	}
	data, err := os.ReadFile(filepath.Join(e.Home(), config.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "allow_private_origins") {
		t.Errorf("the flag reached the settings file:\n%s", data)
	}
	if e = restart(t, e, guarded); e.AllowPrivate() {
		t.Fatal("the flag of the last run still allows private origins")
	}
}

// TestAllowPrivateNotForLenders: the setting opens this node's own
// downloads only. A lender that has it on, but not the flag, refuses a
// room peer's request for a loopback origin, while a lender started with
// the flag serves it: room members cannot use the setting to reach into
// the lender's network.
func TestAllowPrivateNotForLenders(t *testing.T) {
	const size = 16 * mib
	o := startOrigin(t, testorigin.Config{Size: size, Seed: seed, RatePerSource: 4 * mib})
	on := true
	lender := func(src string, flag bool) *core.Engine {
		return newEngine(t, func(c *core.Config) {
			c.Lending, c.Listen, c.Source, c.AllowPrivate = &on, src+":0", parseIP(src), flag
		})
	}
	withSetting := lender("127.0.0.31", false)
	withSetting.SetAllowPrivate(true)
	withFlag := lender("127.0.0.32", true)
	e := newEngine(t, func(c *core.Config) {
		c.Peers = []string{withSetting.Addr(), withFlag.Addr()}
		c.Source = parseIP("127.0.0.30")
	})
	deadline := time.Now().Add(30 * time.Second)
	for ready := 0; ready < 2; {
		if time.Now().After(deadline) {
			t.Fatalf("lenders not ready: %+v", e.Peers())
		}
		time.Sleep(50 * time.Millisecond)
		ready = 0
		for _, p := range e.Peers() {
			if p.Ready && p.Lending {
				ready++
			}
		}
	}
	end, _ := download(t, e, o.URL())
	if end.State != core.StateDone {
		t.Fatalf("got %v: %v", end.State, end.Err)
	}
	if got := testkit.FileSHA256(t, end.Path); got != testorigin.SumSHA256(seed, size) {
		t.Fatal("wrong bytes")
	}
	by := o.BytesBySource()
	if by["127.0.0.32"] == 0 {
		t.Errorf("the lender with the flag did not take part (%v): the test proves nothing", by)
	}
	if by["127.0.0.31"] != 0 {
		t.Errorf("the lender with only the setting fetched %d bytes from a loopback origin for a peer", by["127.0.0.31"])
	}
}

// TestDownloadRateLimit: the download speed limit holds a real download
// from a loopback origin: 4 MB at 2 MB/s take at least 1.5 s, and once
// SetLimits lifts the limit the same download on the same engine takes
// well under that. The limit is saved and read back by the next engine.
func TestDownloadRateLimit(t *testing.T) {
	const size = 4_000_000
	o := startOrigin(t, testorigin.Config{Size: size, Seed: seed})
	e := newEngine(t, nil)
	e.SetLimits(core.Limits{DownloadRate: 2_000_000})
	if got := e.Limits().DownloadRate; got != 2_000_000 {
		t.Fatalf("Limits().DownloadRate = %d after SetLimits", got)
	}
	end, limited := download(t, e, o.URL())
	if end.State != core.StateDone {
		t.Fatalf("limited: %v (%v)", end.State, end.Err)
	}
	if got := testkit.FileSHA256(t, end.Path); got != testorigin.SumSHA256(seed, size) {
		t.Fatal("wrong bytes under the limit")
	}

	e = restart(t, e, nil)
	if got := e.Limits().DownloadRate; got != 2_000_000 {
		t.Fatalf("the next engine reads DownloadRate %d, want 2000000", got)
	}
	e.SetLimits(core.Limits{DownloadRate: core.NoRateCap})
	if got := e.Limits().DownloadRate; got != 0 {
		t.Fatalf("NoRateCap left DownloadRate %d", got)
	}
	end, free := download(t, e, o.URL())
	if end.State != core.StateDone {
		t.Fatalf("unlimited: %v (%v)", end.State, end.Err)
	}
	t.Logf("4 MB at 2 MB/s: %s; without a limit: %s", limited, free)
	if limited < 1500*time.Millisecond {
		t.Errorf("4 MB under a 2 MB/s limit took only %s", limited)
	}
	// Loopback moves 4 MB in milliseconds; only a machine stalled for
	// seconds would take as long as the limit does.
	if free >= limited {
		t.Errorf("without the limit the download took %s, as long as the limited %s", free, limited)
	}
	if e = restart(t, e, nil); e.Limits().DownloadRate != 0 {
		t.Errorf("lifting the limit was not saved: %d", e.Limits().DownloadRate)
	}
}

// TestFrontEndSettings: the theme and the RPC switch are kept in the
// settings file for the app; a bad theme is refused and changes nothing.
func TestFrontEndSettings(t *testing.T) {
	e := newEngine(t, nil)
	if e.Theme() != config.ThemeSystem || e.RPCEnabled() {
		t.Fatalf("fresh engine: theme %q, rpc %v", e.Theme(), e.RPCEnabled())
	}
	if err := e.SetTheme(config.ThemeDark); err != nil {
		t.Fatal(err)
	}
	if err := e.SetTheme("blue"); err == nil {
		t.Error("SetTheme(blue) succeeded")
	}
	e.SetRPCEnabled(true)
	e = restart(t, e, nil)
	if e.Theme() != config.ThemeDark || !e.RPCEnabled() {
		t.Fatalf("after a restart: theme %q, rpc %v", e.Theme(), e.RPCEnabled())
	}
}

// TestDownloadRateLive: a limit changed while a download runs holds for
// the rest of it. The download starts at the lowest limit (0.1 MB/s), so
// nearly all of it is left when the first progress comes, whatever the
// machine's speed; then SetLimits sets 1 MB/s: the rest takes about
// left/1 MB/s, far less than at the old limit and no less than half.
func TestDownloadRateLive(t *testing.T) {
	const size = 4_000_000
	o := startOrigin(t, testorigin.Config{Size: size, Seed: seed, RatePerSource: 8_000_000})
	e := newEngine(t, nil)
	e.SetLimits(core.Limits{DownloadRate: core.MinDownloadRate})
	events, cancel := e.Subscribe()
	defer cancel()
	id, err := e.Add(o.URL(), "")
	if err != nil {
		t.Fatal(err)
	}
	var left int64
	var since time.Time
	deadline := time.After(time.Minute)
	for since.IsZero() {
		select {
		case ev := <-events:
			switch ev := ev.(type) {
			case core.DownloadProgress:
				if ev.ID == id && ev.Done > 0 {
					e.SetLimits(core.Limits{DownloadRate: 1_000_000})
					since, left = time.Now(), size-ev.Done
				}
			case core.DownloadStateChanged:
				if ev.ID == id && ev.State.Final() {
					t.Fatalf("finished (%v) before any progress was reported", ev.State)
				}
			}
		case <-deadline:
			t.Fatal("no progress within a minute")
		}
	}
	end := finish(t, events, id, time.Minute)
	took := time.Since(since)
	t.Logf("%d bytes left when the limit was set; they took %s", left, took)
	if end.State != core.StateDone {
		t.Fatalf("got %v: %v", end.State, end.Err)
	}
	// At 1 MB/s the rest takes left/1e6 s less the bucket's burst and
	// what was in flight; at the origin's 8 MB/s it would take a quarter
	// of that, at the old 0.1 MB/s ten times as long.
	if floor := time.Duration(float64(left) / 1e6 / 2 * float64(time.Second)); took < floor {
		t.Errorf("the %d bytes left took %s after the limit was set, want at least %s", left, took, floor)
	}
	if ceiling := time.Duration(float64(left) / core.MinDownloadRate / 2 * float64(time.Second)); took > ceiling {
		t.Errorf("the %d bytes left took %s: the raised limit did not take hold (want under %s)", left, took, ceiling)
	}
}
