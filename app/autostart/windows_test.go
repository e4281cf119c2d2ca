//go:build windows

package autostart

import (
	"syscall"
	"testing"
)

// TestWindowsArgIsEscapeArg: windowsArg, tested on every system, agrees
// with the standard library's Windows-only syscall.EscapeArg.
func TestWindowsArgIsEscapeArg(t *testing.T) {
	for _, s := range []string{"", "plain", "a b", `a\b`, `a\"b`, `a b\`, `\\`, `"`, `x"y z\\`} {
		if got, want := windowsArg(s), syscall.EscapeArg(s); got != want {
			t.Errorf("windowsArg(%q) = %s, syscall.EscapeArg = %s", s, got, want)
		}
	}
}
