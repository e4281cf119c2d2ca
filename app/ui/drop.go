package ui

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Dropped is one item dropped onto the window, as Dragonload reads it:
// either a link to add as it is, or a local file to look into.
type Dropped struct {
	Link string // http(s) URL or dragon:// link
	File string // absolute path of a local file
}

// ParseDropped reads one dropped item given as a URI string.
//
// Desktop drivers deliver every drop as a file URI, even a link dragged out
// of a browser: GLFW passes the link on as if it were a file name, and Fyne
// turns that relative "name" into an absolute file path, cleaning it on the
// way. So https://host/a arrives as file:///current/dir/https:/host/a, with
// the double slash collapsed. ParseDropped finds such an embedded scheme and
// rebuilds the link; plain links and file URIs pass through.
func ParseDropped(uri string) (Dropped, error) {
	s := strings.TrimSpace(uri)
	if s == "" {
		return Dropped{}, errors.New("the dropped item is empty")
	}
	if scheme, rest, ok := linkScheme(s); ok {
		return rebuildLink(scheme, rest, false)
	}
	const filePrefix = "file://"
	if len(s) < len(filePrefix) || !strings.EqualFold(s[:len(filePrefix)], filePrefix) {
		return Dropped{}, fmt.Errorf("cannot use dropped item %q: only links and local files can be dropped", s)
	}
	p := s[len(filePrefix):]
	if !strings.HasPrefix(p, "/") {
		host, rest, _ := strings.Cut(p, "/")
		if !strings.EqualFold(host, "localhost") {
			return Dropped{}, fmt.Errorf("cannot use dropped file %q: it is on another host", s)
		}
		p = "/" + rest
	}
	if loc := embeddedScheme.FindStringSubmatchIndex(p); loc != nil {
		scheme := strings.ToLower(p[loc[2]:loc[3]])
		return rebuildLink(scheme, p[loc[1]:], true)
	}
	return Dropped{File: filepath.FromSlash(p)}, nil
}

// ParseURLList reads a text file of links, one a line. Blank lines and lines
// starting with # are skipped; so are lines that are not links, since such
// files are often notes with links among them. It fails when the content is
// not text or holds no link at all.
func ParseURLList(r io.Reader) ([]string, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxListSize+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read the link list: %w", err)
	}
	if len(data) > maxListSize {
		return nil, fmt.Errorf("the file is larger than %d KiB, too large for a list of links", maxListSize>>10)
	}
	if !utf8.Valid(data) || strings.ContainsRune(string(data), 0) {
		return nil, errors.New("the file is not text, so it holds no links")
	}
	var links []string
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	sc.Buffer(make([]byte, 0, 64<<10), maxListSize)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		scheme, rest, ok := linkScheme(line)
		if !ok {
			continue
		}
		d, err := rebuildLink(scheme, rest, false)
		if err != nil {
			continue
		}
		links = append(links, d.Link)
		if len(links) == maxListLinks {
			break
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("cannot read the link list: %w", err)
	}
	if len(links) == 0 {
		return nil, errors.New("the file holds no http, https or dragon:// link")
	}
	return links, nil
}

// Sources turns a dropped item into what Engine.Add takes: the link itself,
// a .dragon file's path, or the links listed in a text file.
func Sources(d Dropped) ([]string, error) {
	if d.Link != "" {
		return []string{d.Link}, nil
	}
	fi, err := os.Stat(d.File)
	if err != nil {
		return nil, fmt.Errorf("cannot open %s: %w", d.File, errors.Unwrap(err))
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("cannot use %s: drop a link, a .dragon file or a text file of links", filepath.Base(d.File))
	}
	if strings.EqualFold(filepath.Ext(d.File), ".dragon") {
		return []string{d.File}, nil
	}
	f, err := os.Open(d.File)
	if err != nil {
		return nil, fmt.Errorf("cannot open %s: %w", d.File, errors.Unwrap(err))
	}
	defer f.Close()
	links, err := ParseURLList(f)
	if err != nil {
		return nil, fmt.Errorf("cannot use %s: %w", filepath.Base(d.File), err)
	}
	return links, nil
}

// Limits on a dropped text file: a list of links is small, and a drop must
// never queue an unbounded number of downloads.
const (
	maxListSize  = 1 << 20
	maxListLinks = 100
)

// embeddedScheme finds a link's scheme inside a file path that a driver made
// out of a link. Cleaning the path left at most one slash after the colon.
var embeddedScheme = regexp.MustCompile(`(?i)/(https?|dragon):/?`)

// collapsed finds links inside a link (a redirect target, a dragon:// link's
// url parameter) whose double slash path cleaning made single.
var collapsed = regexp.MustCompile(`(?i)\b(https?):/([^/])`)

// knownScheme reports whether a URI scheme is one Open accepts: a link
// scheme or file.
func knownScheme(s string) bool {
	switch strings.ToLower(s) {
	case "http", "https", "dragon", "file":
		return true
	}
	return false
}

// linkScheme reports whether s starts with a scheme Dragonload downloads
// from, and returns the lower-cased scheme and what follows its colon.
func linkScheme(s string) (scheme, rest string, ok bool) {
	for _, sc := range []string{"https", "http", "dragon"} {
		if len(s) > len(sc) && strings.EqualFold(s[:len(sc)], sc) && s[len(sc)] == ':' {
			return sc, s[len(sc)+1:], true
		}
	}
	return "", "", false
}

// rebuildLink puts a link back together from its scheme and what followed
// the colon. A link that came through a file path (decoded) lost its "//"
// to path cleaning and its %-escapes to the driver, which decoded them once:
// both are restored. An intact link only loses surrounding slashes.
func rebuildLink(scheme, rest string, decoded bool) (Dropped, error) {
	rest = strings.TrimLeft(rest, "/")
	if decoded {
		rest = collapsed.ReplaceAllString(rest, "$1://$2")
	}
	if scheme == "dragon" {
		if rest == "" {
			return Dropped{}, errors.New("the dropped dragon:// link is empty")
		}
		if decoded {
			rest = reescapeQuery(rest)
		}
		return Dropped{Link: "dragon://" + rest}, nil
	}
	u, err := url.Parse(scheme + "://" + rest)
	if err != nil {
		return Dropped{}, fmt.Errorf("the dropped link is not a valid URL: %w", err)
	}
	if u.Host == "" {
		return Dropped{}, fmt.Errorf("the dropped link %q names no host", scheme+"://"+rest)
	}
	return Dropped{Link: u.String()}, nil
}

// reescapeQuery escapes again the parameter values of a dragon:// link
// whose escapes were decoded once, so the link parser's one decoding gives
// the values back. Values that held a decoded & or = cannot be told apart
// from separators; such links are rare and fail in the parser with a
// clear message.
func reescapeQuery(rest string) string {
	head, query, found := strings.Cut(rest, "?")
	if !found {
		return rest
	}
	params := strings.Split(query, "&")
	for i, p := range params {
		k, v, ok := strings.Cut(p, "=")
		if ok {
			params[i] = k + "=" + escapeParam(v)
		}
	}
	return head + "?" + strings.Join(params, "&")
}

// escapeParam %-encodes every byte of a dragon:// parameter value but
// letters, digits and -._~:/@, as the link format writes them.
func escapeParam(v string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~:/@", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}
