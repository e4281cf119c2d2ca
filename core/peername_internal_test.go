package core

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestDefaultNameShapes: the default name is always a usable name (checkName
// accepts it), ends with the id's first four hex digits, and keeps as much
// of the host name as fits.
func TestDefaultNameShapes(t *testing.T) {
	id := []byte{0x3f, 0xa2, 0x99}
	cases := []struct{ host, want string }{
		{"vm", "vm-3fa2"},
		{"", "dragonload-3fa2"},
		{"lab pc\t7", "labpc7-3fa2"},
		{"\xff\xfevm", "vm-3fa2"},
		{strings.Repeat("a", 80), strings.Repeat("a", 59) + "-3fa2"},
		{strings.Repeat("é", 40), strings.Repeat("é", 29) + "-3fa2"}, // cut between runes, not inside one
	}
	for _, c := range cases {
		got := defaultName(c.host, id)
		if got != c.want {
			t.Errorf("defaultName(%q) = %q, want %q", c.host, got, c.want)
		}
		if checked, err := checkName(got); err != nil || checked != got || !utf8.ValidString(got) {
			t.Errorf("defaultName(%q) = %q is not a usable name: %v", c.host, got, err)
		}
	}
}
