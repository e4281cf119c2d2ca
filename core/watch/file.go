package watch

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/dragonload/dragonload/core/link"
	"github.com/dragonload/dragonload/core/osutil"
)

// eligible reports whether a file name in the watched folder is a link to
// act on: it ends in ".dragon" (any case) and is not hidden. That leaves
// out the .dragonload folder, the engine's partial files (".*.dlpart",
// ".*.dlpart.journal"), editors' swap and backup files (".x.swp", "x~"),
// other tools' partial downloads ("x.dragon.part", ".crdownload", ".tmp",
// ".download") and the watcher's own notes ("x.dragon.error.txt").
func eligible(name string) bool {
	return name != "" && name[0] != '.' && strings.HasSuffix(strings.ToLower(name), linkExt)
}

const (
	linkExt  = ".dragon"
	noteExt  = ".error.txt"
	stateDir = ".dragonload"
)

// errNotFile marks a name that is not a regular file (a folder called
// x.dragon, a device): it is skipped, not failed.
var errNotFile = errors.New("not a regular file")

// readLink reads a link file, at most one byte past link.MaxFileSize so that
// the parser can say the file is too large. It returns the size the file
// had when opened, to detect a writer still at work.
func readLink(path string) ([]byte, int64, error) {
	// Stat first: opening a FIFO named x.dragon would block.
	fi, err := os.Stat(path)
	if err != nil {
		return nil, 0, err
	}
	if !fi.Mode().IsRegular() {
		return nil, 0, errNotFile
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	fi, err = f.Stat()
	if err != nil {
		return nil, 0, err
	}
	if !fi.Mode().IsRegular() {
		return nil, 0, errNotFile
	}
	data, err := io.ReadAll(io.LimitReader(f, link.MaxFileSize+1))
	if err != nil {
		return nil, 0, err
	}
	return data, fi.Size(), nil
}

// moveFile renames src into dir under name, or under "name (2)" and so on
// if that is taken, and makes both folders durable.
func moveFile(src, dir, name string) (string, error) {
	ext := filepath.Ext(name)
	stem := strings.TrimSuffix(name, ext)
	for n := 1; n <= 1000; n++ {
		dst := filepath.Join(dir, name)
		if n > 1 {
			dst = filepath.Join(dir, fmt.Sprintf("%s (%d)%s", stem, n, ext))
		}
		if _, err := os.Lstat(dst); err == nil {
			continue
		} else if !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
		if err := os.Rename(src, dst); err != nil {
			return "", err
		}
		if err := osutil.SyncDir(dir); err != nil {
			return "", err
		}
		return dst, osutil.SyncDir(filepath.Dir(src))
	}
	return "", fmt.Errorf("no free name for %s in %s", name, dir)
}
