package transfer

import (
	"slices"
	"time"

	"github.com/dragonload/dragonload/core/sched"
)

// The transfer's side of the shared-link test (gain.go): it tells the
// probe who joins and leaves, feeds it the scheduler's byte counters every
// tick, and keeps out of the scheduler the origin routes of every
// participant the probe names (Out). A route kept out stays among the
// sources, so it comes back the moment the probe lets it.

// gainJoin tells the probe that origin route id joined, and reports
// whether the route must stay out of the scheduler for now.
func (t *Transfer) gainJoin(id sched.PeerID, name string, now time.Time) (out bool) {
	t.gain.Join(string(id), name, now)
	return t.keptOut(participantOf(string(id)))
}

// keptOut reports whether participant p's origin routes stay out of the
// scheduler: the shared-link test or the minor-lender rule (minor.go)
// says so.
func (t *Transfer) keptOut(p string) bool { return t.gain.Out(p) || t.minor.Out(p) }

// gainLeave tells the probe when origin route id, just removed, was its
// participant's last.
func (t *Transfer) gainLeave(id sched.PeerID, now time.Time) {
	p := participantOf(string(id))
	for other := range t.sources {
		if !t.copies[other] && participantOf(string(other)) == p {
			return
		}
	}
	t.gain.Leave(p, now)
	t.applyGain(now)
}

// gainTick feeds the probe and the minor-lender rule one tick's counters
// and acts on their answers.
func (t *Transfer) gainTick(now time.Time) {
	t.mu.Lock()
	stats := t.s.Stats(now)
	received, size := t.s.Progress()
	t.mu.Unlock()
	obs := t.gainObs[:0]
	for _, st := range stats {
		if st.Copy || t.copies[st.Peer] {
			continue
		}
		p := participantOf(string(st.Peer))
		i := slices.IndexFunc(obs, func(o gainObs) bool { return o.id == p })
		if i < 0 {
			obs = append(obs, gainObs{id: p})
			i = len(obs) - 1
		}
		obs[i].bytes += st.Bytes
		if st.Present && st.RetryAt.IsZero() {
			obs[i].usable = true
		}
	}
	t.gainObs = obs
	// The probe judges how long the download has left by the origin
	// routes' rate; copies on the LAN take their share of what is left
	// (the share of the recent rate they deliver), so a download a fast
	// copy will end in seconds is not tested.
	left := size - received
	var all, origin float64
	for _, st := range stats {
		if st.InFlight == 0 {
			continue // an idle source keeps its last rate; it delivers nothing now
		}
		all += st.Rate
		if !st.Copy && !t.copies[st.Peer] {
			origin += st.Rate
		}
	}
	if all > 0 {
		left = int64(float64(left) * origin / all)
	}
	for _, n := range t.gain.Observe(now, left, obs) {
		t.log.Info("notice", "text", n)
		t.cfg.Reporter.Notice(n)
	}
	mobs := t.minorObs[:0]
	for _, st := range stats {
		isCopy := st.Copy || t.copies[st.Peer]
		p := string(st.Peer)
		if !isCopy {
			p = participantOf(p)
		}
		mobs = append(mobs, minorObs{part: p, lender: !isCopy && p != SelfID,
			in: st.Present && st.InFlight > 0, rate: st.Rate, bytes: st.Bytes})
	}
	t.minorObs = mobs
	t.minor.Observe(now, mobs)
	t.applyGain(now)
}

// applyGain takes out of the scheduler every origin route whose
// participant is kept out (keptOut), as RemoveSource would (its
// unreceived rest returns to the pool, its requests are cancelled) but
// keeping the source, and puts back every route no longer kept out.
func (t *Transfer) applyGain(now time.Time) {
	ids := make([]sched.PeerID, 0, len(t.sources))
	for id := range t.sources {
		if !t.copies[id] {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		out := t.keptOut(participantOf(string(id)))
		switch {
		case out && !t.parked[id]:
			t.parked[id] = true
			t.mu.Lock()
			t.s.RemovePeer(id, now)
			t.mu.Unlock()
			for _, w := range t.workers {
				if w.a.Peer == id {
					w.orphan = true
					w.cancel()
				}
			}
			t.log.Debug("route paused", "source", t.name(id))
		case !out && t.parked[id]:
			delete(t.parked, id)
			t.mu.Lock()
			t.s.AddPeer(id, now)
			t.mu.Unlock()
			t.log.Debug("route back", "source", t.name(id))
		}
	}
}
