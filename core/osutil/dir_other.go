//go:build !unix

package osutil

import (
	"errors"
	"io/fs"
	"os"
	"runtime"
)

// Sync makes the folder's entries durable. Windows cannot open a folder
// for syncing; NTFS journals renames itself.
func (d *Dir) Sync() error {
	if runtime.GOOS == "windows" {
		return nil
	}
	return d.f.Sync()
}

// openNoFollow is the nearest equivalent of openat(O_NOFOLLOW) that os.Root
// offers here: os.Root follows a symbolic link (a reparse point on
// Windows) only within the folder, so the name is checked with Lstat
// before the open and the open file compared with it after, and anything
// but the regular file that was checked is refused. Windows reports no
// link count, so hard links cannot be told apart here.
func (d *Dir) openNoFollow(name string, flag int, perm fs.FileMode) (*os.File, error) {
	path := d.join(name)
	before, lerr := d.root.Lstat(name)
	if lerr == nil {
		if err := refuse(before, opVerb(flag), path); err != nil {
			return nil, err
		}
	} else if !errors.Is(lerr, fs.ErrNotExist) {
		return nil, lerr
	}
	f, err := d.root.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	got, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !got.Mode().IsRegular() {
		f.Close()
		return nil, &RefusedError{Op: opVerb(flag), Path: path, Err: ErrNotRegular}
	}
	if lerr != nil {
		// Created just now, or so it seemed: the name must hold the file
		// that was opened, not a link to it.
		if before, lerr = d.root.Lstat(name); lerr != nil {
			f.Close()
			return nil, lerr
		}
		if err := refuse(before, opVerb(flag), path); err != nil {
			f.Close()
			return nil, err
		}
	}
	if !os.SameFile(before, got) {
		f.Close()
		return nil, &RefusedError{Op: opVerb(flag), Path: path, Err: ErrReplaced}
	}
	return f, nil
}

// renameNoReplace cannot be done in one step here; callers fall back to a
// hard link and an unlink.
func (d *Dir) renameNoReplace(string, *Dir, string) error { return errors.ErrUnsupported }

// linkAt links across folders by path, the nearest equivalent here; within
// one folder it stays inside the handle.
func (d *Dir) linkAt(old string, to *Dir, new string) error {
	if to == d {
		return d.root.Link(old, new)
	}
	return os.Link(d.join(old), to.join(new))
}

// renameAt renames across folders by path, the nearest equivalent here;
// within one folder it stays inside the handle.
func (d *Dir) renameAt(old string, to *Dir, new string) error {
	if to == d {
		return d.root.Rename(old, new)
	}
	return os.Rename(d.join(old), to.join(new))
}
