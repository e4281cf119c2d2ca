package link

import (
	"reflect"
	"testing"
)

// A link without a url names its file by SHA-256, name and size; the room
// supplies it.
var roomOnly = Link{Name: "debian.iso", Size: 3994091520, SHA256: hashLower}

// TestValidateWithoutURL covers what a link without a url must give
// (sha256, name and size) and must not (mirrors, headers).
func TestValidateWithoutURL(t *testing.T) {
	cases := []struct {
		name string
		mod  func(*Link)
		want string // "" = valid
	}{
		{"sha256, name and size", func(*Link) {}, ""},
		{"and a url", func(l *Link) { l.URL = "https://h/x" }, ""},
		{"and a url with mirrors and headers", func(l *Link) {
			l.URL, l.Mirrors, l.Headers = "https://h/x", []string{"https://m/x"}, map[string]string{"Cookie": "a=b"}
		}, ""},
		{"missing sha256", func(l *Link) { l.SHA256 = "" }, "a link without a url must give sha256, name and size (missing: sha256)"},
		{"missing name", func(l *Link) { l.Name = "" }, "a link without a url must give sha256, name and size (missing: name)"},
		{"missing size", func(l *Link) { l.Size = 0 }, "a link without a url must give sha256, name and size (missing: size)"},
		{"missing sha256 and size", func(l *Link) { l.SHA256, l.Size = "", 0 }, "a link without a url must give sha256, name and size (missing: sha256, size)"},
		{"missing all three", func(l *Link) { *l = Link{} }, "a link without a url must give sha256, name and size (missing: sha256, name, size)"},
		{"negative size", func(l *Link) { l.Size = -1 }, "size must not be negative (got -1)"},
		{"bad sha256", func(l *Link) { l.SHA256 = "abc" }, "sha256 must be 64 hex digits (got 3 characters)"},
		{"upper-case sha256", func(l *Link) { l.SHA256 = hashUpper }, "sha256 must be written in lowercase"},
		{"bad name", func(l *Link) { l.Name = "a/b" }, `name must be a file name, not a path (no / or \)`},
		{"mirrors", func(l *Link) { l.Mirrors = []string{"https://m/x"} }, "mirrors need a url: they are more origins for the url's bytes"},
		{"headers", func(l *Link) { l.Headers = map[string]string{"Cookie": "a=b"} }, "headers need a url: they are sent to the url's host"},
		{"mirrors and headers", func(l *Link) {
			l.Mirrors, l.Headers = []string{"https://m/x"}, map[string]string{"Cookie": "a=b"}
		}, "mirrors need a url: they are more origins for the url's bytes"},
		{"mirrors before what is missing", func(l *Link) { l.Name, l.Mirrors = "", []string{"https://m/x"} }, "mirrors need a url: they are more origins for the url's bytes"},
		{"empty mirrors and headers are none", func(l *Link) { l.Mirrors, l.Headers = []string{}, map[string]string{} }, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := roomOnly
			tc.mod(&l)
			err := l.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Validate(%+v): %v", l, err)
			case tc.want != "" && err == nil:
				t.Fatalf("Validate(%+v) = nil, want %q", l, tc.want)
			case tc.want != "":
				checkMessage(t, err, tc.want)
			}
		})
	}
}

func TestHasOrigin(t *testing.T) {
	if roomOnly.HasOrigin() {
		t.Errorf("HasOrigin() = true for %+v", roomOnly)
	}
	if (Link{}).HasOrigin() {
		t.Error("HasOrigin() = true for the zero link")
	}
	if !(Link{URL: "https://h/x"}).HasOrigin() {
		t.Error("HasOrigin() = false for a link with a url")
	}
}

// TestParseWithoutURL: every form reads a link without a url, and refuses
// one that lacks sha256, name or size or gives mirrors or headers, with the
// line in TOML.
func TestParseWithoutURL(t *testing.T) {
	const sha = "sha256 = '" + hashLower + "'\n"
	const missing = "a link without a url must give sha256, name and size (missing: "
	cases := []struct {
		name string
		in   string
		want string // error; "" = parses as roomOnly
	}{
		{"toml", "name = 'debian.iso'\nsize = 3994091520\n" + sha, ""},
		{"toml in another order, upper-case sha256", "sha256 = '" + hashUpper + "'\nsize = 3994091520\nname = \"debian.iso\"\n", ""},
		{"toml with empty mirrors and headers", "name = 'debian.iso'\nsize = 3994091520\n" + sha + "mirrors = []\n[headers]\n", ""},
		{"one line", "\n  dragon://?name=debian.iso&size=3994091520&sha256=" + hashLower + "\n\n", ""},
		{"one line, any order", "dragon:?sha256=" + hashUpper + "&name=debian.iso&size=3994091520", ""},
		{"toml missing sha256", "name = 'debian.iso'\nsize = 3994091520\n", missing + "sha256)"},
		{"toml missing name", "size = 3994091520\n" + sha, missing + "name)"},
		{"toml missing size", "name = 'debian.iso'\n" + sha, missing + "size)"},
		{"toml empty name", "name = ''\nsize = 3994091520\n" + sha, missing + "name)"},
		{"toml empty sha256", "name = 'debian.iso'\nsize = 3994091520\nsha256 = ''\n", missing + "sha256)"},
		{"toml only a comment and a name", "# x\nname = 'debian.iso'\n", missing + "sha256, size)"},
		{"toml mirrors", "name = 'debian.iso'\nsize = 3994091520\n" + sha + "mirrors = [\n  'https://m/x',\n]\n",
			"line 4: mirrors need a url: they are more origins for the url's bytes"},
		{"toml headers", "name = 'debian.iso'\nsize = 3994091520\n" + sha + "\n[headers]\nCookie = 'a=b'\n",
			"line 5: headers need a url: they are sent to the url's host"},
		{"toml inline headers", "headers = { Cookie = 'a=b' }\nname = 'debian.iso'\nsize = 3994091520\n" + sha,
			"line 1: headers need a url: they are sent to the url's host"},
		{"toml headers before mirrors", "headers.Cookie = 'a=b'\nmirrors = ['https://m/x']\n",
			"line 1: headers need a url: they are sent to the url's host"},
		{"toml dotted headers", "name = 'debian.iso'\n\nheaders.Cookie = 'a=b'\n",
			"line 3: headers need a url: they are sent to the url's host"},
		{"toml mirrors before headers", "mirrors = ['https://m/x']\n[headers]\nCookie = 'a=b'\n",
			"line 1: mirrors need a url: they are more origins for the url's bytes"},
		{"toml field errors first", "mirrors = ['https://m/x']\nsize = 0\n",
			"line 2: size must be a positive number of bytes (got 0; leave size out when unknown)"},
		{"one line missing size", "dragon://?name=debian.iso&sha256=" + hashLower + "\n", "line 1: " + missing + "size)"},
		{"one line with a mirror", "dragon://?name=debian.iso&size=1&sha256=" + hashLower + "&mirror=https://m/x\n",
			"line 1: mirrors need a url: they are more origins for the url's bytes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse([]byte(tc.in))
			if tc.want != "" {
				if err == nil {
					t.Fatalf("Parse = %+v, want error %q", got, tc.want)
				}
				checkMessage(t, err, tc.want)
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(got, roomOnly) {
				t.Fatalf("Parse =\n%#v\nwant\n%#v", got, roomOnly)
			}
		})
	}
}

func TestParseURIWithoutURL(t *testing.T) {
	const missing = "a link without a url must give sha256, name and size (missing: "
	cases := []struct {
		in   string
		want string // error; "" = parses as roomOnly
	}{
		{"dragon://?name=debian.iso&size=3994091520&sha256=" + hashLower, ""},
		{"dragon://?sha256=" + hashLower + "&name=debian.iso&size=3994091520", ""},
		{"DRAGON:/?size=3994091520&&sha256=" + hashUpper + "&name=debian%2Eiso", ""},
		{"dragon://?name=debian.iso&size=3994091520", missing + "sha256)"},
		{"dragon://?sha256=" + hashLower + "&size=3994091520", missing + "name)"},
		{"dragon://?sha256=" + hashLower + "&name=debian.iso", missing + "size)"},
		{"dragon://?sha256=" + hashLower + "&name=debian.iso&size=", missing + "size)"},
		{"dragon://?sha256=&name=&size=", missing + "sha256, name, size)"},
		{"dragon://?name=debian.iso&size=3994091520&sha256=" + hashLower + "&mirror=https://m/x",
			"mirrors need a url: they are more origins for the url's bytes"},
		{"dragon://?name=debian.iso&size=3994091520&sha256=" + hashLower + "&header=Cookie:%20a%3Db",
			"headers need a url: they are sent to the url's host"},
		{"dragon://?url=&name=debian.iso&size=3994091520&sha256=" + hashLower,
			"url is empty (leave it out when sha256, name and size are given instead)"},
	}
	for _, tc := range cases {
		t.Run(tc.in[:min(len(tc.in), 60)], func(t *testing.T) {
			got, err := ParseURI(tc.in)
			if tc.want != "" {
				if err == nil {
					t.Fatalf("ParseURI = %+v, want error %q", got, tc.want)
				}
				checkMessage(t, err, tc.want)
				return
			}
			if err != nil {
				t.Fatalf("ParseURI: %v", err)
			}
			if !reflect.DeepEqual(got, roomOnly) {
				t.Fatalf("ParseURI =\n%#v\nwant\n%#v", got, roomOnly)
			}
			got, ok, err := ParseSource(tc.in)
			if !ok || err != nil || !reflect.DeepEqual(got, roomOnly) {
				t.Fatalf("ParseSource = %#v, %v, %v; want %#v", got, ok, err, roomOnly)
			}
		})
	}
}

// TestFormatWithoutURL pins both written forms of a link without a url:
// what is set, in the documented order, and nothing else.
func TestFormatWithoutURL(t *testing.T) {
	l := Link{Name: "Größe 2.iso", Size: 42, SHA256: hashLower}
	wantFile := "name = \"Größe 2.iso\"\nsize = 42\nsha256 = \"" + hashLower + "\"\n"
	if got := string(l.Format()); got != wantFile {
		t.Fatalf("Format =\n%s\nwant\n%s", got, wantFile)
	}
	wantURI := "dragon://?name=Gr%C3%B6%C3%9Fe%202.iso&size=42&sha256=" + hashLower
	if got := l.URI(); got != wantURI {
		t.Fatalf("URI =\n%s\nwant\n%s", got, wantURI)
	}
	checkRoundTrip(t, l)
	checkRoundTrip(t, roomOnly)
	// With a url as well, the url comes first.
	l.URL = "https://h/x"
	if got, want := l.URI(), "dragon://?url=https://h/x&name=Gr%C3%B6%C3%9Fe%202.iso&size=42&sha256="+hashLower; got != want {
		t.Fatalf("URI =\n%s\nwant\n%s", got, want)
	}
	checkRoundTrip(t, l)
}
