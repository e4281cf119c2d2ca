package ui

import (
	"maps"
	"reflect"
	"slices"
	"testing"

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
