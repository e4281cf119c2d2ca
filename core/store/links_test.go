package store

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/dragonload/dragonload/core/osutil"
	"github.com/dragonload/dragonload/core/span"
)

// victim is a file outside the download's folder that a planted link
// points at; nothing the download does may change it.
type victim struct {
	path    string
	content string // "" for a dangling link: the file must not appear
	mtime   time.Time
}

func newVictim(t *testing.T, dangling bool) victim {
	t.Helper()
	v := victim{path: filepath.Join(t.TempDir(), "victim"), mtime: time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)}
	if dangling {
		return v
	}
	v.content = "the victim's own bytes, which must stay as they are\n"
	must(t, os.WriteFile(v.path, []byte(v.content), 0o600))
	must(t, os.Chtimes(v.path, v.mtime, v.mtime))
	return v
}

// check fails the test if the victim changed, or appeared.
func (v victim) check(t *testing.T) {
	t.Helper()
	fi, err := os.Stat(v.path)
	if v.content == "" {
		if err == nil {
			t.Errorf("the dangling link's target %s was created", v.path)
		}
		return
	}
	if err != nil {
		t.Fatalf("the victim is gone: %v", err)
	}
	if b, _ := os.ReadFile(v.path); string(b) != v.content {
		t.Errorf("the victim now holds %q", b)
	}
	if !fi.ModTime().Equal(v.mtime) {
		t.Errorf("the victim's modification time changed to %v", fi.ModTime())
	}
}

// symlink plants a symbolic link, skipping the test where the system
// does not let this user make one (Windows without the privilege).
func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		if runtime.GOOS == "windows" {
			t.Skipf("cannot make a symbolic link: %v", err)
		}
		t.Fatal(err)
	}
}

// TestRefusesSymlinks plants a symbolic link to a file outside the folder
// at each name a download uses, before Open or in the middle of the
// download, and runs the download to the end. Nothing may be written
// through the link, and a refusal names the link in one sentence.
func TestRefusesSymlinks(t *testing.T) {
	const (
		data    = ".f.bin.dlpart"
		journal = ".f.bin.dlpart.journal"
		tmp     = ".f.bin.dlpart.journal.tmp"
		final   = "f.bin"
	)
	cases := []struct {
		at       string
		mid      bool   // planted after Open, before Commit
		dangling bool   // the link's target does not exist
		want     string // refused (an error naming the link), gone (ErrFolderGone), replaced (the link is replaced, not followed)
		op       string // for refused: what the error says was refused
	}{
		{at: data, want: "refused", op: "write through"},
		{at: data, dangling: true, want: "refused", op: "write through"},
		{at: journal, want: "refused", op: "write through"},
		{at: tmp, want: "refused", op: "write through"},
		{at: tmp, dangling: true, want: "refused", op: "write through"},
		{at: final, want: "refused", op: "save the download as"},
		{at: data, mid: true, want: "gone"},
		{at: journal, mid: true, want: "replaced"},
		{at: tmp, mid: true, want: "refused", op: "write through"},
		{at: final, mid: true, want: "refused", op: "save the download as"},
		{at: final, mid: true, dangling: true, want: "refused", op: "save the download as"},
	}
	for _, c := range cases {
		name := c.at
		if c.mid {
			name += "/mid-download"
		}
		if c.dangling {
			name += "/dangling"
		}
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			v := newVictim(t, c.dangling)
			plant := func() {
				if err := os.Remove(filepath.Join(dir, c.at)); err != nil && !errors.Is(err, os.ErrNotExist) {
					t.Fatal(err)
				}
				symlink(t, v.path, filepath.Join(dir, c.at))
			}
			if !c.mid {
				plant()
			}
			err := func() error {
				p, _, err := Open(dir, "f.bin", testMeta(10))
				if err != nil {
					return err
				}
				defer p.Close()
				mustWrite(t, p, []byte("0123456789"), 0)
				if c.mid {
					plant()
				}
				if err := p.Commit([]span.Range{{Off: 0, End: 10}}); err != nil {
					return err
				}
				_, err = p.Finish()
				return err
			}()
			v.check(t)
			switch c.want {
			case "refused":
				want := "refusing to " + c.op + " " + filepath.Join(dir, c.at) + ": it is a symbolic link"
				if err == nil || err.Error() != want || !errors.Is(err, osutil.ErrSymlink) {
					t.Fatalf("error %v\nwant  %s", err, want)
				}
				if fi, err := os.Lstat(filepath.Join(dir, c.at)); err != nil || fi.Mode()&os.ModeSymlink == 0 {
					t.Errorf("the refused link is no longer there: %v", err)
				}
			case "gone":
				if !errors.Is(err, ErrFolderGone) {
					t.Fatalf("error %v; want ErrFolderGone", err)
				}
			case "replaced":
				if err != nil {
					t.Fatal(err)
				}
				if b, err := os.ReadFile(filepath.Join(dir, final)); err != nil || string(b) != "0123456789" {
					t.Errorf("the final file holds %q (%v)", b, err)
				}
			}
		})
	}
}

// TestRefusesHardLinks: a hard link planted as the partial file would
// let the download's bytes reach a file kept elsewhere, like a symbolic
// link.
func TestRefusesHardLinks(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("link counts are not checked on Windows")
	}
	dir := t.TempDir()
	v := newVictim(t, false)
	must(t, os.Link(v.path, filepath.Join(dir, ".f.bin.dlpart")))
	p, _, err := Open(dir, "f.bin", testMeta(10))
	if err == nil {
		p.Close()
	}
	v.check(t)
	want := "refusing to write through " + filepath.Join(dir, ".f.bin.dlpart") + ": it has other hard links"
	if err == nil || err.Error() != want || !errors.Is(err, osutil.ErrHardLinked) {
		t.Fatalf("Open = %v\nwant %s", err, want)
	}
}

// TestFolderSwappedForSymlink moves the output folder away and puts a
// symbolic link to another folder in its place, at several moments of a
// download. Nothing may land in the other folder: either the swap is
// noticed (ErrFolderGone), or, when it happens after the check, the write
// or the final move still goes through the handle into the folder Open
// found.
func TestFolderSwappedForSymlink(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows refuses to move a folder that is open")
	}
	cases := []struct {
		name string
		op   string // Commit or Finish
		hook string // "": swap before op; else swap when op reaches this fault hook, after the checks
	}{
		{"before Commit", "Commit", ""},
		{"before Finish", "Finish", ""},
		{"inside Commit", "Commit", "writeFileSync"},
		{"inside Finish", "Finish", "renameNoReplace"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			base := t.TempDir()
			dir, moved, other := filepath.Join(base, "out"), filepath.Join(base, "moved"), filepath.Join(base, "other")
			must(t, os.Mkdir(other, 0o755))
			swap := func() {
				must(t, os.Rename(dir, moved))
				symlink(t, other, dir)
			}
			fsys := &faultFS{fileSystem: osFS{}}
			p, _ := mustOpen(t, dir, "f.bin", testMeta(10), Options{fs: fsys})
			mustWrite(t, p, []byte("0123456789"), 0)
			if c.op == "Finish" {
				must(t, p.Commit([]span.Range{{Off: 0, End: 10}}))
			}
			if c.hook == "" {
				swap()
			} else {
				fsys.hook = func(op string) {
					if op == c.hook {
						fsys.hook = nil
						swap()
					}
				}
			}
			var err error
			if c.op == "Commit" {
				err = p.Commit([]span.Range{{Off: 0, End: 10}})
			} else {
				_, err = p.Finish()
			}
			if got := entries(t, other); len(got) != 0 {
				t.Errorf("the other folder received %v", got)
			}
			if c.hook == "" {
				if !errors.Is(err, ErrFolderGone) {
					t.Fatalf("%s = %v; want ErrFolderGone", c.op, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("%s: %v", c.op, err)
			}
			want := journalName("f.bin")
			if c.op == "Finish" {
				want = "f.bin"
			}
			if !strings.Contains(strings.Join(entries(t, moved), "\n"), want) {
				t.Errorf("the original folder holds %v, not %s", entries(t, moved), want)
			}
		})
	}
}

// TestFindSkipsLinks: a journal that is a symbolic link (to a real
// journal elsewhere) is not followed by Find.
func TestFindSkipsLinks(t *testing.T) {
	elsewhere, dir := t.TempDir(), t.TempDir()
	p, _ := mustOpen(t, elsewhere, "x.iso", testMeta(10), Options{})
	p.Close()
	must(t, os.WriteFile(dataPath(dir, "x.iso"), make([]byte, 10), 0o644))
	symlink(t, journalPath(elsewhere, "x.iso"), journalPath(dir, "x.iso"))
	if name, ok := Find(dir, testMeta(10).URL); ok {
		t.Errorf("Find followed a symbolic link to the journal of %s", name)
	}
	if name, ok := Find(elsewhere, testMeta(10).URL); !ok || name != "x.iso" {
		t.Errorf("Find in the real folder = %q, %v", name, ok)
	}
}
