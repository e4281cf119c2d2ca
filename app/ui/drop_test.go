package ui

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"fyne.io/fyne/v2/storage"

	"github.com/dragonload/dragonload/core/link"
)

func TestParseDropped(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want Dropped
		err  string
	}{
		// What the GLFW driver delivers for a link dragged out of a browser:
		// the link made absolute against the working folder, then cleaned.
		{"mangled https", "file:///home/ann/https:/example.com/big.iso", Dropped{Link: "https://example.com/big.iso"}, ""},
		{"mangled http", "file:///home/ann/http:/example.com/big.iso", Dropped{Link: "http://example.com/big.iso"}, ""},
		{"mangled at root", "file:///https:/example.com/a", Dropped{Link: "https://example.com/a"}, ""},
		{"mangled with port", "file:///tmp/x/https:/127.0.0.1:8080/f.bin", Dropped{Link: "https://127.0.0.1:8080/f.bin"}, ""},
		{"mangled ipv6", "file:///w/http:/[::1]:9/f", Dropped{Link: "http://[::1]:9/f"}, ""},
		{"mangled query kept", "file:///w/https:/e.com/get?id=7&x=y", Dropped{Link: "https://e.com/get?id=7&x=y"}, ""},
		{"mangled redirect target", "file:///w/https:/e.com/go?to=https:/other.org/f", Dropped{Link: "https://e.com/go?to=https://other.org/f"}, ""},
		{"intact link keeps single slash", "https://e.com/go?to=https:/x", Dropped{Link: "https://e.com/go?to=https:/x"}, ""},
		{"mangled space re-encoded", "file:///w/https:/e.com/my file.iso", Dropped{Link: "https://e.com/my%20file.iso"}, ""},
		{"mangled upper case scheme", "file:///w/HTTPS:/E.com/f", Dropped{Link: "https://E.com/f"}, ""},
		{"mangled dragon", "file:///home/ann/dragon:/?url=https:/e.com/f.iso&name=f.iso", Dropped{Link: "dragon://?url=https://e.com/f.iso&name=f.iso"}, ""},
		// The canonical link double-encodes a space in the URL (%2520) and
		// encodes the one in the name (%20); GLFW decodes once.
		{"mangled dragon with spaces", "file:///w/dragon:/?url=https:/e.com/big%20file.iso&name=big file.iso",
			Dropped{Link: "dragon://?url=https://e.com/big%2520file.iso&name=big%20file.iso"}, ""},
		{"mangled windows drive", "file:///C:/Users/ann/https:/e.com/f", Dropped{Link: "https://e.com/f"}, ""},
		{"mangled localhost host", "file://localhost/w/https:/e.com/f", Dropped{Link: "https://e.com/f"}, ""},
		{"mangled no host", "file:///w/https:/", Dropped{}, "names no host"},
		{"mangled empty dragon", "file:///w/dragon:", Dropped{}, "empty"},

		// Links that arrive intact, from other drivers or the clipboard.
		{"plain https", "https://example.com/big.iso", Dropped{Link: "https://example.com/big.iso"}, ""},
		{"plain http with spaces around", "  http://e.com/f \r\n", Dropped{Link: "http://e.com/f"}, ""},
		{"plain dragon", "dragon://?url=https%3A%2F%2Fe.com%2Ff", Dropped{Link: "dragon://?url=https%3A%2F%2Fe.com%2Ff"}, ""},

		// Real files.
		{"dragon file", "file:///home/ann/Downloads/ubuntu.dragon", Dropped{File: "/home/ann/Downloads/ubuntu.dragon"}, ""},
		{"text file", "file:///home/ann/links.txt", Dropped{File: "/home/ann/links.txt"}, ""},
		{"file with colon not a scheme", "file:///home/ann/notes:/a.dragon", Dropped{File: "/home/ann/notes:/a.dragon"}, ""},
		{"file in folder named like scheme", "file:///home/ann/http-mirror/a.dragon", Dropped{File: "/home/ann/http-mirror/a.dragon"}, ""},
		{"localhost file", "file://localhost/home/ann/a.dragon", Dropped{File: "/home/ann/a.dragon"}, ""},

		// Refusals.
		{"empty", "   ", Dropped{}, "empty"},
		{"remote file", "file://fileserver/share/a.dragon", Dropped{}, "another host"},
		{"ftp", "ftp://e.com/f", Dropped{}, "only links and local files"},
		{"bare word", "hello", Dropped{}, "only links and local files"},
		{"bad url", "https://e.com:bad/f", Dropped{}, "not a valid URL"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseDropped(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("ParseDropped(%q) = %+v, %v; want error containing %q", tc.in, got, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseDropped(%q): %v", tc.in, err)
			}
			if got != tc.want {
				t.Fatalf("ParseDropped(%q) = %+v, want %+v", tc.in, got, tc.want)
			}
		})
	}
}

func TestParseURLList(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want []string
		err  string
	}{
		{"one url", "https://e.com/a.iso\n", []string{"https://e.com/a.iso"}, ""},
		{"several with noise", "# mirrors\n\nhttps://e.com/a\n  http://e.com/b  \r\nsee also the wiki\ndragon://?url=x\n",
			[]string{"https://e.com/a", "http://e.com/b", "dragon://?url=x"}, ""},
		{"no trailing newline", "https://e.com/a", []string{"https://e.com/a"}, ""},
		{"hostless lines skipped", "https://\nhttp:///\nhttps://e.com/ok", []string{"https://e.com/ok"}, ""},
		{"no links", "just some notes\nftp://e.com/x\n", nil, "holds no http"},
		{"empty", "", nil, "holds no http"},
		{"binary", "https://e.com/a\x00\x01", nil, "not text"},
		{"invalid utf8", "https://e.com/a\xff", nil, "not text"},
		{"too large", strings.Repeat("#", maxListSize+1), nil, "too large"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseURLList(strings.NewReader(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, %v; want error containing %q", got, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestParseURLListCapsCount(t *testing.T) {
	var b strings.Builder
	for range maxListLinks + 20 {
		b.WriteString("https://e.com/f\n")
	}
	got, err := ParseURLList(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != maxListLinks {
		t.Fatalf("got %d links, want the cap %d", len(got), maxListLinks)
	}
}

func TestSources(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	dragon := write("a.dragon", "url = \"https://e.com/a\"\n")
	list := write("links.txt", "https://e.com/a\nhttps://e.com/b\n")
	notes := write("notes.txt", "nothing here\n")

	cases := []struct {
		name string
		in   Dropped
		want []string
		err  string
	}{
		{"link", Dropped{Link: "https://e.com/x"}, []string{"https://e.com/x"}, ""},
		{"dragon file passes as path", Dropped{File: dragon}, []string{dragon}, ""},
		{"list", Dropped{File: list}, []string{"https://e.com/a", "https://e.com/b"}, ""},
		{"notes", Dropped{File: notes}, nil, "notes.txt: the file holds no"},
		{"folder", Dropped{File: dir}, nil, "drop a link"},
		{"missing", Dropped{File: filepath.Join(dir, "gone.dragon")}, nil, "gone.dragon: no such file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Sources(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, %v; want error containing %q", got, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func FuzzParseDropped(f *testing.F) {
	for _, s := range []string{
		"file:///home/ann/https:/example.com/big.iso",
		"file:///w/dragon:/?url=https:/e.com/f",
		"https://e.com/a",
		"file://localhost/a",
		"file://",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDropped(s)
		if err != nil {
			return
		}
		if (d.Link == "") == (d.File == "") {
			t.Fatalf("ParseDropped(%q) = %+v: want exactly one of Link and File", s, d)
		}
		if d.Link != "" {
			if _, _, ok := linkScheme(d.Link); !ok {
				t.Fatalf("ParseDropped(%q) made link %q without a known scheme", s, d.Link)
			}
		}
	})
}

func FuzzParseURLList(f *testing.F) {
	f.Add("https://e.com/a\n# c\nhttp://e.com/b")
	f.Fuzz(func(t *testing.T, s string) {
		links, err := ParseURLList(strings.NewReader(s))
		if err == nil && (len(links) == 0 || len(links) > maxListLinks) {
			t.Fatalf("got %d links without error", len(links))
		}
	})
}

// glfwDecode does what GLFW does to each dropped URI before Fyne sees it:
// it %-decodes every escape once.
func glfwDecode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(v))
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// TestDroppedDragonLinkRoundTrip drags canonical dragon:// links through
// the whole mangling (GLFW's decoding, Fyne's file URI) and checks the
// link parser reads back the same link.
func TestDroppedDragonLinkRoundTrip(t *testing.T) {
	links := []link.Link{
		{URL: "https://example.com/big.iso"},
		{URL: "https://example.com/big%20file.iso", Name: "big file.iso", Size: 3994091520,
			SHA256: strings.Repeat("ab", 32)},
		{URL: "http://127.0.0.1:8080/a/b/c.bin", Mirrors: []string{"https://mirror.example.net/c.bin"}},
	}
	for _, l := range links {
		uri := l.URI()
		dropped := storage.NewFileURI(glfwDecode(uri)).String()
		d, err := ParseDropped(dropped)
		if err != nil {
			t.Fatalf("%s arrived as %s: %v", uri, dropped, err)
		}
		got, err := link.ParseURI(d.Link)
		if err != nil {
			t.Fatalf("%s arrived as %s, rebuilt as %s: %v", uri, dropped, d.Link, err)
		}
		if !reflect.DeepEqual(got, l) {
			t.Errorf("%s came back as %+v, want %+v", uri, got, l)
		}
	}
}
