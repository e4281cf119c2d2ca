package core

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"

	"github.com/dragonload/dragonload/core/origin"
	"github.com/dragonload/dragonload/core/transfer"
	"github.com/dragonload/dragonload/quicwire"
)

// Mirrors (a link's `mirrors`) are more origins for the same bytes. Every
// participant may fetch any range from any origin, so the transfer gets one
// source per participant × origin pair, and its scheduler spreads the work
// over the pairs by their measured rates like over any other sources.
//
// A mirror is probed once, in the background, so it never delays the
// start. It joins only when it describes the same file: the same size as
// the pinned origin, and (below) its own validators stay the same for the
// rest of the download. Validators are not compared across origins:
// different servers label the same bytes differently. A mirror that
// disagrees, refuses or fails for good is dropped with a notice naming it,
// and the download goes on from the rest; a link's SHA-256, checked at the
// end, and the spot checks (which compare a mirror's bytes with the pinned
// origin's, as for a lender) catch a mirror that serves other bytes under
// the same size. The link's headers are not sent to mirrors: they were
// given for the link's own host.

// pairs keeps a transfer's sources: this node and each lender, each with
// the pinned origin and with every mirror that joined.
type pairs struct {
	e       *Engine
	d       *download
	tr      *transfer.Transfer
	self    selfSource
	mu      sync.Mutex
	mirrors []mirror
	lenders map[string]*quicwire.Peer
}

// mirror is one probed mirror: where it is and what it serves.
type mirror struct {
	url  string // as the link gives it, for people
	pin  transfer.Pin
	host string
}

func newPairs(e *Engine, d *download, tr *transfer.Transfer, self selfSource) *pairs {
	return &pairs{e: e, d: d, tr: tr, self: self, lenders: make(map[string]*quicwire.Peer)}
}

// addLender lets a ready room peer lend, with every origin, unless this
// node banned it.
func (ps *pairs) addLender(p *quicwire.Peer) {
	id := p.ID().String()
	if ps.e.banned(id) != "" {
		return
	}
	src := peerSource{peer: p, received: ps.e.peers.Received}
	ps.mu.Lock()
	ps.lenders[id] = p
	ms := ps.mirrors
	ps.mu.Unlock()
	ps.tr.AddSource(src)
	for _, m := range ms {
		ps.tr.AddSource(ps.via(src, m))
	}
}

// removeLender takes a peer out with every origin.
func (ps *pairs) removeLender(id, why string) {
	ps.mu.Lock()
	delete(ps.lenders, id)
	ms := ps.mirrors
	ps.mu.Unlock()
	ps.tr.RemoveSource(id, why)
	for _, m := range ms {
		ps.tr.RemoveSource(pairID(id, m), why)
	}
}

// probeMirrors probes the link's mirrors in the background and adds each
// one that serves the pinned file. It returns at once.
func (ps *pairs) probeMirrors(ctx context.Context, mirrors []string, pinned origin.Identity) {
	for _, raw := range mirrors {
		go func() {
			info, err := ps.e.origin.Probe(ctx, raw, nil)
			switch {
			case ctx.Err() != nil:
				return
			case err != nil:
				ps.drop(raw, err.Error())
				return
			case !info.Ranges:
				ps.drop(raw, "it does not serve byte ranges")
				return
			case info.Identity.Size != pinned.Size:
				ps.drop(raw, fmt.Sprintf("it serves %d bytes, not %d", info.Identity.Size, pinned.Size))
				return
			}
			m := mirror{url: raw, pin: transfer.Pin{URL: info.URL, Identity: info.Identity}, host: hostOf(raw)}
			ps.mu.Lock()
			ps.mirrors = append(ps.mirrors, m)
			lenders := make([]*quicwire.Peer, 0, len(ps.lenders))
			for _, p := range ps.lenders {
				lenders = append(lenders, p)
			}
			ps.mu.Unlock()
			ps.e.log.Info("mirror joins", "id", ps.d.id, "mirror", raw)
			ps.tr.AddSource(ps.via(ps.self, m))
			for _, p := range lenders {
				ps.tr.AddSource(ps.via(peerSource{peer: p, received: ps.e.peers.Received}, m))
			}
		}()
	}
}

// drop tells the user a mirror is not used.
func (ps *pairs) drop(raw, why string) {
	ps.e.log.Info("mirror dropped", "id", ps.d.id, "mirror", raw, "why", why)
	ps.d.notify(fmt.Sprintf("%s: mirror %s is not used: %s.", ps.d.displayName(), hostOf(raw), why))
}

// via is src fetching from mirror m.
func (ps *pairs) via(src transfer.Source, m mirror) transfer.Source {
	return mirrorSource{inner: src, m: m, dropped: func(why string) { ps.drop(m.url, why) }}
}

// mirrorSource is a participant fetching from a mirror rather than from the
// pinned origin.
type mirrorSource struct {
	inner   transfer.Source
	m       mirror
	dropped func(why string)
}

func (s mirrorSource) ID() string   { return pairID(s.inner.ID(), s.m) }
func (s mirrorSource) Name() string { return s.inner.Name() + " via " + s.m.host }

// Fetch asks the participant for the range from the mirror, pinned to the
// mirror's own validators. Whatever would change or end the whole transfer
// for the pinned origin (another version, an expired link, a fatal error)
// only ends this pair: the mirror leaves the transfer with a notice.
func (s mirrorSource) Fetch(ctx context.Context, req transfer.Request, sink func([]byte) error) error {
	err := s.inner.Fetch(ctx, transfer.Request{Pin: s.m.pin, Range: req.Range}, sink)
	if err == nil {
		return nil
	}
	var f *transfer.Failure
	if errors.As(err, &f) {
		switch f.Kind {
		case transfer.Changed, transfer.Expired, transfer.Fatal:
			if s.inner.ID() == transfer.SelfID {
				// Said once, by this node's own pair; lenders' pairs
				// with the mirror then fail alike and leave quietly.
				s.dropped(f.Err.Error())
			}
			return transfer.Fail(transfer.Refused, err)
		}
	}
	return err
}

// isMirrorPair reports whether a transfer source id is a pair with a mirror.
func (ps *pairs) isMirrorPair(id string) bool {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	for _, m := range ps.mirrors {
		if strings.HasSuffix(id, " via "+m.url) {
			return true
		}
	}
	return false
}

// pairID names a participant × mirror source.
func pairID(participant string, m mirror) string { return participant + " via " + m.url }

// hostOf is the host of a URL, for sentences.
func hostOf(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Host != "" {
		return u.Host
	}
	return raw
}
