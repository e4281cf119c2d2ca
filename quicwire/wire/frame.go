package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Type is the first byte of a frame.
type Type uint8

// The frame types of protocol version 1.
const (
	TypeHello   Type = 0x01
	TypeWelcome Type = 0x02
	TypeIdent   Type = 0x03
	TypeQuery   Type = 0x04
	TypeStatus  Type = 0x05
	TypeFetch   Type = 0x06
	TypeData    Type = 0x07
	TypeEnd     Type = 0x08
	TypeError   Type = 0x09
)

// The frame types added in protocol version 3: copies and search between
// room members.
const (
	TypeHave    Type = 0x0A
	TypeHolding Type = 0x0B
	TypeRead    Type = 0x0C
	TypeSearch  Type = 0x0D
	TypeFound   Type = 0x0E
	// TypeNote tells a member what the sender is downloading and how far
	// it has come; it has no answer frame.
	TypeNote Type = 0x0F
)

// Size caps, in bytes.
const (
	MaxControl   = 16 << 10 // payload of every frame but DATA, FETCH, HOLDING and FOUND (NOTE included)
	MaxData      = 64 << 10 // payload of one DATA frame
	MaxFetch     = 64 << 10 // payload of one FETCH frame
	MaxHolding   = 64 << 10 // payload of one HOLDING frame
	MaxFound     = 64 << 10 // payload of one FOUND frame
	MaxHeaderLen = 4        // type byte + uvarint of at most MaxData
	// ReaderBufSize is the smallest buffer a Reader accepts: one whole
	// frame of the largest kind plus room to refill without stalling.
	ReaderBufSize = 2 * (MaxHeaderLen + MaxData)
)

var typeNames = [...]string{"", "HELLO", "WELCOME", "IDENT", "QUERY", "STATUS", "FETCH", "DATA", "END", "ERROR",
	"HAVE", "HOLDING", "READ", "SEARCH", "FOUND", "NOTE"}

func (t Type) String() string {
	if t != 0 && int(t) < len(typeNames) {
		return typeNames[t]
	}
	return fmt.Sprintf("type(0x%02x)", uint8(t))
}

// MaxPayload is the largest payload a frame of type t may carry, or -1 when
// t is not a known type.
func MaxPayload(t Type) int {
	switch t {
	case TypeData:
		return MaxData
	case TypeFetch:
		return MaxFetch
	case TypeHolding:
		return MaxHolding
	case TypeFound:
		return MaxFound
	case TypeHello, TypeWelcome, TypeIdent, TypeQuery, TypeStatus, TypeEnd, TypeError,
		TypeHave, TypeRead, TypeSearch, TypeNote:
		return MaxControl
	}
	return -1
}

// ErrMalformed is wrapped by every error that means the peer sent bytes
// this protocol does not allow.
var ErrMalformed = errors.New("malformed frame")

// ErrIncomplete reports a header cut off by the end of the buffer; Reader
// reads more and tries again.
var ErrIncomplete = errors.New("frame header incomplete")

// AppendHeader appends the header of a frame of type t with an n-byte
// payload.
func AppendHeader(b []byte, t Type, n int) []byte {
	return binary.AppendUvarint(append(b, byte(t)), uint64(n))
}

// ParseHeader decodes the frame header at the start of b: the type, the
// payload length and the header's own length. It checks the type is known
// and the length within the type's cap, so a caller never reads a payload
// it will refuse. An incomplete header yields ErrIncomplete.
func ParseHeader(b []byte) (t Type, n int, hdr int, err error) {
	if len(b) == 0 {
		return 0, 0, 0, ErrIncomplete
	}
	t = Type(b[0])
	limit := MaxPayload(t)
	if limit < 0 {
		return 0, 0, 0, fmt.Errorf("%w: unknown type 0x%02x", ErrMalformed, b[0])
	}
	v, k := uvarint(b[1:], MaxHeaderLen-1)
	switch {
	case k == 0:
		return 0, 0, 0, ErrIncomplete
	case k < 0:
		return 0, 0, 0, fmt.Errorf("%w: bad length in %v header", ErrMalformed, t)
	case v > uint64(limit):
		return 0, 0, 0, fmt.Errorf("%w: %v payload of %d bytes exceeds cap %d", ErrMalformed, t, v, limit)
	case v == 0 && t == TypeData:
		return 0, 0, 0, fmt.Errorf("%w: empty DATA frame", ErrMalformed)
	}
	return t, int(v), 1 + k, nil
}

// Reader cuts frames out of a byte stream. It owns one buffer, given by
// the caller so that it can be pooled, and never allocates.
type Reader struct {
	r          io.Reader
	buf        []byte
	start, end int // buffered, unconsumed bytes are buf[start:end]
}

// NewReader returns a Reader over r using buf, which must hold at least
// ReaderBufSize bytes.
func NewReader(r io.Reader, buf []byte) *Reader {
	if len(buf) < ReaderBufSize {
		panic("wire: reader buffer smaller than ReaderBufSize")
	}
	return &Reader{r: r, buf: buf}
}

// Next returns the next frame. The payload aliases the Reader's buffer and
// is valid until the next call. A stream that ends cleanly between frames
// yields io.EOF; one that ends inside a frame yields io.ErrUnexpectedEOF.
// Bytes that are not a valid frame yield an error wrapping ErrMalformed.
func (r *Reader) Next() (Type, []byte, error) {
	var (
		t      Type
		n, hdr int
		err    error
	)
	for {
		t, n, hdr, err = ParseHeader(r.buf[r.start:r.end])
		if err == nil {
			break
		}
		if err != ErrIncomplete {
			return 0, nil, err
		}
		if err := r.fill(); err != nil {
			if err == io.EOF && r.start != r.end {
				err = io.ErrUnexpectedEOF
			}
			return 0, nil, err
		}
	}
	need := hdr + n
	if r.start+need > len(r.buf) {
		r.compact()
	}
	for r.end-r.start < need {
		if err := r.fill(); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return 0, nil, err
		}
	}
	p := r.buf[r.start+hdr : r.start+need]
	r.start += need
	if r.start == r.end {
		r.start, r.end = 0, 0
	}
	return t, p, nil
}

// ExpectEOF succeeds when the stream ends with no further byte. Any frame
// or byte left over is a protocol error.
func (r *Reader) ExpectEOF() error {
	if r.start == r.end {
		err := r.fill()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return fmt.Errorf("%w: bytes after the last frame", ErrMalformed)
}

// fill reads at least one more byte into the buffer, making room first
// when the buffer's tail is full.
func (r *Reader) fill() error {
	if r.end == len(r.buf) {
		r.compact()
	}
	for range 100 {
		k, err := r.r.Read(r.buf[r.end:])
		r.end += k
		if k > 0 {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return io.ErrNoProgress
}

func (r *Reader) compact() {
	r.end = copy(r.buf, r.buf[r.start:r.end])
	r.start = 0
}

// uvarint decodes a minimally encoded uvarint of at most max bytes from
// the start of b. It returns the byte count, 0 when b ends first, or -1 for
// an encoding that is too long or not minimal.
func uvarint(b []byte, max int) (uint64, int) {
	var v uint64
	for i := 0; i < max; i++ {
		if i == len(b) {
			return 0, 0
		}
		c := b[i]
		if i == 9 && c > 1 {
			return 0, -1
		}
		v |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			if c == 0 && i > 0 {
				return 0, -1 // a trailing zero group: not minimal
			}
			return v, i + 1
		}
	}
	return 0, -1
}
