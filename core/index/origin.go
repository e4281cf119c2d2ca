package index

import (
	"crypto/sha256"
	"strconv"
	"strings"
)

// originKeyLabel opens every origin key's input, so that the key cannot be
// mistaken for a hash computed for any other purpose.
const originKeyLabel = "dragonload origin key\x00"

// OriginKey names a version of a file at an origin without its bytes: the
// SHA-256 of "dragonload origin key\x00" + url + "\x00" + validator +
// "\x00" + decimal size, where validator is the strong ETag (quotes
// included, as the server sent it) or, when the origin sent none, "lm:" +
// Last-Modified. An ETag starting with W/ is weak and does not count.
//
// It returns false when there is no strong ETag and no Last-Modified, when
// size < 1, or when url is empty: such a key would not name one version of
// one file.
func OriginKey(url, etag, lastModified string, size int64) ([32]byte, bool) {
	if url == "" || size < 1 {
		return [32]byte{}, false
	}
	var validator string
	switch {
	case etag != "" && !strings.HasPrefix(etag, "W/"):
		validator = etag
	case lastModified != "":
		validator = "lm:" + lastModified
	default:
		return [32]byte{}, false
	}
	h := sha256.New()
	h.Write([]byte(originKeyLabel))
	h.Write([]byte(url))
	h.Write([]byte{0})
	h.Write([]byte(validator))
	h.Write([]byte{0})
	h.Write(strconv.AppendInt(nil, size, 10))
	var key [32]byte
	h.Sum(key[:0])
	return key, true
}
