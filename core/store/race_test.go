package store

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/dragonload/dragonload/core/span"
)

// TestFolderGoneMidWrite: the folder is deleted or replaced after Commit
// and Finish checked it but before they write the journal or move the
// file. The error still says the folder went away, rather than naming the
// system call that tripped on it (CI once showed "rename …journal.tmp …:
// no such file or directory").
func TestFolderGoneMidWrite(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows refuses to delete a folder that is open")
	}
	for _, c := range []struct{ op, at, change string }{
		{"Commit", "writeFileSync", "deleted"},
		{"Commit", "writeFileSync", "replaced"},
		{"Finish", "renameNoReplace", "deleted"},
		{"Finish", "renameNoReplace", "replaced"},
	} {
		t.Run(c.op+"/"+c.change, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "out")
			fsys := &faultFS{fileSystem: osFS{}}
			p, _ := mustOpen(t, dir, "f.bin", testMeta(10), Options{fs: fsys})
			mustWrite(t, p, []byte("0123456789"), 0)
			if c.op == "Finish" {
				must(t, p.Commit([]span.Range{{Off: 0, End: 10}}))
			}
			fsys.hook = func(op string) {
				if op != c.at {
					return
				}
				fsys.hook = nil
				must(t, os.RemoveAll(dir))
				if c.change == "replaced" {
					must(t, os.Mkdir(dir, 0o755))
				}
			}
			var err error
			if c.op == "Commit" {
				err = p.Commit([]span.Range{{Off: 0, End: 10}})
			} else {
				_, err = p.Finish()
			}
			if !errors.Is(err, ErrFolderGone) {
				t.Fatalf("%s = %v; want ErrFolderGone", c.op, err)
			}
		})
	}
}
