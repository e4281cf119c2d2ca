package index

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/dragonload/dragonload/core/osutil"
)

// Entry is one finished file this node may share.
type Entry struct {
	Path    string // absolute path of the file
	Name    string // display name (the file's base name when added)
	Size    int64
	ModTime time.Time // as the file system reported it when added
	FileID  string    // device and inode on Unix ("dev:ino"), volume serial and file index on Windows; "" where unknown
	SHA256  [32]byte  // of the whole file, computed by the downloader while writing
	Origin  [32]byte  // OriginKey of the download's origin, zero when it had no strong validator
	URL     string    // where it came from, for display ("" for a file copied from the LAN with no origin)
	Added   time.Time
	Shared  bool // false once the user chose "stop sharing"
}

// ErrChanged is matched (errors.Is) by the error OpenFile returns when the
// file is no longer the one that was indexed: changed, gone, replaced, a
// symbolic link now, or no longer shared.
var ErrChanged = errors.New("the file changed since it was indexed")

// Index is the persisted list of shareable files. It is safe for
// concurrent use.
type Index struct {
	path  string
	write func(path string, data []byte, perm os.FileMode) error // osutil.WriteFileAtomic; tests replace it

	mu       sync.Mutex
	entries  map[string]Entry // by Path; never mutated, replaced whole on each change
	bySum    map[[32]byte][]string
	byOrigin map[[32]byte][]string
	// noSave is set when a file exists at path that could be neither read
	// nor set aside: writing over it would destroy it, so every change
	// fails with this error instead.
	noSave error
	// Another process with the same home (a `dragonload get` beside the
	// agent) may change the file: stamp is what it was when last read or
	// written, checked is when that was last compared (refresh).
	stamp   stamp
	checked time.Time
}

// stamp tells one version of the index file from another.
type stamp struct {
	size    int64
	modTime time.Time
}

// refreshEvery is how often a read looks whether another process changed
// the file; a change always looks first, so it never undoes another's.
const refreshEvery = time.Second

// refresh reloads the file when another process changed it since this
// one last read or wrote it. A file that cannot be read or decoded now is
// left for the next look: the entries in memory stay. x.mu is held.
func (x *Index) refresh(force bool) {
	now := time.Now()
	if !force && now.Sub(x.checked) < refreshEvery {
		return
	}
	x.checked = now
	st, ok := statFile(x.path)
	if !ok || st == x.stamp || x.noSave != nil {
		return
	}
	data, err := readCapped(x.path, maxFileSize)
	if err != nil {
		return
	}
	entries, err := decode(data)
	if err != nil {
		return
	}
	m := make(map[string]Entry, len(entries))
	for _, e := range entries {
		m[e.Path] = e
	}
	x.set(m)
	x.stamp = st
}

func statFile(path string) (stamp, bool) {
	fi, err := os.Stat(path)
	if err != nil {
		return stamp{}, false
	}
	return stamp{size: fi.Size(), modTime: fi.ModTime()}, true
}

// Open loads the index file at path (creating nothing until the first
// change). A missing file is an empty index.
//
// Open always returns a usable *Index. A file that cannot be parsed (not
// JSON, an unknown format version, an entry breaking the rules, larger
// than 16 MiB) is renamed aside to path+".bad", replacing any earlier one,
// and the index starts empty; the error says so, for the caller to log. A
// file that exists but cannot be read, or cannot be set aside, is left
// alone: the index starts empty and every change fails, so that it is
// never overwritten.
func Open(path string) (*Index, error) {
	x := &Index{path: path, write: osutil.WriteFileAtomic}
	x.set(map[string]Entry{})
	data, err := readCapped(path, maxFileSize)
	if errors.Is(err, fs.ErrNotExist) {
		return x, nil
	}
	if err != nil {
		x.noSave = fmt.Errorf("the index %s could not be read, so it is not changed: %w", path, err)
		return x, fmt.Errorf("cannot read the index %s, so sharing starts empty and changes are not saved: %w", path, err)
	}
	entries, err := decode(data)
	if err != nil {
		bad := path + ".bad"
		if rerr := os.Rename(path, bad); rerr != nil {
			x.noSave = fmt.Errorf("the damaged index %s could not be set aside, so it is not changed: %w", path, rerr)
			return x, fmt.Errorf("the index %s could not be used (%v) nor set aside (%w), so sharing starts empty and changes are not saved", path, err, rerr)
		}
		return x, fmt.Errorf("the index %s could not be used (%v), so it was kept as %s and sharing starts empty", path, err, bad)
	}
	m := make(map[string]Entry, len(entries))
	for _, e := range entries {
		m[e.Path] = e
	}
	x.stamp, _ = statFile(path)
	if len(m) <= maxEntries {
		x.set(m)
		return x, nil
	}
	// More than are kept: drop the oldest now, on disk too.
	data, err = plan(m)
	x.set(m)
	if err == nil {
		err = x.write(path, data, 0o600)
	}
	if err != nil {
		return x, fmt.Errorf("cannot save the trimmed index: %w", err)
	}
	return x, nil
}

// readCapped reads at most limit+1 bytes of path, enough for decode to
// tell that a file is too large.
func readCapped(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, limit+1))
}

// Add indexes the file at e.Path. It Lstats the file itself, which must be
// a regular file (not a symbolic link) of at least one byte, and fills
// Size (which must equal e.Size when e.Size > 0), ModTime, FileID, Name
// (the base name, if empty), Added (now, if zero) and Shared = true. Names
// are made printable UTF-8 and cut to 256 bytes; times are kept in UTC.
// e.SHA256 must be set. An entry with the same Path replaces the old one.
// The change is saved atomically before Add returns.
func (x *Index) Add(e Entry) (Entry, error) {
	if !filepath.IsAbs(e.Path) || filepath.Clean(e.Path) != e.Path {
		return Entry{}, fmt.Errorf("cannot share %q: the path is not absolute and clean", e.Path)
	}
	if e.Size < 0 {
		return Entry{}, fmt.Errorf("cannot share %s: the size %d is negative", e.Path, e.Size)
	}
	st, err := statPath(e.Path)
	if err != nil {
		return Entry{}, fmt.Errorf("cannot share %s: %w", e.Path, err)
	}
	switch {
	case st.kind == kindSymlink:
		return Entry{}, &osutil.RefusedError{Op: "share", Path: e.Path, Err: osutil.ErrSymlink}
	case st.kind != kindRegular:
		return Entry{}, &osutil.RefusedError{Op: "share", Path: e.Path, Err: osutil.ErrNotRegular}
	case e.Size > 0 && st.size != e.Size:
		return Entry{}, fmt.Errorf("cannot share %s: it holds %d bytes, not %d", e.Path, st.size, e.Size)
	}
	e.Size, e.ModTime, e.FileID = st.size, st.modTime, st.id
	if e.Name == "" {
		e.Name = filepath.Base(e.Path)
	}
	e.Name = cleanName(e.Name)
	if e.Added.IsZero() {
		e.Added = time.Now()
	}
	e.Added = e.Added.UTC().Round(0)
	e.Shared = true
	if err := checkEntry(e); err != nil {
		return Entry{}, fmt.Errorf("cannot share %s: %w", e.Path, err)
	}
	x.mu.Lock()
	x.refresh(true)
	defer x.mu.Unlock()
	next := maps.Clone(x.entries)
	next[e.Path] = e
	if err := x.commit(next); err != nil {
		return Entry{}, err
	}
	return e, nil
}

// cleanName makes name printable UTF-8 of at most maxNameLen bytes,
// cutting it at a character boundary.
func cleanName(name string) string {
	name = strings.ToValidUTF8(name, "\uFFFD")
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '\uFFFD'
		}
		return r
	}, name)
	for len(name) > maxNameLen {
		_, n := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-n]
	}
	return name
}

// Lookup finds a shared entry by content SHA-256 (byOrigin false) or by
// origin key (byOrigin true) and checks that its file is unchanged on disk:
// a regular file, not a symbolic link, with the same size, modification
// time and file id. An entry whose file changed or vanished is dropped
// (and the drop saved). When several entries match, the newest unchanged
// one is returned.
func (x *Index) Lookup(sum [32]byte, byOrigin bool) (Entry, bool) {
	if sum == ([32]byte{}) {
		return Entry{}, false
	}
	x.mu.Lock()
	x.refresh(false)
	paths := x.bySum[sum]
	if byOrigin {
		paths = x.byOrigin[sum]
	}
	var cands []Entry
	for _, p := range paths {
		if e := x.entries[p]; e.Shared {
			cands = append(cands, e)
		}
	}
	x.mu.Unlock()
	slices.SortFunc(cands, newestFirst)
	var gone []Entry
	defer func() { x.drop(gone) }()
	for _, e := range cands {
		if verify(e) == nil {
			return e, true
		}
		gone = append(gone, e)
	}
	return Entry{}, false
}

// OpenFile opens e's file for reading without following a symbolic link
// (O_NOFOLLOW on Unix, the link itself opened and refused on Windows, an
// Lstat compared with the opened file elsewhere), then checks with the
// open file's own Stat that it is a regular file whose size, modification
// time and file id still match the index. If not, it closes the file,
// drops the entry and returns an error matching ErrChanged (and
// osutil.ErrSymlink for a symbolic link). An e that is not, or no longer,
// a shared entry of the index is refused with ErrChanged as well: only
// indexed files are ever opened.
func (x *Index) OpenFile(e Entry) (*os.File, error) {
	x.mu.Lock()
	x.refresh(false)
	cur, ok := x.entries[e.Path]
	x.mu.Unlock()
	if !ok || !cur.Shared || !sameFile(cur, e) {
		return nil, fmt.Errorf("cannot share %s: %w: it is no longer shared", e.Path, ErrChanged)
	}
	f, st, err := openPath(cur.Path)
	if err != nil {
		// Tell a changed file from an open that merely failed (too many
		// open files, say), which drops nothing.
		if verr := verify(cur); verr != nil {
			x.drop([]Entry{cur})
			return nil, verr
		}
		return nil, fmt.Errorf("cannot share %s: %w", cur.Path, err)
	}
	if reason := st.differs(cur); reason != nil {
		f.Close()
		x.drop([]Entry{cur})
		return nil, changed(cur.Path, reason)
	}
	return f, nil
}

// Search returns shared entries whose Name matches words, best first, at
// most limit of them (none when limit < 1 or words holds no word). Words
// are split on spaces and punctuation (. _ - and the like) and compared
// without regard to case; every word must occur in the name. Entries
// where more words equal a whole word of the name come first, then
// shorter names, then newer entries. Entries about to be returned are
// checked as Lookup checks them, and dropped if their file changed.
func (x *Index) Search(words string, limit int) []Entry {
	query := slices.Compact(slices.Sorted(slices.Values(tokens(words))))
	if len(query) == 0 || limit < 1 {
		return nil
	}
	type hit struct {
		e     Entry
		whole int // query words equal to a token of the name
		runes int
	}
	var hits []hit
	x.mu.Lock()
	x.refresh(false)
	for _, e := range x.entries {
		if !e.Shared {
			continue
		}
		if whole, ok := match(query, e.Name); ok {
			hits = append(hits, hit{e, whole, utf8.RuneCountInString(e.Name)})
		}
	}
	x.mu.Unlock()
	slices.SortFunc(hits, func(a, b hit) int {
		if a.whole != b.whole {
			return b.whole - a.whole
		}
		if a.runes != b.runes {
			return a.runes - b.runes
		}
		return newestFirst(a.e, b.e)
	})
	var out, gone []Entry
	for _, h := range hits {
		if len(out) == limit {
			break
		}
		if verify(h.e) != nil {
			gone = append(gone, h.e)
			continue
		}
		out = append(out, h.e)
	}
	x.drop(gone)
	return out
}

// List returns every entry, shared or not, newest first. It does not look
// at the files.
func (x *Index) List() []Entry {
	x.mu.Lock()
	x.refresh(false)
	out := slices.Collect(maps.Values(x.entries))
	x.mu.Unlock()
	slices.SortFunc(out, newestFirst)
	return out
}

// SetShared turns sharing of the entry at path on or off; an entry not
// shared stays in List but is never returned by Lookup or Search, nor
// opened by OpenFile. A path not in the index is an error matching
// fs.ErrNotExist.
func (x *Index) SetShared(path string, shared bool) error {
	x.mu.Lock()
	x.refresh(true)
	defer x.mu.Unlock()
	e, ok := x.entries[path]
	if !ok {
		return fmt.Errorf("cannot change sharing of %s: %w", path, errNotIndexed)
	}
	if e.Shared == shared {
		return nil
	}
	e.Shared = shared
	next := maps.Clone(x.entries)
	next[path] = e
	return x.commit(next)
}

var errNotIndexed = fmt.Errorf("it is not in the index: %w", fs.ErrNotExist)

// Remove drops the entry at path; a path not in the index is no error.
func (x *Index) Remove(path string) error {
	x.mu.Lock()
	x.refresh(true)
	defer x.mu.Unlock()
	if _, ok := x.entries[path]; !ok {
		return nil
	}
	next := maps.Clone(x.entries)
	delete(next, path)
	return x.commit(next)
}

// Expire drops the entries added before cutoff (sharing lasts a number of
// days) and returns how many it dropped.
func (x *Index) Expire(cutoff time.Time) (int, error) {
	x.mu.Lock()
	x.refresh(true)
	defer x.mu.Unlock()
	next := maps.Clone(x.entries)
	maps.DeleteFunc(next, func(_ string, e Entry) bool { return e.Added.Before(cutoff) })
	n := len(x.entries) - len(next)
	if n == 0 {
		return 0, nil
	}
	if err := x.commit(next); err != nil {
		return 0, err
	}
	return n, nil
}

// drop removes entries found changed, each only if the index still holds
// it as it was checked (not re-added since), in one saved change. A failed
// save keeps them: they are checked again, and withheld, on every use.
func (x *Index) drop(gone []Entry) {
	if len(gone) == 0 {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	next := maps.Clone(x.entries)
	for _, e := range gone {
		if cur, ok := next[e.Path]; ok && cur == e {
			delete(next, e.Path)
		}
	}
	if len(next) < len(x.entries) {
		x.commit(next)
	}
}

// commit saves next as the whole index, after dropping the oldest entries
// beyond the bounds, and then makes it current. On failure nothing
// changes. x.mu is held.
func (x *Index) commit(next map[string]Entry) error {
	if x.noSave != nil {
		return x.noSave
	}
	data, err := plan(next)
	if err != nil {
		return err
	}
	if err := x.write(x.path, data, 0o600); err != nil {
		return fmt.Errorf("cannot save the index: %w", err)
	}
	x.set(next)
	x.stamp, _ = statFile(x.path)
	return nil
}

// plan drops from m the oldest entries beyond maxEntries, or beyond what
// fits a file of maxFileSize, and encodes the rest, newest first.
func plan(m map[string]Entry) ([]byte, error) {
	list := slices.SortedFunc(maps.Values(m), newestFirst)
	size := len(fileHead) + len(fileTail)
	var recs [][]byte
	for _, e := range list {
		if len(recs) == maxEntries {
			break
		}
		rec, err := encodeEntry(e)
		if err != nil {
			return nil, err
		}
		if size+len(rec)+2 > maxFileSize {
			break
		}
		size += len(rec) + 2
		recs = append(recs, rec)
	}
	for _, e := range list[len(recs):] {
		delete(m, e.Path)
	}
	return assemble(recs), nil
}

// set makes m the current entries and rebuilds the lookup maps from it,
// so that they always agree. x.mu is held (or x not yet shared).
func (x *Index) set(m map[string]Entry) {
	x.entries = m
	x.bySum = make(map[[32]byte][]string)
	x.byOrigin = make(map[[32]byte][]string)
	for p, e := range m {
		x.bySum[e.SHA256] = append(x.bySum[e.SHA256], p)
		if e.Origin != ([32]byte{}) {
			x.byOrigin[e.Origin] = append(x.byOrigin[e.Origin], p)
		}
	}
}

// newestFirst orders entries by time added, newest first, then by path.
func newestFirst(a, b Entry) int {
	if c := b.Added.Compare(a.Added); c != 0 {
		return c
	}
	return strings.Compare(a.Path, b.Path)
}

// sameFile reports whether a and b describe the same indexed version of
// the same file.
func sameFile(a, b Entry) bool {
	return a.Path == b.Path && a.Size == b.Size && a.ModTime.Equal(b.ModTime) &&
		a.FileID == b.FileID && a.SHA256 == b.SHA256
}
