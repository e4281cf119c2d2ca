package names

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSanitizeDisplayName(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"plain", "alice-laptop", "alice-laptop"},
		{"unicode kept", "Jürgen's 日本 PC 🐉", "Jürgen's 日本 PC 🐉"},
		{"emoji with variation selector kept", "❤\uFE0F box", "❤\uFE0F box"},
		{"surrounding space", "  bob \t", "bob"},
		{"newline and tab", "evil\nname\tx", "evilnamex"},
		{"escape sequence", "\x1b[31mred\x1b[0m", "[31mred[0m"},
		{"C1 control", "a\u0085b\u009bc", "abc"},
		{"DEL", "a\x7fb", "ab"},
		{"right-to-left override", "file\u202Egpj.exe", "filegpj.exe"},
		{"every bidi control", "a\u061C\u200E\u200F\u202A\u202B\u202C\u202D\u202E\u2066\u2067\u2068\u2069b", "ab"},
		{"zero-width characters", "this\u200B machine\u200C\u200D\u2060\uFEFF", "this machine"},
		{"soft hyphen", "ad\u00ADmin", "admin"},
		{"tag characters", "ok\U000E0041\U000E0042", "ok"},
		{"hangul filler", "\u3164\u115F\u1160", ""},
		{"line separator", "a\u2028b\u2029c", "abc"},
		{"invisible only", "\u200B\u202E\u2066", ""},
		{"space after removal trimmed", "\u200B bob \u200B", "bob"},
		{"invalid UTF-8", "a\xffb", "a\uFFFDb"},
		{"empty", "", ""},
		{"exactly the cap", strings.Repeat("a", 64), strings.Repeat("a", 64)},
		{"over the cap", strings.Repeat("a", 65), strings.Repeat("a", 64)},
		// 21 three-byte runes are 63 bytes; the 22nd would end at 66.
		{"cap on a rune boundary", strings.Repeat("日", 30), strings.Repeat("日", 21)},
		{"cap then trim", strings.Repeat("a", 63) + " b", strings.Repeat("a", 63)},
		{"cap counts after removal", strings.Repeat("\u200B", 30) + "name", "name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := SanitizeDisplayName(c.in)
			if got != c.want {
				t.Errorf("SanitizeDisplayName(%q) = %q, want %q", c.in, got, c.want)
			}
			if len(got) > MaxDisplayName || !utf8.ValidString(got) {
				t.Errorf("SanitizeDisplayName(%q) = %q: %d bytes or not UTF-8", c.in, got, len(got))
			}
		})
	}
	// A huge name costs no more than a small one and still yields a name.
	if got := SanitizeDisplayName(strings.Repeat("x", 1<<20)); got != strings.Repeat("x", 64) {
		t.Errorf("a 1 MiB name gave %d bytes", len(got))
	}
}

func TestIsInvisible(t *testing.T) {
	for _, r := range []rune{0, '\t', '\n', 0x7f, 0x85, 0x061C, 0x200B, 0x200E, 0x202E, 0x2066, 0x2069, 0xFEFF, 0xAD, 0x034F, 0x3164, 0x2028, 0xE0001} {
		if !IsInvisible(r) {
			t.Errorf("IsInvisible(%U) = false", r)
		}
	}
	for _, r := range []rune{'a', ' ', 0xA0, 'é', '日', 0xFE0F, 0x1F409, 0xFFFD} {
		if IsInvisible(r) {
			t.Errorf("IsInvisible(%U) = true", r)
		}
	}
	for r := rune(0); r < 0x3000; r++ {
		if IsBidiControl(r) && !IsInvisible(r) {
			t.Errorf("bidi control %U is not invisible", r)
		}
	}
}

func TestIsWindowsDeviceName(t *testing.T) {
	devices := []string{
		"CON", "con", "Con", "PRN", "AUX", "NUL", "nul.txt", "NUL.tar.gz",
		"COM0", "COM1", "com9", "LPT0", "lpt5", "LPT9.log",
		"COM\u00B9", "COM\u00B2", "com\u00B3.txt", "LPT\u00B9", "lpt\u00B2", "LPT\u00B3",
		"CONIN$", "conout$", "CONIN$.txt",
		"CON.", "CON..", "CON ", "CON  .txt", "aux .log", "nul.",
	}
	for _, n := range devices {
		if !IsWindowsDeviceName(n) {
			t.Errorf("IsWindowsDeviceName(%q) = false", n)
		}
	}
	files := []string{
		"", "CONSOLE", "CONX", "ACON", " CON", "COM", "COM10", "LPT", "LPTX", "COM\u2074",
		"COM\u00B9\u00B9", "CONIN", "CONIN$$", "con_t.txt", "nul-ish.txt", "x.CON", "ı", "COM1x",
		"\uFF23\uFF2F\uFF2E", // fullwidth CON: Windows does not map it
	}
	for _, n := range files {
		if IsWindowsDeviceName(n) {
			t.Errorf("IsWindowsDeviceName(%q) = true", n)
		}
	}
}
