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
	// The frames of version 3, HOLDING over the 16 KiB of most frames.
	var v3 []byte
	v3 = must(AppendHave(v3, Have{Key: Key{Kind: KeyOrigin}}))
	v3 = must(AppendHolding(v3, Holding{Size: MaxRange,
		Have: ranges(MaxRanges, 1<<56, 1<<40, 1<<40), Claims: ranges(MaxRanges, 1<<60, 1<<40, 1<<40)}))
	v3 = must(AppendRead(v3, Read{Key: Key{Kind: KeySHA256}, Offset: 7, Length: 9}))
	v3 = must(AppendSearch(v3, Search{Words: "w"}))
	v3 = must(AppendFound(v3, Found{Results: []Result{{Name: "n", Size: 1}}}))
	v3 = must(AppendNote(v3, Note{Downloads: []Download{{File: "f", Done: 1, Size: 2, Lenders: nids(0, 2)}}}))
	v3 = must(AppendNote(v3, Note{}))
	f.Add(v3)
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
	seedFrames(f, AppendEnd(nil, End{Length: 1 << 20, Sum: &[SumLen]byte{1}}))
	seedFrames(f, AppendEnd(nil, End{Length: 1 << 20}))
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

// The version 3 decoders are canonical: what they accept encodes back to
// the same bytes, and decodes again to the same message.

func FuzzHave(f *testing.F) {
	seedFrames(f,
		must(AppendHave(nil, Have{Key: Key{Kind: KeySHA256, Sum: [SumLen]byte{1, 2}}})),
		must(AppendHave(nil, Have{Key: Key{Kind: KeyOrigin, Sum: [SumLen]byte{31: 9}}})))
	f.Add([]byte{3})
	f.Fuzz(func(t *testing.T, p []byte) {
		m, err := DecodeHave(p)
		checkMalformed(t, err)
		if err != nil {
			return
		}
		roundTrip(t, p, m, AppendHave, DecodeHave)
	})
}

func FuzzHolding(f *testing.F) {
	seedFrames(f,
		must(AppendHolding(nil, Holding{Size: 1})),
		must(AppendHolding(nil, Holding{
			Size: 1 << 40, SHA256: [SumLen]byte{7}, Name: "disk.iso",
			Have:   []Range{{0, 100}, {101, 5}, {1 << 30, 1 << 20}},
			Claims: []Range{{200, 1}, {1<<40 - 10, 10}},
		})))
	f.Fuzz(func(t *testing.T, p []byte) {
		m, err := DecodeHolding(p)
		checkMalformed(t, err)
		if err != nil {
			return
		}
		roundTrip(t, p, m, AppendHolding, DecodeHolding)
	})
}

func FuzzRead(f *testing.F) {
	seedFrames(f,
		must(AppendRead(nil, Read{Key: Key{Kind: KeySHA256, Sum: [SumLen]byte{5}}, Length: 1})),
		must(AppendRead(nil, Read{Key: Key{Kind: KeyOrigin}, Offset: 1 << 40, Length: 4 << 20})))
	f.Fuzz(func(t *testing.T, p []byte) {
		m, err := DecodeRead(p)
		checkMalformed(t, err)
		if err != nil {
			return
		}
		roundTrip(t, p, m, AppendRead, DecodeRead)
	})
}

func FuzzSearch(f *testing.F) {
	seedFrames(f,
		must(AppendSearch(nil, Search{Words: "debian iso"})),
		must(AppendSearch(nil, Search{Words: "Ünïcode wörds"})))
	f.Fuzz(func(t *testing.T, p []byte) {
		m, err := DecodeSearch(p)
		checkMalformed(t, err)
		if err != nil {
			return
		}
		roundTrip(t, p, m, AppendSearch, DecodeSearch)
	})
}

func FuzzFound(f *testing.F) {
	seedFrames(f,
		must(AppendFound(nil, Found{})),
		must(AppendFound(nil, Found{Results: []Result{
			{Name: "a.iso", Size: 1 << 30, SHA256: [SumLen]byte{1}},
			{Name: "b", Size: 1},
		}})))
	f.Fuzz(func(t *testing.T, p []byte) {
		m, err := DecodeFound(p)
		checkMalformed(t, err)
		if err != nil {
			return
		}
		roundTrip(t, p, m, AppendFound, DecodeFound)
	})
}

// FuzzNote's seeds stay small: the fuzzer minimises every new input it
// finds interesting, which for one grown from a 16 KiB seed takes the
// whole run.
func FuzzNote(f *testing.F) {
	seedFrames(f,
		must(AppendNote(nil, Note{})),
		must(AppendNote(nil, Note{Downloads: []Download{
			{File: "ubuntu.iso", Done: 1 << 30, Size: 5 << 30, Lenders: nids(3, 3)},
			{File: "Ünïcode", Done: 7},
		}})),
		must(AppendNote(nil, Note{Downloads: []Download{{File: "f", Done: MaxRange, Lenders: nids(1<<20, 5)}}})))
	f.Add([]byte{1, 1, 'f', 0, 0, 2})
	f.Fuzz(func(t *testing.T, p []byte) {
		m, err := DecodeNote(p)
		checkMalformed(t, err)
		if err != nil {
			return
		}
		if NoteSize(m) != len(p) {
			t.Fatalf("NoteSize %d of a %d-byte payload", NoteSize(m), len(p))
		}
		roundTrip(t, p, m, AppendNote, DecodeNote)
	})
}

// roundTrip checks that m, decoded from payload p, encodes back to p and
// decodes again to m.
func roundTrip[M any](t *testing.T, p []byte, m M, enc func([]byte, M) ([]byte, error), dec func([]byte) (M, error)) {
	t.Helper()
	frame, err := enc(nil, m)
	if err != nil {
		t.Fatalf("accepted %+v but cannot encode it: %v", m, err)
	}
	_, q := payload(t, frame)
	back, err := dec(q)
	if err != nil || !reflect.DeepEqual(back, m) {
		t.Fatalf("round trip of %+v gave %+v, %v", m, back, err)
	}
	if !bytes.Equal(p, q) {
		t.Fatalf("re-encoding %x gave %x", p, q)
	}
}
