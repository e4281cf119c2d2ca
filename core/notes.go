package core

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/dragonload/dragonload/core/names"
	"github.com/dragonload/dragonload/quicwire"
)

// Pool progress for every party: about once a second, a node that is
// downloading tells every room member what (NOTE): each file's name, how
// far the whole download has come, and which members fetch for it. So a
// lender knows whom it helps and how far that download is ("helping
// laptop: ubuntu.iso 43 %"), and every window can show what each member
// is downloading. A member that stops downloading sends one empty note;
// one that goes quiet is forgotten after noteTTL.

// PeerDownload is one download a room member is running, from its notes.
type PeerDownload struct {
	File    string // display name, made safe to show
	Done    int64  // bytes the whole download has, all sources together
	Size    int64  // 0 when unknown
	Helping bool   // this node is one of its lenders now
}

// Percent is how far the download has come, 0 to 100; -1 when the size
// is unknown.
func (d PeerDownload) Percent() int {
	if d.Size <= 0 {
		return -1
	}
	return int(100 * d.Done / d.Size)
}

// PeerNote reports what a room member is downloading now (empty: nothing).
// It follows each note the member sends, about once a second while it
// downloads.
type PeerNote struct {
	Peer      string // node id
	Name      string // what this node calls the peer
	Downloads []PeerDownload
}

// Helping lists, for each member this node lends to now, the downloads it
// helps with.
func (e *Engine) Helping() []PeerNote {
	var out []PeerNote
	for _, n := range e.notes.current() {
		var helped []PeerDownload
		for _, d := range n.Downloads {
			if d.Helping {
				helped = append(helped, d)
			}
		}
		if len(helped) > 0 {
			n.Downloads = helped
			out = append(out, n)
		}
	}
	return out
}

// Tunables of notes.
const (
	noteEvery = time.Second     // how often a downloading node tells the room
	noteTTL   = 5 * time.Second // a member's last note is forgotten after this
	noteAsk   = 2 * time.Second // bound on sending one note
)

// notes keeps the last note of each member.
type notes struct {
	mu   sync.Mutex
	last map[string]noteOf // by node id
}

type noteOf struct {
	n  PeerNote
	at time.Time
}

func (ns *notes) put(n PeerNote, now time.Time) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if ns.last == nil {
		ns.last = make(map[string]noteOf)
	}
	ns.last[n.Peer] = noteOf{n: n, at: now}
}

// current returns the notes heard within noteTTL, and forgets older ones.
func (ns *notes) current() []PeerNote {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	now := time.Now()
	var out []PeerNote
	for id, n := range ns.last {
		if now.Sub(n.at) > noteTTL {
			delete(ns.last, id)
			continue
		}
		if len(n.n.Downloads) > 0 {
			out = append(out, n.n)
		}
	}
	slices.SortFunc(out, func(a, b PeerNote) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// noter hears members' notes (quicwire.Noter).
type noter struct{ e *Engine }

func (n noter) ServeNote(from quicwire.PeerInfo, note quicwire.Note) {
	e := n.e
	self := e.ident.ID
	pn := PeerNote{Peer: from.ID.String(), Name: e.peerName(from)}
	for _, d := range note.Downloads {
		pn.Downloads = append(pn.Downloads, PeerDownload{
			File: displayFile(d.File), Done: d.Done, Size: d.Size,
			Helping: slices.Contains(d.Lenders, self),
		})
	}
	e.notes.put(pn, time.Now())
	e.bus.publish(pn)
}

// peerName is what this node calls a member: its nickname, or the name of
// its connection.
func (e *Engine) peerName(from quicwire.PeerInfo) string {
	if p, ok := e.peers.Get(from.ID.String()); ok {
		return p.Name()
	}
	if name := names.SanitizeDisplayName(from.Name); name != "" {
		return name
	}
	return from.ID.Short()
}

// displayFile makes a member's file name safe to show.
func displayFile(s string) string {
	if name := names.SanitizeDisplayName(s); name != "" {
		return name
	}
	return "(a file without a name)"
}

// runNotes tells the room what this node downloads, every noteEvery while
// it downloads, and once more (empty) when it stops.
func (e *Engine) runNotes(ctx context.Context) {
	t := time.NewTicker(noteEvery)
	defer t.Stop()
	sentSomething := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		note := e.ownNote()
		if len(note.Downloads) == 0 && !sentSomething {
			continue
		}
		sentSomething = len(note.Downloads) > 0
		var wg sync.WaitGroup
		for _, p := range e.peers.Connected() {
			wg.Add(1)
			go func() {
				defer wg.Done()
				nctx, cancel := context.WithTimeout(ctx, noteAsk)
				defer cancel()
				if err := p.Note(nctx, note); err != nil {
					e.log.Debug("note not delivered", "peer", p.Name(), "err", err)
				}
			}()
		}
		wg.Wait()
	}
}

// ownNote describes this node's running downloads.
func (e *Engine) ownNote() quicwire.Note {
	var note quicwire.Note
	for _, d := range e.list() {
		d.mu.Lock()
		running := d.state == StateDownloading
		file, done, size := d.name, d.done, d.size
		var lenders []quicwire.NodeID
		for _, s := range d.shares {
			if s.Peer == SelfPeer || s.Copy || s.InFlight == 0 {
				continue
			}
			id, _, _ := strings.Cut(s.Peer, " via ") // a lender with a mirror
			if nid, err := quicwire.ParseNodeID(id); err == nil && !slices.Contains(lenders, nid) {
				lenders = append(lenders, nid)
			}
		}
		d.mu.Unlock()
		if !running || file == "" {
			continue
		}
		note.Downloads = append(note.Downloads, quicwire.Download{File: file, Done: done, Size: max(size, 0), Lenders: lenders})
	}
	return note
}

// HelpingLine says in one line whom this node helps, for a tray or a log:
// "helping laptop: ubuntu.iso 43 %"; "" when it helps nobody.
func HelpingLine(helping []PeerNote) string {
	var parts []string
	for _, n := range helping {
		for _, d := range n.Downloads {
			if p := d.Percent(); p >= 0 {
				parts = append(parts, fmt.Sprintf("%s: %s %d %%", n.Name, d.File, p))
			} else {
				parts = append(parts, fmt.Sprintf("%s: %s", n.Name, d.File))
			}
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "helping " + strings.Join(parts, "; ")
}
