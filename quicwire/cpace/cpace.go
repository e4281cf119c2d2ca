package cpace

import (
	"crypto/rand"
	"crypto/sha512"
	"crypto/subtle"
	"errors"
	"io"

	"github.com/gtank/ristretto255"
)

// Sizes of the CPACE-RISTR255-SHA512 outputs.
const (
	// MessageSize is the length of a CPace message Y: one encoded
	// ristretto255 element (G_Ristretto255.field_size_bytes).
	MessageSize = 32
	// ISKSize is the length of the intermediate session key: one SHA-512
	// output (H.b_in_bytes).
	ISKSize = sha512.Size
)

// Constants of the cipher suite (draft-irtf-cfrg-cpace-21, sections 6.2
// and 8.3).
const (
	// dsi is G_Ristretto255.DSI.
	dsi = "CPaceRistretto255"
	// hashBlockSize is H.s_in_bytes, the input block size of SHA-512.
	hashBlockSize = sha512.BlockSize
	// groupSizeBits is G_Ristretto255.group_size_bits.
	groupSizeBits = 252
)

// Role says which transcript function a party uses (section 6.3).
type Role int

const (
	// Initiator is party A of the initiator-responder setting: its
	// message and AD come first in transcript_ir.
	Initiator Role = iota + 1
	// Responder is party B of the initiator-responder setting.
	Responder
	// Symmetric is the setting without roles, where either party may
	// speak first; the transcript is transcript_oc (ordered
	// concatenation). The draft requires unique AD values per session
	// in this setting (section 10.1.1).
	Symmetric
)

// Errors returned by Start and Finish.
var (
	// ErrInvalidPeerMessage means the peer's message is not the encoding
	// of a ristretto255 element other than the identity, so
	// G.scalar_mult_vfy returned G.I and the protocol aborts.
	ErrInvalidPeerMessage = errors.New("cpace: invalid peer message")
	// ErrStateUsed means Finish was called twice on one State.
	ErrStateUsed = errors.New("cpace: state already used")
	// ErrInvalidRole means the Role is none of Initiator, Responder and
	// Symmetric.
	ErrInvalidRole = errors.New("cpace: invalid role")
)

// State is one party's side of one CPace run, between Start and Finish.
// It holds the secret scalar, so it must not be copied or reused.
type State struct {
	role Role
	sid  []byte
	y    *ristretto255.Scalar // nil once Finish has run
	msg  []byte               // own Y, encoded
	ad   []byte               // own AD
}

// Start begins a CPace run for one party. prs is the password-related
// string (the room code, normalised by the caller), ci the channel
// identifier, sid the session identifier (for Dragonload a TLS exporter
// value, which binds the run to the TLS session), and ad this party's
// associated data, which the caller sends in clear alongside the message.
// Any of ci, sid and ad may be empty; both parties must use the same prs,
// ci and sid, and their opposite roles (or both Symmetric).
//
// random supplies the 32 bytes of the secret scalar; nil means
// crypto/rand.Reader. Start returns the state to pass to Finish and the
// message Y (MessageSize bytes) to send to the peer.
func Start(role Role, prs, ci, sid, ad []byte, random io.Reader) (*State, []byte, error) {
	if role != Initiator && role != Responder && role != Symmetric {
		return nil, nil, ErrInvalidRole
	}
	if random == nil {
		random = rand.Reader
	}
	y, err := sampleScalar(random)
	if err != nil {
		return nil, nil, err
	}
	g := calculateGenerator(prs, ci, sid)
	msg := scalarMult(y, g)
	s := &State{
		role: role,
		sid:  append([]byte(nil), sid...),
		y:    y,
		msg:  msg,
		ad:   append([]byte(nil), ad...),
	}
	return s, append([]byte(nil), msg...), nil
}

// Finish completes the run with the peer's message and associated data,
// and returns the intermediate session key ISK (ISKSize bytes). It returns
// ErrInvalidPeerMessage, and no key, if the peer's message does not decode
// to a ristretto255 element or decodes to the identity element. Finish
// erases the secret scalar whatever the outcome; a second call returns
// ErrStateUsed.
//
// Matching ISKs prove nothing by themselves: the caller confirms the key
// (or uses it so that a wrong key fails), and checks peerAD if it carries
// an identity.
func (s *State) Finish(peerMsg, peerAD []byte) ([]byte, error) {
	if s == nil || s.y == nil {
		return nil, ErrStateUsed
	}
	y := s.y
	s.y = nil
	defer y.Zero()

	k := scalarMultVfy(y, peerMsg)
	if subtle.ConstantTimeCompare(k, identity[:]) == 1 {
		return nil, ErrInvalidPeerMessage
	}
	var t []byte
	switch s.role {
	case Initiator:
		t = transcriptIR(s.msg, s.ad, peerMsg, peerAD)
	case Responder:
		t = transcriptIR(peerMsg, peerAD, s.msg, s.ad)
	default: // Symmetric; Start admits no other role
		t = transcriptOC(s.msg, s.ad, peerMsg, peerAD)
	}
	isk := deriveISK(s.sid, k, t)
	clear(k)
	return isk, nil
}

// identity is G.I, the encoding of the identity element: 32 zero bytes.
var identity [MessageSize]byte

// sampleScalar is G.sample_scalar as RECOMMENDED in section 8.3: 32
// random bytes with the bits above group_size_bits (252) cleared, read
// as a little-endian integer. The result is below 2^252 and so below the
// group order.
func sampleScalar(random io.Reader) (*ristretto255.Scalar, error) {
	var b [32]byte
	defer clear(b[:])
	if _, err := io.ReadFull(random, b[:]); err != nil {
		return nil, err
	}
	b[31] &= 0xff >> (8 - groupSizeBits%8) // keep bits 248..251
	y := ristretto255.NewScalar()
	if err := y.Decode(b[:]); err != nil {
		// Unreachable: every value below 2^252 is canonical.
		return nil, err
	}
	return y, nil
}

// calculateGenerator is G.calculate_generator(H, PRS, CI, sid) of section
// 8.3: the element derivation (ristretto255 FROM_UNIFORM_BYTES, RFC 9496
// section 4.3.4) of the 64-byte SHA-512 hash of the generator string.
func calculateGenerator(prs, ci, sid []byte) *ristretto255.Element {
	h := sha512.Sum512(generatorString([]byte(dsi), prs, ci, sid, hashBlockSize))
	defer clear(h[:])
	return ristretto255.NewElement().FromUniformBytes(h[:])
}

// generatorString is generator_string(DSI, PRS, CI, sid, s_in_bytes) of
// section 8.1 and appendix A.2: lv_cat(DSI, PRS, zero_bytes(len_zpad), CI,
// sid), the zero padding filling the first hash block after DSI and PRS.
func generatorString(dsi, prs, ci, sid []byte, sInBytes int) []byte {
	zpad := max(0, sInBytes-1-lenPrependLen(prs)-lenPrependLen(dsi))
	return lvCat(dsi, prs, make([]byte, zpad), ci, sid)
}

// scalarMult is G.scalar_mult(y, _g): the encoding of y*_g.
func scalarMult(y *ristretto255.Scalar, g *ristretto255.Element) []byte {
	return ristretto255.NewElement().ScalarMult(y, g).Encode(make([]byte, 0, MessageSize))
}

// scalarMultVfy is G.scalar_mult_vfy(y, X) of section 8.3: G.I if X does
// not decode (wrong length, non-canonical or not a valid encoding),
// otherwise the encoding of y*decode(X). Decoding X as the identity yields
// G.I too, since y*I = I.
func scalarMultVfy(y *ristretto255.Scalar, x []byte) []byte {
	p := ristretto255.NewElement()
	if err := p.Decode(x); err != nil {
		return append([]byte(nil), identity[:]...)
	}
	return scalarMult(y, p)
}

// deriveISK computes ISK = H.hash(lv_cat(G.DSI || "_ISK", sid, K) ||
// transcript) of section 7.2.
func deriveISK(sid, k, transcript []byte) []byte {
	h := sha512.New()
	h.Write(lvCat([]byte(dsi+"_ISK"), sid, k))
	h.Write(transcript)
	return h.Sum(nil)
}

// transcriptIR is transcript_ir(Ya, ADa, Yb, ADb) = lv_cat(Ya, ADa) ||
// lv_cat(Yb, ADb), for the initiator-responder setting (appendix A.3.4).
func transcriptIR(ya, ada, yb, adb []byte) []byte {
	return lvCat(ya, ada, yb, adb)
}

// transcriptOC is transcript_oc(Ya, ADa, Yb, ADb) = o_cat(lv_cat(Ya, ADa),
// lv_cat(Yb, ADb)), for the symmetric setting (appendix A.3.6).
func transcriptOC(ya, ada, yb, adb []byte) []byte {
	return oCat(lvCat(ya, ada), lvCat(yb, adb))
}

// oCat is o_cat(bytes1, bytes2) of appendix A.3.2: b"oc" followed by the
// lexicographically larger string, then the other.
func oCat(b1, b2 []byte) []byte {
	if !lexicographicallyLarger(b1, b2) {
		b1, b2 = b2, b1
	}
	out := make([]byte, 0, 2+len(b1)+len(b2))
	out = append(out, "oc"...)
	out = append(out, b1...)
	return append(out, b2...)
}

// lexicographicallyLarger reports whether b1 > b2 in the lexicographic
// order of appendix A.3.1: the first differing byte decides, and
// otherwise the longer string is larger.
func lexicographicallyLarger(b1, b2 []byte) bool {
	for i := range min(len(b1), len(b2)) {
		if b1[i] != b2[i] {
			return b1[i] > b2[i]
		}
	}
	return len(b1) > len(b2)
}

// lvCat is lv_cat(a0, a1, ...) of appendix A.1.3: the concatenation of
// prepend_len(ai).
func lvCat(args ...[]byte) []byte {
	n := 0
	for _, a := range args {
		n += lenPrependLen(a)
	}
	out := make([]byte, 0, n)
	for _, a := range args {
		out = prependLen(out, a)
	}
	return out
}

// prependLen appends prepend_len(data) of appendix A.1.1 to dst: the
// LEB128 encoding of len(data), then data.
func prependLen(dst, data []byte) []byte {
	n := uint64(len(data))
	for n >= 0x80 {
		dst = append(dst, byte(n)|0x80)
		n >>= 7
	}
	dst = append(dst, byte(n))
	return append(dst, data...)
}

// lenPrependLen is len(prepend_len(data)).
func lenPrependLen(data []byte) int {
	n := 1
	for l := uint64(len(data)); l >= 0x80; l >>= 7 {
		n++
	}
	return n + len(data)
}
