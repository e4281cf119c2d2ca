package transfer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/dragonload/dragonload/core/origin"
	"github.com/dragonload/dragonload/core/sched"
	"github.com/dragonload/dragonload/core/span"
)

// Pin is the one version of the file a transfer fetches: where to ask for
// it and how to recognise it.
type Pin struct {
	URL      string // final URL after redirects
	Headers  map[string]string
	Identity origin.Identity
}

// Request asks a source for bytes Range of the pinned file.
type Request struct {
	Pin   Pin
	Range span.Range
}

// Source is one place bytes can come from.
type Source interface {
	// ID names the source uniquely within a transfer.
	ID() string
	// Name is for people.
	Name() string
	// Fetch passes the bytes of req.Range, in order, to sink, in slices
	// valid only during the call. It stops when sink returns an error and
	// returns that error. A failure should be a *Failure saying its Kind.
	Fetch(ctx context.Context, req Request, sink func([]byte) error) error
}

// SelfID is the ID of this node's own origin source, whose fatal failures
// end the transfer.
const SelfID = "self"

// File is where bytes go: the partial file (core/store.Partial).
type File interface {
	// WriteAt writes b at off. Calls run in parallel.
	WriteAt(b []byte, off int64) (int, error)
	// ReadAt reads back what was written, for spot checks and audits.
	ReadAt(b []byte, off int64) (int, error)
	// Commit makes the ranges durable, then records them in the journal.
	Commit(rs []span.Range) error
}

// Reporter hears what a transfer does. Its methods are called from the
// transfer's own goroutine, never concurrently, and must not block long.
type Reporter interface {
	// Progress is called about ten times a second.
	Progress(Progress)
	// Durable reports bytes [r.Off, r.End) durable, fetched by source.
	Durable(r span.Range, source string)
	// Notice is a sentence for the user about this download.
	Notice(text string)
	// Waiting reports that the server asked to wait until the given time,
	// and nothing else is fetching; the zero time ends the wait.
	Waiting(until time.Time)
	// Banned reports a lender caught sending bytes that differ from the
	// origin's (see Checks); the transfer no longer uses it.
	Banned(id, name, why string)
}

// Progress is a transfer's state at one moment.
type Progress struct {
	Written int64 // bytes in the partial file, durable or not
	Size    int64
	Sources []SourceStats // every source that took part, in order of joining
	// SharedLink: every lender present seems to share this machine's
	// internet link, so none fetches from the origin (gain.go).
	SharedLink bool
}

// SourceStats is one source's share.
type SourceStats struct {
	ID       string
	Name     string
	Bytes    int64
	Rate     float64 // bytes per second, recent
	InFlight int
	Present  bool // false once it left the transfer
	Copy     bool // a copy on the LAN (AddCopy), not a route to an origin
	// SharesLink: a lender's route kept out of the download because the
	// lender seems to share this machine's internet link (gain.go).
	SharesLink bool
}

// Config describes one transfer. Zero durations and sizes take defaults.
type Config struct {
	Pin      Pin
	File     File
	Done     []span.Range // bytes already durable (from the journal)
	Reporter Reporter
	// Probe asks the origin again: the fresh pin (a new redirect target,
	// the validators it serves now). It settles validator mismatches and
	// expired links. Nil: every mismatch counts as a change.
	Probe func(ctx context.Context) (Pin, error)
	Log   *slog.Logger

	GiveUp      time.Duration // no durable progress for this long fails the transfer (default 2 min)
	MaxWait     time.Duration // longest Retry-After honoured (default 5 min)
	CommitBytes int64         // journal at least every this many bytes (default 4 MiB)
	CommitEvery time.Duration // and at least this often (default 1 s); the first bytes at once
	Sched       sched.Config  // scheduler tuning; Size and Done are set here
	Checks      Checks        // spot checks of lenders' bytes; zero = none
	// First is bytes this node's own source fetches before anything else,
	// whatever the scheduler would choose (copies on the LAN included):
	// the caller has their answer on the way already, the origin's answer
	// to its probe, which costs nothing more to read and would be thrown
	// away otherwise. Booked once, at the start, if SelfID is there and
	// no byte of it is durable. Empty: none.
	First span.Range
	// Limit, when set, wraps the sink of every fetch from every source
	// (assignments, spot checks, audits): the engine's download speed
	// limit holds all of them to one rate. nil = none.
	Limit func(ctx context.Context, sink func([]byte) error) func([]byte) error
}

// Defaults for zero Config fields.
const (
	DefaultGiveUp      = 2 * time.Minute
	DefaultMaxWait     = 5 * time.Minute
	DefaultCommitBytes = 4 << 20
	DefaultCommitEvery = time.Second
)

// Tunables that are not settings.
const (
	progressEvery = 100 * time.Millisecond // front ends draw at most ~10 times a second
	probeTimeout  = 30 * time.Second       // one re-probe
	reprobes      = 5                      // re-probes before a validator change counts as real
)

// Transfer runs one download's transfer. Make it with New, feed it sources,
// and Run it once.
type Transfer struct {
	cfg Config
	log *slog.Logger

	// ctl carries AddSource/RemoveSource to the loop without blocking the
	// caller.
	ctlMu   sync.Mutex
	ctl     []control
	ctlWake chan struct{}

	// mu guards what the sinks of running fetches share with the loop.
	mu      sync.Mutex
	s       *sched.Scheduler
	pin     Pin
	pending []landed // written, not yet committed
	pendBy  int64
	written int64
	// begun is set once the run's first commit starts. The first bytes
	// are committed and reported at once rather than at the next commit
	// or progress tick: the first sign of life a user sees, and the
	// first point a resume keeps, come as early as they can.
	begun bool
	// delivered is what each lender wrote, for audits after a ban.
	delivered map[sched.PeerID]*span.Set

	// Owned by the loop goroutine.
	sources    map[sched.PeerID]Source
	benched    map[sched.PeerID]string
	workers    map[uint64]*worker
	results    chan result
	nudge      chan struct{}
	committed  chan commitDone
	committing bool
	lastCommit time.Time
	quietSince time.Time // last durable progress, the start, or the end of a wait
	waitUntil  time.Time // a Retry-After in force
	lastErr    error
	expiredAt  int64                   // bytes received when a link last expired; -1 never
	giveUpErr  error                   // the scheduler gave up on some bytes
	reported   bool                    // waiting was reported
	everName   map[sched.PeerID]string // names of every source that joined
	bannedWhy  map[sched.PeerID]string // lenders caught altering bytes
	copies     map[sched.PeerID]bool   // sources added by AddCopy
	gain       *gainProbe              // the shared-link test (gain.go)
	gainObs    []gainObs               // its input, reused
	minor      minorRule               // lenders too slow to pay for themselves (minor.go)
	minorObs   []minorObs              // its input, reused
	parked     map[sched.PeerID]bool   // origin routes gain or minor keep out of the scheduler
	checks     chan checkResult
	checking   int // spot checks running
	rng        *rand.Rand
}

type control struct {
	add    Source
	remove string
	why    string
	// A copy: add is one (copy true), or update names one; has and claims
	// are what it holds and what its own download is fetching.
	copy        bool
	update      string
	has, claims span.Set
}

type worker struct {
	a      sched.Assignment
	cancel context.CancelFunc
	orphan bool      // the scheduler already took its range back
	check  *precheck // the spot check drawn for it; nil if none
}

type result struct {
	a   sched.Assignment
	got span.Range // what this fetch wrote
	err error
}

type landed struct {
	r      span.Range
	source string
}

type commitDone struct {
	batch []landed
	err   error
	first bool // the run's first commit
}

// errSplit ends a fetch whose range was shortened by an end-game split.
var errSplit = errors.New("range handed to a faster source")

// New returns a transfer of cfg.Pin into cfg.File.
func New(cfg Config) *Transfer {
	if cfg.GiveUp <= 0 {
		cfg.GiveUp = DefaultGiveUp
	}
	if cfg.MaxWait <= 0 {
		cfg.MaxWait = DefaultMaxWait
	}
	if cfg.CommitBytes <= 0 {
		cfg.CommitBytes = DefaultCommitBytes
	}
	if cfg.CommitEvery <= 0 {
		cfg.CommitEvery = DefaultCommitEvery
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	rng := cfg.Checks.Rand
	if rng == nil {
		rng = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	t := &Transfer{
		delivered: make(map[sched.PeerID]*span.Set),
		everName:  make(map[sched.PeerID]string),
		bannedWhy: make(map[sched.PeerID]string),
		copies:    make(map[sched.PeerID]bool),
		parked:    make(map[sched.PeerID]bool),
		checks:    make(chan checkResult, 4),
		rng:       rng,
		cfg:       cfg,
		log:       log,
		pin:       cfg.Pin,
		ctlWake:   make(chan struct{}, 1),
		sources:   make(map[sched.PeerID]Source),
		benched:   make(map[sched.PeerID]string),
		workers:   make(map[uint64]*worker),
		results:   make(chan result, 16),
		nudge:     make(chan struct{}, 1),
		committed: make(chan commitDone, 1),
		expiredAt: -1,
	}
	t.gain = newGainProbe(log.Info)
	t.minor.logf = log.Info
	return t
}

// AddSource lets src take part from now on. Adding a source that is
// present, or that left after refusing this download, does nothing.
func (t *Transfer) AddSource(src Source) { t.control(control{add: src}) }

// AddCopy lets src, a copy of some of the file's bytes (a room member's
// finished or running download of the same file), take part: it is asked
// only for bytes in has, and preferred over every other source for them
// (core/sched, "Copies and claims"). Adding a present copy updates has.
func (t *Transfer) AddCopy(src Source, has span.Set) {
	t.control(control{add: src, copy: true, has: has})
}

// UpdateCopy tells what copy id holds now, and what its own download is
// fetching right now (claims): other sources leave those bytes to it.
func (t *Transfer) UpdateCopy(id string, has, claims span.Set) {
	t.control(control{update: id, has: has, claims: claims})
}

// Fetching returns the bytes this transfer's sources are fetching right
// now: its claims, for other downloads of the same file on the LAN.
func (t *Transfer) Fetching() span.Set {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.s == nil {
		return span.Set{}
	}
	return t.s.Assigned()
}

// RemoveSource takes the source out; its unfinished ranges go back to the
// pool at once, uncharged, and its requests are cancelled.
func (t *Transfer) RemoveSource(id, why string) { t.control(control{remove: id, why: why}) }

// Pin is the pin in force: the configured one, with a fresher URL after an
// expired link, and without validators found inconsistent.
func (t *Transfer) Pin() Pin {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.pin
}

// Run moves every missing byte into the file, or fails. It returns nil once
// every byte is durable; the cause of ctx's end when ctx ends (what was
// written is committed first); a *ChangedError when the file changed on
// the server; a *StuckError, *WaitError or *WriteError; or the fatal
// failure of this node's own source.
func (t *Transfer) Run(ctx context.Context) (err error) {
	now := time.Now()
	sc := t.cfg.Sched
	sc.Size, sc.Done = t.cfg.Pin.Identity.Size, t.cfg.Done
	t.s = sched.New(sc, now)
	t.lastCommit, t.quietSince = now, now
	received, _ := t.s.Progress()
	t.written = received

	wctx, cancelWorkers := context.WithCancel(ctx)
	defer func() {
		cancelWorkers()
		t.drain()
		if cerr := t.commitNow(); cerr != nil && err == nil {
			err = cerr
		}
		t.report(time.Now())
	}()

	tick := time.NewTicker(progressEvery)
	defer tick.Stop()
	wake := time.NewTimer(time.Hour)
	defer wake.Stop()
	for {
		t.applyControls()
		t.mu.Lock()
		finished := t.s.Finished()
		t.mu.Unlock()
		if finished && len(t.workers) == 0 && !t.committing && t.checking == 0 {
			return t.repairBanned(ctx)
		}
		t.assign(wctx)
		t.mu.Lock()
		if at, ok := t.s.Wake(time.Now()); ok {
			wake.Reset(max(time.Until(at), time.Millisecond))
		}
		t.mu.Unlock()
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case res := <-t.results:
			if err := t.handle(wctx, res); err != nil {
				return err
			}
		case <-t.ctlWake:
		case <-t.nudge:
			t.maybeCommit(time.Now())
		case c := <-t.committed:
			if err := t.afterCommit(c); err != nil {
				return err
			}
		case res := <-t.checks:
			t.afterCheck(res)
		case now := <-tick.C:
			if err := t.tick(now); err != nil {
				return err
			}
		case <-wake.C:
		}
	}
}

func (t *Transfer) control(c control) {
	t.ctlMu.Lock()
	t.ctl = append(t.ctl, c)
	t.ctlMu.Unlock()
	select {
	case t.ctlWake <- struct{}{}:
	default:
	}
}

func (t *Transfer) applyControls() {
	t.ctlMu.Lock()
	cs := t.ctl
	t.ctl = nil
	t.ctlMu.Unlock()
	for _, c := range cs {
		switch {
		case c.add != nil:
			t.addSource(c)
		case c.update != "":
			t.updateCopy(sched.PeerID(c.update), c.has, c.claims)
		default:
			t.removeSource(sched.PeerID(c.remove), c.why)
		}
	}
}

func (t *Transfer) addSource(c control) {
	src := c.add
	id := sched.PeerID(src.ID())
	if _, ok := t.sources[id]; ok {
		if c.copy && t.copies[id] {
			t.mu.Lock()
			t.s.SetHas(id, c.has, time.Now())
			t.mu.Unlock()
		}
		return
	}
	if _, ok := t.benched[id]; ok {
		return
	}
	if t.cfg.Limit != nil {
		src = limited{Source: src, limit: t.cfg.Limit}
	}
	t.sources[id] = src
	t.everName[id] = src.Name()
	now := time.Now()
	if c.copy {
		t.copies[id] = true
		t.mu.Lock()
		t.s.AddCopy(id, c.has, now)
		t.mu.Unlock()
	} else if t.gainJoin(id, src.Name(), now) {
		// Its participant shares this machine's link, or is being
		// tested: the route waits outside the scheduler.
		t.parked[id] = true
	} else {
		t.mu.Lock()
		t.s.AddPeer(id, now)
		t.mu.Unlock()
	}
	t.log.Info("source joins", "source", src.Name(), "copy", c.copy)
	if !c.copy {
		// A new lender brings back those set aside (gain.go).
		t.applyGain(now)
	}
}

// updateCopy records what a present copy holds and claims.
func (t *Transfer) updateCopy(id sched.PeerID, has, claims span.Set) {
	if !t.copies[id] {
		return
	}
	if _, ok := t.sources[id]; !ok {
		return
	}
	now := time.Now()
	t.mu.Lock()
	t.s.SetHas(id, has, now)
	t.s.SetClaims(id, claims, now)
	t.mu.Unlock()
	// An assignment whose whole rest the copy holds ends at once: stop
	// its fetch rather than wait for its next bytes to find out.
	for wid := range t.workers {
		t.cutIfDead(wid)
	}
}

func (t *Transfer) removeSource(id sched.PeerID, why string) {
	src, ok := t.sources[id]
	if !ok {
		return
	}
	delete(t.sources, id)
	delete(t.parked, id)
	now := time.Now()
	t.mu.Lock()
	t.s.RemovePeer(id, now)
	t.mu.Unlock()
	for _, w := range t.workers {
		if w.a.Peer == id {
			w.orphan = true
			w.cancel()
		}
	}
	t.log.Info("source leaves", "source", src.Name(), "why", why)
	if !t.copies[id] {
		t.gainLeave(id, now)
	}
}

// assign starts a fetch for every assignment the scheduler hands out,
// Config.First's first.
func (t *Transfer) assign(ctx context.Context) {
	now := time.Now()
	if first := t.cfg.First; !first.Empty() {
		t.cfg.First = span.Range{}
		if src, ok := t.sources[SelfID]; ok {
			t.mu.Lock()
			a, ok := t.s.Claim(SelfID, first, now)
			t.mu.Unlock()
			if ok {
				t.start(ctx, a, src)
			}
		}
	}
	ids := make([]sched.PeerID, 0, len(t.sources))
	for id := range t.sources {
		ids = append(ids, id)
	}
	slices.Sort(ids) // deterministic order, for reproducible tests
	for _, id := range ids {
		src := t.sources[id]
		for {
			t.mu.Lock()
			a, ok := t.s.Next(id, now)
			t.mu.Unlock()
			if !ok {
				break
			}
			t.start(ctx, a, src)
		}
	}
}

// start runs assignment a's fetch from src.
func (t *Transfer) start(ctx context.Context, a sched.Assignment, src Source) {
	t.log.Debug("request", "source", src.Name(), "off", a.Range.Off, "len", a.Range.Len())
	t.cutIfDead(a.From)
	wctx, cancel := context.WithCancel(ctx)
	t.workers[a.ID] = &worker{a: a, cancel: cancel, check: t.drawCheck(ctx, a)}
	go t.work(wctx, a, src, t.Pin())
}

// cutIfDead cancels the fetch of assignment id at once when a split left it
// nothing more to fetch, so its source stops pulling from the origin.
func (t *Transfer) cutIfDead(id uint64) {
	if id == 0 {
		return
	}
	t.mu.Lock()
	dead := t.s.End(id) < 0
	t.mu.Unlock()
	if w, ok := t.workers[id]; ok && dead {
		w.orphan = true
		w.cancel()
	}
}

// work runs one fetch. Bytes are written outside t.mu: the lock is held
// only to ask where the assignment ends now and to record what landed.
// A split may shorten the assignment between the two; the bytes written
// past the new end are then the same bytes of the same pinned version that
// the new holder writes, and only the holder's count.
func (t *Transfer) work(ctx context.Context, a sched.Assignment, src Source, pin Pin) {
	off := a.Range.Off
	sink := func(b []byte) error {
		t.mu.Lock()
		n := max(min(int64(len(b)), t.s.End(a.ID)-off), 0)
		t.mu.Unlock()
		if n > 0 {
			if _, err := t.cfg.File.WriteAt(b[:n], off); err != nil {
				return &WriteError{Err: err}
			}
		}
		t.mu.Lock()
		n = max(min(n, t.s.End(a.ID)-off), 0)
		stop := t.s.Received(a.ID, n, time.Now())
		if n > 0 {
			r := span.Range{Off: off, End: off + n}
			t.pending = append(t.pending, landed{r: r, source: string(a.Peer)})
			t.pendBy += n
			t.written += n
			if !t.isSelf(a.Peer) {
				if t.delivered[a.Peer] == nil {
					t.delivered[a.Peer] = &span.Set{}
				}
				t.delivered[a.Peer].Add(r)
			}
		}
		full := t.pendBy >= t.cfg.CommitBytes || !t.begun
		t.mu.Unlock()
		off += n
		if full {
			select {
			case t.nudge <- struct{}{}:
			default:
			}
		}
		if stop && off < a.Range.End {
			return errSplit
		}
		return nil
	}
	err := src.Fetch(ctx, Request{Pin: pin, Range: a.Range}, sink)
	if errors.Is(err, errSplit) {
		err = nil
	}
	t.results <- result{a: a, got: span.Range{Off: a.Range.Off, End: off}, err: err}
}

// handle acts on a finished fetch.
func (t *Transfer) handle(ctx context.Context, res result) error {
	w := t.workers[res.a.ID]
	delete(t.workers, res.a.ID)
	w.cancel()
	// Whatever a lender wrote may be checked, however its fetch ended.
	t.spotCheck(ctx, res.a.Peer, res.got, w.check)
	if w.orphan {
		return nil
	}
	now := time.Now()
	if res.err == nil {
		t.mu.Lock()
		err := t.s.Complete(res.a.ID, now)
		t.mu.Unlock()
		if err != nil {
			return t.gaveUp(err)
		}
		// A finished request is journaled soon: a crash must not fetch it again.
		t.maybeCommit(now)
		return nil
	}
	var we *WriteError
	if errors.As(res.err, &we) {
		return we
	}
	t.mu.Lock()
	live := t.s.End(res.a.ID) >= 0
	t.mu.Unlock()
	if !live {
		// Split away, stalled or cut: its bytes are elsewhere already.
		return nil
	}
	f := classify(res.err)
	id := res.a.Peer
	self := t.isSelf(id)
	t.log.Info("fetch failed", "source", t.name(id), "off", res.a.Range.Off, "kind", f.Kind, "err", res.err)
	switch f.Kind {
	case Gone:
		t.removeSource(id, res.err.Error())
		return nil
	case Refused:
		t.benched[id] = res.err.Error()
		t.removeSource(id, res.err.Error())
		return nil
	case Fatal:
		if self {
			return f.Err
		}
		t.fail(res, 0, now)
		t.benched[id] = res.err.Error()
		t.removeSource(id, res.err.Error())
		return t.checkGiveUp()
	case Changed:
		if err := t.settleMismatch(ctx, f); err != nil {
			return err
		}
		t.fail(res, 0, now)
		return t.checkGiveUp()
	case Expired:
		if err := t.refreshLink(ctx, f); err != nil {
			return err
		}
		t.fail(res, 0, now)
		return t.checkGiveUp()
	}
	var wait time.Duration
	if !f.RetryAt.IsZero() {
		if f.RetryAt.Sub(now) > t.cfg.MaxWait {
			if self {
				return &WaitError{Until: f.RetryAt, Max: t.cfg.MaxWait}
			}
			// A lender's origin route asks it to wait too long: the
			// download goes on without it.
			t.fail(res, 0, now)
			t.removeSource(id, res.err.Error())
			return t.checkGiveUp()
		}
		wait = max(f.RetryAt.Sub(now), 0)
		if f.RetryAt.After(t.waitUntil) {
			t.waitUntil = f.RetryAt
		}
	}
	t.fail(res, wait, now)
	return t.checkGiveUp()
}

// fail charges the failed assignment's rest and backs its source off.
func (t *Transfer) fail(res result, wait time.Duration, now time.Time) {
	t.lastErr = res.err
	t.mu.Lock()
	err := t.s.Fail(res.a.ID, res.err, wait, now)
	t.mu.Unlock()
	if err != nil {
		t.giveUpErr = err
	}
}

func (t *Transfer) checkGiveUp() error {
	if t.giveUpErr != nil {
		return t.gaveUp(t.giveUpErr)
	}
	return nil
}

func (t *Transfer) gaveUp(err error) error {
	var g *sched.GiveUpError
	if errors.As(err, &g) {
		return fmt.Errorf("bytes %d to %d failed %d times; the last time: %w", g.Range.Off, g.Range.End, g.Attempts, g.Err)
	}
	return err
}

func (t *Transfer) progress() (received, size int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.s.Progress()
}

// tick runs ten times a second: stalls, give-up, the shared-link test,
// commits and progress.
func (t *Transfer) tick(now time.Time) error {
	t.mu.Lock()
	stalls, err := t.s.Tick(now)
	t.mu.Unlock()
	for _, st := range stalls {
		w, ok := t.workers[st.ID]
		if !ok {
			continue
		}
		w.orphan = true
		w.cancel()
		if st.Slow {
			t.lastErr = fmt.Errorf("%s delivered only %.0f bytes/s, far below what it had shown it can", t.name(st.Peer), st.Rate)
		} else {
			t.lastErr = fmt.Errorf("%s: %w", t.name(st.Peer), errNoAnswer)
		}
		t.log.Info("request stalled; its range goes to other sources", "source", t.name(st.Peer), "slow", st.Slow, "off", w.a.Range.Off)
	}
	if err != nil {
		return t.gaveUp(err)
	}
	if !t.waitUntil.IsZero() && !now.Before(t.waitUntil) {
		// The give-up clock starts again once a wait the server asked for is over.
		t.quietSince = later(t.quietSince, t.waitUntil)
		t.waitUntil = time.Time{}
	}
	if now.Sub(later(t.quietSince, t.waitUntil)) >= t.cfg.GiveUp {
		return &StuckError{For: t.cfg.GiveUp, Cause: t.lastErr}
	}
	t.gainTick(now)
	t.maybeCommit(now)
	t.report(now)
	return nil
}

// maybeCommit starts a commit when enough was written or enough time
// passed, unless one is running.
func (t *Transfer) maybeCommit(now time.Time) {
	if t.committing {
		return
	}
	t.mu.Lock()
	due := len(t.pending) > 0 && (t.pendBy >= t.cfg.CommitBytes || now.Sub(t.lastCommit) >= t.cfg.CommitEvery || t.s.Finished() || !t.begun)
	var batch []landed
	first := due && !t.begun
	if due {
		batch = t.pending
		t.pending, t.pendBy, t.begun = nil, 0, true
	}
	t.mu.Unlock()
	if !due {
		return
	}
	t.committing = true
	t.lastCommit = now
	go func() {
		t.committed <- commitDone{batch: batch, err: t.cfg.File.Commit(merge(batch)), first: first}
	}()
}

// afterCommit reports a finished commit's ranges as durable.
func (t *Transfer) afterCommit(c commitDone) error {
	t.committing = false
	if c.err != nil {
		return &WriteError{Err: c.err}
	}
	for _, l := range mergeBySource(c.batch) {
		t.cfg.Reporter.Durable(l.r, l.source)
	}
	t.quietSince = later(time.Now(), t.quietSince)
	t.lastErr = nil
	if c.first {
		t.report(time.Now())
	}
	t.mu.Lock()
	more := t.pendBy >= t.cfg.CommitBytes || (t.s.Finished() && len(t.pending) > 0)
	t.mu.Unlock()
	if more {
		t.maybeCommit(time.Now())
	}
	return nil
}

// commitNow waits for a running commit and commits the rest, for the end
// of Run.
func (t *Transfer) commitNow() error {
	var first error
	if t.committing {
		c := <-t.committed
		if err := t.afterCommit(c); err != nil {
			first = err
		}
	}
	t.mu.Lock()
	batch := t.pending
	t.pending, t.pendBy = nil, 0
	t.mu.Unlock()
	if len(batch) == 0 {
		return first
	}
	if err := t.cfg.File.Commit(merge(batch)); err != nil {
		if first == nil {
			first = &WriteError{Err: err}
		}
		return first
	}
	for _, l := range mergeBySource(batch) {
		t.cfg.Reporter.Durable(l.r, l.source)
	}
	return first
}

// drain waits for every fetch and spot check to report after they were
// cancelled.
func (t *Transfer) drain() {
	for len(t.workers) > 0 {
		res := <-t.results
		if w := t.workers[res.a.ID]; w.check != nil {
			w.check.cancel()
		}
		delete(t.workers, res.a.ID)
	}
	for ; t.checking > 0; t.checking-- {
		<-t.checks
	}
}

// report publishes progress and the waiting state.
func (t *Transfer) report(now time.Time) {
	t.mu.Lock()
	written := t.written
	stats := t.s.Stats(now)
	_, size := t.s.Progress()
	live := t.s.Live()
	t.mu.Unlock()
	out := make([]SourceStats, 0, len(stats))
	for _, st := range stats {
		origin := !st.Copy && !t.copies[st.Peer]
		out = append(out, SourceStats{
			ID: string(st.Peer), Name: t.name(st.Peer), Bytes: st.Bytes,
			Rate: st.Rate, InFlight: st.InFlight, Copy: st.Copy,
			// A route kept out by the shared-link test is still there.
			Present:    st.Present || t.parked[st.Peer],
			SharesLink: origin && t.gain.Shares(participantOf(string(st.Peer))),
		})
	}
	t.cfg.Reporter.Progress(Progress{Written: written, Size: size, Sources: out, SharedLink: t.gain.Shared()})
	waiting := !t.waitUntil.IsZero() && now.Before(t.waitUntil) && live == 0
	if waiting != t.reported {
		t.reported = waiting
		if waiting {
			t.cfg.Reporter.Waiting(t.waitUntil)
		} else {
			t.cfg.Reporter.Waiting(time.Time{})
		}
	}
}

func (t *Transfer) name(id sched.PeerID) string {
	if src, ok := t.sources[id]; ok {
		return src.Name()
	}
	return string(id)
}

func (t *Transfer) isSelf(id sched.PeerID) bool { return id == SelfID }

// limited is a source whose bytes pass through Config.Limit.
type limited struct {
	Source
	limit func(ctx context.Context, sink func([]byte) error) func([]byte) error
}

func (s limited) Fetch(ctx context.Context, req Request, sink func([]byte) error) error {
	return s.Source.Fetch(ctx, req, s.limit(ctx, sink))
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// merge turns landed runs into sorted, coalesced ranges for the journal.
func merge(batch []landed) []span.Range {
	var set span.Set
	for _, l := range batch {
		set.Add(l.r)
	}
	return set.Ranges()
}

// mergeBySource joins adjacent runs of the same source, in file order.
func mergeBySource(batch []landed) []landed {
	sorted := slices.Clone(batch)
	slices.SortFunc(sorted, func(a, b landed) int { return cmp.Compare(a.r.Off, b.r.Off) })
	var out []landed
	for _, l := range sorted {
		if n := len(out); n > 0 && out[n-1].source == l.source && out[n-1].r.End == l.r.Off {
			out[n-1].r.End = l.r.End
			continue
		}
		out = append(out, l)
	}
	return out
}
