package store

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"runtime"
	"slices"
)

// fileSystem is every operation store performs on folders and files. The
// real one is osFS; tests wrap it to record the order of calls or to inject
// faults such as a full disk.
type fileSystem interface {
	mkdirAll(dir string) error
	openData(path string) (dataFile, error)
	readFile(path string, limit int64) ([]byte, error)
	readDirNames(dir string) ([]string, error)
	writeFileSync(path string, b []byte) error
	rename(old, new string) error
	// renameNoReplace fails with an error matching fs.ErrExist when new
	// exists, and with errUnsupported when the system cannot do it.
	renameNoReplace(old, new string) error
	link(old, new string) error
	stat(path string) (fs.FileInfo, error)
	remove(path string) error
	syncDir(dir string) error
}

// dataFile is the open partial file.
type dataFile interface {
	io.ReaderAt
	io.WriterAt
	lock() error                // exclusive, fails at once if held elsewhere
	size() (int64, error)       // current length
	stat() (fs.FileInfo, error) // identity of the open file, to compare with a path's
	truncate(n int64) error     // set the length
	allocate(n int64) error     // make n bytes exist and, where possible, reserve the space
	datasync() error            // make written data durable
	close() error
}

var errUnsupported = errors.New("not supported on this system")

type osFS struct{}

type osFile struct{ *os.File }

func (osFS) mkdirAll(dir string) error { return os.MkdirAll(dir, 0o755) }

func (osFS) openData(path string) (dataFile, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	return osFile{f}, nil
}

func (osFS) readFile(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// One byte more than allowed, so the decoder sees it is too long.
	return io.ReadAll(io.LimitReader(f, limit+1))
}

func (osFS) readDirNames(dir string) ([]string, error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	names, err := d.Readdirnames(maxNumbered)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	slices.Sort(names)
	return names, nil
}

func (osFS) writeFileSync(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (osFS) rename(old, new string) error          { return os.Rename(old, new) }
func (osFS) renameNoReplace(old, new string) error { return renameNoReplace(old, new) }
func (osFS) link(old, new string) error            { return os.Link(old, new) }
func (osFS) stat(path string) (fs.FileInfo, error) { return os.Stat(path) }
func (osFS) remove(path string) error              { return os.Remove(path) }

func (osFS) syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		// Windows cannot open a folder for syncing; NTFS journals
		// renames itself.
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func (f osFile) size() (int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

func (f osFile) stat() (fs.FileInfo, error) { return f.Stat() }
func (f osFile) truncate(n int64) error     { return f.Truncate(n) }
func (f osFile) close() error               { return f.Close() }
