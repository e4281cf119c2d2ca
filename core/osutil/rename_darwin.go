package osutil

import "golang.org/x/sys/unix"

// renameNoReplaceAt is renameatx_np with RENAME_EXCL, macOS's equivalent
// of Linux's RENAME_NOREPLACE: it fails with EEXIST if new exists.
func renameNoReplaceAt(fromfd int, old string, tofd int, new string) error {
	return unix.RenameatxNp(fromfd, old, tofd, new, unix.RENAME_EXCL)
}
