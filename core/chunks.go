package core

import (
	"cmp"
	"maps"
	"slices"

	"github.com/dragonload/dragonload/core/dlist"
	"github.com/dragonload/dragonload/core/span"
)

// The chunk map says who fetched each durable byte of a download. It is
// kept with the download list (core/dlist), so after a restart the window
// still shows which peer fetched what, by name. The partial file's journal
// (core/store) remains the authority on what is durable: when a run opens
// the partial file, the map is cut to what the journal holds, and emptied
// when the file starts over, and front ends are told with ChunksReset.

// resetChunks cuts the chunk map to the durable ranges of the partial file
// a run has just opened and announces the result.
func (d *download) resetChunks(durable span.Set) {
	d.mu.Lock()
	d.chunks = clipChunks(d.chunks, durable)
	d.done = durable.Size()
	ev := ChunksReset{ID: d.id, Durable: d.done, Chunks: cloneChunks(d.chunks)}
	d.recordLocked(false)
	d.mu.Unlock()
	d.e.bus.publish(ev)
}

// landChunk adds a durable range to the chunk map; d.mu is held.
func (d *download) landChunkLocked(c ChunkLanded) {
	d.chunks = appendChunk(d.chunks, c)
	d.recordLocked(false)
}

// chunkNamesLocked brings the names of the peers in the chunk map up to
// date (this run's sources, else the names saved with the list) and
// returns a copy; d.mu is held.
func (d *download) chunkNamesLocked() map[string]string {
	if len(d.chunks) == 0 {
		d.names = nil
		return nil
	}
	names := make(map[string]string)
	for _, c := range d.chunks {
		names[c.Peer] = ""
	}
	for id := range names {
		names[id] = d.names[id]
	}
	for _, s := range d.shares {
		if _, ok := names[s.Peer]; ok && s.Name != "" {
			names[s.Peer] = s.Name
		}
	}
	maps.DeleteFunc(names, func(_, name string) bool { return name == "" })
	d.names = names
	return maps.Clone(names)
}

// appendChunk adds c to the chunk map, extending the last entry when the
// same peer continues it, so the map stays small for large files.
func appendChunk(chunks []ChunkLanded, c ChunkLanded) []ChunkLanded {
	for i := len(chunks) - 1; i >= 0 && i >= len(chunks)-8; i-- {
		if last := &chunks[i]; last.Peer == c.Peer && last.Offset+last.Length == c.Offset {
			last.Length += c.Length
			return chunks
		}
	}
	return append(chunks, c)
}

// clipChunks keeps the parts of chunks that lie in durable. Later chunks
// win where two overlap, as in the window, so the order is kept.
func clipChunks(chunks []ChunkLanded, durable span.Set) []ChunkLanded {
	var out []ChunkLanded
	have := durable.Ranges()
	for _, c := range chunks {
		r := span.Range{Off: c.Offset, End: c.Offset + c.Length}
		if c.Length <= 0 || r.End < r.Off {
			continue // a hostile or broken list entry
		}
		for _, h := range have {
			if in := r.Intersect(h); !in.Empty() {
				out = append(out, ChunkLanded{ID: c.ID, Offset: in.Off, Length: in.Len(), Peer: c.Peer})
			}
		}
	}
	return out
}

func cloneChunks(chunks []ChunkLanded) []ChunkLanded {
	if len(chunks) == 0 {
		return nil
	}
	return append([]ChunkLanded(nil), chunks...)
}

// maxListChunks bounds the chunks saved per download. The whole list is
// rewritten often and 500 finished downloads stay in it, so a large file's
// thousands of runs must not go to disk; 256 pieces is about the chunk
// map's resolution on screen.
const maxListChunks = 256

// chunksToList converts the chunk map for the list on disk, coarsened to
// at most about maxListChunks pieces (see coarsen).
func chunksToList(chunks []ChunkLanded) []dlist.Chunk {
	if len(chunks) == 0 {
		return nil
	}
	chunks = coarsen(chunks, maxListChunks)
	out := make([]dlist.Chunk, len(chunks))
	for i, c := range chunks {
		out[i] = dlist.Chunk{Off: c.Offset, Len: c.Length, Peer: c.Peer}
	}
	return out
}

// coarsen merges touching chunks into pieces of at least 1/limit of the
// bytes covered, each credited to the peer that fetched most of it. Only
// touching chunks merge, so the bytes covered stay exactly the same (the
// pieces are at most limit plus the number of gaps); who fetched what
// becomes approximate at that resolution.
func coarsen(chunks []ChunkLanded, limit int) []ChunkLanded {
	if len(chunks) <= limit {
		return chunks
	}
	sorted := slices.SortedFunc(slices.Values(chunks), func(a, b ChunkLanded) int { return cmp.Compare(a.Offset, b.Offset) })
	var total int64
	for _, c := range sorted {
		total += c.Length
	}
	target := max(total/int64(limit), 1)
	var out []ChunkLanded
	var group ChunkLanded
	by := map[string]int64{}
	flush := func() {
		if group.Length > 0 {
			group.Peer = topPeer(by)
			out = append(out, group)
		}
		clear(by)
		group = ChunkLanded{}
	}
	for _, c := range sorted {
		end := group.Offset + group.Length
		if group.Length > 0 && (c.Offset > end || group.Length >= target) {
			flush()
		}
		if group.Length == 0 {
			group = ChunkLanded{ID: c.ID, Offset: c.Offset, Length: c.Length}
		} else {
			group.Length = max(end, c.Offset+c.Length) - group.Offset
		}
		by[c.Peer] += c.Length
	}
	flush()
	return out
}

// topPeer is the peer with the most bytes, the smallest id on a tie.
func topPeer(by map[string]int64) string {
	var best string
	for peer, n := range by {
		if best == "" || n > by[best] || n == by[best] && peer < best {
			best = peer
		}
	}
	return best
}

func chunksFromList(id DownloadID, chunks []dlist.Chunk) []ChunkLanded {
	var out []ChunkLanded
	for _, c := range chunks {
		out = append(out, ChunkLanded{ID: id, Offset: c.Off, Length: c.Len, Peer: c.Peer})
	}
	return out
}
