package quicwire

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
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

// TestRoomTag: the tag names a room locally: 16 hex digits, the same for
// the same room, another for another room, "" for no room, and it is
// neither the key, nor a piece of it, nor the mDNS hint.
func TestRoomTag(t *testing.T) {
	a, b := testRoom(), otherRoom()
	cases := []struct {
		name string
		room Room
		want *regexp.Regexp
	}{
		{"a room", a, regexp.MustCompile(`^[0-9a-f]{16}$`)},
		{"another room", b, regexp.MustCompile(`^[0-9a-f]{16}$`)},
		{"no room", Room{}, regexp.MustCompile(`^$`)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tag := c.room.Tag()
			if !c.want.MatchString(tag) {
				t.Fatalf("Tag() = %q, want %v", tag, c.want)
			}
			if tag != c.room.Tag() {
				t.Fatal("Tag() differs between two calls")
			}
			if tag == "" {
				return
			}
			key := hex.EncodeToString(c.room.key[:])
			if strings.Contains(key, tag) {
				t.Fatalf("tag %q is a piece of the key %s", tag, key)
			}
			sum := sha256.Sum256(append([]byte("dragonload/1 room tag\x00"), c.room.key[:]...))
			if want := hex.EncodeToString(sum[:8]); tag != want {
				t.Fatalf("Tag() = %q, want the documented derivation %q", tag, want)
			}
		})
	}
	if a.Tag() == b.Tag() {
		t.Fatal("two rooms share a tag")
	}
	if a.Tag() != NewRoom("  TEST room_one ").Tag() {
		t.Fatal("a loosely typed code of the same room gave another tag")
	}
}
