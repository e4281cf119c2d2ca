package discover

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

const (
	maxNodeID  = 63 // one DNS label: the node id names the instance and the host
	maxName    = 128
	maxVersion = 65535
)

// encodeTXT returns the TXT strings that describe s (see the package doc).
func encodeTXT(s Service) []string {
	lend := "0"
	if s.Lending {
		lend = "1"
	}
	return []string{
		"v=" + strconv.Itoa(s.Version),
		"id=" + s.NodeID,
		"room=" + s.RoomHint,
		"lend=" + lend,
		"name=" + cleanName(s.Name),
	}
}

// decodeTXT reads the TXT strings of a peer's record. They come from the
// network, so everything is checked; the Port of the result is zero.
func decodeTXT(fields []string) (Service, error) {
	kv := make(map[string]string, 5)
	for _, f := range fields {
		k, v, ok := strings.Cut(f, "=")
		if !ok || k == "" {
			continue
		}
		k = strings.ToLower(k)
		if _, dup := kv[k]; !dup {
			kv[k] = v
		}
	}
	var s Service
	id, ok := kv["id"]
	if !ok {
		return s, errors.New("TXT record has no id")
	}
	if !validNodeID(id) {
		return s, fmt.Errorf("TXT record has a malformed id %.70q", id)
	}
	s.NodeID = id
	v, err := parseVersion(kv["v"])
	if err != nil {
		return s, fmt.Errorf("TXT record of %s has a bad version: %w", id, err)
	}
	s.Version = v
	if s.RoomHint, ok = parseRoomHint(kv["room"]); !ok {
		return s, fmt.Errorf("TXT record of %s has a malformed room hint %.20q", id, kv["room"])
	}
	switch kv["lend"] {
	case "1":
		s.Lending = true
	case "0":
	default:
		return s, fmt.Errorf("TXT record of %s has lend %.20q, neither 0 nor 1", id, kv["lend"])
	}
	s.Name = cleanName(kv["name"])
	return s, nil
}

// validNodeID reports whether id is 1 to maxNodeID ASCII letters and digits,
// which any base32 alphabet satisfies and which is safe as a DNS label.
func validNodeID(id string) bool {
	if len(id) == 0 || len(id) > maxNodeID {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// parseRoomHint returns h in lower case if it is exactly 4 hex digits.
func parseRoomHint(h string) (string, bool) {
	if len(h) != 4 {
		return "", false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return "", false
		}
	}
	return strings.ToLower(h), true
}

// parseVersion reads a decimal version from 1 to maxVersion, digits only.
func parseVersion(v string) (int, error) {
	if v == "" || len(v) > 5 {
		return 0, fmt.Errorf("%.20q is not a number from 1 to %d", v, maxVersion)
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return 0, fmt.Errorf("%.20q is not a number from 1 to %d", v, maxVersion)
		}
	}
	n, _ := strconv.Atoi(v) // five digits cannot overflow
	if n < 1 || n > maxVersion {
		return 0, fmt.Errorf("%d is not from 1 to %d", n, maxVersion)
	}
	return n, nil
}

// cleanName makes a display name safe to show: valid UTF-8, graphic
// characters only (no control or bidi formatting characters, which could
// disguise one peer as another), no surrounding spaces, at most maxName
// bytes cut at a character boundary.
func cleanName(s string) string {
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		if !unicode.IsGraphic(r) {
			continue
		}
		if b.Len()+utf8.RuneLen(r) > maxName {
			break
		}
		b.WriteRune(r)
	}
	return strings.TrimSpace(b.String())
}
