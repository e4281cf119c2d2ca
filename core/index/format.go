package index

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Bounds of the index file and of what it may hold. A file past them was
// not written by this package and is treated as damaged.
const (
	formatVersion  = 1
	maxFileSize    = 16 << 20 // bytes of the index file
	maxFileEntries = 100_000  // entries a file may hold
	maxEntries     = 10_000   // entries kept; the oldest go beyond that
	maxNameLen     = 256      // bytes of a display name
	maxPathLen     = 32 << 10 // bytes of a path (Windows long paths)
	maxURLLen      = 16 << 10 // bytes of a URL (signed URLs run long)
	maxFileIDLen   = 64       // bytes of a FileID
)

// file is the on-disk shape of the index:
//
//	{"version":1,"entries":[
//	{record},
//	...
//	]}
type file struct {
	Version int      `json:"version"`
	Entries []record `json:"entries"`
}

// record is one Entry on disk; the hashes are lowercase hex, and a zero
// Origin is left out.
type record struct {
	Path    string    `json:"path"`
	Name    string    `json:"name"`
	Size    int64     `json:"size"`
	ModTime time.Time `json:"mod_time"`
	FileID  string    `json:"file_id,omitempty"`
	SHA256  string    `json:"sha256"`
	Origin  string    `json:"origin,omitempty"`
	URL     string    `json:"url,omitempty"`
	Added   time.Time `json:"added"`
	Shared  bool      `json:"shared"`
}

// encode renders entries, in the order given, as a version 1 file.
func encode(entries []Entry) ([]byte, error) {
	recs := make([][]byte, len(entries))
	for i, e := range entries {
		rec, err := encodeEntry(e)
		if err != nil {
			return nil, err
		}
		recs[i] = rec
	}
	return assemble(recs), nil
}

const (
	fileHead = `{"version":1,"entries":[` + "\n"
	fileTail = "]}\n"
)

// assemble joins encoded records into a file, one record a line.
func assemble(recs [][]byte) []byte {
	n := len(fileHead) + len(fileTail)
	for _, r := range recs {
		n += len(r) + 2
	}
	buf := make([]byte, 0, n)
	buf = append(buf, fileHead...)
	for i, r := range recs {
		buf = append(buf, r...)
		if i < len(recs)-1 {
			buf = append(buf, ',')
		}
		buf = append(buf, '\n')
	}
	return append(buf, fileTail...)
}

// encodeEntry renders one entry as a single-line JSON object. It refuses an
// entry that decode would refuse, since saving it would lose the whole
// index on the next start.
func encodeEntry(e Entry) ([]byte, error) {
	if err := checkEntry(e); err != nil {
		return nil, fmt.Errorf("cannot save the index entry for %s: %w", e.Path, err)
	}
	r := record{
		Path:    e.Path,
		Name:    e.Name,
		Size:    e.Size,
		ModTime: e.ModTime,
		FileID:  e.FileID,
		SHA256:  hex.EncodeToString(e.SHA256[:]),
		URL:     e.URL,
		Added:   e.Added,
		Shared:  e.Shared,
	}
	if e.Origin != ([32]byte{}) {
		r.Origin = hex.EncodeToString(e.Origin[:])
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return nil, fmt.Errorf("cannot save the index entry for %s: %w", e.Path, err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// decode parses an index file and checks every entry against the rules
// Add keeps (checkEntry), and that no path appears twice. Times come back
// in UTC. Entries are in file order.
func decode(data []byte) ([]Entry, error) {
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("it is larger than %d MiB", maxFileSize>>20)
	}
	// The version alone first, so that a newer format is reported as such
	// even if its entries no longer fit record.
	var head struct {
		Version *int `json:"version"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("it is not an index file: %w", err)
	}
	switch {
	case head.Version == nil:
		return nil, errors.New("it has no format version")
	case *head.Version > formatVersion:
		return nil, fmt.Errorf("it was written by a newer Dragonload, format version %d", *head.Version)
	case *head.Version < formatVersion:
		return nil, fmt.Errorf("format version %d is unknown", *head.Version)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f file
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("it is not an index file: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("it has data after the index")
	}
	if len(f.Entries) > maxFileEntries {
		return nil, fmt.Errorf("it holds more than %d entries", maxFileEntries)
	}
	entries := make([]Entry, 0, len(f.Entries))
	seen := make(map[string]bool, len(f.Entries))
	for i, r := range f.Entries {
		e, err := fromRecord(r)
		if err != nil {
			return nil, fmt.Errorf("entry %d: %w", i+1, err)
		}
		if seen[e.Path] {
			return nil, fmt.Errorf("entry %d repeats the path %q", i+1, e.Path)
		}
		seen[e.Path] = true
		entries = append(entries, e)
	}
	return entries, nil
}

// fromRecord turns a record into a checked Entry.
func fromRecord(r record) (Entry, error) {
	e := Entry{
		Path:    r.Path,
		Name:    r.Name,
		Size:    r.Size,
		ModTime: r.ModTime.UTC(),
		FileID:  r.FileID,
		URL:     r.URL,
		Added:   r.Added.UTC(),
		Shared:  r.Shared,
	}
	if err := decodeHash(&e.SHA256, r.SHA256); err != nil {
		return Entry{}, fmt.Errorf("bad sha256: %w", err)
	}
	if r.Origin != "" {
		if err := decodeHash(&e.Origin, r.Origin); err != nil {
			return Entry{}, fmt.Errorf("bad origin: %w", err)
		}
	}
	if err := checkEntry(e); err != nil {
		return Entry{}, err
	}
	return e, nil
}

func decodeHash(dst *[32]byte, s string) error {
	if len(s) != 2*len(dst) {
		return fmt.Errorf("%d hex digits, want %d", len(s), 2*len(dst))
	}
	_, err := hex.Decode(dst[:], []byte(s))
	return err
}

// checkEntry holds the rules every entry keeps, in memory and on disk.
func checkEntry(e Entry) error {
	switch {
	case e.Path == "" || len(e.Path) > maxPathLen:
		return fmt.Errorf("the path is empty or longer than %d bytes", maxPathLen)
	case !utf8.ValidString(e.Path) || strings.ContainsRune(e.Path, 0):
		return fmt.Errorf("the path %q is not valid UTF-8", e.Path)
	case !filepath.IsAbs(e.Path) || filepath.Clean(e.Path) != e.Path:
		return fmt.Errorf("the path %q is not absolute and clean", e.Path)
	case e.Name == "" || len(e.Name) > maxNameLen || !utf8.ValidString(e.Name) || strings.ContainsFunc(e.Name, unicode.IsControl):
		return fmt.Errorf("the name %q is not 1 to %d bytes of printable UTF-8", e.Name, maxNameLen)
	case e.Size < 1:
		return fmt.Errorf("the size %d is not positive", e.Size)
	case !inRange(e.ModTime):
		return fmt.Errorf("the modification time %v is out of range", e.ModTime)
	case len(e.FileID) > maxFileIDLen || strings.ContainsFunc(e.FileID, func(r rune) bool { return r <= ' ' || r > '~' }):
		return fmt.Errorf("the file id %q is not up to %d bytes of printable ASCII", e.FileID, maxFileIDLen)
	case e.SHA256 == [32]byte{}:
		return errors.New("the content hash is missing")
	case len(e.URL) > maxURLLen || !utf8.ValidString(e.URL) || strings.ContainsFunc(e.URL, unicode.IsControl):
		return fmt.Errorf("the URL is not up to %d bytes of printable UTF-8", maxURLLen)
	case e.Added.IsZero() || !inRange(e.Added):
		return fmt.Errorf("the time added %v is missing or out of range", e.Added)
	}
	return nil
}

// inRange reports whether t is in UTC and can be written as RFC 3339,
// which has four-digit years.
func inRange(t time.Time) bool {
	return t.Location() == time.UTC && t.Year() >= 0 && t.Year() <= 9999
}
