// Package recent remembers the room peers this node reached lately, so that
// a restarted node dials them at once instead of waiting for mDNS to hear of
// them again (the engine's "recent" peer source; see docs/discovery.md,
// "Warm start").
//
// # File
//
// The list lives in HOME/recent-peers.json, mode 0600, newest peer first:
//
//	{"version":1,"room":"<room tag>","peers":[
//	{"id":"<node id>","addr":"192.168.1.20:4700","ready":"2025-01-02T03:04:05Z"},
//	...
//	]}
//
// room is the room's tag (quicwire.Room.Tag): peers of another room are
// ignored, and the first peer recorded in the new room replaces them. At
// most MaxPeers peers are kept, one per node id and one per address; a peer
// ready again at a new address keeps only the new one.
//
// # Writes
//
// Every write replaces the whole file atomically (osutil.Dir.WriteFileAtomic:
// a symbolic link at the name is replaced, never written through). Peers
// become ready often (each reconnect, each restart of a peer), so Ready
// writes only when the list changes: a new peer, a new address, another
// room, or a peer whose last ready time is older than Refresh.
//
// # Damage
//
// The file is read as untrusted input: at most MaxFileSize bytes, never
// through a symbolic link, and every entry checked (a canonical node id, an
// IP address and port, a plausible time, no repeats). A file breaking any
// rule is not used: Load returns an empty list and an error to log, and the
// next write replaces the file. A lost list costs one slow start, nothing
// more.
package recent

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/dragonload/dragonload/core/osutil"
	"github.com/dragonload/dragonload/quicwire"
)

// FileName is the list's file inside the home folder.
const FileName = "recent-peers.json"

// Bounds of the list and of its file. A file past them was not written by
// this package and is not used.
const (
	Version     = 1
	MaxPeers    = 16
	MaxFileSize = 64 << 10
	// Refresh is how old a peer's last ready time may grow before a new
	// ready writes the file again.
	Refresh = time.Hour
	tagLen  = 16 // hex digits of a room tag
)

// Peer is one room peer that was ready lately.
type Peer struct {
	ID    string    // node id, as quicwire.NodeID.String writes it
	Addr  string    // IP address and UDP port it was reached at
	Ready time.Time // when it was last ready (UTC, whole seconds)
}

// List is the recent peers of one room. Its methods are safe for
// concurrent use.
type List struct {
	home  string
	write func(home string, data []byte) error // writeFile; tests replace it

	mu    sync.Mutex
	room  string // tag of the room peers belong to
	peers []Peer // newest first
}

// Load reads HOME/recent-peers.json. It always returns a usable List; a
// missing file is an empty one. A file that cannot be read or breaks the
// rules above gives an empty list too, and an error saying why, for the
// caller to log.
func Load(home string) (*List, error) {
	l := &List{home: home, write: writeFile}
	data, err := readFile(home)
	if errors.Is(err, fs.ErrNotExist) {
		return l, nil
	}
	if err != nil {
		return l, fmt.Errorf("cannot read the recent peers, so the warm start is skipped: %w", err)
	}
	f, err := decode(data)
	if err != nil {
		return l, fmt.Errorf("the recent peers file is not usable (%v), so the warm start is skipped", err)
	}
	l.room, l.peers = f.room, f.peers
	slices.SortStableFunc(l.peers, func(a, b Peer) int { return b.Ready.Compare(a.Ready) })
	return l, nil
}

// Peers returns the peers of the room with tag room, newest first; none
// when the list belongs to another room.
func (l *List) Peers(room string) []Peer {
	l.mu.Lock()
	defer l.mu.Unlock()
	if room == "" || room != l.room {
		return nil
	}
	return slices.Clone(l.peers)
}

// Ready records that the peer id, reached at addr, was ready at now in the
// room with tag room. It writes the file only when this changes the list
// (see Writes) and reports whether it did. The list in memory changes even
// when the write fails: the next change writes it all again.
func (l *List) Ready(room, id, addr string, now time.Time) (wrote bool, err error) {
	now = now.UTC().Truncate(time.Second)
	p := Peer{ID: id, Addr: addr, Ready: now}
	if err := checkTag(room); err != nil {
		return false, err
	}
	if err := checkPeer(p); err != nil {
		return false, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if room == l.room {
		if i := slices.IndexFunc(l.peers, func(q Peer) bool { return q.ID == id }); i >= 0 {
			old := l.peers[i]
			if age := now.Sub(old.Ready); old.Addr == addr && age >= 0 && age < Refresh {
				return false, nil
			}
		}
	} else {
		l.room, l.peers = room, nil
	}
	l.peers = slices.DeleteFunc(l.peers, func(q Peer) bool { return q.ID == id || q.Addr == addr })
	l.peers = slices.Insert(l.peers, 0, p)
	l.peers = l.peers[:min(len(l.peers), MaxPeers)]
	data, err := encode(file{room: l.room, peers: l.peers})
	if err == nil {
		err = l.write(l.home, data)
	}
	if err != nil {
		return false, fmt.Errorf("cannot save the recent peers: %w", err)
	}
	return true, nil
}

// readFile reads the file without following a symbolic link, one byte past
// the limit so that decode sees a file that is too large.
func readFile(home string) ([]byte, error) {
	d, err := osutil.OpenDir(home)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.ReadFile(FileName, MaxFileSize+1)
}

func writeFile(home string, data []byte) error {
	d, err := osutil.OpenDir(home)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.WriteFileAtomic(FileName, data, 0o600)
}

// file is the decoded file: a room tag and its peers, in file order.
type file struct {
	room  string
	peers []Peer
}

// onDisk is the file's JSON shape.
type onDisk struct {
	Version int      `json:"version"`
	Room    string   `json:"room"`
	Peers   []record `json:"peers"`
}

type record struct {
	ID    string    `json:"id"`
	Addr  string    `json:"addr"`
	Ready time.Time `json:"ready"`
}

// encode renders f as a version 1 file, one peer a line. It refuses what
// decode would refuse.
func encode(f file) ([]byte, error) {
	if err := checkFile(f); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "{\"version\":%d,\"room\":%q,\"peers\":[\n", Version, f.room)
	for i, p := range f.peers {
		rec, err := json.Marshal(record(p))
		if err != nil {
			return nil, err
		}
		buf.Write(rec)
		if i < len(f.peers)-1 {
			buf.WriteByte(',')
		}
		buf.WriteByte('\n')
	}
	buf.WriteString("]}\n")
	return buf.Bytes(), nil
}

// decode parses a file and checks it (checkFile). Times come back in UTC.
func decode(data []byte) (file, error) {
	if len(data) > MaxFileSize {
		return file{}, fmt.Errorf("it is larger than %d KiB", MaxFileSize>>10)
	}
	// The version alone first, so that a newer format is reported as such
	// even if its fields no longer fit.
	var head struct {
		Version *int `json:"version"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return file{}, fmt.Errorf("it is not JSON: %w", err)
	}
	switch {
	case head.Version == nil:
		return file{}, errors.New("it has no format version")
	case *head.Version > Version:
		return file{}, fmt.Errorf("it was written by a newer Dragonload, format version %d", *head.Version)
	case *head.Version < Version:
		return file{}, fmt.Errorf("format version %d is unknown", *head.Version)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var d onDisk
	if err := dec.Decode(&d); err != nil {
		return file{}, fmt.Errorf("it is not a list of peers: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return file{}, errors.New("it has data after the list")
	}
	f := file{room: d.Room}
	for _, r := range d.Peers {
		f.peers = append(f.peers, Peer{ID: r.ID, Addr: r.Addr, Ready: r.Ready.UTC()})
	}
	if err := checkFile(f); err != nil {
		return file{}, err
	}
	return f, nil
}

// checkFile checks a room tag and its peers: at most MaxPeers, each valid,
// no node id and no address twice.
func checkFile(f file) error {
	if err := checkTag(f.room); err != nil {
		return err
	}
	if len(f.peers) > MaxPeers {
		return fmt.Errorf("it lists %d peers, more than %d", len(f.peers), MaxPeers)
	}
	ids := make(map[string]bool, len(f.peers))
	addrs := make(map[string]bool, len(f.peers))
	for i, p := range f.peers {
		if err := checkPeer(p); err != nil {
			return fmt.Errorf("peer %d: %w", i+1, err)
		}
		if ids[p.ID] || addrs[p.Addr] {
			return fmt.Errorf("peer %d repeats a node id or an address", i+1)
		}
		ids[p.ID], addrs[p.Addr] = true, true
	}
	return nil
}

func checkTag(tag string) error {
	if len(tag) != tagLen {
		return fmt.Errorf("room tag %.40q is not %d hex digits", tag, tagLen)
	}
	if _, err := hex.DecodeString(tag); err != nil || tag != lowerHex(tag) {
		return fmt.Errorf("room tag %.40q is not %d lowercase hex digits", tag, tagLen)
	}
	return nil
}

func lowerHex(s string) string {
	b, _ := hex.DecodeString(s)
	return hex.EncodeToString(b)
}

// Times outside these years were not written by this package (and some
// cannot be written back as JSON).
var (
	minReady = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	maxReady = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
)

// checkPeer checks one peer: a node id in its canonical form, a canonical
// IP address without a zone and a port (what discovery reports; never a
// host name, so that loading the list resolves nothing), a time in range.
func checkPeer(p Peer) error {
	id, err := quicwire.ParseNodeID(p.ID)
	if err != nil || id.String() != p.ID {
		return fmt.Errorf("node id %.60q is not one", p.ID)
	}
	ap, err := netip.ParseAddrPort(p.Addr)
	switch {
	case err != nil:
		return fmt.Errorf("address %.60q is not IP:PORT", p.Addr)
	case ap.String() != p.Addr:
		return fmt.Errorf("address %.60q is not written as %s", p.Addr, ap)
	case ap.Port() == 0 || ap.Addr().IsUnspecified() || ap.Addr().IsMulticast():
		return fmt.Errorf("address %.60q cannot be dialed", p.Addr)
	case ap.Addr().Zone() != "":
		// Discovery never uses link-local addresses, the only ones with
		// a zone.
		return fmt.Errorf("address %.60q has a zone", p.Addr)
	}
	if p.Ready.Before(minReady) || !p.Ready.Before(maxReady) {
		return fmt.Errorf("time %v is out of range", p.Ready)
	}
	return nil
}
