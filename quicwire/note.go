package quicwire

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/dragonload/dragonload/quicwire/wire"
	"github.com/quic-go/quic-go"
)

// Notes (protocol version 3): a member tells the others, about once a
// second, what it is downloading and how far each download has come, so
// that a lender knows whom it is helping and every member can show what
// each peer is downloading. A NOTE has no answer: the server hands it to
// its Noter and closes its side of the stream.

// Download is one entry of a Note.
type Download struct {
	// File is the display name of the file: the sender's word, any UTF-8
	// of 1 to 256 bytes. Clean it before showing it; never use it as a path.
	File string
	Done int64 // bytes the whole download has (all sources together)
	Size int64 // 0 when unknown
	// Lenders are the members fetching for it now, in byte order of
	// their ids, none twice.
	Lenders []NodeID
}

// Note is what a member is downloading now; no Downloads means nothing.
type Note struct{ Downloads []Download }

// Noter hears notes from room members. quicwire calls it only on
// connections whose room proof succeeded, on the goroutine serving the
// note's stream, and closes the stream once it returns: ServeNote must
// not block long. A panic is logged and goes no further.
type Noter interface {
	ServeNote(from PeerInfo, n Note)
}

// Note tells the peer what this node is downloading now. It sends NOTE
// and FIN, and returns once the peer closed its side of the stream,
// having handed the note on; the whole exchange has 10 s. It fails with
// ErrUnsupported, sending nothing, when the peer speaks version 2.
//
// A note the wire cannot carry is mended first, never sent invalid:
// entries without a file name, with a negative size or done or a size
// over 2^62 are dropped, file names cut to 256 bytes of valid UTF-8, done
// clipped to the size, lenders sorted, made unique and cut to the first 64
// in byte order, entries cut to the first 16; and while the note exceeds
// 16 KiB, the entry with the most lenders loses its last one.
func (p *Peer) Note(ctx context.Context, n Note) error {
	if err := p.canShare("note"); err != nil {
		return err
	}
	m, fixed := wireNote(n)
	if len(fixed) > 0 {
		p.node.log.Debug("note mended for the wire", "peer", p.id.Short(), "fixed", strings.Join(fixed, "; "))
	}
	return p.ask(ctx, "note", func(b []byte) ([]byte, error) {
		return wire.AppendNote(b, m)
	}, 0, false, nil)
}

// serveNote hands a NOTE to the Noter, once the requester's FIN came, and
// closes the stream: the answer is the FIN alone.
func (n *Node) serveNote(s *quic.Stream, rd *wire.Reader, p []byte, from PeerInfo) error {
	m, err := wire.DecodeNote(p)
	if err != nil {
		return err
	}
	if err := rd.ExpectEOF(); err != nil {
		return err
	}
	n.callNoter(from, noteOf(m))
	return s.Close()
}

// callNoter runs the Noter, if any, and logs its panic.
func (n *Node) callNoter(from PeerInfo, note Note) {
	if n.noter == nil {
		return
	}
	defer func() {
		if r := recover(); r != nil {
			n.log.Error("noter panicked", "peer", from.ID.Short(), "panic", fmt.Sprint(r))
		}
	}()
	n.noter.ServeNote(from, note)
}

// noteOf is what a decoded NOTE says; the decoder has kept every number
// within 2^62.
func noteOf(m wire.Note) Note {
	var note Note
	if len(m.Downloads) > 0 {
		note.Downloads = make([]Download, len(m.Downloads))
	}
	for i, e := range m.Downloads {
		d := Download{File: e.File, Done: int64(e.Done), Size: int64(e.Size)}
		if len(e.Lenders) > 0 {
			d.Lenders = make([]NodeID, len(e.Lenders))
			for j, id := range e.Lenders {
				d.Lenders[j] = NodeID(id)
			}
		}
		note.Downloads[i] = d
	}
	return note
}

// wireNote turns a Note into a NOTE the wire carries, mending what breaks
// its rules (see Peer.Note) and saying what it mended.
func wireNote(n Note) (m wire.Note, fixed []string) {
	dropped, renamed, clipped, surplus := 0, 0, 0, 0
	for _, d := range n.Downloads {
		file := truncate(strings.ToValidUTF8(d.File, "\uFFFD"), wire.MaxFile)
		if file == "" || d.Size < 0 || d.Size > wire.MaxRange || d.Done < 0 {
			dropped++
			continue
		}
		if len(m.Downloads) == wire.MaxDownloads {
			surplus++
			continue
		}
		if file != d.File {
			renamed++
		}
		done, limit := d.Done, d.Size
		if limit == 0 {
			limit = wire.MaxRange
		}
		if done > limit {
			done = limit
			clipped++
		}
		ids, why := wireLenders(d.Lenders)
		if why != "" {
			fixed = append(fixed, fmt.Sprintf("lenders of %.40q: %s", file, why))
		}
		m.Downloads = append(m.Downloads, wire.Download{File: file, Done: uint64(done), Size: uint64(d.Size), Lenders: ids})
	}
	if dropped > 0 {
		fixed = append(fixed, fmt.Sprintf("dropped %d without a file name or with a size or done out of range", dropped))
	}
	if renamed > 0 {
		fixed = append(fixed, fmt.Sprintf("cut or made valid UTF-8 %d file names", renamed))
	}
	if clipped > 0 {
		fixed = append(fixed, fmt.Sprintf("clipped done to the size in %d", clipped))
	}
	if surplus > 0 {
		fixed = append(fixed, fmt.Sprintf("kept the first %d of %d downloads", wire.MaxDownloads, wire.MaxDownloads+surplus))
	}
	// Sixteen entries with long names and no lenders take under 5 KiB:
	// only lenders can push a note over its cap, and each one dropped
	// saves exactly one id (a count of at most 64 is one byte).
	limit := wire.MaxPayload(wire.TypeNote)
	if over := wire.NoteSize(m) - limit; over > 0 {
		cut := (over + wire.SumLen - 1) / wire.SumLen
		for range cut {
			most := 0
			for i, e := range m.Downloads {
				if len(e.Lenders) > len(m.Downloads[most].Lenders) {
					most = i
				}
			}
			e := &m.Downloads[most]
			if len(e.Lenders) == 0 {
				break
			}
			e.Lenders = e.Lenders[:len(e.Lenders)-1]
		}
		fixed = append(fixed, fmt.Sprintf("dropped %d lenders to fit %d bytes", cut, limit))
	}
	return m, fixed
}

// wireLenders sorts ids in byte order, drops those seen twice and keeps
// the first 64; why says what it changed, "" when nothing. The caller's
// slice is left alone.
func wireLenders(ids []NodeID) (out [][wire.SumLen]byte, why string) {
	if len(ids) == 0 {
		return nil, ""
	}
	var fixes []string
	byBytes := func(a, b NodeID) int { return bytes.Compare(a[:], b[:]) }
	sorted := ids
	if !slices.IsSortedFunc(ids, byBytes) {
		sorted = slices.SortedFunc(slices.Values(ids), byBytes)
		fixes = append(fixes, "sorted")
	}
	unique := slices.Compact(slices.Clone(sorted))
	if len(unique) < len(sorted) {
		fixes = append(fixes, fmt.Sprintf("dropped %d seen twice", len(sorted)-len(unique)))
	}
	if len(unique) > wire.MaxLenders {
		fixes = append(fixes, fmt.Sprintf("kept the first %d of %d", wire.MaxLenders, len(unique)))
		unique = unique[:wire.MaxLenders]
	}
	out = make([][wire.SumLen]byte, len(unique))
	for i, id := range unique {
		out[i] = id
	}
	return out, strings.Join(fixes, ", ")
}
