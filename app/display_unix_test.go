//go:build linux || freebsd || openbsd || netbsd

package app

import (
	"runtime"
	"slices"
	"strings"
	"testing"
)

func TestXAddrs(t *testing.T) {
	local := []string{"/tmp/.X11-unix/X0"}
	if runtime.GOOS == "linux" {
		local = []string{"@/tmp/.X11-unix/X0", "/tmp/.X11-unix/X0"}
	}
	tests := []struct {
		display, network string
		addrs            []string
		err              string
	}{
		{":0", "unix", local, ""},
		{":0.1", "unix", local, ""},
		{"unix:0", "unix", local, ""},
		{"box:2", "tcp", []string{"box:6002"}, ""},
		{"[::1]:1.0", "tcp", []string{"[::1]:6001"}, ""},
		{"box", "", nil, "no display number"},
		{":x", "", nil, "no valid display number"},
		{":-1", "", nil, "no valid display number"},
	}
	for _, tc := range tests {
		network, addrs, err := xAddrs(tc.display)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("xAddrs(%q): %v, want an error saying %q", tc.display, err, tc.err)
			}
			continue
		}
		if err != nil || network != tc.network || !slices.Equal(addrs, tc.addrs) {
			t.Errorf("xAddrs(%q) = %s %v %v, want %s %v", tc.display, network, addrs, err, tc.network, tc.addrs)
		}
	}
}

// TestCheckDisplay: no DISPLAY, or one whose server is not there, gives a
// sentence saying so. (The app starting under Xvfb in test/gui is the case
// where a server answers.)
func TestCheckDisplay(t *testing.T) {
	t.Setenv("DISPLAY", "")
	if _, err := checkDisplay(); err == nil || !strings.Contains(err.Error(), "DISPLAY is not set") {
		t.Errorf("without DISPLAY: %v", err)
	}
	t.Setenv("DISPLAY", ":59535") // the largest valid number; no server uses it
	if _, err := checkDisplay(); err == nil || !strings.Contains(err.Error(), "no X server answers on display :59535") {
		t.Errorf("with no server on :59535: %v", err)
	}
}
