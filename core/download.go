package core

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/dragonload/dragonload/core/link"
	"github.com/dragonload/dragonload/core/store"
	"github.com/dragonload/dragonload/core/transfer"
	"github.com/dragonload/dragonload/core/watch"
)

// Add queues a download of source: an http(s) URL, a dragon:// link or the
// path of a .dragon file. outDir "" means the configured output folder.
// Adding what is already being downloaded (same URL, folder and name)
// returns the existing download instead of racing it for the same partial
// file.
func (e *Engine) Add(source, outDir string) (DownloadID, error) {
	l, err := ParseSource(source)
	if err != nil {
		return "", err
	}
	return e.add(l, source, outDir, nil)
}

// AddLink queues a download of a parsed link.
func (e *Engine) AddLink(l link.Link, outDir string) (DownloadID, error) {
	if err := l.Validate(); err != nil {
		return "", err
	}
	return e.add(l, l.URL, outDir, nil)
}

// Pause stops a download; its partial file and journal stay for Resume.
func (e *Engine) Pause(id DownloadID) error {
	d, err := e.download(id)
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case d.state.Final():
		return fmt.Errorf("download %s is %s and cannot be paused", id, d.state)
	case d.cancel != nil:
		d.cancel(errPaused)
	default:
		d.setStateLocked(StatePaused, nil)
	}
	return nil
}

// Resume queues a paused or failed download again.
func (e *Engine) Resume(id DownloadID) error {
	d, err := e.download(id)
	if err != nil {
		return err
	}
	d.mu.Lock()
	if d.state != StatePaused && d.state != StateFailed {
		// Read under the lock: run() clears cancel when the download ends.
		st, running := d.state, d.cancel != nil
		d.mu.Unlock()
		if st == StateQueued || running {
			return nil
		}
		return fmt.Errorf("download %s is %s and cannot be resumed", id, st)
	}
	d.setStateLocked(StateQueued, nil)
	d.mu.Unlock()
	e.dispatch()
	return nil
}

// Cancel stops a download and deletes its partial file and journal.
func (e *Engine) Cancel(id DownloadID) error {
	d, err := e.download(id)
	if err != nil {
		return err
	}
	d.mu.Lock()
	if d.state.Final() {
		d.mu.Unlock()
		return nil
	}
	if d.cancel != nil {
		d.cancel(errCanceled)
		d.mu.Unlock()
		return nil
	}
	name := d.name
	d.setStateLocked(StateCanceled, nil)
	d.mu.Unlock()
	d.removePartial(name)
	d.notifyWatcher(StateCanceled, "", errCanceled)
	return nil
}

// PauseAll pauses every download that is not finished.
func (e *Engine) PauseAll() {
	for _, d := range e.list() {
		e.Pause(d.id)
	}
}

// ResumeAll resumes every paused download.
func (e *Engine) ResumeAll() {
	for _, d := range e.list() {
		d.mu.Lock()
		paused := d.state == StatePaused
		d.mu.Unlock()
		if paused {
			e.Resume(d.id)
		}
	}
}

// Downloads returns a snapshot of every download, oldest first.
func (e *Engine) Downloads() []DownloadSnapshot {
	var out []DownloadSnapshot
	for _, d := range e.list() {
		out = append(out, d.snapshot())
	}
	return out
}

// ShareLink returns a dragon:// link that lets another machine fetch the
// same file with the same checks.
func (e *Engine) ShareLink(id DownloadID) (string, error) {
	d, err := e.download(id)
	if err != nil {
		return "", err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	l := d.link
	if l.Name == "" {
		l.Name = d.name
	}
	if l.Size <= 0 && d.size > 0 {
		l.Size = d.size
	}
	return l.URI(), nil
}

var (
	errPaused   = errors.New("paused")
	errCanceled = errors.New("canceled by the user")
)

// download is one entry of the engine's list. Its fields are guarded by mu;
// the running fetch owns the partial file.
type download struct {
	e       *Engine
	id      DownloadID
	source  string
	link    link.Link
	outDir  string
	watcher *watch.Watcher

	// jobs are the link files in the watched folder this download answers;
	// two link files may ask for the same file. Guarded by mu.
	jobs []watch.Job

	mu     sync.Mutex
	state  State
	err    error
	path   string
	name   string
	size   int64
	done   int64
	shares []PeerShare
	chunks []ChunkLanded
	names  map[string]string // peer id → display name, saved with chunks
	cancel context.CancelCauseFunc
	// waitUntil is when the server asked to be asked again, while the
	// download honours a Retry-After; zero otherwise.
	waitUntil time.Time
	// For the download list on disk.
	added, ended time.Time
	note         string // the last notice about it
	// share is the running transfer's partial file, served to members
	// downloading the same file; nil when none runs.
	share *activeShare
}

func (d *download) setShare(a *activeShare) {
	d.mu.Lock()
	d.share = a
	d.mu.Unlock()
}

func (e *Engine) add(l link.Link, source, outDir string, job *watch.Job) (DownloadID, error) {
	if e.closed.Load() {
		return "", errEngineClosed
	}
	if outDir == "" {
		outDir = e.OutDir()
	}
	abs, err := usableDir(outDir)
	if err != nil {
		return "", err
	}
	e.mu.Lock()
	for _, id := range e.order {
		d := e.downloads[id]
		d.mu.Lock()
		// The same file: a newly signed URL for it (another query string)
		// joins the download and brings the fresh link along.
		same := !d.state.Final() && sameFile(d.link, l) && d.outDir == abs && d.link.Name == l.Name
		if same && d.link.URL != l.URL {
			d.link = l
		}
		if same && job != nil {
			d.jobs = append(d.jobs, *job)
			d.watcher = e.watcher
		}
		d.mu.Unlock()
		if same {
			e.mu.Unlock()
			return id, nil
		}
	}
	d := &download{
		e: e, id: newDownloadID(), source: source, link: l, outDir: abs,
		name: l.Name, size: l.Size, state: StateQueued, added: time.Now(),
	}
	if d.size <= 0 {
		d.size = -1
	}
	if job != nil {
		d.jobs = []watch.Job{*job}
		d.watcher = e.watcher
	}
	e.downloads[d.id] = d
	e.order = append(e.order, d.id)
	// Announced before e.mu is let go: once listed, a dispatch elsewhere
	// may start it at once, and its first state must follow these.
	d.mu.Lock()
	d.recordLocked(true)
	e.bus.publish(DownloadAdded{ID: d.id, Source: source, Name: d.name, OutDir: abs})
	e.bus.publish(DownloadStateChanged{ID: d.id, State: StateQueued})
	d.mu.Unlock()
	e.mu.Unlock()
	e.log.Info("download added", "id", d.id, "url", l.URL, "out", abs)
	e.dispatch()
	return d.id, nil
}

// dispatch starts queued downloads while fewer than MaxDownloads run.
func (e *Engine) dispatch() {
	if e.closed.Load() {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	running := 0
	var queued []*download
	for _, id := range e.order {
		d := e.downloads[id]
		d.mu.Lock()
		switch {
		case d.cancel != nil:
			running++
		case d.state == StateQueued:
			queued = append(queued, d)
		}
		d.mu.Unlock()
	}
	for _, d := range queued {
		if running >= max(e.limits.MaxDownloads, 1) {
			return
		}
		running++
		ctx, cancel := context.WithCancelCause(e.ctx)
		d.mu.Lock()
		d.cancel = cancel
		d.mu.Unlock()
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			d.run(ctx)
		}()
	}
}

// run drives one download to an end state. A file that changes on the
// server starts over once, from a fresh probe, so no bytes of two versions
// are mixed; a second change fails the download.
func (d *download) run(ctx context.Context) {
	err := d.fetch(ctx)
	var ce *transfer.ChangedError
	if ctx.Err() == nil && errors.As(err, &ce) {
		d.e.log.Warn("file changed on the server; starting over", "id", d.id, "url", d.currentLink().URL, "why", ce.Why)
		d.notify(fmt.Sprintf("%s changed on the server during the download (%s); starting over so no bytes of two versions are mixed.", d.displayName(), ce.Why))
		err = d.fetch(ctx)
		if ctx.Err() == nil && errors.As(err, &ce) {
			err = fmt.Errorf("the file keeps changing on the server (%s); try again later", ce.Why)
		}
	}
	cause := context.Cause(ctx)
	if errors.Is(cause, errCanceled) {
		// Canceled before its partial file was open (while probing, say):
		// the files an earlier run left go before the state says canceled.
		d.mu.Lock()
		name := d.name
		d.mu.Unlock()
		d.removePartial(name)
	}
	d.mu.Lock()
	d.cancel = nil
	d.waitUntil = time.Time{}
	var final State
	switch {
	case err == nil:
		final = StateDone
		d.setStateLocked(StateDone, nil)
	case errors.Is(cause, errPaused):
		d.setStateLocked(StatePaused, nil)
	case errors.Is(cause, errCanceled):
		final = StateCanceled
		d.setStateLocked(StateCanceled, nil)
	case errors.Is(cause, errEngineClosed):
		// Left as it is: the partial file resumes on the next start.
	default:
		final = StateFailed
		d.setStateLocked(StateFailed, err)
	}
	path := d.path
	d.mu.Unlock()
	if final != 0 {
		d.notifyWatcher(final, path, err)
		d.e.prune()
	}
	d.e.dispatch()
}

func (d *download) notifyWatcher(st State, path string, err error) {
	d.mu.Lock()
	jobs, w := d.jobs, d.watcher
	d.mu.Unlock()
	if w == nil {
		return
	}
	for _, job := range jobs {
		var werr error
		switch st {
		case StateDone:
			werr = w.Done(job, path)
		case StateFailed, StateCanceled:
			werr = w.Failed(job, err)
		}
		if werr != nil {
			d.e.log.Error("cannot update the watched folder", "link", job.Path, "err", werr)
		}
	}
}

func (d *download) stopRun(cause error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cancel != nil {
		d.cancel(cause)
	}
}

// setStateLocked records and announces a state; d.mu must be held.
func (d *download) setStateLocked(st State, err error) {
	d.state, d.err = st, err
	switch {
	case !st.Final():
		d.ended = time.Time{} // a retried download runs again
	case d.ended.IsZero():
		d.ended = time.Now()
	}
	d.e.bus.publish(DownloadStateChanged{ID: d.id, State: st, Err: err, Path: d.path})
	d.recordLocked(false)
}

// removePartial deletes what a canceled download left in its folder.
func (d *download) removePartial(name string) {
	if name == "" {
		return
	}
	if err := store.Remove(d.outDir, name); err != nil {
		d.e.log.Error("cannot remove a canceled download's partial file", "id", d.id, "err", err)
	}
}

// currentLink is the download's link: a newly signed URL for the same file
// added while it runs replaces it (see add).
func (d *download) currentLink() link.Link {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.link
}

// notify tells the user something about this download: a Notice now, and
// the snapshot's Note for a front end that starts later.
func (d *download) notify(text string) {
	d.mu.Lock()
	d.note = text
	d.mu.Unlock()
	d.e.bus.publish(Notice{Level: "warn", Download: d.id, Text: text})
}

func (d *download) setState(st State) {
	d.mu.Lock()
	d.setStateLocked(st, nil)
	d.mu.Unlock()
}

func (d *download) displayName() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.name != "" {
		return d.name
	}
	return d.link.URL
}

func (d *download) snapshot() DownloadSnapshot {
	d.mu.Lock()
	defer d.mu.Unlock()
	return DownloadSnapshot{
		ID: d.id, Source: d.source, Name: d.name, OutDir: d.outDir,
		State: d.state, Err: d.err, Path: d.path, Size: d.size, Done: d.done,
		Peers: slices.Clone(d.shares), Chunks: cloneChunks(d.chunks), Names: d.chunkNamesLocked(), WaitUntil: d.waitUntil,
		Added: d.added, Ended: d.ended, Note: d.note,
	}
}

func (e *Engine) download(id DownloadID) (*download, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	d, ok := e.downloads[id]
	if !ok {
		return nil, fmt.Errorf("no download with id %q", id)
	}
	return d, nil
}

func (e *Engine) list() []*download {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]*download, 0, len(e.order))
	for _, id := range e.order {
		out = append(out, e.downloads[id])
	}
	return out
}

// sameFile reports whether two links name the same file: the same place
// at the origin, or (without an origin) the same SHA-256.
func sameFile(a, b link.Link) bool {
	if !a.HasOrigin() || !b.HasOrigin() {
		return a.SHA256 != "" && a.SHA256 == b.SHA256
	}
	return store.Place(a.URL) == store.Place(b.URL)
}
