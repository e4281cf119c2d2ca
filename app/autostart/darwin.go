//go:build darwin

package autostart

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
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
	return writeItem(path, launchAgent(exe, args), 0o755, "the launch agent")
}

func disable() error {
	path, err := agentPath()
	if err != nil {
		return err
	}
	return removeItem(path, "the launch agent")
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
