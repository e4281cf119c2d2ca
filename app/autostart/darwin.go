//go:build darwin

package autostart

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/dragonload/dragonload/core/osutil"
)

// agentPath is the user's launch agent: launchd loads every property list
// in ~/Library/LaunchAgents at login.
func agentPath() (string, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("cannot find the LaunchAgents folder: %w", err)
	}
	return filepath.Join(home, "Library", "LaunchAgents", ID+".plist"), nil
}

func enable(exe string, args []string) error {
	path, err := agentPath()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("cannot create the LaunchAgents folder: %w", err)
	}
	if err := osutil.WriteFileAtomic(path, launchAgent(exe, args), 0o644); err != nil {
		return fmt.Errorf("cannot write the launch agent: %w", err)
	}
	return nil
}

func disable() error {
	path, err := agentPath()
	if err != nil {
		return err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("cannot remove the launch agent: %w", err)
	}
	return nil
}

func enabled() (bool, error) {
	path, err := agentPath()
	if err != nil {
		return false, err
	}
	_, err = os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("cannot read the launch agent: %w", err)
	}
	return true, nil
}
