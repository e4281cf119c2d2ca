// Package names holds the rules for names that come from elsewhere and end
// up in front of a user or on a disk: peer display names, which any room
// member chooses, and file names, which links and origins choose.
//
// Two kinds of character are the trouble. Invisible ones (controls, format
// characters such as the bidirectional overrides and zero-width spaces,
// line separators, default-ignorable fillers) make one name look like
// another: "gpj.exe" can display as "exe.jpg", a peer can call itself
// "this machine" followed by a zero-width space. Windows device names
// (CON, NUL.txt, COM¹, CONIN$ ...) open a device instead of a file.
package names

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxDisplayName is the longest name SanitizeDisplayName returns, in bytes.
// It is enough for any real machine name and keeps a hostile one from
// pushing everything else off a table row or a log line.
const MaxDisplayName = 64

// SanitizeDisplayName returns s as it is safe to show: bytes that are not
// UTF-8 become U+FFFD, every invisible character (see IsInvisible) is
// removed, surrounding white space is trimmed, and the result is cut to
// MaxDisplayName bytes on a rune boundary. It returns "" when nothing
// visible is left; the caller then shows something else (a short node ID).
func SanitizeDisplayName(s string) string {
	// A name is tiny; refuse to walk megabytes to make one. Four times the
	// cap leaves room for invisible runes that are dropped below.
	if len(s) > 4*MaxDisplayName {
		s = s[:4*MaxDisplayName]
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if IsInvisible(r) {
			return -1
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if len(s) > MaxDisplayName {
		cut := MaxDisplayName
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = strings.TrimSpace(s[:cut])
	}
	return s
}

// IsInvisible reports the characters that draw nothing themselves but
// change or hide what is around them, so that one name can pass for
// another: control characters (Cc), format characters (Cf: the
// bidirectional marks, embeddings, overrides and isolates U+061C, U+200E,
// U+200F, U+202A–U+202E, U+2066–U+2069, zero-width spaces and joiners,
// U+FEFF, tag characters), the line and paragraph separators (Zl, Zp) and
// the other default-ignorable code points (Hangul fillers U+115F, U+1160,
// U+3164, U+FFA0, the combining grapheme joiner U+034F ...). Variation
// selectors are not included: emoji need them and they cannot reorder
// text.
func IsInvisible(r rune) bool {
	return unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp, unicode.Other_Default_Ignorable_Code_Point)
}

// IsBidiControl reports the invisible characters that change the display
// order of text: U+061C, U+200E, U+200F, U+202A–U+202E and U+2066–U+2069.
// They are a subset of IsInvisible, named separately because they are the
// ones that make "exe.jpg" show as "gpj.exe".
func IsBidiControl(r rune) bool {
	return r == 0x061C || r == 0x200E || r == 0x200F || (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069)
}

// IsWindowsDeviceName reports whether Windows opens a device rather than a
// file for name (one path element): CON, PRN, AUX, NUL, COM0–COM9,
// LPT0–LPT9, COM¹ COM² COM³ LPT¹ LPT² LPT³ (superscript digits), CONIN$
// and CONOUT$, in any case, with or without an extension ("nul.txt",
// "con.tar.gz") and with trailing spaces or dots ("CON .txt", "aux.").
// Windows matches the part before the first dot with trailing spaces
// removed, so that is what is compared here.
func IsWindowsDeviceName(name string) bool {
	base, _, _ := strings.Cut(name, ".")
	base = strings.TrimRight(base, " ")
	switch upperASCII(base) {
	case "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$":
		return true
	}
	if len(base) < 4 {
		return false
	}
	switch upperASCII(base[:3]) {
	case "COM", "LPT":
	default:
		return false
	}
	switch base[3:] {
	case "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "\u00B9", "\u00B2", "\u00B3":
		return true
	}
	return false
}

// upperASCII upper-cases ASCII letters only: Windows compares device names
// in ASCII, and Unicode case mapping would turn "ı" into "I".
func upperASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - ('a' - 'A')
		}
	}
	return string(b)
}
