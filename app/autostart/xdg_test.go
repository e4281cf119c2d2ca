//go:build !darwin && !windows

package autostart

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestXDGEntry: Enable writes the desktop entry into
// $XDG_CONFIG_HOME/autostart with the quoted command, Enabled follows it
// (and a desktop's switch-off), and Disable removes it.
func TestXDGEntry(t *testing.T) {
	cfg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", cfg)
	path := filepath.Join(cfg, "autostart", ID+".desktop")

	if on, err := Enabled(); err != nil || on {
		t.Fatalf("before Enable: Enabled() = %v, %v", on, err)
	}
	exe := "/opt/Dragon Load/dragonload"
	if err := Enable(exe, []string{"--home", "/home/ann/dl $1"}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("no entry at %s: %v", path, err)
	}
	for _, line := range []string{
		"[Desktop Entry]\n",
		"Type=Application\n",
		"Name=Dragonload\n",
		// \$ inside quotes, its backslash doubled by the string escapes.
		`Exec="/opt/Dragon Load/dragonload" --home "/home/ann/dl \\$1"` + "\n",
	} {
		if !strings.Contains(string(data), line) {
			t.Errorf("entry lacks %q:\n%s", line, data)
		}
	}
	if on, err := Enabled(); err != nil || !on {
		t.Fatalf("after Enable: Enabled() = %v, %v", on, err)
	}

	// A desktop's "startup applications" switch-off is respected.
	if err := os.WriteFile(path, append(data, "Hidden=true\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	if on, _ := Enabled(); on {
		t.Error("Enabled() = true for an entry with Hidden=true")
	}
	// Enabling again replaces the switched-off entry.
	if err := Enable("/usr/bin/dragonload", nil); err != nil {
		t.Fatal(err)
	}
	if on, _ := Enabled(); !on {
		t.Error("Enable did not replace a switched-off entry")
	}

	if err := Disable(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("after Disable the entry is still there: %v", err)
	}
	if on, err := Enabled(); err != nil || on {
		t.Errorf("after Disable: Enabled() = %v, %v", on, err)
	}
	if err := Disable(); err != nil {
		t.Errorf("Disable without an entry: %v", err)
	}
	if names, _ := os.ReadDir(filepath.Dir(path)); len(names) != 0 {
		t.Errorf("left behind in the autostart folder: %v", names)
	}
}

// TestXDGRelativeConfigHome: a relative XDG_CONFIG_HOME is ignored, as the
// Base Directory specification says, for ~/.config.
func TestXDGRelativeConfigHome(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", "relative/config")
	if err := Enable("/usr/bin/dragonload", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(home, ".config", "autostart", ID+".desktop")); err != nil {
		t.Errorf("entry not under ~/.config: %v", err)
	}
	if _, err := os.Stat("relative"); !os.IsNotExist(err) {
		t.Errorf("a relative folder was made: %v", err)
	}
}
