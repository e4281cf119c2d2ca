package osutil

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
)

// Reasons a Dir refuses a name. They are matched with errors.Is on the
// *RefusedError a Dir returns.
var (
	// ErrSymlink: the name is a symbolic link (on Windows, any reparse
	// point). It is never followed: in a folder others can write to, it
	// would let them choose which file receives our bytes.
	ErrSymlink = errors.New("it is a symbolic link")
	// ErrNotRegular: the name is a folder, FIFO, device or socket where a
	// file was expected.
	ErrNotRegular = errors.New("it is not a regular file")
	// ErrHardLinked: the file has other names. A hard link planted under
	// our name would let writes reach, and reads reveal, a file kept
	// elsewhere, just as a symbolic link would.
	ErrHardLinked = errors.New("it has other hard links")
	// ErrReplaced: the name changed between the check and the open, so
	// what was opened is not what was checked.
	ErrReplaced = errors.New("it was replaced while being opened")
)

// RefusedError says, in one sentence, that a file or folder was not used
// and why: "refusing to write through /dl/.x.iso.dlpart: it is a symbolic
// link". Err is one of ErrSymlink, ErrNotRegular, ErrHardLinked and
// ErrReplaced.
type RefusedError struct {
	Op   string // "read", "write through" or "use"
	Path string
	Err  error
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("refusing to %s %s: %v", e.Op, e.Path, e.Err)
}
func (e *RefusedError) Unwrap() error { return e.Err }

// IsSymlink reports whether fi, from an Lstat, describes a symbolic link,
// or on Windows any reparse point Go does not recognize (a junction, say).
func IsSymlink(fi fs.FileInfo) bool {
	return fi.Mode()&fs.ModeSymlink != 0 || (runtime.GOOS == "windows" && fi.Mode()&fs.ModeIrregular != 0)
}

// Dir is an open folder whose files are reached only through its handle
// and only by plain names (no separators, no "." or ".."). A folder path
// that is renamed, deleted or swapped for a symbolic link after OpenDir
// does not redirect anything: the handle still names the folder that was
// opened. A name that is a symbolic link is never followed: opening it is
// refused, and renames and removals act on the link itself. Opened files
// must be regular files with a single link.
//
// On Unix this rests on openat with O_NOFOLLOW and the other *at system
// calls. Elsewhere (Windows) the nearest equivalent is used: os.Root, an
// Lstat before the open and a comparison of identities after it.
type Dir struct {
	root *os.Root
	f    *os.File // the same folder, for fsync and the *at system calls
}

// OpenDir opens the folder at path. Symbolic links within path itself are
// followed: it is the user's choice of folder.
func OpenDir(path string) (*Dir, error) {
	root, err := os.OpenRoot(path)
	if err != nil {
		return nil, err
	}
	return newDir(root)
}

// Path is the folder's path as it was opened, for messages.
func (d *Dir) Path() string { return d.root.Name() }

// Close releases the folder's handles.
func (d *Dir) Close() error {
	return errors.Join(d.f.Close(), d.root.Close())
}

// Stat describes the folder the handle holds, wherever it now is.
func (d *Dir) Stat() (fs.FileInfo, error) { return d.f.Stat() }

// Lstat describes name itself, not what a symbolic link points to.
func (d *Dir) Lstat(name string) (fs.FileInfo, error) {
	if err := d.checkName("lstat", name); err != nil {
		return nil, err
	}
	return d.root.Lstat(name)
}

// OpenDir opens the subfolder name, refusing a symbolic link.
func (d *Dir) OpenDir(name string) (*Dir, error) {
	fi, err := d.Lstat(name)
	if err != nil {
		return nil, err
	}
	if err := refuse(fi, "use", d.join(name)); err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, &fs.PathError{Op: "open", Path: d.join(name), Err: errors.New("not a folder")}
	}
	root, err := d.root.OpenRoot(name)
	if err != nil {
		return nil, err
	}
	sub, err := newDir(root)
	if err != nil {
		return nil, err
	}
	// os.Root follows a symbolic link that stays inside d; one swapped in
	// since the Lstat shows up as another folder.
	if got, err := sub.Stat(); err != nil || !os.SameFile(fi, got) {
		sub.Close()
		if err != nil {
			return nil, err
		}
		return nil, &RefusedError{Op: "use", Path: d.join(name), Err: ErrReplaced}
	}
	return sub, nil
}

// Mkdir creates the subfolder name. An existing name, a symbolic link
// included, fails with an error matching fs.ErrExist.
func (d *Dir) Mkdir(name string, perm fs.FileMode) error {
	if err := d.checkName("mkdir", name); err != nil {
		return err
	}
	return d.root.Mkdir(name, perm)
}

// Open opens name for reading; see OpenFile.
func (d *Dir) Open(name string) (*os.File, error) { return d.OpenFile(name, os.O_RDONLY, 0) }

// OpenFile opens name like os.OpenFile, never following a symbolic link
// and refusing anything but a regular file with one link (a *RefusedError).
// With O_CREATE it creates a missing file with perm. O_TRUNC applies only
// once those checks have passed, so a refused name is never truncated.
func (d *Dir) OpenFile(name string, flag int, perm fs.FileMode) (*os.File, error) {
	if err := d.checkName("open", name); err != nil {
		return nil, err
	}
	trunc := flag&os.O_TRUNC != 0
	f, err := d.openNoFollow(name, flag&^os.O_TRUNC, perm)
	if err != nil {
		return nil, err
	}
	if trunc {
		if err := f.Truncate(0); err != nil {
			f.Close()
			return nil, err
		}
	}
	return f, nil
}

// Create creates name afresh for writing with mode perm, removing a
// regular file left under that name (by a crash, say). A symbolic link
// there is refused, neither followed nor removed.
func (d *Dir) Create(name string, perm fs.FileMode) (*os.File, error) {
	if err := d.checkName("create", name); err != nil {
		return nil, err
	}
	if fi, err := d.root.Lstat(name); err == nil {
		if err := refuse(fi, "write through", d.join(name)); err != nil {
			return nil, err
		}
		if err := d.root.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	// O_EXCL: the kernel itself refuses any name that appeared since,
	// symbolic links included.
	f, err := d.openNoFollow(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if errors.Is(err, fs.ErrExist) {
		if fi, lerr := d.root.Lstat(name); lerr == nil {
			if rerr := refuse(fi, "write through", d.join(name)); rerr != nil {
				return nil, rerr
			}
		}
	}
	if err != nil {
		return nil, err
	}
	// Exactly perm, whatever the umask.
	if err := f.Chmod(perm); err != nil {
		f.Close()
		d.root.Remove(name)
		return nil, err
	}
	return f, nil
}

// WriteFileAtomic replaces name with data and mode perm, like the
// package's WriteFileAtomic, inside this folder: a new temporary file,
// synced and renamed over name, then the folder synced. A symbolic link
// or hard link at name is replaced, never written through.
func (d *Dir) WriteFileAtomic(name string, data []byte, perm fs.FileMode) error {
	if err := d.checkName("write", name); err != nil {
		return err
	}
	var rnd [6]byte
	rand.Read(rnd[:])
	tmp := "." + name + ".tmp-" + hex.EncodeToString(rnd[:])
	f, err := d.Create(tmp, perm)
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", d.join(name), err)
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			d.root.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("cannot write %s: %w", d.join(name), err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("cannot write %s: %w", d.join(name), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("cannot write %s: %w", d.join(name), err)
	}
	if err := d.root.Rename(tmp, name); err != nil {
		return fmt.Errorf("cannot write %s: %w", d.join(name), err)
	}
	ok = true
	return d.Sync()
}

// ReadFile reads at most limit bytes of name, opened as by Open.
func (d *Dir) ReadFile(name string, limit int64) ([]byte, error) {
	f, err := d.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, limit))
}

// Rename renames old to new within the folder, replacing new if it
// exists. Neither name is followed if it is a symbolic link.
func (d *Dir) Rename(old, new string) error {
	if err := d.checkName("rename", old); err != nil {
		return err
	}
	if err := d.checkName("rename", new); err != nil {
		return err
	}
	return d.root.Rename(old, new)
}

// RenameNoReplace renames old to new within the folder, failing with an
// error matching fs.ErrExist if new exists (as anything, a symbolic link
// included), and with errors.ErrUnsupported where the system or file
// system cannot do it in one step (renameat2 with RENAME_NOREPLACE on
// Linux, renameatx_np with RENAME_EXCL on macOS).
func (d *Dir) RenameNoReplace(old, new string) error {
	if err := d.checkName("rename", old); err != nil {
		return err
	}
	if err := d.checkName("rename", new); err != nil {
		return err
	}
	return d.renameNoReplace(old, d, new)
}

// MoveTo moves old into the open folder to (on the same file system) as
// new, never replacing anything there: it fails with an error matching
// fs.ErrExist if new exists. It renames in one step where it can, else it
// makes a hard link and removes old, and on file systems without hard
// links it checks for new just before a plain rename.
func (d *Dir) MoveTo(old string, to *Dir, new string) error {
	if err := d.checkName("rename", old); err != nil {
		return err
	}
	if err := to.checkName("rename", new); err != nil {
		return err
	}
	err := d.renameNoReplace(old, to, new)
	if !errors.Is(err, errors.ErrUnsupported) {
		return err
	}
	err = d.linkAt(old, to, new)
	if err == nil {
		return d.root.Remove(old)
	}
	if errors.Is(err, fs.ErrExist) {
		return err
	}
	if _, err := to.root.Lstat(new); !errors.Is(err, fs.ErrNotExist) {
		if err == nil {
			return &fs.PathError{Op: "rename", Path: to.join(new), Err: fs.ErrExist}
		}
		return err
	}
	return d.renameAt(old, to, new)
}

// Link gives the file old the second name new in the folder; it fails
// with an error matching fs.ErrExist if new exists. A symbolic link at
// old is linked itself, not followed.
func (d *Dir) Link(old, new string) error {
	if err := d.checkName("link", old); err != nil {
		return err
	}
	if err := d.checkName("link", new); err != nil {
		return err
	}
	return d.root.Link(old, new)
}

// Remove removes name; a symbolic link is removed itself, never its
// target.
func (d *Dir) Remove(name string) error {
	if err := d.checkName("remove", name); err != nil {
		return err
	}
	return d.root.Remove(name)
}

// ReadDirNames lists up to n names in the folder (n <= 0: all), sorted.
func (d *Dir) ReadDirNames(n int) ([]string, error) {
	f, err := d.root.Open(".")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(n)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	slices.Sort(names)
	return names, nil
}

func newDir(root *os.Root) (*Dir, error) {
	f, err := root.Open(".")
	if err != nil {
		root.Close()
		return nil, err
	}
	return &Dir{root: root, f: f}, nil
}

func (d *Dir) join(name string) string { return filepath.Join(d.root.Name(), name) }

// checkName accepts a plain name in the folder, nothing that reaches
// another one.
func (d *Dir) checkName(op, name string) error {
	if name == "" || name == "." || name == ".." || filepath.Base(name) != name || !filepath.IsLocal(name) {
		return &fs.PathError{Op: op, Path: d.join(name), Err: fs.ErrInvalid}
	}
	return nil
}

// refuse returns the *RefusedError for a name described by fi that must
// not be opened or replaced: a symbolic link or any other non-regular
// file. Folders are left to the caller.
func refuse(fi fs.FileInfo, op, path string) error {
	switch {
	case IsSymlink(fi):
		return &RefusedError{Op: op, Path: path, Err: ErrSymlink}
	case fi.IsDir() && op == "use":
		return nil
	case !fi.Mode().IsRegular():
		return &RefusedError{Op: op, Path: path, Err: ErrNotRegular}
	}
	return nil
}

// opVerb names what an open with flag would do, for a RefusedError.
func opVerb(flag int) string {
	if flag&(os.O_WRONLY|os.O_RDWR|os.O_CREATE|os.O_APPEND|os.O_TRUNC) != 0 {
		return "write through"
	}
	return "read"
}
