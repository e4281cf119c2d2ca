package ui

import (
	"errors"
	"path/filepath"
	"slices"
	"sort"
	"time"

	"github.com/dragonload/dragonload/core"
)

// model is what the window knows, built from engine snapshots and events.
// It is touched only on the Fyne main goroutine.
type model struct {
	downloads map[core.DownloadID]*download
	order     []core.DownloadID // newest first
	peers     map[string]core.PeerInfo
	lending   bool
	lendRates map[string]float64 // what this node serves, by peer
	notice    core.Notice

	// stale is set by a Resync: the event stream lost events, so the model
	// is wrong until seed loads the engine's state again.
	stale bool

	// What changed since the last redraw.
	listDirty, peersDirty, statusDirty bool
	chunksDirty                        map[core.DownloadID]bool
}

// download is one row of the list and the source of the chunk map.
type download struct {
	ID     core.DownloadID
	Source string
	Name   string
	OutDir string
	Path   string
	State  core.State
	Err    error
	Size   int64
	Done   int64
	Rate   float64
	ETA    time.Duration
	Peers  []core.PeerShare
	Wait   time.Time // the server asked to wait until then (Retry-After)

	spans  []span // what has landed, by colour; adjacent pieces merged
	colors peerIndex
	names  map[string]string // peer id → display name, from progress
}

// span is a landed byte range and the colour slot of the peer that fetched it.
type span struct {
	off, n int64
	color  int
}

// notification is a desktop notification the model asks for.
type notification struct{ title, body string }

func newModel() *model {
	return &model{
		downloads:   make(map[core.DownloadID]*download),
		peers:       make(map[string]core.PeerInfo),
		lendRates:   make(map[string]float64),
		chunksDirty: make(map[core.DownloadID]bool),
	}
}

// seed loads the engine's current state, for a window that opens after the
// engine started and again after a Resync. Events that raced with the
// snapshot are applied after it and are idempotent for everything but
// ChunkLanded, whose duplicates only repaint bytes already painted.
func (m *model) seed(downloads []core.DownloadSnapshot, peers []core.PeerInfo, lending bool) {
	// Oldest first, as the engine lists them: ensure puts each new one on top.
	for _, s := range downloads {
		d := m.ensure(s.ID)
		d.Source, d.Name, d.OutDir, d.Path = s.Source, s.Name, s.OutDir, s.Path
		d.State, d.Err, d.Size, d.Done = s.State, s.Err, s.Size, s.Done
		d.Peers, d.Wait = s.Peers, s.WaitUntil
		if s.Note != "" {
			// Said before the window subscribed: why it started over, say.
			m.notice = core.Notice{Level: "warn", Download: s.ID, Text: s.Note}
		}
		if s.State != core.StateDownloading {
			d.Rate, d.ETA = 0, 0 // a snapshot has no rate; only a running download has one
		}
		d.spans = nil
		for _, c := range s.Chunks {
			d.land(c)
		}
		m.chunksDirty[s.ID] = true
	}
	// The engine's list of peers is whole: one missing from it was lost.
	clear(m.peers)
	for _, p := range peers {
		m.peers[p.ID] = p
	}
	for id := range m.lendRates {
		if _, ok := m.peers[id]; !ok || !lending {
			delete(m.lendRates, id)
		}
	}
	m.lending = lending
	m.stale = false
	m.listDirty, m.peersDirty, m.statusDirty = true, true, true
}

// apply folds one event into the model and returns the notification it
// calls for, if any.
func (m *model) apply(ev core.Event) *notification {
	switch ev := ev.(type) {
	case core.DownloadAdded:
		d := m.ensure(ev.ID)
		d.Source, d.OutDir = ev.Source, ev.OutDir
		if ev.Name != "" {
			d.Name = ev.Name
		}
		m.listDirty, m.statusDirty = true, true
	case core.DownloadStateChanged:
		d := m.ensure(ev.ID)
		before := d.State
		d.State, d.Err = ev.State, ev.Err
		if ev.Path != "" {
			d.Path = ev.Path
		}
		if ev.State != core.StateDownloading {
			d.Rate, d.ETA, d.Wait = 0, 0, time.Time{}
			for i := range d.Peers {
				d.Peers[i].Rate, d.Peers[i].InFlight = 0, 0
			}
		}
		if ev.State == core.StateDone && d.Size >= 0 {
			d.Done = d.Size
		}
		m.listDirty, m.statusDirty = true, true
		m.chunksDirty[ev.ID] = true
		if before != ev.State {
			return finishNotification(d)
		}
	case core.DownloadProgress:
		d := m.ensure(ev.ID)
		if ev.Name != "" {
			d.Name = ev.Name
		}
		d.Size, d.Done, d.Rate, d.ETA, d.Peers, d.Wait = ev.Size, ev.Done, ev.Rate, ev.ETA, ev.Peers, ev.WaitUntil
		for _, p := range ev.Peers {
			if p.Name != "" {
				if d.names == nil {
					d.names = make(map[string]string)
				}
				d.names[p.Peer] = p.Name
			}
		}
		m.listDirty, m.statusDirty = true, true
		m.chunksDirty[ev.ID] = true
	case core.DownloadRemoved:
		delete(m.downloads, ev.ID)
		delete(m.chunksDirty, ev.ID)
		m.order = slices.DeleteFunc(m.order, func(id core.DownloadID) bool { return id == ev.ID })
		m.listDirty, m.statusDirty = true, true
	case core.ChunkLanded:
		m.ensure(ev.ID).land(ev)
		m.chunksDirty[ev.ID] = true
	case core.PeerSeen:
		m.upsertPeer(ev.Peer)
	case core.PeerReady:
		m.upsertPeer(ev.Peer)
	case core.PeerUpdated:
		m.upsertPeer(ev.Peer)
	case core.PeerLost:
		delete(m.peers, ev.Peer.ID)
		delete(m.lendRates, ev.Peer.ID)
		m.peersDirty, m.statusDirty = true, true
	case core.LendingChanged:
		m.lending = ev.On
		if !ev.On {
			clear(m.lendRates)
		}
		m.statusDirty = true
	case core.Lent:
		m.lendRates[ev.Peer] = ev.Rate
		if p, ok := m.peers[ev.Peer]; ok {
			p.Lent = ev.Bytes
			m.peers[ev.Peer] = p
			m.peersDirty = true
		}
		m.statusDirty = true
	case core.Notice:
		m.notice = ev
		m.statusDirty = true
	case core.Resync:
		// Only the engine knows what the missed events did; the window
		// reads it again (seed) before it draws.
		m.stale = true
	}
	return nil
}

func (m *model) ensure(id core.DownloadID) *download {
	if d, ok := m.downloads[id]; ok {
		return d
	}
	d := &download{ID: id, Size: -1, Name: string(id)}
	m.downloads[id] = d
	m.order = append([]core.DownloadID{id}, m.order...)
	m.listDirty = true
	return d
}

func (m *model) upsertPeer(p core.PeerInfo) {
	if old, ok := m.peers[p.ID]; ok && p.Lent == 0 {
		p.Lent = old.Lent
	}
	m.peers[p.ID] = p
	m.peersDirty, m.statusDirty = true, true
}

// at returns the i-th download of the list, newest first.
func (m *model) at(i int) *download {
	if i < 0 || i >= len(m.order) {
		return nil
	}
	return m.downloads[m.order[i]]
}

// index returns the list position of a download, or -1.
func (m *model) index(id core.DownloadID) int {
	for i, o := range m.order {
		if o == id {
			return i
		}
	}
	return -1
}

// sortedPeers lists the peers ready ones first, then by name.
func (m *model) sortedPeers() []core.PeerInfo {
	out := make([]core.PeerInfo, 0, len(m.peers))
	for _, p := range m.peers {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Ready != out[j].Ready {
			return out[i].Ready
		}
		if a, b := peerLabel(out[i].ID, out[i].Name), peerLabel(out[j].ID, out[j].Name); a != b {
			return a < b
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// totals sums what the status line shows.
func (m *model) totals() (active, ready int, down, up float64) {
	for _, d := range m.downloads {
		if !d.State.Final() && d.State != core.StatePaused {
			active++
		}
		if d.State == core.StateDownloading {
			down += d.Rate
		}
	}
	for _, p := range m.peers {
		if p.Ready {
			ready++
		}
	}
	for _, r := range m.lendRates {
		up += r
	}
	return active, ready, down, up
}

// land records a landed chunk, merging it with the previous piece from the
// same peer when they touch: peers fetch runs of neighbouring chunks, so
// this keeps the list near one entry per run rather than per chunk.
func (d *download) land(c core.ChunkLanded) {
	if c.Length <= 0 {
		return
	}
	col := d.colors.of(c.Peer)
	for i := len(d.spans) - 1; i >= 0 && i >= len(d.spans)-8; i-- {
		s := &d.spans[i]
		if s.color == col && s.off+s.n == c.Offset {
			s.n += c.Length
			return
		}
	}
	d.spans = append(d.spans, span{off: c.Offset, n: c.Length, color: col})
}

// peerName is the best name known for a peer of this download.
func (d *download) peerName(peer string) string {
	return peerLabel(peer, d.names[peer])
}

// folder is where the download's file is, or will be.
func (d *download) folder() string {
	if d.Path != "" {
		return filepath.Dir(d.Path)
	}
	return d.OutDir
}

func finishNotification(d *download) *notification {
	switch d.State {
	case core.StateDone:
		where := d.folder()
		if where == "" {
			return &notification{"Download finished", d.Name}
		}
		return &notification{"Download finished", d.Name + " is in " + where}
	case core.StateFailed:
		msg := "unknown error"
		if d.Err != nil {
			msg = d.Err.Error()
		}
		return &notification{"Download failed", d.Name + ": " + msg}
	}
	return nil
}

// errNoSelection is returned by actions that need a selected download.
var errNoSelection = errors.New("select a download first")
