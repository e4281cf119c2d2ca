package link

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/BurntSushi/toml"
)

// Parse reads a link file: TOML, or a single line holding an http(s) URL or
// a dragon:// link. A UTF-8 byte order mark and blank lines are ignored.
// Errors name the line they are about where there is one.
func Parse(data []byte) (Link, error) {
	if len(data) > MaxFileSize {
		return Link{}, errors.New("file is larger than 64 KiB")
	}
	data = bytes.TrimPrefix(data, []byte("\uFEFF"))
	if !utf8.Valid(data) {
		return Link{}, errors.New("file is not UTF-8")
	}
	line, n, err := soleURLLine(data)
	if err != nil {
		return Link{}, err
	}
	if n > 0 {
		l, err := parseLine(line)
		if err != nil {
			return Link{}, fmt.Errorf("line %d: %w", n, err)
		}
		return l, nil
	}
	return parseTOML(data)
}

// Format writes l as a link file that Parse reads back as l. The keys come
// in a fixed order and headers are sorted by name, so equal links format
// to equal bytes. Format expects a link that passes Validate.
func (l Link) Format() []byte {
	var b bytes.Buffer
	if l.URL != "" {
		fmt.Fprintf(&b, "url = %s\n", quote(l.URL))
	}
	if l.Name != "" {
		fmt.Fprintf(&b, "name = %s\n", quote(l.Name))
	}
	if l.Size > 0 {
		fmt.Fprintf(&b, "size = %d\n", l.Size)
	}
	if l.SHA256 != "" {
		fmt.Fprintf(&b, "sha256 = %s\n", quote(l.SHA256))
	}
	if len(l.Mirrors) > 0 {
		b.WriteString("mirrors = [\n")
		for _, m := range l.Mirrors {
			fmt.Fprintf(&b, "  %s,\n", quote(m))
		}
		b.WriteString("]\n")
	}
	if len(l.Headers) > 0 {
		b.WriteString("\n[headers]\n")
		for _, name := range sortedKeys(l.Headers) {
			fmt.Fprintf(&b, "%s = %s\n", tomlKey(name), quote(l.Headers[name]))
		}
	}
	return b.Bytes()
}

// soleURLLine finds the one-line form: the first non-blank line starts with
// a URL scheme (no TOML line can) and nothing but blank lines follow. It
// returns the line and its number, or n == 0 for a TOML file.
func soleURLLine(data []byte) (line string, n int, err error) {
	lines := strings.Split(string(data), "\n")
	for i, raw := range lines {
		s := strings.TrimSpace(raw)
		if s == "" {
			continue
		}
		if n > 0 {
			return "", 0, fmt.Errorf("line %d: a one-line link file must hold nothing but its URL", i+1)
		}
		if !hasScheme(s) {
			return "", 0, nil
		}
		line, n = s, i+1
	}
	if n == 0 {
		return "", 0, errors.New("file is empty")
	}
	return line, n, nil
}

// parseLine reads a lone URL or dragon:// link.
func parseLine(s string) (Link, error) {
	if isDragonURI(s) {
		return ParseURI(s)
	}
	l := Link{URL: s}
	if err := l.Validate(); err != nil {
		return Link{}, err
	}
	return l, nil
}

func parseTOML(data []byte) (Link, error) {
	if err := checkShape(data); err != nil {
		return Link{}, err
	}
	var top map[string]toml.Primitive
	md, err := toml.Decode(string(data), &top)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) && pe.Position.Line > 0 {
			return Link{}, fmt.Errorf("line %d: not valid TOML: %s", pe.Position.Line, pe.Message)
		}
		return Link{}, fmt.Errorf("not valid TOML: %w", err)
	}
	var l Link
	keys := topKeys(md, top)
	for _, key := range keys {
		if err := decodeKey(&md, key, top[key], &l); err != nil {
			return Link{}, err
		}
	}
	if p, ok := top["mirrors"]; ok && l.URL != "" {
		// The url may come after the mirrors; compare them now, still
		// reporting the mirrors' line.
		err := check(&md, p, 0, func(any) error { return checkMirrors(l.URL, l.Mirrors) })
		if err != nil {
			return Link{}, err
		}
	}
	if l.URL == "" {
		// Mirrors and headers belong to a url; report the first of them
		// in the file with its line.
		for _, key := range keys {
			var err error
			switch {
			case key == "mirrors" && len(l.Mirrors) > 0:
				err = errMirrorsNeedURL
			case key == "headers" && len(l.Headers) > 0:
				err = errHeadersNeedURL
			default:
				continue
			}
			p := top[key]
			line := lineOf(&md, p)
			if line == 0 && key == "headers" {
				line = firstHeaderLine(&md, p)
			}
			return Link{}, check(&md, p, line, func(any) error { return err })
		}
	}
	// The checks above carry line numbers; this catches what no single
	// key shows (a link without a url that lacks sha256, name or size).
	if err := l.Validate(); err != nil {
		return Link{}, err
	}
	return l, nil
}

// Bounds on a TOML file's shape, far above what a link needs (two levels,
// a few dotted header keys).
const (
	maxNesting  = 8
	maxLineDots = 32
)

// checkShape bounds how deeply a TOML file nests before the decoder sees
// it. The decoder's cost grows much faster than the input with nesting
// (4000 nested inline tables took 20 s here), and a link file dropped in a
// watched folder is untrusted. It tracks strings and comments just well
// enough not to count brackets and dots inside them.
func checkShape(data []byte) error {
	depth, dots, line := 0, 0, 1
	for i := 0; i < len(data); i++ {
		switch c := data[i]; c {
		case '\n':
			line++
			dots = 0
		case '#':
			for i+1 < len(data) && data[i+1] != '\n' {
				i++
			}
		case '"', '\'':
			var newlines int
			i, newlines = skipString(data, i)
			line += newlines
			if newlines > 0 {
				dots = 0
			}
		case '[', '{':
			if depth++; depth > maxNesting {
				return fmt.Errorf("line %d: lists or tables are nested more than %d deep", line, maxNesting)
			}
		case ']', '}':
			depth = max(depth-1, 0)
		case '.':
			if dots++; dots > maxLineDots {
				return fmt.Errorf("line %d: more than %d dots outside quotes (keys are nested too deep)", line, maxLineDots)
			}
		}
	}
	return nil
}

// skipString returns the index of the last byte of the TOML string that
// starts at data[i], and how many line breaks it spans. An unterminated
// string runs to the end of its line (or of the file, if multi-line); the
// decoder reports the error itself.
func skipString(data []byte, i int) (end, newlines int) {
	q := data[i]
	escapes := q == '"'
	if i+2 < len(data) && data[i+1] == q && data[i+2] == q {
		for j := i + 3; j < len(data); j++ {
			switch {
			case escapes && data[j] == '\\':
				j++
				if j < len(data) && data[j] == '\n' {
					newlines++
				}
			case data[j] == '\n':
				newlines++
			case data[j] == q && j+2 < len(data) && data[j+1] == q && data[j+2] == q:
				// Up to two more quotes may close the string as content.
				end = j + 2
				for k := 0; k < 2 && end+1 < len(data) && data[end+1] == q; k++ {
					end++
				}
				return end, newlines
			}
		}
		return len(data) - 1, newlines
	}
	for j := i + 1; j < len(data); j++ {
		switch {
		case escapes && data[j] == '\\':
			if j+1 < len(data) && data[j+1] == '\n' {
				return j, 0
			}
			j++
		case data[j] == q:
			return j, 0
		case data[j] == '\n':
			return j - 1, 0
		}
	}
	return len(data) - 1, 0
}

// topKeys lists the top-level keys in the order the file gives them, so
// the first error reported is the first one in the file.
func topKeys(md toml.MetaData, top map[string]toml.Primitive) []string {
	var keys []string
	seen := make(map[string]bool, len(top))
	for _, k := range md.Keys() {
		if _, ok := top[k[0]]; ok && !seen[k[0]] {
			seen[k[0]] = true
			keys = append(keys, k[0])
		}
	}
	for _, k := range sortedKeys(top) {
		if !seen[k] {
			keys = append(keys, k)
		}
	}
	return keys
}

// decodeKey checks one top-level key and stores its value in l. Each check
// runs inside the TOML decoder (as an Unmarshaler) so that its error comes
// back tagged with the line of the key.
func decodeKey(md *toml.MetaData, key string, p toml.Primitive, l *Link) error {
	switch key {
	case "url":
		return check(md, p, 0, func(v any) error {
			s, err := asString("url", v)
			if err != nil {
				return err
			}
			if s == "" {
				return errEmptyURL
			}
			l.URL = s
			return checkURL("url", s)
		})
	case "name":
		return check(md, p, 0, func(v any) error {
			s, err := asString("name", v)
			if err != nil {
				return err
			}
			l.Name = s
			return checkName(s)
		})
	case "size":
		return check(md, p, 0, func(v any) error {
			n, ok := v.(int64)
			if !ok {
				return fmt.Errorf("size must be a whole number of bytes, not %s", describe(v))
			}
			if n <= 0 {
				return fmt.Errorf("size must be a positive number of bytes (got %d; leave size out when unknown)", n)
			}
			l.Size = n
			return nil
		})
	case "sha256":
		return check(md, p, 0, func(v any) error {
			s, err := asString("sha256", v)
			if err != nil {
				return err
			}
			l.SHA256 = strings.ToLower(s)
			return checkSHA256(s)
		})
	case "mirrors":
		return check(md, p, 0, func(v any) error {
			list, ok := v.([]any)
			if !ok {
				return fmt.Errorf("mirrors must be a list of URLs in [ ], not %s", describe(v))
			}
			var ms []string
			for i, item := range list {
				s, err := asString(fmt.Sprintf("mirror %d", i+1), item)
				if err != nil {
					return err
				}
				ms = append(ms, s)
			}
			l.Mirrors = ms
			return checkMirrors("", ms)
		})
	case "headers":
		return decodeHeaders(md, p, l)
	default:
		return check(md, p, 0, func(any) error {
			return fmt.Errorf("unknown key %q (known keys: url, name, size, sha256, mirrors, headers)", key)
		})
	}
}

func decodeHeaders(md *toml.MetaData, p toml.Primitive, l *Link) error {
	line := lineOf(md, p)
	err := check(md, p, line, func(v any) error {
		t, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("headers must be a table of name = \"value\" pairs, not %s", describe(v))
		}
		if len(t) > maxHeaders {
			return fmt.Errorf("headers has %d entries; at most %d are allowed", len(t), maxHeaders)
		}
		return nil
	})
	if err != nil {
		return err
	}
	var table map[string]toml.Primitive
	if err := md.PrimitiveDecode(p, &table); err != nil {
		return located(err, line)
	}
	names := make([]string, 0, len(table))
	for _, k := range md.Keys() {
		if len(k) == 2 && k[0] == "headers" && !slices.Contains(names, k[1]) {
			names = append(names, k[1])
		}
	}
	for _, k := range sortedKeys(table) {
		if !slices.Contains(names, k) {
			names = append(names, k)
		}
	}
	h := make(map[string]string, len(names))
	for _, name := range names {
		err := check(md, table[name], line, func(v any) error {
			value, err := asString(fmt.Sprintf("header %q", name), v)
			if err != nil {
				return err
			}
			if err := checkHeader(name, value); err != nil {
				return err
			}
			for other := range h {
				if strings.EqualFold(other, name) {
					return fmt.Errorf("header %q is given twice (as %q too)", name, other)
				}
			}
			h[name] = value
			return nil
		})
		if err != nil {
			return err
		}
	}
	if len(h) > 0 {
		l.Headers = h
	}
	return nil
}

// firstHeaderLine finds the line of the first header in the file, for
// headers given as dotted keys (headers.Cookie = ...), which have no line
// of their own.
func firstHeaderLine(md *toml.MetaData, p toml.Primitive) int {
	var table map[string]toml.Primitive
	if err := md.PrimitiveDecode(p, &table); err != nil {
		return 0
	}
	for _, k := range md.Keys() {
		if len(k) == 2 && k[0] == "headers" {
			if e, ok := table[k[1]]; ok {
				return lineOf(md, e)
			}
		}
	}
	return 0
}

// checker adapts a check function to toml.Unmarshaler.
type checker func(v any) error

func (c checker) UnmarshalTOML(v any) error { return c(v) }

// check runs fn on the value of p inside the decoder and returns its error
// prefixed with the line of p's key (or fallback when the decoder knows no
// line for it).
func check(md *toml.MetaData, p toml.Primitive, fallback int, fn func(v any) error) error {
	c := checker(fn)
	if err := md.PrimitiveDecode(p, &c); err != nil {
		return located(err, fallback)
	}
	return nil
}

// lineOf finds the line of p's key. The decoder keeps key positions to
// itself and only reveals them in the errors it returns, so ask it for one.
func lineOf(md *toml.MetaData, p toml.Primitive) int {
	c := checker(func(any) error { return errors.New("position probe") })
	var pe toml.ParseError
	if err := md.PrimitiveDecode(p, &c); errors.As(err, &pe) {
		return pe.Position.Line
	}
	return 0
}

func located(err error, fallback int) error {
	var pe toml.ParseError
	if !errors.As(err, &pe) {
		return err
	}
	line := pe.Position.Line
	if line == 0 {
		line = fallback
	}
	if line == 0 {
		return errors.New(pe.Message)
	}
	return fmt.Errorf("line %d: %s", line, pe.Message)
}

func asString(field string, v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%s must be text in quotes, not %s", field, describe(v))
	}
	return s, nil
}

// describe names a decoded TOML value's type for an error message.
func describe(v any) string {
	switch v.(type) {
	case string:
		return "text"
	case int64:
		return "a whole number"
	case float64:
		return "a decimal number"
	case bool:
		return "true or false"
	case time.Time:
		return "a date"
	case []any, []map[string]any:
		return "a list"
	case map[string]any:
		return "a table"
	}
	return fmt.Sprintf("a %T", v)
}

// quote writes s as a TOML basic string. Only '"', '\\' and control
// characters are escaped; everything else is written as it is (UTF-8).
func quote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\t':
			b.WriteString(`\t`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		default:
			if r < ' ' || r == 0x7f {
				fmt.Fprintf(&b, `\u%04X`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// tomlKey writes a key bare when TOML allows it, else quoted.
func tomlKey(k string) string {
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return quote(k)
		}
	}
	if k == "" {
		return `""`
	}
	return k
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// hasScheme reports whether s starts like an absolute URL: a scheme
// (RFC 3986: a letter, then letters, digits, '+', '-', '.') and a colon,
// followed by "//" for anything but dragon: links.
func hasScheme(s string) bool {
	if isDragonURI(s) {
		return true
	}
	i := strings.Index(s, "://")
	if i < 1 {
		return false
	}
	for j := 0; j < i; j++ {
		c := s[j]
		letter := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		if !letter && (j == 0 || !('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	return true
}

// isDragonURI reports whether s has the dragon: scheme, in any case.
func isDragonURI(s string) bool {
	return len(s) >= len(scheme)+1 && strings.EqualFold(s[:len(scheme)+1], scheme+":")
}
