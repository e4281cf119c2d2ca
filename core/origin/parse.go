package origin

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dragonload/dragonload/core/names"
)

// contentRange is a parsed Content-Range header. first is -1 for the
// unsatisfied form "bytes */total"; total is -1 when the server wrote "*".
type contentRange struct {
	first, last, total int64
}

// parseContentRange parses "bytes first-last/total", "bytes first-last/*"
// and "bytes */total" strictly: one space after the unit, decimal digits
// only, first <= last < total.
func parseContentRange(v string) (contentRange, error) {
	const unit = "bytes "
	if len(v) < len(unit) || !strings.EqualFold(v[:len(unit)], unit) {
		return contentRange{}, errors.New("Content-Range does not start with \"bytes \"")
	}
	spec, totalStr, ok := strings.Cut(v[len(unit):], "/")
	if !ok {
		return contentRange{}, errors.New("Content-Range has no \"/\"")
	}
	cr := contentRange{first: -1, last: -1, total: -1}
	if totalStr != "*" {
		t, err := parseDigits(totalStr)
		if err != nil {
			return contentRange{}, fmt.Errorf("Content-Range total: %w", err)
		}
		cr.total = t
	}
	if spec == "*" {
		if cr.total < 0 {
			return contentRange{}, errors.New("Content-Range \"*/*\" says nothing")
		}
		return cr, nil
	}
	firstStr, lastStr, ok := strings.Cut(spec, "-")
	if !ok {
		return contentRange{}, errors.New("Content-Range has no \"-\"")
	}
	var err error
	if cr.first, err = parseDigits(firstStr); err != nil {
		return contentRange{}, fmt.Errorf("Content-Range start: %w", err)
	}
	if cr.last, err = parseDigits(lastStr); err != nil {
		return contentRange{}, fmt.Errorf("Content-Range end: %w", err)
	}
	switch {
	case cr.first > cr.last:
		return contentRange{}, errors.New("Content-Range ends before it starts")
	case cr.total >= 0 && cr.last >= cr.total:
		return contentRange{}, errors.New("Content-Range ends beyond the total size")
	}
	return cr, nil
}

func (cr contentRange) String() string {
	total := "*"
	if cr.total >= 0 {
		total = strconv.FormatInt(cr.total, 10)
	}
	if cr.first < 0 {
		return "bytes */" + total
	}
	return fmt.Sprintf("bytes %d-%d/%s", cr.first, cr.last, total)
}

// parseDigits parses a non-negative decimal without sign or spaces.
func parseDigits(s string) (int64, error) {
	if s == "" || len(s) > 19 {
		return 0, fmt.Errorf("%q is not a byte position", clip(s, 24))
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("%q is not a byte position", clip(s, 24))
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return n, nil
}

// parseRetryAfter reads a Retry-After value, either delay-seconds or an
// HTTP date (relative to now). d is the wait capped at maxRetryAfter, with a
// date in the past meaning "now" (0). at is the moment asked for, uncapped
// but clamped to [now, maxRetryAt]. ok is false for anything else.
func parseRetryAfter(v string, now time.Time) (d time.Duration, at time.Time, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, time.Time{}, false
	}
	if allDigits(v) {
		secs, err := strconv.ParseInt(v, 10, 64)
		// Compared in whole seconds: secs*time.Second overflows a
		// Duration after 292 years.
		if err != nil || secs > maxRetryAt.Unix()-now.Unix() {
			at = maxRetryAt
		} else {
			at = time.Unix(now.Unix()+secs, int64(now.Nanosecond())).In(now.Location())
		}
		if err != nil || secs > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter, at, true
		}
		return time.Duration(secs) * time.Second, at, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, time.Time{}, false
	}
	at = t
	if at.Before(now) {
		at = now
	}
	if at.After(maxRetryAt) {
		at = maxRetryAt
	}
	return min(max(t.Sub(now), 0), maxRetryAfter), at, true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// strongETag returns v if it is a strong entity tag ("xyz"), else "". Weak
// tags (W/"xyz") promise equivalent content, not identical bytes, so they
// cannot pin a version for byte ranges.
func strongETag(v string) string {
	v = strings.TrimSpace(v)
	if len(v) < 2 || len(v) > maxETagLen || v[0] != '"' || v[len(v)-1] != '"' {
		return ""
	}
	inner := v[1 : len(v)-1]
	if strings.ContainsRune(inner, '"') || hasControl(inner) {
		return ""
	}
	return v
}

// weakETag returns v if it is a weak entity tag (W/"xyz"), else "". A weak
// tag cannot pin bytes, but one that changes proves the file changed.
func weakETag(v string) string {
	v = strings.TrimSpace(v)
	rest, ok := strings.CutPrefix(v, "W/")
	if !ok || strongETag(rest) != rest || rest == "" {
		return ""
	}
	return v
}

const maxETagLen = 1024

// fileName picks the name to save a response under: the Content-Disposition
// filename when it survives sanitising, else the last segment of the final
// URL's path, else "download".
func fileName(disposition string, u *url.URL) string {
	if n := dispositionName(disposition); n != "" {
		return n
	}
	if u != nil {
		if n := sanitizeName(path.Base(u.Path)); n != "" {
			return n
		}
	}
	return "download"
}

// dispositionName extracts and sanitises the file name from a
// Content-Disposition value. RFC 6266 values (with RFC 5987 filename*)
// go through mime.ParseMediaType; values it rejects but that are common in
// the wild (unquoted names with spaces) are read leniently.
func dispositionName(v string) string {
	if v == "" || len(v) > maxDispositionLen {
		return ""
	}
	if _, params, err := mime.ParseMediaType(v); err == nil {
		return sanitizeName(params["filename"])
	}
	return sanitizeName(lenientFilename(v))
}

const maxDispositionLen = 4 << 10

// lenientFilename finds filename*= (UTF-8 only) or filename= in v.
func lenientFilename(v string) string {
	if i := indexASCIIFold(v, "filename*="); i >= 0 {
		val := paramValue(v[i+len("filename*="):])
		charset, rest, ok := strings.Cut(val, "'")
		if ok && (strings.EqualFold(charset, "utf-8") || strings.EqualFold(charset, "us-ascii")) {
			if _, enc, ok := strings.Cut(rest, "'"); ok {
				if dec, err := url.PathUnescape(enc); err == nil {
					return dec
				}
			}
		}
	}
	if i := indexASCIIFold(v, "filename="); i >= 0 {
		return paramValue(v[i+len("filename="):])
	}
	return ""
}

// indexASCIIFold is strings.Index ignoring ASCII case. (Lower-casing the
// whole string would move byte offsets wherever s is not valid UTF-8.)
func indexASCIIFold(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		match := true
		for j := 0; j < len(sub) && match; j++ {
			match = lowerASCII(s[i+j]) == lowerASCII(sub[j])
		}
		if match {
			return i
		}
	}
	return -1
}

func lowerASCII(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// paramValue reads a quoted string (with backslash escapes) or everything
// up to the next ';'.
func paramValue(s string) string {
	s = strings.TrimLeft(s, " \t")
	if !strings.HasPrefix(s, `"`) {
		val, _, _ := strings.Cut(s, ";")
		return strings.TrimSpace(val)
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && i+1 < len(s):
			i++
			b.WriteByte(s[i])
		case c == '"':
			return b.String()
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// maxNameLen is the longest file name sanitizeName returns, in bytes; it
// leaves room under the usual 255-byte limit for ".part" suffixes.
const maxNameLen = 200

// sanitizeName turns a server-supplied name into one that is safe as a
// single path element on every desktop OS: no directory part, no "..", no
// leading dot, no control, bidi-format or other invisible characters
// (names.IsInvisible), none of <>:"|?*, no trailing dot or space, not a
// Windows device name in any form (names.IsWindowsDeviceName), at most maxNameLen
// bytes with the extension kept. It returns "" when nothing usable is left.
func sanitizeName(s string) string {
	if len(s) > 4*maxNameLen {
		s = s[len(s)-4*maxNameLen:]
	}
	s = strings.ToValidUTF8(s, "_")
	if i := strings.LastIndexAny(s, `/\`); i >= 0 {
		s = s[i+1:]
	}
	s = strings.Map(func(r rune) rune {
		switch {
		case names.IsInvisible(r), r == utf8.RuneError:
			return -1
		case strings.ContainsRune(`<>:"|?*`, r):
			return '_'
		}
		return r
	}, s)
	for strings.Contains(s, "..") {
		s = strings.ReplaceAll(s, "..", ".")
	}
	s = strings.TrimLeft(s, ". ")
	s = strings.TrimRight(s, ". ")
	if len(s) > maxNameLen {
		s = truncateName(s)
	}
	if s == "" {
		return ""
	}
	if names.IsWindowsDeviceName(s) {
		s = "_" + s
	}
	return s
}

// truncateName cuts s to maxNameLen bytes at a rune boundary, keeping a
// short extension.
func truncateName(s string) string {
	ext := path.Ext(s)
	if len(ext) > 16 {
		ext = ""
	}
	stem := s[:len(s)-len(ext)]
	cut := maxNameLen - len(ext)
	for cut > 0 && !utf8.RuneStart(stem[cut]) {
		cut--
	}
	stem = strings.TrimRight(stem[:cut], ". ")
	if stem == "" {
		return ""
	}
	return stem + ext
}
