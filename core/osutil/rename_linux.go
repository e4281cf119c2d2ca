package osutil

import "golang.org/x/sys/unix"

// renameNoReplaceAt is renameat2 with RENAME_NOREPLACE: the kernel fails
// with EEXIST if new exists, with no moment in which it could be replaced.
func renameNoReplaceAt(fromfd int, old string, tofd int, new string) error {
	return unix.Renameat2(fromfd, old, tofd, new, unix.RENAME_NOREPLACE)
}
