package index

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

// TestOriginKeyVector pins the formula: the key is recomputed here by hand
// from the documented layout, and also compared with digests written down
// once, so that neither side can drift.
func TestOriginKeyVector(t *testing.T) {
	cases := []struct {
		url, etag, lm string
		size          int64
		input         string // what the documentation says is hashed
		hex           string
	}{
		{"https://example.com/a.iso", `"abc123"`, "Tue, 01 Jul 2025 10:00:00 GMT", 1048576,
			"dragonload origin key\x00https://example.com/a.iso\x00\"abc123\"\x001048576",
			"2d1c2f2a7483fbae228f6b8452d5163dfc3932ba3e60248017e87f35f67b438c"},
		{"https://example.com/a.iso", `W/"weak"`, "Tue, 01 Jul 2025 10:00:00 GMT", 42,
			"dragonload origin key\x00https://example.com/a.iso\x00lm:Tue, 01 Jul 2025 10:00:00 GMT\x0042",
			"60d2393c1ea2c61cd6f100cd417e029107d1c9e881508355bf9a57f282bac0b6"},
	}
	for _, c := range cases {
		got, ok := OriginKey(c.url, c.etag, c.lm, c.size)
		if !ok {
			t.Fatalf("OriginKey(%q, %q, %q, %d) refused", c.url, c.etag, c.lm, c.size)
		}
		if want := sha256.Sum256([]byte(c.input)); got != want {
			t.Errorf("OriginKey(%q, %q, %q, %d) = %x, want %x", c.url, c.etag, c.lm, c.size, got, want)
		}
		if hex.EncodeToString(got[:]) != c.hex {
			t.Errorf("OriginKey(%q, %q, %q, %d) = %x, want %s", c.url, c.etag, c.lm, c.size, got, c.hex)
		}
	}
}

func TestOriginKey(t *testing.T) {
	const url = "https://example.com/file.bin"
	const lm = "Wed, 02 Jul 2025 08:00:00 GMT"
	key := func(validator string, size string) [32]byte {
		return sha256.Sum256([]byte("dragonload origin key\x00" + url + "\x00" + validator + "\x00" + size))
	}
	cases := []struct {
		name     string
		url      string
		etag, lm string
		size     int64
		want     [32]byte
		ok       bool
	}{
		{"strong ETag", url, `"v1"`, "", 10, key(`"v1"`, "10"), true},
		{"strong ETag wins over Last-Modified", url, `"v1"`, lm, 10, key(`"v1"`, "10"), true},
		{"ETag kept as sent", url, `"V1" `, "", 10, key(`"V1" `, "10"), true},
		{"weak ETag ignored, Last-Modified used", url, `W/"v1"`, lm, 10, key("lm:"+lm, "10"), true},
		{"Last-Modified alone", url, "", lm, 7, key("lm:"+lm, "7"), true},
		{"weak ETag alone", url, `W/"v1"`, "", 10, [32]byte{}, false},
		{"no validator", url, "", "", 10, [32]byte{}, false},
		{"size zero", url, `"v1"`, lm, 0, [32]byte{}, false},
		{"size negative", url, `"v1"`, lm, -1, [32]byte{}, false},
		{"no URL", "", `"v1"`, lm, 10, [32]byte{}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := OriginKey(c.url, c.etag, c.lm, c.size)
			if ok != c.ok || got != c.want {
				t.Fatalf("OriginKey = %x, %v; want %x, %v", got, ok, c.want, c.ok)
			}
		})
	}
	// Different sizes, URLs or validators give different keys.
	a, _ := OriginKey(url, `"v1"`, "", 10)
	for _, other := range [][32]byte{
		must(OriginKey(url, `"v1"`, "", 11)),
		must(OriginKey(url+"?", `"v1"`, "", 10)),
		must(OriginKey(url, `"v2"`, "", 10)),
		must(OriginKey(url, "", `"v1"`, 10)),
	} {
		if other == a {
			t.Errorf("two versions share the key %x", a)
		}
	}
}

func must(k [32]byte, ok bool) [32]byte {
	if !ok {
		panic("no key")
	}
	return k
}
