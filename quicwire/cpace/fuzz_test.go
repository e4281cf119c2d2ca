package cpace

import (
	"bytes"
	"errors"
	"testing"

	"github.com/gtank/ristretto255"
)

// FuzzFinish feeds arbitrary bytes as the peer's message and AD. Finish
// must never panic: it returns either a 64-byte ISK, for a message that
// decodes to a non-identity element, or ErrInvalidPeerMessage.
func FuzzFinish(f *testing.F) {
	f.Add([]byte{}, []byte{})
	f.Add(make([]byte, 32), []byte("ad"))
	f.Add(ristretto255.NewElement().Base().Encode(nil), []byte{})
	f.Add(bytes.Repeat([]byte{0xff}, 32), []byte{0})
	f.Add(bytes.Repeat([]byte{0x01}, 33), bytes.Repeat([]byte{0x80}, 200))
	f.Add([]byte{ // B.3.11 Y_i1
		0x2b, 0x3c, 0x6b, 0x8c, 0x4f, 0x38, 0x00, 0xe7, 0xae, 0xf6, 0x86, 0x40, 0x25, 0xb4, 0xed, 0x79,
		0xbd, 0x59, 0x91, 0x17, 0xe4, 0x27, 0xc4, 0x1b, 0xd4, 0x7d, 0x93, 0xd6, 0x54, 0xb4, 0xa5, 0x1c,
	}, []byte("ADb"))

	f.Fuzz(func(t *testing.T, msg, ad []byte) {
		for _, role := range []Role{Initiator, Responder, Symmetric} {
			s, _, err := Start(role, []byte("pw"), []byte("ci"), []byte("sid"), []byte("own"), bytes.NewReader(bytes.Repeat([]byte{7}, 32)))
			if err != nil {
				t.Fatal(err)
			}
			isk, err := s.Finish(msg, ad)
			valid := ristretto255.NewElement().Decode(msg) == nil && !bytes.Equal(msg, identity[:])
			switch {
			case err == nil && (!valid || len(isk) != ISKSize):
				t.Fatalf("Finish(%x) accepted: isk %x, valid %v", msg, isk, valid)
			case err != nil && (valid || !errors.Is(err, ErrInvalidPeerMessage) || isk != nil):
				t.Fatalf("Finish(%x) = %x, %v (valid %v)", msg, isk, err, valid)
			}
		}
	})
}
