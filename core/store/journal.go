package store

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"strconv"
	"strings"

	"github.com/dragonload/dragonload/core/span"
)

// journal is the decoded content of a journal file.
type journal struct {
	meta Meta // Name is the name the partial belongs to
	done span.Set
}

const (
	journalHeader = "dragonload-journal 1"
	journalPrefix = "dragonload-journal "
	// maxJournal bounds what is read and decoded. A coalesced journal of
	// even a badly fragmented download is a few kilobytes.
	maxJournal = 4 << 20
	// maxSize bounds a size so that offsets never overflow.
	maxSize = 1 << 62
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// encode returns the journal's bytes in the format of the package doc.
func (j *journal) encode() []byte {
	var b bytes.Buffer
	b.WriteString(journalHeader + "\n")
	fmt.Fprintf(&b, "url %s\n", strconv.Quote(j.meta.URL))
	fmt.Fprintf(&b, "size %d\n", j.meta.Size)
	// One line holds the ETag, strong or (with its W/ prefix) weak, as
	// the header does, so version 1 journals stay as they were.
	tag := strongTag(j.meta)
	if tag == "" {
		tag = weakTag(j.meta)
	}
	fmt.Fprintf(&b, "etag %s\n", strconv.Quote(tag))
	fmt.Fprintf(&b, "last-modified %s\n", strconv.Quote(j.meta.LastModified))
	fmt.Fprintf(&b, "sha256 %s\n", strconv.Quote(j.meta.SHA256))
	fmt.Fprintf(&b, "name %s\n", strconv.Quote(j.meta.Name))
	for _, r := range j.done.Ranges() {
		fmt.Fprintf(&b, "done %d %d\n", r.Off, r.End)
	}
	fmt.Fprintf(&b, "crc32c %08x\n", crc32.Checksum(b.Bytes(), castagnoli))
	return b.Bytes()
}

// decodeJournal parses and checks b. Any deviation from the format is an
// error: a journal that is not exactly right is not trusted at all.
func decodeJournal(b []byte) (journal, error) {
	var j journal
	if len(b) > maxJournal {
		return j, fmt.Errorf("it is %d bytes long, more than the %d allowed", len(b), maxJournal)
	}
	if len(b) == 0 || b[len(b)-1] != '\n' {
		return j, errors.New("it does not end with a complete line")
	}
	body := b[:len(b)-1]
	cut := bytes.LastIndexByte(body, '\n') + 1
	sum, ok := strings.CutPrefix(string(body[cut:]), "crc32c ")
	if !ok || len(sum) != 8 || strings.ToLower(sum) != sum {
		return j, errors.New("its last line is not a checksum")
	}
	want, err := strconv.ParseUint(sum, 16, 32)
	if err != nil {
		return j, errors.New("its last line is not a checksum")
	}
	if got := crc32.Checksum(b[:cut], castagnoli); uint32(want) != got {
		return j, fmt.Errorf("its checksum is %08x, but the content sums to %08x", want, got)
	}

	lines := strings.Split(string(b[:cut]), "\n")
	lines = lines[:len(lines)-1] // the empty string after the last "\n"
	if len(lines) == 0 || !strings.HasPrefix(lines[0], journalPrefix) {
		return j, errors.New("it is not a Dragonload journal")
	}
	if lines[0] != journalHeader {
		return j, fmt.Errorf("it has version %q, and only version 1 is understood",
			strings.TrimPrefix(lines[0], journalPrefix))
	}
	lines = lines[1:]
	field := func(key string) (string, error) {
		if len(lines) == 0 {
			return "", fmt.Errorf("its %s line is missing", key)
		}
		v, ok := strings.CutPrefix(lines[0], key+" ")
		if !ok {
			return "", fmt.Errorf("it has %q where the %s line belongs", clip(lines[0]), key)
		}
		lines = lines[1:]
		return v, nil
	}
	str := func(key string, dst *string) error {
		v, err := field(key)
		if err != nil {
			return err
		}
		s, err := strconv.Unquote(v)
		if err != nil || !strings.HasPrefix(v, `"`) {
			return fmt.Errorf("its %s is not a quoted string", key)
		}
		*dst = s
		return nil
	}
	if err := str("url", &j.meta.URL); err != nil {
		return j, err
	}
	v, err := field("size")
	if err != nil {
		return j, err
	}
	if j.meta.Size, err = parseCount(v); err != nil {
		return j, fmt.Errorf("its size is %v", err)
	}
	for _, f := range []struct {
		key string
		dst *string
	}{
		{"etag", &j.meta.ETag},
		{"last-modified", &j.meta.LastModified},
		{"sha256", &j.meta.SHA256},
		{"name", &j.meta.Name},
	} {
		if err := str(f.key, f.dst); err != nil {
			return j, err
		}
	}
	if strings.HasPrefix(j.meta.ETag, "W/") {
		j.meta.WeakETag, j.meta.ETag = j.meta.ETag, ""
	}
	if j.meta.URL == "" && j.meta.SHA256 == "" {
		return j, errors.New("it has neither a url nor a sha256")
	}
	if err := checkName(j.meta.Name); err != nil {
		return j, fmt.Errorf("its name is unusable: %w", err)
	}
	var last int64 = -1
	for len(lines) > 0 {
		v, err := field("done")
		if err != nil {
			return j, err
		}
		a, b, ok := strings.Cut(v, " ")
		off, err1 := parseCount(a)
		end, err2 := parseCount(b)
		if !ok || err1 != nil || err2 != nil {
			return j, fmt.Errorf("its range %q is not two numbers", clip(v))
		}
		r := span.Range{Off: off, End: end}
		if r.Empty() || end > j.meta.Size || off <= last {
			return j, fmt.Errorf("its range %v is empty, beyond the size, or out of order", r)
		}
		j.done.Add(r)
		last = end
	}
	return j, nil
}

// parseCount parses a canonical non-negative decimal: digits only, no
// leading zeros, at most maxSize.
func parseCount(s string) (int64, error) {
	if s == "" || len(s) > 19 || (len(s) > 1 && s[0] == '0') {
		return 0, fmt.Errorf("not a count: %q", clip(s))
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("not a count: %q", clip(s))
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n > maxSize {
		return 0, fmt.Errorf("out of range: %q", clip(s))
	}
	return n, nil
}

// clip shortens untrusted text quoted in an error.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
