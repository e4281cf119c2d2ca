package core

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/dragonload/dragonload/core/link"
	"github.com/dragonload/dragonload/core/origin"
	"github.com/dragonload/dragonload/core/sched"
	"github.com/dragonload/dragonload/core/span"
	"github.com/dragonload/dragonload/core/store"
	"github.com/dragonload/dragonload/core/transfer"
)

// Tunables of a running download.
const (
	progressEvery = 100 * time.Millisecond // front ends draw at most ~10 times a second
	commitEvery   = time.Second            // durable progress of the single-stream path
	rateWindow    = 3 * time.Second
	probeBackoff  = time.Second // first pause between probe attempts; doubles up to probeMaxPause
	probeMaxPause = 30 * time.Second
	// The progress rule of a download from an origin without ranges.
	singleWindow  = 30 * time.Second
	singleMinRate = 1 << 10 // bytes per second
)

// fetch probes the origin, opens (or resumes) the partial file, fetches
// every byte from the pool, verifies and moves the file into place.
func (d *download) fetch(ctx context.Context) error {
	e := d.e
	d.setState(StateProbing)
	l := d.currentLink()
	// A link without a url names its file by SHA-256, size and name: the
	// bytes can only come from room members' copies.
	info := origin.Info{Identity: origin.Identity{Size: l.Size}, Name: l.Name, Ranges: true}
	first := &firstBytes{}
	defer first.close()
	if l.HasOrigin() {
		var err error
		if info, first.f, err = d.probe(ctx, l); err != nil {
			return err
		}
	}
	size := info.Identity.Size
	if l.Size > 0 && size >= 0 && size != l.Size {
		return fmt.Errorf("the origin's file is %d bytes but the link says %d: refusing a file that is not the one linked", size, l.Size)
	}
	name := l.Name
	if name == "" {
		name = info.Name
	}
	meta := store.Meta{
		URL: info.URL, Size: size, ETag: info.Identity.ETag, WeakETag: info.Identity.WeakETag,
		LastModified: info.Identity.LastModified, SHA256: l.SHA256, Name: name,
	}
	d.mu.Lock()
	d.name, d.size = name, size
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
	d.resetChunks(p.Done())
	log := e.log.With("id", d.id, "name", name)
	if resumed && pooled {
		have := p.Done()
		log.Info("resuming", "have", have.Size(), "size", size)
	}
	if why := p.RestartReason(); why != "" {
		log.Warn("starting over", "why", why)
		d.notify(fmt.Sprintf("%s starts over: %s.", name, why))
	}
	if !pooled {
		log.Info("the origin does not serve ranges: downloading in one stream")
		err = d.fetchSingle(ctx, p, info, l)
	} else {
		err = d.transfer(ctx, p, info, first, l, log)
	}
	if err != nil {
		var ce *transfer.ChangedError
		if errors.Is(context.Cause(ctx), errCanceled) || errors.As(err, &ce) {
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
	if sum, ok := p.Sum(); ok {
		e.indexFinished(d, path, sum, contentKeys(l.SHA256, l.URL, info.Identity))
	}
	return nil
}

// probe asks the origin about the file, with a request for the file's
// first chunk whose answer, unread, it also returns (nil when the origin
// serves no ranges). It retries what may pass (resets, 5xx, 429) until the
// give-up time has passed without an answer, honours a Retry-After up to
// transfer.DefaultMaxWait (the give-up time then counts from its end) and
// refuses a longer one at once.
func (d *download) probe(ctx context.Context, l link.Link) (origin.Info, *origin.First, error) {
	e := d.e
	giveUp := e.giveUp()
	deadline := time.Now().Add(giveUp)
	pause := probeBackoff
	// The scheduler's first chunk for this node, which it asks for before
	// any other source (see selfSource.first); only the first byte when a
	// partial of this URL waits in the folder, whose start is most likely
	// durable already.
	n := int64(sched.DefaultMinChunk)
	if _, ok := store.Find(d.outDir, l.URL); ok {
		n = 1
	}
	var last error
	for {
		pctx, cancel := context.WithDeadline(ctx, deadline)
		info, first, err := e.origin.Open(pctx, l.URL, l.Headers, n)
		timedOut := pctx.Err() != nil
		cancel()
		if err == nil {
			d.setWaiting(time.Time{})
			return info, first, nil
		}
		if ctx.Err() != nil {
			return origin.Info{}, nil, context.Cause(ctx)
		}
		if timedOut {
			if last == nil {
				return origin.Info{}, nil, fmt.Errorf("the server did not answer within %s", giveUp)
			}
			return origin.Info{}, nil, fmt.Errorf("no usable answer from the server for %s: %w", giveUp, last)
		}
		last = err
		if !origin.Retryable(err) {
			return origin.Info{}, nil, err
		}
		now := time.Now()
		wait := pause
		if at := origin.RetryAt(err); !at.IsZero() {
			if at.Sub(now) > transfer.DefaultMaxWait {
				return origin.Info{}, nil, &transfer.WaitError{Until: at, Max: transfer.DefaultMaxWait}
			}
			wait = max(at.Sub(now), 0)
			d.setWaiting(at)
			// A wait the server asked for does not count against it: the
			// give-up clock starts again when the wait is over.
			if later := at.Add(giveUp); later.After(deadline) {
				deadline = later
			}
		}
		if !now.Add(wait).Before(deadline) {
			return origin.Info{}, nil, fmt.Errorf("no usable answer from the server for %s: %w", giveUp, err)
		}
		e.log.Info("origin probe failed, retrying", "url", l.URL, "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return origin.Info{}, nil, context.Cause(ctx)
		case <-time.After(wait):
		}
		pause = min(pause*2, probeMaxPause)
	}
}

// transfer runs the pooled transfer: this node and every lending room peer
// fetch ranges until the file is whole.
func (d *download) transfer(ctx context.Context, p *store.Partial, info origin.Info, first *firstBytes, l link.Link, log *slog.Logger) error {
	e := d.e
	rep := &reporter{d: d, prog: newProgress(d)}
	done := p.Done()
	var reprobe func(ctx context.Context) (transfer.Pin, error)
	if l.HasOrigin() {
		reprobe = func(ctx context.Context) (transfer.Pin, error) {
			// The link may have been renewed (a newly signed URL added for
			// the same file) since the download started.
			l := d.currentLink()
			fresh, err := e.origin.Probe(ctx, l.URL, l.Headers)
			return transfer.Pin{URL: fresh.URL, Headers: fresh.Headers, Identity: fresh.Identity}, err
		}
	}
	tr := transfer.New(transfer.Config{
		// The headers the probe kept for the final URL: none when a
		// redirect went to another host or from https to http.
		Pin:      transfer.Pin{URL: info.URL, Headers: info.Headers, Identity: info.Identity},
		File:     p,
		Done:     done.Ranges(),
		Reporter: rep,
		Probe:    reprobe,
		Log:      log,
		GiveUp:   e.giveUp(),
		Checks:   e.spotChecks(),
		Limit:    e.dlRate.wrap,
		First:    first.span(),
	})
	me := selfSource{client: e.origin, name: e.Name(), link: l.URL, first: first}
	ps := newPairs(e, d, tr, me)
	rep.pairs = ps
	mctx, stopMirrors := context.WithCancel(ctx)
	defer stopMirrors()
	if l.HasOrigin() {
		tr.AddSource(me)
		ps.probeMirrors(mctx, l.Mirrors, info.Identity)
	}

	// Room members holding the same content serve it over the LAN; and
	// this download's own partial file serves those fetching it too.
	keys := contentKeys(l.SHA256, l.URL, info.Identity)
	cf := newCopyFinder(e, tr, keys, info.Identity.Size)
	cf.first(mctx)
	go cf.run(mctx)
	d.setShare(&activeShare{keys: keys, part: p, tr: tr, name: d.displayName(), size: info.Identity.Size, sum: cf.sum})
	defer d.setShare(nil)

	// Peers join and leave through the bus, like for every other subscriber.
	events, unsubscribe := e.Subscribe()
	if l.HasOrigin() {
		for _, peer := range e.peers.Ready() {
			ps.addLender(peer)
		}
	}
	stop := make(chan struct{})
	followed := make(chan struct{})
	go func() {
		defer close(followed)
		for {
			select {
			case <-stop:
				return
			case ev, ok := <-events:
				if !ok {
					return
				}
				if r, ok := ev.(PeerReady); ok {
					cf.newMember(mctx, r.Peer.ID)
				}
				if l.HasOrigin() {
					e.followPeer(ps, ev)
				}
			}
		}
	}()
	d.setState(StateDownloading)
	err := tr.Run(ctx)
	close(stop)
	unsubscribe()
	<-followed
	var stuck *transfer.StuckError
	if errors.As(err, &stuck) && !l.HasOrigin() && !cf.found() {
		return fmt.Errorf("no room member shares a copy of %s (sha256 %s), and the link gives no url to download it from", d.displayName(), l.SHA256)
	}
	if err == nil && l.SHA256 != "" && l.HasOrigin() {
		d.setState(StateVerifying)
		err = d.verifyAndBlame(ctx, p, tr, me, rep)
	}
	return err
}

// followPeer lets room peers join and leave a running transfer.
func (e *Engine) followPeer(ps *pairs, ev Event) {
	switch ev := ev.(type) {
	case PeerReady:
		if p, ok := e.peers.Get(ev.Peer.ID); ok && ev.Peer.Lending {
			ps.addLender(p)
		}
	case PeerUpdated:
		switch why := e.banned(ev.Peer.ID); {
		case why != "":
			ps.removeLender(ev.Peer.ID, "banned: "+why)
		case !ev.Peer.Lending:
			ps.removeLender(ev.Peer.ID, "stopped lending")
		default:
			if p, ok := e.peers.Get(ev.Peer.ID); ok {
				ps.addLender(p)
			}
		}
	case PeerLost:
		ps.removeLender(ev.Peer.ID, "lost: "+ev.Reason)
	case Resync:
		// Peer events were lost: add every lending peer again (a present
		// one is ignored). One that left fails its fetches as gone.
		for _, p := range e.peers.Ready() {
			ps.addLender(p)
		}
	}
}

// reporter turns what a transfer reports into the download's state and
// the engine's events.
type reporter struct {
	d     *download
	prog  *progress
	pairs *pairs
}

func (r *reporter) Progress(p transfer.Progress) {
	shares := make([]PeerShare, 0, len(p.Sources))
	for _, s := range p.Sources {
		shares = append(shares, PeerShare{Peer: s.ID, Name: s.Name, Bytes: s.Bytes, Rate: s.Rate, InFlight: s.InFlight, Copy: s.Copy})
	}
	r.prog.publish(time.Now(), p.Written, shares)
}

func (r *reporter) Durable(rg span.Range, source string) {
	c := ChunkLanded{ID: r.d.id, Offset: rg.Off, Length: rg.Len(), Peer: source}
	r.d.mu.Lock()
	r.d.landChunkLocked(c)
	r.d.mu.Unlock()
	r.d.e.bus.publish(c)
}

func (r *reporter) Notice(text string) {
	r.d.e.log.Warn(text, "id", r.d.id)
	r.d.notify(r.d.displayName() + ": " + text)
}

func (r *reporter) Waiting(until time.Time) { r.d.setWaiting(until) }

// Banned bans a lender caught by a spot check. A pair with a mirror is
// not a peer to ban: the mirror or the lender may be at fault, and only
// that pair leaves the transfer (its bytes are audited all the same).
func (r *reporter) Banned(id, name, why string) {
	id = strings.TrimPrefix(id, copyPrefix) // a member's copy: the member
	if r.pairs.isMirrorPair(id) {
		r.d.notify(fmt.Sprintf("%s: %s %s; that source is not used for this download.", r.d.displayName(), name, why))
		return
	}
	r.d.e.banPeer(id, name, why)
}

// setWaiting records (zero: clears) that the server asked to wait until a
// time, and tells subscribers at once.
func (d *download) setWaiting(until time.Time) {
	d.mu.Lock()
	if d.waitUntil.Equal(until) {
		d.mu.Unlock()
		return
	}
	d.waitUntil = until
	ev := DownloadProgress{ID: d.id, Name: d.name, Size: d.size, Done: d.done, Peers: d.shares, WaitUntil: until}
	d.mu.Unlock()
	d.e.bus.publish(ev)
}

// fetchSingle downloads from an origin that ignores Range: one stream from
// the requester, from the first byte (such an origin cannot resume).
func (d *download) fetchSingle(ctx context.Context, p *store.Partial, info origin.Info, l link.Link) error {
	d.setState(StateDownloading)
	prog := newProgress(d)
	var off int64
	lastCommit := time.Now()
	// A single stream has nobody to hand a trickle to; one that delivers
	// less than singleMinRate over a whole window is given up (the origin
	// client already gives up on one that goes silent).
	window, windowStart := time.Now(), int64(0)
	err := d.e.origin.Whole(ctx, info.URL, info.Headers, info.Identity, d.e.dlRate.wrap(ctx, func(b []byte) error {
		if _, err := p.WriteAt(b, off); err != nil {
			return &transfer.WriteError{Err: fmt.Errorf("cannot write the partial file in %s: %w", d.outDir, err)}
		}
		off += int64(len(b))
		now := time.Now()
		if el := now.Sub(window); el >= singleWindow {
			if got := off - windowStart; float64(got) < singleMinRate*el.Seconds() {
				return fmt.Errorf("the server sent only %d bytes in %s over the single stream it allows; giving up", got, el.Round(time.Second))
			}
			window, windowStart = now, off
		}
		prog.maybePublish(now, off)
		if now.Sub(lastCommit) >= commitEvery {
			lastCommit = now
			return p.Commit([]span.Range{{Off: 0, End: off}})
		}
		return nil
	}))
	if err != nil {
		return err
	}
	if off > 0 {
		if err := p.Commit([]span.Range{{Off: 0, End: off}}); err != nil {
			return err
		}
	}
	c := ChunkLanded{ID: d.id, Offset: 0, Length: off, Peer: SelfPeer}
	d.mu.Lock()
	d.size = off
	d.landChunkLocked(c)
	d.mu.Unlock()
	prog.publish(time.Now(), off, prog.selfShare(off))
	d.e.bus.publish(c)
	return nil
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
	name, wait := d.name, d.waitUntil
	d.mu.Unlock()
	var eta time.Duration
	if rate > 0 && size > 0 {
		eta = time.Duration(float64(size-written) / rate * float64(time.Second))
	}
	d.e.bus.publish(DownloadProgress{ID: d.id, Name: name, Size: size, Done: written, Rate: rate, ETA: eta, Peers: shares, WaitUntil: wait})
}
