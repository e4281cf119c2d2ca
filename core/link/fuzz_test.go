package link

import (
	"reflect"
	"testing"
)

// FuzzParse feeds Parse arbitrary bytes: it must never panic, and whatever
// it accepts must be valid and survive both round trips.
func FuzzParse(f *testing.F) {
	seeds := []string{
		"url = \"https://example.com/a.iso\"\n",
		"url = 'http://h/x'\nname = 'a.iso'\nsize = 12\nsha256 = '" + hashUpper + "'\nmirrors = ['http://m/x']\n[headers]\nCookie = 'a=b'\n",
		"url = 'http://h/x'\nheaders = { A = \"x\\ty\" }\n",
		"https://example.com/a.iso\n",
		"\uFEFF\n  dragon://?url=https://h/x&header=A:%20b&mirror=http://m/y\n",
		"url = 'http://h/x'\nurll = 1\n",
		"[[headers]]\nA = 'b'\n",
		"url = [[[[[]]]]]\n",
		"",
		// The name and header rules: invisible and bidi characters, every
		// form of Windows device name, headers the origin client refuses.
		"url = 'http://h/x'\nname = \"a\u200Bb\u202E.iso\"\n",
		"url = 'http://h/x'\nname = 'COM\u00B9 .txt'\n",
		"url = 'http://h/x'\nname = 'conin$'\n",
		"url = 'http://h/x'\n[headers]\nIf-None-Match = 'x'\nProxy-Authorization = 'y'\n",
		"url = 'http://h/x'\n[headers]\nX = \"a\u0085b\"\n",
		// Links without a url: valid ones in every form, and ones missing
		// each of sha256, name and size or giving mirrors or headers.
		"name = 'a.iso'\nsize = 12\nsha256 = '" + hashUpper + "'\n",
		"sha256 = \"" + hashLower + "\"\nsize = 1\nname = \"Ärger 日本.iso\"\n",
		"dragon://?name=a.iso&size=12&sha256=" + hashLower + "\n",
		"\n dragon:?sha256=" + hashUpper + "&size=7&name=a%20b.iso\n",
		"name = 'a.iso'\nsize = 12\n",
		"size = 12\nsha256 = '" + hashLower + "'\n",
		"name = 'a.iso'\nsha256 = '" + hashLower + "'\n",
		"name = 'a.iso'\nsize = 12\nsha256 = '" + hashLower + "'\nmirrors = ['http://m/x']\n",
		"name = 'a.iso'\nsize = 12\nsha256 = '" + hashLower + "'\n[headers]\nCookie = 'a=b'\n",
		"headers.Cookie = 'a=b'\nname = 'a.iso'\n",
		"url = ''\nname = 'a.iso'\nsize = 12\nsha256 = '" + hashLower + "'\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := Parse(data)
		if err != nil {
			if !reflect.DeepEqual(l, Link{}) {
				t.Fatalf("Parse returned %#v with error %v", l, err)
			}
			return
		}
		if err := l.Validate(); err != nil {
			t.Fatalf("Parse accepted an invalid link: %v\n%#v", err, l)
		}
		checkOriginRule(t, l)
		checkRoundTrip(t, l)
	})
}

// FuzzParseURI is FuzzParse for dragon:// links.
func FuzzParseURI(f *testing.F) {
	seeds := []string{
		"dragon://?url=https://example.com/a.iso",
		"dragon:?url=https%3A%2F%2Fh%2Fx&name=a%20b&size=3&sha256=" + hashLower,
		"dragon://?url=https://h/x&mirror=http://m/1&mirror=http://m/2&header=Cookie:%20a%3Db&header=X:y",
		"dragon://?url=https://h/x&size=-1",
		"dragon://get?url=x",
		"dragon://?url=https://h/x#y",
		"dragon://?url=https://h/x&name=a%E2%80%8Bb&name=LPT%C2%B3.bin",
		"dragon://?url=https://h/x&name=CONOUT%24.txt",
		"dragon://?url=https://h/x&header=If-Match:%20x&header=Proxy-A:%20y",
		// Links without a url.
		"dragon://?name=a.iso&size=12&sha256=" + hashLower,
		"dragon:?sha256=" + hashUpper + "&name=a%20b.iso&size=1",
		"dragon://?name=a.iso&size=12",
		"dragon://?name=a.iso&sha256=" + hashLower,
		"dragon://?size=12&sha256=" + hashLower,
		"dragon://?name=a.iso&size=12&sha256=" + hashLower + "&mirror=http://m/x",
		"dragon://?name=a.iso&size=12&sha256=" + hashLower + "&header=Cookie:%20a%3Db",
		"dragon://?url=&name=a.iso&size=12&sha256=" + hashLower,
		"dragon://",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseURI(s)
		if err != nil {
			if !reflect.DeepEqual(l, Link{}) {
				t.Fatalf("ParseURI returned %#v with error %v", l, err)
			}
			return
		}
		if err := l.Validate(); err != nil {
			t.Fatalf("ParseURI accepted an invalid link: %v\n%#v", err, l)
		}
		checkOriginRule(t, l)
		checkRoundTrip(t, l)
	})
}

// checkOriginRule checks, apart from Validate, that an accepted link has a
// url or else all of sha256, name and size, and no mirrors or headers.
func checkOriginRule(t *testing.T, l Link) {
	t.Helper()
	if l.HasOrigin() {
		return
	}
	if l.SHA256 == "" || l.Name == "" || l.Size <= 0 || len(l.Mirrors) > 0 || len(l.Headers) > 0 {
		t.Fatalf("accepted a link without a url that is not sha256, name and size alone: %#v", l)
	}
}
