//go:build windows

package autostart

import (
	"errors"
	"fmt"

	"golang.org/x/sys/windows/registry"
)

const (
	// runKey lists what Windows starts at the user's login.
	runKey = `Software\Microsoft\Windows\CurrentVersion\Run`
	// approvedKey holds Task Manager's Startup Apps switch for each Run
	// value: binary data whose first byte is odd when the user turned it
	// off there.
	approvedKey = `Software\Microsoft\Windows\CurrentVersion\Explorer\StartupApproved\Run`
)

func enable(exe string, args []string) error {
	k, _, err := registry.CreateKey(registry.CURRENT_USER, runKey, registry.SET_VALUE)
	if err != nil {
		return fmt.Errorf("cannot open the Run key: %w", err)
	}
	defer k.Close()
	if err := k.SetStringValue(Name, commandLine(exe, args)); err != nil {
		return fmt.Errorf("cannot write the Run value: %w", err)
	}
	// Turning it on here is a newer choice than a switch-off in Task
	// Manager: drop that mark, which would keep Windows from running it.
	if a, err := registry.OpenKey(registry.CURRENT_USER, approvedKey, registry.SET_VALUE); err == nil {
		defer a.Close()
		if err := a.DeleteValue(Name); err != nil && !errors.Is(err, registry.ErrNotExist) {
			return fmt.Errorf("cannot clear Task Manager's startup switch: %w", err)
		}
	}
	return nil
}

func disable() error {
	k, err := registry.OpenKey(registry.CURRENT_USER, runKey, registry.SET_VALUE)
	if errors.Is(err, registry.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cannot open the Run key: %w", err)
	}
	defer k.Close()
	if err := k.DeleteValue(Name); err != nil && !errors.Is(err, registry.ErrNotExist) {
		return fmt.Errorf("cannot remove the Run value: %w", err)
	}
	return nil
}

func enabled() (bool, error) {
	k, err := registry.OpenKey(registry.CURRENT_USER, runKey, registry.QUERY_VALUE)
	if errors.Is(err, registry.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("cannot open the Run key: %w", err)
	}
	defer k.Close()
	if _, _, err := k.GetStringValue(Name); errors.Is(err, registry.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("cannot read the Run value: %w", err)
	}
	if a, err := registry.OpenKey(registry.CURRENT_USER, approvedKey, registry.QUERY_VALUE); err == nil {
		defer a.Close()
		if data, _, err := a.GetBinaryValue(Name); err == nil && len(data) > 0 && data[0]&1 == 1 {
			return false, nil
		}
	}
	return true, nil
}
