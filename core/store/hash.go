package store

import (
	"crypto/sha256"
	"fmt"
	"hash"
	"sync"
	"sync/atomic"
)

// hashChunk is how much the running hash reads back at a time.
const hashChunk = 1 << 20

// runningHash is the SHA-256 of the file's first bytes, kept up to date as
// the download runs, so that Finish has at most the last few megabytes to
// read back rather than the whole file (see the package doc).
//
// It advances in a goroutine of its own, woken by each Commit, rather than
// inside Commit: Commit holds the Partial's lock and the transfer waits for
// it, and one Commit may join a large out-of-order piece to the prefix
// (hundreds of megabytes when a hole near the start is filled last), which
// would stall it for as long as hashing takes. Finish and Verify advance
// it themselves, under mu, to wherever they need it.
//
// Correctness does not rest on the bytes hashed being final: every WriteAt
// that touches bytes the hash has read, or is reading, marks it stale, and
// a stale hash starts over from byte 0 before it advances again. The hash
// follows the durable prefix only so that, in normal operation, it never
// reads bytes that are written again afterwards.
type runningHash struct {
	// mu is held while the hash advances: by the goroutine, or by Finish
	// and Verify (which hold the Partial's lock too; the goroutine never
	// takes that one). It guards h, hashed and buf.
	mu     sync.Mutex
	h      hash.Hash
	hashed int64 // h holds the bytes [0, hashed)
	buf    []byte

	// wmu guards reach and stale, which WriteAt consults after every
	// write; it is held only for a moment.
	wmu sync.Mutex
	// reach is where the bytes h depends on end: hashed, or the end of
	// the piece being read. A write below it makes the hash stale.
	reach int64
	stale bool

	// durable is the end of the durable prefix [0, durable), set by
	// Commit: how far the goroutine advances.
	durable atomic.Int64
	kick    chan struct{} // a Commit moved durable; buffered, 1
	stop    chan struct{} // closed to end the goroutine
	done    chan struct{} // closed when it has ended
}

// startHash starts the goroutine, which advances the hash over [0, from)
// at once and then after each Commit. stopHash ends it.
func (p *Partial) startHash(from int64) {
	r := &p.hash
	r.kick = make(chan struct{}, 1)
	r.stop = make(chan struct{})
	r.done = make(chan struct{})
	r.durable.Store(from)
	go p.hashLoop(r.kick, r.stop, r.done)
	if from > 0 {
		r.kick <- struct{}{}
	}
}

// hashLoop advances the hash whenever kicked, until stopped.
func (p *Partial) hashLoop(kick, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	r := &p.hash
	for {
		select {
		case <-stop:
			return
		case <-kick:
		}
		r.mu.Lock()
		err := p.advanceHashLocked(r.durable.Load(), stop)
		r.mu.Unlock()
		if err != nil {
			// Finish reads the same bytes again and reports it.
			p.log.Debug("cannot hash the partial file as it grows", "err", err)
		}
	}
}

// hashDurable tells the goroutine the durable prefix now ends at end;
// p.mu is held.
func (p *Partial) hashDurable(end int64) {
	r := &p.hash
	if r.kick == nil || end <= r.durable.Load() {
		return
	}
	r.durable.Store(end)
	select {
	case r.kick <- struct{}{}:
	default: // a kick is pending already
	}
}

// stopHash ends the goroutine, if there is one, and waits for it, then
// lets go of the hash's buffer; p.mu is held.
func (p *Partial) stopHash() {
	r := &p.hash
	if r.stop != nil {
		close(r.stop)
		<-r.done
		r.stop, r.kick = nil, nil
	}
	r.mu.Lock()
	r.buf = nil
	r.mu.Unlock()
}

// hashWritten is called by WriteAt after writing [off, off+n): if the
// hash has read, or is reading, any byte from off on, it is stale. The
// write has returned before reach is looked at, so either the hash reads
// the new bytes or it is marked stale.
func (p *Partial) hashWritten(off int64, n int) {
	if n == 0 {
		return
	}
	r := &p.hash
	r.wmu.Lock()
	if off < r.reach {
		r.stale = true
	}
	r.wmu.Unlock()
}

// advanceHashLocked brings the hash to cover [0, target), reading back
// only what it does not cover yet (all of it when it is stale). A non-nil
// stop, once closed, ends it early. p.hash.mu is held.
func (p *Partial) advanceHashLocked(target int64, stop <-chan struct{}) error {
	r := &p.hash
	if r.h == nil {
		r.h = sha256.New()
	}
	for {
		r.wmu.Lock()
		if r.stale {
			r.stale = false
			r.h.Reset()
			r.hashed, r.reach = 0, 0
		}
		if r.hashed >= target {
			r.wmu.Unlock()
			return nil
		}
		end := min(r.hashed+hashChunk, target)
		r.reach = max(r.reach, end)
		r.wmu.Unlock()
		select {
		case <-stop:
			return nil
		default:
		}
		n := int(end - r.hashed)
		if len(r.buf) < n {
			r.buf = make([]byte, min(hashChunk, max(n, 64<<10)))
		}
		b := r.buf[:n]
		if _, err := p.f.ReadAt(b, r.hashed); err != nil {
			return err
		}
		r.wmu.Lock()
		stale := r.stale
		r.wmu.Unlock()
		if stale {
			continue // a write landed below reach: no use hashing this, start over
		}
		r.h.Write(b)
		r.hashed = end
	}
}

// sumLocked returns the SHA-256 of the first size bytes, advancing the
// running hash to them; p.mu is held.
func (p *Partial) sumLocked(size int64) ([32]byte, error) {
	r := &p.hash
	r.mu.Lock()
	defer r.mu.Unlock()
	var sum [32]byte
	if err := p.advanceHashLocked(size, nil); err != nil {
		return sum, err
	}
	if r.hashed != size {
		// Only a Verify of a file of unknown size could ask for fewer
		// bytes than were hashed already.
		return sum, fmt.Errorf("%d bytes are hashed already, more than the %d asked for", r.hashed, size)
	}
	r.h.Sum(sum[:0])
	return sum, nil
}

// Sum returns the SHA-256 of the whole file once Finish has put it in
// place, whether or not the link gave one to check; ok is false before.
func (p *Partial) Sum() (sum [32]byte, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sum, p.sumOK
}
