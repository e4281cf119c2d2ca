package link

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// scheme is the URI scheme of links handed between programs.
const scheme = "dragon"

// ParseURI reads a dragon:// link. Parameter names are lowercase; url,
// name, size and sha256 may appear once each, mirror and header any number
// of times; anything else is an error.
func ParseURI(s string) (Link, error) {
	if len(s) > MaxFileSize {
		return Link{}, errors.New("dragon link is longer than 64 KiB")
	}
	s = strings.TrimSpace(s)
	if !isDragonURI(s) {
		return Link{}, errors.New("not a dragon link (it must start with dragon://)")
	}
	rest := s[len(scheme)+1:]
	if strings.Contains(rest, "#") {
		return Link{}, errors.New("dragon link must not contain # (write a # inside a URL as %23)")
	}
	rest = strings.TrimPrefix(rest, "//")
	path, query, _ := strings.Cut(rest, "?")
	if path != "" && path != "/" {
		return Link{}, fmt.Errorf("dragon link must carry its fields after \"dragon://?\" (found %q before them)", path)
	}
	var l Link
	given := make(map[string]bool)
	for _, part := range strings.Split(query, "&") {
		if part == "" {
			continue
		}
		rawKey, rawValue, _ := strings.Cut(part, "=")
		key, err := url.PathUnescape(rawKey)
		if err != nil {
			return Link{}, fmt.Errorf("dragon link has a malformed parameter name %q", rawKey)
		}
		value, err := url.PathUnescape(rawValue)
		if err != nil {
			return Link{}, fmt.Errorf("dragon link parameter %q has a malformed %%-escape", key)
		}
		switch key {
		case "url", "name", "size", "sha256":
			if given[key] {
				return Link{}, fmt.Errorf("parameter %q is given twice", key)
			}
			given[key] = true
		}
		if err := setParam(&l, key, value); err != nil {
			return Link{}, err
		}
	}
	if err := l.Validate(); err != nil {
		return Link{}, err
	}
	return l, nil
}

// URI returns l as a dragon:// link that ParseURI reads back as l.
// Parameters come in a fixed order (url, name, size, sha256, mirror...,
// header... sorted by name), those not set left out. URI expects a link
// that passes Validate.
func (l Link) URI() string {
	var b strings.Builder
	b.WriteString(scheme + "://")
	sep := "?"
	param := func(key, value string) {
		b.WriteString(sep + key + "=" + escape(value))
		sep = "&"
	}
	if l.URL != "" {
		param("url", l.URL)
	}
	if l.Name != "" {
		param("name", l.Name)
	}
	if l.Size > 0 {
		param("size", strconv.FormatInt(l.Size, 10))
	}
	if l.SHA256 != "" {
		param("sha256", l.SHA256)
	}
	for _, m := range l.Mirrors {
		param("mirror", m)
	}
	for _, name := range sortedKeys(l.Headers) {
		param("header", name+": "+l.Headers[name])
	}
	return b.String()
}

// ParseSource reads what a user typed, pasted or passed on a command line:
// an http(s) URL or a dragon:// link. ok is false when s is neither (a file
// path, say), and the caller should try it as a link file. Anything that
// starts like a URL (scheme://) is ok, and gets an error if unusable.
func ParseSource(s string) (l Link, ok bool, err error) {
	s = strings.TrimSpace(s)
	if !hasScheme(s) {
		return Link{}, false, nil
	}
	l, err = parseLine(s)
	return l, true, err
}

// setParam stores one dragon:// parameter in l.
func setParam(l *Link, key, value string) error {
	switch key {
	case "url":
		if value == "" {
			return errEmptyURL
		}
		if err := checkDecodedURL("url", value); err != nil {
			return err
		}
		l.URL = value
	case "name":
		l.Name = value
	case "size":
		if value == "" {
			return nil
		}
		for i := 0; i < len(value); i++ {
			if value[i] < '0' || value[i] > '9' {
				return fmt.Errorf("size must be a whole number of bytes in decimal digits (got %q)", value)
			}
		}
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil {
			return fmt.Errorf("size %q is too large", value)
		}
		if n == 0 {
			return errors.New("size must be a positive number of bytes (leave size out when unknown)")
		}
		l.Size = n
	case "sha256":
		if err := checkSHA256(value); err != nil {
			return err
		}
		l.SHA256 = strings.ToLower(value)
	case "mirror":
		if len(l.Mirrors) == maxMirrors {
			return fmt.Errorf("more than %d mirrors are given", maxMirrors)
		}
		if err := checkDecodedURL(fmt.Sprintf("mirror %d", len(l.Mirrors)+1), value); err != nil {
			return err
		}
		l.Mirrors = append(l.Mirrors, value)
	case "header":
		name, v, found := strings.Cut(value, ":")
		if !found {
			return fmt.Errorf("header %q must be written as Name: value", value)
		}
		v = strings.TrimLeft(v, " \t")
		if err := checkHeader(name, v); err != nil {
			return err
		}
		for other := range l.Headers {
			if strings.EqualFold(other, name) {
				return fmt.Errorf("header %q is given twice", name)
			}
		}
		if len(l.Headers) == maxHeaders {
			return fmt.Errorf("more than %d headers are given", maxHeaders)
		}
		if l.Headers == nil {
			l.Headers = make(map[string]string)
		}
		l.Headers[name] = v
	default:
		return fmt.Errorf("unknown parameter %q (known: url, name, size, sha256, mirror, header)", key)
	}
	return nil
}

// checkDecodedURL catches the usual mistake in hand-made dragon:// links:
// a URL pasted with its own %20 escapes, which decode to spaces.
func checkDecodedURL(field, value string) error {
	if strings.Contains(value, " ") {
		return fmt.Errorf("%s contains a space after decoding; in a dragon:// link a URL's own %%-escapes are escaped again (%%20 becomes %%2520)", field)
	}
	return nil
}

// escape percent-encodes a query parameter value. It keeps RFC 3986
// unreserved characters and ":/@", which are plain data in a query, so
// that the URL inside a link stays readable.
func escape(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			strings.IndexByte("-._~:/@", c) >= 0:
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}
