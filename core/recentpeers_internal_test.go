package core

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/dragonload/dragonload/core/peers"
	"github.com/dragonload/dragonload/core/recent"
	"github.com/dragonload/dragonload/quicwire"
)

// fakeRecentTable is the peer table as the recent source sees it.
type fakeRecentTable struct {
	mu     sync.Mutex
	source map[string]string // address → source of its dial loop
	ready  map[string]bool
}

func (f *fakeRecentTable) Source(addr string) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.source[addr]
	return s, ok
}

func (f *fakeRecentTable) List() []peers.Info {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []peers.Info
	for a, s := range f.source {
		out = append(out, peers.Info{Addr: a, Source: s, Ready: f.ready[a]})
	}
	return out
}

// TestRecentSource: the recent source reports every remembered address at
// once, and once the grace period is over gives up exactly those whose
// dial loop it still owns and that did not reach their peer; stopped
// before the grace, it gives up nothing.
func TestRecentSource(t *testing.T) {
	const grace = 10 * time.Second
	cases := []struct {
		name     string
		source   string // owner of the dial loop; "" = not dialed any more
		ready    bool
		wantLost bool
	}{
		{name: "its own, never reached", source: recentSource, wantLost: true},
		{name: "its own, ready", source: recentSource, ready: true},
		{name: "mDNS's, not ready", source: "mdns"},
		{name: "mDNS's, ready", source: "mdns", ready: true},
		{name: "by hand, not ready", source: "manual"},
		{name: "forgotten meanwhile"},
	}
	addrOf := func(i int) string { return fmt.Sprintf("192.168.1.%d:4700", i+1) }
	run := func(t *testing.T, stopEarly bool) {
		synctest.Test(t, func(t *testing.T) {
			table := &fakeRecentTable{source: map[string]string{}, ready: map[string]bool{}}
			var addrs []string
			for i, c := range cases {
				addrs = append(addrs, addrOf(i))
				if c.source != "" {
					table.source[addrOf(i)] = c.source
				}
				table.ready[addrOf(i)] = c.ready
			}
			var mu sync.Mutex
			var found, lost []string
			src := &recentPeers{addrs: addrs, grace: grace, table: table}
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() {
				done <- src.Run(ctx,
					func(a string) { mu.Lock(); found = append(found, a); mu.Unlock() },
					func(a, reason string) { mu.Lock(); lost = append(lost, a); mu.Unlock() })
			}()
			synctest.Wait()
			mu.Lock()
			if !slices.Equal(found, addrs) || len(lost) != 0 {
				t.Fatalf("at start: found %v, lost %v; want found %v, nothing lost", found, lost, addrs)
			}
			mu.Unlock()
			time.Sleep(grace - time.Millisecond)
			synctest.Wait()
			mu.Lock()
			if len(lost) != 0 {
				t.Fatalf("lost %v before the grace was over", lost)
			}
			mu.Unlock()
			if stopEarly {
				cancel()
				if err := <-done; err != nil {
					t.Fatalf("Run: %v", err)
				}
				time.Sleep(time.Hour)
				mu.Lock()
				defer mu.Unlock()
				if len(lost) != 0 {
					t.Fatalf("stopped before the grace, it still lost %v", lost)
				}
				return
			}
			time.Sleep(time.Millisecond)
			synctest.Wait()
			mu.Lock()
			for i, c := range cases {
				if got := slices.Contains(lost, addrOf(i)); got != c.wantLost {
					t.Errorf("%s: lost %v, want %v", c.name, got, c.wantLost)
				}
			}
			mu.Unlock()
			select {
			case err := <-done:
				t.Fatalf("Run returned before its context ended: %v", err)
			default:
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("Run: %v", err)
			}
		})
	}
	t.Run("grace over", func(t *testing.T) { run(t, false) })
	t.Run("stopped early", func(t *testing.T) { run(t, true) })
}

// callTable records what claims asks of the peer table.
type callTable struct{ calls []string }

func (c *callTable) Want(addr, source string)   { c.calls = append(c.calls, "want "+addr+" "+source) }
func (c *callTable) Forget(addr, reason string) { c.calls = append(c.calls, "forget "+addr) }

// TestClaims: the recent source, which yields, does not take an address
// away from another source that reports it too; the other sources forget
// as they always did.
func TestClaims(t *testing.T) {
	type report struct {
		source string
		found  bool // else lost
	}
	cases := []struct {
		name    string
		reports []report
		forgets int // Forget calls wanted
	}{
		{"recent alone gives up", []report{{recentSource, true}, {recentSource, false}}, 1},
		{"recent yields to mDNS", []report{{recentSource, true}, {"mdns", true}, {recentSource, false}}, 0},
		{"recent yields to mDNS found first", []report{{"mdns", true}, {recentSource, true}, {recentSource, false}}, 0},
		{"recent yields to a hand-given peer", []report{{"manual", true}, {recentSource, true}, {recentSource, false}}, 0},
		{"recent yields to a peer added in the app", []report{{recentSource, true}, {"config", true}, {recentSource, false}}, 0},
		{"mDNS lost forgets, as before", []report{{recentSource, true}, {"mdns", true}, {"mdns", false}}, 1},
		{"recent gives up once mDNS lost it", []report{{recentSource, true}, {"mdns", true}, {"mdns", false}, {recentSource, false}}, 2},
		{"mDNS again after recent gave up", []report{{recentSource, true}, {recentSource, false}, {"mdns", true}}, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var cl claims
			table := &callTable{}
			const addr = "192.168.1.9:4700"
			for _, r := range c.reports {
				if r.found {
					cl.found(table, addr, r.source)
				} else {
					cl.lost(table, addr, r.source, "gone", r.source == recentSource)
				}
			}
			var forgets int
			for _, call := range table.calls {
				if strings.HasPrefix(call, "forget") {
					forgets++
				}
			}
			if forgets != c.forgets {
				t.Fatalf("%d forgets, want %d; calls %v", forgets, c.forgets, table.calls)
			}
		})
	}
}

// laterSource is a fake mDNS: it reports the addresses sent to it, when
// the test decides.
type laterSource struct{ addrs chan string }

func (s laterSource) Name() string { return "mdns" }

func (s laterSource) Run(ctx context.Context, found func(string), _ func(string, string)) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case a := <-s.addrs:
			found(a)
		}
	}
}

const recentTestRoom = "test7-k3m9p-x7q2a-h4w8t"

// startRecentTestEngine starts an engine on loopback. It never runs real
// mDNS: NoMDNS holds whatever mod does.
func startRecentTestEngine(t *testing.T, mod func(*Config)) *Engine {
	t.Helper()
	off := false
	cfg := Config{
		Home: t.TempDir(), Room: recentTestRoom, Listen: "127.0.0.1:0",
		AllowPrivate: true, OutDir: t.TempDir(), Lending: &off,
	}
	if mod != nil {
		mod(&cfg)
	}
	cfg.NoMDNS = true
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// deadAddr is a loopback UDP address nobody listens on.
func deadAddr(t *testing.T) string {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := c.LocalAddr().String()
	c.Close()
	return a
}

func nextEvent(t *testing.T, events <-chan Event, deadline <-chan time.Time, what string) Event {
	t.Helper()
	select {
	case ev, ok := <-events:
		if !ok {
			t.Fatalf("event stream closed waiting for %s", what)
		}
		return ev
	case <-deadline:
		t.Fatalf("timed out waiting for %s", what)
	}
	return nil
}

// TestWarmStart: a node found by mDNS is remembered (one given by hand is
// not); the next start in the same home dials it from the cache before
// any other source reports it, and it stays once mDNS reports it too; a
// remembered address nobody answers at is given up after the grace,
// unless mDNS reports it too. With mDNS off the cache is not used.
func TestWarmStart(t *testing.T) {
	on := true
	lender := func() *Engine {
		return startRecentTestEngine(t, func(c *Config) { c.Lending = &on })
	}
	a, byHand := lender(), lender()
	home := t.TempDir()

	// First run: a is found by (fake) mDNS, byHand is given by hand.
	mdns1 := laterSource{addrs: make(chan string, 1)}
	mdns1.addrs <- a.Addr()
	b1 := startRecentTestEngine(t, func(c *Config) {
		c.Home, c.Peers, c.PeerSources = home, []string{byHand.Addr()}, []PeerSource{mdns1}
	})
	deadline := time.Now().Add(20 * time.Second)
	for len(readyOf(b1)) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("first run: peers %+v, want both ready", b1.Peers())
		}
		time.Sleep(5 * time.Millisecond)
	}
	b1.mu.Lock()
	tag := b1.roomKey.Tag()
	b1.mu.Unlock()
	b1.Close()
	l, err := recent.Load(home)
	if err != nil {
		t.Fatal(err)
	}
	got := l.Peers(tag)
	if len(got) != 1 || got[0].ID != a.NodeID() || got[0].Addr != a.Addr() {
		t.Fatalf("remembered %+v, want only %s at %s", got, a.NodeID(), a.Addr())
	}

	// Two remembered addresses nobody listens at: gone is given up, kept
	// is reported by mDNS too and stays.
	gone, kept := deadAddr(t), deadAddr(t)
	for i, addr := range []string{gone, kept} {
		id := quicwire.NodeID{0xd0, byte(i)}.String()
		if _, err := l.Ready(tag, id, addr, time.Now().Add(-time.Minute)); err != nil {
			t.Fatal(err)
		}
	}

	// Second run: the cache alone, then a late mDNS. The grace is long
	// next to a loopback handshake (milliseconds) so that, on a loaded
	// machine under the race detector, mDNS's report of kept below still
	// comes before it.
	const grace = 3 * time.Second
	var events <-chan Event
	var sourcesStart time.Time
	mdns2 := laterSource{addrs: make(chan string, 2)}
	newStart := time.Now()
	b2 := startRecentTestEngine(t, func(c *Config) {
		c.Home, c.PeerSources = home, []PeerSource{mdns2}
		c.recent = recentOptions{always: true, grace: grace, started: func(e *Engine) {
			var cancel func()
			events, cancel = e.Subscribe()
			t.Cleanup(cancel)
			sourcesStart = time.Now()
		}}
	})
	timeout := time.After(20 * time.Second)
	seen := map[string]string{} // address → source of its PeerSeen
	var readyAfter time.Duration
	for readyAfter == 0 || seen[gone] == "" || seen[kept] == "" {
		switch ev := nextEvent(t, events, timeout, "a ready and the dead addresses dialed").(type) {
		case PeerSeen:
			seen[ev.Peer.Addr] = ev.Peer.Source
		case PeerReady:
			if ev.Peer.ID != a.NodeID() {
				t.Fatalf("ready: %+v", ev.Peer)
			}
			if seen[a.Addr()] != recentSource || ev.Peer.Source != recentSource {
				t.Fatalf("a ready through %q after being seen through %q, want %q for both", ev.Peer.Source, seen[a.Addr()], recentSource)
			}
			readyAfter = time.Since(sourcesStart)
		case PeerLost:
			t.Fatalf("lost before the grace: %+v (%s)", ev.Peer, ev.Reason)
		}
	}
	t.Logf("first ready peer %v after the sources started, %v after New was called (target 150ms)",
		readyAfter.Round(time.Millisecond), sourcesStart.Add(readyAfter).Sub(newStart).Round(time.Millisecond))
	if readyAfter >= grace {
		t.Fatalf("the remembered peer took %v to be ready", readyAfter)
	}
	for addr, src := range map[string]string{a.Addr(): recentSource, gone: recentSource, kept: recentSource} {
		if seen[addr] != src {
			t.Errorf("%s seen through %q, want %q", addr, seen[addr], src)
		}
	}

	// mDNS now reports a (ready) and kept (never reached), both dialed
	// by the cache already.
	mdns2.addrs <- a.Addr()
	mdns2.addrs <- kept
	for {
		ev := nextEvent(t, events, timeout, "the grace to give up "+gone)
		lost, ok := ev.(PeerLost)
		if !ok {
			continue
		}
		if lost.Peer.Addr != gone || lost.Peer.ID != "" || lost.Peer.Source != recentSource {
			t.Fatalf("lost %+v (%s), want only %s, never reached, given up by %q", lost.Peer, lost.Reason, gone, recentSource)
		}
		if after := time.Since(sourcesStart); after < grace {
			t.Fatalf("%s given up after %v, before the grace of %v", gone, after, grace)
		}
		break
	}
	if _, ok := b2.peers.Source(gone); ok {
		t.Errorf("%s is still dialed after the grace", gone)
	}
	if src, ok := b2.peers.Source(kept); !ok || src != recentSource {
		t.Errorf("%s, reported by mDNS too: dialed %v by %q, want still dialed", kept, ok, src)
	}
	if r := readyOf(b2); len(r) != 1 || r[0].ID != a.NodeID() || r[0].Source != recentSource {
		t.Errorf("ready after the grace: %+v, want a, through %q", r, recentSource)
	}
	b2.Close()

	// Third run, mDNS off: the cache is not used.
	var events3 <-chan Event
	startRecentTestEngine(t, func(c *Config) {
		c.Home = home
		c.recent.started = func(e *Engine) {
			var cancel func()
			events3, cancel = e.Subscribe()
			t.Cleanup(cancel)
		}
	})
	quiet := time.After(200 * time.Millisecond) // the recent source reports at once when it runs
	for {
		select {
		case ev := <-events3:
			if s, ok := ev.(PeerSeen); ok {
				t.Fatalf("with mDNS off, %s was dialed through %q", s.Peer.Addr, s.Peer.Source)
			}
			continue
		case <-quiet:
		}
		break
	}
}

func readyOf(e *Engine) []PeerInfo {
	return slices.DeleteFunc(e.Peers(), func(p PeerInfo) bool { return !p.Ready })
}

// TestWarmStartDamagedFile: a damaged list does not stop the engine: it
// starts without the warm start and says why in the log.
func TestWarmStartDamagedFile(t *testing.T) {
	home := t.TempDir()
	if err := os.WriteFile(filepath.Join(home, recent.FileName), []byte(`{"version":1,"room":`), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	e := startRecentTestEngine(t, func(c *Config) {
		c.Home, c.recent.always = home, true
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	})
	e.Close()
	if got := logs.String(); !strings.Contains(got, "starting without the recent peers") || !strings.Contains(got, "not JSON") {
		t.Fatalf("log %q, want a warning saying the list is not JSON", got)
	}
	if e.recent == nil || e.recent.Peers(e.roomKey.Tag()) != nil {
		t.Fatal("the engine has no usable, empty list")
	}
}
