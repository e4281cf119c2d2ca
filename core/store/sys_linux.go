package store

import (
	"errors"
	"io/fs"

	"golang.org/x/sys/unix"
)

// lock takes an exclusive flock, so a second process (or a second Open in
// this one) cannot write into the same partial file.
func (f osFile) lock() error {
	err := retryEINTR(func() error { return unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) })
	if err != nil {
		return &fs.PathError{Op: "flock", Path: f.Name(), Err: err}
	}
	return nil
}

// allocate reserves the blocks of the whole file, so a full disk shows now
// and not in the middle of the download. Where fallocate is missing, it
// compares the free space with what is needed, then sets the length.
func (f osFile) allocate(n int64) error {
	if n == 0 {
		return nil
	}
	fd := int(f.Fd())
	err := retryEINTR(func() error { return unix.Fallocate(fd, 0, 0, n) })
	if err == nil {
		return nil
	}
	if !errors.Is(err, unix.EOPNOTSUPP) && !errors.Is(err, unix.ENOSYS) {
		return &fs.PathError{Op: "fallocate", Path: f.Name(), Err: err}
	}
	have, err := f.size()
	if err != nil {
		return err
	}
	var st unix.Statfs_t
	if err := unix.Fstatfs(fd, &st); err == nil && n > have {
		free := st.Bavail * uint64(st.Bsize)
		if uint64(n-have) > free {
			return &fs.PathError{Op: "fallocate", Path: f.Name(), Err: unix.ENOSPC}
		}
	}
	return f.Truncate(n)
}

// datasync is fdatasync: the data and what is needed to read it back, not
// the access times.
func (f osFile) datasync() error {
	fd := int(f.Fd())
	if err := retryEINTR(func() error { return unix.Fdatasync(fd) }); err != nil {
		return &fs.PathError{Op: "fdatasync", Path: f.Name(), Err: err}
	}
	return nil
}

// retryEINTR runs op again while a signal interrupts it, a bounded number
// of times.
func retryEINTR(op func() error) error {
	var err error
	for range 100 {
		if err = op(); !errors.Is(err, unix.EINTR) {
			return err
		}
	}
	return err
}
