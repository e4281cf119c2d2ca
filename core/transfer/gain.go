package transfer

import (
	"fmt"
	"strings"
	"time"
)

// # Shared links
//
// Pooling helps only when the lenders reach the origin over links of their
// own. When every machine sits behind one uplink, a lender's origin
// fetches take their bandwidth from the requester's own, and nothing is
// gained. Rates cannot tell the two apart: N sources sharing a link of U
// each show U/N, just like N separate links of U/N each. So it takes an
// experiment, and gainProbe runs it: it pauses one lender, and watches
// whether the aggregate origin rate drops by what that lender delivered
// (the lender has a link of its own) or whether the others absorb what it
// freed (the lender shares their link).
//
// gainProbe is a plain state machine like core/sched: no goroutines, no
// clock (every call takes now), and byte counters as input. The transfer
// feeds it every tick (Observe), tells it who joins and leaves, and keeps
// out of the scheduler every participant Out names.
//
// What it costs: with separate links, one lender's output for gainSettle
// plus gainWindow (about 3 s), once per download, and only in downloads
// estimated to last over gainMinLeft; a lender that helps ends the testing
// (see Observe). With one shared link, nothing: the others take up what
// the paused lender leaves.
//
// Terms: an origin route is a source that is not a copy (AddCopy); its
// participant is the room member behind it (SelfID for this machine), a
// mirror pair "<participant> via <mirror url>" included. A lender is a
// participant other than SelfID. A participant delivers while one of its
// routes is in the scheduler and not backing off, and its bytes grew
// within gainQuiet.

// Thresholds of the shared-link test.
const (
	// gainWindow is the length of each rate measurement (A1 before the
	// pause, A2 after it), and how long self and the lender must have
	// been delivering before one: about the scheduler's own rate window,
	// long enough to average over several slices of every request, short
	// enough that a test costs little.
	gainWindow = 2 * time.Second
	// gainSettle is the wait between pausing the lender and measuring A2:
	// the others' connections take that long to absorb the bandwidth the
	// lender freed, if they share its link (TCP ramps up within a few
	// round trips; the freed bytes return to the pool at once).
	gainSettle = time.Second
	// gainMinLeft: a download estimated to end sooner than this is not
	// tested. The test costs up to one lender's output for about 3 s;
	// on a short download that is a large share, and the test would run
	// into the end-game, where rates fall whatever the links are.
	gainMinLeft = 20 * time.Second
	// gainChainLeft replaces gainMinLeft for the lenders tested after one
	// was found sharing: time for one more test and a little to spare.
	gainChainLeft = gainSettle + gainWindow + 2*time.Second
	// gainCooldown is the least time between two tests, unless the last
	// one found its lender sharing (then the next lender is tested at
	// once: the last test's A2 window serves as its A1). It bounds what
	// tests cost when lenders keep joining, or when tests are cut short.
	gainCooldown = 10 * time.Second
	// gainShare: a lender whose gain (A1 − A2) is below this share of its
	// own rate rL shares the link. A lender with a link of its own gains
	// about rL, one sharing gains about 0; halfway between leaves the most
	// room for noise either way.
	gainShare = 0.5
	// gainMinShare: a lender that delivers less than this share of the
	// aggregate is not tested. Its gain would be lost in the ups and
	// downs of the others' rates (several percent over gainWindow), so
	// its verdict would be a guess, and a wrong "shares" a false notice;
	// while it stays in, a lender that small costs little either way. It
	// still lets a room of up to 16 machines on one uplink be found out.
	gainMinShare = 1.0 / 16
	// gainQuiet: a participant whose bytes have not grown for this long
	// is not delivering. Real transfers land bytes every few milliseconds
	// and a participant holds two requests at once, so a second of silence
	// means it really stopped.
	gainQuiet = time.Second
)

// The notices of the shared-link test.
const (
	noticeSharedLink = "pooling isn't helping: these machines seem to share one internet link"
	noticeSharesLink = "%s seems to share this machine's internet link: not fetching through it"
)

type gainVerdict int

const (
	untested gainVerdict = iota
	helps                // pausing it lowered the aggregate: it has a link of its own
	shares               // pausing it did not, and this machine took up its rate: it shares this machine's link
	idle                 // pausing it did not, but other lenders took up its rate: it adds nothing here (the LAN or the CPU is the limit), and stays out quietly
)

type gainPhase int

const (
	gainIdle     gainPhase = iota
	gainSettling           // the subject is paused; waiting gainSettle
	gainMeasure            // measuring A2
)

// gainObs is one participant's counters at a tick.
type gainObs struct {
	id     string // participant
	bytes  int64  // received from all its origin routes so far (monotone)
	usable bool   // one of its routes is in the scheduler and not backing off
}

// gainPart is what gainProbe knows of one participant.
type gainPart struct {
	id, name   string
	idx        int // in gainProbe.parts and in every gainSample
	lender     bool
	present    bool // it has an origin route in the transfer
	verdict    gainVerdict
	noticed    bool // its own notice was given (once per transfer)
	bytes      int64
	grewAt     time.Time
	delivering bool
	since      time.Time // when delivering last changed, or it (re)joined
}

// gainSample is the counters at one tick.
type gainSample struct {
	at    time.Time
	total int64   // all origin routes
	bytes []int64 // by gainPart.idx
}

// gainProbe runs the shared-link test of one download. Its zero value is
// not usable; make it with newGainProbe.
type gainProbe struct {
	parts []*gainPart // in order of joining
	byID  map[string]*gainPart
	hist  []gainSample // the latest sample at or before now−gainWindow, and all after

	phase    gainPhase
	subject  *gainPart // the lender paused, while a test runs
	pausedAt time.Time
	a1, rL   float64    // the aggregate and the subject's rate before the pause
	self1    float64    // this machine's own rate before the pause
	from     gainSample // the start of the A2 window

	lastTest time.Time // when the last test ended; zero before the first
	chain    bool      // the last test found its lender sharing: test the next at once
	// helper is a lender found to help. While one is present, nothing is
	// tested: see Observe.
	helper     *gainPart
	pending    []*gainPart // found sharing, notice held while tests follow on
	summarized bool        // noticeSharedLink was given (once per transfer)
	tests      int         // tests started, for tests

	logf func(msg string, args ...any) // nil: silent
}

func newGainProbe(logf func(string, ...any)) *gainProbe {
	return &gainProbe{byID: make(map[string]*gainPart), logf: logf}
}

// participantOf is the participant behind origin route id: a mirror pair
// "<participant> via <mirror url>" (core/mirrors.go) belongs to its
// participant.
func participantOf(id string) string {
	p, _, _ := strings.Cut(id, " via ")
	return p
}

// Join records that an origin route of participant id, named name, joined
// the transfer. A lender never seen before changes the set of lenders:
// any test running is cut short, every lender set aside comes back, and
// testing starts over. Joining again after leaving changes nothing else.
func (g *gainProbe) Join(route, name string, now time.Time) {
	id := participantOf(route)
	p := g.byID[id]
	if p != nil {
		if route == id || p.name == "" {
			p.name = participantName(route, id, name)
		}
		if !p.present {
			p.present, p.delivering, p.since = true, false, now
			if p.verdict == helps && g.helper == nil {
				g.helper = p
			}
		}
		return
	}
	p = &gainPart{id: id, name: participantName(route, id, name), idx: len(g.parts), lender: id != SelfID, present: true, since: now}
	g.parts = append(g.parts, p)
	g.byID[id] = p
	if !p.lender {
		return
	}
	if g.phase != gainIdle {
		g.abort(now, "a new lender joined")
	}
	back := 0
	for _, q := range g.parts {
		if q.verdict == shares || q.verdict == idle {
			back++
		}
		q.verdict = untested
	}
	g.helper, g.chain, g.pending = nil, false, nil
	if back > 0 {
		g.log("a new lender joined; lenders set aside come back and testing starts over", "lender", p.name, "back", back)
	}
}

// participantName is a participant's name for sentences: its own route's,
// or a mirror pair's without " via host".
func participantName(route, id, name string) string {
	if route == id {
		return name
	}
	n, _, _ := strings.Cut(name, " via ")
	return n
}

// Leave records that participant id has no origin route left in the
// transfer. A test of it ends without a verdict. If it was the lender found
// to help, the evidence left with it: the lenders not tested yet will be.
func (g *gainProbe) Leave(id string, now time.Time) {
	p := g.byID[id]
	if p == nil || !p.present {
		return
	}
	p.present = false
	if p == g.subject {
		g.abort(now, "the lender left")
	}
	if p == g.helper {
		g.helper = nil
	}
}

// Out reports whether participant id's origin routes must stay out of the
// scheduler: it is being tested, or it was found sharing the link.
func (g *gainProbe) Out(id string) bool {
	p := g.byID[id]
	return p != nil && (p == g.subject || p.verdict == shares || p.verdict == idle)
}

// Shares reports whether participant id was found sharing the link.
func (g *gainProbe) Shares(id string) bool {
	p := g.byID[id]
	return p != nil && p.verdict == shares
}

// Shared reports whether every lender present was found sharing the link
// (and there is at least one): pooling is not helping.
func (g *gainProbe) Shared() bool {
	n := 0
	for _, p := range g.parts {
		if !p.lender || !p.present {
			continue
		}
		if p.verdict != shares {
			return false
		}
		n++
	}
	return n > 0
}

// Observe takes one tick's counters: every participant's (one that is
// missing is taken as unchanged and not usable) and the bytes the
// download still misses. It starts, advances and ends tests, and returns
// the notices for the user. The caller then keeps out of the scheduler
// exactly the participants Out names.
//
// A test of lender L starts when no test runs and
//   - no lender present was found to help: one lender with a link of its
//     own shows the machines are not all behind one uplink, the case this
//     test is for, so testing every lender would cost each one's output in
//     every download for little: a lender that does share this machine's
//     link does not lower the aggregate (it fetches bytes this machine
//     would have fetched), it only adds a LAN hop;
//   - L is the first lender present, in order of joining, not tested yet,
//     delivering, and at a rate rL of at least gainMinShare of A1;
//   - no test ended in the last gainCooldown, unless the last one found
//     its lender sharing;
//   - self and L have been delivering for gainWindow, and no other
//     participant in the scheduler started or stopped delivering in that
//     time (A1 must be a steady state);
//   - the download is estimated to last more than gainMinLeft: bytes left
//     over the aggregate rate A1 of the last gainWindow.
//
// L is then paused (Out) for gainSettle, then A2 is measured over
// gainWindow, and L's verdict is shares if A1 − A2 < gainShare × rL, its
// rate in the A1 window; else helps, and L is back. A test is cut short,
// with no verdict and L back, if self or another participant in the
// scheduler starts or stops delivering during it (A2 would not compare
// with A1), or L leaves, or a new lender joins.
func (g *gainProbe) Observe(now time.Time, left int64, obs []gainObs) []string {
	usable := make([]bool, len(g.parts))
	for _, o := range obs {
		p := g.byID[o.id]
		if p == nil {
			continue
		}
		if o.bytes > p.bytes {
			p.bytes, p.grewAt = o.bytes, now
		}
		usable[p.idx] = o.usable
	}
	cur := gainSample{at: now, bytes: make([]int64, len(g.parts))}
	for _, p := range g.parts {
		d := p.present && usable[p.idx] && !p.grewAt.IsZero() && now.Sub(p.grewAt) < gainQuiet
		if d != p.delivering {
			p.delivering, p.since = d, now
		}
		cur.bytes[p.idx] = p.bytes
		cur.total += p.bytes
	}
	g.hist = append(g.hist, cur)
	for len(g.hist) > 1 && !g.hist[1].at.After(now.Add(-gainWindow)) {
		g.hist = g.hist[1:]
	}

	switch g.phase {
	case gainSettling:
		if !g.steady(g.pausedAt) {
			g.abort(now, "the sources changed during the test")
		} else if now.Sub(g.pausedAt) >= gainSettle {
			g.from, g.phase = cur, gainMeasure
		}
	case gainMeasure:
		if !g.steady(g.pausedAt) {
			g.abort(now, "the sources changed during the test")
		} else if dt := now.Sub(g.from.at); dt >= gainWindow {
			self := g.byID[SelfID].idx
			g.conclude(now, float64(cur.total-g.from.total)/dt.Seconds(),
				float64(cur.bytes[self]-g.from.bytes[self])/dt.Seconds())
		}
	}
	if g.phase == gainIdle {
		g.maybeStart(now, left)
	}
	return g.notices()
}

// steady reports whether self is delivering and every other participant in
// the scheduler but the subject has kept its state since t.
func (g *gainProbe) steady(t time.Time) bool {
	for _, p := range g.parts {
		if !p.present || g.Out(p.id) {
			continue
		}
		if p.since.After(t) || (!p.lender && !p.delivering) {
			return false
		}
	}
	self := g.byID[SelfID]
	return self != nil && self.present && self.delivering
}

// maybeStart starts a test if one is due (see Observe).
func (g *gainProbe) maybeStart(now time.Time, left int64) {
	if g.helper != nil {
		return
	}
	if !g.chain && !g.lastTest.IsZero() && now.Sub(g.lastTest) < gainCooldown {
		return
	}
	self := g.byID[SelfID]
	if self == nil || !self.present || !self.delivering {
		return
	}
	// A steady state: self, and every other participant in the
	// scheduler, delivering or not for gainWindow.
	for _, p := range g.parts {
		if p.present && !g.Out(p.id) && now.Sub(p.since) < gainWindow {
			return
		}
	}
	base, cur := g.hist[0], g.hist[len(g.hist)-1]
	dt := now.Sub(base.at)
	if dt < gainWindow {
		return
	}
	a1 := float64(cur.total-base.total) / dt.Seconds()
	// Once a lender was found sharing, the next is tested while a test
	// still fits: testing one that shares costs nothing, and the room
	// deserves its verdict (and the notice) before the end.
	minLeft := gainMinLeft
	if g.chain {
		minLeft = gainChainLeft
	}
	if a1 <= 0 || float64(left)/a1 <= minLeft.Seconds() {
		return
	}
	// The first lender not tested yet that has been delivering, enough
	// to measure: one that cannot must not hold up the others.
	var cand *gainPart
	var rL float64
	for _, p := range g.parts {
		if !p.lender || !p.present || p.verdict != untested || !p.delivering || p.idx >= len(base.bytes) {
			continue
		}
		if rL = float64(cur.bytes[p.idx]-base.bytes[p.idx]) / dt.Seconds(); rL >= gainMinShare*a1 {
			cand = p
			break
		}
	}
	if cand == nil {
		return
	}
	g.phase, g.subject, g.pausedAt = gainSettling, cand, now
	g.a1, g.rL, g.chain = a1, rL, false
	if self := g.byID[SelfID]; self.idx < len(base.bytes) {
		g.self1 = float64(cur.bytes[self.idx]-base.bytes[self.idx]) / dt.Seconds()
	}
	g.tests++
	g.log("shared-link test: pausing a lender", "lender", cand.name, "aggregate", a1, "lender rate", rL)
}

// conclude gives the subject its verdict from A2.
func (g *gainProbe) conclude(now time.Time, a2, self2 float64) {
	p := g.subject
	g.phase, g.subject, g.lastTest = gainIdle, nil, now
	gain := g.a1 - a2
	switch {
	case gain >= gainShare*g.rL:
		p.verdict, g.helper, g.chain = helps, p, false
	case self2-g.self1 >= gainShare*g.rL/float64(g.takers()):
		// This machine's own origin stream took up its part of what the
		// lender left (the others that deliver took up theirs): they
		// share one link.
		p.verdict, g.chain = shares, true
		if !p.noticed {
			g.pending = append(g.pending, p)
		}
	default:
		// Other lenders took it up: the limit is elsewhere (this
		// machine's LAN or CPU), not a shared internet link. The
		// lender adds nothing to this download, so it stays out, but
		// nobody is told the links are shared.
		p.verdict, g.chain = idle, true
	}
	g.log("shared-link test done", "lender", p.name, "a1", g.a1, "a2", a2, "gain", gain, "lender rate", g.rL,
		"self before", g.self1, "self after", self2, "verdict", p.verdict)
}

// takers is how many participants deliver while the subject is out:
// those that may take up what it left.
func (g *gainProbe) takers() int {
	n := 0
	for _, p := range g.parts {
		if p.present && p.delivering && !g.Out(p.id) {
			n++
		}
	}
	return max(n, 1)
}

// abort ends the test running without a verdict; the subject is back.
func (g *gainProbe) abort(now time.Time, why string) {
	if g.subject != nil {
		g.log("shared-link test cut short", "lender", g.subject.name, "why", why)
	}
	g.phase, g.subject, g.lastTest, g.chain = gainIdle, nil, now, false
}

// notices returns what to tell the user once no test runs: the summary
// when every lender present shares the link (in place of their own
// notices, and once per transfer), else a notice per lender found sharing.
func (g *gainProbe) notices() []string {
	if g.phase != gainIdle || len(g.pending) == 0 && (g.summarized || !g.Shared()) {
		return nil
	}
	if g.Shared() {
		g.pending = nil
		if g.summarized {
			return nil
		}
		g.summarized = true
		return []string{noticeSharedLink}
	}
	var out []string
	for _, p := range g.pending {
		if !p.noticed && p.verdict == shares {
			p.noticed = true
			out = append(out, fmt.Sprintf(noticeSharesLink, p.name))
		}
	}
	g.pending = nil
	return out
}

func (g *gainProbe) log(msg string, args ...any) {
	if g.logf != nil {
		g.logf(msg, args...)
	}
}
