package osutil

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

func openDir(t *testing.T, path string) *Dir {
	t.Helper()
	d, err := OpenDir(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// plantSymlink makes a symbolic link, skipping the test where this user
// may not (Windows without the privilege).
func plantSymlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		if runtime.GOOS == "windows" {
			t.Skipf("cannot make a symbolic link: %v", err)
		}
		t.Fatal(err)
	}
}

// TestOpenRefuses opens names that are not plain files of the folder, for
// reading and for writing, and checks the refusal and that the thing
// behind the name is untouched.
func TestOpenRefuses(t *testing.T) {
	cases := []struct {
		name  string
		plant func(t *testing.T, dir, target string)
		want  error
		unix  bool
	}{
		{"symlink", func(t *testing.T, dir, target string) { plantSymlink(t, target, filepath.Join(dir, "x")) }, ErrSymlink, false},
		{"dangling symlink", func(t *testing.T, dir, target string) {
			plantSymlink(t, target+".missing", filepath.Join(dir, "x"))
		}, ErrSymlink, false},
		{"hard link", func(t *testing.T, dir, target string) { mustDo(t, os.Link(target, filepath.Join(dir, "x"))) }, ErrHardLinked, true},
		{"fifo", func(t *testing.T, dir, _ string) { mustDo(t, mkfifo(filepath.Join(dir, "x"))) }, ErrNotRegular, true},
		{"folder", func(t *testing.T, dir, _ string) { mustDo(t, os.Mkdir(filepath.Join(dir, "x"), 0o755)) }, ErrNotRegular, false},
	}
	for _, c := range cases {
		for _, mode := range []struct {
			verb string
			flag int
		}{{"read", os.O_RDONLY}, {"write through", os.O_RDWR | os.O_CREATE | os.O_TRUNC}} {
			t.Run(c.name+"/"+mode.verb, func(t *testing.T) {
				if c.unix && runtime.GOOS == "windows" {
					t.Skip("Unix only")
				}
				dir := t.TempDir()
				target := filepath.Join(t.TempDir(), "target")
				mustDo(t, os.WriteFile(target, []byte("secret"), 0o600))
				old := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
				mustDo(t, os.Chtimes(target, old, old))
				c.plant(t, dir, target)

				done := make(chan error, 1)
				go func() {
					f, err := openDir(t, dir).OpenFile("x", mode.flag, 0o644)
					if err == nil {
						f.Close()
					}
					done <- err
				}()
				var err error
				select {
				case err = <-done:
				case <-time.After(5 * time.Second):
					t.Fatal("the open blocked")
				}
				want := "refusing to " + mode.verb + " " + filepath.Join(dir, "x") + ": " + c.want.Error()
				var re *RefusedError
				if !errors.As(err, &re) || !errors.Is(err, c.want) || err.Error() != want {
					t.Fatalf("OpenFile = %v\nwant %s", err, want)
				}
				if b, _ := os.ReadFile(target); string(b) != "secret" {
					t.Errorf("the target now holds %q", b)
				}
				if fi, _ := os.Stat(target); !fi.ModTime().Equal(old) {
					t.Errorf("the target's time changed to %v", fi.ModTime())
				}
				if _, err := os.Stat(target + ".missing"); err == nil {
					t.Error("the dangling link's target was created")
				}
			})
		}
	}
}

// TestCreate: a leftover regular file is replaced, a symbolic link is
// refused and stays, and the mode is exactly the one asked for.
func TestCreate(t *testing.T) {
	dir := t.TempDir()
	d := openDir(t, dir)
	mustDo(t, os.WriteFile(filepath.Join(dir, "tmp"), []byte("left over by a crash"), 0o644))
	f, err := d.Create("tmp", 0o600)
	mustDo(t, err)
	f.WriteString("new")
	f.Close()
	if b, _ := os.ReadFile(filepath.Join(dir, "tmp")); string(b) != "new" {
		t.Errorf("tmp holds %q", b)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "tmp")); runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}

	target := filepath.Join(t.TempDir(), "target")
	plantSymlink(t, target, filepath.Join(dir, "link"))
	if _, err := d.Create("link", 0o600); !errors.Is(err, ErrSymlink) {
		t.Fatalf("Create over a symbolic link = %v", err)
	}
	if _, err := os.Lstat(target); err == nil {
		t.Error("Create made the link's target")
	}
	if fi, err := os.Lstat(filepath.Join(dir, "link")); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("the refused link was removed: %v", err)
	}
}

// TestWriteFileAtomicOverLink: a symbolic link at the name is replaced by
// the new file, never written through.
func TestWriteFileAtomicOverLink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(t.TempDir(), "target")
	mustDo(t, os.WriteFile(target, []byte("keep"), 0o644))
	plantSymlink(t, target, filepath.Join(dir, "note.txt"))
	mustDo(t, openDir(t, dir).WriteFileAtomic("note.txt", []byte("note"), 0o600))
	if b, _ := os.ReadFile(target); string(b) != "keep" {
		t.Errorf("the link's target now holds %q", b)
	}
	fi, err := os.Lstat(filepath.Join(dir, "note.txt"))
	if err != nil || !fi.Mode().IsRegular() {
		t.Fatalf("note.txt is %v (%v), want a regular file", fi, err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	if es, _ := os.ReadDir(dir); len(es) != 1 {
		t.Errorf("temporary files left: %v", es)
	}
}

// TestMoveTo never replaces the destination, within a folder and into
// another one.
func TestMoveTo(t *testing.T) {
	dir := t.TempDir()
	d := openDir(t, dir)
	mustDo(t, os.Mkdir(filepath.Join(dir, "sub"), 0o700))
	sub, err := d.OpenDir("sub")
	mustDo(t, err)
	defer sub.Close()
	for _, n := range []string{"a", "b", "c"} {
		mustDo(t, os.WriteFile(filepath.Join(dir, n), []byte(n), 0o644))
	}
	if err := d.MoveTo("a", d, "b"); !errors.Is(err, fs.ErrExist) {
		t.Errorf("MoveTo onto an existing file = %v", err)
	}
	if err := d.RenameNoReplace("a", "b"); !errors.Is(err, fs.ErrExist) && !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("RenameNoReplace onto an existing file = %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "b")); string(b) != "b" {
		t.Errorf("b was replaced by %q", b)
	}
	mustDo(t, d.MoveTo("a", sub, "a"))
	if err := d.MoveTo("c", sub, "a"); !errors.Is(err, fs.ErrExist) {
		t.Errorf("MoveTo onto an existing file in another folder = %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "sub", "a")); string(b) != "a" {
		t.Errorf("sub/a holds %q", b)
	}
}

// TestHandleOutlivesPath: once open, a Dir keeps naming its folder when
// the path is moved and replaced by a symbolic link to another folder.
func TestHandleOutlivesPath(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows refuses to move a folder that is open")
	}
	base := t.TempDir()
	dir, moved, other := filepath.Join(base, "dir"), filepath.Join(base, "moved"), filepath.Join(base, "other")
	mustDo(t, os.Mkdir(dir, 0o755))
	mustDo(t, os.Mkdir(other, 0o755))
	d := openDir(t, dir)
	mustDo(t, os.Rename(dir, moved))
	plantSymlink(t, other, dir)
	f, err := d.Create("x", 0o644)
	mustDo(t, err)
	f.Close()
	if _, err := os.Stat(filepath.Join(moved, "x")); err != nil {
		t.Errorf("x is not in the folder that was opened: %v", err)
	}
	if es, _ := os.ReadDir(other); len(es) != 0 {
		t.Errorf("the other folder received %v", es)
	}
}

// TestOpenDirRefusesSymlink: a subfolder that is a symbolic link, even to
// a folder inside, is not opened.
func TestOpenDirRefusesSymlink(t *testing.T) {
	dir := t.TempDir()
	mustDo(t, os.Mkdir(filepath.Join(dir, "real"), 0o700))
	plantSymlink(t, "real", filepath.Join(dir, "link"))
	if _, err := openDir(t, dir).OpenDir("link"); !errors.Is(err, ErrSymlink) {
		t.Fatalf("OpenDir(link) = %v", err)
	}
}

// TestBadNames: only plain names are accepted.
func TestBadNames(t *testing.T) {
	d := openDir(t, t.TempDir())
	for _, name := range []string{"", ".", "..", "a/b", "../x", "/etc/passwd"} {
		if _, err := d.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644); !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("OpenFile(%q) = %v", name, err)
		}
	}
}
