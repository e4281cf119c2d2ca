package core_test

import (
	"context"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dragonload/dragonload/core"
	"github.com/dragonload/dragonload/core/config"
	"github.com/dragonload/dragonload/core/link"
	"github.com/dragonload/dragonload/quicwire"
	testorigin "github.com/dragonload/dragonload/test/origin"
	"github.com/dragonload/dragonload/test/testkit"
)

// liar is a room member that answers every fetch with the test file's
// bytes, altered in one request out of every, with a correct end-of-stream
// checksum over what it sent (quicwire computes it over the writes): what
// a dishonest member who knows the room code can do.
type liar struct {
	seed  int64
	every int64
	n     atomic.Int64
}

func (l *liar) ServeFetch(ctx context.Context, _ quicwire.PeerInfo, req quicwire.FetchRequest, w io.Writer) error {
	b := testorigin.Content(l.seed, req.Offset, req.Length)
	if l.n.Add(1)%l.every == 0 {
		for i := range b {
			b[i] ^= 0x20
		}
	}
	// At about 4 MB/s, so that this node's own source takes part too.
	for len(b) > 0 {
		k := min(len(b), 256<<10)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(60 * time.Millisecond):
		}
		if _, err := w.Write(b[:k]); err != nil {
			return err
		}
		b = b[k:]
	}
	return nil
}

func startLiar(t *testing.T, seed int64, every int64) (*quicwire.Node, *liar) {
	t.Helper()
	id, err := quicwire.NewIdentity()
	if err != nil {
		t.Fatal(err)
	}
	l := &liar{seed: seed, every: every}
	n, err := quicwire.Listen(quicwire.Config{
		Identity: id, Room: quicwire.NewRoom(room), Name: "mallory", Listen: "127.0.0.61:0",
		Handler: l, Lending: func() bool { return true },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n, l
}

// TestLiarIsBanned: a room member that alters the bytes of one request in
// two is caught by a spot check while the download runs, banned (in the
// settings, for every later download, shown in the peer list) and the file
// is repaired from the origin: it ends right although the link has no
// SHA-256 to catch it at the end.
func TestLiarIsBanned(t *testing.T) {
	const size = 24 * mib
	o := startOrigin(t, testorigin.Config{Size: size, Seed: seed, RatePerSource: 4 * mib})
	mallory, lies := startLiar(t, seed, 2)
	home := t.TempDir()
	e := newEngine(t, func(c *core.Config) {
		c.Home, c.Peers = home, []string{mallory.Addr().String()}
		c.Source = net.ParseIP("127.0.0.60")
	})
	events, cancel := e.Subscribe()
	defer cancel()
	testkit.WaitFor(t, 10*time.Second, 20*time.Millisecond, "the liar to be ready", func() bool {
		for _, p := range e.Peers() {
			if p.Ready && p.Lending {
				return true
			}
		}
		return false
	})
	id, err := e.Add(o.URL(), "")
	if err != nil {
		t.Fatal(err)
	}
	notices := noticesUntilEnd(t, events, id)
	snap := e.Downloads()[0]
	if snap.State != core.StateDone || testkit.FileSHA256(t, snap.Path) != testorigin.SumSHA256(seed, size) {
		t.Fatalf("the download ended %v (%v) with the wrong bytes or none", snap.State, snap.Err)
	}
	joined := strings.Join(notices, "\n")
	if !strings.Contains(joined, "mallory") || !strings.Contains(joined, "will not use it") {
		t.Errorf("no notice names the banned liar:\n%s", joined)
	}
	var shown string
	for _, p := range e.Peers() {
		if p.Name == "mallory" {
			shown = p.Banned
		}
	}
	if shown == "" {
		t.Errorf("the peer list does not show mallory as banned: %+v", e.Peers())
	}
	// Later events about the peer (here a nickname) still say so, so a
	// window that follows the events keeps showing it banned.
	if err := e.RenamePeer(mallory.ID().String(), "mal"); err != nil {
		t.Fatal(err)
	}
	for seen := false; !seen; {
		select {
		case ev := <-events:
			if u, ok := ev.(core.PeerUpdated); ok && u.Peer.Name == "mal" {
				if u.Peer.Banned == "" {
					t.Errorf("an update about the banned peer does not say it is banned: %+v", u.Peer)
				}
				seen = true
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no update after renaming the peer")
		}
	}

	// The next download does not ask mallory for anything.
	asked := lies.n.Load()
	id2, err := e.Add(o.URL()+"?again", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if end := finish(t, events, id2, time.Minute); end.State != core.StateDone {
		t.Fatalf("the second download: %v %v", end.State, end.Err)
	}
	if n := lies.n.Load() - asked; n != 0 {
		t.Errorf("the banned peer was asked for %d more requests", n)
	}
	e.Close()
	s, _, err := config.Load(home)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Banned) != 1 {
		t.Errorf("the ban was not saved: %v", s.Banned)
	}
}

// TestBlameAfterChecksum: with spot checks off and a SHA-256 in the link,
// a liar's altered bytes make the whole file fail its hash. The download
// does not just fail: the lenders' bytes are checked against the origin,
// the liar is named and banned, its bytes are rewritten, and the file ends
// right under its name.
func TestBlameAfterChecksum(t *testing.T) {
	const size = 24 * mib
	o := startOrigin(t, testorigin.Config{Size: size, Seed: seed, RatePerSource: 4 * mib})
	mallory, _ := startLiar(t, seed, 2)
	home := t.TempDir()
	if err := config.Save(home, config.Settings{Room: room, NoSpotChecks: true}); err != nil {
		t.Fatal(err)
	}
	e := newEngine(t, func(c *core.Config) {
		c.Home, c.Peers = home, []string{mallory.Addr().String()}
		c.Source = net.ParseIP("127.0.0.62")
	})
	testkit.WaitFor(t, 10*time.Second, 20*time.Millisecond, "the liar to be ready", func() bool {
		ps := e.Peers()
		return len(ps) == 1 && ps[0].Ready
	})
	events, cancel := e.Subscribe()
	defer cancel()
	id, err := e.AddLink(link.Link{URL: o.URL(), SHA256: testorigin.SumSHA256(seed, size)}, "")
	if err != nil {
		t.Fatal(err)
	}
	end := finish(t, events, id, time.Minute)
	if end.State != core.StateDone || testkit.FileSHA256(t, end.Path) != testorigin.SumSHA256(seed, size) {
		t.Fatalf("ended %v (%v): want the repaired file", end.State, end.Err)
	}
	if e.Peers()[0].Banned == "" || !strings.Contains(e.Peers()[0].Banned, "SHA-256") {
		t.Errorf("the liar is not banned for the failed hash: %+v", e.Peers()[0])
	}
	if snap := e.Downloads()[0]; !strings.Contains(snap.Note, "now matches its SHA-256") {
		t.Errorf("the download's note does not tell of the repair: %q", snap.Note)
	}
}

// noticesUntilEnd collects the notices the engine publishes until download
// id reaches a final state, within a minute.
func noticesUntilEnd(t *testing.T, events <-chan core.Event, id core.DownloadID) []string {
	t.Helper()
	var notices []string
	deadline := time.After(time.Minute)
	for {
		select {
		case ev := <-events:
			switch ev := ev.(type) {
			case core.Notice:
				notices = append(notices, ev.Text)
			case core.DownloadStateChanged:
				if ev.ID == id && ev.State.Final() {
					return notices
				}
			}
		case <-deadline:
			t.Fatal("the download did not end")
		}
	}
}
