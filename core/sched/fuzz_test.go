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
// twice, that a copy peer is assigned only bytes it held when assigned, and
// that no received byte is assigned again. Then it drives the download to
// the end and checks it finishes with every byte received exactly once.
func FuzzOps(f *testing.F) {
	f.Add([]byte{1, 0, 2, 0, 0, 0, 2, 0, 2, 1, 3, 9, 3, 200, 7, 30, 5, 1, 6, 0})
	f.Add([]byte{0, 9, 1, 3, 7, 0, 2, 1, 2, 2, 2, 3, 1, 1, 3, 1, 4, 0, 8, 255, 6, 0, 2, 0})
	f.Add([]byte{255, 255, 0, 8, 0, 1, 0, 2, 0, 3, 2, 0, 2, 1, 2, 2, 2, 3, 8, 100, 6, 0, 2, 3, 2, 0})
	// Copies: AddCopy, SetHas and SetClaims among the rest.
	f.Add([]byte{40, 0, 100, 1, 0, 0, 9, 5, 11, 9, 2, 0, 2, 1, 2, 1, 3, 1, 10, 61, 2, 1, 8, 120, 2, 0, 3, 0, 5, 1, 2, 1})
	f.Add([]byte{20, 0, 7, 2, 9, 1, 9, 2, 11, 6, 0, 0, 2, 0, 2, 1, 2, 2, 3, 1, 10, 255, 2, 2, 6, 0, 8, 50, 2, 1, 1, 1, 2, 0})
	// Claims looked at twice, their front moving on, then picks: the far
	// end of a claim, and cuts where claims begin.
	f.Add([]byte{40, 0, 50, 1, 0, 0, 9, 151, 11, 223, 7, 100, 11, 35, 2, 0, 2, 0, 3, 0, 3, 1, 2, 0, 11, 99, 2, 0, 3, 2, 4, 1, 2, 0})
	f.Fuzz(fuzzOps)
}

func fuzzOps(t *testing.T, data []byte) {
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
	// The engine's view of each peer: present, a copy peer, and what it
	// was last told the copy holds.
	present map[PeerID]bool
	copy    map[PeerID]bool
	has     map[PeerID]span.Set
}

func newDriver(t *testing.T, cfg Config) *driver {
	d := &driver{t: t, s: New(cfg, epoch), now: epoch, pos: make(map[uint64]int64),
		peers:   []PeerID{"self", "a", "b", "c"},
		present: make(map[PeerID]bool), copy: make(map[PeerID]bool), has: make(map[PeerID]span.Set)}
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

// bytes is a set of bytes of the file made from arg: of the file's eight
// eighths, those whose bit is set in a scramble of arg, plus a little past
// the end.
func (d *driver) bytes(arg byte) span.Set {
	var s span.Set
	size := d.s.cfg.Size
	mask := arg*151 ^ arg>>3
	for i := range int64(8) {
		if mask&(1<<i) != 0 {
			s.Add(span.Range{Off: size * i / 8, End: size * (i + 1) / 8})
		}
	}
	if mask&1 != 0 {
		s.Add(span.Range{Off: size, End: size + 10})
	}
	return s
}

func (d *driver) addPeer(p PeerID) {
	d.s.AddPeer(p, d.now)
	if !d.present[p] {
		d.present[p], d.copy[p] = true, false
	}
}

// next asks for p's next assignment and checks it.
func (d *driver) next(p PeerID) bool {
	a, ok := d.s.Next(p, d.now)
	if !ok {
		return false
	}
	if a.Range.Empty() || d.got.Overlaps(a.Range) {
		d.t.Fatalf("bad assignment %+v", a)
	}
	if has := d.has[p]; d.copy[p] && !has.Contains(a.Range) {
		d.t.Fatalf("copy peer %s assigned %+v, holding %v", p, a, has)
	}
	d.pos[a.ID] = a.Range.Off
	return true
}

func (d *driver) op(code, arg byte) {
	p := d.peers[int(arg)%len(d.peers)]
	switch code % 12 {
	case 0:
		d.addPeer(p)
	case 1:
		d.s.RemovePeer(p, d.now)
		d.present[p] = false
	case 2:
		d.next(p)
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
	case 9:
		d.s.AddCopy(p, d.bytes(arg), d.now)
		d.present[p], d.copy[p], d.has[p] = true, true, d.bytes(arg)
	case 10:
		if d.present[p] && d.copy[p] {
			d.tell(p, arg)
		} else {
			d.s.SetHas(p, d.bytes(arg), d.now) // ignored
		}
	case 11:
		d.s.SetClaims(p, d.bytes(arg+1), d.now)
	}
	d.forget()
}

// tell tells the scheduler that present copy peer p holds a set of bytes
// made of arg, with AddCopy or SetHas as arg has it.
func (d *driver) tell(p PeerID, arg byte) {
	has := d.bytes(arg)
	if arg&128 != 0 {
		d.s.AddCopy(p, has, d.now)
	} else {
		d.s.SetHas(p, has, d.now)
	}
	d.has[p] = has
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
	d.addPeer("z")
	for step := 0; !d.s.Finished(); step++ {
		if step > 100000 {
			d.t.Fatalf("not finished: %v received, %d unassigned", d.got, d.s.Unassigned())
		}
		d.now = d.now.Add(100 * time.Millisecond)
		d.tick()
		for _, p := range append(d.peers, "z") {
			for range 4 {
				if !d.next(p) {
					break
				}
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
