package core

import (
	"fmt"
	"testing"

	"github.com/dragonload/dragonload/core/span"
)

// TestCoarsen: a chunk map of thousands of runs is saved as at most about
// maxListChunks pieces covering exactly the same bytes, each credited to
// the peer that fetched most of it.
func TestCoarsen(t *testing.T) {
	var chunks []ChunkLanded
	// 4000 runs of 1 KiB over 4 MB, alternating two peers in a 3:1 ratio,
	// with one gap in the middle.
	for i := range 4000 {
		if i == 2000 {
			continue
		}
		peer := "a"
		if i%4 == 3 {
			peer = "b"
		}
		chunks = append(chunks, ChunkLanded{Offset: int64(i) * 1024, Length: 1024, Peer: peer})
	}
	got := coarsen(chunks, 256)
	if len(got) > 256+1 {
		t.Errorf("%d pieces, want at most 257 (the limit plus one gap)", len(got))
	}
	var want, have span.Set
	for _, c := range chunks {
		want.Add(span.Range{Off: c.Offset, End: c.Offset + c.Length})
	}
	for _, c := range got {
		have.Add(span.Range{Off: c.Offset, End: c.Offset + c.Length})
		if c.Peer != "a" {
			t.Errorf("piece %+v credited to %s; a fetched 3/4 of every piece", c, c.Peer)
			break
		}
	}
	if !have.Equal(&want) {
		t.Errorf("coarsened map covers %v, want %v", have.String(), want.String())
	}
	small := chunks[:10]
	if got := coarsen(small, 256); fmt.Sprint(got) != fmt.Sprint(small) {
		t.Errorf("a small map changed: %v", got)
	}
}
