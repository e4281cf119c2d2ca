package ui

import (
	"maps"
	"testing"

	"github.com/dragonload/dragonload/core"
)

// TestModelChunksReset: a run that opens the partial file replaces the
// chunk map. Starting over empties it (no stale colours, no "before a
// restart" share for bytes that are gone); a resume keeps what the file
// holds, under the names saved with the list.
func TestModelChunksReset(t *testing.T) {
	m := newModel()
	m.seed([]core.DownloadSnapshot{{
		ID: "a", State: core.StateQueued, Size: 100, Done: 70,
		Chunks: []core.ChunkLanded{
			{ID: "a", Offset: 0, Length: 40, Peer: core.SelfPeer},
			{ID: "a", Offset: 40, Length: 30, Peer: "P"},
		},
		Names: map[string]string{"P": "attic"},
	}}, nil, false)
	d := m.downloads["a"]
	if got := shareLabel(shareOf(d, "P"), false); got != "attic" {
		t.Errorf("a restored peer is called %q, want the saved name attic", got)
	}
	if got := sharesOf(d); !maps.Equal(got, map[string]int64{core.SelfPeer: 40, "P": 30}) {
		t.Errorf("restored shares %v", got)
	}

	// The run resumes: the journal holds only the first 50 bytes.
	m.apply(core.ChunksReset{ID: "a", Durable: 50, Chunks: []core.ChunkLanded{
		{ID: "a", Offset: 0, Length: 40, Peer: core.SelfPeer},
		{ID: "a", Offset: 40, Length: 10, Peer: "P"},
	}})
	if got := sharesOf(d); !maps.Equal(got, map[string]int64{core.SelfPeer: 40, "P": 10}) {
		t.Errorf("after a resume, shares %v", got)
	}

	// The file changed on the server: the run starts from nothing.
	m.apply(core.ChunksReset{ID: "a", Durable: 0})
	if got := sharesOf(d); len(got) != 0 {
		t.Errorf("after starting over, shares %v, want none", got)
	}
	if d.covered() != 0 || d.priorBytes() != 0 || d.Done != 0 {
		t.Errorf("after starting over: covered %d, prior %d, done %d; want 0, 0, 0", d.covered(), d.priorBytes(), d.Done)
	}
	if !m.chunksDirty["a"] {
		t.Error("the chunk map is not redrawn after a reset")
	}
}

// sharesOf is a download's legend as peer → bytes, leaving out peers with
// no bytes.
func sharesOf(d *download) map[string]int64 {
	out := map[string]int64{}
	for _, p := range d.shares() {
		if p.Bytes > 0 {
			out[p.Peer] = p.Bytes
		}
	}
	return out
}

// shareOf is peer's entry in a download's legend.
func shareOf(d *download, peer string) core.PeerShare {
	for _, p := range d.shares() {
		if p.Peer == peer {
			return p
		}
	}
	return core.PeerShare{}
}
