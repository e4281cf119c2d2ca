package store

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/dragonload/dragonload/core/osutil"
	"github.com/dragonload/dragonload/core/span"
)

// Meta identifies the file being downloaded. Size, ETag, WeakETag and
// LastModified come from the origin's answer to the probe; Size is -1 when
// the origin does not say (a server that ignores ranges and sends no
// length). ETag is a strong tag; a weak one (W/"x") belongs in WeakETag,
// though one in ETag is recognized by its prefix. A response carries one
// ETag, so at most one of the two is set; if both are, the journal keeps
// the strong one. SHA256 (lowercase or uppercase hex) is known only when
// the link carried it.
type Meta struct {
	URL          string
	Size         int64
	ETag         string
	WeakETag     string
	LastModified string
	SHA256       string
	Name         string
}

// Options tune Open. The zero value is fine.
type Options struct {
	Logger *slog.Logger // nil: discard

	fs fileSystem // nil: the real one; tests put fakes here
	// hashAtFinish leaves the whole SHA-256 to Finish, which then reads
	// the file back from the start, as before the running hash: for the
	// benchmark that compares the two.
	hashAtFinish bool
}

// ErrChecksum is wrapped by the error Finish returns when the file does
// not match Meta.SHA256.
var ErrChecksum = errors.New("checksum mismatch")

// ErrFolderGone is matched by the error Commit and Finish return when the
// download's folder, or its partial file, is no longer the one Open used:
// it was deleted, moved or replaced. Every later write would land in a
// file nobody can see, so the download must stop.
var ErrFolderGone = errors.New("the download's folder was deleted or replaced")

// Partial is a download's partial file and journal. Its methods are safe
// for concurrent use; WriteAt calls may run in parallel with each other and
// with Commit.
type Partial struct {
	fs       fileSystem
	log      *slog.Logger
	dir      string
	name     string
	dataName string // ".NAME.dlpart", inside dir
	jrnName  string // ".NAME.dlpart.journal"
	dataPath string // the same as paths, for messages
	jrnPath  string
	meta     Meta
	reason   string

	f dataFile // WriteAt reads it without the lock: set once, never replaced
	// d is the folder, held from Open until Close, Discard or a
	// successful Finish. Every file is reached through it, so a folder
	// path swapped for another folder or a symbolic link cannot redirect
	// a write or the final move.
	d folder
	// dirID and fileID are the folder and the data file as Open found
	// them, to notice either being replaced behind the download's back.
	dirID, fileID fs.FileInfo

	// hash is the SHA-256 of the file's first bytes, kept as they land.
	hash runningHash

	mu        sync.Mutex
	done      span.Set
	closed    bool // the data file is closed
	dirClosed bool
	sum       [32]byte // the whole file's SHA-256, once Finish succeeded
	sumOK     bool
}

// maxNumbered bounds the search for a free final name.
const maxNumbered = 10000

// Open opens, or creates, the partial file for the download of meta into
// dir under the final name name. resumed reports that an earlier partial of
// the same file was found and kept; Done then holds its durable ranges. The
// same file may come from another URL (see the package doc); the journal
// then records meta's URL from now on. An earlier partial that cannot be
// trusted or belongs to another file is replaced; RestartReason says why.
func Open(dir, name string, meta Meta) (p *Partial, resumed bool, err error) {
	return OpenOptions(dir, name, meta, Options{})
}

// OpenOptions is Open with options.
func OpenOptions(dir, name string, meta Meta, opts Options) (p *Partial, resumed bool, err error) {
	if err := checkName(name); err != nil {
		return nil, false, fmt.Errorf("cannot store a download as %q: %w", name, err)
	}
	if meta.Size < -1 || meta.Size > maxSize {
		return nil, false, fmt.Errorf("cannot store %s: its size %d is unusable", name, meta.Size)
	}
	if meta.URL == "" && meta.SHA256 == "" {
		// A file named by SHA-256 alone comes from room members' copies.
		return nil, false, fmt.Errorf("cannot store %s: it has neither a URL nor a SHA-256", name)
	}
	meta.Name = name
	fsys := opts.fs
	if fsys == nil {
		fsys = osFS{}
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := fsys.mkdirAll(dir); err != nil {
		return nil, false, fmt.Errorf("cannot create the folder %s: %w", dir, err)
	}
	d, err := fsys.openFolder(dir)
	if err != nil {
		return nil, false, fmt.Errorf("cannot open the folder %s: %w", dir, err)
	}
	var f dataFile
	ok := false
	defer func() {
		if !ok {
			if f != nil {
				f.close()
			}
			d.close()
		}
	}()
	dirID, err := d.stat()
	if err != nil {
		return nil, false, fmt.Errorf("cannot inspect the folder %s: %w", dir, err)
	}
	p = &Partial{
		fs:       fsys,
		log:      log.With("file", name),
		dir:      dir,
		name:     name,
		dataName: dataName(name),
		jrnName:  journalName(name),
		dataPath: dataPath(dir, name),
		jrnPath:  journalPath(dir, name),
		meta:     meta,
		d:        d,
		dirID:    dirID,
	}
	// Symbolic links at any of the names are refused before anything is
	// created, and the final name's now rather than once every byte has
	// been fetched. The opens below refuse them again, for one planted
	// meanwhile.
	if err := p.checkLink(name, opSave); err != nil {
		return nil, false, err
	}
	for _, n := range []string{p.dataName, p.jrnName, p.jrnName + ".tmp"} {
		if err := p.checkLink(n, opWrite); err != nil {
			return nil, false, err
		}
	}
	f, err = d.openData(p.dataName)
	if err != nil {
		return nil, false, fileErr("cannot open the partial file "+p.dataPath, err)
	}
	if err := f.lock(); err != nil {
		return nil, false, fmt.Errorf("cannot use %s: another download has it open: %w", p.dataPath, err)
	}
	p.f = f
	if p.fileID, err = f.stat(); err != nil {
		return nil, false, fmt.Errorf("cannot inspect the partial file %s: %w", p.dataPath, err)
	}

	resumed, err = p.loadJournal()
	if err != nil {
		return nil, false, err
	}
	if !resumed {
		if err := f.truncate(0); err != nil {
			return nil, false, fmt.Errorf("cannot reset the partial file %s: %w", p.dataPath, err)
		}
	}
	if p.unknownSize() {
		// Such a download cannot resume (the server serves no ranges), so
		// it keeps no journal; an old one would only mislead Find.
		if err := d.remove(p.jrnName); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, false, fmt.Errorf("cannot remove the old journal %s: %w", p.jrnPath, err)
		}
		p.logRestart(false)
		if !opts.hashAtFinish {
			p.startHash(0)
		}
		ok = true
		return p, false, nil
	}
	if err := f.allocate(meta.Size); err != nil {
		if !resumed {
			p.removeFiles()
		}
		if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
			return nil, false, fmt.Errorf("not enough disk space for %s in %s: %w", humanSize(meta.Size), dir, err)
		}
		return nil, false, fmt.Errorf("cannot make room for %s in %s: %w", humanSize(meta.Size), dir, err)
	}
	// Rewrite the journal at once: a fresh download needs one for Find,
	// and a resumed one records what is now known (a SHA-256, say).
	if err := p.writeJournal(&p.done); err != nil {
		if !resumed {
			p.removeFiles()
		}
		return nil, false, err
	}
	p.logRestart(resumed)
	if !opts.hashAtFinish {
		// A resumed download's bytes are hashed from the start, in the
		// background.
		p.startHash(prefixEnd(&p.done))
	}
	ok = true
	return p, resumed, nil
}

// WriteAt writes b at offset off of the file. It does not make anything
// durable; Commit does.
func (p *Partial) WriteAt(b []byte, off int64) (int, error) {
	if off < 0 || (!p.unknownSize() && (off > p.meta.Size || int64(len(b)) > p.meta.Size-off)) {
		return 0, fmt.Errorf("cannot write %d bytes at %d into %s: the file is %d bytes", len(b), off, p.name, p.meta.Size)
	}
	n, err := p.f.WriteAt(b, off)
	// After the write, never before: see hashWritten. An audit may
	// rewrite bytes that are durable, and hashed, already.
	p.hashWritten(off, len(b))
	if err != nil {
		return n, fmt.Errorf("cannot write into %s: %w", p.dataPath, err)
	}
	return n, nil
}

// Commit makes rs durable: it syncs the data file first, then atomically
// rewrites the journal with rs added. The caller must have finished every
// WriteAt for rs before calling it. If the folder or the partial file was
// deleted or replaced since Open, it writes nothing and returns an error
// matching ErrFolderGone.
func (p *Partial) Commit(rs []span.Range) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return fmt.Errorf("cannot commit to %s: it is closed", p.name)
	}
	if err := p.checkInPlace(); err != nil {
		return err
	}
	next := p.done.Clone()
	for _, r := range rs {
		if r.Off < 0 || (!p.unknownSize() && r.End > p.meta.Size) {
			return fmt.Errorf("cannot commit %v to %s: the file is %d bytes", r, p.name, p.meta.Size)
		}
		next.Add(r)
	}
	if next.Equal(&p.done) {
		return nil
	}
	if err := p.f.datasync(); err != nil {
		return fmt.Errorf("cannot sync %s to disk: %w", p.dataPath, err)
	}
	if !p.unknownSize() {
		if err := p.writeJournal(&next); err != nil {
			// The folder may have gone between the check above and the
			// write: say so, rather than what the write tripped on.
			if gone := p.checkInPlace(); gone != nil {
				return gone
			}
			return err
		}
	}
	p.done = next
	p.hashDurable(prefixEnd(&next))
	return nil
}

// prefixEnd is where the ranges of s that start at byte 0 end: 0 if none
// does.
func prefixEnd(s *span.Set) int64 {
	if first, ok := s.First(); ok && first.Off == 0 {
		return first.End
	}
	return 0
}

// Done returns the ranges known to be durable.
func (p *Partial) Done() span.Set {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.done.Clone()
}

// Meta returns the description the partial was opened with; its Name is
// the final name asked for.
func (p *Partial) Meta() Meta { return p.meta }

// RestartReason says why an earlier partial under this name was not
// resumed, or is empty if there was none or it was resumed.
func (p *Partial) RestartReason() string { return p.reason }

// Finish verifies the complete file and moves it into place under its
// name, or the first free "name (N).ext", and returns that path; Sum then
// returns its SHA-256. The partial is closed afterwards, unless Finish
// fails before verifying (the file is incomplete, or its folder is gone:
// an error matching ErrFolderGone, as for Commit); Close or Discard then
// still apply.
func (p *Partial) Finish() (finalPath string, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return "", fmt.Errorf("cannot finish %s: it is closed", p.name)
	}
	if err := p.checkInPlace(); err != nil {
		return "", err
	}
	size := p.meta.Size
	if p.unknownSize() {
		// The stream's end decided the size: the bytes must run from 0
		// without a hole.
		size = p.done.Size()
		if first, _ := p.done.First(); p.done.Len() > 1 || first.Off != 0 {
			return "", fmt.Errorf("cannot finish %s: its bytes %v have holes", p.name, p.done)
		}
		if err := p.f.truncate(size); err != nil {
			return "", fmt.Errorf("cannot set the length of %s: %w", p.dataPath, err)
		}
	} else if have := p.done.Size(); have != size {
		return "", fmt.Errorf("cannot finish %s: only %d of its %d bytes are done", p.name, have, size)
	}
	if err := p.f.datasync(); err != nil {
		return "", fmt.Errorf("cannot sync %s to disk: %w", p.dataPath, err)
	}
	sum, err := p.verifyLocked(size)
	if err != nil {
		if errors.Is(err, ErrChecksum) {
			p.closeLocked()
			p.removeFiles()
			return "", fmt.Errorf("%w; the data was deleted so a retry starts clean", err)
		}
		return "", err
	}
	// Closed before the move, which some systems require.
	p.closeLocked()
	finalPath, err = p.place()
	if err != nil {
		if gone := p.checkInPlace(); gone != nil {
			return "", gone
		}
		return "", err
	}
	if err := p.d.sync(); err != nil {
		return "", fmt.Errorf("cannot sync the folder %s: %w", p.dir, err)
	}
	// Last, so that a crash before this point still finds a journal.
	if err := p.d.remove(p.jrnName); err != nil && !errors.Is(err, fs.ErrNotExist) {
		p.log.Warn("cannot remove the journal", "path", p.jrnPath, "err", err)
	}
	p.closeDir()
	p.sum, p.sumOK = sum, true
	p.log.Info("download in place", "path", finalPath)
	return finalPath, nil
}

// Verify checks the whole file against Meta.SHA256, when there is one,
// and keeps everything as it is either way: a caller that knows who
// fetched which bytes can then find and repair the wrong ones (core's
// blame) before Finish. The error wraps ErrChecksum on a mismatch. It
// reads back only what the running hash has not covered yet: nothing
// after a Verify that nobody wrote to since, everything after a repair.
func (p *Partial) Verify() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return fmt.Errorf("cannot verify %s: it is closed", p.name)
	}
	if err := p.f.datasync(); err != nil {
		return fmt.Errorf("cannot sync %s to disk: %w", p.dataPath, err)
	}
	if p.meta.SHA256 == "" {
		return nil // nothing to check against: spare the hashing
	}
	size := p.meta.Size
	if p.unknownSize() {
		size = p.done.Size()
	}
	_, err := p.verifyLocked(size)
	return err
}

// verifyLocked returns the SHA-256 of the first size bytes, checked
// against Meta.SHA256 when there is one; p.mu is held.
func (p *Partial) verifyLocked(size int64) ([32]byte, error) {
	sum, err := p.sumLocked(size)
	if err != nil {
		return sum, fmt.Errorf("cannot read %s back to verify it: %w", p.dataPath, err)
	}
	want := strings.ToLower(p.meta.SHA256)
	if got := hex.EncodeToString(sum[:]); want != "" && got != want {
		return sum, fmt.Errorf("%s is corrupt: its SHA-256 is %s, not %s: %w", p.name, got, want, ErrChecksum)
	}
	return sum, nil
}

// Discard cancels the download: it closes and removes the partial file
// and its journal.
func (p *Partial) Discard() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closeLocked()
	if p.dirClosed {
		// After a Finish or a Close: find the folder again by its path.
		// Removing names never follows a link, so this is safe.
		d, err := p.fs.openFolder(p.dir)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("cannot remove the partial files of %s: %w", p.name, err)
		}
		p.d, p.dirClosed = d, false
	}
	defer p.closeDir()
	return p.removeFiles()
}

// Close closes the partial file and keeps it and its journal for a later
// resume. Closing twice is harmless.
func (p *Partial) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	defer p.closeDir()
	return p.closeLocked()
}

// Remove deletes the partial file and journal that a download named name
// left in dir, if any: for a canceled download whose partial is not open.
func Remove(dir, name string) error {
	if err := checkName(name); err != nil {
		return fmt.Errorf("cannot remove the partial files of %q: %w", name, err)
	}
	d, err := osFS{}.openFolder(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // no folder, no partial files
	}
	if err != nil {
		return fmt.Errorf("cannot remove the partial files of %s: %w", name, err)
	}
	defer d.close()
	p := &Partial{
		fs: osFS{}, dir: dir, name: name, d: d,
		dataName: dataName(name), jrnName: journalName(name),
		dataPath: dataPath(dir, name), jrnPath: journalPath(dir, name),
	}
	return p.removeFiles()
}

// Find reports the name of a partial in dir downloaded from url, if there
// is one, so a repeated download picks up where the last one stopped. Only
// the scheme, host and path of the URLs count, so a newly signed link to
// the same object finds it. Among several it picks the one with the most
// bytes done. FindFile, which also checks that the file is unchanged, is
// better once the origin was probed.
func Find(dir, url string) (name string, ok bool) {
	want := place(url)
	return find(osFS{}, dir, func(m Meta) bool { return place(m.URL) == want })
}

// FindFile reports the name of a partial in dir that Open would resume as
// the file meta describes: same address (or same SHA-256 from anywhere),
// same size, same validators, by the rules of the package doc. meta.Name
// is ignored. Among several it picks the one with the most bytes done.
func FindFile(dir string, meta Meta) (name string, ok bool) {
	return find(osFS{}, dir, func(m Meta) bool { return sameFile(m, meta) == "" })
}

// find looks through dir's journals for the best partial whose recorded
// Meta matches.
func find(fsys fileSystem, dir string, match func(Meta) bool) (string, bool) {
	d, err := fsys.openFolder(dir)
	if err != nil {
		return "", false
	}
	defer d.close()
	names, err := d.readDirNames()
	if err != nil {
		return "", false
	}
	var best string
	var bestDone int64 = -1
	for i, n := range names {
		if i >= maxNumbered {
			break
		}
		if !strings.HasPrefix(n, ".") || !strings.HasSuffix(n, ".dlpart.journal") {
			continue
		}
		// Neither is followed if it is a symbolic link.
		b, err := d.readFile(n, maxJournal)
		if err != nil {
			continue
		}
		j, err := decodeJournal(b)
		if err != nil || journalName(j.meta.Name) != n || !match(j.meta) {
			continue
		}
		if fi, err := d.lstat(dataName(j.meta.Name)); err != nil || !fi.Mode().IsRegular() {
			continue
		}
		if d := j.done.Size(); d > bestDone || (d == bestDone && j.meta.Name < best) {
			best, bestDone = j.meta.Name, d
		}
	}
	return best, bestDone >= 0
}

func dataName(name string) string    { return "." + name + ".dlpart" }
func journalName(name string) string { return dataName(name) + ".journal" }

func dataPath(dir, name string) string    { return filepath.Join(dir, dataName(name)) }
func journalPath(dir, name string) string { return filepath.Join(dir, journalName(name)) }

// fileErr wraps err with what failed, except a refusal (a name that is a
// symbolic link, say), which is already one sentence naming the file.
func fileErr(what string, err error) error {
	if re, ok := errors.AsType[*osutil.RefusedError](err); ok {
		return re
	}
	return fmt.Errorf("%s: %w", what, err)
}

// checkName accepts a plain file name: nothing that names another folder
// or a special entry.
func checkName(name string) error {
	switch {
	case name == "":
		return errors.New("the name is empty")
	case name == "." || name == "..":
		return errors.New("the name is a folder reference")
	case strings.ContainsAny(name, "/\\\x00"):
		return errors.New("the name contains a path separator or NUL")
	case len(name) > 200:
		return errors.New("the name is longer than 200 bytes")
	}
	return nil
}

func (p *Partial) unknownSize() bool { return p.meta.Size < 0 }

func (p *Partial) logRestart(resumed bool) {
	if p.reason != "" {
		p.log.Info("starting the download over", "reason", p.reason)
	} else if resumed {
		p.log.Info("resuming the download", "done", p.done.Size(), "size", p.meta.Size)
	}
}

// loadJournal reads an existing journal and decides whether to resume.
func (p *Partial) loadJournal() (bool, error) {
	b, err := p.d.readFile(p.jrnName, maxJournal)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fileErr("cannot read the journal "+p.jrnPath, err)
	}
	j, err := decodeJournal(b)
	if err != nil {
		p.reason = "the journal is damaged: " + err.Error()
		return false, nil
	}
	if why := sameFile(j.meta, p.meta); why != "" {
		p.reason = why
		return false, nil
	}
	size, err := p.f.size()
	if err != nil {
		return false, fmt.Errorf("cannot inspect the partial file %s: %w", p.dataPath, err)
	}
	if size != p.meta.Size {
		p.reason = fmt.Sprintf("the partial file is %d bytes, not %d", size, p.meta.Size)
		return false, nil
	}
	p.done = j.done
	return true, nil
}

// checkInPlace fails with ErrFolderGone unless the folder path still names
// the folder Open used and the data file is still linked in it. Without
// this, a folder deleted (or swapped for a new one) mid-download would go
// unnoticed until the final move, after every byte had been fetched into
// an unlinked file.
//
// The folder's path is looked up afresh (following symbolic links, as the
// user's choice of folder may contain some) and must still lead to the
// folder the handle holds; the data file is looked up through the handle
// and must not have been replaced, by a symbolic link or anything else.
func (p *Partial) checkInPlace() error {
	for _, c := range []struct {
		path, what string
		id         fs.FileInfo
		stat       func() (fs.FileInfo, error)
	}{
		{p.dir, "the folder", p.dirID, func() (fs.FileInfo, error) { return p.fs.stat(p.dir) }},
		{p.dataPath, "the partial file", p.fileID, func() (fs.FileInfo, error) { return p.d.lstat(p.dataName) }},
	} {
		fi, err := c.stat()
		if err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
			return fmt.Errorf("cannot check that %s %s is still there: %w", c.what, c.path, err)
		}
		if err != nil || !os.SameFile(fi, c.id) {
			return &goneError{what: c.what, path: c.path}
		}
	}
	return nil
}

// goneError reads as one sentence and matches ErrFolderGone.
type goneError struct{ what, path string }

func (e *goneError) Error() string {
	return fmt.Sprintf("%s %s was deleted or replaced during the download; stopping so nothing more is written into a file nobody can see",
		e.what, e.path)
}

func (e *goneError) Is(target error) bool { return target == ErrFolderGone }

// writeJournal atomically replaces the journal with one recording done.
func (p *Partial) writeJournal(done *span.Set) error {
	j := journal{meta: p.meta, done: done.Clone()}
	tmp := p.jrnName + ".tmp"
	// writeFileSync refuses a symbolic link at tmp; the rename replaces
	// one at the journal's name rather than follow it.
	if err := p.d.writeFileSync(tmp, j.encode()); err != nil {
		if _, refused := errors.AsType[*osutil.RefusedError](err); refused {
			return err // one sentence naming the file already
		}
		p.d.remove(tmp)
		return fmt.Errorf("cannot write the journal %s: %w", p.jrnPath, err)
	}
	if err := p.d.rename(tmp, p.jrnName); err != nil {
		p.d.remove(tmp)
		return fmt.Errorf("cannot write the journal %s: %w", p.jrnPath, err)
	}
	if err := p.d.sync(); err != nil {
		return fmt.Errorf("cannot sync the folder %s: %w", p.dir, err)
	}
	return nil
}

// place moves the verified data file to the first free final name. A
// name taken by a symbolic link stops it with a refusal rather than a
// quiet "NAME (1)": the link is not replaced, and the user learns that
// someone planted it.
func (p *Partial) place() (string, error) {
	for i := range maxNumbered {
		name := numbered(p.name, i)
		target := filepath.Join(p.dir, name)
		if err := p.checkLink(name, opSave); err != nil {
			return "", err
		}
		err := p.moveNoReplace(p.dataName, name)
		if err == nil {
			return target, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("cannot move %s into place as %s: %w", p.dataPath, target, err)
		}
	}
	return "", fmt.Errorf("cannot move %s into place: %s and %d numbered variants are all taken",
		p.dataPath, p.name, maxNumbered-1)
}

// What a refusal says was not done: "refusing to write through PATH: …".
const (
	opWrite = "write through"
	opSave  = "save the download as"
)

// checkLink refuses a name in the folder that is a symbolic link.
func (p *Partial) checkLink(name, op string) error {
	fi, err := p.d.lstat(name)
	if err != nil || !osutil.IsSymlink(fi) {
		return nil // anything else is for the operation itself to judge
	}
	return &osutil.RefusedError{Op: op, Path: filepath.Join(p.dir, name), Err: osutil.ErrSymlink}
}

// moveNoReplace renames old to new in the folder, failing with fs.ErrExist
// if new exists.
func (p *Partial) moveNoReplace(old, new string) error {
	err := p.d.renameNoReplace(old, new)
	if !errors.Is(err, errUnsupported) {
		return err
	}
	err = p.d.link(old, new)
	if err == nil {
		if err := p.d.remove(old); err != nil {
			p.log.Warn("cannot remove the partial file's old name", "path", filepath.Join(p.dir, old), "err", err)
		}
		return nil
	}
	if errors.Is(err, fs.ErrExist) {
		return err
	}
	// No hard links here (FAT, exFAT, some network shares): check for
	// the name, then rename. Another program could take the name in
	// between; nothing better is available on such file systems.
	if _, err := p.d.lstat(new); !errors.Is(err, fs.ErrNotExist) {
		if err == nil {
			return fs.ErrExist
		}
		return err
	}
	return p.d.rename(old, new)
}

func (p *Partial) closeLocked() error {
	if p.closed {
		return nil
	}
	p.closed = true
	p.stopHash() // it reads the file
	if err := p.f.close(); err != nil {
		return fmt.Errorf("cannot close %s: %w", p.dataPath, err)
	}
	return nil
}

// closeDir lets go of the folder.
func (p *Partial) closeDir() {
	if p.dirClosed {
		return
	}
	p.dirClosed = true
	if err := p.d.close(); err != nil {
		p.log.Warn("cannot close the folder", "path", p.dir, "err", err)
	}
}

// removeFiles deletes the data file and journal and syncs the folder.
func (p *Partial) removeFiles() error {
	var errs []error
	for _, name := range []string{p.dataName, p.jrnName, p.jrnName + ".tmp"} {
		// A symbolic link there is removed itself, never its target.
		if err := p.d.remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := p.d.sync(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("cannot remove the partial files of %s: %w", p.name, err)
	}
	return nil
}

// numbered is name for i == 0, else "stem (i).ext": "a.iso" becomes
// "a (1).iso", "a.tar.gz" becomes "a (1).tar.gz", ".rc" becomes ".rc (1)".
func numbered(name string, i int) string {
	if i == 0 {
		return name
	}
	stem, ext := splitExt(name)
	return fmt.Sprintf("%s (%d)%s", stem, i, ext)
}

func splitExt(name string) (stem, ext string) {
	dot := strings.LastIndexByte(name, '.')
	if dot <= 0 {
		return name, ""
	}
	stem, ext = name[:dot], name[dot:]
	if inner := strings.LastIndexByte(stem, '.'); inner > 0 && strings.EqualFold(stem[inner:], ".tar") {
		stem, ext = stem[:inner], stem[inner:]+ext
	}
	return stem, ext
}

// humanSize formats n bytes for a message: "512 bytes", "256 MiB", "1.5 GiB".
func humanSize(n int64) string {
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	if n < 1024 {
		return fmt.Sprintf("%d bytes", n)
	}
	v := float64(n) / 1024
	u := 0
	for v >= 1024 && u < len(units)-1 {
		v /= 1024
		u++
	}
	s := fmt.Sprintf("%.1f", v)
	s = strings.TrimSuffix(s, ".0")
	return s + " " + units[u]
}
