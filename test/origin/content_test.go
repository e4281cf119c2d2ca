package testorigin

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

func TestContentIsConsistentAtAnyOffset(t *testing.T) {
	const seed = 7
	whole := Content(seed, 0, 4096)
	cases := []struct{ off, n int64 }{
		{0, 1}, {0, 16}, {1, 15}, {15, 2}, {16, 16}, {17, 100}, {1000, 3000}, {4095, 1},
	}
	for _, c := range cases {
		if got := Content(seed, c.off, c.n); !bytes.Equal(got, whole[c.off:c.off+c.n]) {
			t.Errorf("Content(%d, %d, %d) differs from the same bytes of a read from 0", seed, c.off, c.n)
		}
	}
}

func TestContentDependsOnSeed(t *testing.T) {
	a, b := Content(1, 0, 64), Content(2, 0, 64)
	if bytes.Equal(a, b) {
		t.Fatal("seeds 1 and 2 give the same content")
	}
	if !bytes.Equal(a, Content(1, 0, 64)) {
		t.Fatal("content of one seed is not deterministic")
	}
}

func TestSumSHA256(t *testing.T) {
	for _, size := range []int64{0, 1, 1000, 1<<20 + 17} {
		want := sha256.Sum256(Content(3, 0, size))
		if got := SumSHA256(3, size); got != hex.EncodeToString(want[:]) {
			t.Errorf("SumSHA256(3, %d) = %s, want %x", size, got, want)
		}
	}
}

func TestParseSize(t *testing.T) {
	cases := []struct {
		in   string
		want int64
		bad  bool
	}{
		{in: "0", want: 0},
		{in: "1234", want: 1234},
		{in: "256MiB", want: 256 << 20},
		{in: "1GiB", want: 1 << 30},
		{in: "4K", want: 4096},
		{in: "2.5MB", want: 2500000},
		{in: "2.5MB/s", want: 2500000},
		{in: "20Mbit", want: 2500000},
		{in: "8kbps", want: 1000},
		{in: "1.5 KiB", want: 1536},
		{in: "10kb", want: 10000},
		{in: "", bad: true},
		{in: "MiB", bad: true},
		{in: "12XB", bad: true},
		{in: "-1", bad: true},
		{in: "1e30GiB", bad: true},
		{in: "1.2.3", bad: true},
	}
	for _, c := range cases {
		got, err := ParseSize(c.in)
		switch {
		case c.bad && err == nil:
			t.Errorf("ParseSize(%q) = %d, want an error", c.in, got)
		case !c.bad && err != nil:
			t.Errorf("ParseSize(%q): %v", c.in, err)
		case !c.bad && got != c.want:
			t.Errorf("ParseSize(%q) = %d, want %d", c.in, got, c.want)
		}
	}
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"1", "256MiB", "2.5MB/s", "20Mbit", "", "x", "1e3k", "NaN", "Inf"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSize(s)
		if err == nil && n < 0 {
			t.Fatalf("ParseSize(%q) = %d, a negative size", s, n)
		}
	})
}

func BenchmarkContent(b *testing.B) {
	s := newStream(1, 0)
	buf := make([]byte, 64<<10)
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		s.read(buf)
	}
}
