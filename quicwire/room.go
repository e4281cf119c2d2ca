package quicwire

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"strings"
	"unicode"

	"golang.org/x/crypto/argon2"
)

// Room is the shared secret of a group of peers: a key derived from the
// room code. The zero Room is no room; Listen refuses it.
type Room struct {
	key [32]byte
	set bool
}

// Argon2id parameters for the room key. About 0.2 s and 16 MiB here: each
// guess at a short code costs an offline attacker as much. Four passes over
// 16 MiB rather than two over 64 keep the cost per guess while keeping a
// node's peak memory small (the benchmark holds a whole lender under
// 100 MiB). The salt is fixed because every member must derive the same key
// from the code alone.
const (
	roomKDFTime    = 4
	roomKDFMemory  = 16 << 10 // KiB
	roomKDFThreads = 4
	roomKDFSalt    = "dragonload/1 room key"
)

// NewRoom derives the room key from a code, after NormalizeRoomCode, so
// codes typed loosely name the same room.
func NewRoom(code string) Room {
	k := argon2.IDKey([]byte(NormalizeRoomCode(code)), []byte(roomKDFSalt), roomKDFTime, roomKDFMemory, roomKDFThreads, 32)
	r := Room{set: true}
	copy(r.key[:], k)
	return r
}

// RoomFromKey is the Room whose key NewRoom derived earlier, as Key
// returned it: for a node that keeps the derivation's result rather than
// paying for Argon2id at every start.
func RoomFromKey(key [32]byte) Room { return Room{key: key, set: true} }

// Key is the room key, to keep alongside the room code it was derived
// from; it is as secret as the code. The zero Room's is all zero.
func (r Room) Key() [32]byte { return r.key }

// Hint is published in mDNS so that nodes of other rooms mostly skip us
// without a handshake. Anyone on the LAN reads it and can test guesses of
// the code against it offline, so it carries only 4 bits of an HMAC of the
// room key, written as 4 hex digits ("000a"): a guess that matches is one
// of 16, so even a dictionary word is not confirmed, and what is left to
// try goes through the room proof, one guess per exchange. (Version 1 sent
// 16 bits, which did narrow a dictionary to a handful of words.)
func (r Room) Hint() string {
	m := hmac.New(sha256.New, r.key[:])
	m.Write([]byte("dragonload/2 room hint"))
	return fmt.Sprintf("%04x", m.Sum(nil)[0]&0x0f)
}

// roomTagDomain separates the room tag from every other use of the key.
const roomTagDomain = "dragonload/1 room tag\x00"

// Tag is a short name for the room, 16 hex digits (the first 8 bytes of
// SHA-256 over a domain string and the key), only for telling rooms apart
// locally: a file in the home folder records with it which room its
// contents belong to, so that they are ignored after a change of room. It
// is not the key, nor the mDNS hint, and the key cannot be found from it.
// Like the key, though, it confirms a guessed room code offline, so it
// belongs only where the code itself is kept (the home folder): it is never
// announced, neither in mDNS nor on the wire. The zero Room's tag is "".
func (r Room) Tag() string {
	if !r.set {
		return ""
	}
	h := sha256.New()
	h.Write([]byte(roomTagDomain))
	h.Write(r.key[:])
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// crockford is Crockford's base32 alphabet: digits and lowercase letters
// without i, l, o and u, so nothing reads as something else.
const crockford = "0123456789abcdefghjkmnpqrstvwxyz"

const (
	codeGroups   = 4
	codeGroupLen = 5
	codeBits     = codeGroups * codeGroupLen * 5
)

// GenerateRoomCode returns a fresh code of 100 random bits, written as 4
// groups of 5 characters, e.g. "k3m9p-x7q2a-h4t0c-8wnzr".
func GenerateRoomCode() string {
	var raw [codeGroups * codeGroupLen]byte
	// Each byte carries 8 bits; 256 is a multiple of 32, so the low 5
	// bits are uniform.
	if _, err := rand.Read(raw[:]); err != nil {
		panic("quicwire: crypto/rand failed: " + err.Error()) // rand.Read does not fail on supported platforms
	}
	var b strings.Builder
	for i, c := range raw {
		if i > 0 && i%codeGroupLen == 0 {
			b.WriteByte('-')
		}
		b.WriteByte(crockford[c&31])
	}
	return b.String()
}

// NormalizeRoomCode trims the code, lowercases it and turns each run of
// spaces, dashes, underscores or dots into one dash. A code shaped like a
// generated one also gets Crockford's fixes for misread characters (i and l
// to 1, o to 0), since the generator never uses those letters.
func NormalizeRoomCode(s string) string {
	var b strings.Builder
	sep := false
	for _, r := range strings.TrimSpace(strings.ToLower(s)) {
		if isCodeSeparator(r) {
			sep = true
			continue
		}
		if sep && b.Len() > 0 {
			b.WriteByte('-')
		}
		sep = false
		b.WriteRune(r)
	}
	out := b.String()
	if looksGenerated(out, true) {
		out = strings.NewReplacer("i", "1", "l", "1", "o", "0").Replace(out)
	}
	return out
}

func isCodeSeparator(r rune) bool {
	return unicode.IsSpace(r) || r == '-' || r == '_' || r == '.'
}

// looksGenerated reports whether a normalized code has the generator's
// shape; loose admits the misreadable letters that normalization fixes.
func looksGenerated(code string, loose bool) bool {
	if len(code) != codeGroups*(codeGroupLen+1)-1 {
		return false
	}
	for i := 0; i < len(code); i++ {
		c := code[i]
		if i%(codeGroupLen+1) == codeGroupLen {
			if c != '-' {
				return false
			}
			continue
		}
		if strings.IndexByte(crockford, c) < 0 && !(loose && strings.IndexByte("ilo", c) >= 0) {
			return false
		}
	}
	return true
}

// RoomCodeWeak reports whether code likely carries fewer than 96 bits, so
// a recorded handshake could let someone find it offline. Generated codes
// are strong; for anything else it estimates pessimistically: a group of
// up to 12 letters counts as one word from a large dictionary, and a
// character repeating the one before it counts for nothing.
func RoomCodeWeak(code string) bool {
	return codeBitsEstimate(NormalizeRoomCode(code)) < 96
}

func codeBitsEstimate(code string) float64 {
	if looksGenerated(code, false) {
		return codeBits
	}
	const wordBits = 17 // about the size of a 100k-word dictionary
	var bits float64
	for _, group := range strings.Split(code, "-") {
		if group == "" {
			continue
		}
		var letters, digits, other, n int
		prev := rune(-1)
		for _, r := range group {
			if r != prev {
				n++
			}
			prev = r
			switch {
			case r >= 'a' && r <= 'z':
				letters++
			case r >= '0' && r <= '9':
				digits++
			default:
				other++
			}
		}
		var pool float64
		if letters > 0 {
			pool += 26
		}
		if digits > 0 {
			pool += 10
		}
		if other > 0 {
			pool += 33
		}
		est := float64(n) * math.Log2(pool)
		if digits == 0 && other == 0 && len(group) <= 12 {
			est = math.Min(est, wordBits)
		}
		bits += est
	}
	return bits
}
