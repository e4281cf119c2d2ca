package watch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/dragonload/dragonload/core/link"
	"github.com/dragonload/dragonload/core/osutil"
)

// Job is one link found in the watched folder.
type Job struct {
	// Path is the link file, inside the watched folder.
	Path string
	// Key identifies this version of the link file: the SHA-256 (hex) of
	// its name and its bytes. Editing or renaming the file gives a new Key.
	Key string
	// Link is the parsed link.
	Link link.Link
}

// Options configure a Watcher.
type Options struct {
	// Dir is the watched folder. It is created if missing.
	Dir string
	// Debounce is how long a link file's size and modification time must
	// stay unchanged (with no events for it) before it is read. Default
	// 300 ms.
	Debounce time.Duration
	// Rescan is the period of full rescans of the folder, a safety net for
	// file systems that drop change events. Default one minute. While the
	// folder cannot be watched for events at all, it is rescanned every 2 s
	// (or every Rescan, if shorter).
	Rescan time.Duration
	// Logger receives the watcher's log; nil discards it.
	Logger *slog.Logger
}

const (
	defaultDebounce = 300 * time.Millisecond
	defaultRescan   = time.Minute
	pollInterval    = 2 * time.Second
	// maxCandidates bounds the files waiting to settle; a folder flooded
	// with more link files than this is caught up by the next rescan.
	maxCandidates = 10000
)

var errLocked = errors.New("locked")

// Watcher watches one folder for .dragon link files. See the package
// documentation for the rules it follows.
type Watcher struct {
	dir       string
	debounce  time.Duration
	rescanDur time.Duration
	log       *slog.Logger

	mu      sync.Mutex
	links   map[string]*entry // Key → record; persisted in .dragonload/state.json
	running map[string]bool   // Keys handed to start by this Watcher
	inRun   bool

	// Only the Run goroutine touches these.
	cands    map[string]*candidate // files waiting for their size to settle, by name
	listErr  string                // last error listing the folder, to log it once
	overfull bool                  // cands hit maxCandidates, logged once
	refused  map[string]bool       // names not read (symbolic links, say), logged once
}

// candidate is a link file seen changing, not yet read.
type candidate struct {
	size  int64
	mtime time.Time
	since time.Time // last change seen, by event or by stat
}

// New prepares a watcher for opts.Dir: it creates the folder and its
// .dragonload/done subfolder if needed and loads the state of earlier runs.
func New(opts Options) (*Watcher, error) {
	if opts.Dir == "" {
		return nil, errors.New("no watched folder given")
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("watched folder %q: %w", opts.Dir, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create watched folder: %w", err)
	}
	if fi, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("watched folder: %w", err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("watched folder %s is not a folder", dir)
	}
	if err := makeStateDirs(dir); err != nil {
		return nil, err
	}
	w := &Watcher{
		dir:       dir,
		debounce:  opts.Debounce,
		rescanDur: opts.Rescan,
		log:       opts.Logger,
		running:   make(map[string]bool),
	}
	if w.debounce <= 0 {
		w.debounce = defaultDebounce
	}
	if w.rescanDur <= 0 {
		w.rescanDur = defaultRescan
	}
	if w.log == nil {
		w.log = slog.New(slog.DiscardHandler)
	}
	w.links, err = loadState(dir, w.log)
	if err != nil {
		return nil, err
	}
	return w, nil
}

// Run watches the folder until ctx is done, then returns nil. It calls
// start once for each link to download, from Run's goroutine, so start must
// not block; it only begins the download. A link that was started before
// a restart and never finished is handed to start again, with the same Job
// (the engine resumes its partial file). If start returns an error, the link
// is failed as if by Failed. Run fails at once if another watcher holds the
// folder (two would download every link twice).
func (w *Watcher) Run(ctx context.Context, start func(Job) error) error {
	w.mu.Lock()
	if w.inRun {
		w.mu.Unlock()
		return errors.New("watcher is already running")
	}
	w.inRun = true
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		w.inRun = false
		w.mu.Unlock()
	}()

	release, err := w.lock()
	if errors.Is(err, errLocked) {
		return fmt.Errorf("folder %s is already watched by another Dragonload", w.dir)
	}
	if err != nil {
		return fmt.Errorf("lock watched folder: %w", err)
	}
	defer release()

	fw, err := fsnotify.NewWatcher()
	if err != nil {
		w.log.Warn("cannot watch the folder for changes; checking it regularly instead", "dir", w.dir, "error", err)
		return w.loop(ctx, nil, nil, nil, start)
	}
	defer fw.Close()
	return w.loop(ctx, fw.Events, fw.Errors, func() error { return fw.Add(w.dir) }, start)
}

// Done records that job's download finished (finalPath is the verified
// file) and moves the link file into .dragonload/done/, so the folder shows
// results rather than links. The link file is left alone if it has
// changed since the job was started (it is then a new link).
func (w *Watcher) Done(job Job, finalPath string) error {
	name, err := w.jobName(job)
	if err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	e := w.record(job, name)
	e.State, e.Final, e.Error = stateDone, finalPath, ""
	if err := saveState(w.dir, w.links); err != nil {
		return err
	}
	if !w.unchanged(job, name) {
		return nil
	}
	if _, err := moveToDone(w.dir, name); err != nil {
		return fmt.Errorf("move %s out of the watched folder: %w", name, err)
	}
	return nil
}

// Failed records that job's download failed for good and writes
// "<link file name>.error.txt" beside the link file saying why. The link is
// not tried again until the user edits the link file or deletes the note.
// The note leaves out the query and credentials of the link's URLs and the
// values of its headers, should cause quote them.
func (w *Watcher) Failed(job Job, cause error) error {
	name, err := w.jobName(job)
	if err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	why := redact(sentence(cause), job.Link)
	e := w.record(job, name)
	e.State, e.Error = stateFailed, why
	if err := saveState(w.dir, w.links); err != nil {
		return err
	}
	if !w.unchanged(job, name) {
		return nil
	}
	text := fmt.Sprintf("The download for %s failed: %s.\nDelete this note to try again.\n", name, why)
	return w.writeNote(name, text)
}

// Pending returns the links handed to start that are neither done nor
// failed, oldest first, including those started before a restart.
func (w *Watcher) Pending() []Job {
	w.mu.Lock()
	defer w.mu.Unlock()
	var keys []string
	for key, e := range w.links {
		if e.State == stateStarted {
			keys = append(keys, key)
		}
	}
	slices.SortFunc(keys, func(a, b string) int {
		if c := w.links[a].Started.Compare(w.links[b].Started); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	jobs := make([]Job, 0, len(keys))
	for _, key := range keys {
		e := w.links[key]
		l, err := link.ParseURI(e.Link)
		if err != nil {
			continue // a hand-edited state file; the link file itself still counts
		}
		jobs = append(jobs, Job{Path: filepath.Join(w.dir, e.Name), Key: key, Link: l})
	}
	return jobs
}

// loop is Run without the fsnotify setup, so that tests can feed it events
// and errors. rewatch (re)subscribes to events for the folder; nil means
// events are unavailable.
func (w *Watcher) loop(ctx context.Context, events <-chan fsnotify.Event, errs <-chan error, rewatch func() error, start func(Job) error) error {
	watching := false
	if rewatch != nil {
		if err := rewatch(); err != nil {
			w.log.Warn("cannot watch the folder for changes; checking it regularly instead", "dir", w.dir, "error", err)
		} else {
			watching = true
		}
	}
	w.cands = make(map[string]*candidate)
	w.refused = make(map[string]bool)
	w.rescan()

	// The settle timer runs only while files wait, so an idle watcher
	// wakes up once per rescan period. Once armed it is left alone until it
	// fires: events for other files (the engine writing a partial file in
	// the same folder) must not keep pushing it back.
	settle := time.NewTimer(time.Hour)
	settle.Stop()
	defer settle.Stop()
	armed := false
	full := time.NewTimer(w.rescanPeriod(watching))
	defer full.Stop()
	tick := max(w.debounce/4, 10*time.Millisecond)
	for {
		if !armed && len(w.cands) > 0 {
			settle.Reset(tick)
			armed = true
		}
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-events:
			if !ok {
				events, watching = nil, false
				continue
			}
			if w.handle(ev) && watching {
				watching = false
				w.log.Warn("the watched folder was removed or moved; waiting for it to come back", "dir", w.dir)
				full.Reset(w.rescanPeriod(watching))
			}
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				w.log.Info("too many changes at once; rescanning the folder", "dir", w.dir)
				w.rescan()
			} else {
				w.log.Warn("watching the folder", "dir", w.dir, "error", err)
			}
		case <-settle.C:
			armed = false
			w.settle(start)
		case <-full.C:
			if !watching && rewatch != nil && rewatch() == nil {
				watching = true
				w.log.Info("watching the folder for changes again", "dir", w.dir)
			}
			w.rescan()
			full.Reset(w.rescanPeriod(watching))
		}
	}
}

func (w *Watcher) rescanPeriod(watching bool) time.Duration {
	if watching {
		return w.rescanDur
	}
	return min(pollInterval, w.rescanDur)
}

// handle reacts to one event. It reports whether the folder itself went
// away, which ends the event subscription.
func (w *Watcher) handle(ev fsnotify.Event) (lost bool) {
	if filepath.Clean(ev.Name) == w.dir {
		return ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename)
	}
	if filepath.Dir(ev.Name) != w.dir {
		return false
	}
	name := filepath.Base(ev.Name)
	gone := ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename)
	if linkName, ok := strings.CutSuffix(name, noteExt); ok && gone && eligible(linkName) {
		// The user deleted a note: look at its link again (a failed link
		// without its note is retried once).
		w.touch(linkName)
		return false
	}
	if !eligible(name) {
		return false
	}
	if gone {
		delete(w.cands, name)
		if _, err := os.Lstat(ev.Name); errors.Is(err, os.ErrNotExist) {
			w.forget(func(n string) bool { return n == name })
		}
		return false
	}
	w.touch(name)
	return false
}

// rescan looks at every link file in the folder, as if each had just
// changed, and forgets links whose files are gone.
func (w *Watcher) rescan() {
	des, err := os.ReadDir(w.dir)
	if err != nil {
		// Said once, not at every poll while the folder is missing.
		if msg := err.Error(); msg != w.listErr {
			w.listErr = msg
			w.log.Warn("cannot list the watched folder", "dir", w.dir, "error", err)
		}
		return
	}
	w.listErr = ""
	present := make(map[string]bool)
	for _, de := range des {
		if name := de.Name(); eligible(name) && !de.IsDir() {
			present[name] = true
			w.touch(name)
		}
	}
	for name := range w.refused {
		if !present[name] {
			delete(w.refused, name)
		}
	}
	w.forget(func(name string) bool { return !present[name] })
}

// touch (re)starts the settling period of a link file.
func (w *Watcher) touch(name string) {
	now := time.Now()
	c, ok := w.cands[name]
	if !ok {
		if len(w.cands) >= maxCandidates {
			if !w.overfull {
				w.overfull = true
				w.log.Warn("too many link files at once; the rest wait for the next rescan", "dir", w.dir)
			}
			return
		}
		w.overfull = false
		c = &candidate{size: -1}
		w.cands[name] = c
	}
	c.since = now
	if fi, err := os.Lstat(filepath.Join(w.dir, name)); err == nil {
		c.size, c.mtime = fi.Size(), fi.ModTime()
	}
}

// settle reads every waiting file whose size and time have been stable for
// the debounce period.
func (w *Watcher) settle(start func(Job) error) {
	now := time.Now()
	for _, name := range slices.Sorted(maps.Keys(w.cands)) {
		c := w.cands[name]
		// Lstat: a symbolic link is judged as itself, and process refuses
		// it with a word in the log; folders and devices drop out here.
		fi, err := os.Lstat(filepath.Join(w.dir, name))
		if err != nil || !(fi.Mode().IsRegular() || osutil.IsSymlink(fi)) {
			delete(w.cands, name)
			continue
		}
		if fi.Size() != c.size || !fi.ModTime().Equal(c.mtime) {
			c.size, c.mtime, c.since = fi.Size(), fi.ModTime(), now
			continue
		}
		if now.Sub(c.since) < w.debounce {
			continue
		}
		delete(w.cands, name)
		if fi.Size() == 0 {
			// Browsers and editors create the file empty and fill it
			// later; an empty file is not an error, just not a link yet.
			continue
		}
		w.process(name, start)
	}
}

// process reads one settled link file and acts on it.
func (w *Watcher) process(name string, start func(Job) error) {
	path := filepath.Join(w.dir, name)
	data, size, err := readLink(w.dir, name)
	if re, ok := errors.AsType[*osutil.RefusedError](err); ok {
		if !w.refused[name] {
			w.refused[name] = true
			w.log.Warn("link file not read: only regular files with one name are read from the watched folder", "file", name, "error", re)
		}
		return
	}
	delete(w.refused, name)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) && !errors.Is(err, errNotFile) {
			w.log.Warn("cannot read link file", "file", name, "error", err)
		}
		return
	}
	if int64(len(data)) != size && len(data) <= link.MaxFileSize {
		w.touch(name) // changed while being read; still being written
		return
	}
	job := Job{Path: path, Key: keyOf(name, data)}
	var parseErr error
	job.Link, parseErr = link.Parse(data)
	if !w.claim(job, name, parseErr) {
		return
	}
	if err := start(job); err != nil {
		w.log.Warn("download could not be started", "file", name, "error", err)
		if err := w.Failed(job, err); err != nil {
			w.log.Error("cannot record failed link", "file", name, "error", err)
		}
	}
}

// claim decides what to do with a link file version and records it. It
// reports whether job is to be handed to start.
func (w *Watcher) claim(job Job, name string, parseErr error) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if e := w.links[job.Key]; e != nil {
		switch e.State {
		case stateStarted:
			if w.running[job.Key] {
				return false
			}
			if parseErr == nil {
				w.retire(name, job.Key)
				w.running[job.Key] = true
				k, v := sourceOf(job.Link)
				w.log.Info("resuming link from an earlier run", "file", name, k, v)
				return true
			}
		case stateDone:
			// Already downloaded: Done was interrupted before it moved the
			// file, or the same file was dropped in again.
			w.log.Info("link was already downloaded; moving it out of the way", "file", name, "final", e.Final)
			if _, err := moveToDone(w.dir, name); err != nil {
				w.log.Warn("cannot move finished link file", "file", name, "error", err)
			}
			return false
		case stateFailed:
			if _, err := os.Lstat(w.notePath(name)); err == nil {
				return false
			}
			// The user deleted the note: one more try.
		}
	}
	w.retire(name, job.Key)
	now := time.Now()
	if parseErr != nil {
		// Said without quoting the file, in the note, the state and the
		// log alike: see reasonOf.
		why := reasonOf(parseErr)
		w.links[job.Key] = &entry{Name: name, State: stateFailed, Error: why, Started: now, Updated: now}
		w.save()
		w.log.Warn("link file cannot be used", "file", name, "error", why)
		text := fmt.Sprintf("%s cannot be used: %s.\nFix the link file and save it again to retry.\n", name, why)
		if err := w.writeNote(name, text); err != nil {
			w.log.Error("cannot write error note", "file", name, "error", err)
		}
		return false
	}
	w.links[job.Key] = &entry{Name: name, State: stateStarted, Link: job.Link.URI(), Started: now, Updated: now}
	w.running[job.Key] = true
	w.save()
	k, v := sourceOf(job.Link)
	w.log.Info("starting download from link file", "file", name, k, v)
	return true
}

// retire drops the records of earlier versions of the link file name that
// no download of this watcher is working on, and their note: the current
// version replaces them. Called with w.mu held.
func (w *Watcher) retire(name, key string) {
	removeNote := false
	for k, e := range w.links {
		if k == key || e.Name != name {
			continue
		}
		switch {
		case e.State == stateFailed:
			removeNote = true
			delete(w.links, k)
		case e.State == stateStarted && !w.running[k]:
			delete(w.links, k)
		}
	}
	if removeNote {
		w.removeNote(name)
	}
}

// forget drops the records of links whose files are gone (gone(name) is
// true), and their notes; not those a download is still working on, nor
// finished ones (their files were moved away on purpose).
func (w *Watcher) forget(gone func(name string) bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	changed := false
	for k, e := range w.links {
		if !gone(e.Name) {
			continue
		}
		switch {
		case e.State == stateFailed:
			w.removeNote(e.Name)
		case e.State == stateStarted && !w.running[k]:
			w.log.Info("link file of an unfinished download is gone; not resuming it", "file", e.Name)
		default:
			continue
		}
		delete(w.links, k)
		changed = true
	}
	if changed {
		w.save()
	}
}

// record returns the entry for job, creating it if the state lost it.
// Called with w.mu held.
func (w *Watcher) record(job Job, name string) *entry {
	now := time.Now()
	e := w.links[job.Key]
	if e == nil {
		e = &entry{Name: name, Link: job.Link.URI(), Started: now}
		w.links[job.Key] = e
	}
	e.Updated = now
	delete(w.running, job.Key)
	return e
}

// save persists the state, logging failure: the watcher goes on with what
// it has in memory, which still prevents duplicates until a restart.
// Called with w.mu held.
func (w *Watcher) save() {
	if err := saveState(w.dir, w.links); err != nil {
		w.log.Error("cannot save watch state", "error", err)
	}
}

// unchanged reports whether the link file still holds the version job was
// made from.
func (w *Watcher) unchanged(job Job, name string) bool {
	data, _, err := readLink(w.dir, name)
	return err == nil && keyOf(name, data) == job.Key
}

// jobName checks that job came from this watcher's folder and returns the
// link file name.
func (w *Watcher) jobName(job Job) (string, error) {
	name := filepath.Base(job.Path)
	if filepath.Dir(job.Path) != w.dir || !eligible(name) || len(job.Key) != 2*sha256.Size {
		return "", fmt.Errorf("%s is not a link file of the watched folder %s", job.Path, w.dir)
	}
	return name, nil
}

func (w *Watcher) notePath(name string) string { return filepath.Join(w.dir, name+noteExt) }

// writeNote writes a note, readable by its owner only: it may name a URL
// of the link. It is written to a new file renamed over the note's name, so
// a symbolic link planted there is replaced, never written through.
func (w *Watcher) writeNote(name, text string) error {
	d, err := osutil.OpenDir(w.dir)
	if err != nil {
		return fmt.Errorf("write error note for %s: %w", name, err)
	}
	defer d.Close()
	if err := d.WriteFileAtomic(name+noteExt, []byte(text), 0o600); err != nil {
		return fmt.Errorf("write error note for %s: %w", name, err)
	}
	return nil
}

func (w *Watcher) removeNote(name string) {
	d, err := osutil.OpenDir(w.dir)
	if err == nil {
		defer d.Close()
		err = d.Remove(name + noteExt)
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		w.log.Warn("cannot remove old error note", "file", name+noteExt, "error", err)
	}
}

// lock takes the folder's lock file, .dragonload/lock, never through a
// symbolic link.
func (w *Watcher) lock() (release func(), err error) {
	sd, err := openStateDir(w.dir)
	if err != nil {
		return nil, err
	}
	defer sd.Close()
	f, err := sd.OpenFile("lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	return lockFile(f)
}

// keyOf identifies a version of a link file by its name and bytes.
func keyOf(name string, data []byte) string {
	h := sha256.New()
	h.Write([]byte(name))
	h.Write([]byte{0})
	h.Write(data)
	return hex.EncodeToString(h.Sum(nil))
}

// sentence turns an error into a clause for a note: one line, without a
// final full stop (the note adds its own).
func sentence(err error) string {
	if err == nil {
		return "no reason was given"
	}
	s := strings.Join(strings.Fields(err.Error()), " ")
	return strings.TrimRight(s, ".")
}
