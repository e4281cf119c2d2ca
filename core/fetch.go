package core

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/dragonload/dragonload/core/origin"
	"github.com/dragonload/dragonload/core/sched"
	"github.com/dragonload/dragonload/core/span"
	"github.com/dragonload/dragonload/core/store"
	"github.com/dragonload/dragonload/quicwire"
)

// Tunables of a running download.
const (
	progressEvery = 100 * time.Millisecond // front ends draw at most ~10 times a second
	commitEvery   = time.Second            // durable progress of unfinished chunks
	probeAttempts = 4
	rateWindow    = 3 * time.Second
)

// fetch probes the origin, opens (or resumes) the partial file, fetches
// every byte from the pool, verifies and moves the file into place.
func (d *download) fetch(ctx context.Context) error {
	e := d.e
	d.setState(StateProbing)
	info, err := e.probe(ctx, d.link.URL, d.link.Headers)
	if err != nil {
		return err
	}
	size := info.Identity.Size
	if d.link.Size > 0 && size >= 0 && size != d.link.Size {
		return fmt.Errorf("the origin's file is %d bytes but the link says %d: refusing a file that is not the one linked", size, d.link.Size)
	}
	name := d.link.Name
	if name == "" {
		name = info.Name
	}
	meta := store.Meta{
		URL: d.link.URL, Size: size, ETag: info.Identity.ETag,
		LastModified: info.Identity.LastModified, SHA256: d.link.SHA256, Name: name,
	}
	d.mu.Lock()
	d.name, d.size, d.meta = name, size, meta
	d.mu.Unlock()

	pooled := info.Ranges && size > 0
	p, resumed, err := store.Open(d.outDir, name, meta)
	if err == nil && resumed && !pooled {
		// An origin that ignores Range cannot continue where we stopped.
		if err = p.Discard(); err == nil {
			p, _, err = store.Open(d.outDir, name, meta)
		}
	}
	if err != nil {
		return err
	}
	defer p.Close()
	log := e.log.With("id", d.id, "name", name)
	if resumed && pooled {
		have := p.Done()
		log.Info("resuming", "have", have.Size(), "size", size)
	}
	if why := p.RestartReason(); why != "" {
		log.Warn("starting over", "why", why)
	}
	if !pooled {
		log.Info("the origin does not serve ranges: downloading in one stream")
		err = d.fetchSingle(ctx, p, info)
	} else {
		r := &runner{e: e, d: d, p: p, info: info, hdr: d.link.Headers, log: log}
		err = r.loop(ctx)
	}
	if err != nil {
		if errors.Is(context.Cause(ctx), errCanceled) {
			p.Discard()
		}
		if errors.Is(err, errVersionChanged) {
			p.Discard()
		}
		return err
	}
	d.setState(StateVerifying)
	path, err := p.Finish()
	if err != nil {
		return err
	}
	d.mu.Lock()
	d.path = path
	d.mu.Unlock()
	log.Info("download complete", "path", path)
	return nil
}

// probe asks the origin about the file, retrying what may pass (resets,
// 5xx, 429 after its Retry-After) a bounded number of times.
func (e *Engine) probe(ctx context.Context, url string, hdr map[string]string) (origin.Info, error) {
	backoff := time.Second
	for attempt := 1; ; attempt++ {
		info, err := e.origin.Probe(ctx, url, hdr)
		if err == nil {
			return info, nil
		}
		if !origin.Retryable(err) || attempt >= probeAttempts || ctx.Err() != nil {
			return origin.Info{}, err
		}
		wait := max(backoff, origin.RetryAfter(err))
		e.log.Info("origin probe failed, retrying", "url", url, "err", err, "in", wait)
		if !sleep(ctx, wait) {
			return origin.Info{}, context.Cause(ctx)
		}
		backoff *= 2
	}
}

// fetchSingle downloads from an origin that ignores Range: one stream from
// the requester, from the first byte (such an origin cannot resume).
func (d *download) fetchSingle(ctx context.Context, p *store.Partial, info origin.Info) error {
	d.setState(StateDownloading)
	prog := newProgress(d)
	var off int64
	lastCommit := time.Now()
	err := d.e.origin.Whole(ctx, info.URL, d.link.Headers, info.Identity, func(b []byte) error {
		if _, err := p.WriteAt(b, off); err != nil {
			return &writeError{dir: d.outDir, err: err}
		}
		off += int64(len(b))
		now := time.Now()
		prog.maybePublish(now, off)
		if now.Sub(lastCommit) >= commitEvery {
			lastCommit = now
			return p.Commit([]span.Range{{Off: 0, End: off}})
		}
		return nil
	})
	if err != nil {
		return err
	}
	if off > 0 {
		if err := p.Commit([]span.Range{{Off: 0, End: off}}); err != nil {
			return err
		}
	}
	d.mu.Lock()
	d.size = off
	d.mu.Unlock()
	prog.publish(time.Now(), off, prog.selfShare(off))
	d.e.bus.publish(ChunkLanded{ID: d.id, Offset: 0, Length: off, Peer: SelfPeer})
	return nil
}

// runner fetches one file from the pool. The loop goroutine owns the
// scheduling decisions; workers (one per outstanding request) stream bytes
// straight into the partial file. Scheduler and pending-journal state are
// shared under mu because a split can shorten a worker's range while its
// bytes are arriving.
type runner struct {
	e    *Engine
	d    *download
	p    *store.Partial
	info origin.Info
	hdr  map[string]string
	log  *slog.Logger

	mu      sync.Mutex
	s       *sched.Scheduler
	pending map[uint64]*ChunkLanded // per assignment: written, not yet in the journal
	written int64

	results    chan result
	workers    map[uint64]*worker
	peers      map[sched.PeerID]*quicwire.Peer // nil value: this node itself
	benched    map[sched.PeerID]string         // not used for this file, and why
	lastCommit time.Time
	prog       *progress
}

type worker struct {
	a      sched.Assignment
	cancel context.CancelFunc
	orphan bool // its peer left: the scheduler already took its range back
}

type result struct {
	a   sched.Assignment
	err error
}

// writeError marks a local write failure (full disk): fatal for the
// download, never retried on another peer.
type writeError struct {
	dir string
	err error
}

func (w *writeError) Error() string {
	return fmt.Sprintf("cannot write the partial file in %s: %v", w.dir, w.err)
}
func (w *writeError) Unwrap() error { return w.err }

// errSplit ends a worker whose range was shortened by an end-game split.
var errSplit = errors.New("range handed to a faster peer")

func (r *runner) loop(ctx context.Context) error {
	events, unsubscribe := r.e.Subscribe()
	defer unsubscribe()

	now := time.Now()
	done := r.p.Done()
	r.written = done.Size()
	r.s = sched.New(sched.Config{Size: r.info.Identity.Size, Done: done.Ranges()}, now)
	r.results = make(chan result, 64)
	r.pending = make(map[uint64]*ChunkLanded)
	r.workers = make(map[uint64]*worker)
	r.peers = make(map[sched.PeerID]*quicwire.Peer)
	r.benched = make(map[sched.PeerID]string)
	r.prog = newProgress(r.d)
	r.lastCommit = now
	r.addPeer(SelfPeer, nil)
	for _, p := range r.e.peers.ready() {
		r.addPeer(sched.PeerID(p.ID().String()), p)
	}
	r.d.setState(StateDownloading)

	wctx, cancelWorkers := context.WithCancel(ctx)
	defer func() {
		cancelWorkers()
		r.drain()
		if err := r.commit(); err != nil {
			r.log.Error("cannot record progress", "err", err)
		}
	}()

	tick := time.NewTicker(progressEvery)
	defer tick.Stop()
	wake := time.NewTimer(time.Hour)
	defer wake.Stop()
	for {
		r.mu.Lock()
		finished := r.s.Finished()
		r.mu.Unlock()
		if finished && len(r.workers) == 0 {
			break
		}
		r.assign(wctx)
		r.mu.Lock()
		if at, ok := r.s.Wake(time.Now()); ok {
			wake.Reset(max(time.Until(at), time.Millisecond))
		}
		r.mu.Unlock()
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case res := <-r.results:
			if err := r.handle(res); err != nil {
				return err
			}
		case ev, ok := <-events:
			if !ok {
				return errEngineClosed
			}
			r.peerEvent(ev)
		case now := <-tick.C:
			if err := r.abortStalled(now); err != nil {
				return err
			}
			if now.Sub(r.lastCommit) >= commitEvery {
				if err := r.commit(); err != nil {
					return err
				}
			}
			r.publishProgress(now)
		case <-wake.C:
		}
	}
	if err := r.commit(); err != nil {
		return err
	}
	r.publishProgress(time.Now())
	return nil
}

func (r *runner) addPeer(id sched.PeerID, p *quicwire.Peer) {
	if _, ok := r.peers[id]; ok {
		return
	}
	if _, ok := r.benched[id]; ok {
		return
	}
	r.peers[id] = p
	r.mu.Lock()
	r.s.AddPeer(id, time.Now())
	r.mu.Unlock()
	if p != nil {
		r.log.Info("peer joins the download", "peer", p.ID().Short(), "name", p.Name())
	}
}

// removePeer takes a peer out of this download; its unfinished ranges go
// back to the pool at once and its requests are cancelled.
func (r *runner) removePeer(id sched.PeerID, why string) {
	if _, ok := r.peers[id]; !ok {
		return
	}
	delete(r.peers, id)
	r.mu.Lock()
	r.s.RemovePeer(id, time.Now())
	r.mu.Unlock()
	for _, w := range r.workers {
		if w.a.Peer == id {
			w.orphan = true
			w.cancel()
		}
	}
	r.log.Info("peer leaves the download", "peer", string(id), "why", why)
}

func (r *runner) assign(ctx context.Context) {
	now := time.Now()
	for id, p := range r.peers {
		for {
			r.mu.Lock()
			a, ok := r.s.Next(id, now)
			r.mu.Unlock()
			if !ok {
				break
			}
			r.log.Debug("request", "peer", string(id), "off", a.Range.Off, "len", a.Range.Len())
			r.cutIfDead(a.From)
			wctx, cancel := context.WithCancel(ctx)
			r.workers[a.ID] = &worker{a: a, cancel: cancel}
			go r.work(wctx, a, p)
		}
	}
}

// cutIfDead cancels the request of assignment id at once when a split left
// it nothing more to fetch, so its lender stops pulling from the origin.
// A request that keeps some bytes stops by itself at its new end.
func (r *runner) cutIfDead(id uint64) {
	if id == 0 {
		return
	}
	r.mu.Lock()
	dead := r.s.End(id) < 0
	r.mu.Unlock()
	if w, ok := r.workers[id]; ok && dead {
		w.orphan = true
		w.cancel()
	}
}

// work fetches one assignment, from the origin itself (p == nil) or through
// a peer, writing bytes into place as they arrive.
func (r *runner) work(ctx context.Context, a sched.Assignment, p *quicwire.Peer) {
	off := a.Range.Off
	sink := func(b []byte) error {
		r.mu.Lock()
		n := max(min(int64(len(b)), r.s.End(a.ID)-off), 0)
		if n > 0 {
			if _, err := r.p.WriteAt(b[:n], off); err != nil {
				r.mu.Unlock()
				return &writeError{dir: r.d.outDir, err: err}
			}
			r.landed(a.ID, off, n, string(a.Peer))
			r.written += n
		}
		stop := r.s.Received(a.ID, n, time.Now())
		off += n
		r.mu.Unlock()
		if p != nil && n > 0 {
			r.e.peers.received(string(a.Peer), int(n))
		}
		if stop && off < a.Range.End {
			return errSplit
		}
		return nil
	}
	var err error
	if p == nil {
		err = r.e.origin.Range(ctx, r.info.URL, r.hdr, r.info.Identity, a.Range.Off, a.Range.Len(), sink)
	} else {
		err = p.Fetch(ctx, quicwire.FetchRequest{
			URL: r.info.URL, Headers: r.hdr, Offset: a.Range.Off, Length: a.Range.Len(),
			Size: r.info.Identity.Size, ETag: r.info.Identity.ETag, LastModified: r.info.Identity.LastModified,
		}, sink)
	}
	if errors.Is(err, errSplit) {
		err = nil
	}
	r.results <- result{a: a, err: err}
}

// landed records written bytes for the next journal commit: one growing
// record per assignment, since each worker writes one contiguous run.
func (r *runner) landed(id uint64, off, n int64, peer string) {
	if c := r.pending[id]; c != nil && c.Offset+c.Length == off {
		c.Length += n
		return
	}
	if c := r.pending[id]; c != nil {
		// Cannot happen while workers write in order; keep both rather than lose one.
		r.pending[id^(1<<63)] = c
	}
	r.pending[id] = &ChunkLanded{ID: r.d.id, Offset: off, Length: n, Peer: peer}
}

// handle acts on a finished request.
func (r *runner) handle(res result) error {
	w := r.workers[res.a.ID]
	delete(r.workers, res.a.ID)
	w.cancel()
	if w.orphan {
		return nil
	}
	now := time.Now()
	if res.err == nil {
		r.mu.Lock()
		err := r.s.Complete(res.a.ID, now)
		r.mu.Unlock()
		if err != nil {
			return fmt.Errorf("giving up after repeated failures: %w", err)
		}
		// Journal at once: a crash from here on must not fetch this chunk again.
		return r.commit()
	}
	var we *writeError
	if errors.As(res.err, &we) {
		return we
	}
	r.mu.Lock()
	live := r.s.End(res.a.ID) >= 0
	r.mu.Unlock()
	if !live {
		// Split away, stalled or cut: the scheduler already moved its
		// bytes elsewhere, so how this request ended no longer matters.
		return nil
	}
	if isIdentityChange(res.err) {
		return errVersionChanged
	}
	peer := res.a.Peer
	retryAfter := origin.RetryAfter(res.err)
	var re *quicwire.RemoteError
	switch {
	case peer == SelfPeer && urlRefused(res.err):
		return &urlExpiredError{err: res.err}
	case peer == SelfPeer && !origin.Retryable(res.err) && !errors.Is(res.err, origin.ErrRangeMismatch) && !errors.Is(res.err, origin.ErrNoRange):
		return fmt.Errorf("fetching bytes %d-%d failed: %w", res.a.Range.Off, res.a.Range.End-1, res.err)
	case errors.As(res.err, &re):
		retryAfter = re.RetryAfter
		switch {
		case re.Code == quicwire.NotLending, re.Code == quicwire.Forbidden, re.Code == quicwire.BadRequest,
			re.Code == quicwire.OriginStatus && re.HTTPStatus >= 400 && re.HTTPStatus < 500 && re.HTTPStatus != 408 && re.HTTPStatus != 429:
			r.failAssignment(res, retryAfter, now)
			r.benched[peer] = re.Error()
			r.removePeer(peer, re.Error())
			return nil
		case re.Code == quicwire.Busy:
			retryAfter = max(retryAfter, time.Second)
		}
	}
	if peer != SelfPeer && r.e.peers.get(string(peer)) == nil {
		// The peer left (its connection was closed before PeerLost reached
		// this loop): a departure, not a failure of these bytes.
		r.removePeer(peer, "connection closed")
		return nil
	}
	r.log.Info("chunk failed", "peer", string(peer), "off", res.a.Range.Off, "err", res.err)
	return r.failAssignment(res, retryAfter, now)
}

func (r *runner) failAssignment(res result, retryAfter time.Duration, now time.Time) error {
	r.mu.Lock()
	err := r.s.Fail(res.a.ID, res.err, retryAfter, now)
	r.mu.Unlock()
	if err != nil {
		return fmt.Errorf("giving up after repeated failures: %w", err)
	}
	return nil
}

// urlExpiredError says the URL the probe was redirected to stopped working
// mid-download (401, 403 or 410): signed CDN links expire minutes after they
// are issued. The download asks the original URL again and resumes.
type urlExpiredError struct{ err error }

func (u *urlExpiredError) Error() string { return u.err.Error() }
func (u *urlExpiredError) Unwrap() error { return u.err }

func urlRefused(err error) bool {
	var se *origin.StatusError
	return errors.As(err, &se) && (se.Code == 401 || se.Code == 403 || se.Code == 410)
}

func isIdentityChange(err error) bool {
	if errors.Is(err, origin.ErrIdentityChanged) {
		return true
	}
	var re *quicwire.RemoteError
	return errors.As(err, &re) && re.Code == quicwire.IdentityChanged
}

// peerEvent lets peers join and leave while the download runs.
func (r *runner) peerEvent(ev Event) {
	switch ev := ev.(type) {
	case PeerReady:
		if ev.Peer.Lending {
			if p := r.e.peers.get(ev.Peer.ID); p != nil {
				r.addPeer(sched.PeerID(ev.Peer.ID), p)
			}
		}
	case PeerUpdated:
		id := sched.PeerID(ev.Peer.ID)
		if !ev.Peer.Lending {
			r.removePeer(id, "stopped lending")
			return
		}
		if p := r.e.peers.get(ev.Peer.ID); p != nil {
			r.addPeer(id, p) // no-op when already in or benched
		}
	case PeerLost:
		r.removePeer(sched.PeerID(ev.Peer.ID), "lost: "+ev.Reason)
	}
}

// abortStalled cancels the requests of peers that hold work and deliver
// nothing; the scheduler has already put their ranges back in the pool.
func (r *runner) abortStalled(now time.Time) error {
	r.mu.Lock()
	stalled, err := r.s.Tick(now)
	r.mu.Unlock()
	for _, id := range stalled {
		if w, ok := r.workers[id]; ok {
			r.log.Info("request stalled; its range goes to other peers", "peer", string(w.a.Peer), "off", w.a.Range.Off)
			w.orphan = true
			w.cancel()
		}
	}
	if err != nil {
		return fmt.Errorf("giving up after repeated failures: %w", err)
	}
	return nil
}

// drain waits for every worker to report after they were cancelled.
func (r *runner) drain() {
	for len(r.workers) > 0 {
		res := <-r.results
		delete(r.workers, res.a.ID)
	}
}

// commit makes written bytes durable, records them in the journal, and
// only then reports them as landed.
func (r *runner) commit() error {
	r.lastCommit = time.Now()
	r.mu.Lock()
	batch := make([]ChunkLanded, 0, len(r.pending))
	for _, c := range r.pending {
		batch = append(batch, *c)
	}
	clear(r.pending)
	r.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	slices.SortFunc(batch, func(a, b ChunkLanded) int { return cmp.Compare(a.Offset, b.Offset) })
	ranges := make([]span.Range, len(batch))
	for i, c := range batch {
		ranges[i] = span.Range{Off: c.Offset, End: c.Offset + c.Length}
	}
	if err := r.p.Commit(ranges); err != nil {
		return &writeError{dir: r.d.outDir, err: err}
	}
	r.d.mu.Lock()
	for _, c := range batch {
		r.d.chunks = appendChunk(r.d.chunks, c)
	}
	r.d.mu.Unlock()
	for _, c := range batch {
		r.e.bus.publish(c)
	}
	return nil
}

// appendChunk adds c to the chunk map, extending the last entry when the
// same peer continues it, so the map stays small for large files.
func appendChunk(chunks []ChunkLanded, c ChunkLanded) []ChunkLanded {
	for i := len(chunks) - 1; i >= 0 && i >= len(chunks)-8; i-- {
		if last := &chunks[i]; last.Peer == c.Peer && last.Offset+last.Length == c.Offset {
			last.Length += c.Length
			return chunks
		}
	}
	return append(chunks, c)
}

func (r *runner) publishProgress(now time.Time) {
	r.mu.Lock()
	written := r.written
	stats := r.s.Stats(now)
	r.mu.Unlock()
	shares := make([]PeerShare, 0, len(stats))
	for _, st := range stats {
		name := r.e.Name()
		if p := r.peers[st.Peer]; p != nil {
			name = p.Name()
		} else if st.Peer != SelfPeer {
			name = string(st.Peer)
			if len(name) > 8 {
				name = name[:8]
			}
		}
		shares = append(shares, PeerShare{
			Peer: string(st.Peer), Name: name, Bytes: st.Bytes, Rate: st.Rate, InFlight: st.InFlight,
		})
	}
	r.prog.publish(now, written, shares)
}

// progress computes rate and ETA over a sliding window and publishes
// DownloadProgress, also keeping the download's snapshot current.
type progress struct {
	d       *download
	samples []sample
	last    time.Time
}

type sample struct {
	t time.Time
	n int64
}

func newProgress(d *download) *progress {
	return &progress{d: d}
}

// maybePublish reports progress of the single-stream path, where every byte
// comes from this node, at most every progressEvery.
func (pr *progress) maybePublish(now time.Time, written int64) {
	if now.Sub(pr.last) >= progressEvery {
		pr.publish(now, written, pr.selfShare(written))
	}
}

func (pr *progress) selfShare(written int64) []PeerShare {
	return []PeerShare{{Peer: SelfPeer, Name: pr.d.e.Name(), Bytes: written}}
}

func (pr *progress) publish(now time.Time, written int64, shares []PeerShare) {
	pr.last = now
	pr.samples = append(pr.samples, sample{now, written})
	for len(pr.samples) > 2 && now.Sub(pr.samples[0].t) > rateWindow {
		pr.samples = pr.samples[1:]
	}
	var rate float64
	if first := pr.samples[0]; now.After(first.t) {
		rate = float64(written-first.n) / now.Sub(first.t).Seconds()
	}
	d := pr.d
	d.mu.Lock()
	size := d.size
	d.done, d.shares = written, shares
	name := d.name
	d.mu.Unlock()
	var eta time.Duration
	if rate > 0 && size > 0 {
		eta = time.Duration(float64(size-written) / rate * float64(time.Second))
	}
	d.e.bus.publish(DownloadProgress{ID: d.id, Name: name, Size: size, Done: written, Rate: rate, ETA: eta, Peers: shares})
}
