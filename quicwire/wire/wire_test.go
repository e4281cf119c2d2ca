package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestParseHeader(t *testing.T) {
	cases := []struct {
		name    string
		in      []byte
		typ     Type
		n, hdr  int
		short   bool
		badness bool
	}{
		{name: "empty", in: nil, short: true},
		{name: "type only", in: []byte{0x07}, short: true},
		{name: "data 1", in: []byte{0x07, 0x01}, typ: TypeData, n: 1, hdr: 2},
		{name: "data max", in: AppendHeader(nil, TypeData, MaxData), typ: TypeData, n: MaxData, hdr: 4},
		{name: "data over cap", in: AppendHeader(nil, TypeData, MaxData+1), badness: true},
		{name: "data empty", in: []byte{0x07, 0x00}, badness: true},
		{name: "control over cap", in: AppendHeader(nil, TypeStatus, MaxControl+1), badness: true},
		{name: "query", in: []byte{0x04, 0x00}, typ: TypeQuery, n: 0, hdr: 2},
		{name: "unknown type", in: []byte{0x10, 0x00}, badness: true},
		{name: "note at cap", in: AppendHeader(nil, TypeNote, MaxControl), typ: TypeNote, n: MaxControl, hdr: 4},
		{name: "note over cap", in: AppendHeader(nil, TypeNote, MaxControl+1), badness: true},
		{name: "holding max", in: AppendHeader(nil, TypeHolding, MaxHolding), typ: TypeHolding, n: MaxHolding, hdr: 4},
		{name: "holding over cap", in: AppendHeader(nil, TypeHolding, MaxHolding+1), badness: true},
		{name: "found max", in: AppendHeader(nil, TypeFound, MaxFound), typ: TypeFound, n: MaxFound, hdr: 4},
		{name: "found over cap", in: AppendHeader(nil, TypeFound, MaxFound+1), badness: true},
		{name: "have over cap", in: AppendHeader(nil, TypeHave, MaxControl+1), badness: true},
		{name: "read over cap", in: AppendHeader(nil, TypeRead, MaxControl+1), badness: true},
		{name: "search over cap", in: AppendHeader(nil, TypeSearch, MaxControl+1), badness: true},
		{name: "search at cap", in: AppendHeader(nil, TypeSearch, MaxControl), typ: TypeSearch, n: MaxControl, hdr: 4},
		{name: "type zero", in: []byte{0x00, 0x00}, badness: true},
		{name: "non-minimal length", in: []byte{0x05, 0x81, 0x00}, badness: true},
		{name: "length too long", in: []byte{0x07, 0x80, 0x80, 0x80, 0x01}, badness: true},
		{name: "length cut", in: []byte{0x07, 0x80, 0x80}, short: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			typ, n, hdr, err := ParseHeader(c.in)
			switch {
			case c.short:
				if err != ErrIncomplete {
					t.Fatalf("got %v, want ErrIncomplete", err)
				}
			case c.badness:
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("got %v, want ErrMalformed", err)
				}
			default:
				if err != nil || typ != c.typ || n != c.n || hdr != c.hdr {
					t.Fatalf("got %v %d %d %v, want %v %d %d", typ, n, hdr, err, c.typ, c.n, c.hdr)
				}
			}
		})
	}
}

// trickle returns at most one byte per Read, the worst case for framing.
type trickle struct{ r io.Reader }

func (t trickle) Read(p []byte) (int, error) {
	if len(p) > 1 {
		p = p[:1]
	}
	return t.r.Read(p)
}

func TestReaderFrames(t *testing.T) {
	var stream []byte
	want := [][]byte{bytes.Repeat([]byte{1}, MaxData), {2}, bytes.Repeat([]byte{3}, 1000), bytes.Repeat([]byte{4}, MaxData)}
	for _, p := range want {
		stream = append(AppendHeader(stream, TypeData, len(p)), p...)
	}
	stream = AppendEnd(stream, End{Length: 7})
	for _, src := range []struct {
		name string
		r    io.Reader
	}{{"whole", bytes.NewReader(stream)}, {"trickle", trickle{bytes.NewReader(stream)}}} {
		t.Run(src.name, func(t *testing.T) {
			r := NewReader(src.r, make([]byte, ReaderBufSize))
			for i, w := range want {
				typ, p, err := r.Next()
				if err != nil || typ != TypeData || !bytes.Equal(p, w) {
					t.Fatalf("frame %d: got %v len %d %v", i, typ, len(p), err)
				}
			}
			typ, p, err := r.Next()
			if err != nil || typ != TypeEnd {
				t.Fatalf("end: got %v %v", typ, err)
			}
			if e, err := DecodeEnd(p); err != nil || e.Length != 7 {
				t.Fatalf("end decode: %+v %v", e, err)
			}
			if err := r.ExpectEOF(); err != nil {
				t.Fatalf("ExpectEOF: %v", err)
			}
		})
	}
}

func TestReaderErrors(t *testing.T) {
	cases := []struct {
		name string
		in   []byte
		want error
	}{
		{"clean eof", nil, io.EOF},
		{"cut header", []byte{0x07}, io.ErrUnexpectedEOF},
		{"cut payload", []byte{0x07, 0x05, 1, 2}, io.ErrUnexpectedEOF},
		{"garbage type", []byte{0xee, 0x01, 0x00}, ErrMalformed},
		{"oversize", AppendHeader(nil, TypeError, MaxControl+1), ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := NewReader(bytes.NewReader(c.in), make([]byte, ReaderBufSize))
			if _, _, err := r.Next(); !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
	r := NewReader(bytes.NewReader([]byte{0x04, 0x00, 0x04}), make([]byte, ReaderBufSize))
	if _, _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	if err := r.ExpectEOF(); !errors.Is(err, ErrMalformed) {
		t.Fatalf("ExpectEOF with a byte left: got %v", err)
	}
}

func TestReaderNoAllocs(t *testing.T) {
	frame := append(AppendHeader(nil, TypeData, MaxData), make([]byte, MaxData)...)
	src := bytes.NewReader(nil)
	r := NewReader(src, make([]byte, ReaderBufSize))
	allocs := testing.AllocsPerRun(100, func() {
		src.Reset(frame)
		if _, _, err := r.Next(); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per frame, want 0", allocs)
	}
}

// payload strips the frame header off one encoded frame.
func payload(t testing.TB, frame []byte) (Type, []byte) {
	t.Helper()
	typ, n, hdr, err := ParseHeader(frame)
	if err != nil || hdr+n != len(frame) {
		t.Fatalf("frame does not parse: %v (hdr %d, n %d, len %d)", err, hdr, n, len(frame))
	}
	return typ, frame[hdr:]
}

func TestRoundTrip(t *testing.T) {
	sum := [SumLen]byte{1, 2, 3, 31: 9}
	fetch := Fetch{
		URL:     "https://example.org/big.iso",
		Headers: map[string]string{"Authorization": "Bearer x", "User-Agent": "dl\t1"},
		Offset:  1 << 40, Length: 4 << 20, Size: -1, ETag: `"abc"`, LastModified: "Mon, 02 Jan 2006 15:04:05 GMT",
	}
	holding := Holding{
		Size: 1 << 33, SHA256: sum, Name: "ubuntu.iso",
		Have:   []Range{{0, 1 << 20}, {1<<20 + 1, 7}},
		Claims: []Range{{1 << 30, 1 << 20}, {1<<33 - 1, 1}},
	}
	// Both lists full, at offsets that take 9 bytes each: still well under
	// the cap.
	fullHolding := Holding{Size: MaxRange, Name: strings.Repeat("n", MaxName)}
	for i := range uint64(MaxRanges) {
		fullHolding.Have = append(fullHolding.Have, Range{MaxRange/2 + i*1000, 999})
		fullHolding.Claims = append(fullHolding.Claims, Range{MaxRange - (MaxRanges-i)*1000, 999})
	}
	found := Found{}
	for i := range MaxResults {
		found.Results = append(found.Results, Result{Name: strings.Repeat("é", MaxName/2), Size: MaxRange - uint64(i), SHA256: sum})
	}
	cases := []struct {
		name   string
		typ    Type
		frame  func() ([]byte, error)
		decode func([]byte) (any, error)
		want   any
	}{
		{"hello", TypeHello,
			func() ([]byte, error) { return AppendHello(nil, Hello{Version: 2, Share: sum}) },
			func(p []byte) (any, error) { return DecodeHello(p) },
			Hello{Version: 2, Share: sum}},
		{"welcome", TypeWelcome,
			func() ([]byte, error) {
				return AppendWelcome(nil, Welcome{Version: 2, Share: sum, Confirm: [SumLen]byte{9, 8}})
			},
			func(p []byte) (any, error) { return DecodeWelcome(p) },
			Welcome{Version: 2, Share: sum, Confirm: [SumLen]byte{9, 8}}},
		{"ident", TypeIdent,
			func() ([]byte, error) { return AppendIdent(nil, Ident{Confirm: sum, Name: "Ünïcode laptop"}) },
			func(p []byte) (any, error) { return DecodeIdent(p) },
			Ident{Confirm: sum, Name: "Ünïcode laptop"}},
		{"query", TypeQuery,
			func() ([]byte, error) { return AppendQuery(nil), nil },
			func(p []byte) (any, error) { return nil, DecodeQuery(p) },
			nil},
		{"status", TypeStatus,
			func() ([]byte, error) { return AppendStatus(nil, Status{Lending: true, Name: "x"}) },
			func(p []byte) (any, error) { return DecodeStatus(p) },
			Status{Lending: true, Name: "x"}},
		{"fetch", TypeFetch,
			func() ([]byte, error) { return AppendFetch(nil, fetch) },
			func(p []byte) (any, error) { return DecodeFetch(p) },
			fetch},
		{"fetch no headers", TypeFetch,
			func() ([]byte, error) { return AppendFetch(nil, Fetch{URL: "http://h/", Length: 1}) },
			func(p []byte) (any, error) { return DecodeFetch(p) },
			Fetch{URL: "http://h/", Length: 1}},
		{"end", TypeEnd,
			func() ([]byte, error) { return AppendEnd(nil, End{Length: 1 << 33}), nil },
			func(p []byte) (any, error) { return DecodeEnd(p) },
			End{Length: 1 << 33}},
		{"end with sum (before version 4)", TypeEnd,
			func() ([]byte, error) { return AppendEnd(nil, End{Length: 1 << 33, Sum: &sum}), nil },
			func(p []byte) (any, error) { return DecodeEnd(p) },
			End{Length: 1 << 33, Sum: &sum}},
		{"error", TypeError,
			func() ([]byte, error) {
				return AppendError(nil, Error{Code: 4, HTTPStatus: 503, RetryAfterMS: 1500, Message: "origin said 503"})
			},
			func(p []byte) (any, error) { return DecodeError(p) },
			Error{Code: 4, HTTPStatus: 503, RetryAfterMS: 1500, Message: "origin said 503"}},
		{"have", TypeHave,
			func() ([]byte, error) { return AppendHave(nil, Have{Key: Key{Kind: KeyOrigin, Sum: sum}}) },
			func(p []byte) (any, error) { return DecodeHave(p) },
			Have{Key: Key{Kind: KeyOrigin, Sum: sum}}},
		{"holding", TypeHolding,
			func() ([]byte, error) { return AppendHolding(nil, holding) },
			func(p []byte) (any, error) { return DecodeHolding(p) },
			holding},
		{"holding full", TypeHolding,
			func() ([]byte, error) { return AppendHolding(nil, fullHolding) },
			func(p []byte) (any, error) { return DecodeHolding(p) },
			fullHolding},
		{"holding bare", TypeHolding,
			func() ([]byte, error) { return AppendHolding(nil, Holding{Size: 1}) },
			func(p []byte) (any, error) { return DecodeHolding(p) },
			Holding{Size: 1}},
		{"read", TypeRead,
			func() ([]byte, error) {
				return AppendRead(nil, Read{Key: Key{Kind: KeySHA256, Sum: sum}, Offset: 1 << 40, Length: 1 << 22})
			},
			func(p []byte) (any, error) { return DecodeRead(p) },
			Read{Key: Key{Kind: KeySHA256, Sum: sum}, Offset: 1 << 40, Length: 1 << 22}},
		{"search", TypeSearch,
			func() ([]byte, error) { return AppendSearch(nil, Search{Words: "ubuntu 24.04 desktop"}) },
			func(p []byte) (any, error) { return DecodeSearch(p) },
			Search{Words: "ubuntu 24.04 desktop"}},
		{"found", TypeFound,
			func() ([]byte, error) { return AppendFound(nil, found) },
			func(p []byte) (any, error) { return DecodeFound(p) },
			found},
		{"found nothing", TypeFound,
			func() ([]byte, error) { return AppendFound(nil, Found{}) },
			func(p []byte) (any, error) { return DecodeFound(p) },
			Found{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			frame, err := c.frame()
			if err != nil {
				t.Fatal(err)
			}
			typ, p := payload(t, frame)
			if typ != c.typ {
				t.Fatalf("type %v, want %v", typ, c.typ)
			}
			got, err := c.decode(p)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestEncodeRefuses(t *testing.T) {
	cases := []struct {
		name string
		f    func() ([]byte, error)
	}{
		{"long name", func() ([]byte, error) { return AppendIdent(nil, Ident{Name: strings.Repeat("n", MaxName+1)}) }},
		{"bad utf8 name", func() ([]byte, error) { return AppendStatus(nil, Status{Name: "\xff"}) }},
		{"empty url", func() ([]byte, error) { return AppendFetch(nil, Fetch{Length: 1}) }},
		{"long url", func() ([]byte, error) {
			return AppendFetch(nil, Fetch{URL: strings.Repeat("u", MaxURL+1), Length: 1})
		}},
		{"zero length", func() ([]byte, error) { return AppendFetch(nil, Fetch{URL: "u"}) }},
		{"range overflow", func() ([]byte, error) { return AppendFetch(nil, Fetch{URL: "u", Offset: MaxRange, Length: 1}) }},
		{"header crlf", func() ([]byte, error) {
			return AppendFetch(nil, Fetch{URL: "u", Length: 1, Headers: map[string]string{"X": "a\r\nHost: evil"}})
		}},
		{"header name space", func() ([]byte, error) {
			return AppendFetch(nil, Fetch{URL: "u", Length: 1, Headers: map[string]string{"X Y": "a"}})
		}},
		{"too many headers", func() ([]byte, error) {
			h := map[string]string{}
			for i := range MaxHeaders + 1 {
				h[strings.Repeat("h", i+1)] = "v"
			}
			return AppendFetch(nil, Fetch{URL: "u", Length: 1, Headers: h})
		}},
		{"header too big", func() ([]byte, error) {
			return AppendFetch(nil, Fetch{URL: "u", Length: 1, Headers: map[string]string{"X": strings.Repeat("v", MaxHeaderField)}})
		}},
		{"fetch over frame cap", func() ([]byte, error) {
			h := map[string]string{}
			for i := range 20 {
				h[strings.Repeat("h", i+1)] = strings.Repeat("v", 3500)
			}
			return AppendFetch(nil, Fetch{URL: "u", Length: 1, Headers: h})
		}},
		{"error code 0", func() ([]byte, error) { return AppendError(nil, Error{}) }},
		{"error bad status", func() ([]byte, error) { return AppendError(nil, Error{Code: 1, HTTPStatus: 42}) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := c.f(); !errors.Is(err, ErrMalformed) {
				t.Fatalf("got %v, want ErrMalformed", err)
			}
		})
	}
}

func TestErrorMessageTruncated(t *testing.T) {
	msg := strings.Repeat("é", MaxMessage) // 2 bytes each: must be cut at a rune boundary
	frame, err := AppendError(nil, Error{Code: 8, Message: msg})
	if err != nil {
		t.Fatal(err)
	}
	_, p := payload(t, frame)
	m, err := DecodeError(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Message) != MaxMessage || !strings.HasPrefix(msg, m.Message) {
		t.Fatalf("message of %d bytes, want a %d-byte prefix", len(m.Message), MaxMessage)
	}
}

func TestDecodeRejects(t *testing.T) {
	fetchPayload := func(f Fetch) []byte {
		frame, err := AppendFetch(nil, f)
		if err != nil {
			t.Fatal(err)
		}
		_, p := payload(t, frame)
		return p
	}
	good := fetchPayload(Fetch{URL: "http://h/", Length: 1})
	dup := appendRawString(nil, "http://h/")
	dup = append(dup, 2)
	for _, s := range []string{"A", "v", "A", "w"} {
		dup = appendRawString(dup, s)
	}
	dup = append(dup, 0, 1, 0, 0, 0) // offset, length, size, etag, last-modified
	cases := []struct {
		name string
		f    func() error
	}{
		{"hello short", func() error { _, err := DecodeHello([]byte{1, 2, 3}); return err }},
		{"welcome short", func() error {
			_, err := DecodeWelcome(append([]byte{2}, make([]byte, SumLen+5)...))
			return err
		}},
		{"ident trailing", func() error {
			_, err := DecodeIdent(append(make([]byte, SumLen), 1, 'a', 'b'))
			return err
		}},
		{"ident bad utf8", func() error { _, err := DecodeIdent(append(make([]byte, SumLen), 1, 0xff)); return err }},
		{"ident short", func() error { _, err := DecodeIdent([]byte{1, 'a'}); return err }},
		{"query not empty", func() error { return DecodeQuery([]byte{0}) }},
		{"status missing name", func() error { _, err := DecodeStatus([]byte{1}); return err }},
		{"fetch trailing", func() error { _, err := DecodeFetch(append(good, 0)); return err }},
		{"fetch cut", func() error { _, err := DecodeFetch(good[:len(good)-1]); return err }},
		{"fetch duplicate header", func() error { _, err := DecodeFetch(dup); return err }},
		{"end short sum", func() error { _, err := DecodeEnd([]byte{1, 2}); return err }},
		{"error code 0", func() error { _, err := DecodeError([]byte{0, 0, 0, 0}); return err }},
		{"error status 42", func() error { _, err := DecodeError([]byte{1, 42, 0, 0}); return err }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := c.f(); !errors.Is(err, ErrMalformed) {
				t.Fatalf("got %v, want ErrMalformed", err)
			}
		})
	}
}

// rawHolding encodes h without any of AppendHolding's checks, so that the
// decoder can be shown each rule broken.
func rawHolding(h Holding) []byte {
	b := binary.AppendUvarint(nil, h.Size)
	b = append(b, h.SHA256[:]...)
	b = appendRawString(b, h.Name)
	for _, list := range [][]Range{h.Have, h.Claims} {
		b = appendRanges(b, list)
	}
	return b
}

func rawFound(m Found) []byte {
	b := binary.AppendUvarint(nil, uint64(len(m.Results)))
	for _, r := range m.Results {
		b = appendRawString(b, r.Name)
		b = binary.AppendUvarint(b, r.Size)
		b = append(b, r.SHA256[:]...)
	}
	return b
}

func rawRead(m Read) []byte {
	b := append([]byte{m.Key.Kind}, m.Key.Sum[:]...)
	b = binary.AppendUvarint(b, m.Offset)
	return binary.AppendUvarint(b, m.Length)
}

func ranges(n int, off, length, gap uint64) []Range {
	rs := make([]Range, n)
	for i := range rs {
		rs[i] = Range{off, length}
		off += length + gap
	}
	return rs
}

// Every rule of the version 3 frames, broken once: the encoder refuses
// to send it and the decoder refuses to take it.
func TestShareRules(t *testing.T) {
	ok := Holding{Size: 1000, Have: []Range{{0, 10}, {11, 5}}, Claims: []Range{{500, 500}}}
	if _, err := AppendHolding(nil, ok); err != nil {
		t.Fatalf("the valid base HOLDING: %v", err)
	}
	if _, err := DecodeHolding(rawHolding(ok)); err != nil {
		t.Fatalf("the valid base HOLDING: %v", err)
	}
	with := func(f func(*Holding)) Holding {
		h := ok
		f(&h)
		return h
	}
	holdings := []struct {
		name string
		h    Holding
	}{
		{"size 0", with(func(h *Holding) { h.Size, h.Have, h.Claims = 0, nil, nil })},
		{"size over 2^62", with(func(h *Holding) { h.Size = MaxRange + 1 })},
		{"name too long", with(func(h *Holding) { h.Name = strings.Repeat("n", MaxName+1) })},
		{"name not utf8", with(func(h *Holding) { h.Name = "\xff" })},
		{"too many have ranges", with(func(h *Holding) { h.Size, h.Have = 1<<20, ranges(MaxRanges+1, 0, 1, 1) })},
		{"too many claims", with(func(h *Holding) { h.Size, h.Claims = 1<<20, ranges(MaxRanges+1, 0, 1, 1) })},
		{"empty range", with(func(h *Holding) { h.Have = []Range{{0, 10}, {20, 0}} })},
		{"empty first range", with(func(h *Holding) { h.Have = []Range{{0, 0}} })},
		{"unsorted", with(func(h *Holding) { h.Have = []Range{{20, 10}, {0, 10}} })},
		{"overlapping", with(func(h *Holding) { h.Have = []Range{{0, 10}, {5, 10}} })},
		{"same offset twice", with(func(h *Holding) { h.Have = []Range{{0, 10}, {0, 10}} })},
		{"adjacent", with(func(h *Holding) { h.Have = []Range{{0, 10}, {10, 5}} })},
		{"adjacent claims", with(func(h *Holding) { h.Claims = []Range{{0, 10}, {10, 5}} })},
		{"ends beyond size", with(func(h *Holding) { h.Have = []Range{{990, 11}} })},
		{"starts at size", with(func(h *Holding) { h.Claims = []Range{{1000, 1}} })},
		{"starts beyond size", with(func(h *Holding) { h.Claims = []Range{{1 << 40, 1}} })},
		{"length overflows", with(func(h *Holding) { h.Have = []Range{{10, 1<<64 - 5}} })},
	}
	for _, c := range holdings {
		t.Run("holding/"+c.name, func(t *testing.T) {
			if _, err := AppendHolding(nil, c.h); !errors.Is(err, ErrMalformed) {
				t.Errorf("AppendHolding: got %v, want ErrMalformed", err)
			}
			if m, err := DecodeHolding(rawHolding(c.h)); !errors.Is(err, ErrMalformed) {
				t.Errorf("DecodeHolding: got %+v, %v; want ErrMalformed", m, err)
			}
		})
	}

	okFound := Found{Results: []Result{{Name: "a", Size: 1}}}
	founds := []struct {
		name string
		m    Found
	}{
		{"too many results", Found{Results: slices.Repeat(okFound.Results, MaxResults+1)}},
		{"empty name", Found{Results: []Result{{Name: "a", Size: 1}, {Size: 1}}}},
		{"name too long", Found{Results: []Result{{Name: strings.Repeat("n", MaxName+1), Size: 1}}}},
		{"name not utf8", Found{Results: []Result{{Name: "\xc3", Size: 1}}}},
		{"size 0", Found{Results: []Result{{Name: "a"}}}},
		{"size over 2^62", Found{Results: []Result{{Name: "a", Size: MaxRange + 1}}}},
	}
	for _, c := range founds {
		t.Run("found/"+c.name, func(t *testing.T) {
			if _, err := AppendFound(nil, c.m); !errors.Is(err, ErrMalformed) {
				t.Errorf("AppendFound: got %v, want ErrMalformed", err)
			}
			if m, err := DecodeFound(rawFound(c.m)); !errors.Is(err, ErrMalformed) {
				t.Errorf("DecodeFound: got %+v, %v; want ErrMalformed", m, err)
			}
		})
	}

	reads := []struct {
		name string
		m    Read
	}{
		{"key kind 0", Read{Key: Key{Kind: 0}, Length: 1}},
		{"key kind 3", Read{Key: Key{Kind: 3}, Length: 1}},
		{"zero length", Read{Key: Key{Kind: KeySHA256}}},
		{"range beyond 2^62", Read{Key: Key{Kind: KeyOrigin}, Offset: MaxRange, Length: 1}},
		{"length beyond 2^62", Read{Key: Key{Kind: KeyOrigin}, Length: MaxRange + 1}},
	}
	for _, c := range reads {
		t.Run("read/"+c.name, func(t *testing.T) {
			if _, err := AppendRead(nil, c.m); !errors.Is(err, ErrMalformed) {
				t.Errorf("AppendRead: got %v, want ErrMalformed", err)
			}
			if m, err := DecodeRead(rawRead(c.m)); !errors.Is(err, ErrMalformed) {
				t.Errorf("DecodeRead: got %+v, %v; want ErrMalformed", m, err)
			}
		})
	}

	for _, kind := range []uint8{0, 3, 255} {
		if _, err := AppendHave(nil, Have{Key: Key{Kind: kind}}); !errors.Is(err, ErrMalformed) {
			t.Errorf("AppendHave kind %d: got %v, want ErrMalformed", kind, err)
		}
		if _, err := DecodeHave(append([]byte{kind}, make([]byte, SumLen)...)); !errors.Is(err, ErrMalformed) {
			t.Errorf("DecodeHave kind %d: got %v, want ErrMalformed", kind, err)
		}
	}

	for name, words := range map[string]string{
		"empty":    "",
		"too long": strings.Repeat("w", MaxWords+1),
		"not utf8": "caf\xe9",
	} {
		if _, err := AppendSearch(nil, Search{Words: words}); !errors.Is(err, ErrMalformed) {
			t.Errorf("AppendSearch %s: got %v, want ErrMalformed", name, err)
		}
		if _, err := DecodeSearch(appendRawString(nil, words)); !errors.Is(err, ErrMalformed) {
			t.Errorf("DecodeSearch %s: got %v, want ErrMalformed", name, err)
		}
	}
	if _, err := AppendSearch(nil, Search{Words: strings.Repeat("w", MaxWords)}); err != nil {
		t.Errorf("AppendSearch of %d bytes: %v", MaxWords, err)
	}
}

// Payloads cut short, carrying bytes after the last field, or with
// encodings that are not minimal.
func TestShareDecodeRejects(t *testing.T) {
	have := must(AppendHave(nil, Have{Key: Key{Kind: KeySHA256}}))
	holding := must(AppendHolding(nil, Holding{Size: 300, Name: "x", Have: []Range{{0, 200}}, Claims: []Range{{250, 50}}}))
	read := must(AppendRead(nil, Read{Key: Key{Kind: KeyOrigin}, Offset: 5, Length: 200}))
	search := must(AppendSearch(nil, Search{Words: "w"}))
	found := must(AppendFound(nil, Found{Results: []Result{{Name: "a", Size: 200}}}))
	pl := func(frame []byte) []byte { _, p := payload(t, frame); return p }
	decoders := map[Type]func([]byte) error{
		TypeHave:    func(p []byte) error { _, err := DecodeHave(p); return err },
		TypeHolding: func(p []byte) error { _, err := DecodeHolding(p); return err },
		TypeRead:    func(p []byte) error { _, err := DecodeRead(p); return err },
		TypeSearch:  func(p []byte) error { _, err := DecodeSearch(p); return err },
		TypeFound:   func(p []byte) error { _, err := DecodeFound(p); return err },
	}
	for typ, frame := range map[Type][]byte{TypeHave: have, TypeHolding: holding, TypeRead: read, TypeSearch: search, TypeFound: found} {
		p := pl(frame)
		dec := decoders[typ]
		if err := dec(p); err != nil {
			t.Fatalf("%v: the valid payload: %v", typ, err)
		}
		if err := dec(append(p[:len(p):len(p)], 0)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%v with a trailing byte: got %v", typ, err)
		}
		for n := range len(p) {
			if err := dec(p[:n]); !errors.Is(err, ErrMalformed) {
				t.Errorf("%v cut to %d of %d bytes: got %v", typ, n, len(p), err)
			}
		}
	}
	// 200 is two bytes as a uvarint; 0xc8 0x81 0x00 is 200 with a
	// trailing zero group, which is not minimal.
	notMinimal := func(p []byte) []byte {
		i := bytes.Index(p, []byte{0xc8, 0x01})
		if i < 0 {
			t.Fatal("no 200 in the payload")
		}
		return slices.Concat(p[:i], []byte{0xc8, 0x81, 0x00}, p[i+2:])
	}
	for typ, frame := range map[Type][]byte{TypeHolding: holding, TypeRead: read, TypeFound: found} {
		if err := decoders[typ](notMinimal(pl(frame))); !errors.Is(err, ErrMalformed) {
			t.Errorf("%v with a non-minimal uvarint: got %v", typ, err)
		}
	}
	// A count the payload cannot hold is refused before anything is
	// allocated for it.
	big := binary.AppendUvarint(append(binary.AppendUvarint(nil, 10), make([]byte, SumLen+1)...), MaxRanges)
	if _, err := DecodeHolding(big); !errors.Is(err, ErrMalformed) {
		t.Errorf("HOLDING with a count beyond the payload: got %v", err)
	}
	if _, err := DecodeFound([]byte{MaxResults + 1}); !errors.Is(err, ErrMalformed) {
		t.Errorf("FOUND with 65 results: got %v", err)
	}
}
