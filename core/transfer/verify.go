package transfer

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/dragonload/dragonload/core/sched"
	"github.com/dragonload/dragonload/core/span"
)

// TLS protects a lender's bytes in transit, not their truth: a dishonest
// room member can send altered bytes. Two defences follow, both comparing
// a lender's bytes with what this node's own source (the origin, over its
// own link) answers for the same range:
//
//   - Spot checks, while the transfer runs: when a lender's request
//     starts, this node draws a small random slice of it and fetches that
//     from the origin alongside (precheck), and compares once the request
//     ended. A lender caught is banned: it leaves the transfer,
//     Reporter.Banned tells the engine (which persists the ban), and every
//     byte it delivered is fetched again by this node and rewritten where
//     it differs (Audit) before Run returns.
//   - Blame, after the fact: when the whole file's SHA-256 (from the link)
//     does not match, the caller audits each lender's bytes with Audit,
//     which names the lenders whose bytes differ and repairs the file.
//
// Spot checks cannot see an alteration that misses every slice checked; a
// lender altering whole requests is caught at its first checked one. The
// detection rates, measured against lenders that alter one request in ten
// and every request, are in docs/protocol.md.

// Checks configures spot checks of lenders' bytes. The zero value checks
// nothing.
type Checks struct {
	// Rate is the share of lenders' requests checked, from 0 (off) to 1.
	Rate float64
	// Slice is the part of a request compared: 1/Slice of its bytes,
	// at least MinCheck and at most MaxCheck (default 64).
	Slice int64
	// Rand draws which requests and where; nil uses a random source.
	Rand *rand.Rand
}

// Spot-check slice bounds: the origin request costs a round trip whatever
// its size, so a slice is never tiny; and never large, so a check stays
// cheap next to the request it checks.
const (
	MinCheck         = 4 << 10
	MaxCheck         = 64 << 10
	defaultSliceFrac = 64
	// checkTimeout bounds one spot check (a quarter of the give-up time
	// when that is shorter).
	checkTimeout = 10 * time.Second
)

// DefaultChecks checks every lender request, comparing 1/64 of its bytes:
// at most about 1.6 % more bytes from the origin.
func DefaultChecks() Checks { return Checks{Rate: 1} }

// ReadFile is what Audit needs of the partial file.
type ReadFile interface {
	ReadAt(b []byte, off int64) (int, error)
	WriteAt(b []byte, off int64) (int, error)
}

// Audit fetches the ranges rs from src (this node's own origin source) and
// compares them with the file, rewriting every byte that differs with the
// origin's. It returns the ranges that differed, coalesced; the caller
// commits them. It reads and compares in pieces of at most 1 MiB.
func Audit(ctx context.Context, src Source, pin Pin, f ReadFile, rs []span.Range) ([]span.Range, error) {
	const piece = 1 << 20
	var differ span.Set
	have := make([]byte, piece)
	for _, r := range rs {
		for off := r.Off; off < r.End; off += piece {
			p := span.Range{Off: off, End: min(off+piece, r.End)}
			pos := p.Off
			err := src.Fetch(ctx, Request{Pin: pin, Range: p}, func(b []byte) error {
				n := int64(len(b))
				if pos+n > p.End {
					return fmt.Errorf("the origin sent more than bytes %d to %d", p.Off, p.End)
				}
				mine := have[:n]
				if _, err := f.ReadAt(mine, pos); err != nil {
					return &WriteError{Err: err}
				}
				if !bytes.Equal(mine, b) {
					for _, d := range differences(mine, b) {
						if _, err := f.WriteAt(b[d.Off:d.End], pos+d.Off); err != nil {
							return &WriteError{Err: err}
						}
						differ.Add(span.Range{Off: pos + d.Off, End: pos + d.End})
					}
				}
				pos += n
				return nil
			})
			if err == nil && pos != p.End {
				err = fmt.Errorf("the origin sent %d of bytes %d to %d", pos-p.Off, p.Off, p.End)
			}
			if err != nil {
				return differ.Ranges(), fmt.Errorf("cannot check bytes %d to %d against the origin: %w", p.Off, p.End, err)
			}
		}
	}
	return differ.Ranges(), nil
}

// differences returns the runs where a and b (of equal length) differ.
func differences(a, b []byte) []span.Range {
	var out []span.Range
	for i := 0; i < len(a); {
		if a[i] == b[i] {
			i++
			continue
		}
		j := i
		for j < len(a) && a[j] != b[j] {
			j++
		}
		out = append(out, span.Range{Off: int64(i), End: int64(j)})
		i = j
	}
	return out
}

// Delivered returns, for each lender that delivered bytes in this
// transfer, the ranges it delivered. This node's own bytes are left out.
func (t *Transfer) Delivered() map[string][]span.Range {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string][]span.Range, len(t.delivered))
	for id, set := range t.delivered {
		out[string(id)] = set.Ranges()
	}
	return out
}

// SourceName is the name of a source that took part, for sentences about
// it. Call it after Run returned.
func (t *Transfer) SourceName(id string) string {
	if name := t.everName[sched.PeerID(id)]; name != "" {
		return name
	}
	return id
}

// checkResult is the outcome of one spot check.
type checkResult struct {
	source sched.PeerID
	r      span.Range
	same   bool
	err    error // the check could not be made; says nothing of the lender
}

// precheck is a spot check drawn for a lender's request when it started:
// the slice r of the request to compare, and the origin's bytes of it,
// fetched at once, alongside the request, so that the check is ready when
// the request ends rather than starting then. Checks that start when a
// request ends queue on this node's link behind its own requests, and
// the last ones held up the end of every download that had lenders.
type precheck struct {
	r      span.Range
	done   chan struct{} // closed when origin and err are set
	origin []byte
	err    error
	cancel context.CancelFunc
}

// drawCheck draws whether assignment a, of a source other than this
// node's, is checked, and if so which slice of it, and starts fetching
// the origin's bytes of that slice. nil when it is not checked.
func (t *Transfer) drawCheck(ctx context.Context, a sched.Assignment) *precheck {
	c := t.cfg.Checks
	mine, ok := t.sources[SelfID]
	if c.Rate <= 0 || t.isSelf(a.Peer) || !ok || a.Range.Empty() {
		return nil
	}
	if _, banned := t.bannedWhy[a.Peer]; banned {
		return nil
	}
	if t.rng.Float64() >= c.Rate {
		return nil
	}
	return t.prefetch(ctx, mine, t.checkSlice(a.Range))
}

// prefetch starts fetching the origin's bytes r from this node's own
// source, mine, for a check.
func (t *Transfer) prefetch(ctx context.Context, mine Source, r span.Range) *precheck {
	ctx, cancel := context.WithTimeout(ctx, t.checkTimeout())
	pre := &precheck{r: r, done: make(chan struct{}), cancel: cancel}
	pin := t.Pin()
	go func() {
		defer close(pre.done)
		pre.origin, pre.err = fetchSlice(ctx, mine, pin, r)
	}()
	return pre
}

// checkSlice picks the slice of got to compare: 1/Slice of it, within
// MinCheck and MaxCheck, at a random place.
func (t *Transfer) checkSlice(got span.Range) span.Range {
	frac := t.cfg.Checks.Slice
	if frac <= 0 {
		frac = defaultSliceFrac
	}
	n := min(max(got.Len()/frac, MinCheck), MaxCheck, got.Len())
	off := got.Off + t.rng.Int64N(got.Len()-n+1)
	return span.Range{Off: off, End: off + n}
}

// checkTimeout bounds one spot check's origin request: the origin may
// trickle or stall it like any other, and a check is outside the
// scheduler's progress rule. A check that times out counts as not made.
func (t *Transfer) checkTimeout() time.Duration { return min(checkTimeout, t.cfg.GiveUp/4) }

// fetchSlice fetches bytes r from this node's own source.
func fetchSlice(ctx context.Context, mine Source, pin Pin, r span.Range) ([]byte, error) {
	var b []byte
	err := mine.Fetch(ctx, Request{Pin: pin, Range: r}, func(p []byte) error {
		b = append(b, p...)
		return nil
	})
	if err == nil && int64(len(b)) != r.Len() {
		err = fmt.Errorf("the origin sent %d of %d bytes", len(b), r.Len())
	}
	return b, err
}

// spotCheck checks what source delivered in got, its request having ended
// however it did, against the origin's bytes: those pre fetched when the
// request started, if it was drawn for a check and delivered that slice;
// else, when it was drawn but stopped short of the slice (an end-game
// split cut it, it failed), a slice of what it did deliver, fetched now.
func (t *Transfer) spotCheck(ctx context.Context, source sched.PeerID, got span.Range, pre *precheck) {
	if pre == nil {
		return
	}
	if got.Empty() {
		pre.cancel()
		return
	}
	if got.Intersect(pre.r) != pre.r {
		pre.cancel()
		mine, ok := t.sources[SelfID]
		if !ok {
			return
		}
		pre = t.prefetch(ctx, mine, t.checkSlice(got))
	}
	t.checking++
	go func() {
		defer pre.cancel()
		res := checkResult{source: source, r: pre.r}
		<-pre.done
		theirs := make([]byte, pre.r.Len())
		if _, err := t.cfg.File.ReadAt(theirs, pre.r.Off); err != nil {
			res.err = err
		} else {
			res.err = pre.err
		}
		res.same = res.err == nil && bytes.Equal(pre.origin, theirs)
		t.checks <- res
	}()
}

// afterCheck acts on a finished spot check: a lender whose bytes differ
// from the origin's is banned.
func (t *Transfer) afterCheck(res checkResult) {
	t.checking--
	if res.err != nil {
		t.log.Info("spot check not made", "source", t.name(res.source), "off", res.r.Off, "err", res.err)
		return
	}
	t.log.Debug("spot check", "source", t.name(res.source), "off", res.r.Off, "len", res.r.Len(), "same", res.same)
	if !res.same {
		t.ban(res.source, fmt.Sprintf("sent bytes %d to %d that differ from the origin's", res.r.Off, res.r.End))
	}
}

// ban takes a lender out for good: it leaves the transfer and is refused
// if it comes back, and everything it delivered is audited before Run
// returns.
func (t *Transfer) ban(id sched.PeerID, why string) {
	if _, ok := t.bannedWhy[id]; ok {
		return
	}
	name := t.name(id)
	t.bannedWhy[id] = why
	t.benched[id] = why
	t.removeSource(id, why)
	t.log.Warn("lender banned", "source", name, "why", why)
	t.cfg.Reporter.Banned(string(id), name, why)
}

// repairBanned audits every byte the banned lenders delivered against this
// node's own source and commits what it rewrote. It runs once every byte
// is durable, before Run returns.
func (t *Transfer) repairBanned(ctx context.Context) error {
	if len(t.bannedWhy) == 0 {
		return nil
	}
	mine, ok := t.sources[SelfID]
	if !ok {
		return fmt.Errorf("a lender sent altered bytes and this node cannot reach the origin to repair them")
	}
	t.mu.Lock()
	var rs span.Set
	ids := make([]sched.PeerID, 0, len(t.bannedWhy))
	for id := range t.bannedWhy {
		ids = append(ids, id)
		for _, r := range t.delivered[id].Ranges() {
			rs.Add(r)
		}
	}
	t.mu.Unlock()
	slices.Sort(ids)
	differ, err := Audit(ctx, mine, t.Pin(), t.cfg.File, rs.Ranges())
	if len(differ) > 0 {
		if cerr := t.cfg.File.Commit(differ); cerr != nil && err == nil {
			err = &WriteError{Err: cerr}
		}
	}
	if err != nil {
		return err
	}
	var n int64
	for _, r := range differ {
		n += r.Len()
	}
	t.cfg.Reporter.Notice(fmt.Sprintf("%d bytes from %s differed from the origin's; they were fetched again and the file repaired.", n, t.namesOf(ids)))
	return nil
}

// namesOf lists the sources' names for a sentence.
func (t *Transfer) namesOf(ids []sched.PeerID) string {
	var names []string
	for _, id := range ids {
		names = append(names, t.everName[id])
	}
	switch len(names) {
	case 1:
		return names[0]
	default:
		return fmt.Sprintf("%d lenders", len(names))
	}
}
