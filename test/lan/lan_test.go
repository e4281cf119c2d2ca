package lan

import (
	"bytes"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dragonload/dragonload/quicwire"
	"github.com/dragonload/dragonload/test/netbed"
	"github.com/dragonload/dragonload/test/testkit"
)

// Limits from issue 3. peersSlack is what `peers --wait 3s` may take beyond
// its wait: process start and the room key derivation (Argon2id, about
// 0.3 s of CPU), both before the wait begins, and a clean shutdown. It only
// catches a command that hangs; the listing itself shows that the peers were
// ready within the wait.
const (
	peersWait  = 3 * time.Second
	peersSlack = time.Second
	termLoss   = 2 * time.Second
	killLoss   = 10 * time.Second
)

// TestPeersListsRoom runs agents on h1 and h2 in one room and on h3 in
// another; `dragonload peers --wait 3s` on h4 lists exactly h1 and h2.
func TestPeersListsRoom(t *testing.T) {
	b := newBed(t, 4, "peers")
	b.checkSealed()
	room, other := quicwire.GenerateRoomCode(), quicwire.GenerateRoomCode()
	b.agent(1, room)
	b.agent(2, room)
	b.agent(3, other)

	cmd := netbed.Command(b.bed.Host(4).NS, dragonload, "peers", "--wait", peersWait.String(),
		"--room", room, "--home", t.TempDir(), "--name", "h4", "--listen", listen(4), "--log-level", "info")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	began := time.Now()
	p, err := b.bed.Start("peers", cmd)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Wait(peersWait + 10*time.Second) {
		t.Fatalf("dragonload peers --wait %v still runs after %v", peersWait, time.Since(began).Round(time.Millisecond))
	}
	took := time.Since(began)
	if code := p.ExitCode(); code != 0 {
		t.Fatalf("dragonload peers exited %d; stderr:\n%s", code, stderr.String())
	}
	t.Logf("dragonload peers --wait %v returned after %v; peers ready after %s; it printed:\n%s",
		peersWait, took.Round(time.Millisecond), readyTimes(stderr.String(), began), stdout.String())

	rows := peerRows(t, stdout.String())
	var names []string
	for _, r := range rows {
		names = append(names, r.name)
		if r.foundBy != "mdns" {
			t.Errorf("peer %s was found by %q, want mdns (no --peer was given)", r.name, r.foundBy)
		}
	}
	slices.Sort(names)
	if want := []string{"h1", "h2"}; !slices.Equal(names, want) {
		t.Errorf("dragonload peers lists %v, want exactly the same-room agents %v; stderr:\n%s", names, want, stderr.String())
	}
	if took > peersWait+peersSlack {
		t.Errorf("dragonload peers --wait %v returned after %v, more than %v", peersWait, took.Round(time.Millisecond), peersWait+peersSlack)
	}
}

// TestPeerLost watches the peer table of a running download on h4 while one
// agent is stopped with SIGTERM and another killed with SIGKILL.
func TestPeerLost(t *testing.T) {
	b := newBed(t, 4, "lost")
	room := quicwire.GenerateRoomCode()
	// Slow enough that the download outlives the test: it is only the
	// vantage point (and proves that losing lenders does not end it).
	url, _ := b.origin(64<<20, 256<<10)
	term := b.agent(1, room)
	kill := b.agent(2, room)

	events := filepath.Join(t.TempDir(), "events.jsonl")
	began := time.Now()
	get := b.start("get", 4, "get", url, "--room", room, "--home", t.TempDir(), "--name", "h4",
		"--listen", listen(4), "--out", t.TempDir(), "--allow-private-origins", "--events", events)
	ids := map[string]string{}
	for _, name := range []string{"h1", "h2"} {
		ready := waitEvent(t, events, 15*time.Second, name+" ready on h4", peerEvent("PeerReady", name))
		ids[name] = ready.peer().ID
		t.Logf("%s ready on h4 %v after dragonload get started", name, ready.T.Sub(began).Round(time.Millisecond))
	}
	// Lose them mid-transfer, with requests outstanding, as in real life.
	waitEvent(t, events, 15*time.Second, "both agents lending to h4", func(e event) bool {
		busy := 0
		for _, s := range e.Peers {
			if (s.Peer == ids["h1"] || s.Peer == ids["h2"]) && (s.InFlight > 0 || s.Bytes > 0) {
				busy++
			}
		}
		return e.Type == "DownloadProgress" && busy == 2
	})

	for _, c := range []struct {
		name  string
		proc  *netbed.Proc
		sig   syscall.Signal
		limit time.Duration
	}{
		{"h1", term, syscall.SIGTERM, termLoss},
		{"h2", kill, syscall.SIGKILL, killLoss},
	} {
		sent := sendSignal(t, c.proc, c.sig)
		lost := waitEvent(t, events, c.limit+5*time.Second, c.name+" lost on h4", peerEvent("PeerLost", c.name))
		after := lost.T.Sub(sent)
		t.Logf("%v to %s: h4 lost it after %v (reason %q)", c.sig, c.name, after.Round(time.Millisecond), lost.Reason)
		if after > c.limit {
			t.Errorf("after %v, h4 lost %s only after %v, more than %v", c.sig, c.name, after.Round(time.Millisecond), c.limit)
		}
		select {
		case <-get.Done():
			t.Fatalf("dragonload get on h4 exited %d when %s went away; the download should go on", get.ExitCode(), c.name)
		default:
		}
	}
}

// TestLateAgentJoins starts a download on h4 with one agent (h1) and a
// second agent (h2) a fifth of the way through; h2 must fetch a share of
// what remains, and the file must come out right.
func TestLateAgentJoins(t *testing.T) {
	b := newBed(t, 4, "late")
	room := quicwire.GenerateRoomCode()
	// h4 and h1 together fetch 1 MiB/s: about 16 s alone, fewer once h2
	// joins with its own 512 KiB/s.
	const size = 16 << 20
	url, sum := b.origin(size, 512<<10)
	b.agent(1, room)

	events := filepath.Join(t.TempDir(), "events.jsonl")
	out := t.TempDir()
	get := b.start("get", 4, "get", url, "--room", room, "--home", t.TempDir(), "--name", "h4",
		"--listen", listen(4), "--out", out, "--allow-private-origins", "--events", events)
	waitEvent(t, events, 15*time.Second, "h1 ready on h4", peerEvent("PeerReady", "h1"))
	waitEvent(t, events, 30*time.Second, "a fifth of the file", func(e event) bool {
		return e.Type == "DownloadProgress" && e.Done >= size/5
	})
	started := time.Now()
	b.agent(2, room)
	joined := waitEvent(t, events, 15*time.Second, "h2 ready on h4", peerEvent("PeerReady", "h2"))
	late := joined.peer().ID
	t.Logf("h2 ready on h4 %v after its agent started", joined.T.Sub(started).Round(time.Millisecond))

	if !get.Wait(60 * time.Second) {
		t.Fatal("dragonload get did not finish within 60 s")
	}
	if code := get.ExitCode(); code != 0 {
		t.Fatalf("dragonload get exited %d", code)
	}

	evs := readEvents(t, events)
	var before, final *event
	for i := range evs {
		e := &evs[i]
		if e.Type == "PeerReady" && e.peer().Source != "mdns" {
			t.Errorf("peer %s was found by %q, want mdns (no --peer was given)", e.peer().Name, e.peer().Source)
		}
		if e.Type != "DownloadProgress" {
			continue
		}
		if !e.T.After(joined.T) {
			before = e
		}
		final = e
	}
	if before == nil || before.Done >= size {
		t.Fatalf("h2 became ready at %v, not while the download ran (progress then: %+v)", joined.T, before)
	}
	if final == nil || final.Done != size {
		t.Fatalf("the last progress report is %+v, want all %d bytes", final, size)
	}
	var got int64
	var shares []string
	for _, s := range final.Peers {
		shares = append(shares, s.Name+"="+byteCount(s.Bytes))
		if s.Peer == late {
			got = s.Bytes
		}
	}
	t.Logf("h2 joined with %s of %s done; final shares: %s", byteCount(before.Done), byteCount(size), strings.Join(shares, " "))
	if got <= 0 {
		t.Errorf("the late agent h2 (%s) has no share of the download: %s", late, strings.Join(shares, " "))
	}

	files := testkit.VisibleFiles(t, out)
	if len(files) != 1 {
		t.Fatalf("the output folder holds %v, want one file", files)
	}
	if s := testkit.FileSHA256(t, filepath.Join(out, files[0])); s != sum {
		t.Errorf("sha256 of the download is %s, the origin's %s", s, sum)
	}
}

// peerRow is one line of `dragonload peers` output.
type peerRow struct{ name, node, addr, lending, rtt, foundBy string }

// peerRows parses the table `dragonload peers` prints: a header, then one
// row per ready peer; nothing at all when it found none. Names in these
// tests hold no spaces.
func peerRows(t *testing.T, out string) []peerRow {
	t.Helper()
	if out == "" {
		return nil
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if !strings.HasPrefix(lines[0], "NAME") {
		t.Fatalf("dragonload peers printed no table header:\n%s", out)
	}
	var rows []peerRow
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) != 6 {
			t.Fatalf("dragonload peers printed a row of %d columns, want 6: %q", len(f), l)
		}
		rows = append(rows, peerRow{f[0], f[1], f[2], f[3], f[4], f[5]})
	}
	return rows
}

// readyTimes reads when each peer became ready from the log lines of
// `dragonload peers --log-level info`, relative to began, for the test log.
func readyTimes(log string, began time.Time) string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if !strings.Contains(l, `msg="peer ready"`) {
			continue
		}
		var at time.Time
		var name string
		for _, f := range strings.Fields(l) {
			if v, ok := strings.CutPrefix(f, "time="); ok {
				at, _ = time.Parse(time.RFC3339Nano, v)
			}
			if v, ok := strings.CutPrefix(f, "name="); ok {
				name = v
			}
		}
		out = append(out, fmt.Sprintf("%s %v", name, at.Sub(began).Round(time.Millisecond)))
	}
	if out == nil {
		return "(none logged)"
	}
	return strings.Join(out, ", ")
}

func byteCount(n int64) string { return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20)) }
