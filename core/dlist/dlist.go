package dlist

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/dragonload/dragonload/core/link"
	"github.com/dragonload/dragonload/core/osutil"
)

// FileName is the list's file inside the home folder.
const FileName = "downloads.json"

// Version is the file format version this package writes and reads.
const Version = 1

// MaxFileSize is the largest list file Open reads. Five hundred finished
// downloads plus the unfinished ones take well under a megabyte; a file
// past this size was not written by Dragonload and is treated as damaged.
const MaxFileSize = 16 << 20

// Defaults for the zero Options.
const (
	DefaultFlushEvery = 200 * time.Millisecond
	DefaultMaxHistory = 500
)

// The states an entry may be in; they are the names of core's states.
// Done, Failed and Canceled are final.
const (
	StateQueued      = "queued"
	StateProbing     = "probing"
	StateDownloading = "downloading"
	StatePaused      = "paused"
	StateVerifying   = "verifying"
	StateDone        = "done"
	StateFailed      = "failed"
	StateCanceled    = "canceled"
)

// Final reports whether state is one in which nothing more will happen to
// a download, which makes its entry history.
func Final(state string) bool {
	return state == StateDone || state == StateFailed || state == StateCanceled
}

// Entry is one download as remembered across restarts.
type Entry struct {
	ID     string    `json:"id"`
	Source string    `json:"source"` // what the user gave: URL, link file path or dragon:// link
	Link   Link      `json:"link"`   // enough to re-add the download without Source
	OutDir string    `json:"out_dir,omitempty"`
	Name   string    `json:"name,omitempty"` // final file name, once known
	State  string    `json:"state"`          // one of the State constants
	Err    string    `json:"error,omitempty"`
	Path   string    `json:"path,omitempty"` // final file, once done
	Size   int64     `json:"size"`           // -1 while unknown
	Done   int64     `json:"done"`
	Added  time.Time `json:"added,omitzero"`
	Ended  time.Time `json:"ended,omitzero"`
	// Chunks say who fetched which durable bytes, and Names what those
	// peers were called, so the chunk map and its legend survive a
	// restart. The partial file's journal stays the authority on what is
	// durable: a chunk it does not hold is dropped when the download runs.
	Chunks []Chunk           `json:"chunks,omitempty"`
	Names  map[string]string `json:"names,omitempty"`
}

// Chunk is a byte range of a download and the peer id that fetched it.
type Chunk struct {
	Off  int64  `json:"off"`
	Len  int64  `json:"len"`
	Peer string `json:"peer"`
}

// Link holds the fields of a link.Link, with names fixed for the file
// format so that renaming a field in package link cannot silently change
// what is on disk. URL is left out for a link without one, which names its
// file by SHA256, Name and Size alone (see link.Link.HasOrigin).
type Link struct {
	URL     string            `json:"url,omitempty"`
	Name    string            `json:"name,omitempty"`
	Size    int64             `json:"size,omitempty"`
	SHA256  string            `json:"sha256,omitempty"`
	Mirrors []string          `json:"mirrors,omitempty"`
	Headers map[string]string `json:"headers,omitempty"` // may hold credentials
}

// FromLink copies l for storing in an Entry.
func FromLink(l link.Link) Link {
	return Link{
		URL: l.URL, Name: l.Name, Size: l.Size, SHA256: l.SHA256,
		Mirrors: cloneSlice(l.Mirrors), Headers: cloneMap(l.Headers),
	}
}

// ToLink copies l back into the engine's link type.
func (l Link) ToLink() link.Link {
	return link.Link{
		URL: l.URL, Name: l.Name, Size: l.Size, SHA256: l.SHA256,
		Mirrors: cloneSlice(l.Mirrors), Headers: cloneMap(l.Headers),
	}
}

// Options tune a List. The zero value is the default everywhere.
type Options struct {
	// FlushEvery is the least time between two background writes; zero
	// or negative means DefaultFlushEvery.
	FlushEvery time.Duration
	// MaxHistory is how many entries in final states are kept; zero or
	// negative means DefaultMaxHistory.
	MaxHistory int
	// OnError, if set, is called from the flusher goroutine with every
	// background write error, so the failure can be shown at once. It may
	// call any method but Close, which waits for that goroutine to end.
	OnError func(error)
}

// List is the persisted download list. It is safe for concurrent use.
type List struct {
	path       string
	maxHistory int
	onError    func(error)
	write      writeFunc
	warning    string

	kick chan struct{} // capacity 1: "the list became dirty"
	stop chan struct{}
	done chan struct{}
	once sync.Once

	writeMu sync.Mutex // serialises writes, so a stale snapshot never lands last

	mu      sync.Mutex
	entries []Entry // in order of first Put; maps and slices inside are never mutated
	dirty   bool
	bgErr   error // first background write error since the last Flush
}

// Open loads home/downloads.json and starts the flusher. A missing file is
// an empty list. A damaged one is set aside and reported by Warning, not as
// an error: Open fails only when the file exists but cannot be read or set
// aside, since writing over it would destroy the only copy.
func Open(home string, opts Options) (*List, error) {
	return open(home, opts, osutil.WriteFileAtomic)
}

// Warning explains, in one sentence for the user, why the list started
// empty although a file was there; it is empty when nothing went wrong.
func (l *List) Warning() string { return l.warning }

// Put stores e, replacing the entry with the same ID in place or adding it
// at the end. It panics when e.ID is empty or e.State is not one of the
// State constants: both are programming errors, and a file holding them
// would be rejected as damaged on the next start.
func (l *List) Put(e Entry) {
	if e.ID == "" {
		panic("dlist: Put of an entry without an ID")
	}
	if !knownState(e.State) {
		panic(fmt.Sprintf("dlist: Put of entry %q with unknown state %q", e.ID, e.State))
	}
	e = cloneEntry(e)
	l.mu.Lock()
	if i := l.indexLocked(e.ID); i >= 0 {
		l.entries[i] = e
	} else {
		l.entries = append(l.entries, e)
	}
	if Final(e.State) {
		l.entries = trimHistory(l.entries, l.maxHistory)
	}
	l.markDirtyLocked()
	l.mu.Unlock()
}

// Remove drops the entry with the given id and reports whether there was one.
func (l *List) Remove(id string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	i := l.indexLocked(id)
	if i < 0 {
		return false
	}
	l.entries = slices.Delete(l.entries, i, i+1)
	l.markDirtyLocked()
	return true
}

// Entries returns a copy of every entry, in order of first Put.
func (l *List) Entries() []Entry {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Entry, len(l.entries))
	for i, e := range l.entries {
		out[i] = cloneEntry(e)
	}
	return out
}

// Get returns a copy of the entry with the given id.
func (l *List) Get(id string) (Entry, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if i := l.indexLocked(id); i >= 0 {
		return cloneEntry(l.entries[i]), true
	}
	return Entry{}, false
}

// ClearFinished drops every entry in a final state and returns their ids,
// in list order.
func (l *List) ClearFinished() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var ids []string
	l.entries = slices.DeleteFunc(l.entries, func(e Entry) bool {
		if Final(e.State) {
			ids = append(ids, e.ID)
			return true
		}
		return false
	})
	if len(ids) > 0 {
		l.markDirtyLocked()
	}
	return ids
}

// Flush writes the list now if it changed since the last write. It returns
// this write's error or, failing that, a background write error kept since
// the last Flush, even if this write then succeeded, so that no failure
// goes unreported.
func (l *List) Flush() error {
	err := l.writeIfDirty()
	l.mu.Lock()
	bg := l.bgErr
	l.bgErr = nil
	l.mu.Unlock()
	if err != nil {
		return err
	}
	return bg
}

// Close stops the flusher and flushes. The list stays usable in memory,
// and later Flush calls still write; Close may be called more than once.
func (l *List) Close() error {
	l.once.Do(func() {
		close(l.stop)
		<-l.done
	})
	return l.Flush()
}

// writeFunc is osutil.WriteFileAtomic; tests replace it to count and
// inspect writes.
type writeFunc func(path string, data []byte, perm os.FileMode) error

// open is Open with the write function chosen by the caller.
func open(home string, opts Options, write writeFunc) (*List, error) {
	l := &List{
		path:       filepath.Join(home, FileName),
		maxHistory: opts.MaxHistory,
		onError:    opts.OnError,
		write:      write,
		kick:       make(chan struct{}, 1),
		stop:       make(chan struct{}),
		done:       make(chan struct{}),
	}
	if l.maxHistory <= 0 {
		l.maxHistory = DefaultMaxHistory
	}
	every := opts.FlushEvery
	if every <= 0 {
		every = DefaultFlushEvery
	}
	if err := l.load(); err != nil {
		return nil, err
	}
	go l.run(every)
	return l, nil
}

// load reads the file into l, setting a damaged one aside.
func (l *List) load() error {
	data, err := readCapped(l.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cannot read the download list: %w", err)
	}
	entries, err := decode(data)
	if err != nil {
		bad := fmt.Sprintf("%s.bad-%d", l.path, time.Now().Unix())
		if rerr := os.Rename(l.path, bad); rerr != nil {
			return fmt.Errorf("cannot set aside the damaged download list %s (%v): %w", l.path, err, rerr)
		}
		l.warning = fmt.Sprintf("The download list %s could not be used (%v), so it was kept as %s and the list starts empty.", l.path, err, bad)
		return nil
	}
	l.entries = trimHistory(entries, l.maxHistory)
	// Trimming to a smaller MaxHistory is a change worth saving.
	l.dirty = len(l.entries) < len(entries)
	return nil
}

// run is the flusher: after the list becomes dirty it waits FlushEvery, so
// that a burst of changes is written once, then writes.
func (l *List) run(every time.Duration) {
	defer close(l.done)
	for {
		select {
		case <-l.stop:
			return
		case <-l.kick:
		}
		t := time.NewTimer(every)
		select {
		case <-l.stop:
			t.Stop()
			return // Close flushes.
		case <-t.C:
		}
		if err := l.writeIfDirty(); err != nil {
			l.mu.Lock()
			if l.bgErr == nil {
				l.bgErr = err
			}
			l.mu.Unlock()
			if l.onError != nil {
				l.onError(err)
			}
		}
	}
}

// writeIfDirty writes a snapshot of the list when it is dirty. On failure
// the list is dirty again, so the next flush retries.
func (l *List) writeIfDirty() error {
	l.writeMu.Lock()
	defer l.writeMu.Unlock()
	l.mu.Lock()
	if !l.dirty {
		l.mu.Unlock()
		return nil
	}
	// A shallow copy is a snapshot: stored entries are never mutated.
	snap := slices.Clone(l.entries)
	l.dirty = false
	l.mu.Unlock()

	err := l.save(snap)
	if err != nil {
		l.mu.Lock()
		l.dirty = true
		l.mu.Unlock()
	}
	return err
}

func (l *List) save(entries []Entry) error {
	data, err := encode(entries)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(l.path), 0o700); err != nil {
		return fmt.Errorf("cannot save the download list: %w", err)
	}
	if err := l.write(l.path, data, 0o600); err != nil {
		return fmt.Errorf("cannot save the download list: %w", err)
	}
	return nil
}

// markDirtyLocked notes a change and wakes the flusher; l.mu must be held.
func (l *List) markDirtyLocked() {
	l.dirty = true
	select {
	case l.kick <- struct{}{}:
	default: // already woken
	}
}

// indexLocked is the position of id in the list, or -1; l.mu must be held.
func (l *List) indexLocked(id string) int {
	return slices.IndexFunc(l.entries, func(e Entry) bool { return e.ID == id })
}

// readCapped reads path, but no more than one byte past MaxFileSize: enough
// for decode to reject a runaway file without holding all of it in memory.
func readCapped(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	return data, nil
}

func knownState(s string) bool {
	switch s {
	case StateQueued, StateProbing, StateDownloading, StatePaused, StateVerifying,
		StateDone, StateFailed, StateCanceled:
		return true
	}
	return false
}

// cloneEntry deep-copies e, so neither the caller nor the list can change
// the other's copy; empty slices and maps become nil, as they read back.
func cloneEntry(e Entry) Entry {
	e.Link.Mirrors = cloneSlice(e.Link.Mirrors)
	e.Link.Headers = cloneMap(e.Link.Headers)
	e.Chunks = slices.Clone(e.Chunks)
	e.Names = cloneMap(e.Names)
	return e
}

func cloneSlice(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return slices.Clone(s)
}

func cloneMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return maps.Clone(m)
}
