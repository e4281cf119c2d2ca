package link

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/http/httpguts"

	"github.com/dragonload/dragonload/core/names"
)

// MaxFileSize is the largest link file Parse reads, and the longest
// dragon:// link ParseURI reads. A link is a few hundred bytes; anything
// near this size is not a link.
const MaxFileSize = 64 << 10

// Limits on single fields. The file size cap bounds them all together; these
// keep each one within what an HTTP request line or header can carry.
const (
	maxURLLen    = 8 << 10
	maxNameLen   = 200
	maxMirrors   = 16
	maxHeaders   = 32
	maxHeaderLen = 4 << 10 // name + value
	// The origin client (origin.ValidateHeaders) refuses longer names and
	// larger sets; a link it would refuse must not pass here.
	maxHeaderName  = 128
	maxHeaderTotal = 16 << 10
	sha256HexSize  = 64
)

// Link is one file to download: where its bytes are and, optionally, what
// they must be; or, for a file that machines in the room hold, only what
// it must be (its SHA-256, name and size, and no URL).
type Link struct {
	// URL is the origin, http or https. Empty when the link names its
	// file by SHA256, Name and Size alone (see HasOrigin); then all three
	// are set and Mirrors and Headers are not.
	URL string
	// Name is the file name to save under: a bare name, never a path.
	// Optional when URL is set.
	Name string
	// Size is the file's length in bytes. 0 means unknown, which it may
	// only be when URL is set; it is never negative.
	Size int64
	// SHA256 is the whole file's SHA-256 as 64 lowercase hex digits, or
	// empty when unknown, which it may only be when URL is set.
	SHA256 string
	// Mirrors are more URLs serving the same bytes as URL, in order of
	// preference. Only with a URL.
	Mirrors []string
	// Headers are extra request headers sent with every request to the
	// origin and the mirrors, by this node and by lenders. Only with a
	// URL.
	Headers map[string]string
}

// HasOrigin reports whether l has a URL to download from. A link without
// one names its file by SHA-256, name and size, and only machines in the
// room that hold a copy can supply it.
func (l Link) HasOrigin() bool {
	return l.URL != ""
}

// headersReserved are the request headers a link may not set: the fetcher
// owns them, because ranged requests must be exact (Range, If-Range and
// the other conditionals, Accept-Encoding), bodies must be the raw bytes,
// and the connection is the client's to manage. It is the list the origin
// client refuses (origin.ValidateHeaders), so that a link that passes here
// is never refused when it is fetched. Proxy-* headers are refused too.
var headersReserved = map[string]bool{
	"accept-encoding":     true,
	"connection":          true,
	"content-length":      true,
	"expect":              true,
	"host":                true,
	"if-match":            true,
	"if-modified-since":   true,
	"if-none-match":       true,
	"if-range":            true,
	"if-unmodified-since": true,
	"keep-alive":          true,
	"proxy-connection":    true,
	"range":               true,
	"te":                  true,
	"trailer":             true,
	"transfer-encoding":   true,
	"upgrade":             true,
}

// ReservedHeader reports whether a link may not set the request header
// name (in any case) because the fetcher owns it: Host, Range, the
// conditionals, the framing and hop-by-hop headers, Accept-Encoding and
// every Proxy-* header. A program that forwards a browser's headers into a
// link drops these rather than have Validate refuse the link.
func ReservedHeader(name string) bool {
	return headersReserved[strings.ToLower(name)] || isProxyHeader(name)
}

func isProxyHeader(name string) bool {
	return len(name) >= len("proxy-") && strings.EqualFold(name[:len("proxy-")], "proxy-")
}

// Validate reports the first thing wrong with l, or nil when every field
// is within the format's rules. Parse and ParseURI only return links that
// pass it.
func (l Link) Validate() error {
	if l.HasOrigin() {
		if err := checkURL("url", l.URL); err != nil {
			return err
		}
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
	if !l.HasOrigin() {
		if err := checkWithoutURL(l); err != nil {
			return err
		}
	}
	if err := checkMirrors(l.URL, l.Mirrors); err != nil {
		return err
	}
	return checkHeaders(l.Headers)
}

// Errors about a url that is not there. Parse reports them with the line
// of the field they are about.
var (
	errEmptyURL       = errors.New("url is empty (leave it out when sha256, name and size are given instead)")
	errMirrorsNeedURL = errors.New("mirrors need a url: they are more origins for the url's bytes")
	errHeadersNeedURL = errors.New("headers need a url: they are sent to the url's host")
)

// checkWithoutURL checks what a link without a url must and must not give:
// no mirrors or headers, which belong to the url, and all of sha256, name
// and size, which are all there is to find the file by and save it as.
func checkWithoutURL(l Link) error {
	if len(l.Mirrors) > 0 {
		return errMirrorsNeedURL
	}
	if len(l.Headers) > 0 {
		return errHeadersNeedURL
	}
	var missing []string
	if l.SHA256 == "" {
		missing = append(missing, "sha256")
	}
	if l.Name == "" {
		missing = append(missing, "name")
	}
	if l.Size <= 0 {
		missing = append(missing, "size")
	}
	if len(missing) > 0 {
		return fmt.Errorf("a link without a url must give sha256, name and size (missing: %s)", strings.Join(missing, ", "))
	}
	return nil
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
		case names.IsBidiControl(r):
			// These can make "exe.jpg" display as "gpj.exe" and the like.
			return errors.New("name must not contain text-direction control characters")
		case names.IsInvisible(r):
			// Zero-width and other format characters make two names that
			// look the same differ, or hide part of one.
			return fmt.Errorf("name must not contain invisible characters (U+%04X)", r)
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
	if names.IsWindowsDeviceName(name) {
		return fmt.Errorf("name %q is a reserved device name on Windows", name)
	}
	return nil
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
	total := 0
	for name, value := range h {
		if err := checkHeader(name, value); err != nil {
			return err
		}
		total += len(name) + len(value)
		lower := strings.ToLower(name)
		if other, ok := seen[lower]; ok {
			// Report the pair in a stable order whatever the map order.
			a, b := min(name, other), max(name, other)
			return fmt.Errorf("header %q and header %q are the same header", a, b)
		}
		seen[lower] = name
	}
	if total > maxHeaderTotal {
		return fmt.Errorf("headers add up to %d bytes; at most %d are allowed", total, maxHeaderTotal)
	}
	return nil
}

// checkHeader checks one request header with the rules Go's HTTP client
// applies when it sends it (httpguts: a token for a name, no control
// characters but tab in a value), so that a link never fails at request
// time, plus the origin client's reserved names and limits and this
// format's own: UTF-8, no surrounding spaces.
func checkHeader(name, value string) error {
	if name == "" {
		return errors.New("header name is empty")
	}
	if !httpguts.ValidHeaderFieldName(name) {
		return fmt.Errorf("header name %q is not valid (letters, digits and !#$%%&'*+-.^_`|~ only)", name)
	}
	if len(name) > maxHeaderName {
		return fmt.Errorf("header name %q is longer than %d bytes", name[:32]+"...", maxHeaderName)
	}
	if headersReserved[strings.ToLower(name)] {
		return fmt.Errorf("header %q is set by Dragonload itself and cannot be given in a link", name)
	}
	if isProxyHeader(name) {
		return fmt.Errorf("header %q is for proxies and cannot be given in a link (Dragonload uses no proxy)", name)
	}
	if len(name)+len(value) > maxHeaderLen {
		return fmt.Errorf("header %q is longer than %d bytes", name, maxHeaderLen)
	}
	if !utf8.ValidString(value) {
		return fmt.Errorf("header %q: value is not valid UTF-8", name)
	}
	if strings.ContainsAny(value, "\r\n") {
		return fmt.Errorf("header %q: value must be one line (no CR or LF)", name)
	}
	if !httpguts.ValidHeaderFieldValue(value) {
		return fmt.Errorf("header %q: value must not contain control characters", name)
	}
	if strings.Trim(value, " \t") != value {
		return fmt.Errorf("header %q: value must not start or end with spaces", name)
	}
	return nil
}
