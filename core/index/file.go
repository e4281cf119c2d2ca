package index

import (
	"errors"
	"fmt"
	"time"

	"github.com/dragonload/dragonload/core/osutil"
)

// fileKind is what a name in the file system holds.
type fileKind int

const (
	kindRegular fileKind = iota
	kindSymlink          // a symbolic link, or on Windows any reparse point
	kindOther            // a folder, FIFO, device or socket
)

// fileState is what the checks compare: a file as an Lstat, or the Stat
// of an open file, describes it. Times are in UTC.
type fileState struct {
	kind    fileKind
	size    int64
	modTime time.Time
	id      string // see Entry.FileID
}

// differs says why a file described by st is not the one e indexed, or
// returns nil if it is.
func (st fileState) differs(e Entry) error {
	switch {
	case st.kind == kindSymlink:
		return osutil.ErrSymlink
	case st.kind != kindRegular:
		return osutil.ErrNotRegular
	case st.size != e.Size:
		return fmt.Errorf("it now holds %d bytes, not %d", st.size, e.Size)
	case !st.modTime.Equal(e.ModTime):
		return errors.New("it was modified")
	case st.id != e.FileID:
		return errors.New("another file took its place")
	}
	return nil
}

// verify checks, without opening it, that e's file is still the one
// indexed. Any failure to tell (the file gone, a folder on the way made
// unreadable) counts as a change: the file is not served either way.
func verify(e Entry) error {
	st, err := statPath(e.Path)
	if err == nil {
		err = st.differs(e)
	}
	if err != nil {
		return changed(e.Path, err)
	}
	return nil
}

// changed is the error for a file that is no longer the one indexed; it
// matches ErrChanged and reason.
func changed(path string, reason error) error {
	return fmt.Errorf("cannot share %s: %w: %w", path, ErrChanged, reason)
}
