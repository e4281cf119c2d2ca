package transfer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dragonload/dragonload/core/origin"
	"github.com/dragonload/dragonload/core/span"
)

// The fakes at this package's boundary: a file in memory, a reporter that
// records, and sources whose every request can be told how to misbehave.
// Time is virtual: the tests run inside synctest bubbles.

const (
	kib = 1 << 10
	mib = 1 << 20
)

// content is byte i of version v of the test file.
func content(v int, i int64) byte { return byte(i*7 + int64(v)*13 + i>>9) }

// memFile is a File in memory that records its commits.
type memFile struct {
	mu       sync.Mutex
	data     []byte
	durable  span.Set
	commits  int
	failWith error         // Commit fails with it when set
	block    chan struct{} // WriteAt at blockAt waits on it when set
	blockAt  int64
	maxDirty int64 // the most bytes written and not yet durable at any commit
	written  int64
	wroteAt  time.Time // the first write
}

func newMemFile(size int64) *memFile { return &memFile{data: make([]byte, size)} }

func (f *memFile) WriteAt(b []byte, off int64) (int, error) {
	if f.block != nil && off <= f.blockAt && f.blockAt < off+int64(len(b)) {
		<-f.block
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	copy(f.data[off:], b)
	if f.written == 0 {
		f.wroteAt = time.Now()
	}
	f.written += int64(len(b))
	return len(b), nil
}

func (f *memFile) ReadAt(b []byte, off int64) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return copy(b, f.data[off:]), nil
}

func (f *memFile) Commit(rs []span.Range) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failWith != nil {
		return f.failWith
	}
	f.maxDirty = max(f.maxDirty, f.written-f.durable.Size())
	for _, r := range rs {
		f.durable.Add(r)
	}
	f.commits++
	return nil
}

// check reports the first byte that is not version v's.
func (f *memFile) check(v int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, b := range f.data {
		if b != content(v, int64(i)) {
			return fmt.Errorf("byte %d is %d, want %d (version %d)", i, b, content(v, int64(i)), v)
		}
	}
	if got := f.durable.Size(); got != int64(len(f.data)) {
		return fmt.Errorf("%d of %d bytes durable", got, len(f.data))
	}
	return nil
}

// recorder is a Reporter that keeps what it heard.
type recorder struct {
	mu      sync.Mutex
	durable map[string]int64 // bytes by source
	ranges  span.Set
	notices []string
	waits   []time.Time
	banned  []string // ids
	last    Progress
	// sharedAt is when Progress first said SharedLink; zero if never.
	sharedAt time.Time
	// sharesAt is when Progress first said a source SharesLink, by id.
	sharesAt map[string]time.Time
	// lastDurable is when the last range was reported durable.
	lastDurable time.Time
	// firstDurable and firstShown are when a range was first reported
	// durable, and when Progress first showed a byte written.
	firstDurable, firstShown time.Time
}

func newRecorder() *recorder {
	return &recorder{durable: make(map[string]int64), sharesAt: make(map[string]time.Time)}
}

func (r *recorder) Progress(p Progress) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.last = p
	if p.Written > 0 && r.firstShown.IsZero() {
		r.firstShown = time.Now()
	}
	if p.SharedLink && r.sharedAt.IsZero() {
		r.sharedAt = time.Now()
	}
	for _, s := range p.Sources {
		if _, ok := r.sharesAt[s.ID]; s.SharesLink && !ok {
			r.sharesAt[s.ID] = time.Now()
		}
	}
}
func (r *recorder) Notice(s string)     { r.mu.Lock(); r.notices = append(r.notices, s); r.mu.Unlock() }
func (r *recorder) Waiting(t time.Time) { r.mu.Lock(); r.waits = append(r.waits, t); r.mu.Unlock() }
func (r *recorder) Banned(id, _, _ string) {
	r.mu.Lock()
	r.banned = append(r.banned, id)
	r.mu.Unlock()
}
func (r *recorder) Durable(rg span.Range, src string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ranges.Overlaps(rg) {
		panic(fmt.Sprintf("range %v reported durable twice", rg))
	}
	r.ranges.Add(rg)
	r.durable[src] += rg.Len()
	r.lastDurable = time.Now()
	if r.firstDurable.IsZero() {
		r.firstDurable = r.lastDurable
	}
}

// act is what a fake source does with one request.
type act struct {
	fail    error // fail at once (after sending sendFirst bytes)
	trickle bool  // send sendFirst bytes, then 1 byte per second
	silent  bool  // send sendFirst bytes, then nothing until cancelled
	version int   // which version's bytes to send
	first   int64 // bytes sent before misbehaving
	flip    int64 // alter the byte at Range.Off+flip-1 (0 = none), as a liar would
}

// fakeSource serves the test file at rate bytes per second per request,
// asking its behave function what to do with the nth request (from 1).
// With a link, its requests instead draw from that link, which may be
// shared with other sources.
type fakeSource struct {
	id, name string
	rate     int64
	link     *uplink
	// cpu, when set, is this machine's capacity to take bytes in (CPU,
	// disk), shared by every source: each byte delivered also takes cost
	// bytes of it, after the source's own link delivered it. It models a
	// requester whose own link is faster than it can write, where a
	// lender's bytes over QUIC cost several times its own HTTP stream's.
	cpu      *uplink
	cost     float64
	behave   func(n int, req Request) act
	requests atomic.Int64
	bytes    atomic.Int64
	altered  atomic.Int64 // requests answered with wrong bytes
	mu       sync.Mutex
	urls     []string
}

func (s *fakeSource) ID() string   { return s.id }
func (s *fakeSource) Name() string { return s.name }

func (s *fakeSource) Fetch(ctx context.Context, req Request, sink func([]byte) error) error {
	n := int(s.requests.Add(1))
	s.mu.Lock()
	s.urls = append(s.urls, req.Pin.URL)
	s.mu.Unlock()
	a := act{}
	if s.behave != nil {
		a = s.behave(n, req)
	}
	if a.version != 0 || a.flip > 0 {
		s.altered.Add(1)
	}
	limit := req.Range.Len()
	if a.fail != nil || a.trickle || a.silent {
		limit = min(limit, a.first)
	}
	send := sink
	if a.flip > 0 {
		at, pos := req.Range.Off+a.flip-1, req.Range.Off
		send = func(b []byte) error {
			if at >= pos && at < pos+int64(len(b)) {
				b[at-pos] ^= 0x5a
			}
			pos += int64(len(b))
			return sink(b)
		}
	}
	rate := s.rate
	if s.link != nil {
		rate = s.link.get()
	}
	if err := s.send(ctx, req.Range.Off, limit, a.version, rate, s.link, send); err != nil {
		return err
	}
	off := req.Range.Off + limit
	switch {
	case a.fail != nil:
		return a.fail
	case a.trickle:
		for off < req.Range.End {
			if err := s.send(ctx, off, 1, a.version, 1, nil, sink); err != nil {
				return err
			}
			off++
		}
	case a.silent:
		<-ctx.Done()
		return ctx.Err()
	}
	return nil
}

// send passes n bytes from off at rate, in slices of up to 64 KiB, or as
// link lets it when link is set.
func (s *fakeSource) send(ctx context.Context, off, n int64, v int, rate int64, link *uplink, sink func([]byte) error) error {
	buf := make([]byte, 64*kib)
	for n > 0 {
		k := min(n, int64(len(buf)), max(rate/10, 1))
		wait := time.Duration(float64(k) / float64(rate) * float64(time.Second))
		if link != nil {
			wait = link.take(k)
		}
		if s.cpu != nil {
			wait = max(wait, s.cpu.take(int64(float64(k)*s.cost)))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		for i := range k {
			buf[i] = content(v, off+i)
		}
		if err := sink(buf[:k]); err != nil {
			return err
		}
		s.bytes.Add(k)
		off += k
		n -= k
	}
	return nil
}

func (s *fakeSource) seenURLs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.urls...)
}

// uplink is an internet link of rate bytes per second. The requests of
// every source on it queue for it slice by slice, so N requests at once
// get about rate/N each, and one that stops frees its share for the
// others at once, as TCP flows through one bottleneck do. A slice taken
// by a request cancelled before it arrives is lost.
type uplink struct {
	rate int64
	mu   sync.Mutex
	next time.Time // when the link is free
}

// get returns the link's rate now.
func (l *uplink) get() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rate
}

// set changes the link's rate from now on.
func (l *uplink) set(rate int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rate = rate
}

// take reserves the link for n bytes and returns how long until they have
// arrived.
func (l *uplink) take(n int64) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	l.next = later(l.next, now).Add(time.Duration(float64(n) / float64(l.rate) * float64(time.Second)))
	return l.next.Sub(now)
}

// every returns a behave function that applies a to every nth request.
func every(n int, a act) func(int, Request) act {
	return func(k int, _ Request) act {
		if k%n == 0 {
			return a
		}
		return act{}
	}
}

func testPin(size int64) Pin {
	return Pin{URL: "http://origin.test/file.bin", Identity: origin.Identity{Size: size, ETag: `"v1"`}}
}

// run runs a transfer of a size-byte file with the sources and returns the
// file, the reporter, the virtual time it took and the result.
func run(t *testing.T, size int64, cfg Config, sources ...Source) (*memFile, *recorder, time.Duration, error) {
	t.Helper()
	f := newMemFile(size)
	if cfg.File == nil {
		cfg.File = f
	}
	if cfg.Pin.URL == "" {
		cfg.Pin = testPin(size)
	}
	rec := newRecorder()
	cfg.Reporter = rec
	tr := New(cfg)
	for _, s := range sources {
		tr.AddSource(s)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	start := time.Now()
	err := tr.Run(ctx)
	return f, rec, time.Since(start), err
}

var errWrongRange = errors.New("answered bytes 1-… to a request for bytes 0-…")
