//go:build unix

package index

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// statPath describes path itself, never what a symbolic link points to.
func statPath(path string) (fileState, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return fileState{}, err
	}
	return stateOf(fi), nil
}

// stateOf turns an Lstat or fstat result into a fileState; the file id is
// "dev:ino".
func stateOf(fi fs.FileInfo) fileState {
	st := fileState{kind: kindOther, size: fi.Size(), modTime: fi.ModTime().UTC()}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		st.kind = kindSymlink
	case fi.Mode().IsRegular():
		st.kind = kindRegular
	}
	if s, ok := fi.Sys().(*syscall.Stat_t); ok {
		st.id = fmt.Sprintf("%d:%d", s.Dev, s.Ino)
	}
	return st
}

// errNotRegular is returned by openPath for anything but a regular file.
var errNotRegular = errors.New("not a regular file")

// openPath opens path for reading with O_NOFOLLOW, so that the kernel
// refuses a symbolic link as the last component, and describes the file
// that was opened. O_NONBLOCK keeps a FIFO planted under the name from
// blocking the open; it is cleared again for a regular file, and anything
// else is closed and refused.
func openPath(path string) (*os.File, fileState, error) {
	var fd int
	var err error
	for range 100 {
		fd, err = unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		// ELOOP on Linux and macOS for a symbolic link, EMLINK on FreeBSD,
		// EFTYPE on NetBSD: the caller asks Lstat what is there.
		return nil, fileState{}, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, fileState{}, &fs.PathError{Op: "fstat", Path: path, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		unix.Close(fd)
		return nil, fileState{}, &fs.PathError{Op: "open", Path: path, Err: errNotRegular}
	}
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		return nil, fileState{}, &fs.PathError{Op: "fcntl", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fileState{}, err
	}
	return f, stateOf(fi), nil
}
