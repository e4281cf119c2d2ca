package core_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dragonload/dragonload/core"
	testorigin "github.com/dragonload/dragonload/test/origin"
	"github.com/dragonload/dragonload/test/testkit"
)

// TestFullDisk: a download that does not fit fails at once with a clear
// error, leaves nothing under the final name, and a file already in the
// folder is untouched. It needs root to mount a small tmpfs; CI runs as root.
func TestFullDisk(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("CI must run as root: this test mounts a tmpfs")
		}
		t.Skip("needs root to mount a small tmpfs (CI runs it)")
	}
	dir := filepath.Join(t.TempDir(), "small")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	keep := filepath.Join(dir, "keep.txt")
	if err := os.WriteFile(keep, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}

	o := startOrigin(t, testorigin.Config{Size: 8 * mib, Seed: seed})
	e := newEngine(t, func(c *core.Config) { c.OutDir = dir })
	events, cancel := e.Subscribe()
	defer cancel()
	id, err := e.Add(o.URL(), "")
	if err != nil {
		t.Fatal(err)
	}
	end := finish(t, events, id, 30*time.Second)
	if end.State != core.StateFailed || !strings.Contains(end.Err.Error(), "disk space") {
		t.Fatalf("got %v (%v), want a failure saying the disk is full", end.State, end.Err)
	}
	if names := testkit.VisibleFiles(t, dir); len(names) != 1 || names[0] != "keep.txt" {
		t.Fatalf("folder holds %v, want only keep.txt", names)
	}
	if b, _ := os.ReadFile(keep); string(b) != "precious" {
		t.Fatal("an existing file was damaged")
	}
}
