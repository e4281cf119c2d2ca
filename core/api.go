package core

import (
	"fmt"
	"time"
)

// DownloadID names one download for the lifetime of the engine.
type DownloadID string

// State is where a download is in its life.
type State int

// The states of a download. Done, Failed and Canceled are final.
const (
	StateQueued State = iota
	StateProbing
	StateDownloading
	StatePaused
	StateVerifying
	StateDone
	StateFailed
	StateCanceled
)

var stateNames = [...]string{"queued", "probing", "downloading", "paused", "verifying", "done", "failed", "canceled"}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("state(%d)", int(s))
}

// Final reports whether nothing more will happen to a download in state s.
func (s State) Final() bool { return s == StateDone || s == StateFailed || s == StateCanceled }

// SelfPeer is the peer name used for chunks this node fetched itself.
const SelfPeer = "self"

// Event is anything the engine reports. The concrete types below are the
// whole set; subscribers switch on them.
type Event interface{ event() }

// DownloadAdded reports a new download, before it is probed.
type DownloadAdded struct {
	ID     DownloadID
	Source string // what the user gave: URL, link file path or dragon:// link
	Name   string // best guess of the file name; final once probed
	OutDir string
}

// DownloadStateChanged reports a state transition. Err is set for
// StateFailed; Path is the final file for StateDone.
type DownloadStateChanged struct {
	ID    DownloadID
	State State
	Err   error
	Path  string
}

// DownloadProgress is a periodic (about 10 per second at most) summary.
// Name and Size are final from the first one on (the origin was probed).
type DownloadProgress struct {
	ID    DownloadID
	Name  string
	Size  int64 // -1 while unknown
	Done  int64 // bytes written to the partial file (ChunkLanded says when durable)
	Rate  float64
	ETA   time.Duration // 0 when unknown
	Peers []PeerShare
	// WaitUntil is set while the server asked to wait (Retry-After) and
	// the download honours it: "waiting for the server until 14:05".
	WaitUntil time.Time
}

// PeerShare is one participant's contribution to one download.
type PeerShare struct {
	Peer     string // node id, or SelfPeer
	Name     string
	Bytes    int64
	Rate     float64 // bytes per second, recent
	InFlight int     // requests outstanding
	// Copy says the bytes came from Peer's copy on the LAN (a finished or
	// running download of the same file), not from the internet via Peer.
	// Peer is then "copy:" and the member's node id.
	Copy bool
}

// DownloadRemoved reports a finished download taken off the list (Remove,
// ClearFinished).
type DownloadRemoved struct{ ID DownloadID }

// ChunkLanded reports that bytes [Offset, Offset+Length) of a download were
// written and are durable, and which peer fetched them.
type ChunkLanded struct {
	ID     DownloadID
	Offset int64
	Length int64
	Peer   string
}

// ChunksReset replaces a download's chunk map: the partial file holds
// Durable bytes, Chunks says who fetched which of them (bytes fetched
// before the chunk map was kept have no chunk), and ChunkLanded events add
// to that. It is sent when a run opens the partial file, so a download
// that starts over (the file changed on the server, the partial file was
// lost) is shown empty again.
type ChunksReset struct {
	ID      DownloadID
	Durable int64
	Chunks  []ChunkLanded
}

// PeerInfo describes one member of the room as this node sees it, or an
// address being dialed (ID "", not Ready): one entry per machine.
type PeerInfo struct {
	ID string // node id (full, base32); "" for an address not yet proven
	// Name is what this node calls the peer: Nickname when set, else the
	// display name the peer announces.
	Name string
	// Nickname is this node's own name for the peer (Engine.RenamePeer);
	// "" = none.
	Nickname string
	Addr     string
	Lending  bool
	RTT      time.Duration
	Source   string // "mdns", or "recent" (found by mDNS before, dialed at start); "manual" (--peer, settings) or "config" (AddPeer): added by hand
	Ready    bool   // room proof succeeded on a live connection
	Received int64  // bytes this node received from the peer
	Lent     int64  // bytes this node sent to the peer
	Rate     float64
	// Banned says why this node no longer uses the peer as a lender (it
	// sent bytes that differ from the origin's); "" when it is not.
	Banned string
}

// PeerSeen reports an address heard of but not yet proven, about to be
// dialed: Peer has Addr and Source, no ID. A front end keys it by address
// until the PeerReady (same Addr) or PeerLost (same Addr, no ID) that
// closes it; it is not sent for an address known to reach a machine that
// is connected through another address.
type PeerSeen struct{ Peer PeerInfo }

// PeerReady reports a peer that passed the room proof.
type PeerReady struct{ Peer PeerInfo }

// PeerLost reports a peer that went away (expiry, goodbye, dead connection,
// RemovePeer). With an empty Peer.ID it reports an address that is no
// longer dialed on its own (forgotten, or it reaches a machine connected
// through another address): it closes that address's PeerSeen.
type PeerLost struct {
	Peer   PeerInfo
	Reason string
}

// PeerUpdated reports changed numbers or names for a ready peer (lending,
// rate, RTT, the name it announces, its nickname).
type PeerUpdated struct{ Peer PeerInfo }

// LendingChanged reports this node's own lend switch.
type LendingChanged struct{ On bool }

// Lent reports progress of chunks this node serves to others.
type Lent struct {
	Peer  string
	Bytes int64 // total so far to that peer
	Rate  float64
}

// Notice is a message for the user that belongs to no single download,
// for example "no peers heard on any interface".
type Notice struct {
	Level    string     // "info", "warn", "error"
	Download DownloadID // the download it concerns, or ""
	Text     string
}

// Resync reports that the subscriber fell behind and missed events From..To
// (the bus's sequence numbers, inclusive); re-read Engine.Downloads() and
// Engine.Peers(). Events after To follow as usual. A subscriber that keeps
// state from events must handle it; one that only logs may ignore it.
type Resync struct{ From, To uint64 }

func (DownloadAdded) event()        {}
func (DownloadStateChanged) event() {}
func (DownloadRemoved) event()      {}
func (DownloadProgress) event()     {}
func (ChunkLanded) event()          {}
func (ChunksReset) event()          {}
func (PeerSeen) event()             {}
func (PeerReady) event()            {}
func (PeerLost) event()             {}
func (PeerUpdated) event()          {}
func (LendingChanged) event()       {}
func (Lent) event()                 {}
func (Notice) event()               {}
func (PeerNote) event()             {}
func (Resync) event()               {}

// Limits are the knobs a user may turn at run time. Zero means "no cap"
// for rates and "the default" for counts.
type Limits struct {
	LendRate        int64 // bytes per second this node lends, all peers together
	LendConcurrency int   // chunk requests served at once
	MaxDownloads    int   // downloads running at once; the rest queue
	// DownloadRate caps the bytes per second all downloads together
	// receive, from origins and from peers; at least MinDownloadRate.
	DownloadRate int64
}

// DownloadSnapshot is a download's current state, for a front end that
// starts after the download did.
type DownloadSnapshot struct {
	ID     DownloadID
	Source string
	Name   string
	OutDir string
	State  State
	Err    error
	Path   string
	Size   int64
	Done   int64
	Peers  []PeerShare
	Chunks []ChunkLanded // what is durable so far, by peer
	// Names are the display names of the peers in Chunks, as they were
	// when their chunks landed (kept across restarts of the engine).
	Names map[string]string
	// WaitUntil is set while the server asked to wait (see DownloadProgress).
	WaitUntil time.Time
	// Added is when the download was added; Ended when it reached a final
	// state (zero before).
	Added, Ended time.Time
	// Note is the last notice about this download (why it started over,
	// an inconsistent server), for a front end that starts after it.
	Note string
}
