package discover

import (
	"strings"
	"testing"
)

func TestTXTRoundTrip(t *testing.T) {
	for _, s := range []Service{
		{NodeID: "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567ABCDEFGHIJKLMNOPQRST", Name: "lab-pc-3", RoomHint: "0a1f", Version: 1},
		{NodeID: "x", Name: "", Lending: true, RoomHint: "ffff", Version: 65535},
		{NodeID: "n0de", Name: "Zoë’s laptop 🐉", Lending: true, RoomHint: "1234", Version: 2},
	} {
		got, err := decodeTXT(encodeTXT(s))
		if err != nil {
			t.Errorf("decode(encode(%+v)): %v", s, err)
			continue
		}
		if got != s {
			t.Errorf("decode(encode(%+v)) = %+v", s, got)
		}
	}
}

func TestDecodeTXT(t *testing.T) {
	base := []string{"v=1", "id=N1", "room=abcd", "lend=1", "name=box"}
	want := Service{NodeID: "N1", Name: "box", Lending: true, RoomHint: "abcd", Version: 1}
	with := func(fields ...string) []string {
		out := append([]string(nil), fields...)
		return append(out, base...) // earlier fields win over the base ones
	}
	without := func(key string) []string {
		var out []string
		for _, f := range base {
			if !strings.HasPrefix(f, key+"=") {
				out = append(out, f)
			}
		}
		return out
	}
	for _, c := range []struct {
		name   string
		fields []string
		want   Service // zero: an error is expected
	}{
		{"complete", base, want},
		{"first occurrence wins", with("lend=0"), Service{NodeID: "N1", Name: "box", RoomHint: "abcd", Version: 1}},
		{"keys ignore case", []string{"V=1", "ID=N1", "Room=abcd", "LEND=1", "Name=box"}, want},
		{"room hint lowered", with("room=ABCD"), want},
		{"unknown keys and bare words ignored", with("x=y", "flag", "=v"), want},
		{"name may be missing", without("name"), Service{NodeID: "N1", Lending: true, RoomHint: "abcd", Version: 1}},
		{"name cleaned", with("name=\x1bbox\u202e\x00"), want},
		{"value keeps later equals signs", with("name=a=b"), Service{NodeID: "N1", Name: "a=b", Lending: true, RoomHint: "abcd", Version: 1}},
		{"no id", without("id"), Service{}},
		{"empty id", with("id="), Service{}},
		{"id with a dot", with("id=a.b"), Service{}},
		{"id too long", with("id=" + strings.Repeat("A", 64)), Service{}},
		{"no version", without("v"), Service{}},
		{"version zero", with("v=0"), Service{}},
		{"version too big", with("v=65536"), Service{}},
		{"version with sign", with("v=+1"), Service{}},
		{"version not a number", with("v=one"), Service{}},
		{"no room", without("room"), Service{}},
		{"room too short", with("room=abc"), Service{}},
		{"room not hex", with("room=abcg"), Service{}},
		{"no lend", without("lend"), Service{}},
		{"lend not 0 or 1", with("lend=yes"), Service{}},
		{"nothing", nil, Service{}},
	} {
		got, err := decodeTXT(c.fields)
		switch {
		case c.want == (Service{}) && err == nil:
			t.Errorf("%s: decode(%q) = %+v, want an error", c.name, c.fields, got)
		case c.want != (Service{}) && err != nil:
			t.Errorf("%s: decode(%q): %v", c.name, c.fields, err)
		case c.want != (Service{}) && got != c.want:
			t.Errorf("%s: decode(%q) = %+v, want %+v", c.name, c.fields, got, c.want)
		}
	}
}

func TestCleanName(t *testing.T) {
	long := strings.Repeat("é", maxName) // 2 bytes each
	for _, c := range []struct{ in, want string }{
		{"plain", "plain"},
		{"  padded\t", "padded"},
		{"tab\tnew\nline", "tabnewline"},
		{"evil\u202etxt.exe", "eviltxt.exe"},
		{"bad \xff byte", "bad \uFFFD byte"},
		{long, long[:maxName]},
		{strings.Repeat("a", maxName-1) + "é", strings.Repeat("a", maxName-1)}, // never half a character
	} {
		if got := cleanName(c.in); got != c.want {
			t.Errorf("cleanName(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func FuzzDecodeTXT(f *testing.F) {
	f.Add("v=1\x00id=N1\x00room=abcd\x00lend=1\x00name=box")
	f.Add("V=2\x00ID=zz\x00ROOM=FFFF\x00lend=0\x00lend=1\x00name=\u202e\xff")
	f.Add("id=\x00v=\x00room=\x00=\x00x")
	f.Fuzz(func(t *testing.T, in string) {
		s, err := decodeTXT(strings.Split(in, "\x00"))
		if err != nil {
			return
		}
		if !validNodeID(s.NodeID) || s.Version < 1 || s.Version > maxVersion || s.Name != cleanName(s.Name) {
			t.Fatalf("decoded an invalid service %+v", s)
		}
		if h, ok := parseRoomHint(s.RoomHint); !ok || h != s.RoomHint {
			t.Fatalf("decoded room hint %q is not 4 lowercase hex digits", s.RoomHint)
		}
		again, err := decodeTXT(encodeTXT(s))
		if err != nil || again != s {
			t.Fatalf("re-encoding %+v gave %+v, %v", s, again, err)
		}
	})
}
