package ui

import (
	"cmp"
	"container/heap"
	"errors"
	"path/filepath"
	"slices"
	"sort"
	"strings"
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
	// notes is the last note of each room member that is downloading
	// (core.PeerNote), by node id. No engine call lists them, so the model
	// keeps them and forgets a quiet member's after noteLife, as the engine
	// does; a Resync drops them all, and the next ones, a second away,
	// bring them back.
	notes map[string]heard

	// stale is set by a Resync: the event stream lost events, so the model
	// is wrong until seed loads the engine's state again.
	stale bool

	// What changed since the last redraw.
	listDirty, peersDirty, statusDirty bool
	chunksDirty                        map[core.DownloadID]bool
	// sharedDirty: a download finished, so the files this machine shares
	// may have changed.
	sharedDirty bool

	// now is the model's clock, for when a download was added and ended
	// as seen by a window that was open then; tests replace it.
	now func() time.Time
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
	// Added is when the download was added; Ended when it reached a final
	// state (zero before).
	Added, Ended time.Time

	spans []span // what has landed, by colour; adjacent pieces merged
	// prior counts bytes already in the file before the chunk map began:
	// after a restart the engine knows how much a download holds but not
	// who fetched it.
	prior int64
	// rev counts changes to spans; counts caches byColor for it.
	rev        int
	counts     map[int]int64
	countsRev  int
	countsSize int64
	colors     peerIndex
	names      map[string]string // peer id → display name, from progress
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
		notes:       make(map[string]heard),
		chunksDirty: make(map[core.DownloadID]bool),
		now:         time.Now,
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
		d.Source, d.OutDir, d.Path = s.Source, s.OutDir, s.Path
		switch {
		case s.Path != "":
			d.Name = filepath.Base(s.Path) // the name it was saved under
		case s.Name != "":
			d.Name = s.Name
		case s.Source != "":
			// Never probed (it failed first): a name from the link.
			d.Name = nameFromSource(s.Source)
		}
		d.State, d.Err, d.Size, d.Done = s.State, s.Err, s.Size, s.Done
		d.Peers, d.Wait = s.Peers, s.WaitUntil
		for peer, name := range s.Names {
			d.learnNames([]core.PeerShare{{Peer: peer, Name: name}})
		}
		d.learnNames(s.Peers)
		// The engine's times win over the window's; zero for a list saved
		// before times were kept.
		d.Added, d.Ended = s.Added, s.Ended
		if s.State != core.StateDownloading {
			d.Rate, d.ETA = 0, 0 // a snapshot has no rate; only a running download has one
		}
		d.spans = nil
		d.rev++
		for _, c := range s.Chunks {
			d.land(c)
		}
		// What the file holds beyond the chunk list was fetched before
		// the engine last started. While a run writes, its own bytes are
		// not all durable yet; its shares say how many it wrote.
		var run int64
		if s.State == core.StateDownloading || s.State == core.StateVerifying {
			for _, p := range s.Peers {
				run += p.Bytes
			}
		}
		d.prior = max(0, s.Done-max(d.covered(), run))
		m.chunksDirty[s.ID] = true
	}
	// Newest first by when they were added; the engine's order breaks
	// ties, and downloads from a list that predates the time stamp go last.
	slices.SortStableFunc(m.order, func(a, b core.DownloadID) int {
		return m.downloads[b].Added.Compare(m.downloads[a].Added)
	})
	// The engine's list of peers is whole: one missing from it was lost.
	clear(m.peers)
	for _, p := range peers {
		m.peers[peerKey(p)] = p
	}
	for id := range m.lendRates {
		if _, ok := m.peers[id]; !ok || !lending {
			delete(m.lendRates, id)
		}
	}
	m.lending = lending
	m.stale = false
	m.listDirty, m.peersDirty, m.statusDirty, m.sharedDirty = true, true, true, true
}

// apply folds one event into the model and returns the notification it
// calls for, if any.
func (m *model) apply(ev core.Event) *notification {
	switch ev := ev.(type) {
	case core.DownloadAdded:
		d := m.ensure(ev.ID)
		d.Source, d.OutDir = ev.Source, ev.OutDir
		switch {
		case ev.Name != "":
			d.Name = ev.Name
		case d.Name == string(ev.ID) && ev.Source != "":
			d.Name = nameFromSource(ev.Source) // until the origin is probed
		}
		m.listDirty, m.statusDirty = true, true
	case core.DownloadStateChanged:
		d := m.ensure(ev.ID)
		before := d.State
		d.State, d.Err = ev.State, ev.Err
		if ev.Path != "" {
			// The name it was saved under: "blob (1).bin" when blob.bin
			// was taken.
			d.Path, d.Name = ev.Path, filepath.Base(ev.Path)
		}
		switch {
		case !ev.State.Final():
			d.Ended = time.Time{} // retried
		case d.Ended.IsZero():
			d.Ended = m.now()
		}
		if ev.State != core.StateDownloading {
			d.Rate, d.ETA, d.Wait = 0, 0, time.Time{}
			// The shares came with an event, whose slice the engine and
			// other subscribers may still read: change a copy.
			d.Peers = slices.Clone(d.Peers)
			for i := range d.Peers {
				d.Peers[i].Rate, d.Peers[i].InFlight = 0, 0
			}
		}
		if ev.State == core.StateDone {
			if d.Size >= 0 {
				d.Done = d.Size
			}
			m.sharedDirty = true
		}
		if !writing(ev.State) {
			// Between runs every byte written is durable: what the chunk
			// map lacks came from before it began.
			d.prior = max(0, d.Done-d.covered())
		}
		m.listDirty, m.statusDirty = true, true
		m.chunksDirty[ev.ID] = true
		if before != ev.State {
			return finishNotification(d)
		}
	case core.DownloadProgress:
		d := m.ensure(ev.ID)
		if ev.Name != "" && d.Path == "" {
			d.Name = ev.Name
		}
		d.Size, d.Done, d.Rate, d.ETA, d.Peers, d.Wait = ev.Size, ev.Done, ev.Rate, ev.ETA, ev.Peers, ev.WaitUntil
		d.learnNames(ev.Peers)
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
	case core.ChunksReset:
		// A run opened the partial file: its chunk map is this, from
		// before the run or from nothing when the file started over.
		d := m.ensure(ev.ID)
		d.spans = nil
		d.rev++
		for _, c := range ev.Chunks {
			d.land(c)
		}
		d.Done = ev.Durable
		d.prior = max(0, d.Done-d.covered())
		m.listDirty = true
		m.chunksDirty[ev.ID] = true
	case core.PeerSeen:
		m.upsertPeer(ev.Peer)
	case core.PeerReady:
		m.upsertPeer(ev.Peer)
	case core.PeerUpdated:
		m.upsertPeer(ev.Peer)
	case core.PeerLost:
		m.dropPeer(ev.Peer)
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
	case core.PeerNote:
		m.hear(ev)
	case core.Resync:
		// Only the engine knows what the missed events did; the window
		// reads it again (seed) before it draws. It has no call for the
		// members' notes: they may be stale, so they go until the next.
		m.stale = true
		if len(m.notes) > 0 {
			clear(m.notes)
			m.peersDirty, m.statusDirty = true, true
		}
	}
	return nil
}

func (m *model) ensure(id core.DownloadID) *download {
	if d, ok := m.downloads[id]; ok {
		return d
	}
	d := &download{ID: id, Size: -1, Name: string(id), Added: m.now()}
	m.downloads[id] = d
	m.order = append([]core.DownloadID{id}, m.order...)
	m.listDirty = true
	return d
}

// Peer rows: a machine's row is keyed by its node id; a dial in progress,
// which has no id yet, by its address (dialKey + address), so that dials
// never share a row. The engine closes each dial's row with the PeerReady
// that turns it into its machine's row, or with a PeerLost without an id
// when the dial is over (core.PeerSeen).

// dialKey prefixes the key of a dial's row; no node id starts with it.
const dialKey = "\x00dial "

func peerKey(p core.PeerInfo) string {
	if p.ID == "" {
		return dialKey + p.Addr
	}
	return p.ID
}

func (m *model) upsertPeer(p core.PeerInfo) {
	if p.ID != "" {
		delete(m.peers, dialKey+p.Addr) // the dial reached this machine
	}
	key := peerKey(p)
	if old, ok := m.peers[key]; ok && p.Lent == 0 {
		p.Lent = old.Lent
	}
	m.peers[key] = p
	m.peersDirty, m.statusDirty = true, true
}

func (m *model) dropPeer(p core.PeerInfo) {
	delete(m.peers, dialKey+p.Addr)
	if p.ID != "" {
		delete(m.peers, p.ID)
		delete(m.lendRates, p.ID)
		delete(m.notes, p.ID)
	}
	m.peersDirty, m.statusDirty = true, true
}

// heard is a member's note and when it came (by the model's clock).
type heard struct {
	note core.PeerNote
	at   time.Time
}

// noteLife is how long a member's note counts without a newer one: a
// member that downloads sends one a second, and the engine forgets a
// note after 5 s too.
const noteLife = 5 * time.Second

// hear keeps a member's note; an empty one (it stopped downloading)
// clears what it said before.
func (m *model) hear(n core.PeerNote) {
	if len(n.Downloads) == 0 {
		if _, ok := m.notes[n.Peer]; !ok {
			return
		}
		delete(m.notes, n.Peer)
	} else {
		m.notes[n.Peer] = heard{note: n, at: m.now()}
	}
	m.peersDirty, m.statusDirty = true, true
}

// expireNotes forgets the notes older than noteLife and reports whether
// it forgot any.
func (m *model) expireNotes() bool {
	now, gone := m.now(), false
	for id, h := range m.notes {
		if now.Sub(h.at) > noteLife {
			delete(m.notes, id)
			gone = true
		}
	}
	if gone {
		m.peersDirty, m.statusDirty = true, true
	}
	return gone
}

// nextExpiry is when the oldest note expires; false without notes.
func (m *model) nextExpiry() (time.Time, bool) {
	var first time.Time
	for _, h := range m.notes {
		if first.IsZero() || h.at.Before(first) {
			first = h.at
		}
	}
	return first.Add(noteLife), !first.IsZero()
}

// downloadsOf is what the member with node id says it downloads now; nil
// when it said nothing within noteLife.
func (m *model) downloadsOf(id string) []core.PeerDownload {
	h, ok := m.notes[id]
	if !ok || m.now().Sub(h.at) > noteLife {
		return nil
	}
	return h.note.Downloads
}

// helping lists, by member name, the downloads this machine lends to now
// (as core.Engine.Helping does).
func (m *model) helping() []core.PeerNote {
	var out []core.PeerNote
	for id := range m.notes {
		var helped []core.PeerDownload
		for _, d := range m.downloadsOf(id) {
			if d.Helping {
				helped = append(helped, d)
			}
		}
		if len(helped) == 0 {
			continue
		}
		n := m.notes[id].note
		if n.Name == "" {
			n.Name = peerLabel(id, m.peers[id].Name)
		}
		n.Downloads = helped
		out = append(out, n)
	}
	slices.SortFunc(out, func(a, b core.PeerNote) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.Peer, b.Peer))
	})
	return out
}

// helpingLine is the status bar's part on whom this machine helps:
// "helping laptop: ubuntu.iso 43 %"; "" when it helps nobody.
func (m *model) helpingLine() string { return core.HelpingLine(m.helping()) }

// machines counts the peers proven to be in the room, for the Peers tab's
// title: a dial in progress may be no machine at all (a typo, a machine
// that is off), or one already counted under its id.
func (m *model) machines() int {
	n := 0
	for _, p := range m.peers {
		if p.Ready {
			n++
		}
	}
	return n
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
		if out[i].ID != out[j].ID {
			return out[i].ID < out[j].ID
		}
		return out[i].Addr < out[j].Addr // dials in progress
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
	d.rev++
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

// writing reports whether a download in state s is writing bytes that are
// not all durable yet.
func writing(s core.State) bool { return s == core.StateDownloading }

// byColor counts the bytes of the chunk map by colour slot. Where pieces
// overlap (a file that started over), the later one counts. It sweeps the
// pieces' edges in order, O(n log n), and keeps the answer until the map
// or the size changes.
func (d *download) byColor() map[int]int64 {
	if d.counts != nil && d.countsRev == d.rev && d.countsSize == d.Size {
		return d.counts
	}
	type edge struct {
		at    int64
		piece int
		start bool
	}
	edges := make([]edge, 0, 2*len(d.spans))
	for i, s := range d.spans {
		lo, hi := s.off, s.off+s.n
		if d.Size >= 0 {
			hi = min(hi, d.Size)
		}
		if hi > lo {
			edges = append(edges, edge{lo, i, true}, edge{hi, i, false})
		}
	}
	slices.SortFunc(edges, func(a, b edge) int { return cmp.Compare(a.at, b.at) })
	out := make(map[int]int64)
	var live pieceHeap // the pieces covering the sweep, latest on top
	ended := make([]bool, len(d.spans))
	var prev int64
	for i := 0; i < len(edges); {
		at := edges[i].at
		if len(live) > 0 {
			out[d.spans[live[0]].color] += at - prev
		}
		for ; i < len(edges) && edges[i].at == at; i++ {
			if edges[i].start {
				heap.Push(&live, edges[i].piece)
			} else {
				ended[edges[i].piece] = true
			}
		}
		for len(live) > 0 && ended[live[0]] {
			heap.Pop(&live)
		}
		prev = at
	}
	d.counts, d.countsRev, d.countsSize = out, d.rev, d.Size
	return out
}

// pieceHeap is a max-heap of chunk-map indexes: the latest piece on top.
type pieceHeap []int

func (h pieceHeap) Len() int           { return len(h) }
func (h pieceHeap) Less(i, j int) bool { return h[i] > h[j] }
func (h pieceHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *pieceHeap) Push(x any)        { *h = append(*h, x.(int)) }
func (h *pieceHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// covered is how many bytes the chunk map holds.
func (d *download) covered() int64 {
	var n int64
	for _, b := range d.byColor() {
		n += b
	}
	return n
}

// priorPeer names the bytes fetched before a restart in a share list.
const priorPeer = "\x00prior"

// copyPeer starts the peer id of bytes copied from a room member's copy
// of the file on the LAN (core.PeerShare.Copy); the member's node id
// follows. The chunk map keeps the id, so bytes copied in an earlier run
// are still known as a copy.
const copyPeer = "copy:"

// shares is who fetched how much of the file, from the chunk map, so the
// counts hold across pauses and restarts (the engine's progress reports
// count only the current run). Rates and names come from the last report.
// Bytes from before a restart, whose fetcher nobody recorded, are one
// more entry, priorPeer, listed last.
func (d *download) shares() []core.PeerShare {
	counts := d.byColor()
	run := make(map[string]core.PeerShare, len(d.Peers))
	for _, p := range d.Peers {
		run[p.Peer] = p
	}
	var out []core.PeerShare
	listed := make(map[string]bool)
	for _, peer := range d.colors.peers() {
		listed[peer] = true
		p := run[peer]
		p.Peer, p.Bytes = peer, counts[d.colors.of(peer)]
		if p.Name == "" {
			p.Name = d.names[peer]
		}
		p.Copy = p.Copy || strings.HasPrefix(peer, copyPeer)
		out = append(out, p)
	}
	// Peers of the current run that have not landed a chunk yet.
	for _, p := range d.Peers {
		if !listed[p.Peer] {
			listed[p.Peer] = true
			p.Bytes = 0
			out = append(out, p)
		}
	}
	if n := d.priorBytes(); n > 0 {
		out = append(out, core.PeerShare{Peer: priorPeer, Name: "before a restart", Bytes: n})
	}
	return out
}

// priorBytes is what the file held before the chunk map began. While a
// run writes, bytes not yet durable are missing from the map too; they
// are not the prior ones, so the count made between runs holds.
func (d *download) priorBytes() int64 {
	if d.State == core.StateCanceled {
		return 0
	}
	if writing(d.State) {
		return min(d.prior, max(0, d.Done-d.covered()))
	}
	return d.prior
}

// learnNames remembers the display names a report gives for peers, so a
// peer keeps its name after it leaves the current run.
func (d *download) learnNames(peers []core.PeerShare) {
	for _, p := range peers {
		if p.Name != "" {
			if d.names == nil {
				d.names = make(map[string]string)
			}
			d.names[p.Peer] = p.Name
		}
	}
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
