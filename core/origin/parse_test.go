package origin

import (
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/dragonload/dragonload/core/names"
)

func TestParseContentRange(t *testing.T) {
	cases := []struct {
		in   string
		want contentRange
		bad  bool
	}{
		{in: "bytes 0-0/1", want: contentRange{0, 0, 1}},
		{in: "bytes 100-199/1000", want: contentRange{100, 199, 1000}},
		{in: "Bytes 1-2/3", want: contentRange{1, 2, 3}},
		{in: "bytes 5-9/*", want: contentRange{5, 9, -1}},
		{in: "bytes */1000", want: contentRange{-1, -1, 1000}},
		{in: "bytes */0", want: contentRange{-1, -1, 0}},
		{in: "bytes 9223372036854775806-9223372036854775806/9223372036854775807", want: contentRange{9223372036854775806, 9223372036854775806, 9223372036854775807}},
		{in: "", bad: true},
		{in: "bytes", bad: true},
		{in: "bytes  0-0/1", bad: true},
		{in: "bytes=0-0/1", bad: true},
		{in: "items 0-0/1", bad: true},
		{in: "bytes 0-0", bad: true},
		{in: "bytes 0/1", bad: true},
		{in: "bytes */*", bad: true},
		{in: "bytes 2-1/5", bad: true},
		{in: "bytes 0-5/5", bad: true},
		{in: "bytes -1-5/10", bad: true},
		{in: "bytes +1-5/10", bad: true},
		{in: "bytes 1 -5/10", bad: true},
		{in: "bytes 0-0/1 ", bad: true},
		{in: "bytes 0x1-2/3", bad: true},
		{in: "bytes 0-99999999999999999999/1", bad: true},
	}
	for _, c := range cases {
		got, err := parseContentRange(c.in)
		switch {
		case c.bad && err == nil:
			t.Errorf("parseContentRange(%q) = %+v, want an error", c.in, got)
		case !c.bad && err != nil:
			t.Errorf("parseContentRange(%q): %v", c.in, err)
		case !c.bad && got != c.want:
			t.Errorf("parseContentRange(%q) = %+v, want %+v", c.in, got, c.want)
		}
	}
}

func FuzzParseContentRange(f *testing.F) {
	for _, s := range []string{"bytes 0-0/1", "bytes 5-9/*", "bytes */10", "bytes 1-0/2", "bytes 00-01/02", "BYTES 1-1/9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cr, err := parseContentRange(s)
		if err != nil {
			return
		}
		switch {
		case cr.first < 0 && (cr.last != -1 || cr.total < 0):
			t.Fatalf("%q: unsatisfied form %+v", s, cr)
		case cr.first >= 0 && (cr.last < cr.first || (cr.total >= 0 && cr.last >= cr.total)):
			t.Fatalf("%q: impossible range %+v", s, cr)
		}
		// What parses formats back to something that parses the same.
		again, err := parseContentRange(cr.String())
		if err != nil || again != cr {
			t.Fatalf("%q → %+v → %q → %+v, %v", s, cr, cr.String(), again, err)
		}
	})
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		in   string
		want time.Duration
		at   time.Time
		ok   bool
	}{
		{"0", 0, now, true},
		{"120", 2 * time.Minute, now.Add(2 * time.Minute), true},
		{" 5 ", 5 * time.Second, now.Add(5 * time.Second), true},
		{"600", 10 * time.Minute, now.Add(10 * time.Minute), true},
		{"601", 10 * time.Minute, now.Add(601 * time.Second), true},
		{"86400", 10 * time.Minute, now.Add(24 * time.Hour), true},
		{"1000000000", 10 * time.Minute, time.Date(2057, 2, 7, 13, 46, 40, 0, time.UTC), true},
		// Beyond a Duration's 292 years and beyond year 9999.
		{"10000000000", 10 * time.Minute, time.Date(2342, 4, 22, 5, 46, 40, 0, time.UTC), true},
		{"9223372036854775807", 10 * time.Minute, maxRetryAt, true},
		{"99999999999999999999999", 10 * time.Minute, maxRetryAt, true},
		{"Sun, 01 Jun 2025 12:00:30 GMT", 30 * time.Second, now.Add(30 * time.Second), true},
		{"Sunday, 01-Jun-25 12:01:00 GMT", time.Minute, now.Add(time.Minute), true},
		{"Sun Jun  1 12:02:00 2025", 2 * time.Minute, now.Add(2 * time.Minute), true},
		{"Sun, 01 Jun 2025 11:00:00 GMT", 0, now, true},
		{"Mon, 01 Jun 2026 12:00:00 GMT", 10 * time.Minute, time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC), true},
		{"Fri, 01 Jan 2100 00:00:00 GMT", 10 * time.Minute, time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC), true},
		{"Thu, 01 Jan 1970 00:00:00 GMT", 0, now, true},
		{"", 0, time.Time{}, false},
		{"-5", 0, time.Time{}, false},
		{"1.5", 0, time.Time{}, false},
		{"soon", 0, time.Time{}, false},
		{"Fri, 01 Jan 2100 00:00:00", 0, time.Time{}, false},
	}
	for _, c := range cases {
		got, at, ok := parseRetryAfter(c.in, now)
		if got != c.want || !at.Equal(c.at) || ok != c.ok {
			t.Errorf("parseRetryAfter(%q) = %s, %s, %v; want %s, %s, %v", c.in, got, at, ok, c.want, c.at, c.ok)
		}
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"0", "120", "Sun, 01 Jun 2025 12:00:30 GMT", "Sun Jun  1 12:02:00 2025", "x", "99999999999"} {
		f.Add(s)
	}
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		d, at, ok := parseRetryAfter(s, now)
		if d < 0 || d > maxRetryAfter || (!ok && (d != 0 || !at.IsZero())) {
			t.Fatalf("parseRetryAfter(%q) = %s, %s, %v", s, d, at, ok)
		}
		// The uncapped moment is never before the capped wait ends.
		if ok && (at.Before(now.Add(d)) || at.After(maxRetryAt)) {
			t.Fatalf("parseRetryAfter(%q) = %s, %s: moment outside [now+wait, year 9999]", s, d, at)
		}
	})
}

func TestWeakETag(t *testing.T) {
	cases := map[string]string{
		`W/"abc"`:   `W/"abc"`,
		` W/"abc" `: `W/"abc"`,
		`W/""`:      `W/""`,
		`"abc"`:     "",
		`w/"abc"`:   "",
		`W/abc`:     "",
		`W/ "abc"`:  "",
		`W/`:        "",
		`W/"a"b"`:   "",
		``:          "",
	}
	for in, want := range cases {
		if got := weakETag(in); got != want {
			t.Errorf("weakETag(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestStrongETag(t *testing.T) {
	cases := map[string]string{
		`"abc"`:      `"abc"`,
		` "abc" `:    `"abc"`,
		`""`:         `""`,
		`W/"abc"`:    "",
		`abc`:        "",
		`"a"b"`:      "",
		`"abc`:       "",
		"\"a\x01b\"": "",
		``:           "",
	}
	for in, want := range cases {
		if got := strongETag(in); got != want {
			t.Errorf("strongETag(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFileName(t *testing.T) {
	cases := []struct {
		disposition, url, want string
	}{
		{"", "http://x/dir/ubuntu.iso", "ubuntu.iso"},
		{"", "http://x/dir/a%20b.iso?x=1", "a b.iso"},
		{"", "http://x/", "download"},
		{"", "http://x", "download"},
		{"", "http://x/..", "download"},
		{"", "http://x/a/%2e%2e", "download"},
		{"", "http://x/a/..%2f..%2fetc%2fpasswd", "passwd"},
		{`attachment; filename="report.pdf"`, "http://x/dl", "report.pdf"},
		{`attachment; filename=plain.txt`, "http://x/dl", "plain.txt"},
		{`attachment; filename=my file.zip`, "http://x/dl", "my file.zip"},
		{`attachment; filename*=UTF-8''%E2%82%AC%20rates.csv`, "http://x/dl", "€ rates.csv"},
		{`attachment; filename="fallback.txt"; filename*=UTF-8''na%C3%AFve.txt`, "http://x/dl", "naïve.txt"},
		{`attachment; filename="../../.bashrc"`, "http://x/dl", "bashrc"},
		{`attachment; filename="C:\Windows\evil.exe"`, "http://x/dl", "evil.exe"},
		{`attachment; filename=".."`, "http://x/dl/real.bin", "real.bin"},
		{`attachment; filename="a\"b.txt"`, "http://x/dl", "a_b.txt"},
		{`attachment; filename="  "`, "http://x/dl/real.bin", "real.bin"},
		{`inline`, "http://x/dl/real.bin", "real.bin"},
		{`attachment; filename="CON.txt"`, "http://x/dl", "_CON.txt"},
	}
	for _, c := range cases {
		u, err := url.Parse(c.url)
		if err != nil {
			t.Fatal(err)
		}
		if got := fileName(c.disposition, u); got != c.want {
			t.Errorf("fileName(%q, %s) = %q, want %q", c.disposition, c.url, got, c.want)
		}
	}
}

func TestSanitizeName(t *testing.T) {
	cases := []struct{ in, want string }{
		{"file.iso", "file.iso"},
		{"a/b/c.iso", "c.iso"},
		{`a\b\c.iso`, "c.iso"},
		{"..", ""},
		{".", ""},
		{"...hidden", "hidden"},
		{"a..b", "a.b"},
		{"name. ", "name"},
		{"x\x00y\x1fz\x7f.bin", "xyz.bin"},
		{"evil\u202Egpj.exe", "evilgpj.exe"},
		{"a<b>c:d|e?f*g", "a_b_c_d_e_f_g"},
		{"\xff\xfe.bin", "_.bin"},
		{"nul", "_nul"},
		{"com1.tar.gz", "_com1.tar.gz"},
		{"console.txt", "console.txt"},
		{"COM0.txt", "_COM0.txt"},
		{"lpt\u00B9.bin", "_lpt\u00B9.bin"},
		{"CONIN$", "_CONIN$"},
		{"aux .log", "_aux .log"},
		{"a\u200Bb\u2060c\uFEFF\u3164.iso", "abc.iso"},
		{"a\u2028b.iso", "ab.iso"},
		{strings.Repeat("é", 150) + ".iso", strings.Repeat("é", 98) + ".iso"},
		{strings.Repeat("a", 300), strings.Repeat("a", 200)},
	}
	for _, c := range cases {
		if got := sanitizeName(c.in); got != c.want {
			t.Errorf("sanitizeName(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// checkSafeName fails t if name could escape a folder or upset a file
// system.
func checkSafeName(t *testing.T, input, name string) {
	t.Helper()
	switch {
	case name == "":
		t.Fatalf("%q gave an empty name", input)
	case len(name) > maxNameLen+1:
		t.Fatalf("%q gave a %d-byte name", input, len(name))
	case !utf8.ValidString(name):
		t.Fatalf("%q gave invalid UTF-8 %q", input, name)
	case strings.ContainsAny(name, `/\<>:"|?*`), strings.Contains(name, ".."):
		t.Fatalf("%q gave unsafe name %q", input, name)
	case strings.HasPrefix(name, "."), strings.HasSuffix(name, "."), strings.HasSuffix(name, " "), strings.HasPrefix(name, " "):
		t.Fatalf("%q gave name %q with a leading or trailing dot or space", input, name)
	}
	for _, r := range name {
		if names.IsInvisible(r) {
			t.Fatalf("%q gave name %q with invisible character %U", input, name, r)
		}
	}
	if names.IsWindowsDeviceName(name) {
		t.Fatalf("%q gave device name %q", input, name)
	}
}

func FuzzDispositionName(f *testing.F) {
	for _, s := range []string{
		`attachment; filename="a.txt"`,
		`attachment; filename*=UTF-8''%E2%82%AC.txt`,
		`attachment; filename=my file.zip`,
		`attachment; filename="..\..\x"; filename*=utf-8''..%2F..%2Fy`,
		`inline; filename="\"quoted\""`,
		`form-data; name="f"; filename*0="a"; filename*1="b"`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if name := dispositionName(s); name != "" {
			checkSafeName(t, s, name)
		}
		u := &url.URL{Scheme: "http", Host: "x", Path: "/" + s}
		checkSafeName(t, s, fileName(s, u))
	})
}

func FuzzValidateURL(f *testing.F) {
	for _, s := range []string{"http://example.com/a", "https://[::1]:443/", "ftp://x", "http://:80", "http://a:99999/", "//x/y", "http:x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ValidateURL(s)
		if err != nil {
			if Retryable(err) {
				t.Fatalf("ValidateURL(%q): retryable error %v", s, err)
			}
			return
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
			t.Fatalf("ValidateURL(%q) accepted %#v", s, u)
		}
		// What was accepted must stay acceptable after a round trip, as
		// Info.URL is fed back into Range and Whole.
		if _, err := ValidateURL(u.String()); err != nil {
			t.Fatalf("ValidateURL(%q) ok, but not its String %q: %v", s, u.String(), err)
		}
	})
}

func FuzzValidateHeaders(f *testing.F) {
	f.Add("X-A", "b")
	f.Add("Host", "x")
	f.Add("X-A", "a\r\nb")
	f.Fuzz(func(t *testing.T, name, value string) {
		if ValidateHeaders(map[string]string{name: value}) != nil {
			return
		}
		if strings.ContainsAny(name+value, "\r\n\x00") || !isToken(name) || forbiddenHeaders[strings.ToLower(name)] {
			t.Fatalf("ValidateHeaders accepted %q: %q", name, value)
		}
	})
}
