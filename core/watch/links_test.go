package watch

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dragonload/dragonload/core/link"
)

// secret is what a file the watcher must not reveal holds: an unknown key
// (which the parser's own error would quote) and a URL with a token.
const (
	secretToken = "tok-7f3c9a1e5b"
	secretText  = "api_" + secretToken + " = \"x\"\nurl = \"https://example.com/f?token=" + secretToken + "\"\n"
)

// syncBuffer is a log sink safe for the watcher's goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// watchWithLog runs a watcher on dir whose log goes into the returned
// buffer.
func watchWithLog(t *testing.T, dir string) (*Watcher, *recorder, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	w, err := New(Options{Dir: dir, Debounce: testDebounce, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	r := newRecorder()
	run(t, w, r)
	return w, r, logs
}

// noSecret fails the test if the secret shows anywhere the watcher
// writes: the folder (notes), the state, the log. The link files the test
// wrote, inputs, are passed over.
func noSecret(t *testing.T, dir string, logs *syncBuffer, inputs ...string) {
	t.Helper()
	if strings.Contains(logs.String(), secretToken) {
		t.Errorf("the log quotes the secret:\n%s", logs)
	}
	filepath.WalkDir(dir, func(path string, de os.DirEntry, err error) error {
		if err != nil || !de.Type().IsRegular() {
			return nil
		}
		if b, _ := os.ReadFile(path); bytes.Contains(b, []byte(secretToken)) && !slices.Contains(inputs, path) {
			t.Errorf("%s quotes the secret: %q", path, b)
		}
		return nil
	})
}

// TestLinkedLinkFiles: a link file that is a symbolic link or a hard link
// to a file the watcher's user may read and others may not (the secret)
// is not read: no download, no note, and the secret shows nowhere.
func TestLinkedLinkFiles(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"symlink", "hard link"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			if kind == "hard link" && runtime.GOOS == "windows" {
				t.Skip("link counts are not checked on Windows")
			}
			dir := t.TempDir()
			secret := filepath.Join(t.TempDir(), "secrets")
			if err := os.WriteFile(secret, []byte(secretText), 0o600); err != nil {
				t.Fatal(err)
			}
			x := filepath.Join(dir, "x.dragon")
			var err error
			if kind == "symlink" {
				err = os.Symlink(secret, x)
			} else {
				err = os.Link(secret, x)
			}
			if err != nil {
				if runtime.GOOS == "windows" {
					t.Skipf("cannot make a %s: %v", kind, err)
				}
				t.Fatal(err)
			}
			_, r, logs := watchWithLog(t, dir)
			// A good link after it: once that starts, x was looked at.
			write(t, filepath.Join(dir, "good.dragon"), linkText("https://example.com/good"))
			if j := r.next(t); j.Link.URL != "https://example.com/good" {
				t.Fatalf("started %s", j.Link.URL)
			}
			r.none(t, 4*testDebounce)
			if exists(x + noteExt) {
				t.Error("a note was written for a link file that was not read")
			}
			noSecret(t, dir, logs, x)
			if !strings.Contains(logs.String(), "refusing to read "+x) {
				t.Errorf("the log does not say why x.dragon was not read:\n%s", logs)
			}
		})
	}
}

// TestNoteQuotesNothing: the note for a link file that cannot be used
// says what is wrong and where, without quoting the file, and only its
// owner may read it.
func TestNoteQuotesNothing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, _, logs := watchWithLog(t, dir)
	path := filepath.Join(dir, "plain.dragon")
	write(t, path, secretText)
	note := path + noteExt
	eventually(t, "the note exists", func() bool { return exists(note) })
	b, err := os.ReadFile(note)
	if err != nil {
		t.Fatal(err)
	}
	if want := "plain.dragon cannot be used: line 1: unknown key (known keys: url, name, size, sha256, mirrors, headers).\nFix the link file and save it again to retry.\n"; string(b) != want {
		t.Errorf("note = %q\nwant   %q", b, want)
	}
	if fi, err := os.Stat(note); err != nil || (runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600) {
		t.Errorf("note mode %v (%v), want 0600", fi.Mode().Perm(), err)
	}
	noSecret(t, dir, logs, path)
}

// TestNoteOverSymlink: a symbolic link planted at a note's name is
// replaced by the note, never written through.
func TestNoteOverSymlink(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(victim, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := os.Chtimes(victim, old, old); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.dragon")
	if err := os.Symlink(victim, bad+noteExt); err != nil {
		if runtime.GOOS == "windows" {
			t.Skipf("cannot make a symbolic link: %v", err)
		}
		t.Fatal(err)
	}
	watchWithLog(t, dir)
	write(t, bad, "url = \"https://example.com/x\"\nsha256 = \"abc\"\n")
	eventually(t, "the note replaces the link", func() bool {
		fi, err := os.Lstat(bad + noteExt)
		return err == nil && fi.Mode().IsRegular()
	})
	if b, _ := os.ReadFile(victim); string(b) != "keep" {
		t.Errorf("the link's target now holds %q", b)
	}
	if fi, _ := os.Stat(victim); !fi.ModTime().Equal(old) {
		t.Errorf("the link's target was modified at %v", fi.ModTime())
	}
	if fi, _ := os.Stat(bad + noteExt); runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("note mode %v, want 0600", fi.Mode().Perm())
	}
}

// TestFailedNoteRedacts: a download error that quotes the link's URL
// loses its query and credentials in the note and the state.
func TestFailedNoteRedacts(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	w, r, _ := watchWithLog(t, dir)
	raw := "https://user:" + secretToken + "@example.com/f.iso?sig=" + secretToken
	write(t, filepath.Join(dir, "f.dragon"), "url = \""+raw+"\"\n\n[headers]\nAuthorization = \"Bearer "+secretToken+"\"\n")
	j := r.next(t)
	cause := errors.New("requesting " + raw + ": server answered 403 Forbidden for Bearer " + secretToken)
	if err := w.Failed(j, cause); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(j.Path + noteExt)
	if err != nil {
		t.Fatal(err)
	}
	want := "The download for f.dragon failed: requesting https://example.com/f.iso: server answered 403 Forbidden for (header value).\nDelete this note to try again.\n"
	if string(b) != want {
		t.Errorf("note = %q\nwant   %q", b, want)
	}
	var sf stateFile
	data, _ := os.ReadFile(filepath.Join(dir, stateDir, stateFileName))
	if err := json.Unmarshal(data, &sf); err != nil || sf.Links[j.Key] == nil {
		t.Fatalf("state %s: %v", data, err)
	}
	if e := sf.Links[j.Key].Error; strings.Contains(e, secretToken) {
		t.Errorf("the state keeps the unredacted error %q", e)
	}
}

// TestStateDirSymlink: a .dragonload planted as a symbolic link to another
// folder is refused; nothing is created there.
func TestStateDirSymlink(t *testing.T) {
	t.Parallel()
	dir, elsewhere := t.TempDir(), t.TempDir()
	if err := os.Symlink(elsewhere, filepath.Join(dir, stateDir)); err != nil {
		if runtime.GOOS == "windows" {
			t.Skipf("cannot make a symbolic link: %v", err)
		}
		t.Fatal(err)
	}
	_, err := New(Options{Dir: dir})
	if err == nil || !strings.Contains(err.Error(), "refusing to use "+filepath.Join(dir, stateDir)+": it is a symbolic link") {
		t.Fatalf("New = %v; want a refusal", err)
	}
	if es, _ := os.ReadDir(elsewhere); len(es) != 0 {
		t.Errorf("the link's target received %v", es)
	}
}

// TestReasonOf: what a note says for each kind of bad link file, from the
// parser's real errors; none may carry text from the file.
func TestReasonOf(t *testing.T) {
	t.Parallel()
	const m = "zq9marker"
	cases := []struct{ file, want string }{
		{"", "the file holds no link"},
		{"\xff\xfe", "the file is not UTF-8 text"},
		{strings.Repeat("#"+m+"\n", link.MaxFileSize/10+1), "the file is larger than 64 KiB"},
		{"https://example.com/" + m + "\nmore " + m + "\n", "line 2: a one-line link file must hold nothing but its URL"},
		{"url = \"https://example.com/x\"\n" + m + " = = \"" + m + "\"\n", "line 2: not valid TOML"},
		{"url = \"https://example.com/x\"\n" + m + " = 1\n", "line 2: unknown key (known keys: url, name, size, sha256, mirrors, headers)"},
		{"name = \"" + m + "\"\n", "a link without a url must give sha256, name and size (missing: sha256, size)"},
		{"url = \"ftp://" + m + "/x\"\n", "line 1: url is not a usable http or https URL"},
		{"url = \"\"\nname = \"" + m + "\"\n", "line 1: url is empty (leave it out when sha256, name and size are given instead)"},
		{"dragon://?url=&name=" + m + "\n", "line 1: url is empty (leave it out when sha256, name and size are given instead)"},
		{"size = 7\nsha256 = \"" + hash + "\"\n", "a link without a url must give sha256, name and size (missing: name)"},
		{"dragon://?name=" + m + "&sha256=" + hash + "\n", "line 1: a link without a url must give sha256, name and size (missing: size)"},
		{"dragon://?" + m + "=\n", "line 1: unknown parameter in the dragon:// link"},
		{"name = \"a.iso\"\nsize = 7\nsha256 = \"" + hash + "\"\nmirrors = [\"https://" + m + "/x\"]\n", "line 4: mirrors need a url: they are more origins for the url's bytes"},
		{"dragon://?name=a.iso&size=7&sha256=" + hash + "&mirror=https://" + m + "/x\n", "line 1: mirrors need a url: they are more origins for the url's bytes"},
		{"name = \"a.iso\"\nsize = 7\nsha256 = \"" + hash + "\"\n[headers]\nCookie = \"" + m + "\"\n", "line 4: headers need a url: they are sent to the url's host"},
		{"headers.Cookie = \"" + m + "\"\nname = \"a.iso\"\n", "line 1: headers need a url: they are sent to the url's host"},
		{"dragon://?name=a.iso&size=7&sha256=" + hash + "&header=Cookie:%20" + m + "\n", "line 1: headers need a url: they are sent to the url's host"},
		{"url = \"https://example.com/x\"\nmirrors = [\"https://example.com/y\", \"gopher://" + m + "\"]\n", "line 2: mirror 2 is not a usable http or https URL"},
		{"url = \"https://example.com/x\"\nname = \"../" + m + "\"\n", "line 2: name is not a usable file name"},
		{"url = \"https://example.com/x\"\nsize = 1.5\n", "line 2: size must be a positive whole number of bytes"},
		{"url = \"https://example.com/x\"\nsha256 = \"" + m + "\"\n", "line 2: sha256 must be 64 hex digits (0-9, a-f)"},
		{"url = \"https://example.com/x\"\n[headers]\nHost = \"" + m + "\"\n", "line 3: a header is not usable"},
		{"dragon://?url=https://example.com/x&" + m + "=1\n", "line 1: unknown parameter in the dragon:// link"},
	}
	for _, c := range cases {
		_, err := link.Parse([]byte(c.file))
		if err == nil {
			t.Errorf("Parse(%.40q) succeeded", c.file)
			continue
		}
		got := reasonOf(err)
		if got != c.want {
			t.Errorf("reasonOf(%q) = %q, want %q", err, got, c.want)
		}
		if strings.Contains(got, m) {
			t.Errorf("reasonOf(%q) quotes the file: %q", err, got)
		}
	}
	// Whatever the parser says, only digits of it pass.
	if got := reasonOf(errors.New("line 12: " + m)); got != "line 12: this is not a usable link file" {
		t.Errorf("an unknown error gives %q", got)
	}
	if got := reasonOf(errors.New("line " + m + ": url")); strings.Contains(got, m) {
		t.Errorf("a malformed line number passes: %q", got)
	}
	// Of what a link without a url is missing, only the three field
	// names pass, each once, or nothing does.
	const need = "a link without a url must give sha256, name and size"
	for in, want := range map[string]string{
		need + " (missing: sha256, name, size)": need + " (missing: sha256, name, size)",
		need + " (missing: name)":               need + " (missing: name)",
		need + " (missing: " + m + ")":          need,
		need + " (missing: name, " + m + ")":    need,
		need + " (missing: name, name)":         need,
		need + " (missing: name) " + m:          need,
		need + " (missing: )":                   need,
		need + m:                                need,
		"line 3: " + need + " (missing: size)":  "line 3: " + need + " (missing: size)",
	} {
		if got := reasonOf(errors.New(in)); got != want {
			t.Errorf("reasonOf(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestLinkWithoutURL: a link file naming its file by sha256, name and
// size alone starts a download of that link, and the log names it by its
// sha256, when it starts and when it resumes after a restart.
func TestLinkWithoutURL(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	want := link.Link{Name: "debian.iso", Size: 3994091520, SHA256: hash}
	logs := &syncBuffer{}
	w, err := New(Options{Dir: dir, Debounce: testDebounce, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	r := newRecorder()
	stop := run(t, w, r)
	write(t, filepath.Join(dir, "room.dragon"), string(want.Format()))
	j := r.next(t)
	if j.Link.HasOrigin() || j.Link.Name != want.Name || j.Link.Size != want.Size || j.Link.SHA256 != want.SHA256 {
		t.Fatalf("started %+v, want %+v", j.Link, want)
	}
	r.none(t, 4*testDebounce)
	stop()
	if exists(filepath.Join(dir, "room.dragon"+noteExt)) {
		t.Error("a note was written for a usable link without a url")
	}
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if strings.Contains(line, "starting download") && !strings.Contains(line, "sha256="+hash) {
			t.Errorf("the start is logged without the sha256: %s", line)
		}
		if strings.Contains(line, "url=") {
			t.Errorf("the log names an empty url: %s", line)
		}
	}
	if !strings.Contains(logs.String(), "starting download from link file") {
		t.Errorf("the start is not logged:\n%s", logs)
	}

	// After a restart, the pending link is handed over again and then
	// resumes when the folder is scanned.
	w2, err := New(Options{Dir: dir, Debounce: testDebounce, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if p := w2.Pending(); len(p) != 1 || !reflect.DeepEqual(p[0].Link, j.Link) {
		t.Fatalf("Pending() = %+v, want the link without a url", p)
	}
	run(t, w2, r)
	if j2 := r.next(t); !reflect.DeepEqual(j2, j) {
		t.Fatalf("after restart started %+v, want %+v", j2, j)
	}
	eventually(t, "the resume is logged", func() bool {
		return strings.Contains(logs.String(), "resuming link from an earlier run")
	})
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, "resuming link") && !strings.Contains(line, "sha256="+hash) {
			t.Errorf("the resume is logged without the sha256: %s", line)
		}
	}
}
