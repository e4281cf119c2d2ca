package link

import (
	"fmt"
	"strings"
	"testing"

	"github.com/dragonload/dragonload/core/origin"
)

// TestNameRules covers the name rules that keep a link from planting a
// file that looks like another or opens a Windows device.
func TestNameRules(t *testing.T) {
	cases := []struct {
		name string
		want string // "" = valid
	}{
		{"report.pdf", ""},
		{"Ärger – 日本 🐉.iso", ""},
		{"a\u00A0b.iso", ""},           // a no-break space is visible as a gap
		{"❤\uFE0F.txt", ""},            // variation selectors belong to emoji
		{"console.log", ""},            // starts with CON but is not CON
		{"COM10.txt", ""},              // only one digit makes a device
		{"x.CON", ""},                  // only the part before the first dot counts
		{"nul-report.txt", ""},         // likewise
		{"\uFF23\uFF2F\uFF2E.txt", ""}, // fullwidth letters are not a device
		{"COM\u2074.txt", ""},          // only superscripts 1-3 are
		{"a\u200Bb.iso", "name must not contain invisible characters (U+200B)"},
		{"\u200Db.iso", "name must not contain invisible characters (U+200D)"},
		{"a\u2060b", "name must not contain invisible characters (U+2060)"},
		{"a\uFEFFb", "name must not contain invisible characters (U+FEFF)"},
		{"ad\u00ADmin.exe", "name must not contain invisible characters (U+00AD)"},
		{"a\U000E0041.txt", "name must not contain invisible characters (U+E0041)"},
		{"a\u2028b", "name must not contain invisible characters (U+2028)"},
		{"\u3164.txt", "name must not contain invisible characters (U+3164)"},
		{"a\u034Fb", "name must not contain invisible characters (U+034F)"},
		{"a\u061Cb", "name must not contain text-direction control characters"},
		{"a\u200Eb", "name must not contain text-direction control characters"},
		{"a\u2066b\u2069", "name must not contain text-direction control characters"},
		{"CON", `name "CON" is a reserved device name on Windows`},
		{"con.txt", `name "con.txt" is a reserved device name on Windows`},
		{"Aux.tar.gz", `name "Aux.tar.gz" is a reserved device name on Windows`},
		{"PRN .txt", `name "PRN .txt" is a reserved device name on Windows`},
		{"NUL ..txt", `name "NUL ..txt" is a reserved device name on Windows`},
		{"COM0", `name "COM0" is a reserved device name on Windows`},
		{"com9.log", `name "com9.log" is a reserved device name on Windows`},
		{"LPT0.bin", `name "LPT0.bin" is a reserved device name on Windows`},
		{"COM\u00B9.txt", "name \"COM\u00B9.txt\" is a reserved device name on Windows"},
		{"lpt\u00B2", "name \"lpt\u00B2\" is a reserved device name on Windows"},
		{"LPT\u00B3.iso", "name \"LPT\u00B3.iso\" is a reserved device name on Windows"},
		{"CONIN$", `name "CONIN$" is a reserved device name on Windows`},
		{"conout$.txt", `name "conout$.txt" is a reserved device name on Windows`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := Link{URL: "https://h/x", Name: tc.name}.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Validate refused name %q: %v", tc.name, err)
			case tc.want != "" && err == nil:
				t.Fatalf("Validate accepted name %q, want %q", tc.name, tc.want)
			case tc.want != "":
				checkMessage(t, err, tc.want)
			}
		})
	}
}

// TestHeaderRules covers the header rules shared with the origin client.
func TestHeaderRules(t *testing.T) {
	long := strings.Repeat("X", 129)
	big := map[string]string{}
	for i := range 5 {
		big[fmt.Sprintf("X-%d", i)] = strings.Repeat("v", 4000)
	}
	cases := []struct {
		name string
		h    map[string]string
		want string // "" = valid
	}{
		{"usual", map[string]string{"Authorization": "Bearer t", "Cookie": "a=b", "Referer": "https://x/", "User-Agent": "u"}, ""},
		{"obs-text value", map[string]string{"X-Name": "Jürgen €"}, ""},
		{"name of 128 bytes", map[string]string{strings.Repeat("X", 128): "v"}, ""},
		{"If-None-Match", map[string]string{"If-None-Match": `"x"`}, `header "If-None-Match" is set by Dragonload itself and cannot be given in a link`},
		{"If-Match", map[string]string{"if-match": `"x"`}, `header "if-match" is set by Dragonload itself and cannot be given in a link`},
		{"If-Modified-Since", map[string]string{"If-Modified-Since": "Mon, 01 Jan 2024 00:00:00 GMT"}, `header "If-Modified-Since" is set by Dragonload itself and cannot be given in a link`},
		{"If-Unmodified-Since", map[string]string{"If-Unmodified-Since": "x"}, `header "If-Unmodified-Since" is set by Dragonload itself and cannot be given in a link`},
		{"Proxy-Authorization", map[string]string{"Proxy-Authorization": "Basic x"}, `header "Proxy-Authorization" is for proxies and cannot be given in a link (Dragonload uses no proxy)`},
		{"Proxy-anything", map[string]string{"proxy-x": "1"}, `header "proxy-x" is for proxies and cannot be given in a link (Dragonload uses no proxy)`},
		{"name too long", map[string]string{long: "v"}, `header name "` + long[:32] + `..." is longer than 128 bytes`},
		{"name with colon", map[string]string{"A:B": "v"}, `header name "A:B" is not valid (letters, digits and !#$%&'*+-.^_` + "`" + `|~ only)`},
		{"name with non-ASCII", map[string]string{"Ä": "v"}, `header name "Ä" is not valid (letters, digits and !#$%&'*+-.^_` + "`" + `|~ only)`},
		{"value with NUL", map[string]string{"A": "a\x00b"}, `header "A": value must not contain control characters`},
		{"value with DEL", map[string]string{"A": "a\x7fb"}, `header "A": value must not contain control characters`},
		{"value with lone CR", map[string]string{"A": "a\rb"}, `header "A": value must be one line (no CR or LF)`},
		{"all together too big", big, "headers add up to 20015 bytes; at most 16384 are allowed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := Link{URL: "https://h/x", Headers: tc.h}.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Validate refused %v: %v", tc.h, err)
			case tc.want != "" && err == nil:
				t.Fatalf("Validate accepted %v, want %q", tc.h, tc.want)
			case tc.want != "":
				checkMessage(t, err, tc.want)
			}
		})
	}
}

// TestHeadersAgreeWithOrigin checks that no link passes Validate whose
// headers the origin client would then refuse: such a link would parse,
// start a download and fail on its first request.
func TestHeadersAgreeWithOrigin(t *testing.T) {
	sets := []map[string]string{
		{"Authorization": "Bearer t"},
		{"Cookie": "a=b; c=d"},
		{"X-Tab": "a\tb"},
		{"X-UTF8": "Grüße"},
		{strings.Repeat("N", 128): "v"},
		{strings.Repeat("N", 129): "v"},
		{"X-Big": strings.Repeat("v", 4000)},
	}
	for _, n := range []string{
		"Host", "Range", "If-Range", "If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since",
		"Content-Length", "Transfer-Encoding", "TE", "Trailer", "Connection", "Keep-Alive", "Upgrade",
		"Expect", "Accept-Encoding", "Proxy-Connection", "Proxy-Authorization", "Proxy-Foo",
	} {
		sets = append(sets, map[string]string{n: "x"})
	}
	big := map[string]string{}
	for i := range 5 {
		big[fmt.Sprintf("X-%d", i)] = strings.Repeat("v", 3500)
	}
	sets = append(sets, big)
	for _, h := range sets {
		linkErr := Link{URL: "https://h/x", Headers: h}.Validate()
		originErr := origin.ValidateHeaders(h)
		if linkErr == nil && originErr != nil {
			t.Errorf("a link with headers %.80v passes Validate but the origin client refuses it: %v", h, originErr)
		}
	}
}

// TestNameAndHeaderRulesInForms checks that the new rules reach both
// parsers, with the line number in TOML.
func TestNameAndHeaderRulesInForms(t *testing.T) {
	toml := []struct{ in, want string }{
		{"url = 'http://h/x'\nname = \"a\u200Bb.iso\"\n", "line 2: name must not contain invisible characters (U+200B)"},
		{"url = 'http://h/x'\nname = 'COM\u00B9.txt'\n", "line 2: name \"COM\u00B9.txt\" is a reserved device name on Windows"},
		{"url = 'http://h/x'\nname = 'CONOUT$'\n", `line 2: name "CONOUT$" is a reserved device name on Windows`},
		{"url = 'http://h/x'\n[headers]\nIf-None-Match = '\"x\"'\n", `line 3: header "If-None-Match" is set by Dragonload itself and cannot be given in a link`},
		{"url = 'http://h/x'\n[headers]\nProxy-Authorization = 'x'\n", `line 3: header "Proxy-Authorization" is for proxies and cannot be given in a link (Dragonload uses no proxy)`},
	}
	for _, tc := range toml {
		if l, err := Parse([]byte(tc.in)); err == nil {
			t.Errorf("Parse(%q) = %+v, want %q", tc.in, l, tc.want)
		} else if err.Error() != tc.want {
			t.Errorf("Parse(%q): %q, want %q", tc.in, err, tc.want)
		}
	}
	uri := []struct{ in, want string }{
		{"dragon://?url=https://h/x&name=a%E2%80%8Bb.iso", "name must not contain invisible characters (U+200B)"},
		{"dragon://?url=https://h/x&name=a%E2%80%AEgpj.exe", "name must not contain text-direction control characters"},
		{"dragon://?url=https://h/x&name=lpt0.txt", `name "lpt0.txt" is a reserved device name on Windows`},
		{"dragon://?url=https://h/x&header=If-Match:%20x", `header "If-Match" is set by Dragonload itself and cannot be given in a link`},
	}
	for _, tc := range uri {
		if l, err := ParseURI(tc.in); err == nil {
			t.Errorf("ParseURI(%q) = %+v, want %q", tc.in, l, tc.want)
		} else if err.Error() != tc.want {
			t.Errorf("ParseURI(%q): %q, want %q", tc.in, err, tc.want)
		}
	}
}

// TestReservedHeader: ReservedHeader names exactly the headers Validate
// refuses as the fetcher's, so that a program forwarding a browser's
// headers can drop them and keep the rest.
func TestReservedHeader(t *testing.T) {
	for _, n := range []string{"Host", "range", "IF-NONE-MATCH", "If-Modified-Since", "If-Match", "If-Unmodified-Since", "If-Range",
		"Accept-Encoding", "Connection", "Keep-Alive", "TE", "Trailer", "Transfer-Encoding", "Upgrade", "Expect",
		"Content-Length", "Proxy-Connection", "proxy-authorization", "Proxy-X"} {
		if !ReservedHeader(n) {
			t.Errorf("ReservedHeader(%q) = false", n)
		}
		if (Link{URL: "https://h/x", Headers: map[string]string{n: "v"}}).Validate() == nil {
			t.Errorf("Validate accepted header %q", n)
		}
	}
	for _, n := range []string{"Authorization", "Cookie", "Referer", "User-Agent", "Accept", "X-Proxy", "Proxy"} {
		if ReservedHeader(n) {
			t.Errorf("ReservedHeader(%q) = true", n)
		}
		if err := (Link{URL: "https://h/x", Headers: map[string]string{n: "v"}}).Validate(); err != nil {
			t.Errorf("Validate refused header %q: %v", n, err)
		}
	}
}
