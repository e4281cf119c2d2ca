package discover

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The namespace test runs each Discoverer in its own process, this test
// binary started again inside `ip netns exec`: a process is in one network
// namespace for good, while a goroutine cannot be pinned to one reliably.
const (
	helperEnv   = "DRAGONLOAD_DISCOVER_HELPER"
	helperTTL   = 3 * time.Second
	helperQuiet = 2500 * time.Millisecond // for h4 only, whose link goes down
	foundWithin = 3 * time.Second         // issue 3
	byeWithin   = 2 * time.Second         // issue 3: SIGTERM
)

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "1" {
		os.Exit(helperMain())
	}
	os.Exit(m.Run())
}

// helperEvent is one line a helper process writes for each event.
type helperEvent struct {
	Kind    string   `json:"kind"` // found, lost, quiet, stopped
	ID      string   `json:"id,omitempty"`
	Addrs   []string `json:"addrs,omitempty"`
	Lending bool     `json:"lending,omitempty"`
	Room    string   `json:"room,omitempty"`
	Reason  string   `json:"reason,omitempty"`
	at      time.Time
}

// helperMain runs one Discoverer until SIGTERM, printing its events as JSON
// lines on stdout and its log on stderr. SIGUSR1 turns lending on.
func helperMain() int {
	port, _ := strconv.Atoi(os.Getenv("DL_PORT"))
	quiet, _ := time.ParseDuration(os.Getenv("DL_QUIET"))
	d, err := New(Options{
		Service: Service{NodeID: os.Getenv("DL_ID"), Name: "node " + os.Getenv("DL_ID"), Port: port,
			RoomHint: os.Getenv("DL_ROOM"), Version: 1},
		TTL:    helperTTL,
		Quiet:  quiet,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	go func() {
		for range usr1 {
			d.SetLending(true)
		}
	}()
	enc := json.NewEncoder(os.Stdout)
	err = d.Run(ctx, func(ev Event) {
		var h helperEvent
		switch ev := ev.(type) {
		case Found:
			h = helperEvent{Kind: "found", ID: ev.Peer.NodeID, Lending: ev.Peer.Lending, Room: ev.Peer.RoomHint}
			for _, a := range ev.Peer.Addrs {
				h.Addrs = append(h.Addrs, a.String())
			}
		case Lost:
			h = helperEvent{Kind: "lost", ID: ev.NodeID, Reason: ev.Reason}
		case Quiet:
			h = helperEvent{Kind: "quiet"}
		}
		enc.Encode(h)
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	enc.Encode(helperEvent{Kind: "stopped"})
	return 0
}

func TestNamespaces(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("this test needs root to create network namespaces, and CI runs as root")
		}
		t.Skip("skipped: needs root to create network namespaces (CI runs it as root)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Fatalf("this test needs the ip command of iproute2: %v", err)
	}

	// Four hosts on one bridge, each in its own namespace: h1 and h2 in
	// room aaaa, h3 and h4 in room bbbb. h1 also has a second link, on a
	// bridge of its own.
	nets := newTestbed(t, 4)
	nets.link(t, 1, "br1", "eth1", "10.79.1.1/24")
	const roomA, roomB = "aaaa", "bbbb"
	id := func(i int) string { return fmt.Sprintf("NODE%dX%s", i, nets.tag) }
	h1 := nets.start(t, 1, id(1), roomA, 4701, 0)
	h2 := nets.start(t, 2, id(2), roomA, 4702, 0)
	h3 := nets.start(t, 3, id(3), roomB, 4703, 0)
	h4 := nets.start(t, 4, id(4), roomB, 4704, helperQuiet)
	started := time.Now()

	ev := h1.wait(t, started.Add(foundWithin), "found", id(2))
	if want := "10.79.0.2:4702"; !slices.Contains(ev.Addrs, want) {
		t.Errorf("h1 found h2 at %v, want %s among them", ev.Addrs, want)
	}
	if ev.Lending {
		t.Error("h1 found h2 lending before it turned lending on")
	}
	ev = h2.wait(t, started.Add(foundWithin), "found", id(1))
	if want := []string{"10.79.0.1:4701"}; !slices.Equal(ev.Addrs, want) {
		t.Errorf("h2 found h1 at %v, want %v", ev.Addrs, want)
	}
	h3.wait(t, started.Add(foundWithin), "found", id(4))
	h4.wait(t, started.Add(foundWithin), "found", id(3))
	t.Logf("all four found their room's peer within %v", time.Since(started).Round(time.Millisecond))

	// Turning lending on is announced, not left for the next poll.
	h2.signal(t, syscall.SIGUSR1)
	h1.waitFunc(t, time.Now().Add(byeWithin), "h2 lending", func(e helperEvent) bool {
		return e.Kind == "found" && e.ID == id(2) && e.Lending
	})

	// h4's link goes down: h3 lets it expire and h4, hearing nothing, says
	// so. Back up, h4 starts over on the interface and both find each other.
	down := time.Now()
	mustIP(t, "-n", nets.hosts[3], "link", "set", "eth0", "down")
	h3.waitFunc(t, down.Add(helperTTL+2*DefaultInterval), "h4 expired", func(e helperEvent) bool {
		return e.Kind == "lost" && e.ID == id(4) && e.Reason == ReasonExpired
	})
	h4.waitFunc(t, down.Add(helperQuiet+2*DefaultInterval), "quiet", func(e helperEvent) bool { return e.Kind == "quiet" })
	up := time.Now()
	mustIP(t, "-n", nets.hosts[3], "link", "set", "eth0", "up")
	for _, c := range []struct {
		h    *helper
		peer string
	}{{h3, id(4)}, {h4, id(3)}} {
		c.h.waitFunc(t, up.Add(foundWithin), "found "+c.peer+" after link-up", func(e helperEvent) bool {
			return e.Kind == "found" && e.ID == c.peer && e.at.After(up)
		})
	}
	t.Logf("h3 and h4 found each other again %v after h4's link came up", time.Since(up).Round(time.Millisecond))

	// SIGTERM: the goodbye removes h2 at once.
	sent := time.Now()
	h2.signal(t, syscall.SIGTERM)
	ev = h1.wait(t, sent.Add(byeWithin), "lost", id(2))
	if ev.Reason != ReasonGoodbye {
		t.Errorf("h1 lost h2 for %q, want %q", ev.Reason, ReasonGoodbye)
	}
	t.Logf("h2 stopped with SIGTERM was lost after %v", ev.at.Sub(sent).Round(time.Millisecond))
	h2.waitExit(t)

	// SIGKILL: no goodbye, so the peer expires.
	h5 := nets.start(t, 2, id(5), roomA, 4705, 0)
	h1.wait(t, time.Now().Add(foundWithin), "found", id(5))
	sent = time.Now()
	h5.signal(t, syscall.SIGKILL)
	ev = h1.wait(t, sent.Add(helperTTL+2*DefaultInterval), "lost", id(5))
	if ev.Reason != ReasonExpired {
		t.Errorf("h1 lost h5 for %q, want %q", ev.Reason, ReasonExpired)
	}
	t.Logf("h5 killed with SIGKILL expired after %v", ev.at.Sub(sent).Round(time.Millisecond))

	// h1's answers from its other link never gave h2 an address there.
	for _, e := range h2.history() {
		if e.ID == id(1) && slices.ContainsFunc(e.Addrs, func(a string) bool { return strings.HasPrefix(a, "10.79.1.") }) {
			t.Errorf("h2 was given h1's address on another link: %+v", e)
		}
	}

	// Rooms never saw each other, nobody saw itself, and only h4 complained.
	for _, c := range []struct {
		h       *helper
		foreign []string
	}{
		{h1, []string{id(1), id(3), id(4)}},
		{h3, []string{id(1), id(2), id(3), id(5)}},
		{h4, []string{id(1), id(2), id(4), id(5)}},
	} {
		for _, e := range c.h.history() {
			if slices.Contains(c.foreign, e.ID) || e.Kind == "quiet" && c.h != h4 {
				t.Errorf("%s reported %+v", c.h.name, e)
			}
		}
	}
}

// testbed is a bridge in its own namespace and hosts in theirs, each with
// one veth link to the bridge and address 10.79.0.<n>/24. Nothing of it
// exists outside those namespaces.
type testbed struct {
	tag     string
	bridge  string          // the bridges' namespace
	bridges map[string]bool // created so far
	hosts   []string        // namespace names, hosts[0] = h1
}

func newTestbed(t *testing.T, n int) *testbed {
	b := make([]byte, 3)
	rand.Read(b)
	tb := &testbed{tag: hex.EncodeToString(b), bridges: map[string]bool{}}
	br := "dlmd-" + tb.tag + "-br"
	mustIP(t, "netns", "add", br)
	t.Cleanup(func() { ip(t, "netns", "del", br) })
	tb.bridge = br
	for i := 1; i <= n; i++ {
		h := fmt.Sprintf("dlmd-%s-h%d", tb.tag, i)
		mustIP(t, "netns", "add", h)
		t.Cleanup(func() { ip(t, "netns", "del", h) })
		tb.hosts = append(tb.hosts, h)
		mustIP(t, "-n", h, "link", "set", "lo", "up")
		tb.link(t, i, "br0", "eth0", fmt.Sprintf("10.79.0.%d/24", i))
	}
	return tb
}

// link connects a host to a bridge, which is created if it is new, through
// an interface with one address.
func (tb *testbed) link(t *testing.T, host int, bridge, iface, addr string) {
	t.Helper()
	if !tb.bridges[bridge] {
		tb.bridges[bridge] = true
		mustIP(t, "-n", tb.bridge, "link", "add", bridge, "type", "bridge", "mcast_snooping", "0")
		mustIP(t, "-n", tb.bridge, "link", "set", bridge, "up")
	}
	h := tb.hosts[host-1]
	port := fmt.Sprintf("%s-h%d", bridge, host)
	mustIP(t, "-n", tb.bridge, "link", "add", port, "type", "veth", "peer", "name", iface, "netns", h)
	mustIP(t, "-n", tb.bridge, "link", "set", port, "master", bridge, "up")
	mustIP(t, "-n", h, "addr", "add", addr, "dev", iface)
	mustIP(t, "-n", h, "link", "set", iface, "up")
}

func ip(t *testing.T, args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		err = fmt.Errorf("ip %v: %w: %s", args, err, bytes.TrimSpace(out))
		t.Log(err)
	}
	return err
}

func mustIP(t *testing.T, args ...string) {
	t.Helper()
	if err := ip(t, args...); err != nil {
		t.FailNow()
	}
}

// helper is one helper process and what it reported.
type helper struct {
	name string
	cmd  *exec.Cmd
	done chan struct{} // closed when stdout ends

	mu     sync.Mutex
	events []helperEvent
	more   chan struct{} // closed and replaced on each event
	stderr bytes.Buffer
}

// start runs a helper in host's namespace; quiet 0 means the default.
func (tb *testbed) start(t *testing.T, host int, id, room string, port int, quiet time.Duration) *helper {
	t.Helper()
	h := &helper{name: fmt.Sprintf("h%d(%s)", host, id), done: make(chan struct{}), more: make(chan struct{})}
	h.cmd = exec.Command("ip", "netns", "exec", tb.hosts[host-1], os.Args[0], "-test.run=^$")
	h.cmd.Env = append(os.Environ(), helperEnv+"=1", "DL_ID="+id, "DL_ROOM="+room, "DL_PORT="+strconv.Itoa(port),
		"DL_QUIET="+quiet.String())
	h.cmd.Stderr = &lockedWriter{mu: &h.mu, w: &h.stderr}
	out, err := h.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := h.cmd.Start(); err != nil {
		t.Fatalf("cannot start helper %s: %v", h.name, err)
	}
	t.Cleanup(func() {
		h.cmd.Process.Kill()
		<-h.done
		h.cmd.Wait()
		if t.Failed() || testing.Verbose() {
			h.mu.Lock()
			t.Logf("log of %s:\n%s", h.name, h.stderr.String())
			h.mu.Unlock()
		}
	})
	go func() {
		defer close(h.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var e helperEvent
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				continue
			}
			e.at = time.Now()
			h.mu.Lock()
			h.events = append(h.events, e)
			close(h.more)
			h.more = make(chan struct{})
			h.mu.Unlock()
		}
	}()
	return h
}

// wait returns the helper's first event of that kind about id, failing the
// test if none has come by the deadline.
func (h *helper) wait(t *testing.T, deadline time.Time, kind, id string) helperEvent {
	t.Helper()
	return h.waitFunc(t, deadline, kind+" "+id, func(e helperEvent) bool { return e.Kind == kind && e.ID == id })
}

func (h *helper) waitFunc(t *testing.T, deadline time.Time, what string, match func(helperEvent) bool) helperEvent {
	t.Helper()
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for {
		h.mu.Lock()
		i := slices.IndexFunc(h.events, match)
		var e helperEvent
		if i >= 0 {
			e = h.events[i]
		}
		more := h.more
		h.mu.Unlock()
		if i >= 0 {
			if e.at.After(deadline) {
				t.Fatalf("%s: %s came %v late", h.name, what, e.at.Sub(deadline))
			}
			return e
		}
		select {
		case <-more:
		case <-h.done:
			t.Fatalf("%s exited before %s", h.name, what)
		case <-timer.C:
			t.Fatalf("%s: no %s by the deadline; events: %+v", h.name, what, h.history())
		}
	}
}

func (h *helper) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := h.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("cannot signal %s: %v", h.name, err)
	}
}

// waitExit checks that a helper told to stop said so and exited cleanly.
func (h *helper) waitExit(t *testing.T) {
	t.Helper()
	select {
	case <-h.done:
	case <-time.After(5 * time.Second):
		t.Fatalf("%s did not exit after SIGTERM", h.name)
	}
	if err := h.cmd.Wait(); err != nil {
		t.Errorf("%s exited with %v", h.name, err)
	}
	if hist := h.history(); len(hist) == 0 || hist[len(hist)-1].Kind != "stopped" {
		t.Errorf("%s did not report that Run returned", h.name)
	}
}

func (h *helper) history() []helperEvent {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.events)
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}
