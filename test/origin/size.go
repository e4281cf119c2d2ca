package testorigin

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ParseSize reads a byte count or a byte rate such as "256MiB", "2.5MB",
// "20Mbit" or "1.5GiB/s". Binary units (KiB, MiB, GiB, TiB, and the
// one-letter K, M, G, T) are powers of 1024, decimal ones (kB, MB, GB, TB)
// powers of 1000, and kbit, Mbit, Gbit (or kbps, Mbps, Gbps) are bits,
// 1000-based. Units are case-insensitive; a "/s" suffix is ignored.
func ParseSize(s string) (int64, error) {
	orig := s
	s = strings.TrimSpace(s)
	s = strings.TrimSuffix(s, "/s")
	i := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := s, ""
	if i >= 0 {
		num, unit = s[:i], strings.TrimSpace(s[i:])
	}
	mult, ok := sizeUnits[strings.ToLower(unit)]
	if !ok {
		return 0, fmt.Errorf("size %q: unknown unit %q", orig, unit)
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || num == "" {
		return 0, fmt.Errorf("size %q: %q is not a number", orig, num)
	}
	b := v * mult
	if b < 0 || b >= math.MaxInt64 || math.IsNaN(b) {
		return 0, fmt.Errorf("size %q is out of range", orig)
	}
	return int64(b), nil
}

var sizeUnits = map[string]float64{
	"": 1, "b": 1,
	"k": 1 << 10, "kib": 1 << 10, "kb": 1e3,
	"m": 1 << 20, "mib": 1 << 20, "mb": 1e6,
	"g": 1 << 30, "gib": 1 << 30, "gb": 1e9,
	"t": 1 << 40, "tib": 1 << 40, "tb": 1e12,
	"kbit": 1e3 / 8, "mbit": 1e6 / 8, "gbit": 1e9 / 8,
	"kbps": 1e3 / 8, "mbps": 1e6 / 8, "gbps": 1e9 / 8,
}
