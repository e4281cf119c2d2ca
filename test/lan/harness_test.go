package lan

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dragonload/dragonload/test/netbed"
	"github.com/dragonload/dragonload/test/testkit"
)

// port is the QUIC port every node listens on, each in its own namespace.
const port = 4700

// Binaries built once by TestMain; empty when the tests cannot run here.
var dragonload, testorigin string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	if netbed.RequireRoot() != nil {
		return m.Run() // every test skips (or fails under CI) with the reason
	}
	dir, err := os.MkdirTemp("", "dragonload-lan-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	for _, b := range []struct {
		out *string
		pkg string
	}{
		{&dragonload, "github.com/dragonload/dragonload"},
		{&testorigin, "github.com/dragonload/dragonload/test/origin/cmd/testorigin"},
	} {
		*b.out = filepath.Join(dir, filepath.Base(b.pkg))
		cmd := exec.Command("go", "build", "-o", *b.out, b.pkg)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "cannot build %s: %v\n", b.pkg, err)
			return 1
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := netbed.SweepStale(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "sweeping stale beds:", err)
	}
	return m.Run()
}

// lanBed is one test's network and the logs of what runs on it.
type lanBed struct {
	t    *testing.T
	bed  *netbed.Bed
	logs string
}

// newBed builds a bed of n hosts with unshaped links (the origin limits
// rates where a test needs it), removed at the end of the test whatever
// happens. Tag keeps the namespace names of the tests apart.
func newBed(t *testing.T, n int, tag string) *lanBed {
	t.Helper()
	netbed.NeedRoot(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	bed, err := netbed.Up(ctx, netbed.Options{Prefix: netbed.UniquePrefix() + tag + "-", Hosts: n, StopGrace: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	b := &lanBed{t: t, bed: bed, logs: t.TempDir()}
	t.Cleanup(func() {
		if err := bed.Close(); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			b.dumpLogs()
		}
	})
	return b
}

// listen is host i's QUIC address.
func listen(i int) string { return fmt.Sprintf("%s:%d", netbed.LANIP(i), port) }

// start runs the dragonload binary on host i with its output in the log
// folder; the bed ends it on Close.
func (b *lanBed) start(name string, i int, args ...string) *netbed.Proc {
	b.t.Helper()
	f, err := os.Create(filepath.Join(b.logs, name+".log"))
	if err != nil {
		b.t.Fatal(err)
	}
	defer f.Close()
	cmd := netbed.Command(b.bed.Host(i).NS, dragonload, args...)
	cmd.Stdout, cmd.Stderr = f, f
	p, err := b.bed.Start(name, cmd)
	if err != nil {
		b.t.Fatal(err)
	}
	return p
}

// agent starts `dragonload agent` on host i, named "h<i>", in room, and
// waits until its QUIC socket is bound.
func (b *lanBed) agent(i int, room string) *netbed.Proc {
	b.t.Helper()
	name := b.bed.Host(i).Name
	p := b.start("agent-"+name, i, "agent", "--home", b.t.TempDir(), "--out", b.t.TempDir(), "--room", room,
		"--name", name, "--listen", listen(i), "--allow-private-origins", "--log-level", "debug")
	waitFor(b.t, 20*time.Second, "the agent on "+name+" to listen", func() bool {
		select {
		case <-p.Done():
			b.t.Fatalf("the agent on %s exited at start: %v", name, p.Err())
		default:
		}
		return netbed.UDPListening(p.Pid(), port)
	})
	return p
}

// origin runs the test origin in the internet namespace, serving size bytes
// at rate bytes per second to each source address, and returns the file's
// URL and SHA-256.
func (b *lanBed) origin(size, rate int64) (url, sum string) {
	b.t.Helper()
	cmd := netbed.Command(b.bed.InetNS(), testorigin, "-listen", netbed.OriginIP.String()+":8080",
		"-size", fmt.Sprint(size), "-seed", "3", "-rate", fmt.Sprint(rate))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(b.logs, "origin.log"))
	if err != nil {
		b.t.Fatal(err)
	}
	defer f.Close()
	cmd.Stderr = f
	p, err := b.bed.Start("origin", cmd)
	if err != nil {
		b.t.Fatal(err)
	}
	url, sum, err = testkit.ReadAnnouncement(stdout, 20*time.Second)
	if err != nil {
		b.t.Fatalf("%v (%v)", err, p.Err())
	}
	return url, sum
}

// checkSealed fails the test unless every host of the bed has only its
// loopback, LAN and WAN links and no default route: then mDNS multicast and
// every other packet stay inside the bed's namespaces.
func (b *lanBed) checkSealed() {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, h := range b.bed.Hosts() {
		out, err := exec.CommandContext(ctx, "ip", "-n", h.NS, "-j", "link", "show").Output()
		if err != nil {
			b.t.Fatalf("cannot list the links of %s: %v", h.NS, err)
		}
		var links []struct {
			Name string `json:"ifname"`
		}
		if err := json.Unmarshal(out, &links); err != nil {
			b.t.Fatalf("cannot parse the links of %s: %v", h.NS, err)
		}
		for _, l := range links {
			if l.Name != "lo" && l.Name != "lan0" && l.Name != "wan0" {
				b.t.Errorf("%s has a link %q besides lo, lan0 and wan0", h.NS, l.Name)
			}
		}
		out, err = exec.CommandContext(ctx, "ip", "-n", h.NS, "route", "show", "default").Output()
		if err != nil {
			b.t.Fatalf("cannot list the routes of %s: %v", h.NS, err)
		}
		if r := strings.TrimSpace(string(out)); r != "" {
			b.t.Errorf("%s has a default route %q: traffic could leave the bed", h.NS, r)
		}
	}
}

func (b *lanBed) dumpLogs() {
	entries, _ := os.ReadDir(b.logs)
	for _, e := range entries {
		data, _ := os.ReadFile(filepath.Join(b.logs, e.Name()))
		if len(data) > 8<<10 {
			data = data[len(data)-8<<10:]
		}
		b.t.Logf("--- %s (end) ---\n%s", e.Name(), data)
	}
}

// event is the part of an events-file line these tests read. "Peer" is a
// PeerInfo object in peer events and a node id in ChunkLanded.
type event struct {
	T      time.Time       `json:"t"`
	Type   string          `json:"type"`
	Peer   json.RawMessage `json:"Peer"`
	Reason string          `json:"Reason"`
	Size   int64           `json:"Size"`
	Done   int64           `json:"Done"`
	Peers  []share         `json:"Peers"`
}

type share struct {
	Peer     string `json:"Peer"`
	Name     string `json:"Name"`
	Bytes    int64  `json:"Bytes"`
	InFlight int    `json:"InFlight"`
}

type peerInfo struct {
	ID     string `json:"ID"`
	Name   string `json:"Name"`
	Addr   string `json:"Addr"`
	Source string `json:"Source"`
}

// peer decodes the PeerInfo of a peer event.
func (e event) peer() peerInfo {
	var p peerInfo
	_ = json.Unmarshal(e.Peer, &p) // a node id string in other events: stays zero
	return p
}

// readEvents parses the complete lines of an events file written by a
// process that may still be running; a missing file holds no events yet.
func readEvents(t *testing.T, path string) []event {
	t.Helper()
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	if i := bytes.LastIndexByte(data, '\n'); i >= 0 {
		data = data[:i+1]
	} else {
		return nil
	}
	var evs []event
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("events file %s has a bad line %q: %v", path, sc.Text(), err)
		}
		evs = append(evs, e)
	}
	return evs
}

// waitEvent polls the events file until an event matches, and returns it.
func waitEvent(t *testing.T, path string, timeout time.Duration, what string, match func(event) bool) event {
	t.Helper()
	var found event
	waitFor(t, timeout, what, func() bool {
		for _, e := range readEvents(t, path) {
			if match(e) {
				found = e
				return true
			}
		}
		return false
	})
	return found
}

// peerEvent matches events of type typ about the peer named name.
func peerEvent(typ, name string) func(event) bool {
	return func(e event) bool { return e.Type == typ && e.peer().Name == name }
}

// sendSignal sends sig to a process and returns when it was sent.
func sendSignal(t *testing.T, p *netbed.Proc, sig syscall.Signal) time.Time {
	t.Helper()
	at := time.Now()
	if err := p.Signal(sig); err != nil {
		t.Fatal(err)
	}
	return at
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	testkit.WaitFor(t, timeout, 50*time.Millisecond, what, cond)
}
