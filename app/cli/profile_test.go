package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestCPUProfile: with $DRAGONLOAD_CPUPROFILE set, a command writes a CPU
// profile there (a gzipped pprof file), "%p" in its name made the process
// id; an unwritable path is a usage error that runs nothing.
func TestCPUProfile(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(ProfileEnv, filepath.Join(dir, "cpu-%p.prof"))
	path := filepath.Join(dir, fmt.Sprintf("cpu-%d.prof", os.Getpid()))
	var out, errb bytes.Buffer
	if code := Main([]string{"version"}, Env{Stdout: &out, Stderr: &errb}, nil); code != ExitOK {
		t.Fatalf("version exited %d: %s", code, errb.String())
	}
	b, err := os.ReadFile(path)
	if err != nil || len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		t.Fatalf("profile %q: %d bytes, %v; want a gzipped pprof file", path, len(b), err)
	}
	t.Setenv(ProfileEnv, filepath.Join(t.TempDir(), "missing", "cpu.prof"))
	out.Reset()
	errb.Reset()
	if code := Main([]string{"version"}, Env{Stdout: &out, Stderr: &errb}, nil); code != ExitUsage || out.Len() != 0 {
		t.Fatalf("an unwritable profile: exit %d, output %q", code, out.String())
	}
}
