package store

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// sameFile says why a partial of old cannot continue as one of cur, or
// returns "" when it can.
//
// The URL's query and fragment do not count: a newly signed link to the
// same object (an S3 presigned URL, a CDN token) differs only there. A
// different scheme, host or path counts unless both sides carry the same
// SHA-256, which names the bytes wherever they come from; the validators
// of two servers are then not compared, as they say nothing about each
// other. At the same address, bytes of two versions are never mixed: the
// size, the link's SHA-256 and the server's strong ETag (or, without one,
// its Last-Modified date) must be unchanged, and a changed weak ETag also
// proves a change.
func sameFile(old, cur Meta) string {
	sameSum := old.SHA256 != "" && cur.SHA256 != "" && strings.EqualFold(old.SHA256, cur.SHA256)
	oldPlace, curPlace := place(old.URL), place(cur.URL)
	switch {
	case cur.Size < 0:
		return "the server no longer says how big the file is, and serves no ranges"
	case oldPlace != curPlace && !sameSum:
		return fmt.Sprintf("the earlier partial came from %s, not %s, and no SHA-256 known on both sides shows it is the same file",
			oldPlace, curPlace)
	case old.Size != cur.Size:
		return fmt.Sprintf("the file's size changed from %d to %d", old.Size, cur.Size)
	case oldPlace != curPlace:
		return "" // same SHA-256 and size: the same bytes
	case old.SHA256 != "" && cur.SHA256 != "" && !sameSum:
		return fmt.Sprintf("the link's SHA-256 for the file changed from %s to %s",
			strings.ToLower(old.SHA256), strings.ToLower(cur.SHA256))
	}
	oldTag, curTag := strongTag(old), strongTag(cur)
	if oldTag != curTag {
		return changed("ETag", showTag(oldTag), showTag(curTag))
	}
	if ow, cw := weakTag(old), weakTag(cur); ow != "" && cw != "" && ow != cw {
		return changed("weak ETag", showTag(ow), showTag(cw))
	}
	if curTag != "" {
		return ""
	}
	if old.LastModified != cur.LastModified {
		return changed("Last-Modified date", quoteOrEmpty(old.LastModified), quoteOrEmpty(cur.LastModified))
	}
	if cur.LastModified != "" || sameSum {
		return ""
	}
	return "the server gives neither a strong ETag nor a Last-Modified date, so the earlier partial cannot be proven to be the same file"
}

// place is the part of a URL that names the file: scheme, host with its
// port (a default one dropped) and path, without user info, query or
// fragment. It also serves to show a URL in a message, as a query may hold
// a signature that must not reach the logs. Text that does not parse as an
// absolute URL is cut before its query.
// Place is where a URL points, for telling whether two URLs name the same
// file: scheme, host and path, without the query (a newly signed link
// differs only there), fragment, user info or default port.
func Place(rawURL string) string { return place(rawURL) }

func place(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		raw, _, _ = strings.Cut(raw, "#")
		raw, _, _ = strings.Cut(raw, "?")
		return raw
	}
	host := strings.ToLower(u.Host)
	switch {
	case u.Scheme == "https" && strings.HasSuffix(host, ":443"):
		host = strings.TrimSuffix(host, ":443")
	case u.Scheme == "http" && strings.HasSuffix(host, ":80"):
		host = strings.TrimSuffix(host, ":80")
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	return u.Scheme + "://" + host + path
}

// strongTag is m's strong ETag, or "" if it has none.
func strongTag(m Meta) string {
	if strings.HasPrefix(m.ETag, "W/") {
		return ""
	}
	return m.ETag
}

// weakTag is m's weak ETag with its W/ prefix, or "" if it has none. It
// accepts the tag in either field, with or without the prefix.
func weakTag(m Meta) string {
	switch {
	case m.WeakETag != "" && !strings.HasPrefix(m.WeakETag, "W/"):
		return "W/" + m.WeakETag
	case m.WeakETag != "":
		return m.WeakETag
	case strings.HasPrefix(m.ETag, "W/"):
		return m.ETag
	}
	return ""
}

// changed words the change of a validator, where "" means the server sent
// none.
func changed(what, old, cur string) string {
	switch {
	case old == "":
		return fmt.Sprintf("the server sent no %s for the file before, and now sends %s", what, cur)
	case cur == "":
		return fmt.Sprintf("the server sent the %s %s for the file before, and now sends none", what, old)
	}
	return fmt.Sprintf("the server's %s for the file changed from %s to %s", what, old, cur)
}

// showTag prints an ETag as is (it carries its own quotes), or quoted if
// it holds anything but visible ASCII; a journal's text is not trusted.
func showTag(t string) string {
	for i := range len(t) {
		if t[i] <= ' ' || t[i] > '~' {
			return strconv.Quote(clip(t))
		}
	}
	return clip(t)
}

// quoteOrEmpty quotes a date for a message, keeping "" for none.
func quoteOrEmpty(s string) string {
	if s == "" {
		return ""
	}
	return strconv.Quote(clip(s))
}
