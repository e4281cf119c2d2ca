package rpc_test

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/dragonload/dragonload/app/rpc"
)

// TestLoadOrCreateSecret: a new home gets a strong secret stored privately;
// the next call reads the same one; the environment variable wins; a
// stored secret that is too short is an error that says what to do.
func TestLoadOrCreateSecret(t *testing.T) {
	t.Setenv(rpc.SecretEnv, "")
	home := filepath.Join(t.TempDir(), "home")
	first, err := rpc.LoadOrCreateSecret(home)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 32 || strings.Trim(first, "abcdefghijklmnopqrstuvwxyz234567") != "" {
		t.Errorf("generated secret %q is not 32 base32 characters (160 bits)", first)
	}
	path := filepath.Join(home, rpc.SecretFile)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("secret file mode %v, want 0600", fi.Mode().Perm())
	}
	again, err := rpc.LoadOrCreateSecret(home)
	if err != nil || again != first {
		t.Errorf("second load %q, %v; want %q", again, err, first)
	}
	other, err := rpc.LoadOrCreateSecret(t.TempDir())
	if err != nil || other == first {
		t.Errorf("another home got %q, %v", other, err)
	}

	// Readable by others: made private again.
	if runtime.GOOS != "windows" {
		os.Chmod(path, 0o644)
		if _, err := rpc.LoadOrCreateSecret(home); err != nil {
			t.Fatal(err)
		}
		if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
			t.Errorf("mode after load %v, want 0600", fi.Mode().Perm())
		}
	}

	// A secret the user chose, kept with a line ending.
	os.WriteFile(path, []byte("  my-own-long-secret-value \r\n"), 0o600)
	if got, err := rpc.LoadOrCreateSecret(home); err != nil || got != "my-own-long-secret-value" {
		t.Errorf("user's secret: %q, %v", got, err)
	}

	t.Setenv(rpc.SecretEnv, "from-the-environment-123")
	if got, err := rpc.LoadOrCreateSecret(home); err != nil || got != "from-the-environment-123" {
		t.Errorf("with %s set: %q, %v", rpc.SecretEnv, got, err)
	}
	t.Setenv(rpc.SecretEnv, "short")
	if _, err := rpc.LoadOrCreateSecret(home); err == nil || !strings.Contains(err.Error(), rpc.SecretEnv) {
		t.Errorf("short secret in the environment: %v", err)
	}
	t.Setenv(rpc.SecretEnv, "")

	for name, content := range map[string]string{
		"too short": "abc\n",
		"empty":     "",
		"spaces":    "a secret with spaces in it\n",
		"too long":  strings.Repeat("x", 5000),
	} {
		os.WriteFile(path, []byte(content), 0o600)
		_, err := rpc.LoadOrCreateSecret(home)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if !strings.Contains(err.Error(), path) {
			t.Errorf("%s: error %q does not name the file", name, err)
		}
	}
	if _, err := rpc.LoadOrCreateSecret(""); err == nil {
		t.Error("no home: accepted")
	}
}

// TestNewSecret: secrets differ and are valid.
func TestNewSecret(t *testing.T) {
	seen := make(map[string]bool)
	for range 100 {
		s, err := rpc.NewSecret()
		if err != nil {
			t.Fatal(err)
		}
		if err := rpc.CheckSecret(s); err != nil || seen[s] {
			t.Fatalf("secret %q: %v (repeat %v)", s, err, seen[s])
		}
		seen[s] = true
	}
}
