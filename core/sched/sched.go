package sched

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/dragonload/dragonload/core/span"
)

// PeerID names a participant: a room peer's node id, or "self".
type PeerID string

// Config describes one download. Zero fields take the defaults below.
type Config struct {
	Size         int64         // bytes in the file
	Done         []span.Range  // bytes already durable, from the resume journal
	MinChunk     int64         // first chunks of a peer, and the smallest sized by rate
	MaxChunk     int64         // largest chunk
	Target       time.Duration // a chunk is about this much of its peer's transfer time
	InFlight     int           // assignments outstanding per peer
	MinSplit     int64         // smallest piece an end-game split hands out
	MaxAttempts  int           // failures of the same bytes before giving up
	StallTimeout time.Duration // silence of a busy peer that counts as a failure
	// ProgressWindow is how often a started assignment's progress is
	// judged by the progress rule (see the package doc).
	ProgressWindow time.Duration
	// MinRate, in bytes per second, is the least a started assignment must
	// deliver over a progress window, however slow its peer.
	MinRate float64
	// ClaimPatience is how long a copy peer's claims hold while its copy
	// does not grow (see the package doc).
	ClaimPatience time.Duration
}

// The defaults for zero Config fields.
const (
	DefaultMinChunk     = 1 << 20
	DefaultMaxChunk     = 64 << 20
	DefaultTarget       = 4 * time.Second
	DefaultInFlight     = 2
	DefaultMinSplit     = 256 << 10
	DefaultMaxAttempts  = 8
	DefaultStallTimeout = 10 * time.Second
	// DefaultProgressWindow is long enough that a pause of a second or
	// two does not count, short enough that a trickle costs seconds.
	DefaultProgressWindow = 3 * time.Second
	DefaultMinRate        = 1 << 10
	// DefaultClaimPatience outlasts a healthy download's first-byte wait
	// and the pauses between two polls of its progress.
	DefaultClaimPatience = 10 * time.Second
)

// SlowFraction sets the progress rule's bar: a started assignment is slow
// when, over a progress window, it delivers less than 1/SlowFraction of
// its share of what its own peer has shown it can do. Streams of one peer
// rarely split its link more unevenly than a few to one, so a stream this
// far below its share is not merely unlucky: its request is stuck.
const SlowFraction = 8

const (
	// minBackoff and maxBackoff bound the exponential pause of a peer after
	// consecutive failures.
	minBackoff = 500 * time.Millisecond
	maxBackoff = 30 * time.Second
	// maxRetryAfter caps a peer-supplied pause, so a bogus value cannot
	// park a peer for good.
	maxRetryAfter = 10 * time.Minute
	// rateWindow is the time constant of the rate estimates.
	rateWindow = 2 * time.Second
	// takeoverAfter is how long a holder must have been silent before an
	// idle peer may take over all it has left, however small.
	takeoverAfter = 2 * time.Second
	// endgamePoll is how often Wake asks to be consulted while idle peers
	// wait for a split to become worthwhile.
	endgamePoll = time.Second
	// guessFor is how many more times a copy peer's claims are told
	// before what was guessed it had received, when they were first told,
	// no longer counts: by then it holds what it had received then.
	guessFor = 2
	// claimPoll is how often copy peers' claims are taken to be told
	// until it is seen: the package doc asks for about once a second.
	claimPoll = time.Second
	// maxAlign rounds chunk sizes and split points (to MinSplit if that
	// is smaller), so chunk edges fall on boundaries the disk likes.
	maxAlign = 64 << 10
)

// ErrStalled is the failure Tick records for a peer that went silent.
var ErrStalled = errors.New("peer delivered no data for too long")

// ErrSlow is the failure Tick records for an assignment that fell foul of
// the progress rule.
var ErrSlow = errors.New("the source delivered far less than it had shown it can")

// errShort is the failure Complete records for a response that ended
// before its last byte.
var errShort = errors.New("response ended before the end of its range")

// GiveUpError reports bytes that failed Config.MaxAttempts times; the
// download should fail with it.
type GiveUpError struct {
	Range    span.Range // the bytes of the last failure
	Attempts int        // how often the worst of them failed
	Err      error      // the last failure
}

func (e *GiveUpError) Error() string {
	return fmt.Sprintf("bytes %d to %d failed %d times, the last time with: %v",
		e.Range.Off, e.Range.End, e.Attempts, e.Err)
}

func (e *GiveUpError) Unwrap() error { return e.Err }

// Assignment asks Peer to fetch Range. Its end may shrink later (see End).
// From is the assignment whose tail this one was cut from in the end-game,
// or 0.
type Assignment struct {
	ID    uint64
	Peer  PeerID
	Range span.Range
	From  uint64
}

// Stall is an assignment Tick failed. Slow tells which rule caught it:
// false when its peer was silent for Config.StallTimeout, true when it
// delivered too little over a progress window; Rate is then what it did
// deliver, in bytes per second.
type Stall struct {
	ID   uint64
	Peer PeerID
	Slow bool
	Rate float64
}

// PeerStats is one participant's share of the download.
type PeerStats struct {
	Peer     PeerID
	Present  bool      // false once removed; its numbers stay
	Copy     bool      // it holds a copy and serves only bytes of it (AddCopy)
	Bytes    int64     // bytes received from it
	Rate     float64   // bytes per second, recent
	InFlight int       // assignments outstanding
	Assigned int       // assignments handed out so far
	Failures int       // of those, how many failed
	RetryAt  time.Time // when a backed-off peer is usable again; zero if not backed off
}

// Scheduler hands out the bytes of one download. Create it with New.
type Scheduler struct {
	cfg      Config
	pool     span.Set // bytes neither held by a peer nor received
	received int64    // bytes received, including Config.Done
	peers    []*peer  // in order of first AddPeer, removed ones included
	byID     map[PeerID]*peer
	live     map[uint64]*assign
	lastID   uint64
	fails    tally
	align    int64
	rng      *rand.Rand // where a peer's stream of chunks starts, beside another download
}

// New returns a scheduler for cfg.Size bytes, of which cfg.Done are
// already present.
func New(cfg Config, now time.Time) *Scheduler {
	cfg = withDefaults(cfg)
	s := &Scheduler{
		cfg:   cfg,
		byID:  make(map[PeerID]*peer),
		live:  make(map[uint64]*assign),
		align: min(maxAlign, cfg.MinSplit),
		// Seeded by the time, so the schedulers of two machines started
		// at different instants draw different points.
		rng: rand.New(rand.NewPCG(uint64(now.UnixNano()), uint64(cfg.Size))),
	}
	var done span.Set
	for _, r := range cfg.Done {
		done.Add(r.Intersect(span.Range{Off: 0, End: cfg.Size}))
	}
	for _, r := range done.Missing(cfg.Size) {
		s.pool.Add(r)
	}
	s.received = done.Size()
	return s
}

// AddPeer makes p a participant. Adding a present peer does nothing; a peer
// that was removed comes back with its numbers and without backoff, as a
// participant that can fetch any byte.
func (s *Scheduler) AddPeer(p PeerID, now time.Time) {
	pr := s.byID[p]
	if pr == nil {
		pr = &peer{id: p}
		pr.wall.run(true, now)
		s.byID[p] = pr
		s.peers = append(s.peers, pr)
	}
	if pr.present {
		return
	}
	pr.present = true
	pr.streak = 0
	pr.retryAt = time.Time{}
	pr.copy = false
	pr.forget()
}

// AddCopy makes p a participant that holds a copy of some of the file: it is
// only ever assigned bytes in has. Adding a present peer updates has.
func (s *Scheduler) AddCopy(p PeerID, has span.Set, now time.Time) {
	s.AddPeer(p, now)
	pr := s.byID[p]
	if !pr.copy {
		pr.copy = true
		pr.forget()
		pr.grewAt = now
	}
	s.SetHas(p, has, now)
}

// SetHas replaces the bytes copy peer p holds (they grow while its own
// download runs; they may shrink if it discarded its copy). Outstanding
// assignments of p outside has are left alone: p fails them if it must.
// If has holds a byte it did not hold before, the patience of p's claims
// starts over. Assignments of peers that hold no copy end where the bytes
// p holds begin inside their unreceived rest (see the package doc). It
// does nothing unless p is a present copy peer.
func (s *Scheduler) SetHas(p PeerID, has span.Set, now time.Time) {
	pr := s.byID[p]
	if pr == nil || !pr.present || !pr.copy {
		return
	}
	next := clip(has, s.cfg.Size)
	if len(minus(next, pr.has)) > 0 {
		pr.grewAt = now
	}
	pr.has = next
	pr.passed[0], pr.passed[1] = minus(pr.passed[0], next), minus(pr.passed[1], next)
	pr.guess = minus(pr.guess, next)
	s.meet(now)
}

// SetClaims records the bytes copy peer p's own download is fetching right
// now from elsewhere (its in-flight requests): other participants leave
// them alone while the claims hold, but for the far ends of claims, and
// assignments of peers that hold no copy end where p's claims begin
// inside them (see the package doc). It also keeps count of what p's
// download received since the last call and does not hold yet, and of how
// fast it goes. It does nothing unless p is a present copy peer.
func (s *Scheduler) SetClaims(p PeerID, claims span.Set, now time.Time) {
	pr := s.byID[p]
	if pr == nil || !pr.present || !pr.copy {
		return
	}
	next := clip(claims, s.cfg.Size)
	switch dt := now.Sub(pr.claimsAt); {
	case pr.told == 0 && len(next) > 0:
		// The first look: what it most likely received already.
		pr.guess = leads(pr.has, next)
		pr.told, pr.claimsAt = 1, now
	case pr.told > 0 && dt > 0:
		pr.passed = [2][]span.Range{minus(fronts(pr.claims, next), pr.has), pr.passed[0]}
		if n, ok := advance(s.lacking(pr.claims), next); ok {
			pr.pace, pr.paced = float64(n)/dt.Seconds(), true
		}
		// The first look came at any time, so the interval after it
		// is no measure of how often claims are told.
		pr.every = dt
		if pr.told == 1 {
			pr.every = max(dt, claimPoll)
		}
		if pr.told == guessFor {
			pr.guess = nil
		}
		pr.told, pr.claimsAt = pr.told+1, now
	}
	pr.claims = next
	pr.passed = [2][]span.Range{minus(pr.passed[0], next), minus(pr.passed[1], next)}
	pr.guess = minus(pr.guess, next)
	s.meet(now)
}

// lacking returns the ranges of rs with bytes not received here: those a
// copy peer's download fetches from elsewhere, not from this one.
func (s *Scheduler) lacking(rs []span.Range) []span.Range {
	return slices.DeleteFunc(slices.Clone(rs), func(r span.Range) bool {
		if s.pool.Overlaps(r) {
			return false
		}
		for _, a := range s.live {
			if a.pos < r.End && r.Off < a.end {
				return false
			}
		}
		return true
	})
}

// Assigned returns the bytes held by outstanding assignments and not yet
// received: what this download is fetching right now. The caller publishes
// it as its own claims.
func (s *Scheduler) Assigned() span.Set {
	rs := make([]span.Range, 0, len(s.live))
	for _, a := range s.live {
		rs = append(rs, span.Range{Off: a.pos, End: a.end})
	}
	slices.SortFunc(rs, func(x, y span.Range) int { return cmp.Compare(x.Off, y.Off) })
	var out span.Set
	for _, r := range rs {
		out.Add(r)
	}
	return out
}

// RemovePeer ends p's participation. The unreceived rest of each of its
// assignments goes back to the pool at once; their End becomes -1.
func (s *Scheduler) RemovePeer(p PeerID, now time.Time) {
	pr := s.byID[p]
	if pr == nil || !pr.present {
		return
	}
	for _, a := range slices.Clone(pr.asg) {
		s.retire(a, now)
		s.pool.Add(span.Range{Off: a.pos, End: a.end})
	}
	pr.present = false
	pr.claims, pr.passed, pr.guess = nil, [2][]span.Range{}, nil
}

// Next hands p its next assignment, if p has a free slot, is not backing
// off, and there is something worth giving it.
func (s *Scheduler) Next(p PeerID, now time.Time) (Assignment, bool) {
	pr := s.byID[p]
	if pr == nil || !pr.present || len(pr.asg) >= s.cfg.InFlight || now.Before(pr.retryAt) || s.Finished() {
		return Assignment{}, false
	}
	var r span.Range
	var from uint64
	c, ok := s.pick(pr, now)
	switch {
	case ok:
		r = s.carve(pr, c, now)
		s.pool.Remove(r)
		pr.prev, pr.next, pr.last, pr.far = r.Off, r.End, s.lastID+1, c.far
	case c.left == 0 || pr.copy:
		// The end-game: nothing is left that peers of pr's kind may
		// take. A copy peer does not wait for it, since what it holds
		// is better fetched from it than from elsewhere.
		if r, from, ok = s.split(pr, now); !ok {
			return Assignment{}, false
		}
	default:
		return Assignment{}, false
	}
	return s.hand(pr, r, from, now), true
}

// Claim hands p an assignment for exactly r, when no byte of r is held or
// received and p may take an assignment now (it is present, not backing
// off, and has a free slot). It lets a caller that already has r's bytes
// on the way from p, such as the answer to its probe of the origin, book
// them to p rather than fetch them again.
func (s *Scheduler) Claim(p PeerID, r span.Range, now time.Time) (Assignment, bool) {
	pr := s.byID[p]
	if pr == nil || !pr.present || len(pr.asg) >= s.cfg.InFlight || now.Before(pr.retryAt) || r.Empty() || !s.pool.Contains(r) {
		return Assignment{}, false
	}
	s.pool.Remove(r)
	pr.prev, pr.next, pr.last, pr.far = r.Off, r.End, s.lastID+1, false
	a := s.hand(pr, r, 0, now)
	s.live[a.ID].claimed = true
	return a, true
}

// hand records the assignment of r to pr, cut from assignment from (0 for
// none), and returns it.
func (s *Scheduler) hand(pr *peer, r span.Range, from uint64, now time.Time) Assignment {
	s.lastID++
	a := &assign{id: s.lastID, peer: pr, off: r.Off, pos: r.Off, end: r.End, start: now, alone: len(pr.asg) == 0, taken: from != 0}
	if a.alone {
		pr.busy.run(true, now)
		pr.quietSince = now
	}
	pr.asg = append(pr.asg, a)
	pr.assigned++
	s.live[a.id] = a
	return Assignment{ID: a.id, Peer: pr.id, Range: r, From: from}
}

// Received records n more contiguous bytes of assignment id. It returns
// true once the assignment's current end is reached (or the assignment is
// no longer live): the caller must stop reading it there. Bytes past the
// end are not counted; the caller must not write them (see End).
func (s *Scheduler) Received(id uint64, n int64, now time.Time) (stop bool) {
	a := s.live[id]
	if a == nil {
		return true
	}
	n = min(max(n, 0), a.end-a.pos)
	if n > 0 {
		pr := a.peer
		if !a.gotByte {
			// The progress rule judges an assignment from its first
			// byte on: the wait for it is the silence rule's business.
			a.gotByte = true
			a.markAt, a.markPos, a.markRate = now, a.pos, s.shown(pr, now)
			if a.alone {
				pr.noteLatency(now.Sub(a.start))
			}
		}
		a.pos += n
		s.received += n
		pr.bytes += n
		pr.busy.add(n, now)
		pr.wall.add(n, now)
		pr.quietSince = now
	}
	if a.pos < a.end {
		return false
	}
	a.peer.streak = 0
	s.retire(a, now)
	return true
}

// End is the current end of assignment id: the caller must not write past
// it. It shrinks when a split takes the assignment's tail, or when a copy
// peer's bytes begin inside it (see the package doc). It is -1 once the
// assignment is no longer live (completed, failed, stalled, its peer
// removed, or cut away entirely by a split).
func (s *Scheduler) End(id uint64) int64 {
	if a := s.live[id]; a != nil {
		return a.end
	}
	return -1
}

// Complete records that the response for assignment id ended. If bytes
// are missing it counts as a failure and returns what Fail would.
func (s *Scheduler) Complete(id uint64, now time.Time) error {
	a := s.live[id]
	if a == nil {
		return nil
	}
	return s.fail(a, errShort, 0, now)
}

// Fail records that assignment id failed with err. Its received prefix is
// kept, the rest returns to the pool, and the peer backs off: for
// retryAfter if positive, else exponentially with its consecutive
// failures. The result is a *GiveUpError when some of the returned bytes
// have now failed Config.MaxAttempts times, else nil.
func (s *Scheduler) Fail(id uint64, err error, retryAfter time.Duration, now time.Time) error {
	a := s.live[id]
	if a == nil {
		return nil
	}
	return s.fail(a, err, retryAfter, now)
}

// Tick fails every stalled assignment and returns them so the caller can
// abort those requests. All of a peer's assignments stall when it held work
// and delivered nothing for Config.StallTimeout (cause ErrStalled); one
// stalls when it delivered far less than its peer has shown it can over
// its last progress window (cause ErrSlow; see the package doc). Either
// way the peer backs off, and the error is as for Fail.
func (s *Scheduler) Tick(now time.Time) (stalls []Stall, err error) {
	for _, pr := range s.peers {
		var found []Stall
		if len(pr.asg) > 0 && now.Sub(pr.quietSince) >= s.cfg.StallTimeout {
			for _, a := range pr.asg {
				found = append(found, Stall{ID: a.id, Peer: pr.id})
			}
		} else {
			found = s.judge(pr, now)
		}
		for _, st := range found {
			cause := ErrStalled
			if st.Slow {
				cause = ErrSlow
			}
			if e := s.fail(s.live[st.ID], cause, 0, now); e != nil && err == nil {
				err = e
			}
		}
		stalls = append(stalls, found...)
	}
	return stalls, err
}

// Live is the number of assignments outstanding.
func (s *Scheduler) Live() int { return len(s.live) }

// Finished reports whether every byte has been received.
func (s *Scheduler) Finished() bool { return s.received >= s.cfg.Size }

// Progress returns the bytes received (Config.Done included) and the size.
func (s *Scheduler) Progress() (received, size int64) { return s.received, s.cfg.Size }

// Unassigned is the number of bytes nobody holds and nobody has received.
func (s *Scheduler) Unassigned() int64 { return s.pool.Size() }

// Wake returns the time by which the scheduler wants Tick and Next called
// again if nothing else happens first: a backed-off peer becoming usable,
// a busy peer's stall deadline, the end of a started assignment's progress
// window, or, in the end-game, the next look at whether a split has become
// worthwhile. It returns false when nothing is pending. The time may be at
// or before now.
func (s *Scheduler) Wake(now time.Time) (time.Time, bool) {
	if s.Finished() {
		return time.Time{}, false
	}
	var at time.Time
	earlier := func(t time.Time) {
		if at.IsZero() || t.Before(at) {
			at = t
		}
	}
	idle, idleCopy := false, false
	for _, pr := range s.peers {
		if !pr.present {
			continue
		}
		if now.Before(pr.retryAt) {
			earlier(pr.retryAt)
		} else if len(pr.asg) < s.cfg.InFlight {
			idle = idle || !pr.copy
			idleCopy = idleCopy || pr.copy
		}
		if len(pr.asg) > 0 {
			earlier(pr.quietSince.Add(s.cfg.StallTimeout))
		}
		for _, a := range pr.asg {
			if a.gotByte {
				earlier(a.markAt.Add(s.cfg.ProgressWindow))
			}
		}
	}
	if len(s.live) > 0 && (idleCopy || idle && s.endgame(now)) {
		earlier(now.Add(endgamePoll))
	}
	for _, pr := range s.peers {
		if s.claiming(pr, now) {
			earlier(pr.grewAt.Add(s.cfg.ClaimPatience))
		}
	}
	return at, !at.IsZero()
}

// Stats returns every participant's numbers, in the order they joined.
func (s *Scheduler) Stats(now time.Time) []PeerStats {
	out := make([]PeerStats, 0, len(s.peers))
	for _, pr := range s.peers {
		st := PeerStats{
			Peer:     pr.id,
			Present:  pr.present,
			Copy:     pr.copy,
			Bytes:    pr.bytes,
			Rate:     pr.wall.rate(now),
			InFlight: len(pr.asg),
			Assigned: pr.assigned,
			Failures: pr.failures,
		}
		if now.Before(pr.retryAt) {
			st.RetryAt = pr.retryAt
		}
		out = append(out, st)
	}
	return out
}

// peer is one participant's state.
type peer struct {
	id         PeerID
	present    bool
	asg        []*assign // outstanding, in the order handed out
	busy       meter     // runs while asg is not empty: what the peer can do
	wall       meter     // runs always: what the peer did lately, for display
	bytes      int64
	assigned   int
	failures   int
	streak     int // consecutive failures
	retryAt    time.Time
	quietSince time.Time // last byte received, or when the peer got busy
	latency    float64   // seconds from request to first byte, averaged
	hasLatency bool
	failed     span.Set // bytes that failed in its hands
	prev, next int64    // the start and end of the last chunk it took from the pool
	last       uint64   // the assignment of that chunk
	far        bool     // that chunk came from the far end of a claim, or went on from one

	// A copy peer holds some of the file (has) and is assigned only those
	// bytes. Its own download fetches claims from elsewhere right now. It
	// received passed, in the last two intervals between looks at its
	// claims (newest first), and most likely guess, before the first, but
	// holds them not yet. All of these lapse once has has not grown for
	// Config.ClaimPatience since grewAt.
	copy   bool
	has    []span.Range
	claims []span.Range
	passed [2][]span.Range
	guess  []span.Range
	told   int // looks at its claims since they were first not empty
	// When its claims were last looked at, how long after the look
	// before, and how fast the front of the one that moved furthest then
	// moved, in bytes per second (if paced): how fast its download
	// streams.
	claimsAt time.Time
	every    time.Duration
	pace     float64
	paced    bool
	grewAt   time.Time
}

func (pr *peer) noteLatency(d time.Duration) {
	v := max(d.Seconds(), 0)
	if !pr.hasLatency {
		pr.latency, pr.hasLatency = v, true
		return
	}
	pr.latency = 0.7*pr.latency + 0.3*v
}

// forget drops what the peer was told as a copy peer.
func (pr *peer) forget() {
	pr.has, pr.claims, pr.passed, pr.guess = nil, nil, [2][]span.Range{}, nil
	pr.told, pr.pace, pr.paced, pr.every = 0, 0, false, 0
}

// measured reports whether the peer's rate is known well enough to size
// its chunks by: it has delivered at least one first chunk's worth.
func (pr *peer) measured(minChunk int64) bool { return pr.bytes >= minChunk }

// backlog is the number of bytes the peer still has to deliver.
func (pr *peer) backlog() int64 {
	var n int64
	for _, a := range pr.asg {
		n += a.end - a.pos
	}
	return n
}

// assign is one outstanding assignment: [off, end) handed out, [off, pos)
// received. A live assignment always has pos < end.
type assign struct {
	id      uint64
	peer    *peer
	off     int64
	pos     int64
	end     int64
	start   time.Time
	alone   bool // handed out while its peer held nothing else
	taken   bool // cut from another's assignment in the end-game (split)
	claimed bool // booked with Claim: bytes already on their way
	gotByte bool
	// The current progress window, from the first byte on: when it
	// started, pos then, and the peer's shown rate then.
	markAt   time.Time
	markPos  int64
	markRate float64
}

func withDefaults(c Config) Config {
	c.Size = max(c.Size, 0)
	if c.MinChunk <= 0 {
		c.MinChunk = DefaultMinChunk
	}
	if c.MaxChunk <= 0 {
		c.MaxChunk = DefaultMaxChunk
	}
	c.MaxChunk = max(c.MaxChunk, c.MinChunk)
	if c.Target <= 0 {
		c.Target = DefaultTarget
	}
	if c.InFlight <= 0 {
		c.InFlight = DefaultInFlight
	}
	if c.MinSplit <= 0 {
		c.MinSplit = DefaultMinSplit
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.StallTimeout <= 0 {
		c.StallTimeout = DefaultStallTimeout
	}
	if c.ProgressWindow <= 0 {
		c.ProgressWindow = DefaultProgressWindow
	}
	if !(c.MinRate > 0) {
		c.MinRate = DefaultMinRate
	}
	if c.ClaimPatience <= 0 {
		c.ClaimPatience = DefaultClaimPatience
	}
	return c
}

// choice is where pick puts pr's next chunk: it is cut from the front of
// from. left is the unassigned bytes peers of pr's kind may take, for its
// fair share; half caps the chunk at half of from; far tells that the
// chunk belongs to a stream that began in the far end of a claim.
type choice struct {
	from span.Range
	left int64
	half bool
	far  bool
	tail bool // cut the chunk from the end of from, not its start
}

// pick returns where pr's next chunk comes from: the lowest unassigned
// bytes pr may fetch, or, while a copy peer is active (its own download
// may be running), where pr's own stream of chunks goes on (see the
// package doc). A copy peer may fetch only bytes it holds; any other peer
// leaves alone the bytes a preferred copy peer holds and those a copy
// peer claims or has passed, but for the far ends of claims when nothing
// else is left. Bytes that failed in pr's hands are left to other peers
// while there are any that could fetch them and have not failed them too:
// a peer that cannot fetch some bytes (its origin route refuses them, say)
// must not use up their attempts alone.
func (s *Scheduler) pick(pr *peer, now time.Time) (choice, bool) {
	copies := slices.ContainsFunc(s.peers, func(q *peer) bool { return q.present && q.copy })
	if !copies && pr.failed.Len() == 0 {
		if s.late(pr) {
			rs := s.pool.Ranges()
			if len(rs) == 0 {
				return choice{}, false
			}
			return choice{from: rs[len(rs)-1], left: s.pool.Size(), tail: true}, true
		}
		first, ok := s.pool.First()
		return choice{from: first, left: s.pool.Size()}, ok
	}
	pool := s.pool.Ranges()
	rs := pool
	var o others
	if pr.copy {
		rs = inter(rs, pr.has)
	} else if copies {
		o = s.others(now)
		rs = minus(rs, o.reserved)
	}
	c := choice{left: total(rs)}
	var avoid []span.Range
	if pr.failed.Len() > 0 {
		avoid = s.leftToOthers(pr)
		rs = minus(rs, avoid)
	}
	if !o.active {
		if len(rs) == 0 {
			return c, false
		}
		c.from = rs[0]
		if s.late(pr) {
			c.from, c.tail = rs[len(rs)-1], true
		}
		return c, true
	}
	// Another download may be running. Its latest picks are not among
	// its claims yet, and it too would take the lowest free bytes: go on
	// where pr's own chunks end, else (or if that chunk turned out to be
	// claimed too) start from a point drawn in the middle half of the
	// largest free range. Take at most half of what is free there.
	c.half = true
	last := s.live[pr.last]
	if last == nil || !overlaps(o.claims, span.Range{Off: last.pos, End: last.end}) {
		if r, ok := within(rs, pr.next); ok {
			c.from, c.far = span.Range{Off: pr.next, End: r.End}, pr.far
			return c, true
		}
	}
	far := s.farEnds(pool, o, avoid)
	left := c.left + total(union(far...))
	if pr.far {
		// A stream in the far end of a claim goes on into the bytes
		// claimed after it, in the same claimed range as its previous
		// chunk. The claimant fetches its claim from the start and
		// gives up all from where the stream began (see meet), so
		// those are beyond its reach. (Going on only in the far half
		// of the claim would make the stream stop short and leave a
		// stretch that both would later pick at once.)
		for i, q := range o.claimants {
			k, ok := within(q.claims, pr.next)
			if !ok {
				continue
			}
			if r, ok := within(far[i], pr.next); ok && k.Off < pr.prev {
				return choice{from: span.Range{Off: pr.next, End: r.End}, left: left, far: true}, true
			}
			break
		}
	}
	if len(rs) > 0 {
		g := rs[0]
		for _, r := range rs[1:] {
			if r.Len() > g.Len() {
				g = r
			}
		}
		if n := g.Len(); n >= 2*s.cfg.MinChunk {
			g.Off += (n/4 + s.rng.Int64N(n/2)) / s.align * s.align
		}
		c.from = g
		return c, true
	}
	// Nothing is free: rather than wait, start in the middle of the
	// largest claimed range and take its far half. The claimant fetches
	// it from the start, so the two meet in the middle, where it gives
	// up the rest (see meet). Not for a range under two MinSplit: a
	// request of its own is not worth it. And only if the claimant
	// cannot have got to the middle by the time it sees where pr
	// begins, as far as its pace tells: a claimant whose pace is not
	// known yet offers no far end.
	var g span.Range
	var mid int64
	for i, q := range o.claimants {
		for _, r := range far[i] {
			if n := r.Len(); q.paced && n > g.Len() && n >= 2*s.cfg.MinSplit {
				k, _ := within(q.claims, r.Off)
				if m := (r.Off + n/2) / s.align * s.align; m-k.Off >= s.reach(q, now) {
					g, mid = r, m
				}
			}
		}
	}
	if g.Empty() {
		return c, false
	}
	return choice{from: span.Range{Off: mid, End: g.End}, left: left, far: true}, true
}

// farEnds returns, for each claimant, the claimed bytes a peer that holds
// no copy could take from their far end: unassigned, neither held by a
// preferred copy peer nor passed, nor claimed by another claimant, nor
// among avoid.
func (s *Scheduler) farEnds(pool []span.Range, o others, avoid []span.Range) [][]span.Range {
	base := minus(minus(pool, o.kept), avoid)
	far := make([][]span.Range, len(o.claimants))
	for i, q := range o.claimants {
		var rest [][]span.Range
		for _, p := range o.claimants {
			if p != q {
				rest = append(rest, p.claims)
			}
		}
		far[i] = inter(minus(base, union(rest...)), q.claims)
	}
	return far
}

// reach is how far claimant q may have got past the start of a claimed
// range by the time it sees where a chunk handed out now begins: at its
// pace, over the age of its claims and two more intervals between them.
// It learns of the chunk at its next look at our claims; but if some of
// the chunk arrived by then, our claims begin past its start, which it
// sees only a look later, once those bytes have passed.
func (s *Scheduler) reach(q *peer, now time.Time) int64 {
	return int64(q.pace * (now.Sub(q.claimsAt) + 2*q.every).Seconds())
}

// endgame reports whether peers that hold no copy are in the end-game:
// every unassigned byte is held by a preferred copy peer or claimed.
func (s *Scheduler) endgame(now time.Time) bool {
	if s.pool.Len() == 0 {
		return true
	}
	if !slices.ContainsFunc(s.peers, func(q *peer) bool { return q.present && q.copy }) {
		return false
	}
	return len(minus(s.pool.Ranges(), s.others(now).reserved)) == 0
}

// others is what copy peers mean to a peer that holds no copy.
type others struct {
	reserved  []span.Range // bytes it leaves alone: held by a preferred copy peer, claimed, passed or guessed
	kept      []span.Range // of those, all but the claimed ones
	claims    []span.Range // the bytes claimed, while their claims hold
	claimants []*peer      // the copy peers that claim bytes, while their claims hold
	active    bool         // some copy peer's own download may be running
}

// others sums up the present copy peers: the bytes each holds and has
// not failed (unless its last assignment failed); while its claims hold,
// the bytes it claims, passed, or was guessed to have received; and
// whether any of them is active: joined, or its copy grew, within
// Config.ClaimPatience.
func (s *Scheduler) others(now time.Time) others {
	var o others
	var kept [][]span.Range
	var claims [][]span.Range
	for _, q := range s.peers {
		if !q.present || !q.copy {
			continue
		}
		if q.streak == 0 {
			kept = append(kept, minus(q.has, q.failed.Ranges()))
		}
		if s.active(q, now) {
			o.active = true
			kept = append(kept, q.passed[0], q.passed[1], q.guess)
			claims = append(claims, q.claims)
			if len(q.claims) > 0 {
				o.claimants = append(o.claimants, q)
			}
		}
	}
	o.kept = union(kept...)
	o.claims = union(claims...)
	o.reserved = union(o.kept, o.claims)
	return o
}

// meet cuts each assignment of a peer that holds no copy where the bytes
// of some copy peer begin inside its unreceived rest: those it holds, if
// it is preferred, and those it claims, while its claims hold.
// The assignment ends there, and the bytes from there on return to the
// pool, where they are the copy peer's to serve or to fetch. Claims that
// merely cover where an assignment has got to do not cut it: the copy
// peer's download started on them before this one did, and the other way
// round this one's claims cut the copy peer's assignment in its own
// scheduler. Held bytes are there to copy now, so they cut an assignment
// even where they cover its position (a copy found after the origin
// routes took their first chunks takes those chunks' rest), except one
// taken in the end-game from a slower copy: that one was given for the
// finish-earlier rule, and cutting it would hand it back and forth.
func (s *Scheduler) meet(now time.Time) {
	var helds, claims [][]span.Range
	for _, q := range s.peers {
		if !q.present || !q.copy {
			continue
		}
		if q.streak == 0 {
			helds = append(helds, minus(q.has, q.failed.Ranges()))
		}
		if s.active(q, now) {
			claims = append(claims, q.claims)
		}
	}
	for _, pr := range s.peers {
		if pr.copy {
			continue
		}
		for _, a := range slices.Clone(pr.asg) {
			cut := a.end
			for _, m := range claims {
				if r, ok := startAfter(m, a.pos); ok {
					cut = min(cut, r.Off)
				}
			}
			for _, m := range helds {
				if r, ok := endAfter(m, a.pos); ok && !a.taken {
					cut = min(cut, max(r.Off, a.pos))
				} else if r, ok := startAfter(m, a.pos); ok {
					cut = min(cut, r.Off)
				}
			}
			if cut < a.end {
				s.pool.Add(span.Range{Off: cut, End: a.end})
				a.end = cut
				if a.pos >= a.end {
					s.retire(a, now)
				}
			}
		}
	}
}

// active reports whether pr is a present copy peer, not complete, that
// joined or whose copy grew within Config.ClaimPatience: its own download
// may be running, and its claims hold.
func (s *Scheduler) active(pr *peer, now time.Time) bool {
	complete := len(pr.has) == 1 && pr.has[0] == span.Range{Off: 0, End: s.cfg.Size}
	return pr.present && pr.copy && !complete && now.Before(pr.grewAt.Add(s.cfg.ClaimPatience))
}

// claiming reports whether pr is a present copy peer whose claims hold:
// they are not empty, and its copy grew within Config.ClaimPatience.
func (s *Scheduler) claiming(pr *peer, now time.Time) bool {
	return len(pr.claims)+len(pr.passed[0])+len(pr.passed[1])+len(pr.guess) > 0 && s.active(pr, now)
}

// leftToOthers is what pr leaves to others: the bytes that failed in its
// hands but not in those of some other present peer that could fetch them
// (a copy peer can fetch only what it holds). Bytes that failed with every
// such peer are fair game again for pr, or nobody would ever fetch them.
func (s *Scheduler) leftToOthers(pr *peer) []span.Range {
	mine := pr.failed.Ranges()
	var parts [][]span.Range
	for _, q := range s.peers {
		if q == pr || !q.present {
			continue
		}
		can := mine
		if q.copy {
			can = inter(can, q.has)
		}
		parts = append(parts, minus(can, q.failed.Ranges()))
	}
	return union(parts...)
}

// carve cuts pr's next chunk from the front of the range pick chose.
func (s *Scheduler) carve(pr *peer, c choice, now time.Time) span.Range {
	first := c.from
	size := s.cfg.MinChunk
	if pr.measured(s.cfg.MinChunk) {
		want := pr.busy.rate(now) * s.cfg.Target.Seconds()
		size = int64(math.Min(math.Max(want, float64(s.cfg.MinChunk)), float64(s.cfg.MaxChunk)))
	}
	// Two chunks that end together leave the link idle while both next
	// requests wait for their first byte. Make them end half a chunk apart.
	if len(pr.asg) == 1 {
		b := pr.asg[0].end - pr.asg[0].pos
		if d := size - b; -size/2 < d && d < size/2 {
			if b+size/2 <= s.cfg.MaxChunk {
				size = b + size/2
			} else {
				size = max(b-size/2, s.cfg.MinChunk)
			}
		}
	}
	if share := s.fairShare(pr, c.left, now); size > share {
		size = max(share, s.cfg.MinSplit)
	}
	if c.half {
		size = min(size, max(first.Len()/2, s.cfg.MinSplit))
	}
	size = roundUp(size, s.align)
	if c.tail {
		// Start on an aligned offset; a sliver left before it would cost
		// a request of its own: take it along.
		off := (first.End - size) / s.align * s.align
		if off <= first.Off || off-first.Off < s.cfg.MinSplit {
			off = first.Off
		}
		return span.Range{Off: off, End: first.End}
	}
	end := first.Off + size
	// A sliver left behind would cost a request of its own: take it along.
	if end >= first.End || first.End-end < s.cfg.MinSplit {
		end = first.End
	}
	return span.Range{Off: first.Off, End: end}
}

// late reports whether pr is a peer, not a copy, that joins a download
// already under way: it has not been measured yet while another present
// peer of its kind is measured, or is delivering bytes it claimed (the
// answer to the probe that started the download, see Claim). It takes its
// chunks from the end of the free bytes rather than the front. Its pace is
// unknown, and it may be far slower than the peer already at work (a
// lender on a slow link beside this machine's fast one): a chunk of it
// near the front would hold back the running hash of the file's prefix
// (core/store) until it lands, leaving all the bytes behind it to hash
// after the last one arrives. At the end of the file it is done long
// before the others get there, or the end-game takes it over.
func (s *Scheduler) late(pr *peer) bool {
	if pr.copy || pr.measured(s.cfg.MinChunk) {
		return false
	}
	return slices.ContainsFunc(s.peers, func(q *peer) bool {
		return q != pr && q.present && !q.copy &&
			(q.measured(s.cfg.MinChunk) || slices.ContainsFunc(q.asg, func(a *assign) bool { return a.claimed }))
	})
}

// fairShare is how many more bytes pr should take on: what it can deliver
// by the time all usable peers of its kind (copy peers, or the others)
// together would finish everything left to them (pool, the unassigned
// bytes they may take, plus what they hold), less what it already holds.
// It is zero or negative when pr's backlog alone reaches past that time.
func (s *Scheduler) fairShare(pr *peer, pool int64, now time.Time) int64 {
	left := float64(pool)
	var sum float64
	for _, q := range s.peers {
		if !q.present || q.copy != pr.copy || (q != pr && now.Before(q.retryAt)) {
			continue
		}
		sum += s.estRate(q, now)
		left += float64(q.backlog())
	}
	finish := left / sum
	return int64(math.Ceil(s.estRate(pr, now)*finish)) - pr.backlog()
}

// estRate is the rate to plan with for pr: measured if it can be, else the
// average of the measured present peers of its kind, else 1 (all peers
// alike). A LAN copy's rate says nothing about an origin's, nor the
// reverse.
func (s *Scheduler) estRate(pr *peer, now time.Time) float64 {
	if pr.measured(s.cfg.MinChunk) {
		return max(pr.busy.rate(now), 1)
	}
	var sum float64
	var n int
	for _, q := range s.peers {
		if q.present && q.copy == pr.copy && q.measured(s.cfg.MinChunk) {
			sum += max(q.busy.rate(now), 1)
			n++
		}
	}
	if n == 0 {
		return 1
	}
	return sum / float64(n)
}

// estLatency is pr's expected time to first byte, in seconds: its own, else
// the average of peers of its kind.
func (s *Scheduler) estLatency(pr *peer) float64 {
	if pr.hasLatency {
		return pr.latency
	}
	var sum float64
	var n int
	for _, q := range s.peers {
		if q.hasLatency && q.copy == pr.copy {
			sum += q.latency
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

// split finds, for idle peer pr, the outstanding assignment whose cut
// brings the estimated finish forward, latest finishing first, and cuts
// it: the holder keeps its received prefix and a balanced share, pr gets
// the rest. A copy peer gets only the first of the rest that it holds:
// the holder keeps all before it, and what lies after returns to the pool.
func (s *Scheduler) split(pr *peer, now time.Time) (span.Range, uint64, bool) {
	if len(pr.asg) > 0 && s.silent(pr, now) {
		// It is not delivering what it holds; it should not take more.
		return span.Range{}, 0, false
	}
	ri := s.estRate(pr, now)
	// When pr could start delivering a new piece: after its first-byte
	// latency, or after what it already holds, whichever is later.
	startI := math.Max(s.estLatency(pr), float64(pr.backlog())/ri)

	type candidate struct {
		a      *assign
		ahead  float64 // bytes the holder delivers before this assignment's rest
		rate   float64
		finish float64 // seconds from now
	}
	var cands []candidate
	for _, q := range s.peers {
		if q == pr || !q.present || len(q.asg) == 0 {
			continue
		}
		rv := s.estRate(q, now)
		var ahead float64
		for _, a := range q.asg {
			rest := float64(a.end - a.pos)
			cands = append(cands, candidate{a: a, ahead: ahead, rate: rv, finish: (ahead + rest) / rv})
			ahead += rest
		}
	}
	slices.SortStableFunc(cands, func(x, y candidate) int {
		if x.finish != y.finish {
			if x.finish > y.finish {
				return -1
			}
			return 1
		}
		return cmp.Compare(x.a.id, y.a.id)
	})
	for _, c := range cands {
		a, rv := c.a, c.rate
		rest := float64(a.end - a.pos)
		// Both finish together when (ahead+keep)/rv == startI + (rest-keep)/ri.
		keep := (startI + rest/ri - c.ahead/rv) / (1/rv + 1/ri)
		keep = math.Min(math.Max(keep, 0), rest)
		cut := min(roundUp(a.pos+int64(math.Ceil(keep)), s.align), a.end)
		silent := s.silent(a.peer, now) || s.lagging(a, now)
		if silent {
			cut = a.pos
		} else if !pr.copy && s.unpaced(a.peer, now) {
			continue
		}
		r := span.Range{Off: cut, End: a.end}
		if pr.copy {
			var ok bool
			if r, ok = heldFrom(pr.has, cut, a.end); !ok {
				continue
			}
		}
		give := r.Len()
		// A small piece is not worth a request of its own, unless it is
		// all a holder has left: then the holder is dropped, not split.
		if give < s.cfg.MinSplit && r.Off > a.pos && !silent {
			continue
		}
		kept := float64(r.Off - a.pos)
		after := math.Max((c.ahead+kept)/rv, startI+float64(give)/ri)
		if after >= c.finish && !silent {
			continue
		}
		s.pool.Add(span.Range{Off: r.End, End: a.end})
		a.end = r.Off
		if silent {
			// Its silence counts against the holder, not against the
			// bytes, which are in good hands again at once. It keeps
			// nothing: what pr does not hold returns to the pool.
			s.pool.Add(span.Range{Off: a.pos, End: a.end})
			a.end = a.pos
			s.backOff(a.peer, 0, now)
		}
		if a.pos >= a.end {
			s.retire(a, now)
		}
		return r, a.id, true
	}
	return span.Range{}, 0, false
}

// unpaced reports whether pr is a copy peer whose pace is not known yet:
// it has delivered less than MinChunk in under rateWindow of work. Its
// work is not split by a peer that holds no copy. The finish-earlier rule
// would plan with a guess (the same rate as an unmeasured splitter, or 1
// byte a second against a measured one) and hand the origin bytes a LAN
// copy, almost always far faster, is about to deliver. A copy that is
// still short of MinChunk after rateWindow is slow, and is split as any
// peer is.
func (s *Scheduler) unpaced(pr *peer, now time.Time) bool {
	pr.busy.advance(now)
	return pr.copy && !pr.measured(s.cfg.MinChunk) && pr.busy.elapsed < rateWindow.Seconds()
}

// silent reports whether pr has held work without delivering a byte for
// long enough (and well beyond its usual first-byte latency) that what it
// holds is better fetched by someone else.
func (s *Scheduler) silent(pr *peer, now time.Time) bool {
	wait := max(takeoverAfter, time.Duration(2*pr.latency*float64(time.Second)))
	return now.Sub(pr.quietSince) >= wait
}

// judge applies the progress rule to those of pr's started assignments
// whose progress window is over, starts the next window for each, and
// returns the ones that were slow. The bar is the larger of MinRate and
// 1/SlowFraction of pr's shown rate split over what it holds; the shown
// rate is the better of the one at the window's start and now, so a
// trickle cannot lower its own bar by dragging the peer's rate down.
// A window in which pr delivered nothing at all is left to the silence
// rule: a link that pauses every stream alike gets Config.StallTimeout.
func (s *Scheduler) judge(pr *peer, now time.Time) []Stall {
	var out []Stall
	shown := s.shown(pr, now)
	for _, a := range pr.asg {
		d := now.Sub(a.markAt)
		if !a.gotByte || d < s.cfg.ProgressWindow {
			continue
		}
		rate := float64(a.pos-a.markPos) / d.Seconds()
		if pr.quietSince.After(a.markAt) && rate < s.bar(a, shown) {
			out = append(out, Stall{ID: a.id, Peer: pr.id, Slow: true, Rate: rate})
		}
		a.markAt, a.markPos, a.markRate = now, a.pos, shown
	}
	return out
}

// bar is the least rate started assignment a must keep up over a progress
// window, given its peer's shown rate now.
func (s *Scheduler) bar(a *assign, shown float64) float64 {
	share := max(shown, a.markRate) / float64(len(a.peer.asg))
	return max(s.cfg.MinRate, share/SlowFraction)
}

// lagging reports whether started assignment a has stayed below the bar
// for takeoverAfter of its current progress window. In the end-game an
// idle peer takes over what it has left then, as from a silent holder,
// rather than wait for the window's end while everyone else is done.
func (s *Scheduler) lagging(a *assign, now time.Time) bool {
	d := now.Sub(a.markAt)
	if !a.gotByte || d < takeoverAfter {
		return false
	}
	return float64(a.pos-a.markPos)/d.Seconds() < s.bar(a, s.shown(a.peer, now))
}

// shown is the rate pr has shown it can deliver while busy, or 0 while it
// is unmeasured: then only Config.MinRate applies, since holding a peer to
// the rates of others would fail a peer that is merely slow.
func (s *Scheduler) shown(pr *peer, now time.Time) float64 {
	if !pr.measured(s.cfg.MinChunk) {
		return 0
	}
	return pr.busy.rate(now)
}

// fail retires a, returns its unreceived rest to the pool, backs its peer
// off and charges the rest with one more failure. The peer leaves the rest
// to others (see pick), unless a was merely slow: a trickle is the luck of
// one request, not a sign that the peer cannot fetch those bytes.
func (s *Scheduler) fail(a *assign, err error, retryAfter time.Duration, now time.Time) error {
	rest := span.Range{Off: a.pos, End: a.end}
	pr := a.peer
	s.retire(a, now)
	s.pool.Add(rest)
	if err != ErrSlow {
		pr.failed.Add(rest)
	}
	s.backOff(pr, retryAfter, now)
	if n := s.fails.add(rest); n >= s.cfg.MaxAttempts {
		return &GiveUpError{Range: rest, Attempts: n, Err: err}
	}
	return nil
}

// backOff counts a failure of pr and pauses it: for retryAfter if
// positive, else exponentially with its consecutive failures.
func (s *Scheduler) backOff(pr *peer, retryAfter time.Duration, now time.Time) {
	pr.failures++
	pr.streak++
	d := retryAfter
	if d <= 0 {
		d = maxBackoff
		if pr.streak <= 16 {
			d = min(minBackoff<<(pr.streak-1), maxBackoff)
		}
	}
	pr.retryAt = now.Add(min(d, maxRetryAfter))
}

// retire forgets a live assignment.
func (s *Scheduler) retire(a *assign, now time.Time) {
	delete(s.live, a.id)
	pr := a.peer
	pr.asg = slices.DeleteFunc(pr.asg, func(b *assign) bool { return b == a })
	if len(pr.asg) == 0 {
		pr.busy.run(false, now)
	}
}

func roundUp(n, to int64) int64 { return (n + to - 1) / to * to }
