package ui

import (
	"maps"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/dragonload/dragonload/core"
)

// TestModelResync: after a Resync the model is stale until seeded again,
// and seeding replaces what the missed events would have changed: states,
// rates, peers that left, lending.
func TestModelResync(t *testing.T) {
	tests := []struct {
		name      string
		downloads []core.DownloadSnapshot
		peers     []core.PeerInfo
		lending   bool
		wantState map[core.DownloadID]core.State
		wantRate  map[core.DownloadID]float64
		wantPeers []string
		wantLent  []string // peers with a lend rate
	}{{
		name: "download finished and a peer left",
		downloads: []core.DownloadSnapshot{
			{ID: "a", State: core.StateDone, Size: 10, Done: 10},
			{ID: "b", State: core.StateDownloading, Size: 10},
		},
		peers:     []core.PeerInfo{{ID: "y", Ready: true}},
		lending:   true,
		wantState: map[core.DownloadID]core.State{"a": core.StateDone, "b": core.StateDownloading},
		wantRate:  map[core.DownloadID]float64{"a": 0, "b": 0},
		wantPeers: []string{"y"},
		wantLent:  []string{"y"},
	}, {
		name: "still running, lending switched off",
		downloads: []core.DownloadSnapshot{
			{ID: "a", State: core.StateDownloading, Size: 10, Done: 5},
		},
		peers:     []core.PeerInfo{{ID: "x", Ready: true}, {ID: "y", Ready: true}},
		wantState: map[core.DownloadID]core.State{"a": core.StateDownloading},
		wantRate:  map[core.DownloadID]float64{"a": 7},
		wantPeers: []string{"x", "y"},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := newModel()
			for _, ev := range []core.Event{
				core.DownloadAdded{ID: "a"},
				core.DownloadStateChanged{ID: "a", State: core.StateDownloading},
				core.DownloadProgress{ID: "a", Size: 10, Done: 5, Rate: 7},
				core.PeerReady{Peer: core.PeerInfo{ID: "x", Ready: true}},
				core.PeerReady{Peer: core.PeerInfo{ID: "y", Ready: true}},
				core.LendingChanged{On: true},
				core.Lent{Peer: "x", Rate: 1}, core.Lent{Peer: "y", Rate: 1},
			} {
				m.apply(ev)
			}
			if m.stale {
				t.Fatal("stale before any Resync")
			}
			m.apply(core.Resync{From: 9, To: 20})
			if !m.stale {
				t.Fatal("a Resync did not mark the model stale")
			}
			m.listDirty, m.peersDirty, m.statusDirty = false, false, false
			m.seed(tc.downloads, tc.peers, tc.lending)
			if m.stale {
				t.Error("still stale after seeding")
			}
			if !m.listDirty || !m.peersDirty || !m.statusDirty {
				t.Error("seeding did not ask for a redraw")
			}
			for id, want := range tc.wantState {
				d := m.downloads[id]
				if d == nil {
					t.Fatalf("download %s missing", id)
				}
				if d.State != want || d.Rate != tc.wantRate[id] {
					t.Errorf("download %s: %v at %v, want %v at %v", id, d.State, d.Rate, want, tc.wantRate[id])
				}
			}
			if got := slices.Sorted(maps.Keys(m.peers)); !reflect.DeepEqual(got, tc.wantPeers) {
				t.Errorf("peers %v, want %v", got, tc.wantPeers)
			}
			if got := slices.Sorted(maps.Keys(m.lendRates)); !reflect.DeepEqual(got, tc.wantLent) {
				t.Errorf("lend rates for %v, want %v", got, tc.wantLent)
			}
			if m.lending != tc.lending {
				t.Errorf("lending %v, want %v", m.lending, tc.lending)
			}
		})
	}
}

// TestModelSeedOrderAndRemove: a window opened after the engine started
// lists downloads newest first, as they were added (the engine lists them
// oldest first), not by their random ids; a removed download leaves the
// list.
func TestModelSeedOrderAndRemove(t *testing.T) {
	m := newModel()
	m.seed([]core.DownloadSnapshot{
		{ID: "zz", State: core.StateDone},
		{ID: "aa", State: core.StatePaused},
		{ID: "mm", State: core.StateQueued},
	}, nil, false)
	if want := []core.DownloadID{"mm", "aa", "zz"}; !slices.Equal(m.order, want) {
		t.Fatalf("order %v, want %v", m.order, want)
	}
	m.apply(core.DownloadRemoved{ID: "aa"})
	if _, ok := m.downloads["aa"]; ok || !slices.Equal(m.order, []core.DownloadID{"mm", "zz"}) {
		t.Errorf("after removing aa: order %v", m.order)
	}
}

// TestModelShares: shares come from the chunk map; where pieces overlap
// (a file that started over) the later one counts, and nothing past the
// end of the file counts.
func TestModelShares(t *testing.T) {
	m := newModel()
	m.apply(core.DownloadProgress{ID: "a", Size: 100, Done: 100,
		Peers: []core.PeerShare{{Peer: "P", Name: "attic", Bytes: 1, Rate: 9}}})
	for _, c := range []core.ChunkLanded{
		{ID: "a", Offset: 0, Length: 60, Peer: core.SelfPeer},
		{ID: "a", Offset: 40, Length: 40, Peer: "P"},           // over this machine's 40..60
		{ID: "a", Offset: 80, Length: 40, Peer: core.SelfPeer}, // 20 bytes past the end
	} {
		m.apply(c)
	}
	d := m.downloads["a"]
	got := map[string]int64{}
	for _, p := range d.shares() {
		got[p.Peer] = p.Bytes
	}
	want := map[string]int64{core.SelfPeer: 60, "P": 40}
	if !maps.Equal(got, want) {
		t.Errorf("shares %v, want %v", got, want)
	}
	if n := d.covered(); n != 100 {
		t.Errorf("covered %d, want 100", n)
	}
	for _, p := range d.shares() {
		if p.Peer == "P" && (p.Name != "attic" || p.Rate != 9) {
			t.Errorf("attic's share lost its name or rate: %+v", p)
		}
	}
}

// TestModelPriorBytes: bytes from before the chunk map began are counted
// between runs and not confused with the current run's bytes that are not
// durable yet.
func TestModelPriorBytes(t *testing.T) {
	m := newModel()
	// A window opened on a download restored after a restart and already
	// running again: 600 bytes from before, 100 of this run written, 50
	// of them durable.
	m.seed([]core.DownloadSnapshot{{
		ID: "r", State: core.StateDownloading, Size: 1000, Done: 700,
		Peers:  []core.PeerShare{{Peer: core.SelfPeer, Bytes: 100}},
		Chunks: []core.ChunkLanded{{ID: "r", Offset: 600, Length: 50, Peer: core.SelfPeer}},
	}}, nil, false)
	d := m.downloads["r"]
	if n := d.priorBytes(); n != 600 {
		t.Errorf("prior %d, want 600", n)
	}
	// A fresh download: what is not durable yet is not "before a restart".
	m.apply(core.DownloadStateChanged{ID: "n", State: core.StateDownloading})
	m.apply(core.ChunkLanded{ID: "n", Offset: 0, Length: 100, Peer: core.SelfPeer})
	m.apply(core.DownloadProgress{ID: "n", Size: 1000, Done: 300})
	if n := m.downloads["n"].priorBytes(); n != 0 {
		t.Errorf("a fresh download has %d prior bytes, want 0", n)
	}
	// Paused, everything written is durable: still none.
	m.apply(core.ChunkLanded{ID: "n", Offset: 100, Length: 200, Peer: core.SelfPeer})
	m.apply(core.DownloadStateChanged{ID: "n", State: core.StatePaused})
	if n := m.downloads["n"].priorBytes(); n != 0 {
		t.Errorf("a paused download has %d prior bytes, want 0", n)
	}
}

// TestModelSeedSortsByAdded: the list is newest first by when downloads
// were added, whatever order the snapshots come in; downloads without a
// time (a list saved before times were kept) go last, in engine order.
func TestModelSeedSortsByAdded(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	m := newModel()
	m.seed([]core.DownloadSnapshot{
		{ID: "old1"}, {ID: "b", Added: t0.Add(2 * time.Hour)}, {ID: "old2"},
		{ID: "a", Added: t0.Add(time.Hour)}, {ID: "c", Added: t0.Add(3 * time.Hour)},
	}, nil, false)
	if want := []core.DownloadID{"c", "b", "a", "old2", "old1"}; !slices.Equal(m.order, want) {
		t.Errorf("order %v, want %v", m.order, want)
	}
}

// TestModelTimes: a window open while a download runs stamps when it was
// added and ended; a retry clears the end.
func TestModelTimes(t *testing.T) {
	m := newModel()
	clock := time.Date(2025, 1, 1, 10, 0, 0, 0, time.UTC)
	m.now = func() time.Time { return clock }
	m.apply(core.DownloadAdded{ID: "a"})
	clock = clock.Add(90 * time.Second)
	m.apply(core.DownloadStateChanged{ID: "a", State: core.StateFailed})
	d := m.downloads["a"]
	if got := d.Ended.Sub(d.Added); got != 90*time.Second {
		t.Errorf("took %v, want 90s", got)
	}
	m.apply(core.DownloadStateChanged{ID: "a", State: core.StateQueued})
	if !d.Ended.IsZero() {
		t.Error("a retried download keeps its end time")
	}
}

// TestModelSharesOverlap: the later of overlapping pieces wins, whatever
// their order in the file.
func TestModelSharesOverlap(t *testing.T) {
	d := &download{Size: 100}
	for _, s := range []span{{0, 100, 1}, {10, 20, 2}, {20, 50, 3}, {25, 5, 1}, {90, 30, 2}} {
		d.spans = append(d.spans, s)
		d.rev++
	}
	// 1: 0..10, 25..30 (later piece), 70..90; 2: 10..20, 90..100; 3: 20..25, 30..70.
	want := map[int]int64{1: 10 + 5 + 20, 2: 10 + 10, 3: 5 + 40}
	if got := d.byColor(); !maps.Equal(got, want) {
		t.Errorf("byColor %v, want %v", got, want)
	}
}

// BenchmarkShares: a 10 GB file fetched in 1 MiB chunks by two peers in
// turn has 10 000 pieces in its map.
func BenchmarkShares(b *testing.B) {
	d := &download{Size: 10_000 << 20}
	for i := range int64(10_000) {
		d.spans = append(d.spans, span{i << 20, 1 << 20, int(i % 2)})
	}
	for b.Loop() {
		d.rev++
		d.byColor()
	}
}

// TestModelNotes: the model keeps each member's last note for noteLife,
// by its own clock; an empty note, the member leaving and a Resync clear
// it, and a note after the Resync counts again. helping lists what this
// machine lends to, by member name.
func TestModelNotes(t *testing.T) {
	m := newModel()
	clock := time.Date(2025, 1, 1, 10, 0, 0, 0, time.UTC)
	m.now = func() time.Time { return clock }
	ubuntu := core.PeerDownload{File: "ubuntu.iso", Done: 43, Size: 100, Helping: true}
	other := core.PeerDownload{File: "other.bin", Done: 1, Size: 2}
	m.apply(core.PeerReady{Peer: readyX})
	m.apply(core.PeerNote{Peer: readyX.ID, Name: "vm-3fa2", Downloads: []core.PeerDownload{other, ubuntu}})
	m.apply(core.PeerNote{Peer: "ZZZZZZZZZZZZ", Name: "attic", Downloads: []core.PeerDownload{ubuntu}})
	m.apply(core.PeerNote{Peer: readyY.ID, Name: "vm-81c0", Downloads: []core.PeerDownload{other}})
	if want := "helping attic: ubuntu.iso 43 %; vm-3fa2: ubuntu.iso 43 %"; m.helpingLine() != want {
		t.Errorf("helping line %q, want %q", m.helpingLine(), want)
	}
	if at, ok := m.nextExpiry(); !ok || !at.Equal(clock.Add(noteLife)) {
		t.Errorf("next expiry %v %v, want %v", at, ok, clock.Add(noteLife))
	}

	m.peersDirty, m.statusDirty = false, false
	m.apply(core.PeerNote{Peer: "ZZZZZZZZZZZZ", Name: "attic"})
	if m.downloadsOf("ZZZZZZZZZZZZ") != nil || !m.peersDirty || !m.statusDirty {
		t.Errorf("an empty note left %v (redraw peers %v, status %v)", m.downloadsOf("ZZZZZZZZZZZZ"), m.peersDirty, m.statusDirty)
	}

	clock = clock.Add(3 * time.Second)
	m.apply(core.PeerNote{Peer: readyY.ID, Name: "vm-81c0", Downloads: []core.PeerDownload{other}})
	clock = clock.Add(3 * time.Second) // vm-3fa2's note is 6 s old, vm-81c0's 3 s
	if m.downloadsOf(readyX.ID) != nil {
		t.Error("a 6 s old note still shows")
	}
	if !m.expireNotes() || len(m.notes) != 1 || m.downloadsOf(readyY.ID) == nil {
		t.Errorf("after expiry: %v", m.notes)
	}
	if m.expireNotes() {
		t.Error("expired twice")
	}

	m.apply(core.PeerNote{Peer: readyX.ID, Name: "vm-3fa2", Downloads: []core.PeerDownload{ubuntu}})
	m.apply(core.PeerLost{Peer: readyX, Reason: "connection closed"})
	if m.downloadsOf(readyX.ID) != nil || m.helpingLine() != "" {
		t.Errorf("a member lost keeps its note: %v", m.notes)
	}

	m.apply(core.Resync{From: 1, To: 5})
	m.apply(core.PeerNote{Peer: readyX.ID, Name: "vm-3fa2", Downloads: []core.PeerDownload{ubuntu}})
	if len(m.notes) != 1 || m.downloadsOf(readyX.ID) == nil {
		t.Errorf("after a Resync and a new note: %v", m.notes)
	}
	if _, ok := m.nextExpiry(); !ok {
		t.Error("no expiry with a note")
	}
}
