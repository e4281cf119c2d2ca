//go:build unix && !linux && !darwin

package osutil

import "errors"

// renameNoReplaceAt is not available here; callers fall back to a hard
// link and an unlink.
func renameNoReplaceAt(int, string, int, string) error { return errors.ErrUnsupported }
