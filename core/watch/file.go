package watch

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"path/filepath"
	"slices"
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
	doneDir  = "done" // inside stateDir
)

// errNotFile marks a name that is not a regular file (a folder called
// x.dragon, a device): it is skipped, not failed.
var errNotFile = errors.New("not a regular file")

// readLink reads the link file name in the folder dir, at most one byte
// past link.MaxFileSize so that the parser can say the file is too large.
// It returns the size the file had when opened, to detect a writer still
// at work. Only a regular file with a single name is read: a symbolic link
// or a hard link could make the watcher, with its owner's rights, read a
// file kept elsewhere (a *osutil.RefusedError says which); folders and
// devices named x.dragon give errNotFile.
func readLink(dir, name string) ([]byte, int64, error) {
	d, err := osutil.OpenDir(dir)
	if err != nil {
		return nil, 0, err
	}
	defer d.Close()
	fi, err := d.Lstat(name)
	if err != nil {
		return nil, 0, err
	}
	if !fi.Mode().IsRegular() && !osutil.IsSymlink(fi) {
		return nil, 0, errNotFile
	}
	// The open never follows a link and never blocks on a FIFO swapped
	// in since the Lstat.
	f, err := d.Open(name)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	if fi, err = f.Stat(); err != nil {
		return nil, 0, err
	}
	data, err := io.ReadAll(io.LimitReader(f, link.MaxFileSize+1))
	if err != nil {
		return nil, 0, err
	}
	return data, fi.Size(), nil
}

// moveToDone moves the link file name out of the watched folder dir into
// .dragonload/done/, under "name (2)" and so on if that is taken, and makes
// both folders durable. It never replaces a file there, and never follows a
// symbolic link to get there.
func moveToDone(dir, name string) (string, error) {
	wd, err := osutil.OpenDir(dir)
	if err != nil {
		return "", err
	}
	defer wd.Close()
	sd, err := wd.OpenDir(stateDir)
	if err != nil {
		return "", err
	}
	defer sd.Close()
	dd, err := sd.OpenDir(doneDir)
	if err != nil {
		return "", err
	}
	defer dd.Close()
	ext := filepath.Ext(name)
	stem := strings.TrimSuffix(name, ext)
	for n := 1; n <= 1000; n++ {
		dst := name
		if n > 1 {
			dst = fmt.Sprintf("%s (%d)%s", stem, n, ext)
		}
		err := wd.MoveTo(name, dd, dst)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		if err := dd.Sync(); err != nil {
			return "", err
		}
		return filepath.Join(dir, stateDir, doneDir, dst), wd.Sync()
	}
	return "", fmt.Errorf("no free name for %s in %s", name, filepath.Join(dir, stateDir, doneDir))
}

// makeStateDirs creates dir/.dragonload and dir/.dragonload/done, readable
// by their owner only, and checks that neither is a symbolic link: the
// state, the lock and finished link files go there.
func makeStateDirs(dir string) error {
	wd, err := osutil.OpenDir(dir)
	if err != nil {
		return fmt.Errorf("open watched folder: %w", err)
	}
	defer wd.Close()
	if err := wd.Mkdir(stateDir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create %s: %w", filepath.Join(dir, stateDir), err)
	}
	sd, err := wd.OpenDir(stateDir)
	if err != nil {
		return err
	}
	defer sd.Close()
	if err := sd.Mkdir(doneDir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create %s: %w", filepath.Join(dir, stateDir, doneDir), err)
	}
	dd, err := sd.OpenDir(doneDir)
	if err != nil {
		return err
	}
	return dd.Close()
}

// openStateDir opens dir/.dragonload, refusing a symbolic link.
func openStateDir(dir string) (*osutil.Dir, error) {
	wd, err := osutil.OpenDir(dir)
	if err != nil {
		return nil, err
	}
	defer wd.Close()
	return wd.OpenDir(stateDir)
}

// reasonOf says why a link file cannot be used without quoting it: the
// line, when the parser names one, and the kind of problem, from a fixed
// list. The parser's own messages quote the file (an unknown key, a bad
// URL, the TOML parser's view of a line), and the note goes into a folder
// others may read, beside a file that may not be what it seems; so only a
// line or mirror number is taken from them, never text.
func reasonOf(err error) string {
	msg := err.Error()
	where := ""
	if n, rest, ok := number(msg, "line ", ": "); ok {
		where, msg = "line "+n+": ", rest
	}
	if n, _, ok := number(msg, "mirror ", " "); ok {
		return where + "mirror " + n + " is not a usable http or https URL"
	}
	if n, _, ok := number(msg, "mirror ", ": "); ok {
		return where + "mirror " + n + " is not a usable http or https URL"
	}
	if rest, ok := strings.CutPrefix(msg, needAll); ok {
		return where + needAll + missingOf(rest)
	}
	for _, k := range reasonKinds {
		if strings.HasPrefix(msg, k.prefix) {
			return where + k.kind
		}
	}
	return where + "this is not a usable link file"
}

// needAll starts the parser's error for a link without a url that lacks
// sha256, name or size, and what a note says for it.
const needAll = "a link without a url must give sha256, name and size"

// missingOf reads the " (missing: sha256, size)" that follows needAll
// and gives it back when it names only those three fields, so that no text
// of the file passes; otherwise it gives "".
func missingOf(s string) string {
	list, ok := strings.CutPrefix(s, " (missing: ")
	if !ok {
		return ""
	}
	list, ok = strings.CutSuffix(list, ")")
	if !ok {
		return ""
	}
	fields := strings.Split(list, ", ")
	for i, f := range fields {
		if f != "sha256" && f != "name" && f != "size" || slices.Contains(fields[:i], f) {
			return ""
		}
	}
	return " (missing: " + strings.Join(fields, ", ") + ")"
}

// sourceOf gives the key and value a log line names a link's file by: its
// url, or its SHA-256 when it has none.
func sourceOf(l link.Link) (key, value string) {
	if l.HasOrigin() {
		return "url", l.URL
	}
	return "sha256", l.SHA256
}

// redact takes out of s, a download error, what only the link file shows:
// the query and credentials of its URLs (signed links carry tokens there)
// and the values of its headers. What remains names the server and path.
func redact(s string, l link.Link) string {
	for _, raw := range append([]string{l.URL}, l.Mirrors...) {
		u, err := url.Parse(raw)
		if err != nil || raw == "" {
			continue
		}
		bare := *u
		bare.User, bare.RawQuery, bare.ForceQuery, bare.Fragment, bare.RawFragment = nil, "", false, "", ""
		for _, form := range []string{raw, u.String(), u.Redacted()} {
			s = strings.ReplaceAll(s, form, bare.String())
		}
	}
	for _, v := range l.Headers {
		if len(v) >= 4 { // shorter ones would blank out ordinary words
			s = strings.ReplaceAll(s, v, "(header value)")
		}
	}
	return s
}

// reasonKinds maps the start of a parse error to what a note says.
var reasonKinds = []struct{ prefix, kind string }{
	{"file is larger than", "the file is larger than 64 KiB"},
	{"file is not UTF-8", "the file is not UTF-8 text"},
	{"file is empty", "the file holds no link"},
	{"a one-line link file", "a one-line link file must hold nothing but its URL"},
	{"not valid TOML", "not valid TOML"},
	{"unknown key", "unknown key (known keys: url, name, size, sha256, mirrors, headers)"},
	{"url is required", "url is required"},
	{"url is empty", "url is empty (leave it out when sha256, name and size are given instead)"},
	{"url", "url is not a usable http or https URL"},
	{"mirrors need a url", "mirrors need a url: they are more origins for the url's bytes"},
	{"mirrors", "mirrors must be a list of http or https URLs"},
	{"name", "name is not a usable file name"},
	{"size", "size must be a positive whole number of bytes"},
	{"sha256", "sha256 must be 64 hex digits (0-9, a-f)"},
	{"headers need a url", "headers need a url: they are sent to the url's host"},
	{"header", "a header is not usable"},
	{"not a dragon link", "not a dragon:// link"},
	{"dragon link", "the dragon:// link is malformed"},
	{"unknown parameter", "unknown parameter in the dragon:// link"},
	{"parameter", "a parameter of the dragon:// link is malformed or repeated"},
}

// number cuts prefix, a run of decimal digits and then sep from the start
// of s.
func number(s, prefix, sep string) (n, rest string, ok bool) {
	s, ok = strings.CutPrefix(s, prefix)
	if !ok {
		return "", "", false
	}
	i := 0
	for i < len(s) && i < 9 && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return "", "", false
	}
	rest, ok = strings.CutPrefix(s[i:], sep)
	return s[:i], rest, ok
}
