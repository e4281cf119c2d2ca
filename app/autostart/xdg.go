//go:build !darwin && !windows

package autostart

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// entryPath is the user's autostart entry: $XDG_CONFIG_HOME/autostart, or
// ~/.config/autostart when that is unset or not absolute (the Base
// Directory specification ignores a relative one).
func entryPath() (string, error) {
	base := os.Getenv("XDG_CONFIG_HOME")
	if !filepath.IsAbs(base) {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("cannot find the autostart folder: %w", err)
		}
		base = filepath.Join(home, ".config")
	}
	return filepath.Join(base, "autostart", ID+".desktop"), nil
}

func enable(exe string, args []string) error {
	path, err := entryPath()
	if err != nil {
		return err
	}
	return writeItem(path, desktopEntry(exe, args), 0o700, "the autostart entry")
}

func disable() error {
	path, err := entryPath()
	if err != nil {
		return err
	}
	return removeItem(path, "the autostart entry")
}

func enabled() (bool, error) {
	path, err := entryPath()
	if err != nil {
		return false, err
	}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("cannot read the autostart entry: %w", err)
	}
	return entryOn(data), nil
}
