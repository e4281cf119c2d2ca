//go:build !windows

package autostart

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/dragonload/dragonload/core/osutil"
)

// On Linux and macOS a login item is one file the session reads at login
// (an XDG autostart entry, a launchd agent); these write and remove it.
// what names it in errors ("the autostart entry", "the launch agent").

// writeItem writes data to path atomically, creating its folder (mode dirMode).
func writeItem(path string, data []byte, dirMode os.FileMode, what string) error {
	if err := os.MkdirAll(filepath.Dir(path), dirMode); err != nil {
		return fmt.Errorf("cannot create the folder of %s: %w", what, err)
	}
	if err := osutil.WriteFileAtomic(path, data, 0o644); err != nil {
		return fmt.Errorf("cannot write %s: %w", what, err)
	}
	return nil
}

// removeItem removes path; a file that is not there is already removed.
func removeItem(path, what string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("cannot remove %s: %w", what, err)
	}
	return nil
}
