//go:build windows

package index

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/windows"
)

// shareAll lets others read, write, rename and delete the file while we
// look at it or serve it: a copy to a peer must not lock the user out.
const shareAll = windows.FILE_SHARE_READ | windows.FILE_SHARE_WRITE | windows.FILE_SHARE_DELETE

// statPath describes path itself: the name is opened with
// FILE_FLAG_OPEN_REPARSE_POINT, which opens a symbolic link (any reparse
// point) rather than its target, and only its attributes are read.
func statPath(path string) (fileState, error) {
	h, err := createFile(path, windows.FILE_READ_ATTRIBUTES, windows.FILE_FLAG_BACKUP_SEMANTICS)
	if err != nil {
		return fileState{}, &fs.PathError{Op: "lstat", Path: path, Err: err}
	}
	defer windows.CloseHandle(h)
	st, err := stateOfHandle(h)
	if err != nil {
		return fileState{}, &fs.PathError{Op: "lstat", Path: path, Err: err}
	}
	return st, nil
}

// openPath opens path for reading the same way, so that a symbolic link is
// opened as itself and then refused, never followed, and describes the
// file that was opened from its handle.
func openPath(path string) (*os.File, fileState, error) {
	h, err := createFile(path, windows.GENERIC_READ, 0)
	if err != nil {
		return nil, fileState{}, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	st, err := stateOfHandle(h)
	if err == nil && st.kind != kindRegular {
		err = errors.New("not a regular file")
	}
	if err != nil {
		windows.CloseHandle(h)
		return nil, fileState{}, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(h), path), st, nil
}

func createFile(path string, access, flags uint32) (windows.Handle, error) {
	p, err := windows.UTF16PtrFromString(longPath(path))
	if err != nil {
		return windows.InvalidHandle, err
	}
	return windows.CreateFile(p, access, shareAll, nil, windows.OPEN_EXISTING,
		windows.FILE_FLAG_OPEN_REPARSE_POINT|flags, 0)
}

// longPath gives a long absolute path the \\?\ prefix that lets
// CreateFile go past MAX_PATH. Paths reach here clean, so the prefix,
// which turns off all normalisation, changes nothing else.
func longPath(path string) string {
	switch {
	case len(path) < 248 || strings.HasPrefix(path, `\\?\`) || strings.HasPrefix(path, `\\.\`):
		return path
	case strings.HasPrefix(path, `\\`):
		return `\\?\UNC\` + path[2:]
	}
	return `\\?\` + path
}

// stateOfHandle describes an open handle; the file id is the volume serial
// number and the 64-bit file index, in hex ("vvvvvvvv:iiiiiiiiiiiiiiii").
func stateOfHandle(h windows.Handle) (fileState, error) {
	var info windows.ByHandleFileInformation
	if err := windows.GetFileInformationByHandle(h, &info); err != nil {
		return fileState{}, err
	}
	st := fileState{
		kind:    kindOther,
		size:    int64(info.FileSizeHigh)<<32 | int64(info.FileSizeLow),
		modTime: time.Unix(0, info.LastWriteTime.Nanoseconds()).UTC(),
		id:      fmt.Sprintf("%08x:%08x%08x", info.VolumeSerialNumber, info.FileIndexHigh, info.FileIndexLow),
	}
	switch {
	case info.FileAttributes&windows.FILE_ATTRIBUTE_REPARSE_POINT != 0:
		st.kind = kindSymlink
	case info.FileAttributes&windows.FILE_ATTRIBUTE_DIRECTORY != 0:
	default:
		if t, err := windows.GetFileType(h); err == nil && t == windows.FILE_TYPE_DISK {
			st.kind = kindRegular
		}
	}
	return st, nil
}
