//go:build unix

package osutil

import (
	"errors"
	"io/fs"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// Sync makes the folder's entries (a rename, a new file) durable.
func (d *Dir) Sync() error { return d.f.Sync() }

// openNoFollow opens name with openat(O_NOFOLLOW) relative to the folder's
// handle, so the kernel refuses a symbolic link, then checks with fstat
// that it holds a regular file with a single link. O_NONBLOCK keeps a FIFO
// planted under the name from blocking the open; it is cleared again for
// the regular file.
func (d *Dir) openNoFollow(name string, flag int, perm fs.FileMode) (*os.File, error) {
	path := d.join(name)
	var fd int
	err := d.at(func(dirfd int) error {
		var err error
		fd, err = retryEINTR(func() (int, error) {
			return unix.Openat(dirfd, name, flag|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, uint32(perm.Perm()))
		})
		return err
	})
	if err != nil {
		// Linux and macOS say ELOOP for a symbolic link, FreeBSD EMLINK,
		// NetBSD EFTYPE: ask the folder rather than the error.
		if fi, lerr := d.root.Lstat(name); lerr == nil {
			if rerr := refuse(fi, opVerb(flag), path); rerr != nil && !errors.Is(err, syscall.EEXIST) {
				return nil, rerr
			}
		}
		return nil, &fs.PathError{Op: "openat", Path: path, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, &fs.PathError{Op: "fstat", Path: path, Err: err}
	}
	switch {
	case st.Mode&unix.S_IFMT != unix.S_IFREG:
		unix.Close(fd)
		return nil, &RefusedError{Op: opVerb(flag), Path: path, Err: ErrNotRegular}
	case uint64(st.Nlink) > 1:
		unix.Close(fd)
		return nil, &RefusedError{Op: opVerb(flag), Path: path, Err: ErrHardLinked}
	}
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		return nil, &fs.PathError{Op: "fcntl", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}

// renameNoReplace renames in one step where the system can, else fails
// with errors.ErrUnsupported.
func (d *Dir) renameNoReplace(old string, to *Dir, new string) error {
	err := d.at(func(fromfd int) error {
		return to.at(func(tofd int) error {
			_, err := retryEINTR(func() (int, error) { return 0, renameNoReplaceAt(fromfd, old, tofd, new) })
			return err
		})
	})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errors.ErrUnsupported):
		return err
	case errors.Is(err, unix.EINVAL), errors.Is(err, unix.ENOSYS), errors.Is(err, unix.ENOTSUP), errors.Is(err, unix.EOPNOTSUPP):
		// A file system without the flag (some network file systems,
		// older kernels).
		return errors.ErrUnsupported
	}
	return &os.LinkError{Op: "rename", Old: d.join(old), New: to.join(new), Err: err}
}

// at runs op with the folder's descriptor, kept open meanwhile.
func (d *Dir) at(op func(fd int) error) error {
	rc, err := d.f.SyscallConn()
	if err != nil {
		return err
	}
	var opErr error
	if err := rc.Control(func(fd uintptr) { opErr = op(int(fd)) }); err != nil {
		return err
	}
	return opErr
}

// retryEINTR runs op again while a signal interrupts it, a bounded number
// of times.
func retryEINTR(op func() (int, error)) (int, error) {
	var n int
	var err error
	for range 100 {
		if n, err = op(); !errors.Is(err, unix.EINTR) {
			return n, err
		}
	}
	return n, err
}

// linkAt is linkat without AT_SYMLINK_FOLLOW: a symbolic link is linked
// itself.
func (d *Dir) linkAt(old string, to *Dir, new string) error {
	err := d.at(func(fromfd int) error {
		return to.at(func(tofd int) error { return unix.Linkat(fromfd, old, tofd, new, 0) })
	})
	if err != nil {
		return &os.LinkError{Op: "linkat", Old: d.join(old), New: to.join(new), Err: err}
	}
	return nil
}

// renameAt is renameat, which acts on the names, never on what a symbolic
// link points to.
func (d *Dir) renameAt(old string, to *Dir, new string) error {
	err := d.at(func(fromfd int) error {
		return to.at(func(tofd int) error { return unix.Renameat(fromfd, old, tofd, new) })
	})
	if err != nil {
		return &os.LinkError{Op: "renameat", Old: d.join(old), New: to.join(new), Err: err}
	}
	return nil
}
