//go:build !unix && !windows

package index

import (
	"errors"
	"io/fs"
	"os"

	"github.com/dragonload/dragonload/core/osutil"
)

// statPath describes path itself, never what a symbolic link points to.
// No file id is known here.
func statPath(path string) (fileState, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return fileState{}, err
	}
	return stateOf(fi), nil
}

func stateOf(fi fs.FileInfo) fileState {
	st := fileState{kind: kindOther, size: fi.Size(), modTime: fi.ModTime().UTC()}
	switch {
	case osutil.IsSymlink(fi):
		st.kind = kindSymlink
	case fi.Mode().IsRegular():
		st.kind = kindRegular
	}
	return st
}

// openPath is the nearest equivalent of O_NOFOLLOW available here: path is
// checked with Lstat before the open and the opened file compared with it
// after, and anything but the regular file that was checked is refused.
func openPath(path string) (*os.File, fileState, error) {
	before, err := os.Lstat(path)
	if err != nil {
		return nil, fileState{}, err
	}
	if stateOf(before).kind != kindRegular {
		return nil, fileState{}, &fs.PathError{Op: "open", Path: path, Err: errors.New("not a regular file")}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fileState{}, err
	}
	got, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fileState{}, err
	}
	if !got.Mode().IsRegular() || !os.SameFile(before, got) {
		f.Close()
		return nil, fileState{}, &fs.PathError{Op: "open", Path: path, Err: osutil.ErrReplaced}
	}
	return f, stateOf(got), nil
}
