package core

import (
	"cmp"
	"context"
	"encoding/hex"
	"slices"
	"sync"
	"time"

	"github.com/dragonload/dragonload/core/link"
	"github.com/dragonload/dragonload/quicwire"
)

// SearchResult is one file room members share, found by Search.
type SearchResult struct {
	Name    string
	Size    int64
	SHA256  string   // 64 lowercase hex digits
	Holders []string // display names of the members sharing it
	// Link downloads it from its holders: a link with sha256, name and
	// size and no url.
	Link link.Link
}

// searchAsk bounds how long Search waits for one member.
const searchAsk = 3 * time.Second

// Search asks every ready room member for shared files whose names match
// words (case-insensitive; every word must appear in the name) and merges
// the answers by SHA-256: best matches first (each member ranks its own),
// then the files more members hold. Members that do not answer in time,
// or speak an older protocol, are left out.
func (e *Engine) Search(ctx context.Context, words string) []SearchResult {
	type hit struct {
		found quicwire.Found
		rank  int
		from  string
	}
	var (
		mu   sync.Mutex
		hits []hit
		wg   sync.WaitGroup
	)
	for _, p := range e.peers.Connected() {
		if e.banned(p.ID().String()) != "" {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			actx, cancel := context.WithTimeout(ctx, searchAsk)
			defer cancel()
			found, err := p.Search(actx, words)
			if err != nil {
				e.log.Debug("search not answered", "peer", p.Name(), "err", err)
				return
			}
			mu.Lock()
			for i, f := range found {
				hits = append(hits, hit{found: f, rank: i, from: p.Name()})
			}
			mu.Unlock()
		}()
	}
	wg.Wait()

	type merged struct {
		SearchResult
		rank int
	}
	bySum := make(map[[32]byte]*merged)
	var order []*merged
	for _, h := range hits {
		m := bySum[h.found.SHA256]
		if m == nil {
			sum := hex.EncodeToString(h.found.SHA256[:])
			m = &merged{SearchResult: SearchResult{
				Name: h.found.Name, Size: h.found.Size, SHA256: sum,
				Link: link.Link{SHA256: sum, Name: h.found.Name, Size: h.found.Size},
			}, rank: h.rank}
			bySum[h.found.SHA256] = m
			order = append(order, m)
		}
		if h.found.Size != m.Size {
			// Two sizes under one SHA-256: one member is wrong. The
			// download checks every byte, so listing the first is safe.
			continue
		}
		m.rank = min(m.rank, h.rank)
		if !slices.Contains(m.Holders, h.from) {
			m.Holders = append(m.Holders, h.from)
		}
	}
	slices.SortStableFunc(order, func(a, b *merged) int {
		if c := cmp.Compare(a.rank, b.rank); c != 0 {
			return c
		}
		if c := cmp.Compare(len(b.Holders), len(a.Holders)); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	out := make([]SearchResult, 0, len(order))
	for _, m := range order {
		slices.Sort(m.Holders)
		if m.Link.Validate() != nil {
			// A member's name for a file is not trusted to be a safe one.
			continue
		}
		out = append(out, m.SearchResult)
	}
	return out
}
