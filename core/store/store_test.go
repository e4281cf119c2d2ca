package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/dragonload/dragonload/core/span"
)

func testMeta(size int64) Meta {
	return Meta{URL: "https://example.com/big.iso", Size: size, ETag: `"v1"`, LastModified: "Mon, 02 Jan 2006 15:04:05 GMT"}
}

func mustOpen(t *testing.T, dir, name string, meta Meta, opts Options) (*Partial, bool) {
	t.Helper()
	p, resumed, err := OpenOptions(dir, name, meta, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p, resumed
}

func mustWrite(t *testing.T, p *Partial, b []byte, off int64) {
	t.Helper()
	if _, err := p.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// entries lists what is in dir, to check nothing is left behind.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestResumeAfterReopen(t *testing.T) {
	dir := t.TempDir()
	meta := testMeta(1000)
	p, resumed := mustOpen(t, dir, "big.iso", meta, Options{})
	if resumed || p.RestartReason() != "" {
		t.Fatalf("fresh open: resumed %v, reason %q", resumed, p.RestartReason())
	}
	mustWrite(t, p, bytes.Repeat([]byte("a"), 100), 0)
	mustWrite(t, p, bytes.Repeat([]byte("b"), 100), 500)
	mustWrite(t, p, bytes.Repeat([]byte("c"), 100), 800) // written, never committed
	if err := p.Commit([]span.Range{{Off: 0, End: 100}, {Off: 500, End: 600}}); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if name, ok := Find(dir, meta.URL); !ok || name != "big.iso" {
		t.Errorf("Find = %q, %v", name, ok)
	}

	q, resumed := mustOpen(t, dir, "big.iso", meta, Options{})
	done := q.Done()
	if !resumed || !slices.Equal(done.Ranges(), []span.Range{{Off: 0, End: 100}, {Off: 500, End: 600}}) {
		t.Fatalf("reopen: resumed %v, done %v", resumed, done)
	}
	for _, c := range []struct {
		off  int64
		want byte
	}{{0, 'a'}, {99, 'a'}, {500, 'b'}, {599, 'b'}} {
		b := make([]byte, 1)
		if _, err := q.f.ReadAt(b, c.off); err != nil || b[0] != c.want {
			t.Errorf("byte %d = %q, %v; want %q", c.off, b, err, c.want)
		}
	}
	// Fill the rest and finish.
	mustWrite(t, q, bytes.Repeat([]byte("d"), 400), 100)
	mustWrite(t, q, bytes.Repeat([]byte("e"), 400), 600)
	if err := q.Commit([]span.Range{{Off: 100, End: 500}, {Off: 600, End: 1000}}); err != nil {
		t.Fatal(err)
	}
	final, err := q.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if final != filepath.Join(dir, "big.iso") {
		t.Errorf("final path %s", final)
	}
	if got := entries(t, dir); !slices.Equal(got, []string{"big.iso"}) {
		t.Errorf("folder holds %v, want only the final file", got)
	}
	if _, ok := Find(dir, meta.URL); ok {
		t.Error("Find reports a partial after Finish")
	}
}

func TestIdentity(t *testing.T) {
	const lm = "Mon, 02 Jan 2006 15:04:05 GMT"
	sum, otherSum := strings.Repeat("ab", 32), strings.Repeat("cd", 32)
	base := testMeta(1000)
	noValidators := base
	noValidators.ETag, noValidators.LastModified = "", ""
	withSum := noValidators
	withSum.SHA256 = sum
	legacyWeak := base
	legacyWeak.ETag = `W/"v1"`
	weak := base
	weak.ETag, weak.WeakETag = "", `W/"v1"`
	change := func(m Meta, f func(*Meta)) Meta { f(&m); return m }
	at := func(m Meta, url string) Meta { m.URL = url; return m }
	cases := []struct {
		name     string
		old, cur Meta
		resume   bool
		reason   string
	}{
		{"same", base, base, true, ""},
		{"new sha256 learned", base, change(base, func(m *Meta) { m.SHA256 = otherSum }), true, ""},
		{"strong etag, new date", base, change(base, func(m *Meta) { m.LastModified = "Tue" }), true, ""},
		{"size", base, change(base, func(m *Meta) { m.Size = 2000 }), false,
			"the file's size changed from 1000 to 2000"},
		{"etag", base, change(base, func(m *Meta) { m.ETag = `"v2"` }), false,
			`the server's ETag for the file changed from "v1" to "v2"`},
		{"etag gone", base, change(base, func(m *Meta) { m.ETag = "" }), false,
			`the server sent the ETag "v1" for the file before, and now sends none`},
		{"etag new", change(base, func(m *Meta) { m.ETag = "" }), base, false,
			`the server sent no ETag for the file before, and now sends "v1"`},
		{"sha256", change(base, func(m *Meta) { m.SHA256 = "AA" }), change(base, func(m *Meta) { m.SHA256 = "bb" }), false,
			"the link's SHA-256 for the file changed from aa to bb"},

		// The address: only scheme, host and path count.
		{"new query string", at(base, base.URL+"?X-Amz-Signature=SECRET1"), at(base, base.URL+"?X-Amz-Signature=SECRET2"), true, ""},
		{"query added", base, at(base, base.URL+"?token=SECRET"), true, ""},
		{"new fragment", base, at(base, base.URL+"#part"), true, ""},
		{"default port, host case", base, at(base, "https://EXAMPLE.com:443/big.iso"), true, ""},
		{"new query, new etag", base, change(at(base, base.URL+"?sig=SECRET"), func(m *Meta) { m.ETag = `"v2"` }), false,
			`ETag for the file changed from "v1" to "v2"`},
		{"other path", base, at(base, "https://example.com/other.iso?sig=SECRET"), false,
			"the earlier partial came from https://example.com/big.iso, not https://example.com/other.iso, and no SHA-256"},
		{"other port", base, at(base, "https://example.com:8443/big.iso"), false,
			"not https://example.com:8443/big.iso"},
		{"other scheme", base, at(base, "http://example.com/big.iso"), false, "not http://example.com/big.iso"},
		{"user info ignored", base, at(base, "https://user:SECRET@example.com/big.iso"), true, ""},
		{"other host, same sha256", change(withSum, func(m *Meta) { m.ETag = `"a"` }),
			change(at(withSum, "https://mirror.example.net/pub/big.iso?SECRET"), func(m *Meta) { m.ETag, m.SHA256 = `"b"`, strings.ToUpper(sum) }),
			true, ""},
		{"other host, same sha256, other size", withSum, change(at(withSum, "https://mirror.example.net/big.iso"), func(m *Meta) { m.Size = 999 }), false,
			"the file's size changed from 1000 to 999"},
		{"other host, other sha256", withSum, change(at(withSum, "https://mirror.example.net/big.iso"), func(m *Meta) { m.SHA256 = otherSum }), false,
			"came from https://example.com/big.iso, not https://mirror.example.net/big.iso"},
		{"other host, sha256 on one side", base, at(withSum, "https://mirror.example.net/big.iso"), false,
			"no SHA-256 known on both sides"},

		// Weak ETags prove a change, never sameness.
		{"weak etag, same date", weak, weak, true, ""},
		{"legacy weak etag, same date", legacyWeak, weak, true, ""},
		{"weak etag without prefix", weak, change(weak, func(m *Meta) { m.WeakETag = `"v1"` }), true, ""},
		{"weak etag changed, same date", weak, change(weak, func(m *Meta) { m.WeakETag = `W/"v2"` }), false,
			`the server's weak ETag for the file changed from W/"v1" to W/"v2"`},
		{"weak etag gone, same date", weak, base, false, `the server sent no ETag for the file before, and now sends "v1"`},
		{"weak etag only now, same date", change(weak, func(m *Meta) { m.WeakETag = "" }), weak, true, ""},
		{"weak etag, new date", weak, change(weak, func(m *Meta) { m.LastModified = "Tue" }), false,
			`the server's Last-Modified date for the file changed from "` + lm + `" to "Tue"`},
		{"weak etag alone", change(weak, func(m *Meta) { m.LastModified = "" }), change(weak, func(m *Meta) { m.LastModified = "" }), false,
			"cannot be proven"},
		{"date gone", weak, change(weak, func(m *Meta) { m.LastModified = "" }), false,
			`the server sent the Last-Modified date "` + lm + `" for the file before, and now sends none`},
		{"no validators", noValidators, noValidators, false, "cannot be proven"},
		{"no validators but sha256", withSum, withSum, true, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			p, _ := mustOpen(t, dir, "f.bin", c.old, Options{})
			mustWrite(t, p, []byte("xyz"), 10)
			if err := p.Commit([]span.Range{{Off: 10, End: 13}}); err != nil {
				t.Fatal(err)
			}
			p.Close()
			if name, ok := FindFile(dir, c.cur); ok != c.resume || (ok && name != "f.bin") {
				t.Errorf("FindFile = %q, %v; want a partial: %v", name, ok, c.resume)
			}
			q, resumed := mustOpen(t, dir, "f.bin", c.cur, Options{})
			reason := q.RestartReason()
			if resumed != c.resume || !strings.Contains(reason, c.reason) || (c.reason == "") != (reason == "") {
				t.Fatalf("resumed %v, reason %q; want %v, %q", resumed, reason, c.resume, c.reason)
			}
			if strings.Contains(reason, "SECRET") {
				t.Errorf("the reason %q shows a URL's query or user info", reason)
			}
			done := q.Done()
			if want := map[bool]int64{true: 3, false: 0}[c.resume]; done.Size() != want {
				t.Errorf("done %v, want %d bytes", done, want)
			}
			if !c.resume {
				b := make([]byte, 3)
				if _, err := q.f.ReadAt(b, 10); err != nil || !bytes.Equal(b, []byte{0, 0, 0}) {
					t.Errorf("old bytes survive a restart: %q, %v", b, err)
				}
			}
			// The journal now speaks for the new download: its URL.
			if err := q.Commit([]span.Range{{Off: 0, End: 1}}); err != nil {
				t.Fatal(err)
			}
			if j := readJournal(t, dir, "f.bin"); j.meta.URL != c.cur.URL {
				t.Errorf("the journal records %s, want %s", j.meta.URL, c.cur.URL)
			}
		})
	}
}

func readJournal(t *testing.T, dir, name string) journal {
	t.Helper()
	b, err := os.ReadFile(journalPath(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	j, err := decodeJournal(b)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func TestPlace(t *testing.T) {
	cases := []struct{ url, want string }{
		{"https://example.com/a/b.iso", "https://example.com/a/b.iso"},
		{"https://example.com/a/b.iso?X-Amz-Signature=s#frag", "https://example.com/a/b.iso"},
		{"HTTPS://Example.COM:443/a/B.iso", "https://example.com/a/B.iso"},
		{"http://example.com:80/x", "http://example.com/x"},
		{"http://example.com:443/x", "http://example.com:443/x"},
		{"https://u:p@example.com:8443/x", "https://example.com:8443/x"},
		{"https://[::1]:443/x", "https://[::1]/x"},
		{"https://example.com", "https://example.com/"},
		{"https://example.com/a%2Fb", "https://example.com/a%2Fb"},
		{"https://example.com/a%20b", "https://example.com/a%20b"},
		{"not a url?q=1", "not a url"},
		{"%zz?q#f", "%zz"},
	}
	for _, c := range cases {
		if got := place(c.url); got != c.want {
			t.Errorf("place(%q) = %q, want %q", c.url, got, c.want)
		}
	}
}

func TestGarbledJournal(t *testing.T) {
	good := func(dir string) []byte {
		p, _, err := Open(dir, "f.bin", testMeta(100))
		if err != nil {
			t.Fatal(err)
		}
		mustWrite(t, p, []byte("0123456789"), 0)
		if err := p.Commit([]span.Range{{Off: 0, End: 10}}); err != nil {
			t.Fatal(err)
		}
		p.Close()
		b, err := os.ReadFile(journalPath(dir, "f.bin"))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cases := []struct {
		name   string
		garble func([]byte) []byte
	}{
		{"empty", func([]byte) []byte { return nil }},
		{"torn", func(b []byte) []byte { return b[:len(b)/2] }},
		{"no last newline", func(b []byte) []byte { return b[:len(b)-1] }},
		{"flipped bit", func(b []byte) []byte { b[40] ^= 1; return b }},
		{"garbage", func([]byte) []byte { return []byte("\x00\xff garbage\n") }},
		{"other version", func(b []byte) []byte {
			body := strings.Replace(string(b[:bytes.LastIndex(b, []byte("crc32c"))]), "journal 1", "journal 2", 1)
			return withSum(body)
		}},
		{"range past size", func(b []byte) []byte {
			body := strings.Replace(string(b[:bytes.LastIndex(b, []byte("crc32c"))]), "done 0 10", "done 0 1000", 1)
			return withSum(body)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			b := c.garble(good(dir))
			if err := os.WriteFile(journalPath(dir, "f.bin"), b, 0o644); err != nil {
				t.Fatal(err)
			}
			p, resumed := mustOpen(t, dir, "f.bin", testMeta(100), Options{})
			done := p.Done()
			if resumed || done.Size() != 0 || !strings.Contains(p.RestartReason(), "damaged") {
				t.Errorf("resumed %v, done %v, reason %q", resumed, done, p.RestartReason())
			}
			t.Log(p.RestartReason())
		})
	}
}

// withSum appends a correct checksum line to a hand-made journal body, so
// that a test reaches the checks past the checksum.
func withSum(body string) []byte {
	return fmt.Appendf([]byte(body), "crc32c %08x\n", crc32.Checksum([]byte(body), castagnoli))
}

func TestUniqueNaming(t *testing.T) {
	for _, mode := range []string{"renameat2", "link", "no links"} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			for _, n := range []string{"a.tar.gz", "a (1).tar.gz"} {
				if err := os.WriteFile(filepath.Join(dir, n), []byte("keep "+n), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			fsys := &faultFS{fileSystem: osFS{}, noRenameat2: mode != "renameat2", noLink: mode == "no links"}
			for i, want := range []string{"a (2).tar.gz", "a (3).tar.gz"} {
				p, _ := mustOpen(t, dir, "a.tar.gz", testMeta(4), Options{fs: fsys})
				content := []byte(fmt.Sprint("new", i))[:4]
				mustWrite(t, p, content, 0)
				if err := p.Commit([]span.Range{{Off: 0, End: 4}}); err != nil {
					t.Fatal(err)
				}
				final, err := p.Finish()
				if err != nil {
					t.Fatal(err)
				}
				if final != filepath.Join(dir, want) {
					t.Errorf("final %s, want %s", final, want)
				}
				if b, _ := os.ReadFile(final); !bytes.Equal(b, content) {
					t.Errorf("%s holds %q, want %q", final, b, content)
				}
			}
			for _, n := range []string{"a.tar.gz", "a (1).tar.gz"} {
				if b, _ := os.ReadFile(filepath.Join(dir, n)); string(b) != "keep "+n {
					t.Errorf("existing %s changed to %q", n, b)
				}
			}
			if got := entries(t, dir); len(got) != 4 {
				t.Errorf("folder holds %v", got)
			}
		})
	}
}

func TestVerify(t *testing.T) {
	content := []byte("the whole file, verified end to end")
	sum := sha256.Sum256(content)
	good := strings.ToUpper(hex.EncodeToString(sum[:]))
	bad := strings.Repeat("0", 64)
	for _, c := range []struct {
		name, sum string
		ok        bool
	}{{"match", good, true}, {"mismatch", bad, false}} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			meta := testMeta(int64(len(content)))
			meta.SHA256 = c.sum
			p, _ := mustOpen(t, dir, "v.bin", meta, Options{})
			mustWrite(t, p, content, 0)
			if err := p.Commit([]span.Range{{Off: 0, End: meta.Size}}); err != nil {
				t.Fatal(err)
			}
			final, err := p.Finish()
			if c.ok {
				if err != nil || final != filepath.Join(dir, "v.bin") {
					t.Fatalf("Finish = %q, %v", final, err)
				}
				return
			}
			if !errors.Is(err, ErrChecksum) || !strings.Contains(err.Error(), "deleted") {
				t.Fatalf("Finish = %q, %v; want a checksum error", final, err)
			}
			t.Log(err)
			if got := entries(t, dir); len(got) != 0 {
				t.Errorf("folder holds %v after a failed verify, want nothing", got)
			}
		})
	}
}

func TestFinishIncomplete(t *testing.T) {
	dir := t.TempDir()
	p, _ := mustOpen(t, dir, "f.bin", testMeta(10), Options{})
	if err := p.Commit([]span.Range{{Off: 0, End: 5}}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Finish(); err == nil {
		t.Fatal("finished with half the bytes")
	}
	if got := entries(t, dir); slices.Contains(got, "f.bin") {
		t.Errorf("final name appeared: %v", got)
	}
}

func TestEmptyFile(t *testing.T) {
	dir := t.TempDir()
	p, _ := mustOpen(t, dir, "empty", testMeta(0), Options{})
	final, err := p.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(final); err != nil || fi.Size() != 0 {
		t.Errorf("stat %s: %v, %v", final, fi, err)
	}
}

func TestUnknownSize(t *testing.T) {
	content := []byte("streamed without a length")
	sum := sha256.Sum256(content)
	meta := Meta{URL: testMeta(0).URL, Size: -1, SHA256: hex.EncodeToString(sum[:])}
	dir := t.TempDir()
	// A journal of an earlier, ranged download of the same name goes.
	old, _ := mustOpen(t, dir, "s.bin", testMeta(100), Options{})
	old.Close()
	p, resumed := mustOpen(t, dir, "s.bin", meta, Options{})
	if resumed || !strings.Contains(p.RestartReason(), "how big") {
		t.Errorf("resumed %v, reason %q", resumed, p.RestartReason())
	}
	if _, ok := Find(dir, testMeta(100).URL); ok {
		t.Error("the old journal is still found")
	}
	mustWrite(t, p, content[:10], 0)
	mustWrite(t, p, content[10:], 10)
	if err := p.Commit([]span.Range{{Off: 10, End: int64(len(content))}}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Finish(); err == nil || !strings.Contains(err.Error(), "holes") {
		t.Fatalf("Finish with the first 10 bytes missing: %v", err)
	}
	if err := p.Commit([]span.Range{{Off: 0, End: 10}}); err != nil {
		t.Fatal(err)
	}
	final, err := p.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(final); !bytes.Equal(b, content) {
		t.Errorf("final file holds %q", b)
	}
	if got := entries(t, dir); !slices.Equal(got, []string{"s.bin"}) {
		t.Errorf("folder holds %v", got)
	}
}

func TestDiscard(t *testing.T) {
	dir := t.TempDir()
	p, _ := mustOpen(t, dir, "f.bin", testMeta(10), Options{})
	if err := p.Discard(); err != nil {
		t.Fatal(err)
	}
	if got := entries(t, dir); len(got) != 0 {
		t.Errorf("folder holds %v after Discard", got)
	}
	if err := p.Commit([]span.Range{{Off: 0, End: 1}}); err == nil {
		t.Error("Commit after Discard succeeded")
	}
}

func TestLockedByAnother(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("partial files are locked on Linux only")
	}
	dir := t.TempDir()
	mustOpen(t, dir, "f.bin", testMeta(10), Options{})
	if p, _, err := Open(dir, "f.bin", testMeta(10)); err == nil {
		p.Close()
		t.Fatal("a second Open of the same partial succeeded")
	} else {
		t.Log(err)
	}
}

func TestBadArguments(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"", ".", "..", "a/b", `a\b`, "a\x00b", strings.Repeat("n", 201)} {
		if p, _, err := Open(dir, name, testMeta(1)); err == nil {
			p.Close()
			t.Errorf("Open accepted name %q", name)
		}
	}
	if _, _, err := Open(dir, "f", Meta{URL: "u", Size: -2}); err == nil {
		t.Error("Open accepted a negative size")
	}
	p, _ := mustOpen(t, dir, "f", testMeta(10), Options{})
	for _, c := range []struct {
		n   int
		off int64
	}{{1, -1}, {2, 9}, {1, 10}, {11, 0}} {
		if _, err := p.WriteAt(make([]byte, c.n), c.off); err == nil {
			t.Errorf("WriteAt(%d bytes, %d) into 10 bytes succeeded", c.n, c.off)
		}
	}
	if err := p.Commit([]span.Range{{Off: 5, End: 11}}); err == nil {
		t.Error("Commit beyond the size succeeded")
	}
}

func TestFind(t *testing.T) {
	dir := t.TempDir()
	meta := testMeta(100)
	for i, name := range []string{"one.iso", "two.iso"} {
		p, _ := mustOpen(t, dir, name, meta, Options{})
		if err := p.Commit([]span.Range{{Off: 0, End: int64(10 * (i + 1))}}); err != nil {
			t.Fatal(err)
		}
		p.Close()
	}
	other := meta
	other.URL = "https://example.com/other"
	p, _ := mustOpen(t, dir, "other.iso", other, Options{})
	p.Close()
	if err := os.WriteFile(filepath.Join(dir, ".junk.dlpart.journal"), []byte("junk"), 0o644); err != nil {
		t.Fatal(err)
	}
	if name, ok := Find(dir, meta.URL); !ok || name != "two.iso" {
		t.Errorf("Find = %q, %v; want the partial with more done", name, ok)
	}
	if name, ok := Find(dir, other.URL); !ok || name != "other.iso" {
		t.Errorf("Find(other) = %q, %v", name, ok)
	}
	if _, ok := Find(dir, "https://example.com/none"); ok {
		t.Error("Find reports a partial for an unknown URL")
	}
	if _, ok := Find(filepath.Join(dir, "missing"), meta.URL); ok {
		t.Error("Find reports a partial in a missing folder")
	}
	if name, ok := Find(dir, meta.URL+"?X-Amz-Signature=new"); !ok || name != "two.iso" {
		t.Errorf("Find(new query) = %q, %v; want the same partial", name, ok)
	}
	if name, ok := FindFile(dir, meta); !ok || name != "two.iso" {
		t.Errorf("FindFile = %q, %v; want the partial with more done", name, ok)
	}
	changed := meta
	changed.ETag = `"v2"`
	if name, ok := FindFile(dir, changed); ok {
		t.Errorf("FindFile = %q for a changed file", name)
	}
	os.Remove(dataPath(dir, "two.iso"))
	if name, ok := Find(dir, meta.URL); !ok || name != "one.iso" {
		t.Errorf("Find = %q, %v after the data file went away", name, ok)
	}
}

func TestFolderGone(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows refuses to delete a folder or file that is open")
	}
	cases := []struct {
		name   string
		change func(t *testing.T, dir, data string)
		gone   string // the path the error names; "" if nothing is gone
	}{
		{"unaffected", func(*testing.T, string, string) {}, ""},
		{"folder deleted", func(t *testing.T, dir, _ string) { must(t, os.RemoveAll(dir)) }, "the folder"},
		{"folder replaced", func(t *testing.T, dir, _ string) {
			must(t, os.Rename(dir, dir+".old"))
			must(t, os.Mkdir(dir, 0o755))
		}, "the folder"},
		{"folder moved away", func(t *testing.T, dir, _ string) { must(t, os.Rename(dir, dir+".old")) }, "the folder"},
		{"folder replaced by a file", func(t *testing.T, dir, _ string) {
			must(t, os.Rename(dir, dir+".old"))
			must(t, os.WriteFile(dir, nil, 0o644))
		}, "the folder"},
		{"partial file deleted", func(t *testing.T, _, data string) { must(t, os.Remove(data)) }, "the partial file"},
		{"partial file replaced", func(t *testing.T, _, data string) {
			must(t, os.Remove(data))
			must(t, os.WriteFile(data, make([]byte, 10), 0o644))
		}, "the partial file"},
	}
	for _, c := range cases {
		for _, op := range []string{"Commit", "Finish"} {
			t.Run(c.name+"/"+op, func(t *testing.T) {
				dir := filepath.Join(t.TempDir(), "out")
				p, _ := mustOpen(t, dir, "f.bin", testMeta(10), Options{})
				mustWrite(t, p, []byte("0123456789"), 0)
				first := span.Range{Off: 0, End: 5}
				if op == "Finish" {
					first.End = 10
				}
				must(t, p.Commit([]span.Range{first}))
				// The journals wherever they are after the change, which
				// must then stay as they are.
				journals := func() map[string]string {
					m := map[string]string{}
					for _, d := range []string{dir, dir + ".old"} {
						if b, err := os.ReadFile(journalPath(d, "f.bin")); err == nil {
							m[d] = string(b)
						}
					}
					return m
				}
				c.change(t, dir, dataPath(dir, "f.bin"))
				before := journals()
				var err error
				if op == "Commit" {
					err = p.Commit([]span.Range{{Off: 5, End: 10}})
				} else {
					_, err = p.Finish()
				}
				if c.gone == "" {
					if err != nil {
						t.Fatalf("%s: %v", op, err)
					}
					return
				}
				if !errors.Is(err, ErrFolderGone) {
					t.Fatalf("%s = %v; want ErrFolderGone", op, err)
				}
				path := dir
				if c.gone == "the partial file" {
					path = dataPath(dir, "f.bin")
				}
				want := c.gone + " " + path + " was deleted or replaced during the download; stopping so nothing more is written into a file nobody can see"
				if err.Error() != want {
					t.Errorf("error %q\nwant  %q", err, want)
				}
				if after := journals(); !maps.Equal(after, before) {
					t.Errorf("journals changed from %q to %q", before, after)
				}
				if got, _ := os.ReadDir(dir); slices.ContainsFunc(got, func(e os.DirEntry) bool { return e.Name() == "f.bin" }) {
					t.Error("the file was moved into place")
				}
			})
		}
	}
}

// TestFolderUncheckable checks that a folder that cannot be inspected is
// reported as such, not as gone.
func TestFolderUncheckable(t *testing.T) {
	dir := t.TempDir()
	fsys := &faultFS{fileSystem: osFS{}}
	p, _ := mustOpen(t, dir, "f.bin", testMeta(10), Options{fs: fsys})
	fsys.statErr = syscall.EACCES
	err := p.Commit([]span.Range{{Off: 0, End: 5}})
	if err == nil || errors.Is(err, ErrFolderGone) || !errors.Is(err, syscall.EACCES) ||
		!strings.HasPrefix(err.Error(), "cannot check that the folder "+dir+" is still there: ") {
		t.Fatalf("Commit = %v; want a failed check", err)
	}
	fsys.statErr = nil
	if err := p.Commit([]span.Range{{Off: 0, End: 5}}); err != nil {
		t.Fatal(err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestCommitOrder checks that data is synced before the journal records it,
// and that a failed sync leaves the journal alone.
func TestCommitOrder(t *testing.T) {
	dir := t.TempDir()
	rec := &faultFS{fileSystem: osFS{}}
	p, _ := mustOpen(t, dir, "f.bin", testMeta(100), Options{fs: rec})
	mustWrite(t, p, []byte("hello"), 0)
	rec.reset()
	if err := p.Commit([]span.Range{{Off: 0, End: 5}}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"datasync .f.bin.dlpart",
		"writeFileSync .f.bin.dlpart.journal.tmp",
		"rename .f.bin.dlpart.journal.tmp .f.bin.dlpart.journal",
		"syncDir",
	}
	if got := rec.calls(); !slices.Equal(got, want) {
		t.Errorf("calls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	rec.reset()
	rec.failSync = true
	if err := p.Commit([]span.Range{{Off: 5, End: 10}}); err == nil {
		t.Fatal("Commit succeeded although the data could not be synced")
	}
	if got := rec.calls(); !slices.Equal(got, []string{"datasync .f.bin.dlpart"}) {
		t.Errorf("calls after a failed sync: %v", got)
	}
	if done := p.Done(); done.Size() != 5 {
		t.Errorf("done %v after a failed commit", done)
	}
}

func TestFullDiskInjected(t *testing.T) {
	dir := t.TempDir()
	fsys := &faultFS{fileSystem: osFS{}, noSpace: true}
	_, _, err := OpenOptions(dir, "big.iso", testMeta(256<<20), Options{fs: fsys})
	checkNoSpace(t, err, dir)
	if got := entries(t, dir); len(got) != 0 {
		t.Errorf("folder holds %v after a failed Open", got)
	}
}

// TestFullDisk fills a real small file system: a tmpfs when this test may
// mount one, else (without the privilege) an injected fault.
func TestFullDisk(t *testing.T) {
	dir := t.TempDir()
	mounted := false
	if os.Geteuid() == 0 {
		out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "dragonload-test", dir).CombinedOutput()
		if err == nil {
			mounted = true
			t.Cleanup(func() {
				if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
					t.Errorf("umount %s: %v: %s", dir, err, out)
				}
			})
		} else {
			t.Logf("cannot mount a tmpfs (%v: %s); injecting the fault instead", err, bytes.TrimSpace(out))
		}
	}
	var opts Options
	if !mounted {
		opts.fs = &faultFS{fileSystem: osFS{}, noSpace: true}
	}
	_, _, err := OpenOptions(dir, "big.iso", testMeta(256<<20), opts)
	checkNoSpace(t, err, dir)
	if got := entries(t, dir); len(got) != 0 {
		t.Errorf("folder holds %v after a failed Open", got)
	}
	// A file that fits is fine.
	p, _, err := OpenOptions(dir, "small.iso", testMeta(100<<10), opts)
	if !mounted {
		return
	}
	if err != nil {
		t.Fatalf("a file that fits: %v", err)
	}
	p.Close()
}

func checkNoSpace(t *testing.T, err error, dir string) {
	t.Helper()
	want := "not enough disk space for 256 MiB in " + dir + ": "
	if err == nil || !strings.HasPrefix(err.Error(), want) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Open on a full disk: %v; want %q…", err, want)
	}
	t.Log(err)
}

func TestNumbered(t *testing.T) {
	cases := []struct {
		name string
		i    int
		want string
	}{
		{"a.iso", 0, "a.iso"},
		{"a.iso", 1, "a (1).iso"},
		{"a.tar.gz", 2, "a (2).tar.gz"},
		{"a.TAR.xz", 1, "a (1).TAR.xz"},
		{"noext", 3, "noext (3)"},
		{".hidden", 1, ".hidden (1)"},
		{"v1.2.3.bin", 1, "v1.2.3 (1).bin"},
		{"trailing.", 1, "trailing (1)."},
	}
	for _, c := range cases {
		if got := numbered(c.name, c.i); got != c.want {
			t.Errorf("numbered(%q, %d) = %q, want %q", c.name, c.i, got, c.want)
		}
	}
}

func TestHumanSize(t *testing.T) {
	cases := map[int64]string{
		0: "0 bytes", 1023: "1023 bytes", 1024: "1 KiB", 256 << 20: "256 MiB",
		3 << 29: "1.5 GiB", 5 << 40: "5 TiB",
	}
	for n, want := range cases {
		if got := humanSize(n); got != want {
			t.Errorf("humanSize(%d) = %q, want %q", n, got, want)
		}
	}
}

// faultFS wraps a fileSystem to record calls (names relative to their
// folder) and to inject faults.
type faultFS struct {
	fileSystem
	noRenameat2 bool  // renameNoReplace is unsupported
	noLink      bool  // hard links are unsupported
	noSpace     bool  // allocate fails with ENOSPC
	failSync    bool  // datasync fails
	statErr     error // stat fails with it
	// hook, if set, runs first in writeFileSync and renameNoReplace, with
	// the operation's name: to change the folder between the checks and
	// the operation.
	hook func(op string)

	mu  sync.Mutex
	log []string
}

func (f *faultFS) record(op string, paths ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range paths {
		op += " " + filepath.Base(p)
	}
	f.log = append(f.log, op)
}

func (f *faultFS) calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.log)
}

func (f *faultFS) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log = nil
}

func (f *faultFS) stat(path string) (fs.FileInfo, error) {
	if f.statErr != nil {
		return nil, &fs.PathError{Op: "stat", Path: path, Err: f.statErr}
	}
	return f.fileSystem.stat(path)
}

func (f *faultFS) openFolder(dir string) (folder, error) {
	d, err := f.fileSystem.openFolder(dir)
	if err != nil {
		return nil, err
	}
	return &faultFolder{folder: d, fs: f}, nil
}

// faultFolder is a folder of a faultFS.
type faultFolder struct {
	folder
	fs *faultFS
}

func (d *faultFolder) openData(name string) (dataFile, error) {
	f, err := d.folder.openData(name)
	if err != nil {
		return nil, err
	}
	return &faultFile{dataFile: f, fs: d.fs, path: name}, nil
}

func (d *faultFolder) writeFileSync(name string, b []byte) error {
	if d.fs.hook != nil {
		d.fs.hook("writeFileSync")
	}
	d.fs.record("writeFileSync", name)
	return d.folder.writeFileSync(name, b)
}

func (d *faultFolder) rename(old, new string) error {
	d.fs.record("rename", old, new)
	return d.folder.rename(old, new)
}

func (d *faultFolder) renameNoReplace(old, new string) error {
	if d.fs.hook != nil {
		d.fs.hook("renameNoReplace")
	}
	if d.fs.noRenameat2 {
		return errUnsupported
	}
	return d.folder.renameNoReplace(old, new)
}

func (d *faultFolder) link(old, new string) error {
	if d.fs.noLink {
		return &os.LinkError{Op: "link", Old: old, New: new, Err: syscall.EPERM}
	}
	return d.folder.link(old, new)
}

func (d *faultFolder) sync() error {
	d.fs.record("syncDir")
	return d.folder.sync()
}

type faultFile struct {
	dataFile
	fs   *faultFS
	path string
}

func (f *faultFile) allocate(n int64) error {
	if f.fs.noSpace {
		return &fs.PathError{Op: "fallocate", Path: f.path, Err: syscall.ENOSPC}
	}
	return f.dataFile.allocate(n)
}

func (f *faultFile) datasync() error {
	f.fs.record("datasync", f.path)
	if f.fs.failSync {
		return &fs.PathError{Op: "fdatasync", Path: f.path, Err: syscall.EIO}
	}
	return f.dataFile.datasync()
}

// TestConcurrentWrites runs writers and commits side by side, as the
// engine does with several peers' streams (meant for -race).
func TestConcurrentWrites(t *testing.T) {
	const chunk, chunks = 4096, 64
	dir := t.TempDir()
	p, _ := mustOpen(t, dir, "c.bin", testMeta(chunk*chunks), Options{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < chunks; i += 4 {
				off := int64(i * chunk)
				if _, err := p.WriteAt(bytes.Repeat([]byte{byte(i)}, chunk), off); err != nil {
					t.Error(err)
					return
				}
				if err := p.Commit([]span.Range{{Off: off, End: off + chunk}}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if done := p.Done(); done.Size() != chunk*chunks || done.Len() != 1 {
		t.Fatalf("done %v", done)
	}
	final, err := p.Finish()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(final)
	if err != nil {
		t.Fatal(err)
	}
	for i := range chunks {
		if b[i*chunk] != byte(i) || b[(i+1)*chunk-1] != byte(i) {
			t.Fatalf("chunk %d holds %d", i, b[i*chunk])
		}
	}
}

// TestWithoutURL: a file named by SHA-256 alone (a link without a url,
// copied from room members) is stored and resumed like any other; with
// neither a URL nor a SHA-256 there is nothing to recognise it by.
func TestWithoutURL(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := Open(dir, "f", Meta{Size: 10}); err == nil || !strings.Contains(err.Error(), "neither a URL nor a SHA-256") {
		t.Fatalf("Open without URL or SHA-256: %v", err)
	}
	data := []byte("0123456789")
	sum := sha256.Sum256(data)
	meta := Meta{Size: 10, SHA256: hex.EncodeToString(sum[:])}
	p, resumed := mustOpen(t, dir, "f", meta, Options{})
	if resumed {
		t.Fatal("a fresh partial resumed")
	}
	mustWrite(t, p, data[:4], 0)
	if err := p.Commit([]span.Range{{Off: 0, End: 4}}); err != nil {
		t.Fatal(err)
	}
	p.Close()
	p, resumed = mustOpen(t, dir, "f", meta, Options{})
	if done := p.Done(); !resumed || done.Size() != 4 {
		t.Fatalf("resumed %v with %d bytes, want 4", resumed, done.Size())
	}
	mustWrite(t, p, data[4:], 4)
	if err := p.Commit([]span.Range{{Off: 4, End: 10}}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Finish(); err != nil {
		t.Fatal(err)
	}
	if got, ok := p.Sum(); !ok || got != sum {
		t.Fatalf("Sum = %x, %v; want %x", got, ok, sum)
	}
}
