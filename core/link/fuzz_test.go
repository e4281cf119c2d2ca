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
		checkRoundTrip(t, l)
	})
}
