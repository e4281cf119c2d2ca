package link

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxFileSize is the largest link file Parse reads, and the longest
// dragon:// link ParseURI reads. A link is a few hundred bytes; anything
// near this size is not a link.
const MaxFileSize = 64 << 10

// Limits on single fields. The file size cap bounds them all together; these
// keep each one within what an HTTP request line or header can carry.
const (
	maxURLLen     = 8 << 10
	maxNameLen    = 200
	maxMirrors    = 16
	maxHeaders    = 32
	maxHeaderLen  = 4 << 10 // name + value
	sha256HexSize = 64
)

// Link is one file to download: where its bytes are and, optionally, what
// they must be.
type Link struct {
	// URL is the origin, http or https. Required.
	URL string
	// Name is the file name to save under. Optional; a bare name, never
	// a path.
	Name string
	// Size is the file's length in bytes. 0 means unknown; it is never
	// negative.
	Size int64
	// SHA256 is the whole file's SHA-256 as 64 lowercase hex digits, or
	// empty when unknown.
	SHA256 string
	// Mirrors are more URLs serving the same bytes, in order of preference.
	Mirrors []string
	// Headers are extra request headers sent with every request to the
	// origin and the mirrors, by this node and by lenders.
	Headers map[string]string
}

// headersReserved are the request headers a link may not set: the fetcher
// owns them, because ranged requests must be exact (Range, If-Range,
// Accept-Encoding), bodies must be the raw bytes, and the connection is
// the client's to manage.
var headersReserved = map[string]bool{
	"accept-encoding":   true,
	"connection":        true,
	"content-length":    true,
	"expect":            true,
	"host":              true,
	"if-range":          true,
	"keep-alive":        true,
	"proxy-connection":  true,
	"range":             true,
	"te":                true,
	"trailer":           true,
	"transfer-encoding": true,
	"upgrade":           true,
}

// Validate reports the first thing wrong with l, or nil when every field
// is within the format's rules. Parse and ParseURI only return links that
// pass it.
func (l Link) Validate() error {
	if l.URL == "" {
		return errors.New("url is required")
	}
	if err := checkURL("url", l.URL); err != nil {
		return err
	}
	if err := checkName(l.Name); err != nil {
		return err
	}
	if l.Size < 0 {
		return fmt.Errorf("size must not be negative (got %d)", l.Size)
	}
	if err := checkSHA256(l.SHA256); err != nil {
		return err
	}
	if l.SHA256 != strings.ToLower(l.SHA256) {
		return errors.New("sha256 must be written in lowercase")
	}
	if err := checkMirrors(l.URL, l.Mirrors); err != nil {
		return err
	}
	return checkHeaders(l.Headers)
}

// checkURL checks one origin URL; field names it in the message.
func checkURL(field, s string) error {
	if s == "" {
		return fmt.Errorf("%s is empty", field)
	}
	if len(s) > maxURLLen {
		return fmt.Errorf("%s is longer than %d bytes", field, maxURLLen)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%s is not valid UTF-8", field)
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f {
			return fmt.Errorf("%s must not contain spaces or control characters (write a space as %%20)", field)
		}
	}
	u, err := url.Parse(s)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("%s is not a valid URL: %w", field, err)
	}
	if u.Scheme == "" {
		return fmt.Errorf("%s must be a full http or https URL, such as https://example.com/file.iso", field)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%s: scheme %q is not supported (use http or https)", field, u.Scheme)
	}
	if u.Host == "" || u.Hostname() == "" {
		return fmt.Errorf("%s has no host name", field)
	}
	return nil
}

// checkName checks a file name: a single path element that is safe to
// create on every desktop platform, and not hidden (the watched folder
// ignores hidden files, and the engine's partial files are hidden).
func checkName(name string) error {
	if name == "" {
		return nil
	}
	if len(name) > maxNameLen {
		return fmt.Errorf("name is longer than %d bytes", maxNameLen)
	}
	if !utf8.ValidString(name) {
		return errors.New("name is not valid UTF-8")
	}
	if name == "." || name == ".." {
		return fmt.Errorf("name %q is not a file name", name)
	}
	for _, r := range name {
		switch {
		case r == '/' || r == '\\':
			return errors.New("name must be a file name, not a path (no / or \\)")
		case unicode.IsControl(r):
			return errors.New("name must not contain control characters")
		case isBidiControl(r):
			// These can make "exe.jpg" display as "gpj.exe" and the like.
			return errors.New("name must not contain text-direction control characters")
		case strings.ContainsRune(`<>:"|?*`, r):
			return fmt.Errorf("name must not contain %q (not allowed in file names on Windows)", r)
		}
	}
	if name[0] == '.' {
		return errors.New("name must not start with a dot (hidden files are not downloaded into)")
	}
	if last := name[len(name)-1]; last == '.' || last == ' ' {
		return errors.New("name must not end with a dot or a space")
	}
	if name[0] == ' ' {
		return errors.New("name must not start with a space")
	}
	if isDeviceName(name) {
		return fmt.Errorf("name %q is a reserved device name on Windows", name)
	}
	return nil
}

// isBidiControl reports the invisible characters that change the display
// order of text (Unicode bidirectional formatting characters).
func isBidiControl(r rune) bool {
	return r == 0x061C || r == 0x200E || r == 0x200F || (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069)
}

// isDeviceName reports the names Windows maps to devices whatever their
// extension: CON, PRN, AUX, NUL, COM1-9, LPT1-9.
func isDeviceName(name string) bool {
	base, _, _ := strings.Cut(name, ".")
	base = strings.ToUpper(strings.TrimRight(base, " "))
	switch base {
	case "CON", "PRN", "AUX", "NUL":
		return true
	}
	return len(base) == 4 && (strings.HasPrefix(base, "COM") || strings.HasPrefix(base, "LPT")) &&
		base[3] >= '1' && base[3] <= '9'
}

// checkSHA256 checks a digest's shape, in either case; Parse stores it
// lowercased.
func checkSHA256(s string) error {
	if s == "" {
		return nil
	}
	if len(s) != sha256HexSize {
		return fmt.Errorf("sha256 must be 64 hex digits (got %d characters)", utf8.RuneCountInString(s))
	}
	for i := 0; i < len(s); i++ {
		if !isHex(s[i]) {
			return errors.New("sha256 must be 64 hex digits (0-9, a-f)")
		}
	}
	return nil
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func checkMirrors(primary string, mirrors []string) error {
	if len(mirrors) > maxMirrors {
		return fmt.Errorf("mirrors has %d entries; at most %d are allowed", len(mirrors), maxMirrors)
	}
	seen := make(map[string]bool, len(mirrors))
	for i, m := range mirrors {
		field := fmt.Sprintf("mirror %d", i+1)
		if err := checkURL(field, m); err != nil {
			return err
		}
		if m == primary {
			return fmt.Errorf("%s repeats the url", field)
		}
		if seen[m] {
			return fmt.Errorf("%s repeats an earlier mirror", field)
		}
		seen[m] = true
	}
	return nil
}

func checkHeaders(h map[string]string) error {
	if len(h) > maxHeaders {
		return fmt.Errorf("headers has %d entries; at most %d are allowed", len(h), maxHeaders)
	}
	seen := make(map[string]string, len(h))
	for name, value := range h {
		if err := checkHeader(name, value); err != nil {
			return err
		}
		lower := strings.ToLower(name)
		if other, ok := seen[lower]; ok {
			// Report the pair in a stable order whatever the map order.
			a, b := min(name, other), max(name, other)
			return fmt.Errorf("header %q and header %q are the same header", a, b)
		}
		seen[lower] = name
	}
	return nil
}

// checkHeader checks one request header: a token for a name (RFC 9110),
// and a value that cannot end the header line or start another.
func checkHeader(name, value string) error {
	if name == "" {
		return errors.New("header name is empty")
	}
	for i := 0; i < len(name); i++ {
		if !isTokenChar(name[i]) {
			return fmt.Errorf("header name %q is not valid (letters, digits and !#$%%&'*+-.^_`|~ only)", name)
		}
	}
	if headersReserved[strings.ToLower(name)] {
		return fmt.Errorf("header %q is set by Dragonload itself and cannot be given in a link", name)
	}
	if len(name)+len(value) > maxHeaderLen {
		return fmt.Errorf("header %q is longer than %d bytes", name, maxHeaderLen)
	}
	if !utf8.ValidString(value) {
		return fmt.Errorf("header %q: value is not valid UTF-8", name)
	}
	for _, r := range value {
		if r == '\r' || r == '\n' {
			return fmt.Errorf("header %q: value must be one line (no CR or LF)", name)
		}
		if (r < ' ' && r != '\t') || r == 0x7f {
			return fmt.Errorf("header %q: value must not contain control characters", name)
		}
	}
	if strings.Trim(value, " \t") != value {
		return fmt.Errorf("header %q: value must not start or end with spaces", name)
	}
	return nil
}

func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}
