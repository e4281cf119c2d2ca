package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dragonload/dragonload/core/config"
)

// TestJoin: `dragonload join` reads the code from standard input (never
// from its arguments) and saves it, normalised, under --home; a short code
// gets a warning; bad uses are refused with exit 2 and nothing saved.
func TestJoin(t *testing.T) {
	strong := "k3m9p-x7q2a-h4w8t-c6v2n-r8d4e"
	tests := []struct {
		name     string
		args     []string
		stdin    string
		code     int
		room     string // saved, "" = nothing saved
		inStderr string
	}{
		{"strong code", nil, "  K3M9P X7Q2A H4W8T C6V2N R8D4E \n", 0, strong, ""},
		{"weak code", nil, "hunter2\n", 0, "hunter2", "warning: this room code is short"},
		{"code as an argument", []string{"hunter2"}, "", 2, "", "not on the command line"},
		{"nothing on stdin", nil, "", 2, "", "no room code"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			home := t.TempDir()
			var out, errb bytes.Buffer
			env := Env{Stdout: &out, Stderr: &errb, Stdin: strings.NewReader(tc.stdin)}
			t.Setenv(roomEnv, "")
			code := Main(append([]string{"join", "--home", home}, tc.args...), env, nil)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr %q", code, tc.code, errb.String())
			}
			if !strings.Contains(errb.String(), tc.inStderr) {
				t.Errorf("stderr %q lacks %q", errb.String(), tc.inStderr)
			}
			s, fresh, err := config.Load(home)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tc.room == "" && !fresh:
				t.Errorf("settings were saved (room %q) for a refused join", s.Room)
			case tc.room != "" && s.Room != tc.room:
				t.Errorf("saved room %q, want %q", s.Room, tc.room)
			}
			if strings.Contains(out.String()+errb.String(), "hunter2") {
				t.Error("the code was printed back")
			}
		})
	}
}

// TestRoomSources: --room, --room-file and $DRAGONLOAD_ROOM, in that order.
func TestRoomSources(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "code")
	if err := os.WriteFile(file, []byte("from-file-code\nsecond line\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, env string
		args      []string
		want, err string
	}{
		{"flag", "from-env", []string{"--room", "from-flag"}, "from-flag", ""},
		{"file", "from-env", []string{"--room-file", file}, "from-file-code", ""},
		{"environment", "from-env", nil, "from-env", ""},
		{"none", "", nil, "", ""},
		{"both flags", "", []string{"--room", "a", "--room-file", file}, "", "both give a room code"},
		{"empty file", "", []string{"--room-file", empty}, "", "holds no room code"},
		{"missing file", "", []string{"--room-file", filepath.Join(dir, "nope")}, "", "cannot read the room code"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(roomEnv, tc.env)
			fs, c := newFlags("agent", Env{})
			if _, err := parse(fs, tc.args); err != nil {
				t.Fatal(err)
			}
			cfg, err := c.config(nil)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, want an error saying %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Room != tc.want {
				t.Errorf("room %q, want %q", cfg.Room, tc.want)
			}
		})
	}
}
