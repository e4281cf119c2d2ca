package store

import (
	"errors"
	"io"
	"io/fs"
	"os"

	"github.com/dragonload/dragonload/core/osutil"
)

// fileSystem is every operation store performs on folders and files. The
// real one is osFS; tests wrap it to record the order of calls or to inject
// faults such as a full disk. Files are reached only through a folder,
// opened once per download, by plain names.
type fileSystem interface {
	mkdirAll(dir string) error
	// stat follows symbolic links: it tells what a folder path names now,
	// to notice the folder being replaced behind the download's back.
	stat(path string) (fs.FileInfo, error)
	openFolder(dir string) (folder, error)
}

// folder is an open folder. No operation follows a symbolic link in a
// name: opening one fails with an error matching osutil.ErrSymlink, and
// renames and removals act on the link itself.
type folder interface {
	stat() (fs.FileInfo, error) // the folder the handle holds
	lstat(name string) (fs.FileInfo, error)
	openData(name string) (dataFile, error)
	readFile(name string, limit int64) ([]byte, error)
	readDirNames() ([]string, error)
	// writeFileSync creates name afresh (removing an earlier regular file
	// of that name), writes b and syncs it.
	writeFileSync(name string, b []byte) error
	rename(old, new string) error
	// renameNoReplace fails with an error matching fs.ErrExist when new
	// exists, and with errUnsupported when the system cannot do it.
	renameNoReplace(old, new string) error
	link(old, new string) error
	remove(name string) error
	sync() error
	close() error
}

// dataFile is the open partial file.
type dataFile interface {
	io.ReaderAt
	io.WriterAt
	lock() error                // exclusive, fails at once if held elsewhere
	size() (int64, error)       // current length
	stat() (fs.FileInfo, error) // identity of the open file, to compare with a name's
	truncate(n int64) error     // set the length
	allocate(n int64) error     // make n bytes exist and, where possible, reserve the space
	datasync() error            // make written data durable
	close() error
}

var errUnsupported = errors.ErrUnsupported

type osFS struct{}

type osFolder struct{ d *osutil.Dir }

type osFile struct{ *os.File }

func (osFS) mkdirAll(dir string) error             { return os.MkdirAll(dir, 0o755) }
func (osFS) stat(path string) (fs.FileInfo, error) { return os.Stat(path) }

func (osFS) openFolder(dir string) (folder, error) {
	d, err := osutil.OpenDir(dir)
	if err != nil {
		return nil, err
	}
	return osFolder{d}, nil
}

func (f osFolder) openData(name string) (dataFile, error) {
	file, err := f.d.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	return osFile{file}, nil
}

func (f osFolder) readFile(name string, limit int64) ([]byte, error) {
	// One byte more than allowed, so the decoder sees it is too long.
	return f.d.ReadFile(name, limit+1)
}

func (f osFolder) readDirNames() ([]string, error) { return f.d.ReadDirNames(maxNumbered) }

func (f osFolder) writeFileSync(name string, b []byte) error {
	file, err := f.d.Create(name, 0o644)
	if err != nil {
		return err
	}
	if _, err := file.Write(b); err != nil {
		file.Close()
		return err
	}
	if err := file.Sync(); err != nil {
		file.Close()
		return err
	}
	return file.Close()
}

func (f osFolder) stat() (fs.FileInfo, error)             { return f.d.Stat() }
func (f osFolder) lstat(name string) (fs.FileInfo, error) { return f.d.Lstat(name) }
func (f osFolder) rename(old, new string) error           { return f.d.Rename(old, new) }
func (f osFolder) renameNoReplace(old, new string) error  { return f.d.RenameNoReplace(old, new) }
func (f osFolder) link(old, new string) error             { return f.d.Link(old, new) }
func (f osFolder) remove(name string) error               { return f.d.Remove(name) }
func (f osFolder) sync() error                            { return f.d.Sync() }
func (f osFolder) close() error                           { return f.d.Close() }

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
