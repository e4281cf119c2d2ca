package quicwire

import (
	"regexp"
	"testing"
)

func TestGenerateRoomCode(t *testing.T) {
	shape := regexp.MustCompile(`^[0-9a-hjkmnp-tv-z]{5}(-[0-9a-hjkmnp-tv-z]{5}){3}$`)
	seen := map[string]bool{}
	for range 200 {
		c := GenerateRoomCode()
		if !shape.MatchString(c) {
			t.Fatalf("code %q does not have the generated shape", c)
		}
		if NormalizeRoomCode(c) != c {
			t.Fatalf("code %q changes when normalized", c)
		}
		if RoomCodeWeak(c) {
			t.Fatalf("generated code %q reported weak", c)
		}
		if seen[c] {
			t.Fatalf("code %q generated twice", c)
		}
		seen[c] = true
	}
}

func TestNormalizeRoomCode(t *testing.T) {
	cases := []struct{ in, want string }{
		{"k3m9p-x7q2a-h4t0c-8wnzr", "k3m9p-x7q2a-h4t0c-8wnzr"},
		{"  K3M9P X7Q2A\tH4T0C_8WNZR \n", "k3m9p-x7q2a-h4t0c-8wnzr"},
		{"k3m9p--x7q2a - h4t0c.8wnzr", "k3m9p-x7q2a-h4t0c-8wnzr"},
		{"k3m9p-x7q2a-h4tOc-8wnzr", "k3m9p-x7q2a-h4t0c-8wnzr"}, // O read as 0
		{"k3m9p-x7q2a-hlt0c-8wnzi", "k3m9p-x7q2a-h1t0c-8wnz1"}, // l and i read as 1
		{"hello world", "hello-world"},                         // not a generated code: letters stay
		{"Lion - Oil", "lion-oil"},
		{"", ""},
	}
	for _, c := range cases {
		if got := NormalizeRoomCode(c.in); got != c.want {
			t.Errorf("NormalizeRoomCode(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestRoomCodeWeak(t *testing.T) {
	cases := []struct {
		code string
		weak bool
	}{
		{"k3m9p-x7q2a-h4t0c-8wnzr", false},
		{"", true},
		{"password", true},
		{"correct horse battery staple", true},
		{"12345678901234567890", true},
		{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", true},
		{"k3m9p-x7q2a", true},
		{"q8v3zj5k2w9xh4tmr7c6np0b1yd", false}, // 27 random lowercase+digits
		{"Tr0ub4dor&3-8xK#qL2$vN9pZw", false},
	}
	for _, c := range cases {
		if got := RoomCodeWeak(c.code); got != c.weak {
			t.Errorf("RoomCodeWeak(%q) = %v, want %v (estimate %.0f bits)", c.code, got, c.weak, codeBitsEstimate(NormalizeRoomCode(c.code)))
		}
	}
}

func TestRoomKeyAndHint(t *testing.T) {
	a := testRoom()
	if b := NewRoom("  TEST room_one "); b != a {
		t.Fatal("a loosely typed code gave another room key")
	}
	if a.key == otherRoom().key {
		t.Fatal("two codes gave one key")
	}
	if !regexp.MustCompile(`^[0-9a-f]{4}$`).MatchString(a.Hint()) {
		t.Fatalf("hint %q, want 4 hex digits", a.Hint())
	}
	if a.Hint() != NewRoom("test-room-one").Hint() {
		t.Fatal("hint differs for the same room")
	}
}
