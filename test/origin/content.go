package testorigin

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
)

// Content returns bytes [off, off+n) of the file with the given seed.
func Content(seed, off, n int64) []byte {
	b := make([]byte, n)
	newStream(seed, off).read(b)
	return b
}

// SumSHA256 returns the hex SHA-256 of the first size bytes of the file
// with the given seed, computed in a streamed pass.
func SumSHA256(seed, size int64) string {
	h := sha256.New()
	s := newStream(seed, 0)
	buf := make([]byte, 1<<20)
	for left := size; left > 0; {
		k := min(int64(len(buf)), left)
		s.read(buf[:k])
		h.Write(buf[:k])
		left -= k
	}
	return hex.EncodeToString(h.Sum(nil))
}

// stream produces the file's bytes from some offset onwards.
type stream struct {
	ctr cipher.Stream
}

func newStream(seed, off int64) *stream {
	var seedBytes [8]byte
	binary.LittleEndian.PutUint64(seedBytes[:], uint64(seed))
	key := sha256.Sum256(append([]byte("dragonload testorigin"), seedBytes[:]...))
	block, err := aes.NewCipher(key[:16])
	if err != nil {
		panic(err) // a 16-byte key cannot be refused
	}
	var iv [aes.BlockSize]byte
	binary.BigEndian.PutUint64(iv[8:], uint64(off/aes.BlockSize))
	s := &stream{ctr: cipher.NewCTR(block, iv[:])}
	if skip := off % aes.BlockSize; skip > 0 {
		var tmp [aes.BlockSize]byte
		s.ctr.XORKeyStream(tmp[:skip], tmp[:skip])
	}
	return s
}

// read fills b with the next len(b) bytes.
func (s *stream) read(b []byte) {
	clear(b)
	s.ctr.XORKeyStream(b, b)
}
