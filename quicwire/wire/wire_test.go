package wire

import (
	"bytes"
	"errors"
	"io"
	"reflect"
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
		{name: "unknown type", in: []byte{0x0a, 0x00}, badness: true},
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
			func() ([]byte, error) { return AppendEnd(nil, End{Length: 1 << 33, Sum: sum}), nil },
			func(p []byte) (any, error) { return DecodeEnd(p) },
			End{Length: 1 << 33, Sum: sum}},
		{"error", TypeError,
			func() ([]byte, error) {
				return AppendError(nil, Error{Code: 4, HTTPStatus: 503, RetryAfterMS: 1500, Message: "origin said 503"})
			},
			func(p []byte) (any, error) { return DecodeError(p) },
			Error{Code: 4, HTTPStatus: 503, RetryAfterMS: 1500, Message: "origin said 503"}},
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
