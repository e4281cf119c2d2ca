package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOptionKeys: the keys of the app's Settings pane round-trip under
// their documented names, and a bad value is refused with its key named.
func TestOptionKeys(t *testing.T) {
	home := t.TempDir()
	want := Settings{Room: "r", AllowPrivateOrigins: true, DownloadRate: 2_500_000, Theme: ThemeDark, RPC: true}
	if err := Save(home, want); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(home, FileName))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"allow_private_origins = true", "download_rate = 2500000", `theme = "dark"`, "rpc = true"} {
		if !strings.Contains(string(data), line) {
			t.Errorf("settings file lacks %q:\n%s", line, data)
		}
	}
	got, _, err := Load(home)
	if err != nil {
		t.Fatal(err)
	}
	if got.AllowPrivateOrigins != want.AllowPrivateOrigins || got.DownloadRate != want.DownloadRate || got.Theme != want.Theme || got.RPC != want.RPC {
		t.Errorf("read back %+v, want %+v", got, want)
	}

	for content, key := range map[string]string{
		"download_rate = -1\n": "download_rate",
		"theme = \"blue\"\n":   "theme",
	} {
		if err := os.WriteFile(filepath.Join(home, FileName), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, _, err := Load(home); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("Load of %q: %v, want an error naming %s", content, err, key)
		}
	}
}
