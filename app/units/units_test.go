package units

import (
	"math"
	"testing"
	"time"
)

// The cases of app/ui's sizeText and rateText tests, plus the edges of
// each precision: the window and the terminal must print the same text.
func TestBytes(t *testing.T) {
	cases := []struct {
		n    int64
		want string
	}{
		{-1, "unknown size"},
		{math.MinInt64, "unknown size"},
		{0, "0 B"},
		{1, "1 B"},
		{999, "999 B"},
		{1000, "1.00 kB"},
		{1004, "1.00 kB"},
		{1005, "1.00 kB"}, // 1.005 is 1.00499… in binary floating point
		{1006, "1.01 kB"},
		{1024, "1.02 kB"},
		{1536, "1.54 kB"},
		{9_994, "9.99 kB"},
		{9_995, "10.0 kB"},
		{99_940, "99.9 kB"},
		{99_950, "100 kB"},
		{999_400, "999 kB"},
		{999_499, "999 kB"},
		{999_500, "1.00 MB"},
		{999_600, "1.00 MB"},
		{1 << 20, "1.05 MB"},
		{12_345_678, "12.3 MB"},
		{4_700_000_000, "4.70 GB"},
		{3 << 30, "3.22 GB"},
		{5 << 40, "5.50 TB"},
		{2_000_000_000_000_000, "2.00 PB"},
		{math.MaxInt64, "9.22 EB"},
	}
	for _, tc := range cases {
		if got := Bytes(tc.n); got != tc.want {
			t.Errorf("Bytes(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}

func TestRate(t *testing.T) {
	cases := []struct {
		bps  float64
		want string
	}{
		{0, "–"},
		{0.5, "–"},
		{-3, "–"},
		{math.NaN(), "–"},
		{math.Inf(1), "–"},
		{math.Inf(-1), "–"},
		{1, "1 B/s"},
		{999.9, "999 B/s"},
		{2_400_000, "2.40 MB/s"},
		{4 << 20, "4.19 MB/s"},
		{125_000_000, "125 MB/s"},
	}
	for _, tc := range cases {
		if got := Rate(tc.bps); got != tc.want {
			t.Errorf("Rate(%v) = %q, want %q", tc.bps, got, tc.want)
		}
	}
}

func TestDuration(t *testing.T) {
	cases := []struct {
		d    time.Duration
		want string
	}{
		{400 * time.Millisecond, "under a second"},
		{8 * time.Second, "8s"},
		{125 * time.Second, "2m 05s"},
		{64 * time.Minute, "1h 04m"},
		{74 * time.Hour, "3 days 2h"},
	}
	for _, tc := range cases {
		if got := Duration(tc.d); got != tc.want {
			t.Errorf("Duration(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}
