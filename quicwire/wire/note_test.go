package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// nid is a node id whose bytes sort by n.
func nid(n int) [SumLen]byte {
	var id [SumLen]byte
	binary.BigEndian.PutUint32(id[:], uint32(n))
	id[31] = 0xaa
	return id
}

func nids(from, n int) [][SumLen]byte {
	ids := make([][SumLen]byte, n)
	for i := range ids {
		ids[i] = nid(from + i)
	}
	return ids
}

// fullNote is the largest NOTE the cap allows: 16 entries with 256-byte
// names, done and size of 9 bytes each, and as many lender ids as fit
// (373: 23 each, one more in the first 5). extra more ids go to the
// first entry.
func fullNote(extra int) Note {
	var m Note
	next := 0
	for i := range MaxDownloads {
		k := 23
		if i < 5 {
			k++
		}
		if i == 0 {
			k += extra
		}
		m.Downloads = append(m.Downloads, Download{
			File: strings.Repeat(string(rune('a'+i)), MaxFile), Done: MaxRange, Size: MaxRange,
			Lenders: nids(next, k),
		})
		next += k
	}
	return m
}

// rawNote encodes m without any of AppendNote's checks, so that the
// decoder can be shown each rule broken.
func rawNote(m Note) []byte {
	b := binary.AppendUvarint(nil, uint64(len(m.Downloads)))
	for _, e := range m.Downloads {
		b = appendRawString(b, e.File)
		b = binary.AppendUvarint(b, e.Done)
		b = binary.AppendUvarint(b, e.Size)
		b = binary.AppendUvarint(b, uint64(len(e.Lenders)))
		for _, id := range e.Lenders {
			b = append(b, id[:]...)
		}
	}
	return b
}

func TestNoteRoundTrip(t *testing.T) {
	cases := []struct {
		name string
		m    Note
	}{
		{"nothing", Note{}},
		{"one", Note{Downloads: []Download{{File: "ubuntu.iso", Done: 1 << 30, Size: 5 << 30, Lenders: nids(7, 3)}}}},
		{"unknown size", Note{Downloads: []Download{{File: "stream.bin", Done: MaxRange}, {File: "x", Done: 0}}}},
		{"no lenders, done at size", Note{Downloads: []Download{{File: "Ünïcode.tar", Done: 200, Size: 200}}}},
		{"full lender list", Note{Downloads: []Download{{File: "f", Size: 1, Lenders: nids(0, MaxLenders)}}}},
		{"at the cap", fullNote(0)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			frame, err := AppendNote(nil, c.m)
			if err != nil {
				t.Fatal(err)
			}
			typ, p := payload(t, frame)
			if typ != TypeNote {
				t.Fatalf("type %v, want NOTE", typ)
			}
			if len(p) != NoteSize(c.m) {
				t.Fatalf("payload of %d bytes, NoteSize says %d", len(p), NoteSize(c.m))
			}
			got, err := DecodeNote(p)
			if err != nil || !reflect.DeepEqual(got, c.m) {
				t.Fatalf("got %+v, %v\nwant %+v", got, err, c.m)
			}
		})
	}
	if n := NoteSize(fullNote(0)); n > MaxControl || n+SumLen <= MaxControl {
		t.Fatalf("the full note takes %d bytes: not the largest under the cap", n)
	}
}

// Every rule of NOTE, broken once: the encoder refuses to send it and the
// decoder refuses to take it.
func TestNoteRules(t *testing.T) {
	ok := Download{File: "a.iso", Done: 10, Size: 100, Lenders: nids(1, 2)}
	with := func(f func(*Download)) Note {
		e := ok
		e.Lenders = slices.Clone(ok.Lenders)
		f(&e)
		return Note{Downloads: []Download{ok, e}}
	}
	if _, err := AppendNote(nil, with(func(*Download) {})); err != nil {
		t.Fatalf("the valid base NOTE: %v", err)
	}
	if _, err := DecodeNote(rawNote(with(func(*Download) {}))); err != nil {
		t.Fatalf("the valid base NOTE: %v", err)
	}
	cases := []struct {
		name string
		m    Note
	}{
		{"too many downloads", Note{Downloads: slices.Repeat([]Download{ok}, MaxDownloads+1)}},
		{"empty file", with(func(e *Download) { e.File = "" })},
		{"file too long", with(func(e *Download) { e.File = strings.Repeat("f", MaxFile+1) })},
		{"file not utf8", with(func(e *Download) { e.File = "caf\xe9" })},
		{"done beyond size", with(func(e *Download) { e.Done = e.Size + 1 })},
		{"size over 2^62", with(func(e *Download) { e.Size, e.Done = MaxRange+1, 0 })},
		{"done over 2^62, size unknown", with(func(e *Download) { e.Size, e.Done = 0, MaxRange+1 })},
		{"done huge", with(func(e *Download) { e.Size, e.Done = 0, 1<<64-1 })},
		{"too many lenders", with(func(e *Download) { e.Lenders = nids(0, MaxLenders+1) })},
		{"lenders unsorted", with(func(e *Download) { e.Lenders = [][SumLen]byte{nid(2), nid(1)} })},
		{"lender twice", with(func(e *Download) { e.Lenders = [][SumLen]byte{nid(1), nid(1)} })},
		{"lender twice, apart", with(func(e *Download) { e.Lenders = [][SumLen]byte{nid(1), nid(2), nid(1)} })},
		{"lenders differ in the last byte only", with(func(e *Download) {
			a, b := nid(1), nid(1)
			a[31], b[31] = 2, 1
			e.Lenders = [][SumLen]byte{a, b}
		})},
		{"over the cap", fullNote(1)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := AppendNote(nil, c.m); !errors.Is(err, ErrMalformed) {
				t.Errorf("AppendNote: got %v, want ErrMalformed", err)
			}
			// A Reader never hands on a payload over the cap: ParseHeader
			// refuses its header. DecodeNote refuses it all the same.
			if c.name == "over the cap" {
				if _, _, _, err := ParseHeader(AppendHeader(nil, TypeNote, NoteSize(c.m))); !errors.Is(err, ErrMalformed) {
					t.Errorf("ParseHeader: got %v, want ErrMalformed", err)
				}
			}
			if m, err := DecodeNote(rawNote(c.m)); !errors.Is(err, ErrMalformed) {
				t.Errorf("DecodeNote: got %+v, %v; want ErrMalformed", m, err)
			}
		})
	}
}

// Payloads cut short, carrying bytes after the last field, with encodings
// that are not minimal, or with counts the payload cannot hold.
func TestNoteDecodeRejects(t *testing.T) {
	m := Note{Downloads: []Download{{File: "a", Done: 200, Size: 300, Lenders: nids(0, 2)}, {File: "b"}}}
	_, p := payload(t, must(AppendNote(nil, m)))
	if _, err := DecodeNote(p); err != nil {
		t.Fatalf("the valid payload: %v", err)
	}
	if _, err := DecodeNote(append(p[:len(p):len(p)], 0)); !errors.Is(err, ErrMalformed) {
		t.Errorf("with a trailing byte: got %v", err)
	}
	for n := range len(p) {
		if _, err := DecodeNote(p[:n]); !errors.Is(err, ErrMalformed) {
			t.Errorf("cut to %d of %d bytes: got %v", n, len(p), err)
		}
	}
	// 200 with a trailing zero group is not minimal.
	i := bytes.Index(p, []byte{0xc8, 0x01})
	if _, err := DecodeNote(slices.Concat(p[:i], []byte{0xc8, 0x81, 0x00}, p[i+2:])); !errors.Is(err, ErrMalformed) {
		t.Errorf("with a non-minimal uvarint: got %v", err)
	}
	for name, q := range map[string][]byte{
		"17 downloads":            {MaxDownloads + 1},
		"huge download count":     binary.AppendUvarint(nil, 1<<40),
		"65 lenders":              slices.Concat([]byte{1}, appendRawString(nil, "f"), []byte{0, 0, MaxLenders + 1}, make([]byte, (MaxLenders+1)*SumLen)),
		"lenders beyond payload":  slices.Concat([]byte{1}, appendRawString(nil, "f"), []byte{0, 0, 3}, make([]byte, 2*SumLen+31)),
		"huge lender count":       slices.Concat([]byte{1}, appendRawString(nil, "f"), []byte{0, 0}, binary.AppendUvarint(nil, 1<<40)),
		"zero-length file":        {1, 0, 0, 0, 0},
		"empty payload":           {},
		"count without downloads": {2, 1, 'f', 0, 0, 0},
	} {
		if got, err := DecodeNote(q); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: got %+v, %v; want ErrMalformed", name, got, err)
		}
	}
}

// NoteSize is exact for any note, valid or not, so that a sender can fit
// one to the cap before encoding it.
func TestNoteSize(t *testing.T) {
	for _, m := range []Note{
		{},
		fullNote(0),
		fullNote(500),
		{Downloads: slices.Repeat([]Download{{File: strings.Repeat("é", 300), Done: 1 << 63, Size: 1<<64 - 1, Lenders: nids(0, 200)}}, 40)},
	} {
		if got, want := NoteSize(m), len(rawNote(m)); got != want {
			t.Errorf("NoteSize %d, want %d", got, want)
		}
	}
}
