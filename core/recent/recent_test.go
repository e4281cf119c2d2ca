package recent

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/dragonload/dragonload/quicwire"
)

const (
	roomA = "0123456789abcdef"
	roomB = "fedcba9876543210"
)

var t0 = time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)

func nodeID(i int) string { return quicwire.NodeID{byte(i), byte(i >> 8), 7}.String() }

func addr(i int) string { return fmt.Sprintf("192.168.1.%d:4700", i) }

// writeRaw puts data where the list is kept.
func writeRaw(t *testing.T, home, data string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(home, FileName), []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

func goodFile(room string, peers ...Peer) string {
	data, err := encode(file{room: room, peers: peers})
	if err != nil {
		panic(err)
	}
	return string(data)
}

// TestLoad: what Load makes of the file it finds: a good one is used,
// newest peer first; anything damaged, too large or of a newer format
// gives an empty list and an error to log.
func TestLoad(t *testing.T) {
	p1 := Peer{ID: nodeID(1), Addr: addr(1), Ready: t0}
	p2 := Peer{ID: nodeID(2), Addr: "[fd00::2]:4701", Ready: t0.Add(time.Minute)}
	rec := func(id, addr, ready string) string {
		return fmt.Sprintf(`{"id":%q,"addr":%q,"ready":%q}`, id, addr, ready)
	}
	file := func(room string, recs ...string) string {
		return `{"version":1,"room":"` + room + `","peers":[` + strings.Join(recs, ",") + `]}`
	}
	var many []Peer
	for i := range MaxPeers + 1 {
		many = append(many, Peer{ID: nodeID(i), Addr: addr(i + 1), Ready: t0})
	}
	manyRecs := make([]string, len(many))
	for i, p := range many {
		manyRecs[i] = rec(p.ID, p.Addr, p.Ready.Format(time.RFC3339))
	}
	cases := []struct {
		name    string
		data    string // "" = no file
		want    []Peer // for roomA
		wantErr string
	}{
		{name: "no file"},
		{name: "good, oldest first on disk", data: goodFile(roomA, p1, p2), want: []Peer{p2, p1}},
		{name: "another room's list", data: goodFile(roomB, p1)},
		{name: "a time in another zone", data: file(roomA, rec(p1.ID, p1.Addr, "2025-03-04T06:06:07+01:00")), want: []Peer{p1}},
		{name: "not JSON", data: "{\"version\":1,\"room\":", wantErr: "not JSON"},
		{name: "empty", data: " ", wantErr: "not JSON"},
		{name: "too large", data: goodFile(roomA, p1) + strings.Repeat(" ", MaxFileSize), wantErr: "larger than 64 KiB"},
		{name: "newer format", data: `{"version":2,"whatever":[]}`, wantErr: "newer Dragonload"},
		{name: "no version", data: `{"room":"` + roomA + `","peers":[]}`, wantErr: "no format version"},
		{name: "unknown field", data: `{"version":1,"room":"` + roomA + `","peers":[],"key":"x"}`, wantErr: "unknown field"},
		{name: "data after the list", data: goodFile(roomA, p1) + "{}", wantErr: "not JSON"},
		{name: "room tag not hex", data: file("0123456789abcdeg"), wantErr: "room tag"},
		{name: "room tag upper case", data: file("0123456789ABCDEF"), wantErr: "room tag"},
		{name: "room tag missing", data: `{"version":1,"peers":[]}`, wantErr: "room tag"},
		{name: "more than 16 peers", data: file(roomA, manyRecs...), wantErr: "more than 16"},
		{name: "node id too short", data: file(roomA, rec("abc", addr(1), "2025-03-04T05:06:07Z")), wantErr: "node id"},
		{name: "node id upper case", data: file(roomA, rec(strings.ToUpper(nodeID(1)), addr(1), "2025-03-04T05:06:07Z")), wantErr: "node id"},
		{name: "host name", data: file(roomA, rec(nodeID(1), "evil.example:4700", "2025-03-04T05:06:07Z")), wantErr: "not IP:PORT"},
		{name: "no port", data: file(roomA, rec(nodeID(1), "192.168.1.1", "2025-03-04T05:06:07Z")), wantErr: "not IP:PORT"},
		{name: "port 0", data: file(roomA, rec(nodeID(1), "192.168.1.1:0", "2025-03-04T05:06:07Z")), wantErr: "cannot be dialed"},
		{name: "multicast", data: file(roomA, rec(nodeID(1), "224.0.0.251:5353", "2025-03-04T05:06:07Z")), wantErr: "cannot be dialed"},
		{name: "a mapped IPv4 address as netip writes it", data: file(roomA, rec(nodeID(1), "[::ffff:1.2.3.4]:4700", "2025-03-04T05:06:07Z")),
			want: []Peer{{ID: nodeID(1), Addr: "[::ffff:1.2.3.4]:4700", Ready: t0}}},
		{name: "a zone", data: file(roomA, rec(nodeID(1), "[fe80::1%eth0]:4700", "2025-03-04T05:06:07Z")), wantErr: "has a zone"},
		{name: "IPv6 not canonical", data: file(roomA, rec(nodeID(1), "[FD00:0::2]:4700", "2025-03-04T05:06:07Z")), wantErr: "not written as"},
		{name: "time before 2000", data: file(roomA, rec(nodeID(1), addr(1), "1999-12-31T23:59:59Z")), wantErr: "out of range"},
		{name: "no time", data: file(roomA, `{"id":"`+nodeID(1)+`","addr":"`+addr(1)+`"}`), wantErr: "out of range"},
		{name: "node id twice", data: file(roomA, rec(nodeID(1), addr(1), "2025-03-04T05:06:07Z"), rec(nodeID(1), addr(2), "2025-03-04T05:06:07Z")), wantErr: "repeats"},
		{name: "address twice", data: file(roomA, rec(nodeID(1), addr(1), "2025-03-04T05:06:07Z"), rec(nodeID(2), addr(1), "2025-03-04T05:06:07Z")), wantErr: "repeats"},
		{name: "null entry", data: file(roomA, "null"), wantErr: "node id"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			home := t.TempDir()
			if c.data != "" {
				writeRaw(t, home, c.data)
			}
			l, err := Load(home)
			if l == nil {
				t.Fatal("Load returned no list")
			}
			switch {
			case c.wantErr == "" && err != nil:
				t.Fatalf("Load: %v", err)
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
				t.Fatalf("Load error %v, want one saying %q", err, c.wantErr)
			}
			got := l.Peers(roomA)
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Fatalf("Peers = %v, want %v", got, c.want)
			}
			if c.wantErr != "" {
				if got := l.Peers(roomB); got != nil {
					t.Fatalf("a damaged file gave peers to another room: %v", got)
				}
			}
		})
	}
}

// countWrites makes l count its writes, still writing the file.
func countWrites(l *List) *int {
	n := new(int)
	l.write = func(home string, data []byte) error {
		*n++
		return writeFile(home, data)
	}
	return n
}

func mustReady(t *testing.T, l *List, room, id, addr string, now time.Time) bool {
	t.Helper()
	wrote, err := l.Ready(room, id, addr, now)
	if err != nil {
		t.Fatal(err)
	}
	return wrote
}

// reload reads the file back through Load, which must accept it.
func reload(t *testing.T, home, room string) []Peer {
	t.Helper()
	l, err := Load(home)
	if err != nil {
		t.Fatalf("cannot load what was written: %v", err)
	}
	return l.Peers(room)
}

// TestReady: what recording a ready peer does to the list and the file.
func TestReady(t *testing.T) {
	type step struct {
		room string
		id   int
		addr string
		at   time.Duration // after t0
	}
	cases := []struct {
		name       string
		steps      []step
		wantWrites int
		want       []string // "id addr" of roomA's peers, newest first
	}{
		{
			name:       "newest first",
			steps:      []step{{roomA, 1, addr(1), 0}, {roomA, 2, addr(2), time.Second}, {roomA, 3, addr(3), 2 * time.Second}},
			wantWrites: 3,
			want:       []string{"3 " + addr(3), "2 " + addr(2), "1 " + addr(1)},
		},
		{
			name:       "a peer at a new address keeps only the new one",
			steps:      []step{{roomA, 1, addr(1), 0}, {roomA, 2, addr(2), time.Second}, {roomA, 1, addr(9), 2 * time.Second}},
			wantWrites: 3,
			want:       []string{"1 " + addr(9), "2 " + addr(2)},
		},
		{
			name:       "an address now reaching another node drops the old one",
			steps:      []step{{roomA, 1, addr(1), 0}, {roomA, 2, addr(1), time.Second}},
			wantWrites: 2,
			want:       []string{"2 " + addr(1)},
		},
		{
			name:       "ready again within the hour writes nothing",
			steps:      []step{{roomA, 1, addr(1), 0}, {roomA, 2, addr(2), time.Second}, {roomA, 1, addr(1), 59 * time.Minute}},
			wantWrites: 2,
			want:       []string{"2 " + addr(2), "1 " + addr(1)},
		},
		{
			name:       "ready again after the hour writes and moves it first",
			steps:      []step{{roomA, 1, addr(1), 0}, {roomA, 2, addr(2), time.Second}, {roomA, 1, addr(1), time.Hour}},
			wantWrites: 3,
			want:       []string{"1 " + addr(1), "2 " + addr(2)},
		},
		{
			name:       "a clock stepped back writes",
			steps:      []step{{roomA, 1, addr(1), time.Hour}, {roomA, 1, addr(1), 0}},
			wantWrites: 2,
			want:       []string{"1 " + addr(1)},
		},
		{
			name:       "another room replaces the list",
			steps:      []step{{roomA, 1, addr(1), 0}, {roomB, 2, addr(2), time.Second}},
			wantWrites: 2,
			want:       nil,
		},
		{
			name:       "back in the first room starts again",
			steps:      []step{{roomA, 1, addr(1), 0}, {roomB, 2, addr(2), time.Second}, {roomA, 3, addr(3), 2 * time.Second}},
			wantWrites: 3,
			want:       []string{"3 " + addr(3)},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			home := t.TempDir()
			l, err := Load(home)
			if err != nil {
				t.Fatal(err)
			}
			writes := countWrites(l)
			for _, s := range c.steps {
				mustReady(t, l, s.room, nodeID(s.id), s.addr, t0.Add(s.at))
			}
			if *writes != c.wantWrites {
				t.Errorf("%d writes, want %d", *writes, c.wantWrites)
			}
			ids := map[string]int{}
			for i := range 10 {
				ids[nodeID(i)] = i
			}
			show := func(ps []Peer) []string {
				var out []string
				for _, p := range ps {
					out = append(out, fmt.Sprintf("%d %s", ids[p.ID], p.Addr))
				}
				return out
			}
			if got := show(l.Peers(roomA)); fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Errorf("in memory %v, want %v", got, c.want)
			}
			if got := show(reload(t, home, roomA)); fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Errorf("on disk %v, want %v", got, c.want)
			}
		})
	}
}

// TestReadyFlood: peers ready over and over (reconnects, a room
// restarting) cost one write per peer; more than 16 leave the 16 newest.
func TestReadyFlood(t *testing.T) {
	home := t.TempDir()
	l, _ := Load(home)
	writes := countWrites(l)
	for round := range 50 {
		for i := range MaxPeers {
			mustReady(t, l, roomA, nodeID(i), addr(i+1), t0.Add(time.Duration(i)*time.Second+time.Duration(round)*time.Millisecond))
		}
	}
	if *writes != MaxPeers {
		t.Errorf("%d writes for %d peers ready 50 times each, want %d", *writes, MaxPeers, MaxPeers)
	}
	const more = 4
	for i := MaxPeers; i < MaxPeers+more; i++ {
		mustReady(t, l, roomA, nodeID(i), addr(i+1), t0.Add(time.Duration(i)*time.Second))
	}
	got := reload(t, home, roomA)
	if len(got) != MaxPeers {
		t.Fatalf("%d peers kept, want %d", len(got), MaxPeers)
	}
	for i, p := range got {
		if want := nodeID(MaxPeers + more - 1 - i); p.ID != want {
			t.Fatalf("peer %d is %s, want %s (newest first)", i, p.ID, want)
		}
	}
}

// TestReadyRefuses: Ready refuses what Load would refuse, and writes
// nothing then.
func TestReadyRefuses(t *testing.T) {
	home := t.TempDir()
	l, _ := Load(home)
	writes := countWrites(l)
	for _, c := range []struct{ room, id, addr string }{
		{"", nodeID(1), addr(1)},
		{roomA, "", addr(1)},
		{roomA, nodeID(1), "host.example:4700"},
		{roomA, nodeID(1), "0.0.0.0:4700"},
	} {
		if _, err := l.Ready(c.room, c.id, c.addr, t0); err == nil {
			t.Errorf("Ready(%q, %q, %q) accepted", c.room, c.id, c.addr)
		}
	}
	if *writes != 0 {
		t.Errorf("%d writes for refused peers", *writes)
	}
}

// TestFileMode: the file is written with mode 0600.
func TestFileMode(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix modes")
	}
	home := t.TempDir()
	l, _ := Load(home)
	mustReady(t, l, roomA, nodeID(1), addr(1), t0)
	fi, err := os.Lstat(filepath.Join(home, FileName))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode() != 0o600 {
		t.Fatalf("mode %v, want -rw-------", fi.Mode())
	}
}

// TestSymlink: a symbolic link where the file should be is neither read
// through nor written through: Load starts empty with an error, and the
// next write replaces the link, leaving its target alone.
func TestSymlink(t *testing.T) {
	home, elsewhere := t.TempDir(), t.TempDir()
	target := filepath.Join(elsewhere, "target.json")
	good := goodFile(roomA, Peer{ID: nodeID(1), Addr: addr(1), Ready: t0})
	if err := os.WriteFile(target, []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, filepath.Join(home, FileName)); err != nil {
		t.Skipf("cannot make a symbolic link here: %v", err)
	}
	l, err := Load(home)
	if err == nil {
		t.Fatal("Load read through a symbolic link")
	}
	if got := l.Peers(roomA); got != nil {
		t.Fatalf("peers from behind a symbolic link: %v", got)
	}
	mustReady(t, l, roomA, nodeID(2), addr(2), t0)
	if data, err := os.ReadFile(target); err != nil || string(data) != good {
		t.Fatalf("the link's target changed: %q, %v", data, err)
	}
	fi, err := os.Lstat(filepath.Join(home, FileName))
	if err != nil || !fi.Mode().IsRegular() {
		t.Fatalf("the link was not replaced by a file: %v, %v", fi, err)
	}
	if got := reload(t, home, roomA); len(got) != 1 || got[0].ID != nodeID(2) {
		t.Fatalf("after the write: %v", got)
	}
}

// TestWriteFails: a failed write is reported, and the next change writes
// the whole list again.
func TestWriteFails(t *testing.T) {
	home := t.TempDir()
	l, _ := Load(home)
	l.write = func(string, []byte) error { return errors.New("disk full") }
	if _, err := l.Ready(roomA, nodeID(1), addr(1), t0); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("Ready with a failing write: %v", err)
	}
	l.write = writeFile
	mustReady(t, l, roomA, nodeID(2), addr(2), t0.Add(time.Second))
	if got := reload(t, home, roomA); len(got) != 2 {
		t.Fatalf("after a failed write and a good one: %v", got)
	}
}
