package link

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

const (
	hashLower = "5c6e0b4e0d3b4c6f2b0a2f1c8e9d7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f"
	hashUpper = "5C6E0B4E0D3B4C6F2B0A2F1C8E9D7A6B5C4D3E2F1A0B9C8D7E6F5A4B3C2D1E0F"
)

func TestParseGood(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want Link
	}{
		{"only url", `url = "https://example.com/a.iso"`, Link{URL: "https://example.com/a.iso"}},
		{"every field", `
# a comment
url = "https://example.com/a.iso"
name = "a.iso"
size = 3994091520
sha256 = "` + hashUpper + `"
mirrors = ["http://m1.example/a.iso", 'https://m2.example/a.iso']

[headers]
Authorization = "Bearer x"
"X-Quoted" = "tab\tinside"
`, Link{
			URL: "https://example.com/a.iso", Name: "a.iso", Size: 3994091520, SHA256: hashLower,
			Mirrors: []string{"http://m1.example/a.iso", "https://m2.example/a.iso"},
			Headers: map[string]string{"Authorization": "Bearer x", "X-Quoted": "tab\tinside"},
		}},
		{"keys in any order", "headers.Cookie = \"a=b\"\nsize = 7\nurl = 'http://h/x'\n",
			Link{URL: "http://h/x", Size: 7, Headers: map[string]string{"Cookie": "a=b"}}},
		{"inline table", "url = 'http://h/x'\nheaders = { Cookie = \"a=b\", Accept = \"*/*\" }\n",
			Link{URL: "http://h/x", Headers: map[string]string{"Cookie": "a=b", "Accept": "*/*"}}},
		{"empty lists are none", "url = 'http://h/x'\nmirrors = []\n[headers]\n", Link{URL: "http://h/x"}},
		{"empty optional strings are none", "url = 'http://h/x'\nname = ''\nsha256 = ''\n", Link{URL: "http://h/x"}},
		{"CRLF and BOM", "\uFEFFurl = \"http://h/x\"\r\nname = \"x\"\r\n", Link{URL: "http://h/x", Name: "x"}},
		{"scheme in capitals", `url = "HTTPS://example.com/a"`, Link{URL: "HTTPS://example.com/a"}},
		{"unicode name", `name = "Ärger – 日本.iso"` + "\nurl = 'http://h/x'", Link{URL: "http://h/x", Name: "Ärger – 日本.iso"}},
		{"one line", "https://example.com/a.iso\n", Link{URL: "https://example.com/a.iso"}},
		{"one line with blank lines and spaces", "\uFEFF\n \r\n\t https://example.com/a.iso  \r\n\n", Link{URL: "https://example.com/a.iso"}},
		{"one line without newline", "http://[::1]:8080/a?b=c&d#e", Link{URL: "http://[::1]:8080/a?b=c&d#e"}},
		{"one dragon link", "dragon://?url=https://example.com/a.iso&name=b.iso\n", Link{URL: "https://example.com/a.iso", Name: "b.iso"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse([]byte(tc.in))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Parse =\n%#v\nwant\n%#v", got, tc.want)
			}
		})
	}
}

func TestParseBad(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want string // the whole message, or a prefix when it ends in "..."
	}{
		{"too large", "url = 'http://h/x'\n#" + strings.Repeat("x", MaxFileSize), "file is larger than 64 KiB"},
		{"not utf-8", "url = \"http://h/\xff\"\n", "file is not UTF-8"},
		{"empty", "", "file is empty"},
		{"blank", " \n\r\n\t\n", "file is empty"},
		{"bom only", "\uFEFF", "file is empty"},
		{"no url", "# nothing\nname = 'x'\n", "a link without a url must give sha256, name and size (missing: sha256, size)"},
		{"empty url", "url = ''\n", "line 1: url is empty (leave it out when sha256, name and size are given instead)"},
		{"bad sha256", "url = 'http://h/x'\nsha256 = \"abc\"\n", "line 2: sha256 must be 64 hex digits (got 3 characters)"},
		{"non-hex sha256", "url = 'http://h/x'\nsha256 = \"" + strings.Repeat("g", 64) + "\"\n", "line 2: sha256 must be 64 hex digits (0-9, a-f)"},
		{"unknown key", "url = 'http://h/x'\nname = 'a'\n\nurll = 'http://h/y'\n", `line 4: unknown key "urll" (known keys: url, name, size, sha256, mirrors, headers)`},
		{"keys are case-sensitive", "URL = 'http://h/x'\n", `line 1: unknown key "URL" (known keys: url, name, size, sha256, mirrors, headers)`},
		{"unknown table", "url = 'http://h/x'\n[extra]\na = 1\n", `line 2: unknown key "extra" (known keys: url, name, size, sha256, mirrors, headers)`},
		{"ftp", "url = \"ftp://h/x\"\n", `line 1: url: scheme "ftp" is not supported (use http or https)`},
		{"relative url", "url = \"/x/y\"\n", "line 1: url must be a full http or https URL, such as https://example.com/file.iso"},
		{"no host", "url = \"http:///x\"\n", "line 1: url has no host name"},
		{"space in url", "url = \"http://h/a b\"\n", "line 1: url must not contain spaces or control characters (write a space as %20)"},
		{"bad escape in url", "url = \"http://h/%zz\"\n", `line 1: url is not a valid URL: invalid URL escape "%zz"`},
		{"url not a string", "url = 5\n", "line 1: url must be text in quotes, not a whole number"},
		{"size float", "url = 'http://h/x'\nsize = 1.5\n", "line 2: size must be a whole number of bytes, not a decimal number"},
		{"size string", "url = 'http://h/x'\nsize = '10'\n", "line 2: size must be a whole number of bytes, not text"},
		{"size zero", "url = 'http://h/x'\nsize = 0\n", "line 2: size must be a positive number of bytes (got 0; leave size out when unknown)"},
		{"size negative", "url = 'http://h/x'\nsize = -1\n", "line 2: size must be a positive number of bytes (got -1; leave size out when unknown)"},
		{"name path", "url = 'http://h/x'\nname = '../x'\n", `line 2: name must be a file name, not a path (no / or \)`},
		{"name backslash", "url = 'http://h/x'\nname = 'a\\b'\n", `line 2: name must be a file name, not a path (no / or \)`},
		{"name dotdot", "url = 'http://h/x'\nname = '..'\n", `line 2: name ".." is not a file name`},
		{"name hidden", "url = 'http://h/x'\nname = '.bashrc'\n", "line 2: name must not start with a dot (hidden files are not downloaded into)"},
		{"name control", "url = 'http://h/x'\nname = \"a\\u0001b\"\n", "line 2: name must not contain control characters"},
		{"name C1 control", "url = 'http://h/x'\nname = \"a\u0085b\"\n", "line 2: name must not contain control characters"},
		{"name bidi override", "url = 'http://h/x'\nname = \"a\u202Egpj.exe\"\n", "line 2: name must not contain text-direction control characters"},
		{"name windows char", "url = 'http://h/x'\nname = 'a:b'\n", `line 2: name must not contain ':' (not allowed in file names on Windows)`},
		{"name trailing dot", "url = 'http://h/x'\nname = 'a.'\n", "line 2: name must not end with a dot or a space"},
		{"name leading space", "url = 'http://h/x'\nname = ' a'\n", "line 2: name must not start with a space"},
		{"name device", "url = 'http://h/x'\nname = 'nul.txt'\n", `line 2: name "nul.txt" is a reserved device name on Windows`},
		{"name too long", "url = 'http://h/x'\nname = '" + strings.Repeat("n", 201) + "'\n", "line 2: name is longer than 200 bytes"},
		{"mirrors not a list", "url = 'http://h/x'\nmirrors = 'http://m/x'\n", "line 2: mirrors must be a list of URLs in [ ], not text"},
		{"mirror not a string", "url = 'http://h/x'\nmirrors = ['http://m/x', 3]\n", "line 2: mirror 2 must be text in quotes, not a whole number"},
		{"mirror ftp", "url = 'http://h/x'\nmirrors = [\n'ftp://m/x',\n]\n", `line 2: mirror 1: scheme "ftp" is not supported (use http or https)`},
		{"mirror repeats url", "mirrors = ['http://h/x']\nurl = 'http://h/x'\n", "line 1: mirror 1 repeats the url"},
		{"mirror repeats mirror", "url = 'http://h/x'\nmirrors = ['http://m/x', 'http://m/x']\n", "line 2: mirror 2 repeats an earlier mirror"},
		{"too many mirrors", "url = 'http://h/x'\nmirrors = [" + mirrorList(17) + "]\n", "line 2: mirrors has 17 entries; at most 16 are allowed"},
		{"headers not a table", "url = 'http://h/x'\nheaders = 'a'\n", `line 2: headers must be a table of name = "value" pairs, not text`},
		{"reserved header", "url = 'http://h/x'\n[headers]\nAccept = '*/*'\n\nhost = 'evil'\n", `line 5: header "host" is set by Dragonload itself and cannot be given in a link`},
		{"reserved header inline", "url = 'http://h/x'\nheaders = { Range = 'bytes=0-' }\n", `line 2: header "Range" is set by Dragonload itself and cannot be given in a link`},
		{"header CRLF", "url = 'http://h/x'\n[headers]\nA = \"x\\r\\nHost: y\"\n", `line 3: header "A": value must be one line (no CR or LF)`},
		{"header bad name", "url = 'http://h/x'\n[headers]\n\"A B\" = 'x'\n", `line 3: header name "A B" is not valid (letters, digits and !#$%&'*+-.^_` + "`" + `|~ only)`},
		{"header twice", "url = 'http://h/x'\n[headers]\nCookie = 'a'\ncookie = 'b'\n", `line 4: header "cookie" is given twice (as "Cookie" too)`},
		{"header spaces", "url = 'http://h/x'\n[headers]\nA = ' x'\n", `line 3: header "A": value must not start or end with spaces`},
		{"header table", "url = 'http://h/x'\n\n[headers.A]\nb = 'c'\n", `line 3: header "A" must be text in quotes, not a table`},
		{"header value number", "url = 'http://h/x'\n[headers]\nA = 1\n", `line 3: header "A" must be text in quotes, not a whole number`},
		{"too many headers", "url = 'http://h/x'\n[headers]\n" + headerLines(33), "line 2: headers has 33 entries; at most 32 are allowed"},
		{"header too long", "url = 'http://h/x'\n[headers]\nA = '" + strings.Repeat("v", 4096) + "'\n", `line 3: header "A" is longer than 4096 bytes`},
		{"toml syntax", "url = 'http://h/x'\nname = \n", "line 2: not valid TOML: ..."},
		{"toml duplicate key", "url = 'http://h/x'\nurl = 'http://h/y'\n", "line 2: not valid TOML: ..."},
		{"one line ftp", "\n\nftp://h/x\n", `line 3: url: scheme "ftp" is not supported (use http or https)`},
		{"one line then more", "https://h/x\nhttps://h/y\n", "line 2: a one-line link file must hold nothing but its URL"},
		{"one line then toml", "https://h/x\nname = 'a'\n", "line 2: a one-line link file must hold nothing but its URL"},
		{"one line with space", "https://h/a b\n", "line 1: url must not contain spaces or control characters (write a space as %20)"},
		{"one line bad dragon", "dragon://?url=https://h/x&size=x\n", `line 1: size must be a whole number of bytes in decimal digits (got "x")`},
		{"plain words", "download this please\n", "line 1: not valid TOML: ..."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l, err := Parse([]byte(tc.in))
			if err == nil {
				t.Fatalf("Parse = %+v, want error %q", l, tc.want)
			}
			checkMessage(t, err, tc.want)
		})
	}
}

func TestParseURIGood(t *testing.T) {
	cases := []struct {
		in   string
		want Link
	}{
		{"dragon://?url=https://example.com/a.iso", Link{URL: "https://example.com/a.iso"}},
		{"DRAGON:?url=https%3A%2F%2Fexample.com%2Fa.iso", Link{URL: "https://example.com/a.iso"}},
		{"dragon:///?url=https://h/x", Link{URL: "https://h/x"}},
		{"  dragon://?url=https://h/x\n", Link{URL: "https://h/x"}},
		{"dragon://?url=https://h/a+b%3Fc%3Dd%26e", Link{URL: "https://h/a+b?c=d&e"}},
		{"dragon://?&url=https://h/x&&name=&size=&sha256=", Link{URL: "https://h/x"}},
		{
			"dragon://?header=X-B:%20two&sha256=" + hashUpper + "&mirror=http://m2/x&size=12&name=a%20b.iso&mirror=http://m1/x&url=https://h/x&header=Cookie:a=b",
			Link{
				URL: "https://h/x", Name: "a b.iso", Size: 12, SHA256: hashLower,
				Mirrors: []string{"http://m2/x", "http://m1/x"},
				Headers: map[string]string{"X-B": "two", "Cookie": "a=b"},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseURI(tc.in)
			if err != nil {
				t.Fatalf("ParseURI: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("ParseURI =\n%#v\nwant\n%#v", got, tc.want)
			}
		})
	}
}

func TestParseURIBad(t *testing.T) {
	cases := []struct{ in, want string }{
		{"https://h/x", "not a dragon link (it must start with dragon://)"},
		{"dragon://", "a link without a url must give sha256, name and size (missing: sha256, name, size)"},
		{"dragon://?url=", "url is empty (leave it out when sha256, name and size are given instead)"},
		{"dragon://?name=a", "a link without a url must give sha256, name and size (missing: sha256, size)"},
		{"dragon://get?url=https://h/x", `dragon link must carry its fields after "dragon://?" (found "get" before them)`},
		{"dragon://?url=https://h/x#top", "dragon link must not contain # (write a # inside a URL as %23)"},
		{"dragon://?url=https://h/x&url=https://h/y", `parameter "url" is given twice`},
		{"dragon://?url=https://h/x&name=a&name=b", `parameter "name" is given twice`},
		{"dragon://?url=https://h/x&colour=red", `unknown parameter "colour" (known: url, name, size, sha256, mirror, header)`},
		{"dragon://?url=https://h/x&Name=a", `unknown parameter "Name" (known: url, name, size, sha256, mirror, header)`},
		{"dragon://?url=https://h/%zz", `dragon link parameter "url" has a malformed %-escape`},
		{"dragon://?url=ftp://h/x", `url: scheme "ftp" is not supported (use http or https)`},
		{"dragon://?url=https://h/x&size=-5", `size must be a whole number of bytes in decimal digits (got "-5")`},
		{"dragon://?url=https://h/x&size=0", "size must be a positive number of bytes (leave size out when unknown)"},
		{"dragon://?url=https://h/x&size=99999999999999999999", `size "99999999999999999999" is too large`},
		{"dragon://?url=https://h/x&sha256=00", "sha256 must be 64 hex digits (got 2 characters)"},
		{"dragon://?url=https://h/x&name=a%2Fb", `name must be a file name, not a path (no / or \)`},
		{"dragon://?url=https://h/x&mirror=https://h/x", "mirror 1 repeats the url"},
		{"dragon://?url=https://h/a%20b", "url contains a space after decoding; in a dragon:// link a URL's own %-escapes are escaped again (%20 becomes %2520)"},
		{"dragon://?url=https://h/x&mirror=https://m/a%20b", "mirror 1 contains a space after decoding; in a dragon:// link a URL's own %-escapes are escaped again (%20 becomes %2520)"},
		{"dragon://?url=https://h/x&header=Cookie", `header "Cookie" must be written as Name: value`},
		{"dragon://?url=https://h/x&header=Host:%20h", `header "Host" is set by Dragonload itself and cannot be given in a link`},
		{"dragon://?url=https://h/x&header=A:%20x%0D%0AB:%20y", `header "A": value must be one line (no CR or LF)`},
		{"dragon://?url=https://h/x&header=A:1&header=a:2", `header "a" is given twice`},
		{"dragon://?url=https://h/x" + strings.Repeat("&mirror=https://m/x", 17), "more than 16 mirrors are given"},
		{"dragon://?url=https://h/x" + strings.Repeat("x", MaxFileSize), "dragon link is longer than 64 KiB"},
	}
	for _, tc := range cases {
		t.Run(tc.in[:min(len(tc.in), 60)], func(t *testing.T) {
			l, err := ParseURI(tc.in)
			if err == nil {
				t.Fatalf("ParseURI = %+v, want error %q", l, tc.want)
			}
			checkMessage(t, err, tc.want)
		})
	}
}

func TestParseSource(t *testing.T) {
	cases := []struct {
		in      string
		want    Link
		ok      bool
		wantErr string
	}{
		{"https://example.com/a.iso", Link{URL: "https://example.com/a.iso"}, true, ""},
		{"  http://example.com/a.iso\n", Link{URL: "http://example.com/a.iso"}, true, ""},
		{"dragon://?url=https://h/x&size=3", Link{URL: "https://h/x", Size: 3}, true, ""},
		{"ftp://h/x", Link{}, true, `url: scheme "ftp" is not supported (use http or https)`},
		{"dragon://?url=", Link{}, true, "url is empty (leave it out when sha256, name and size are given instead)"},
		{"https://h/a b", Link{}, true, "url must not contain spaces or control characters (write a space as %20)"},
		{"/home/me/a.dragon", Link{}, false, ""},
		{"a.dragon", Link{}, false, ""},
		{`C:\Users\me\a.dragon`, Link{}, false, ""},
		{"", Link{}, false, ""},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, ok, err := ParseSource(tc.in)
			if ok != tc.ok {
				t.Fatalf("ok = %v, want %v", ok, tc.ok)
			}
			if tc.wantErr != "" {
				if err == nil {
					t.Fatalf("no error, want %q", tc.wantErr)
				}
				checkMessage(t, err, tc.wantErr)
				return
			}
			if err != nil {
				t.Fatalf("ParseSource: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("ParseSource = %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	good := Link{URL: "https://h/x"}
	cases := []struct {
		name string
		mod  func(*Link)
		want string
	}{
		{"no url", func(l *Link) { l.URL = "" }, "a link without a url must give sha256, name and size (missing: sha256, name, size)"},
		{"negative size", func(l *Link) { l.Size = -1 }, "size must not be negative (got -1)"},
		{"upper-case sha256", func(l *Link) { l.SHA256 = hashUpper }, "sha256 must be written in lowercase"},
		{"invalid utf-8 url", func(l *Link) { l.URL = "https://h/\xff" }, "url is not valid UTF-8"},
		{"long url", func(l *Link) { l.URL = "https://h/" + strings.Repeat("x", 8<<10) }, "url is longer than 8192 bytes"},
		{"header case clash", func(l *Link) { l.Headers = map[string]string{"ACCEPT": "a", "accept": "b"} },
			`header "ACCEPT" and header "accept" are the same header`},
		{"empty header name", func(l *Link) { l.Headers = map[string]string{"": "a"} }, "header name is empty"},
		{"header NUL", func(l *Link) { l.Headers = map[string]string{"A": "a\x00b"} }, `header "A": value must not contain control characters`},
		{"too many headers", func(l *Link) { l.Headers = headerMap(33) }, "headers has 33 entries; at most 32 are allowed"},
		{"name invalid utf-8", func(l *Link) { l.Name = "a\xffb" }, "name is not valid UTF-8"},
		{"mirror repeats url", func(l *Link) { l.Mirrors = []string{l.URL} }, "mirror 1 repeats the url"},
	}
	if err := good.Validate(); err != nil {
		t.Fatalf("Validate(%+v): %v", good, err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := good
			tc.mod(&l)
			err := l.Validate()
			if err == nil {
				t.Fatalf("Validate(%+v) = nil, want %q", l, tc.want)
			}
			checkMessage(t, err, tc.want)
		})
	}
}

// TestFormat pins the layout: `dragonload link` output is part of the
// user-visible format.
func TestFormat(t *testing.T) {
	l := Link{
		URL: `https://example.com/a%20"q"\x.iso`, Name: "Größe 2 ✓.iso", Size: 42, SHA256: hashLower,
		Mirrors: []string{"http://m1.example/a", "http://m2.example/a"},
		Headers: map[string]string{"X-Tab": "a\tb \"q\" \\", "Authorization": "Bearer t", "X.Dot": "d"},
	}
	want := `url = "https://example.com/a%20\"q\"\\x.iso"
name = "Größe 2 ✓.iso"
size = 42
sha256 = "` + hashLower + `"
mirrors = [
  "http://m1.example/a",
  "http://m2.example/a",
]

[headers]
Authorization = "Bearer t"
X-Tab = "a\tb \"q\" \\"
"X.Dot" = "d"
`
	if got := string(l.Format()); got != want {
		t.Fatalf("Format =\n%s\nwant\n%s", got, want)
	}
	checkRoundTrip(t, l)
	if got, want := string(Link{URL: "http://h/x"}.Format()), "url = \"http://h/x\"\n"; got != want {
		t.Fatalf("Format = %q, want %q", got, want)
	}
}

func TestURI(t *testing.T) {
	l := Link{
		URL: "https://h/a b?x=1&y=2#f", Name: "a+b.iso", Size: 42, SHA256: hashLower,
		Mirrors: []string{"http://m/x;y"},
		Headers: map[string]string{"X-B": "2", "Cookie": "k=v; k2=v2"},
	}
	want := "dragon://?url=https://h/a%20b%3Fx%3D1%26y%3D2%23f&name=a%2Bb.iso&size=42&sha256=" + hashLower +
		"&mirror=http://m/x%3By&header=Cookie:%20k%3Dv%3B%20k2%3Dv2&header=X-B:%202"
	if got := l.URI(); got != want {
		t.Fatalf("URI =\n%s\nwant\n%s", got, want)
	}
}

// TestRoundTrip checks Parse(Format(l)) == l and ParseURI(URI(l)) == l for
// random valid links full of characters that need escaping.
func TestRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	withoutURL := 0
	for i := range 3000 {
		l := randomLink(r)
		if err := l.Validate(); err != nil {
			t.Fatalf("link %d: generated link is invalid: %v\n%#v", i, err, l)
		}
		if !l.HasOrigin() {
			withoutURL++
		}
		checkRoundTrip(t, l)
	}
	if withoutURL < 100 {
		t.Fatalf("only %d of the links had no url", withoutURL)
	}
}

func checkRoundTrip(t *testing.T, l Link) {
	t.Helper()
	file := l.Format()
	got, err := Parse(file)
	if err != nil {
		t.Fatalf("Parse(Format(l)): %v\nlink %#v\nfile:\n%s", err, l, file)
	}
	if !reflect.DeepEqual(got, l) {
		t.Fatalf("Parse(Format(l)) =\n%#v\nwant\n%#v\nfile:\n%s", got, l, file)
	}
	uri := l.URI()
	got, err = ParseURI(uri)
	if err != nil {
		t.Fatalf("ParseURI(URI(l)): %v\nlink %#v\nuri %s", err, l, uri)
	}
	if !reflect.DeepEqual(got, l) {
		t.Fatalf("ParseURI(URI(l)) =\n%#v\nwant\n%#v\nuri %s", got, l, uri)
	}
	got, err = Parse([]byte(uri + "\n"))
	if err != nil || !reflect.DeepEqual(got, l) {
		t.Fatalf("Parse(URI(l)) = %#v, %v; want %#v", got, err, l)
	}
	got, ok, err := ParseSource(uri)
	if !ok || err != nil || !reflect.DeepEqual(got, l) {
		t.Fatalf("ParseSource(URI(l)) = %#v, %v, %v; want %#v", got, ok, err, l)
	}
}

// urlPieces are path and query fragments that url.Parse accepts; together
// they cover every character the TOML and dragon:// encoders treat
// specially.
var urlPieces = []string{
	"a", "Z", "0", "-", "_", ".", "~", "/", "%20", "%41", "%2F", "+", "&", "=", "?", "#", ";", ",", "'",
	"!", "$", "(", ")", "*", ":", "@", `"`, `\`, "é", "€", "日本", "🐉", "\u00a0", "\u2028",
}

var nameRunes = []rune("abcXYZ019-_.,;'!$%&()+=@[]{}^`~ #éß日本🐉\u00a0\"")

func randomLink(r *rand.Rand) Link {
	if r.IntN(4) == 0 {
		// A link without a url: the file is found in the room by its
		// SHA-256, so it gives sha256, name and size, and nothing else.
		return Link{Name: randomName(r), Size: r.Int64N(1<<62) + 1, SHA256: randomSHA256(r)}
	}
	l := Link{URL: randomURL(r)}
	if r.IntN(2) == 0 {
		l.Name = randomName(r)
	}
	if r.IntN(2) == 0 {
		l.Size = r.Int64N(1<<62) + 1
	}
	if r.IntN(2) == 0 {
		l.SHA256 = randomSHA256(r)
	}
	for n := r.IntN(4); len(l.Mirrors) < n; {
		m := randomURL(r)
		if m != l.URL && !slices.Contains(l.Mirrors, m) {
			l.Mirrors = append(l.Mirrors, m)
		}
	}
	n := r.IntN(5)
	for range n {
		name, value := randomHeader(r)
		if l.Headers == nil {
			l.Headers = make(map[string]string)
		}
		clash := false
		for other := range l.Headers {
			clash = clash || strings.EqualFold(other, name)
		}
		if !clash {
			l.Headers[name] = value
		}
	}
	return l
}

func randomSHA256(r *rand.Rand) string {
	var b strings.Builder
	for range 64 {
		b.WriteByte("0123456789abcdef"[r.IntN(16)])
	}
	return b.String()
}

func randomURL(r *rand.Rand) string {
	schemes := []string{"http", "https", "HTTPS", "Http"}
	hosts := []string{"example.com", "127.0.0.1:8080", "[::1]", "[2001:db8::1]:443", "a-b.example", "user:pw@h.example"}
	var b strings.Builder
	b.WriteString(schemes[r.IntN(len(schemes))] + "://" + hosts[r.IntN(len(hosts))] + "/")
	for range r.IntN(12) {
		b.WriteString(urlPieces[r.IntN(len(urlPieces))])
	}
	return b.String()
}

func randomName(r *rand.Rand) string {
	var b strings.Builder
	b.WriteByte("abcdefgh"[r.IntN(8)])
	for range r.IntN(30) {
		c := nameRunes[r.IntN(len(nameRunes))]
		if c == '"' {
			continue // not allowed in names (Windows)
		}
		b.WriteRune(c)
	}
	b.WriteString(".iso")
	return b.String()
}

func randomHeader(r *rand.Rand) (string, string) {
	const token = "abcxyzABCXYZ0189!#$%&'*+-.^_`|~"
	var name strings.Builder
	name.WriteString("X")
	for range r.IntN(10) {
		name.WriteByte(token[r.IntN(len(token))])
	}
	valueRunes := []rune("abc XYZ 09 \t:;,=\"'\\/?&#%+é€🐉\u00a0")
	var value strings.Builder
	for range r.IntN(40) {
		value.WriteRune(valueRunes[r.IntN(len(valueRunes))])
	}
	return name.String(), strings.Trim(value.String(), " \t")
}

func mirrorList(n int) string {
	var parts []string
	for i := range n {
		parts = append(parts, fmt.Sprintf("'http://m%d/x'", i))
	}
	return strings.Join(parts, ", ")
}

func headerLines(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "X-%d = 'v'\n", i)
	}
	return b.String()
}

func headerMap(n int) map[string]string {
	h := make(map[string]string, n)
	for i := range n {
		h[fmt.Sprintf("X-%d", i)] = "v"
	}
	return h
}

func checkMessage(t *testing.T, err error, want string) {
	t.Helper()
	if prefix, ok := strings.CutSuffix(want, "..."); ok {
		if !strings.HasPrefix(err.Error(), prefix) {
			t.Fatalf("error %q, want it to start with %q", err, prefix)
		}
		return
	}
	if err.Error() != want {
		t.Fatalf("error %q,\nwant  %q", err, want)
	}
}

// TestDocExamples keeps docs/dragon-format.md honest: every TOML example
// and every dragon:// example in it parses.
func TestDocExamples(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "dragon-format.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := strings.Split(string(doc), "```")
	n := 0
	for i := 1; i < len(blocks); i += 2 {
		lang, body, _ := strings.Cut(blocks[i], "\n")
		switch {
		case lang == "toml":
			if _, err := Parse([]byte(body)); err != nil {
				t.Errorf("TOML example does not parse: %v\n%s", err, body)
			}
			n++
		case lang == "text" && strings.HasPrefix(body, "dragon:"):
			if _, err := ParseURI(body); err != nil {
				t.Errorf("dragon:// example does not parse: %v\n%s", err, body)
			}
			n++
		case lang == "text":
			if _, err := Parse([]byte(body)); err != nil {
				t.Errorf("one-line example does not parse: %v\n%s", err, body)
			}
			n++
		}
	}
	if n < 4 {
		t.Fatalf("found %d examples in the format document, want at least 4", n)
	}
}

// TestHostileShapes: inputs whose cost grows faster than their size in the
// TOML decoder are refused up front, and quickly.
func TestHostileShapes(t *testing.T) {
	fill := func(prefix, unit, suffix string) []byte {
		n := (MaxFileSize - len(prefix) - len(suffix)) / len(unit)
		return []byte(prefix + strings.Repeat(unit, n) + suffix)
	}
	cases := []struct {
		name string
		in   []byte
		want string
	}{
		{"deep dotted key", fill("a", ".a", " = 1"), "line 1: more than 32 dots outside quotes (keys are nested too deep)"},
		{"deep inline tables", fill("a = ", "{a=", ""), "line 1: lists or tables are nested more than 8 deep"},
		{"deep arrays", fill("\n\nurl = ", "[", ""), "line 3: lists or tables are nested more than 8 deep"},
		{"deep table header", fill("[a", ".a", "]"), "line 1: more than 32 dots outside quotes (keys are nested too deep)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.in)
			if err == nil {
				t.Fatal("Parse accepted it")
			}
			checkMessage(t, err, tc.want)
		})
	}
	// Brackets and dots inside strings and comments do not count.
	ok := "url = \"https://h/" + strings.Repeat("[{.", 50) + "\" # " + strings.Repeat("[.", 50) + "\n" +
		"name = '''" + strings.Repeat("a.", 40) + "\n'''\n"
	if _, err := Parse([]byte(ok)); err == nil || !strings.HasSuffix(err.Error(), "name must not contain control characters") {
		t.Fatalf("Parse = %v, want the name's newline refused (the shape is fine)", err)
	}
}
