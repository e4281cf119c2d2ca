package index

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dragonload/dragonload/core/osutil"
)

// fixture is an index in a temporary folder and files to put in it.
type fixture struct {
	t     *testing.T
	dir   string // the shared files
	path  string // the index file
	x     *Index
	clock time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	home := t.TempDir()
	f := &fixture{t: t, dir: t.TempDir(), path: filepath.Join(home, "index.json"),
		clock: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	f.x = f.open()
	return f
}

func (f *fixture) open() *Index {
	f.t.Helper()
	x, err := Open(f.path)
	if err != nil {
		f.t.Fatal(err)
	}
	return x
}

// file writes content to name in the shared folder, with a fixed
// modification time, and returns its path.
func (f *fixture) file(name, content string) string {
	f.t.Helper()
	p := filepath.Join(f.dir, name)
	mustDo(f.t, os.MkdirAll(filepath.Dir(p), 0o755))
	mustDo(f.t, os.WriteFile(p, []byte(content), 0o644))
	mt := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	mustDo(f.t, os.Chtimes(p, mt, mt))
	return p
}

// add indexes a file holding content, with a distinct Added time each
// call (later calls are newer) and an origin key made from url.
func (f *fixture) add(name, content, url string) Entry {
	f.t.Helper()
	p := f.file(name, content)
	f.clock = f.clock.Add(time.Minute)
	e := Entry{Path: p, SHA256: sha256.Sum256([]byte(content)), URL: url, Added: f.clock}
	if k, ok := OriginKey(url, `"etag-`+content+`"`, "", int64(len(content))); ok {
		e.Origin = k
	}
	got, err := f.x.Add(e)
	if err != nil {
		f.t.Fatal(err)
	}
	checkConsistent(f.t, f.x)
	return got
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

// checkConsistent: the lookup maps hold exactly the entries, and the file
// on disk holds exactly what memory does.
func checkConsistent(t *testing.T, x *Index) {
	t.Helper()
	x.mu.Lock()
	defer x.mu.Unlock()
	n := 0
	for sum, paths := range x.bySum {
		for _, p := range paths {
			if x.entries[p].SHA256 != sum {
				t.Errorf("bySum holds %s under the wrong hash", p)
			}
			n++
		}
	}
	if n != len(x.entries) {
		t.Errorf("bySum holds %d paths for %d entries", n, len(x.entries))
	}
	for sum, paths := range x.byOrigin {
		for _, p := range paths {
			if e, ok := x.entries[p]; !ok || e.Origin != sum || sum == ([32]byte{}) {
				t.Errorf("byOrigin holds %s under the wrong key", p)
			}
		}
	}
	data, err := os.ReadFile(x.path)
	if errors.Is(err, fs.ErrNotExist) && len(x.entries) == 0 {
		return
	}
	mustDo(t, err)
	onDisk, err := decode(data)
	mustDo(t, err)
	inMem := slices.SortedFunc(func(yield func(Entry) bool) {
		for _, e := range x.entries {
			if !yield(e) {
				return
			}
		}
	}, newestFirst)
	if !reflect.DeepEqual(onDisk, inMem) && !(len(onDisk) == 0 && len(inMem) == 0) {
		t.Errorf("on disk:\n%+v\nin memory:\n%+v", onDisk, inMem)
	}
}

func paths(es []Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, filepath.Base(e.Path))
	}
	return out
}

func TestAddFills(t *testing.T) {
	f := newFixture(t)
	p := f.file("sub/Big File.iso", "0123456789")
	before := time.Now()
	e, err := f.x.Add(Entry{Path: p, SHA256: sha256.Sum256([]byte("0123456789"))})
	mustDo(t, err)
	fi, err := os.Lstat(p)
	mustDo(t, err)
	switch {
	case e.Name != "Big File.iso":
		t.Errorf("Name = %q", e.Name)
	case e.Size != 10:
		t.Errorf("Size = %d", e.Size)
	case !e.ModTime.Equal(fi.ModTime()):
		t.Errorf("ModTime = %v, want %v", e.ModTime, fi.ModTime())
	case !e.Shared:
		t.Error("not shared")
	case e.Added.Before(before.Add(-time.Second)) || e.Added.After(time.Now().Add(time.Second)):
		t.Errorf("Added = %v, want about now", e.Added)
	case e.Origin != [32]byte{} || e.URL != "":
		t.Errorf("origin or URL made up: %+v", e)
	}
	if runtime.GOOS == "linux" || runtime.GOOS == "darwin" || runtime.GOOS == "windows" {
		if e.FileID == "" {
			t.Error("no FileID")
		}
	}
	// A given name and size are kept; Add with the same path replaces.
	e2, err := f.x.Add(Entry{Path: p, Name: "Shown name", Size: 10, SHA256: sha256.Sum256([]byte("x"))})
	mustDo(t, err)
	if e2.Name != "Shown name" {
		t.Errorf("Name = %q", e2.Name)
	}
	if l := f.x.List(); len(l) != 1 || l[0] != e2 {
		t.Errorf("List = %+v, want only %+v", l, e2)
	}
	if _, ok := f.x.Lookup(e.SHA256, false); ok {
		t.Error("the replaced entry's hash still finds it")
	}
	checkConsistent(t, f.x)
}

func TestCleanName(t *testing.T) {
	cases := []struct{ in, want string }{
		{"plain.iso", "plain.iso"},
		{"bad\xffbyte", "bad\uFFFDbyte"},
		{"tab\there", "tab\uFFFDhere"},
		{strings.Repeat("\x00", 300), strings.Repeat("\uFFFD", 85)},
		{strings.Repeat("é", 200), strings.Repeat("é", 128)},
		{"a" + strings.Repeat("é", 200), "a" + strings.Repeat("é", 127)},
	}
	for _, c := range cases {
		got := cleanName(c.in)
		if got != c.want {
			t.Errorf("cleanName(%.20q) = %.20q, want %.20q", c.in, got, c.want)
		}
		e := Entry{Path: abs("x"), Name: got, Size: 1, SHA256: [32]byte{1}, Added: time.Unix(1, 0).UTC(), ModTime: time.Unix(1, 0).UTC()}
		if err := checkEntry(e); err != nil {
			t.Errorf("cleanName(%.20q) = %.20q: %v", c.in, got, err)
		}
	}
}

func TestAddRefuses(t *testing.T) {
	f := newFixture(t)
	good := f.file("good", "content")
	sum := sha256.Sum256([]byte("content"))
	cases := []struct {
		name  string
		entry func(t *testing.T) Entry
		want  error // matched with errors.Is when set
	}{
		{"relative path", func(*testing.T) Entry { return Entry{Path: "good", SHA256: sum} }, nil},
		{"unclean path", func(*testing.T) Entry { return Entry{Path: f.dir + "/./good", SHA256: sum} }, nil},
		{"missing", func(*testing.T) Entry { return Entry{Path: filepath.Join(f.dir, "none"), SHA256: sum} }, fs.ErrNotExist},
		{"wrong size", func(*testing.T) Entry { return Entry{Path: good, Size: 8, SHA256: sum} }, nil},
		{"negative size", func(*testing.T) Entry { return Entry{Path: good, Size: -1, SHA256: sum} }, nil},
		{"no hash", func(*testing.T) Entry { return Entry{Path: good} }, nil},
		{"empty file", func(*testing.T) Entry { return Entry{Path: f.file("empty", ""), SHA256: sum} }, nil},
		{"folder", func(*testing.T) Entry { return Entry{Path: f.dir, SHA256: sum} }, osutil.ErrNotRegular},
		{"symlink", func(t *testing.T) Entry {
			link := filepath.Join(f.dir, "link")
			plantSymlink(t, good, link)
			return Entry{Path: link, SHA256: sum}
		}, osutil.ErrSymlink},
		{"control in URL", func(*testing.T) Entry { return Entry{Path: good, SHA256: sum, URL: "http://x/\n"} }, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := c.entry(t)
			if _, err := f.x.Add(e); err == nil || c.want != nil && !errors.Is(err, c.want) {
				t.Fatalf("Add(%+v) = %v, want %v", e, err, c.want)
			}
			if l := f.x.List(); len(l) != 0 {
				t.Fatalf("refused entry listed: %+v", l)
			}
		})
	}
	if _, err := os.Stat(f.path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("refusals wrote the index: %v", err)
	}
}

func TestLookup(t *testing.T) {
	f := newFixture(t)
	a := f.add("a.iso", "aaaa", "https://example.com/a.iso")
	b := f.add("b.iso", "bbbb", "")
	// The same bytes under another name, newer.
	a2 := f.add("copy of a.iso", "aaaa", "https://mirror.example/a.iso")
	cases := []struct {
		name     string
		key      [32]byte
		byOrigin bool
		want     *Entry
	}{
		{"by content, newest of two", a.SHA256, false, &a2},
		{"by origin", a.Origin, true, &a},
		{"by other origin", a2.Origin, true, &a2},
		{"by content without origin", b.SHA256, false, &b},
		{"content hash as origin", b.SHA256, true, nil},
		{"origin as content hash", a.Origin, false, nil},
		{"zero origin", [32]byte{}, true, nil},
		{"zero hash", [32]byte{}, false, nil},
		{"unknown", sha256.Sum256([]byte("nothing")), false, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := f.x.Lookup(c.key, c.byOrigin)
			switch {
			case c.want == nil && ok:
				t.Fatalf("found %+v", got)
			case c.want != nil && (!ok || got != *c.want):
				t.Fatalf("Lookup = %+v, %v; want %+v", got, ok, *c.want)
			}
		})
	}
	if b.Origin != ([32]byte{}) {
		t.Errorf("an entry without URL has an origin key")
	}
}

// TestChanged changes an indexed file in each way the index must notice,
// and checks that Lookup, Search and OpenFile all refuse it, drop it and
// save the drop.
func TestChanged(t *testing.T) {
	later := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name   string
		change func(t *testing.T, f *fixture, e Entry)
		symErr bool
	}{
		{"rewritten, same size, new time", func(t *testing.T, f *fixture, e Entry) {
			mustDo(t, os.WriteFile(e.Path, []byte("XXXXXXXX"), 0o644))
			mustDo(t, os.Chtimes(e.Path, later, later))
		}, false},
		{"time touched only", func(t *testing.T, f *fixture, e Entry) {
			mustDo(t, os.Chtimes(e.Path, later, later))
		}, false},
		{"size changed, time kept", func(t *testing.T, f *fixture, e Entry) {
			mustDo(t, os.WriteFile(e.Path, []byte("longer than before"), 0o644))
			mustDo(t, os.Chtimes(e.Path, e.ModTime, e.ModTime))
		}, false},
		{"replaced, same size and time", func(t *testing.T, f *fixture, e Entry) {
			if e.FileID == "" {
				t.Skip("no file ids here")
			}
			tmp := e.Path + ".new"
			mustDo(t, os.WriteFile(tmp, []byte("XXXXXXXX"), 0o644))
			mustDo(t, os.Chtimes(tmp, e.ModTime, e.ModTime))
			mustDo(t, os.Rename(tmp, e.Path))
			fi, err := os.Lstat(e.Path)
			mustDo(t, err)
			if fi.Size() != e.Size || !fi.ModTime().Equal(e.ModTime) {
				t.Fatalf("the replacement is not alike: %d bytes, %v", fi.Size(), fi.ModTime())
			}
		}, false},
		{"removed", func(t *testing.T, f *fixture, e Entry) {
			mustDo(t, os.Remove(e.Path))
		}, false},
		{"symlink to a secret", func(t *testing.T, f *fixture, e Entry) {
			secret := filepath.Join(t.TempDir(), "id_ed25519")
			mustDo(t, os.WriteFile(secret, []byte("SECRET!!"), 0o600))
			mustDo(t, os.Chtimes(secret, e.ModTime, e.ModTime))
			mustDo(t, os.Remove(e.Path))
			plantSymlink(t, secret, e.Path)
		}, true},
		{"symlink to the very file, moved", func(t *testing.T, f *fixture, e Entry) {
			// The link leads to the indexed file itself: only refusing to
			// follow links keeps it out.
			moved := filepath.Join(t.TempDir(), "moved")
			mustDo(t, os.Rename(e.Path, moved))
			plantSymlink(t, moved, e.Path)
		}, true},
		{"folder in its place", func(t *testing.T, f *fixture, e Entry) {
			mustDo(t, os.Remove(e.Path))
			mustDo(t, os.Mkdir(e.Path, 0o755))
		}, false},
	}
	uses := []struct {
		name string
		use  func(f *fixture, e Entry) error
	}{
		{"Lookup", func(f *fixture, e Entry) error {
			if got, ok := f.x.Lookup(e.SHA256, false); ok {
				return fmt.Errorf("Lookup found %+v", got)
			}
			return nil
		}},
		{"Lookup by origin", func(f *fixture, e Entry) error {
			if got, ok := f.x.Lookup(e.Origin, true); ok {
				return fmt.Errorf("Lookup found %+v", got)
			}
			return nil
		}},
		{"Search", func(f *fixture, e Entry) error {
			if got := f.x.Search("shared", 10); len(got) != 0 {
				return fmt.Errorf("Search found %+v", got)
			}
			return nil
		}},
		{"OpenFile", func(f *fixture, e Entry) error {
			r, err := f.x.OpenFile(e)
			if err == nil {
				b, _ := io.ReadAll(r)
				r.Close()
				return fmt.Errorf("OpenFile opened it and read %q", b)
			}
			if !errors.Is(err, ErrChanged) {
				return fmt.Errorf("OpenFile = %v, want ErrChanged", err)
			}
			return nil
		}},
	}
	for _, c := range cases {
		for _, u := range uses {
			t.Run(c.name+"/"+u.name, func(t *testing.T) {
				f := newFixture(t)
				e := f.add("shared.bin", "original", "https://example.com/shared.bin")
				other := f.add("other.bin", "other", "")
				if _, ok := f.x.Lookup(e.SHA256, false); !ok {
					t.Fatal("not found before the change")
				}
				c.change(t, f, e)
				mustDo(t, u.use(f, e))
				if l := f.x.List(); len(l) != 1 || l[0] != other {
					t.Fatalf("after the change List = %v, want only other.bin", paths(l))
				}
				checkConsistent(t, f.x)
				if l := f.open().List(); len(l) != 1 || l[0] != other {
					t.Fatalf("after reopening List = %v, want only other.bin", paths(l))
				}
			})
		}
	}
}

func TestOpenFile(t *testing.T) {
	f := newFixture(t)
	e := f.add("a.bin", "the bytes", "")
	r, err := f.x.OpenFile(e)
	mustDo(t, err)
	b, err := io.ReadAll(r)
	r.Close()
	if err != nil || string(b) != "the bytes" {
		t.Fatalf("read %q, %v", b, err)
	}

	// Only entries of the index are opened, and only as indexed.
	secret := f.file("secret", "do not share")
	stale := e
	stale.ModTime = stale.ModTime.Add(-time.Hour)
	bad := []struct {
		name string
		e    Entry
	}{
		{"not indexed", Entry{Path: secret, Size: 12, SHA256: sha256.Sum256([]byte("do not share"))}},
		{"made up from another entry", func() Entry { x := e; x.Path = secret; return x }()},
		{"stale", stale},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			if r, err := f.x.OpenFile(c.e); !errors.Is(err, ErrChanged) {
				if r != nil {
					r.Close()
				}
				t.Fatalf("OpenFile = %v, want ErrChanged", err)
			}
		})
	}
	if l := f.x.List(); len(l) != 1 {
		t.Errorf("a refused request dropped the real entry: %v", paths(l))
	}
}

// TestOpenFileSymlinkError: the error for a planted link says so.
func TestOpenFileSymlinkError(t *testing.T) {
	f := newFixture(t)
	e := f.add("a.bin", "the bytes", "")
	mustDo(t, os.Remove(e.Path))
	plantSymlink(t, f.file("elsewhere", "the bytes"), e.Path)
	r, err := f.x.OpenFile(e)
	if err == nil {
		r.Close()
		t.Fatal("opened through a symbolic link")
	}
	if !errors.Is(err, ErrChanged) || !errors.Is(err, osutil.ErrSymlink) {
		t.Fatalf("OpenFile = %v, want ErrChanged and ErrSymlink", err)
	}
}

func TestSearch(t *testing.T) {
	f := newFixture(t)
	f.add("Ubuntu-24.04-desktop-amd64.iso", "1", "")
	f.add("ubuntu-24.04-server.iso", "2", "")
	f.add("kubuntu-24.04.iso", "3", "")
	f.add("UbuntuStudio.iso", "4", "")
	f.add("old/debian_12.iso", "5", "")
	f.add("new/debian_12.iso", "6", "") // newer, same name
	f.add("hidden-ubuntu-24.04.iso", "7", "")
	mustDo(t, f.x.SetShared(filepath.Join(f.dir, "hidden-ubuntu-24.04.iso"), false))
	cases := []struct {
		query string
		limit int
		want  []string // base names, in order
	}{
		{"ubuntu 24.04", 10, []string{"ubuntu-24.04-server.iso", "Ubuntu-24.04-desktop-amd64.iso", "kubuntu-24.04.iso"}},
		{"UBUNTU  Server", 10, []string{"ubuntu-24.04-server.iso"}},
		// "ubuntu" is a whole word of the first two only.
		{"ubuntu", 10, []string{"ubuntu-24.04-server.iso", "Ubuntu-24.04-desktop-amd64.iso", "UbuntuStudio.iso", "kubuntu-24.04.iso"}},
		{"ubuntu-24.04", 2, []string{"ubuntu-24.04-server.iso", "Ubuntu-24.04-desktop-amd64.iso"}},
		{"studio", 10, []string{"UbuntuStudio.iso"}},
		{"DEBIAN_12", 10, []string{"debian_12.iso", "debian_12.iso"}},
		{"iso fedora", 10, nil},
		{"", 10, nil},
		{" .-_ ", 10, nil},
		{"ubuntu", 0, nil},
	}
	for _, c := range cases {
		t.Run(c.query, func(t *testing.T) {
			got := f.x.Search(c.query, c.limit)
			if !slices.Equal(paths(got), c.want) {
				t.Fatalf("Search(%q) = %q, want %q", c.query, paths(got), c.want)
			}
		})
	}
	// Among equals the newer comes first.
	if got := f.x.Search("debian", 10); len(got) != 2 || filepath.Base(filepath.Dir(got[0].Path)) != "new" {
		t.Errorf("Search(debian) = %+v, want new/ first", got)
	}
}

func TestPersistence(t *testing.T) {
	f := newFixture(t)
	f.add("a.iso", "aaaa", "https://example.com/a.iso")
	b := f.add("b.iso", "bbbb", "")
	f.add("dir/c.iso", "cccc", "https://example.com/c.iso?x=<&>")
	mustDo(t, f.x.SetShared(b.Path, false))
	want := f.x.List()
	if runtime.GOOS != "windows" {
		if fi, err := os.Stat(f.path); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("index file mode %v, %v; want 0600", fi.Mode(), err)
		}
	}
	got := f.open().List()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("reopened:\n%+v\nwant:\n%+v", got, want)
	}
	x := f.open()
	if e, ok := x.Lookup(want[0].Origin, true); !ok || e != want[0] {
		t.Errorf("reopened Lookup = %+v, %v", e, ok)
	}
	checkConsistent(t, x)
}

func TestOpenMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "index.json")
	x, err := Open(path)
	if err != nil || x == nil || len(x.List()) != 0 {
		t.Fatalf("Open = %v, %v", x, err)
	}
	x.Lookup([32]byte{1}, false)
	x.Search("a", 1)
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open created the file: %v", err)
	}
}

func TestOpenCorrupt(t *testing.T) {
	big := make([]byte, maxFileSize+1)
	for i := range big {
		big[i] = ' '
	}
	copy(big, `{"version":1,"entries":[]}`)
	cases := []struct{ name, data string }{
		{"not JSON", "this is not an index"},
		{"empty", ""},
		{"null", "null"},
		{"no version", `{"entries":[]}`},
		{"newer version", `{"version":2,"entries":[]}`},
		{"version 0", `{"version":0,"entries":[]}`},
		{"trailing data", `{"version":1,"entries":[]} {}`},
		{"unknown field", `{"version":1,"entries":[],"extra":1}`},
		{"relative path", `{"version":1,"entries":[` + rec("x.iso", "") + `]}`},
		{"repeated path", `{"version":1,"entries":[` + rec(abs("x.iso"), "") + `,` + rec(abs("x.iso"), "") + `]}`},
		{"zero size", `{"version":1,"entries":[` + rec(abs("x.iso"), `"size":0,`) + `]}`},
		{"short hash", `{"version":1,"entries":[` + rec(abs("x.iso"), `"sha256":"abcd",`) + `]}`},
		{"too large", string(big)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "index.json")
			mustDo(t, os.WriteFile(path, []byte(c.data), 0o600))
			x, err := Open(path)
			if err == nil {
				t.Fatal("Open accepted it")
			}
			if x == nil || len(x.List()) != 0 {
				t.Fatalf("Open returned %v", x)
			}
			if b, rerr := os.ReadFile(path + ".bad"); rerr != nil || string(b) != c.data {
				t.Fatalf("not set aside: %v", rerr)
			}
			if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("the damaged file is still there: %v", err)
			}
			// The index works and saves afresh.
			p := filepath.Join(t.TempDir(), "f")
			mustDo(t, os.WriteFile(p, []byte("x"), 0o644))
			if _, err := x.Add(Entry{Path: p, SHA256: [32]byte{1}}); err != nil {
				t.Fatal(err)
			}
			checkConsistent(t, x)
		})
	}
}

// rec is a valid record on disk; extra, JSON members each followed by a
// comma, goes last and so overrides the fields it names (encoding/json
// keeps the last of repeated members).
func rec(path, extra string) string {
	s := fmt.Sprintf(`{"path":%q,"name":"x.iso","size":4,"mod_time":"2024-01-01T00:00:00Z","sha256":"%064x","added":"2025-01-01T00:00:00Z","shared":true`, path, 1)
	if extra != "" {
		s += "," + extra[:len(extra)-1]
	}
	return s + "}"
}

func abs(name string) string {
	if runtime.GOOS == "windows" {
		return `C:\` + name
	}
	return "/" + name
}

// TestOpenUnreadable: a file that exists but cannot be read is neither
// set aside nor overwritten.
func TestOpenUnreadable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "index.json")
	mustDo(t, os.Mkdir(path, 0o700))
	x, err := Open(path)
	if err == nil || x == nil {
		t.Fatalf("Open = %v, %v", x, err)
	}
	p := filepath.Join(t.TempDir(), "f")
	mustDo(t, os.WriteFile(p, []byte("x"), 0o644))
	if _, err := x.Add(Entry{Path: p, SHA256: [32]byte{1}}); err == nil {
		t.Error("Add saved over an unreadable index")
	}
	if fi, err := os.Stat(path); err != nil || !fi.IsDir() {
		t.Errorf("the unreadable index was touched: %v", err)
	}
	if len(x.List()) != 0 {
		t.Error("an unsaved change shows")
	}
}

func TestExpire(t *testing.T) {
	f := newFixture(t)
	a := f.add("a", "a", "")
	b := f.add("b", "b", "")
	c := f.add("c", "c", "")
	n, err := f.x.Expire(b.Added.Add(time.Nanosecond))
	if err != nil || n != 2 {
		t.Fatalf("Expire = %d, %v; want 2", n, err)
	}
	if l := f.x.List(); len(l) != 1 || l[0] != c {
		t.Fatalf("List = %v, want c", paths(l))
	}
	if _, ok := f.x.Lookup(a.SHA256, false); ok {
		t.Error("an expired entry is found")
	}
	if n, err := f.x.Expire(b.Added); err != nil || n != 0 {
		t.Errorf("second Expire = %d, %v", n, err)
	}
	if l := f.open().List(); len(l) != 1 || l[0] != c {
		t.Fatalf("reopened List = %v, want c", paths(l))
	}
	checkConsistent(t, f.x)
}

func TestSetShared(t *testing.T) {
	f := newFixture(t)
	e := f.add("Movie.mkv", "movie", "https://example.com/movie.mkv")
	mustDo(t, f.x.SetShared(e.Path, false))
	if _, ok := f.x.Lookup(e.SHA256, false); ok {
		t.Error("Lookup finds an unshared entry")
	}
	if _, ok := f.x.Lookup(e.Origin, true); ok {
		t.Error("Lookup by origin finds an unshared entry")
	}
	if got := f.x.Search("movie", 10); len(got) != 0 {
		t.Error("Search finds an unshared entry")
	}
	if r, err := f.x.OpenFile(e); !errors.Is(err, ErrChanged) {
		if r != nil {
			r.Close()
		}
		t.Errorf("OpenFile of an unshared entry = %v", err)
	}
	if l := f.x.List(); len(l) != 1 || l[0].Shared || l[0].Path != e.Path {
		t.Fatalf("List = %+v, want the entry, unshared", l)
	}
	if l := f.open().List(); len(l) != 1 || l[0].Shared {
		t.Fatalf("reopened List = %+v", l)
	}
	mustDo(t, f.x.SetShared(e.Path, true))
	if got, ok := f.x.Lookup(e.SHA256, false); !ok || got != e {
		t.Errorf("shared again: Lookup = %+v, %v", got, ok)
	}
	if err := f.x.SetShared(filepath.Join(f.dir, "none"), false); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("SetShared of an unknown path = %v", err)
	}
	checkConsistent(t, f.x)
}

func TestRemove(t *testing.T) {
	f := newFixture(t)
	a := f.add("a", "a", "")
	b := f.add("b", "b", "")
	mustDo(t, f.x.Remove(a.Path))
	mustDo(t, f.x.Remove(a.Path))
	if l := f.x.List(); len(l) != 1 || l[0] != b {
		t.Fatalf("List = %v", paths(l))
	}
	if _, err := os.Stat(a.Path); err != nil {
		t.Errorf("Remove touched the file: %v", err)
	}
	checkConsistent(t, f.x)
}

// TestSaveFails: a change that cannot be saved is not made.
func TestSaveFails(t *testing.T) {
	f := newFixture(t)
	a := f.add("a", "a", "")
	want := f.x.List()
	f.x.write = func(string, []byte, os.FileMode) error { return errors.New("disk full") }
	p := f.file("b", "b")
	if _, err := f.x.Add(Entry{Path: p, SHA256: [32]byte{2}}); err == nil {
		t.Error("Add succeeded")
	}
	if err := f.x.SetShared(a.Path, false); err == nil {
		t.Error("SetShared succeeded")
	}
	if err := f.x.Remove(a.Path); err == nil {
		t.Error("Remove succeeded")
	}
	if n, err := f.x.Expire(time.Now().Add(time.Hour)); err == nil || n != 0 {
		t.Errorf("Expire = %d, %v", n, err)
	}
	// A changed file is withheld even when its drop cannot be saved.
	mustDo(t, os.Remove(a.Path))
	if _, ok := f.x.Lookup(a.SHA256, false); ok {
		t.Error("Lookup found a vanished file")
	}
	if got := f.x.List(); !reflect.DeepEqual(got, want) {
		t.Errorf("List = %+v, want %+v", got, want)
	}
	checkConsistent(t, f.x)
}

// TestBound: beyond maxEntries the oldest go, on load and on save.
func TestBound(t *testing.T) {
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var es []Entry
	for i := range maxEntries + 5 {
		es = append(es, Entry{
			Path: abs(fmt.Sprintf("f%05d", i)), Name: "f", Size: 1, ModTime: base,
			SHA256: sha256.Sum256(fmt.Appendf(nil, "%d", i)), Added: base.Add(time.Duration(i) * time.Second), Shared: true,
		})
	}
	data, err := encode(es)
	mustDo(t, err)
	path := filepath.Join(t.TempDir(), "index.json")
	mustDo(t, os.WriteFile(path, data, 0o600))
	x, err := Open(path)
	mustDo(t, err)
	l := x.List()
	if len(l) != maxEntries || l[0] != es[len(es)-1] || l[len(l)-1] != es[5] {
		t.Fatalf("kept %d entries, %s to %s", len(l), l[0].Path, l[len(l)-1].Path)
	}
	checkConsistent(t, x)
}

func TestConcurrent(t *testing.T) {
	f := newFixture(t)
	var files []Entry
	for i := range 8 {
		files = append(files, f.add(fmt.Sprintf("file-%d.bin", i), fmt.Sprintf("content %d", i), ""))
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 20 {
				e := files[(g+i)%len(files)]
				switch i % 5 {
				case 0:
					e.Added = time.Time{}
					if _, err := f.x.Add(e); err != nil {
						t.Error(err)
					}
				case 1:
					f.x.Lookup(e.SHA256, false)
				case 2:
					f.x.Search("file bin", 3)
				case 3:
					f.x.SetShared(e.Path, i%2 == 0)
				case 4:
					if r, err := f.x.OpenFile(e); err == nil {
						r.Close()
					}
					f.x.List()
				}
			}
		})
	}
	wg.Wait()
	checkConsistent(t, f.x)
}

// TestTwoProcesses: another Index on the same file (another process with
// the same home, such as `dragonload get` beside the agent) sees what
// this one added, and a change made here does not undo the other's.
func TestTwoProcesses(t *testing.T) {
	f := newFixture(t)
	other := f.open()
	if _, ok := other.Lookup(sha256.Sum256([]byte("one")), false); ok {
		t.Fatal("found an entry before anything was added")
	}
	a := f.add("a.bin", "one", "https://example.com/a")
	other.checked = time.Time{} // the next read looks at once rather than within a second
	got, ok := other.Lookup(a.SHA256, false)
	if !ok || got.Path != a.Path {
		t.Fatalf("the other index does not see the added file: %v %v", got, ok)
	}
	p := f.file("b.bin", "two")
	if _, err := other.Add(Entry{Path: p, SHA256: sha256.Sum256([]byte("two"))}); err != nil {
		t.Fatal(err)
	}
	f.x.checked = time.Time{}
	if n := len(f.x.List()); n != 2 {
		t.Fatalf("after the other's Add, this index lists %d entries, want 2", n)
	}
	if err := f.x.Remove(a.Path); err != nil {
		t.Fatal(err)
	}
	other.checked = time.Time{}
	list := other.List()
	if len(list) != 1 || list[0].Path != p {
		t.Fatalf("after Remove here, the other lists %v, want only %s", list, p)
	}
}
