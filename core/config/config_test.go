package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestLoadMissingGivesDefaults(t *testing.T) {
	s, fresh, err := Load(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if !fresh || !s.Lending || s.LendConcurrency != DefaultLendConcurrency || s.MaxDownloads != DefaultMaxDownloads {
		t.Fatalf("unexpected defaults: fresh=%v %+v", fresh, s)
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	want := Settings{
		Room: "abcde-fghij", Name: "lab-3", OutDir: "/tmp/out", WatchDir: "/tmp/w",
		Lending: false, LendRate: 1 << 20, LendConcurrency: 4, MaxDownloads: 2,
		Peers: []string{"10.0.0.2:4700"}, Onboarded: true,
	}
	if err := Save(home, want); err != nil {
		t.Fatal(err)
	}
	got, fresh, err := Load(home)
	if err != nil {
		t.Fatal(err)
	}
	if fresh || !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip: fresh=%v got %+v want %+v", fresh, got, want)
	}
	fi, err := os.Stat(filepath.Join(home, FileName))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("settings file mode %v, want 0600 (it holds the room code)", fi.Mode().Perm())
	}
}

func TestLoadBad(t *testing.T) {
	tests := []struct{ name, content, want string }{
		{"syntax", "room = \n", "not valid"},
		{"unknown key", "rooom = \"x\"\n", "unknown key \"rooom\""},
		{"negative rate", "lend_rate = -5\n", "lend_rate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			home := t.TempDir()
			if err := os.WriteFile(filepath.Join(home, FileName), []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, _, err := Load(home)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want error containing %q", err, tc.want)
			}
		})
	}
}
