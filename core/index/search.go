package index

import (
	"strings"
	"unicode"
)

// tokens splits s into lower-case words at spaces and punctuation, so that
// "Ubuntu-24.04_desktop" is "ubuntu", "24", "04", "desktop".
func tokens(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsPunct(r)
	})
}

// match reports whether every word of query (lower-case, from tokens)
// occurs in name, and how many of them are whole words of name.
func match(query []string, name string) (whole int, ok bool) {
	lower := strings.ToLower(name)
	for _, w := range query {
		if !strings.Contains(lower, w) {
			return 0, false
		}
	}
	nameWords := make(map[string]bool)
	for _, t := range tokens(name) {
		nameWords[t] = true
	}
	for _, w := range query {
		if nameWords[w] {
			whole++
		}
	}
	return whole, true
}
