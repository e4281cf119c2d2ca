package wire

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"
)

// Each fuzzer checks that a decoder never panics, that it fails only with
// ErrMalformed, and that what it accepts survives a round trip.

func seedFrames(f *testing.F, frames ...[]byte) {
	for _, fr := range frames {
		_, n, hdr, err := ParseHeader(fr)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(fr[hdr : hdr+n])
	}
}

// must unwraps a seed's encoding, which cannot fail for the literals used.
func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func checkMalformed(t *testing.T, err error) {
	if err != nil && !errors.Is(err, ErrMalformed) {
		t.Fatalf("error %v does not wrap ErrMalformed", err)
	}
}

func FuzzReader(f *testing.F) {
	var stream []byte
	stream = append(AppendHeader(stream, TypeData, 3), 1, 2, 3)
	stream = AppendQuery(stream)
	stream = AppendEnd(stream, End{Length: 3})
	f.Add(stream)
	f.Add([]byte{0x07, 0x80, 0x80, 0x04})
	f.Add([]byte{0xff})
	f.Fuzz(func(t *testing.T, in []byte) {
		r := NewReader(trickle{bytes.NewReader(in)}, make([]byte, ReaderBufSize))
		consumed := 0
		for range len(in) + 1 {
			typ, p, err := r.Next()
			if err == io.EOF {
				if consumed != len(in) {
					t.Fatalf("EOF after %d of %d bytes", consumed, len(in))
				}
				return
			}
			if err != nil {
				if err != io.ErrUnexpectedEOF {
					checkMalformed(t, err)
				}
				return
			}
			if len(p) > MaxPayload(typ) {
				t.Fatalf("%v payload of %d bytes passed the cap", typ, len(p))
			}
			consumed += len(AppendHeader(nil, typ, len(p))) + len(p)
			if typ == TypeQuery {
				checkMalformed(t, DecodeQuery(p))
			}
		}
		t.Fatal("more frames than bytes")
	})
}

func FuzzHello(f *testing.F) {
	seedFrames(f, must(AppendHello(nil, Hello{Version: 2, Share: [SumLen]byte{7}})))
	f.Fuzz(func(t *testing.T, p []byte) {
		m, err := DecodeHello(p)
		checkMalformed(t, err)
		if err != nil {
			return
		}
		frame, err := AppendHello(nil, m)
		if err != nil {
			t.Fatal(err)
		}
		_, q := payload(t, frame)
		if !bytes.HasPrefix(p, q) {
			t.Fatalf("re-encoding %x gave %x", p, q)
		}
	})
}

func FuzzWelcome(f *testing.F) {
	seedFrames(f, must(AppendWelcome(nil, Welcome{Version: 2, Share: [SumLen]byte{1}, Confirm: [SumLen]byte{2}})))
	f.Fuzz(func(t *testing.T, p []byte) {
		m, err := DecodeWelcome(p)
		checkMalformed(t, err)
		if err != nil {
			return
		}
		frame, err := AppendWelcome(nil, m)
		if err != nil {
			t.Fatal(err)
		}
		_, q := payload(t, frame)
		if !bytes.HasPrefix(p, q) {
			t.Fatalf("re-encoding %x gave %x", p, q)
		}
	})
}

func FuzzIdent(f *testing.F) {
	seedFrames(f, must(AppendIdent(nil, Ident{Confirm: [SumLen]byte{3}, Name: "laptop"})))
	f.Fuzz(func(t *testing.T, p []byte) {
		m, err := DecodeIdent(p)
		checkMalformed(t, err)
		if err != nil {
			return
		}
		frame, err := AppendIdent(nil, m)
		if err != nil {
			t.Fatal(err)
		}
		if _, q := payload(t, frame); !bytes.Equal(p, q) {
			t.Fatalf("re-encoding %x gave %x", p, q)
		}
	})
}

func FuzzStatus(f *testing.F) {
	seedFrames(f, must(AppendStatus(nil, Status{Lending: true, Name: "box"})))
	f.Fuzz(func(t *testing.T, p []byte) {
		m, err := DecodeStatus(p)
		checkMalformed(t, err)
		if err != nil {
			return
		}
		frame, err := AppendStatus(nil, m)
		if err != nil {
			t.Fatal(err)
		}
		if _, q := payload(t, frame); !bytes.Equal(p, q) {
			t.Fatalf("re-encoding %x gave %x", p, q)
		}
	})
}

func FuzzFetch(f *testing.F) {
	seedFrames(f,
		must(AppendFetch(nil, Fetch{URL: "http://h/f", Length: 1})),
		must(AppendFetch(nil, Fetch{
			URL: "https://h/f", Headers: map[string]string{"A": "1", "Cookie": "c=d"},
			Offset: 5, Length: 1 << 20, Size: 1 << 30, ETag: `"e"`, LastModified: "yesterday",
		})))
	f.Fuzz(func(t *testing.T, p []byte) {
		m, err := DecodeFetch(p)
		checkMalformed(t, err)
		if err != nil {
			return
		}
		// Headers may arrive in any order, so compare values, not bytes.
		frame, err := AppendFetch(nil, m)
		if err != nil {
			t.Fatalf("accepted %+v but cannot encode it: %v", m, err)
		}
		_, q := payload(t, frame)
		back, err := DecodeFetch(q)
		if err != nil || !reflect.DeepEqual(back, m) {
			t.Fatalf("round trip of %+v gave %+v, %v", m, back, err)
		}
	})
}

func FuzzEnd(f *testing.F) {
	seedFrames(f, AppendEnd(nil, End{Length: 1 << 20, Sum: [SumLen]byte{1}}))
	f.Fuzz(func(t *testing.T, p []byte) {
		m, err := DecodeEnd(p)
		checkMalformed(t, err)
		if err != nil {
			return
		}
		if _, q := payload(t, AppendEnd(nil, m)); !bytes.Equal(p, q) {
			t.Fatalf("re-encoding %x gave %x", p, q)
		}
	})
}

func FuzzError(f *testing.F) {
	seedFrames(f, must(AppendError(nil, Error{Code: 4, HTTPStatus: 404, RetryAfterMS: 10, Message: "gone"})))
	f.Fuzz(func(t *testing.T, p []byte) {
		m, err := DecodeError(p)
		checkMalformed(t, err)
		if err != nil {
			return
		}
		frame, err := AppendError(nil, m)
		if err != nil {
			t.Fatal(err)
		}
		if _, q := payload(t, frame); !bytes.Equal(p, q) {
			t.Fatalf("re-encoding %x gave %x", p, q)
		}
	})
}
