// Package units writes byte counts and transfer rates for people, the same
// way everywhere in Dragonload: the terminal and the window.
//
// Units are decimal SI (kB, MB, GB; MB/s), with three significant digits.
// Desktop file managers on Linux (GNOME Files) and macOS (Finder) show
// decimal sizes, so the numbers Dragonload prints match the ones the user
// sees for the same file elsewhere on the machine.
//
// The package has no dependencies beyond the standard library, so the
// command line uses it without linking the desktop toolkit.
package units

import (
	"fmt"
	"math"
	"time"
)

// Bytes writes a byte count: "999 B", "1.54 kB", "12.3 MB", "4.70 GB".
// A negative count is an unknown size.
func Bytes(n int64) string {
	if n < 0 {
		return "unknown size"
	}
	if n < 1000 {
		return fmt.Sprintf("%d B", n)
	}
	units := []string{"kB", "MB", "GB", "TB", "PB", "EB"}
	v := float64(n)
	i := -1
	for v >= 999.5 && i < len(units)-1 {
		v /= 1000
		i++
	}
	switch {
	case v < 9.995:
		return fmt.Sprintf("%.2f %s", v, units[i])
	case v < 99.95:
		return fmt.Sprintf("%.1f %s", v, units[i])
	default:
		return fmt.Sprintf("%.0f %s", v, units[i])
	}
}

// Rate writes a transfer rate in bytes per second: "2.40 MB/s". An idle or
// unknown rate (below 1 B/s, NaN, infinite) is a dash, "–".
func Rate(bytesPerSec float64) string {
	if bytesPerSec < 1 || math.IsNaN(bytesPerSec) || math.IsInf(bytesPerSec, 0) {
		return "–"
	}
	return Bytes(int64(bytesPerSec)) + "/s"
}

// Duration writes how long something takes or took in its two largest
// units: "under a second", "8s", "2m 05s", "1h 04m", "3 days 2h".
func Duration(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d < time.Second:
		return "under a second"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm %02ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh %02dm", int(d.Hours()), int(d.Minutes())%60)
	default:
		return fmt.Sprintf("%d days %dh", int(d.Hours())/24, int(d.Hours())%24)
	}
}
