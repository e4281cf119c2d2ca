package quicwire

import (
	"cmp"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/dragonload/dragonload/core/span"
	"github.com/dragonload/dragonload/quicwire/wire"
	"github.com/quic-go/quic-go"
)

// Copies and search (protocol version 3): a member asks another what it
// holds of some content (HAVE), reads bytes of it (READ) and searches
// what it shares (SEARCH). The holder answers from its Sharer, which
// serves only what its user chose to share.

// KeyKind says how a ContentKey names content.
type KeyKind uint8

const (
	KeySHA256 KeyKind = 1 // Sum is the SHA-256 of the whole content
	KeyOrigin KeyKind = 2 // Sum is an origin key: see core/index.OriginKey (computed by the caller)
)

// ContentKey names the content a HAVE or READ asks about.
type ContentKey struct {
	Kind KeyKind
	Sum  [32]byte
}

// Holding is a holder's answer to HAVE.
type Holding struct {
	Size   int64
	SHA256 [32]byte // zero when the holder does not know it
	// Name is what the holder calls the content: the peer's word, any
	// UTF-8 of at most 256 bytes. Never use it as a path uncleaned.
	Name   string
	Have   []span.Range // bytes the holder can serve now (durable), sorted, disjoint, non-adjacent
	Claims []span.Range // bytes the holder's own download is fetching right now
}

// Found is one search result. Name, as in Holding, is the peer's word.
type Found struct {
	Name   string
	Size   int64
	SHA256 [32]byte
}

// Sharer serves copies and searches to room members. quicwire calls it only on
// connections whose room proof succeeded; nil refuses all three with NotShared.
//
// A Sharer answers only for content its user chose to share, found by
// key or by name in its own index, never by a path a peer sent. Its
// errors reach the requester as ERROR frames: a *RemoteError keeps its
// code (NotShared when it holds no such copy or does not share it),
// anything else becomes Internal. A panic becomes Internal too. At most 64
// requests per connection run at once, fetches included.
type Sharer interface {
	// ServeHave says what this node holds of key. A Holding that breaks
	// the wire's rules (unsorted, overlapping or adjacent ranges, ranges
	// beyond Size, more than 1024 of them) is mended before it is sent,
	// keeping the largest ranges: under-reporting is safe.
	ServeHave(ctx context.Context, from PeerInfo, key ContentKey) (Holding, error)
	// ServeRead writes exactly length bytes of key's content, from off, to
	// w; fewer or more make the requester see Internal. ctx is cancelled
	// when the requester cancels or the connection dies.
	ServeRead(ctx context.Context, from PeerInfo, key ContentKey, off, length int64, w io.Writer) error
	// ServeSearch lists shared content whose names match words, best
	// first; only the first 64 are sent.
	ServeSearch(ctx context.Context, from PeerInfo, words string) ([]Found, error)
}

// Have asks the peer what it holds of the content key names. It fails
// with ErrUnsupported, sending nothing, when the peer speaks version 2,
// and with a *RemoteError (NotShared and others) when the peer refuses.
// The whole exchange has 10 s.
func (p *Peer) Have(ctx context.Context, key ContentKey) (Holding, error) {
	if err := p.canShare("have"); err != nil {
		return Holding{}, err
	}
	var h Holding
	err := p.ask(ctx, "have", func(b []byte) ([]byte, error) {
		return wire.AppendHave(b, wire.Have{Key: key.wire()})
	}, wire.TypeHolding, true, func(payload []byte) error {
		m, err := wire.DecodeHolding(payload)
		if err != nil {
			return err
		}
		h = Holding{Size: int64(m.Size), SHA256: m.SHA256, Name: m.Name, Have: spans(m.Have), Claims: spans(m.Claims)}
		return nil
	})
	if err != nil {
		return Holding{}, err
	}
	return h, nil
}

// Read asks the peer for bytes [off, off+length) of the content key
// names and hands them to sink as they arrive, exactly as Fetch does,
// with the same checks and errors. It fails with ErrUnsupported, sending
// nothing, when the peer speaks version 2.
func (p *Peer) Read(ctx context.Context, key ContentKey, off, length int64, sink func([]byte) error) error {
	if err := p.canShare("read"); err != nil {
		return err
	}
	if off < 0 || length <= 0 {
		return fmt.Errorf("read %d+%d: offset must be ≥ 0 and length > 0", off, length)
	}
	return p.getData(ctx, "read", func(b []byte) ([]byte, error) {
		return wire.AppendRead(b, wire.Read{Key: key.wire(), Offset: uint64(off), Length: uint64(length)})
	}, length, sink)
}

// Search asks the peer for the content it shares whose names match
// words (1 to 256 bytes of UTF-8): at most 64 results, best first. It
// fails with ErrUnsupported, sending nothing, when the peer speaks
// version 2. The whole exchange has 10 s.
func (p *Peer) Search(ctx context.Context, words string) ([]Found, error) {
	if err := p.canShare("search"); err != nil {
		return nil, err
	}
	var found []Found
	err := p.ask(ctx, "search", func(b []byte) ([]byte, error) {
		return wire.AppendSearch(b, wire.Search{Words: words})
	}, wire.TypeFound, true, func(payload []byte) error {
		m, err := wire.DecodeFound(payload)
		if err != nil {
			return err
		}
		for _, r := range m.Results {
			found = append(found, Found{Name: r.Name, Size: int64(r.Size), SHA256: r.SHA256})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return found, nil
}

// canShare refuses, before anything is sent, a request the peer's
// version does not have.
func (p *Peer) canShare(what string) error {
	if p.version < shareVersion {
		return fmt.Errorf("%s from peer %s, which speaks protocol version %d: %w", what, p.id.Short(), p.version, ErrUnsupported)
	}
	return nil
}

func (k ContentKey) wire() wire.Key { return wire.Key{Kind: uint8(k.Kind), Sum: k.Sum} }

// logKey is a key as logs show it.
func logKey(k wire.Key) string {
	kind := "origin"
	if k.Kind == wire.KeySHA256 {
		kind = "sha256"
	}
	return kind + ":" + hex.EncodeToString(k.Sum[:8])
}

func spans(rs []wire.Range) []span.Range {
	if len(rs) == 0 {
		return nil
	}
	out := make([]span.Range, len(rs))
	for i, r := range rs {
		// The decoder keeps every range within 2^62: no overflow.
		out[i] = span.Range{Off: int64(r.Offset), End: int64(r.Offset + r.Length)}
	}
	return out
}

// serveShare answers a HAVE, READ or SEARCH, or takes a NOTE, on a
// connection of version 3 or later. buf, free once the request is
// decoded, holds outgoing frames.
func (n *Node) serveShare(typ wire.Type, s *quic.Stream, rd *wire.Reader, p []byte, from PeerInfo, version int, buf []byte) error {
	switch typ {
	case wire.TypeHave:
		m, err := wire.DecodeHave(p)
		if err != nil {
			return err
		}
		if err := rd.ExpectEOF(); err != nil {
			return err
		}
		return n.answer(s, buf, from, "have", func(ctx context.Context, b []byte) ([]byte, error) {
			h, err := callSharer(n, from, func(sh Sharer) (Holding, error) {
				return sh.ServeHave(ctx, from, contentKey(m.Key))
			})
			if err != nil {
				return nil, err
			}
			hm, fixed, err := wireHolding(h)
			if err != nil {
				return nil, err
			}
			if len(fixed) > 0 {
				n.log.Debug("sharer's holding mended for the wire", "peer", from.ID.Short(), "key", logKey(m.Key), "fixed", strings.Join(fixed, "; "))
			}
			return wire.AppendHolding(b, hm)
		})
	case wire.TypeRead:
		m, err := wire.DecodeRead(p)
		if err != nil {
			return err
		}
		if err := rd.ExpectEOF(); err != nil {
			return err
		}
		off, length := int64(m.Offset), int64(m.Length)
		return n.serveData(s, buf, from, version, "read", length, func(ctx context.Context, w io.Writer) error {
			_, err := callSharer(n, from, func(sh Sharer) (struct{}, error) {
				return struct{}{}, sh.ServeRead(ctx, from, contentKey(m.Key), off, length, w)
			})
			return err
		}, "key", logKey(m.Key), "off", off)
	case wire.TypeSearch:
		m, err := wire.DecodeSearch(p)
		if err != nil {
			return err
		}
		if err := rd.ExpectEOF(); err != nil {
			return err
		}
		return n.answer(s, buf, from, "search", func(ctx context.Context, b []byte) ([]byte, error) {
			found, err := callSharer(n, from, func(sh Sharer) ([]Found, error) {
				return sh.ServeSearch(ctx, from, m.Words)
			})
			if err != nil {
				return nil, err
			}
			fm, fixed := wireFound(found)
			if len(fixed) > 0 {
				n.log.Debug("sharer's results mended for the wire", "peer", from.ID.Short(), "fixed", strings.Join(fixed, "; "))
			}
			return wire.AppendFound(b, fm)
		})
	case wire.TypeNote:
		return n.serveNote(s, rd, p, from)
	}
	return violation("%v frame opens a stream", typ)
}

// answer runs a request whose answer is one frame (HAVE, SEARCH), all of
// it within the request timeout: build appends the frame, or fails with
// the error to send as ERROR instead.
func (n *Node) answer(s *quic.Stream, buf []byte, from PeerInfo, what string, build func(ctx context.Context, b []byte) ([]byte, error)) error {
	// The send side's context ends when the requester gives up or the
	// connection dies.
	ctx, cancel := context.WithTimeout(s.Context(), requestTimeout)
	defer cancel()
	frame, berr := build(ctx, buf[:0])
	if ctx.Err() != nil {
		s.CancelRead(streamCanceled)
		s.CancelWrite(streamCanceled)
		return nil // the requester is gone or gave up: nobody to tell
	}
	if berr != nil {
		n.log.Debug(what+" failed", "peer", from.ID.Short(), "err", berr)
		var err error
		if frame, err = errorFrame(buf[:0], berr); err != nil {
			return err
		}
	}
	s.SetWriteDeadline(time.Now().Add(requestTimeout))
	if _, err := s.Write(frame); err != nil {
		return err
	}
	return s.Close()
}

// callSharer runs one Sharer method: NotShared when there is no Sharer,
// Internal when it panics.
func callSharer[T any](n *Node, from PeerInfo, call func(Sharer) (T, error)) (v T, err error) {
	if n.sharer == nil {
		return v, &RemoteError{Code: NotShared, Message: "this node shares nothing"}
	}
	defer n.recoverPanic("sharer", from, &err)
	return call(n.sharer)
}

func contentKey(k wire.Key) ContentKey { return ContentKey{Kind: KeyKind(k.Kind), Sum: k.Sum} }

// wireHolding turns a Sharer's Holding into a HOLDING the wire carries,
// mending what breaks its rules and saying what it mended. Only a size
// the wire cannot carry fails: there is nothing to mend it to.
func wireHolding(h Holding) (m wire.Holding, fixed []string, err error) {
	if h.Size < 1 || h.Size > wire.MaxRange {
		return wire.Holding{}, nil, fmt.Errorf("sharer gave size %d", h.Size)
	}
	m = wire.Holding{Size: uint64(h.Size), SHA256: h.SHA256}
	var ok bool
	if m.Name, ok = wireName(h.Name); !ok {
		fixed = append(fixed, "name cut or made valid UTF-8")
	}
	var why string
	if m.Have, why = wireRanges(h.Have, h.Size); why != "" {
		fixed = append(fixed, "have: "+why)
	}
	if m.Claims, why = wireRanges(h.Claims, h.Size); why != "" {
		fixed = append(fixed, "claims: "+why)
	}
	return m, fixed, nil
}

// wireRanges mends a list of ranges for a HOLDING of the given size:
// empty ranges go, the rest are clipped to the content, sorted and merged
// where they overlap or touch; of more than 1024, the 1024 largest stay.
// why says what it changed, "" when nothing.
func wireRanges(rs []span.Range, size int64) (out []wire.Range, why string) {
	var fixes []string
	kept := make([]span.Range, 0, len(rs))
	dropped, clipped := 0, 0
	for _, r := range rs {
		c := r.Intersect(span.Range{Off: 0, End: size})
		switch {
		case c.Empty():
			dropped++
			continue
		case c != r:
			clipped++
		}
		kept = append(kept, c)
	}
	if dropped > 0 {
		fixes = append(fixes, fmt.Sprintf("dropped %d empty or beyond the size", dropped))
	}
	if clipped > 0 {
		fixes = append(fixes, fmt.Sprintf("clipped %d to the size", clipped))
	}
	byOff := func(a, b span.Range) int { return cmp.Or(cmp.Compare(a.Off, b.Off), cmp.Compare(a.End, b.End)) }
	if !slices.IsSortedFunc(kept, byOff) {
		slices.SortFunc(kept, byOff)
		fixes = append(fixes, "sorted")
	}
	merged := kept[:0]
	for _, r := range kept {
		if last := len(merged) - 1; last >= 0 && r.Off <= merged[last].End {
			merged[last].End = max(merged[last].End, r.End)
			continue
		}
		merged = append(merged, r)
	}
	if len(merged) < len(kept) {
		fixes = append(fixes, fmt.Sprintf("merged %d overlapping or adjacent", len(kept)-len(merged)))
	}
	if len(merged) > wire.MaxRanges {
		fixes = append(fixes, fmt.Sprintf("kept the %d largest of %d", wire.MaxRanges, len(merged)))
		// Largest first, the lower offset first among equals, so that the
		// choice does not depend on the sort's whims.
		slices.SortFunc(merged, func(a, b span.Range) int {
			return cmp.Or(cmp.Compare(b.Len(), a.Len()), cmp.Compare(a.Off, b.Off))
		})
		merged = merged[:wire.MaxRanges]
		slices.SortFunc(merged, byOff)
	}
	if len(merged) > 0 {
		out = make([]wire.Range, len(merged))
		for i, r := range merged {
			out[i] = wire.Range{Offset: uint64(r.Off), Length: uint64(r.Len())}
		}
	}
	return out, strings.Join(fixes, ", ")
}

// wireFound turns a Sharer's results into a FOUND the wire carries:
// results without a name or with a size the wire cannot carry go, names
// are cut to 256 bytes of valid UTF-8, and only the first 64 stay.
func wireFound(found []Found) (m wire.Found, fixed []string) {
	dropped, renamed := 0, 0
	for _, f := range found {
		name, ok := wireName(f.Name)
		if name == "" || f.Size < 1 || f.Size > wire.MaxRange {
			dropped++
			continue
		}
		if !ok {
			renamed++
		}
		m.Results = append(m.Results, wire.Result{Name: name, Size: uint64(f.Size), SHA256: f.SHA256})
	}
	if dropped > 0 {
		fixed = append(fixed, fmt.Sprintf("dropped %d without a name or with a size out of range", dropped))
	}
	if renamed > 0 {
		fixed = append(fixed, fmt.Sprintf("cut or made valid UTF-8 %d names", renamed))
	}
	if len(m.Results) > wire.MaxResults {
		fixed = append(fixed, fmt.Sprintf("kept the first %d of %d", wire.MaxResults, len(m.Results)))
		m.Results = m.Results[:wire.MaxResults]
	}
	return m, fixed
}

// wireName makes name valid UTF-8 of at most 256 bytes, cut at a
// character boundary; ok says it needed nothing.
func wireName(name string) (s string, ok bool) {
	s = truncate(strings.ToValidUTF8(name, "\uFFFD"), wire.MaxName)
	return s, s == name
}
