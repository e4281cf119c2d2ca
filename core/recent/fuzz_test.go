package recent

import (
	"strings"
	"testing"
	"time"
)

// FuzzDecode feeds the file decoder arbitrary bytes: it must never panic,
// whatever it accepts must keep the list's rules (checkFile), and it must
// survive a save and reload unchanged.
func FuzzDecode(f *testing.F) {
	good := goodFile(roomA,
		Peer{ID: nodeID(1), Addr: addr(1), Ready: t0},
		Peer{ID: nodeID(2), Addr: "[fd00::2]:4701", Ready: t0.Add(time.Hour)},
		Peer{ID: nodeID(3), Addr: "10.1.2.3:65535", Ready: t0.Add(time.Nanosecond)},
	)
	if got, err := decode([]byte(good)); err != nil || len(got.peers) != 3 {
		f.Fatalf("the good seed does not load: %+v, %v", got, err)
	}
	seeds := []string{
		good,
		`{"version":1,"room":"` + roomA + `","peers":[]}`,
		`{"version":1,"room":"` + roomA + `","peers":null}`,
		`{"version":1,"room":"` + roomA + `"}`,
		`{"version":2,"room":"` + roomA + `","peers":[]}`,
		`{"VERSION":1,"Room":"` + roomA + `","PEERS":[{"ID":"` + nodeID(4) + `","Addr":"10.0.0.1:1","READY":"2025-01-01T00:00:00+01:00"}]}`,
		`{"version":1,"room":"` + roomA + `","peers":[{"id":"` + nodeID(4) + `","addr":"10.0.0.1:1","ready":"9999-12-31T23:59:59-01:00"}]}`,
		`{"version":1,"room":"` + roomA + `","peers":[{"id":"` + nodeID(4) + `","addr":"10.0.0.1:1","ready":"2000-01-01T00:30:00+01:00"}]}`,
		`{"version":1,"room":"` + roomA + `","peers":[null]}`,
		`{"version":1,"room":"` + roomA + `","peers":[` + strings.Repeat(`{},`, 20) + `{}]}`,
		`{"version":1,"room":"` + roomA + `","peers":[{"id":"` + nodeID(4) + `","addr":"[fe80::1%eth0]:4700","ready":"2025-01-01T00:00:00Z"}]}`,
		`null`,
		``,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := decode(data)
		if err != nil {
			if got.room != "" || got.peers != nil {
				t.Fatalf("decode returned a list with error %v", err)
			}
			return
		}
		if err := checkFile(got); err != nil {
			t.Fatalf("decode accepted a list breaking the rules (%v): %+v", err, got)
		}
		out, err := encode(got)
		if err != nil {
			t.Fatalf("cannot save what was loaded: %v", err)
		}
		if len(out) > MaxFileSize {
			t.Fatalf("saving what was loaded takes %d bytes, more than a file may hold", len(out))
		}
		again, err := decode(out)
		if err != nil {
			t.Fatalf("cannot reload what was saved: %v\n%s", err, out)
		}
		if again.room != got.room || len(again.peers) != len(got.peers) {
			t.Fatalf("reload differs:\n%+v\n%+v", again, got)
		}
		for i := range got.peers {
			a, b := got.peers[i], again.peers[i]
			if a.ID != b.ID || a.Addr != b.Addr || !a.Ready.Equal(b.Ready) || b.Ready.Location() != time.UTC {
				t.Fatalf("peer %d differs after a reload:\n%+v\n%+v", i, a, b)
			}
		}
		if out2, _ := encode(again); string(out2) != string(out) {
			t.Fatalf("saving twice differs:\n%s\n%s", out, out2)
		}
	})
}
