package transfer

import "time"

// # Lenders too slow to pay for themselves
//
// A lender can shorten a download by at most its share of the aggregate
// rate. When this machine's own link is far faster than a lender's (a fast
// link at home, lenders behind slow ones), that share is a rounding error,
// while the lender still costs: each chunk it holds is a hole that the
// end-game must close at the end, that holds back the file's running
// SHA-256 (which the final check must then catch up on), and whose bytes
// cost this machine several times the CPU of its own HTTP stream (QUIC
// runs in user space: `make bench`, scenario l). Measured side by side,
// four lenders at 20 Mbit/s made a requester with an unshaped link 1.7
// times slower while delivering 2 % of the file.
//
// So a lender whose measured rate stays under minorShare of the aggregate
// rate of every source (copies on the LAN included) is kept out of the
// scheduler, quietly, the way the shared-link test keeps out one that
// shares the link (gain.go): its routes stay among the sources, its
// unfinished ranges go back to the pool. It comes back when conditions
// change: when the aggregate falls so far that its rate, as last
// measured, would be over twice minorShare of it (this machine's link
// slowed, a copy left). Only lenders are judged: this machine's own
// source is the transfer's fallback and spot checker, and a copy costs
// none of the above.
//
// minorRule is a plain state machine like gainProbe: no clock, no
// goroutines; the transfer feeds it every tick.

const (
	// minorShare: a lender under this share of the aggregate rate is
	// kept out. It then could not shorten the download by more than
	// about 1.6 %, less than what its holes and CPU cost; a room of up to
	// 64 equal machines is never affected, nor a lender at a tenth of the
	// others' rate in a room of six.
	minorShare = 1.0 / 64
	// A lender's rate is measured from the first tick at which it had
	// delivered bytes in its current stretch in the scheduler (so its
	// first byte's wait counts against it no more than a tick), and
	// counts after minorWait, or as soon as it delivered minorMeasured:
	// long enough that a connection in slow start is judged at most a
	// little low, soon enough that a lender at a hundredth of this
	// machine's rate costs little before it is judged. A silent lender
	// is the progress rule's business (core/sched), not this one's.
	minorWait     = 500 * time.Millisecond
	minorMeasured = 1 << 20
)

// minorObs is one source's counters at a tick, for minorRule.
type minorObs struct {
	part   string  // participant (participantOf its id); a copy's own id
	lender bool    // an origin route of a room member, not this machine's and not a copy
	in     bool    // in the scheduler now, with a request outstanding
	rate   float64 // bytes per second, recent
	bytes  int64   // delivered so far
}

// minorRule decides which lenders are too slow to pay for themselves.
// Its zero value is ready to use.
type minorRule struct {
	out  map[string]float64 // participant kept out → its rate then
	runs map[string]minorRun
	logf func(msg string, args ...any)
}

// minorRun is a lender's current stretch in the scheduler. Its rate is
// judged over the stretch alone: the scheduler's rate of a lender that was
// out a while still carries the silence.
type minorRun struct {
	entered int64     // bytes it had delivered when the stretch began
	since   time.Time // the first tick after it delivered in the stretch; zero before
	base    int64     // bytes it had delivered then
}

// Out reports whether participant id is kept out.
func (m *minorRule) Out(id string) bool {
	_, ok := m.out[id]
	return ok
}

// Observe judges one tick's counters and reports whether the set of
// participants kept out changed.
func (m *minorRule) Observe(now time.Time, obs []minorObs) (changed bool) {
	var all float64
	in := map[string]bool{}
	bytes := map[string]int64{}
	for _, o := range obs {
		if o.in {
			all += o.rate
		}
		if o.lender {
			in[o.part] = in[o.part] || o.in
			bytes[o.part] += o.bytes
		}
	}
	if m.runs == nil {
		m.runs = make(map[string]minorRun)
	}
	for id := range m.runs {
		if !in[id] {
			delete(m.runs, id)
		}
	}
	for id := range in {
		run, ok := m.runs[id]
		switch {
		case !in[id]:
		case !ok:
			m.runs[id] = minorRun{entered: bytes[id]}
		case run.since.IsZero() && bytes[id] > run.entered:
			run.since, run.base = now, bytes[id]
			m.runs[id] = run
		}
	}
	if all <= 0 {
		return false
	}
	for id, r := range m.out {
		if r >= 2*minorShare*all {
			delete(m.out, id)
			changed = true
			m.log("lender back: the download's rate fell", "lender", id, "its rate", r, "aggregate", all)
		}
	}
	for id, run := range m.runs {
		got, dt := bytes[id]-run.base, now.Sub(run.since)
		if m.Out(id) || run.since.IsZero() || dt <= 0 || got < minorMeasured && dt < minorWait {
			continue
		}
		if r := float64(got) / dt.Seconds(); r < minorShare*all {
			if m.out == nil {
				m.out = make(map[string]float64)
			}
			m.out[id] = r
			changed = true
			m.log("lender kept out: too slow to shorten this download", "lender", id, "its rate", r, "aggregate", all)
		}
	}
	return changed
}

func (m *minorRule) log(msg string, args ...any) {
	if m.logf != nil {
		m.logf(msg, args...)
	}
}
