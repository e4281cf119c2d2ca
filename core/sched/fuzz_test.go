package sched

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/dragonload/dragonload/core/span"
)

// FuzzOps runs random sequences of operations, as an engine might issue
// them in any order, and checks after each one that no byte is lost or held
// twice. Then it drives the download to the end and checks it finishes with
// every byte received exactly once.
func FuzzOps(f *testing.F) {
	f.Add([]byte{1, 0, 2, 0, 0, 0, 2, 0, 2, 1, 3, 9, 3, 200, 7, 30, 5, 1, 6, 0})
	f.Add([]byte{0, 9, 1, 3, 7, 0, 2, 1, 2, 2, 2, 3, 1, 1, 3, 1, 4, 0, 8, 255, 6, 0, 2, 0})
	f.Add([]byte{255, 255, 0, 8, 0, 1, 0, 2, 0, 3, 2, 0, 2, 1, 2, 2, 2, 3, 8, 100, 6, 0, 2, 3, 2, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 4 {
			return
		}
		cfg := Config{
			Size:        int64(data[0])<<8 | int64(data[1]),
			MinChunk:    1000,
			MaxChunk:    8000,
			MinSplit:    int64(50 + data[2]%200),
			InFlight:    1 + int(data[3]%3),
			MaxAttempts: 3,
			Target:      time.Second,
		}
		if data[3]&4 != 0 {
			cfg.Done = []span.Range{{Off: cfg.Size / 3, End: cfg.Size / 2}, {Off: cfg.Size - 10, End: cfg.Size + 5}}
		}
		d := newDriver(t, cfg)
		ops := data[4:]
		for i := 0; i+1 < len(ops) && i < 2000; i += 2 {
			d.op(ops[i], ops[i+1])
			checkInvariants(t, d.s, &d.got)
		}
		d.finish()
	})
}

// driver keeps the engine's side of the books: where each live assignment
// has got to.
type driver struct {
	t     *testing.T
	s     *Scheduler
	now   time.Time
	pos   map[uint64]int64
	got   span.Set
	peers []PeerID
}

func newDriver(t *testing.T, cfg Config) *driver {
	d := &driver{t: t, s: New(cfg, epoch), now: epoch, pos: make(map[uint64]int64),
		peers: []PeerID{"self", "a", "b", "c"}}
	for _, r := range cfg.Done {
		d.got.Add(r.Intersect(span.Range{Off: 0, End: cfg.Size}))
	}
	return d
}

func (d *driver) ids() []uint64 {
	var ids []uint64
	for id := range d.pos {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func (d *driver) pick(arg byte) (uint64, bool) {
	ids := d.ids()
	if len(ids) == 0 {
		return 0, false
	}
	return ids[int(arg)%len(ids)], true
}

func (d *driver) checkErr(err error) {
	var gu *GiveUpError
	if err != nil && !errors.As(err, &gu) {
		d.t.Fatalf("unexpected error %v", err)
	}
}

// forget drops the driver's record of assignments that are no longer live,
// as the engine would after aborting their requests.
func (d *driver) forget() {
	for id := range d.pos {
		if d.s.End(id) == -1 {
			delete(d.pos, id)
		}
	}
}

func (d *driver) op(code, arg byte) {
	p := d.peers[int(arg)%len(d.peers)]
	switch code % 9 {
	case 0:
		d.s.AddPeer(p, d.now)
	case 1:
		d.s.RemovePeer(p, d.now)
	case 2:
		if a, ok := d.s.Next(p, d.now); ok {
			if a.Range.Empty() || d.got.Overlaps(a.Range) {
				d.t.Fatalf("bad assignment %+v", a)
			}
			d.pos[a.ID] = a.Range.Off
		}
	case 3:
		if id, ok := d.pick(arg); ok {
			d.deliver(id, int64(arg)*37%3000)
		}
	case 4:
		if id, ok := d.pick(arg); ok {
			d.checkErr(d.s.Complete(id, d.now))
		}
	case 5:
		if id, ok := d.pick(arg); ok {
			d.checkErr(d.s.Fail(id, errors.New("fuzz"), time.Duration(arg%3)*100*time.Millisecond, d.now))
		}
	case 6:
		d.tick()
	case 7:
		d.now = d.now.Add(time.Duration(arg) * 10 * time.Millisecond)
	case 8:
		d.now = d.now.Add(time.Duration(arg) * 100 * time.Millisecond)
	}
	d.forget()
}

// tick calls Tick and checks that what it stalled is no longer live.
func (d *driver) tick() {
	stalls, err := d.s.Tick(d.now)
	d.checkErr(err)
	for _, st := range stalls {
		if d.s.End(st.ID) != -1 {
			d.t.Fatalf("stalled assignment %d still live", st.ID)
		}
	}
}

// deliver feeds up to n bytes of assignment id the way the engine does:
// clamped to its current end.
func (d *driver) deliver(id uint64, n int64) {
	pos := d.pos[id]
	k := min(n, d.s.End(id)-pos)
	if k > 0 {
		w := span.Range{Off: pos, End: pos + k}
		if d.got.Overlaps(w) {
			d.t.Fatalf("bytes %v delivered twice", w)
		}
		d.got.Add(w)
		d.pos[id] = pos + k
	}
	if d.s.Received(id, max(k, 0), d.now) && d.s.End(id) != -1 {
		d.t.Fatalf("assignment %d said stop but is still live", id)
	}
}

// finish adds a reliable peer and delivers everything, bounded in steps.
func (d *driver) finish() {
	d.s.AddPeer("z", d.now)
	for step := 0; !d.s.Finished(); step++ {
		if step > 100000 {
			d.t.Fatalf("not finished: %v received, %d unassigned", d.got, d.s.Unassigned())
		}
		d.now = d.now.Add(100 * time.Millisecond)
		d.tick()
		for _, p := range append(d.peers, "z") {
			for range 4 {
				a, ok := d.s.Next(p, d.now)
				if !ok {
					break
				}
				d.pos[a.ID] = a.Range.Off
			}
		}
		d.forget()
		for _, id := range d.ids() {
			d.deliver(id, 500)
		}
		d.forget()
		checkInvariants(d.t, d.s, &d.got)
	}
	if d.got.Size() != d.s.cfg.Size {
		d.t.Fatalf("finished with %d of %d bytes", d.got.Size(), d.s.cfg.Size)
	}
}
