package core

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"time"

	"github.com/dragonload/dragonload/core/config"
	"github.com/dragonload/dragonload/core/index"
	"github.com/dragonload/dragonload/core/span"
	"github.com/dragonload/dragonload/core/store"
	"github.com/dragonload/dragonload/core/transfer"
	"github.com/dragonload/dragonload/quicwire"
)

// Sharing: room members copy over the LAN what this node already has, so
// that a file crosses the internet once per LAN. Two kinds of copy are
// served, and nothing else:
//
//   - a running download's partial file, its durable bytes only, to a
//     member downloading the same file at the same time: each of the two
//     fetches different bytes from the internet (the claims in HAVE
//     answers) and copies the rest from the other;
//   - a finished download, from the index (core/index), for ShareDays
//     after it finished, unless the user turned sharing off or stopped
//     sharing that file.
//
// A copy is named by content (its SHA-256, or its origin and strong
// validator), never by path, and the index drops a file that changed on
// disk since it was written. The lend switch governs both kinds: a node
// that does not lend shares nothing. A banned member is refused.

// IndexFile is the shared-files index inside the home folder.
const IndexFile = "shared.json"

// DefaultShareDays is how long a finished download is shared when the
// settings do not say.
const DefaultShareDays = 14

// readPiece is how much of a copy one read moves to the stream.
const readPiece = 256 << 10

// SharesFinished reports whether finished downloads are shared with the
// room (while lending is on).
func (e *Engine) SharesFinished() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return !e.settings.NoShare
}

// SetSharesFinished turns sharing finished downloads with the room on or
// off, and remembers it.
func (e *Engine) SetSharesFinished(on bool) {
	e.updateSettings(func(s *config.Settings) { s.NoShare = !on })
}

// ShareDays is how many days a finished download stays shared.
func (e *Engine) ShareDays() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.settings.ShareDays > 0 {
		return e.settings.ShareDays
	}
	return DefaultShareDays
}

// SetShareDays sets how many days a finished download stays shared (at
// least 1), and remembers it.
func (e *Engine) SetShareDays(days int) {
	e.updateSettings(func(s *config.Settings) { s.ShareDays = max(days, 1) })
}

// Shared lists the finished downloads in the index, newest first, shared
// or not.
func (e *Engine) Shared() []index.Entry { return e.index.List() }

// StopSharing stops sharing the finished file at path (it stays in the
// index, unshared).
func (e *Engine) StopSharing(path string) error { return e.index.SetShared(path, false) }

// activeShare is a running download's partial file, served to members
// downloading the same file.
type activeShare struct {
	keys []quicwire.ContentKey
	part *store.Partial
	tr   *transfer.Transfer
	name string
	size int64
	sum  [32]byte // from the link; zero when it gives none
}

// sharer serves copies and searches to room members (quicwire.Sharer).
type sharer struct{ e *Engine }

func (s sharer) ServeHave(ctx context.Context, from quicwire.PeerInfo, key quicwire.ContentKey) (quicwire.Holding, error) {
	if err := s.e.mayShare(from); err != nil {
		return quicwire.Holding{}, err
	}
	if a := s.e.findActive(key); a != nil {
		done := a.part.Done()
		claims := a.tr.Fetching()
		return quicwire.Holding{Size: a.size, SHA256: a.sum, Name: a.name, Have: done.Ranges(), Claims: claims.Ranges()}, nil
	}
	if ent, ok := s.e.findFinished(key); ok {
		return quicwire.Holding{Size: ent.Size, SHA256: ent.SHA256, Name: ent.Name, Have: []span.Range{{Off: 0, End: ent.Size}}}, nil
	}
	return quicwire.Holding{}, notShared("no copy of that file here")
}

func (s sharer) ServeRead(ctx context.Context, from quicwire.PeerInfo, key quicwire.ContentKey, off, length int64, w io.Writer) error {
	if err := s.e.mayShare(from); err != nil {
		return err
	}
	want := span.Range{Off: off, End: off + length}
	var src io.ReaderAt
	if a := s.e.findActive(key); a != nil {
		done := a.part.Done()
		if !done.Contains(want) {
			return notShared("those bytes are not here yet")
		}
		src = a.part
	} else if ent, ok := s.e.findFinished(key); ok {
		if want.End > ent.Size {
			return &quicwire.RemoteError{Code: quicwire.BadRequest, Message: fmt.Sprintf("bytes %d to %d are past the end of a %d-byte file", off, want.End, ent.Size)}
		}
		f, err := s.e.index.OpenFile(ent)
		if err != nil {
			s.e.log.Info("shared file not served", "path", ent.Path, "err", err)
			return notShared("no copy of that file here")
		}
		defer f.Close()
		src = f
	} else {
		return notShared("no copy of that file here")
	}
	buf := make([]byte, min(length, readPiece))
	for pos := off; pos < want.End; {
		if err := ctx.Err(); err != nil {
			return err
		}
		b := buf[:min(int64(len(buf)), want.End-pos)]
		if _, err := src.ReadAt(b, pos); err != nil {
			return &quicwire.RemoteError{Code: quicwire.Internal, Message: "cannot read the copy"}
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
		s.e.peers.LentTo(from.ID, len(b))
		pos += int64(len(b))
	}
	return nil
}

func (s sharer) ServeSearch(ctx context.Context, from quicwire.PeerInfo, words string) ([]quicwire.Found, error) {
	if err := s.e.mayShare(from); err != nil {
		return nil, err
	}
	if !s.e.SharesFinished() {
		return nil, nil
	}
	cutoff := s.e.shareCutoff()
	var out []quicwire.Found
	for _, ent := range s.e.index.Search(words, searchLimit) {
		if ent.Added.Before(cutoff) {
			continue
		}
		out = append(out, quicwire.Found{Name: ent.Name, Size: ent.Size, SHA256: ent.SHA256})
	}
	return out, nil
}

// searchLimit is the most results one node sends for one search.
const searchLimit = 64

// mayShare refuses a member this node does not share with. The lend
// switch the user set governs sharing, not whether this engine fetches
// for others: a one-shot `dragonload get` lends no bandwidth, but its
// running download still serves a member fetching the same file, which
// costs no internet traffic.
func (e *Engine) mayShare(from quicwire.PeerInfo) error {
	e.mu.Lock()
	on := e.settings.Lending
	e.mu.Unlock()
	if !on {
		return notShared("this node is not lending")
	}
	if e.banned(from.ID.String()) != "" {
		return notShared("this node does not share with you")
	}
	return nil
}

// findActive returns the running download of the content key names.
func (e *Engine) findActive(key quicwire.ContentKey) *activeShare {
	for _, d := range e.list() {
		d.mu.Lock()
		a := d.share
		d.mu.Unlock()
		if a == nil {
			continue
		}
		for _, k := range a.keys {
			if k == key {
				return a
			}
		}
	}
	return nil
}

// findFinished returns the shared finished file key names, if sharing
// finished downloads is on and the file is within its sharing days.
func (e *Engine) findFinished(key quicwire.ContentKey) (index.Entry, bool) {
	if !e.SharesFinished() {
		return index.Entry{}, false
	}
	ent, ok := e.index.Lookup(key.Sum, key.Kind == quicwire.KeyOrigin)
	if !ok || ent.Added.Before(e.shareCutoff()) {
		return index.Entry{}, false
	}
	return ent, true
}

// shareCutoff is the oldest time a finished download may have been added
// and still be shared.
func (e *Engine) shareCutoff() time.Time {
	return time.Now().Add(-time.Duration(e.ShareDays()) * 24 * time.Hour)
}

// indexFinished records a finished download in the index, so that room
// members can copy it. A failure costs only the sharing, so it is logged.
func (e *Engine) indexFinished(d *download, path string, sum [32]byte, keys []quicwire.ContentKey) {
	ent := index.Entry{Path: path, SHA256: sum}
	for _, k := range keys {
		if k.Kind == quicwire.KeyOrigin {
			ent.Origin = k.Sum
		}
	}
	d.mu.Lock()
	ent.Size, ent.URL = d.size, d.link.URL
	d.mu.Unlock()
	if _, err := e.index.Add(ent); err != nil {
		e.log.Warn("cannot index the finished file for sharing", "path", path, "err", err)
		return
	}
	e.log.Info("sharing with the room", "path", path, "sha256", hex.EncodeToString(sum[:]))
}

func notShared(why string) error {
	return &quicwire.RemoteError{Code: quicwire.NotShared, Message: why}
}
