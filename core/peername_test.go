package core_test

import (
	"bytes"
	"encoding/hex"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dragonload/dragonload/core"
	"github.com/dragonload/dragonload/core/config"
	"github.com/dragonload/dragonload/quicwire"
	testorigin "github.com/dragonload/dragonload/test/origin"
)

// TestDefaultName: without --name or a chosen one, a node is called by its
// host name and the first four hex digits of its node id, so that cloned
// machines with one host name read apart; a chosen name is kept as is, and
// --name holds for its run only.
func TestDefaultName(t *testing.T) {
	host, _ := os.Hostname()
	cases := []struct {
		name     string
		saved    string // name in config.toml before the start
		flag     string // --name
		want     string // "" = the default
		wantSave string // name in config.toml after the start
	}{
		{name: "fresh home"},
		{name: "chosen name", saved: "attic", want: "attic", wantSave: "attic"},
		{name: "bare host name saved by earlier versions", saved: host},
		{name: "unusable saved name", saved: "tab\there"},
		{name: "--name for this run", saved: "attic", flag: "loft", want: "loft", wantSave: "attic"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			home := t.TempDir()
			if c.saved != "" {
				if err := config.Save(home, config.Settings{Room: room, Name: c.saved}); err != nil {
					t.Fatal(err)
				}
			}
			e := newEngine(t, func(cfg *core.Config) { cfg.Home, cfg.Room, cfg.Name = home, "", c.flag })
			want := c.want
			if want == "" {
				want = defaultNameOf(t, home, host)
			}
			if got := e.Name(); got != want {
				t.Errorf("Name() = %q, want %q", got, want)
			}
			// Any setting saved now writes the chosen name only.
			e.SetLimits(core.Limits{MaxDownloads: 2})
			if s := loadSettings(t, home); s.Name != c.wantSave {
				t.Errorf("settings name %q after a save, want %q", s.Name, c.wantSave)
			}
		})
	}
	if _, err := core.New(engineConfig(t, func(c *core.Config) { c.Name = "line\nbreak" })); err == nil ||
		!strings.Contains(err.Error(), "control characters") {
		t.Errorf("New with an unusable --name: %v, want an error about control characters", err)
	}
}

// TestSetName: a new name is trimmed, remembered, and reaches a connected
// peer (at its next status poll) and a peer that connects later; a name
// that is empty, too long or holds control characters is refused and the
// old one stays.
func TestSetName(t *testing.T) {
	on := true
	a := newEngine(t, func(c *core.Config) { c.Lending = &on; c.Name = "vm" })
	b := newEngine(t, func(c *core.Config) { c.Peers = []string{a.Addr()} })
	events, cancel := b.Subscribe()
	defer cancel()
	waitPeer(t, events, "b sees a as vm", func(ev core.Event) bool {
		r, ok := ev.(core.PeerReady)
		return ok && r.Peer.Name == "vm"
	})

	if err := a.SetName("  attic  "); err != nil {
		t.Fatal(err)
	}
	if a.Name() != "attic" {
		t.Fatalf("Name() = %q after SetName(\"  attic  \")", a.Name())
	}
	if s := loadSettings(t, a.Home()); s.Name != "attic" {
		t.Errorf("settings name %q, want attic", s.Name)
	}
	waitPeer(t, events, "b hears the new name", func(ev core.Event) bool {
		u, ok := ev.(core.PeerUpdated)
		return ok && u.Peer.ID == a.NodeID() && u.Peer.Name == "attic"
	})
	c := newEngine(t, func(cfg *core.Config) { cfg.Peers = []string{a.Addr()} })
	waitFor(t, "a new peer gets the new name in the hello", func() bool {
		p := c.Peers()
		return len(p) == 1 && p[0].Ready && p[0].Name == "attic"
	})

	for _, bad := range []struct{ name, want string }{
		{"   ", "empty"},
		{strings.Repeat("é", 33), "64 bytes"},
		{"tab\there", "control characters"},
		{"bidi\u202eeman", "control characters"},
	} {
		err := a.SetName(bad.name)
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("SetName(%q) = %v, want an error about %s", bad.name, err, bad.want)
		}
	}
	if a.Name() != "attic" || loadSettings(t, a.Home()).Name != "attic" {
		t.Errorf("a refused name changed the name: %q", a.Name())
	}
}

// TestRenamePeer: a nickname replaces the peer's own name in the peer
// list, in peer events and in the shares of a download (where the legend
// gets its names), survives a restart, and "" removes it.
func TestRenamePeer(t *testing.T) {
	const size = 8 * mib
	o := startOrigin(t, testorigin.Config{Size: size, Seed: seed, RatePerSource: 4 * mib})
	on := true
	lender := newEngine(t, func(c *core.Config) {
		c.Lending, c.Name, c.Listen, c.Source = &on, "vm", "127.0.0.71:0", parseIP("127.0.0.71")
	})
	home := t.TempDir()
	start := func() *core.Engine {
		return newEngine(t, func(c *core.Config) {
			c.Home, c.Peers, c.Listen, c.Source = home, []string{lender.Addr()}, "127.0.0.70:0", parseIP("127.0.0.70")
		})
	}
	e := start()
	events, cancel := e.Subscribe()
	waitPeer(t, events, "the lender ready", func(ev core.Event) bool { _, ok := ev.(core.PeerReady); return ok })

	if err := e.RenamePeer(lender.NodeID(), " attic "); err != nil {
		t.Fatal(err)
	}
	waitPeer(t, events, "the renamed peer updated", func(ev core.Event) bool {
		u, ok := ev.(core.PeerUpdated)
		return ok && u.Peer.Name == "attic" && u.Peer.Nickname == "attic"
	})
	if p := e.Peers(); len(p) != 1 || p[0].Name != "attic" || p[0].Nickname != "attic" {
		t.Fatalf("Peers() = %+v, want the nickname", p)
	}
	if s := loadSettings(t, home); s.PeerNames[lender.NodeID()] != "attic" {
		t.Fatalf("peer_names = %v, want the nickname saved", s.PeerNames)
	}

	id, err := e.Add(o.URL(), "")
	if err != nil {
		t.Fatal(err)
	}
	var shared bool
	deadline := time.After(time.Minute)
	for done := false; !done; {
		select {
		case ev := <-events:
			switch ev := ev.(type) {
			case core.DownloadProgress:
				for _, s := range ev.Peers {
					if s.Peer == lender.NodeID() {
						shared = true
						if s.Name != "attic" {
							t.Fatalf("the lender's share is named %q, want the nickname", s.Name)
						}
					}
				}
			case core.DownloadStateChanged:
				if ev.ID == id && ev.State.Final() {
					if ev.State != core.StateDone {
						t.Fatalf("download ended %v: %v", ev.State, ev.Err)
					}
					done = true
				}
			}
		case <-deadline:
			t.Fatal("the download did not finish within a minute")
		}
	}
	if !shared {
		t.Fatal("the lender took no part in the download; the test proves nothing")
	}
	if names := e.Downloads()[0].Names; names[lender.NodeID()] != "attic" {
		t.Errorf("the chunk map's names %v, want the nickname", names)
	}
	cancel()
	e.Close()

	// After a restart the nickname is there from the first event.
	e = start()
	events, cancel = e.Subscribe()
	defer cancel()
	ready := waitPeer(t, events, "the lender ready again", func(ev core.Event) bool { _, ok := ev.(core.PeerReady); return ok })
	if p := ready.(core.PeerReady).Peer; p.Name != "attic" || p.Nickname != "attic" {
		t.Fatalf("ready after a restart as %q (nickname %q), want attic", p.Name, p.Nickname)
	}
	if err := e.RenamePeer(lender.NodeID(), ""); err != nil {
		t.Fatal(err)
	}
	waitPeer(t, events, "the nickname removed", func(ev core.Event) bool {
		u, ok := ev.(core.PeerUpdated)
		return ok && u.Peer.Name == "vm" && u.Peer.Nickname == ""
	})
	if s := loadSettings(t, home); len(s.PeerNames) != 0 {
		t.Errorf("peer_names = %v after removing the only nickname", s.PeerNames)
	}
	for _, bad := range []struct{ id, name string }{{"", "attic"}, {lender.NodeID(), "line\nbreak"}} {
		if err := e.RenamePeer(bad.id, bad.name); err == nil {
			t.Errorf("RenamePeer(%q, %q) succeeded", bad.id, bad.name)
		}
	}
}

// TestRemovePeer: a peer added by hand (saved, or given for this run) is
// forgotten, disconnected and not dialed again; one found on the LAN is
// refused with a sentence saying why; an unknown address is refused.
func TestRemovePeer(t *testing.T) {
	saved, given, lan := newEngine(t, nil), newEngine(t, nil), newEngine(t, nil)
	unreachable := freeUDPAddr(t) // nothing listens there: a dial in progress
	e := newEngine(t, func(c *core.Config) {
		c.Peers = []string{given.Addr()}
		// Stands for mDNS without running it on a real interface.
		c.PeerSources = []core.PeerSource{core.StaticPeers{Via: "mdns", Addrs: []string{lan.Addr()}}}
	})
	events, cancel := e.Subscribe()
	defer cancel()
	for _, a := range []string{saved.Addr(), unreachable} {
		if err := e.AddPeer(a); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "three peers ready", func() bool { return len(readyPeers(e)) == 3 })

	cases := []struct {
		addr    string
		wantErr string // "" = removed
		lostID  string // the id PeerLost carries; "" for a dial
	}{
		{lan.Addr(), "found on the LAN", ""},
		{"10.255.255.1:4700", "no peer was added by hand", ""},
		{saved.Addr(), "", saved.NodeID()},
		{given.Addr(), "", given.NodeID()},
		{" " + unreachable + " ", "", ""},
	}
	for _, c := range cases {
		err := e.RemovePeer(c.addr)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("RemovePeer(%s) = %v, want an error saying %q", c.addr, err, c.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("RemovePeer(%s): %v", c.addr, err)
		}
		addr := strings.TrimSpace(c.addr)
		waitPeer(t, events, "lost: "+addr, func(ev core.Event) bool {
			l, ok := ev.(core.PeerLost)
			return ok && l.Peer.Addr == addr && l.Peer.ID == c.lostID && l.Reason == "removed"
		})
	}
	if s := loadSettings(t, e.Home()); len(s.Peers) != 0 {
		t.Errorf("settings peers %q after removing both", s.Peers)
	}
	// Long enough for the removed ones to have been dialed again if they
	// still were (the first retry comes after 500 ms).
	time.Sleep(1500 * time.Millisecond)
	if p := e.Peers(); len(p) != 1 || p[0].ID != lan.NodeID() {
		t.Errorf("Peers() = %+v, want only the one found on the LAN", p)
	}
}

// TestOneEntryPerMachine: a machine reached through two addresses is one
// peer in the list, and its second address is no "connecting" ghost.
func TestOneEntryPerMachine(t *testing.T) {
	a := newEngine(t, nil)
	_, port, _ := net.SplitHostPort(a.Addr())
	e := newEngine(t, func(c *core.Config) { c.Peers = []string{a.Addr(), net.JoinHostPort("localhost", port)} })
	waitFor(t, "the peer ready", func() bool { return len(readyPeers(e)) == 1 })
	// Both addresses have been dialed once the duplicate was closed; the
	// list must then hold the machine once.
	time.Sleep(time.Second)
	if p := e.Peers(); len(p) != 1 || !p[0].Ready {
		t.Fatalf("Peers() = %+v, want the one machine", p)
	}
}

// TestPreferredPort: the app's port is taken when free; when something
// holds it the engine starts on another port of the same host and logs
// it, and a second engine preferring the same port starts too.
func TestPreferredPort(t *testing.T) {
	busy, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	free := freeUDPAddr(t)
	cases := []struct {
		name     string
		prefer   string
		wantPort func(got int) bool
		wantLog  bool
	}{
		{"free", free, func(got int) bool { return strconv.Itoa(got) == portOf(free) }, false},
		{"taken", busy.LocalAddr().String(), func(got int) bool { return got != busy.LocalAddr().(*net.UDPAddr).Port && got != 0 }, true},
		{"taken by the first engine", free, func(got int) bool { return strconv.Itoa(got) != portOf(free) && got != 0 }, true},
	}
	// No subtests: each engine runs to the end of the test, so the first
	// one holds its port while the third starts.
	for _, c := range cases {
		var logs bytes.Buffer
		e := newEngine(t, func(cfg *core.Config) {
			cfg.Listen, cfg.PreferListen = "", c.prefer
			cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		})
		host, port, _ := net.SplitHostPort(e.Addr())
		p, _ := strconv.Atoi(port)
		if host != "127.0.0.1" || !c.wantPort(p) {
			t.Errorf("%s: listening on %s, preferring %s", c.name, e.Addr(), c.prefer)
		}
		if logged := strings.Contains(logs.String(), "port is taken"); logged != c.wantLog {
			t.Errorf("%s: fallback logged %v, want %v: %s", c.name, logged, c.wantLog, logs.String())
		}
	}
}

func TestDiscoveringOffWithoutMDNS(t *testing.T) {
	if e := newEngine(t, nil); e.Discovering() {
		t.Error("Discovering() with NoMDNS")
	}
}

// waitPeer returns the first event for which match holds, failing after
// 20 s.
func waitPeer(t *testing.T, events <-chan core.Event, what string, match func(core.Event) bool) core.Event {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case ev := <-events:
			if match(ev) {
				return ev
			}
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func readyPeers(e *core.Engine) []core.PeerInfo {
	return slices.DeleteFunc(e.Peers(), func(p core.PeerInfo) bool { return !p.Ready })
}

func loadSettings(t *testing.T, home string) config.Settings {
	t.Helper()
	s, _, err := config.Load(home)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// defaultNameOf is the documented default: host name, "-", the first
// four hex digits of the node id.
func defaultNameOf(t *testing.T, home, host string) string {
	t.Helper()
	id, err := quicwire.LoadIdentity(filepath.Join(home, config.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	return host + "-" + hex.EncodeToString(id.ID[:2])
}

// freeUDPAddr is a loopback UDP address nothing listens on (it was free a
// moment ago).
func freeUDPAddr(t *testing.T) string {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	addr := c.LocalAddr().String()
	c.Close()
	return addr
}

func portOf(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}
