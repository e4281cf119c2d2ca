package netbed

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseRate reads a link rate in bits per second written the way tc writes
// it: "20mbit", "1gbit", "500kbit", "64000bit" or a bare number of bits per
// second. Units are decimal (1mbit = 1,000,000 bit/s). "0", "off" and ""
// mean unshaped and give 0.
func ParseRate(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	if t == "" || t == "off" || t == "0" {
		return 0, nil
	}
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"gbit", 1e9}, {"mbit", 1e6}, {"kbit", 1e3}, {"bit", 1}} {
		if strings.HasSuffix(t, u.suffix) {
			t = strings.TrimSuffix(t, u.suffix)
			mult = u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("rate %q is not a number of bits per second like 20mbit", s)
	}
	bps := int64(v * float64(mult))
	if v > 0 && bps < 8000 {
		return 0, fmt.Errorf("rate %q is below 8kbit, too slow for a test link", s)
	}
	return bps, nil
}

// FormatRate writes bps the way ParseRate reads it, "off" for 0.
func FormatRate(bps int64) string {
	switch {
	case bps <= 0:
		return "off"
	case bps%1e9 == 0:
		return fmt.Sprintf("%dgbit", bps/1e9)
	case bps%1e6 == 0:
		return fmt.Sprintf("%dmbit", bps/1e6)
	case bps%1e3 == 0:
		return fmt.Sprintf("%dkbit", bps/1e3)
	}
	return fmt.Sprintf("%dbit", bps)
}
