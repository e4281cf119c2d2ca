package quicwire

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestNodeIDString(t *testing.T) {
	id := newIdentity(t).ID
	s := id.String()
	if !regexp.MustCompile(`^[a-z2-7]{52}$`).MatchString(s) {
		t.Fatalf("String() = %q, want 52 lowercase base32 characters", s)
	}
	if id.Short() != s[:8] {
		t.Fatalf("Short() = %q, want %q", id.Short(), s[:8])
	}
	for _, in := range []string{s, strings.ToUpper(s), "  " + s + "\n"} {
		got, err := ParseNodeID(in)
		if err != nil || got != id {
			t.Fatalf("ParseNodeID(%q) = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", s[:51], s + "a", s[:50] + "1!", "abc"} {
		if _, err := ParseNodeID(bad); err == nil {
			t.Errorf("ParseNodeID(%q) accepted", bad)
		}
	}
}

func TestLoadIdentity(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "node.key")
	first, err := LoadIdentity(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	again, err := LoadIdentity(path)
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != first.ID || !again.Key.Equal(first.Key) {
		t.Fatal("loading the key file gave another identity")
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("folder holds %d entries, want just the key (no temp files)", len(entries))
	}
}

func TestLoadIdentityCorrupt(t *testing.T) {
	truncated := "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n"
	cases := map[string]string{
		"empty":         "",
		"text":          "hello",
		"bad der":       "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
		"truncated key": truncated,
		"wrong type":    "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
	}
	for name, content := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "node.key")
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := LoadIdentity(path)
			if err == nil || !strings.Contains(err.Error(), "corrupt") {
				t.Fatalf("got %v, want a corrupt-file error", err)
			}
			if got, _ := os.ReadFile(path); string(got) != content {
				t.Fatal("a corrupt key file was overwritten")
			}
		})
	}
}
