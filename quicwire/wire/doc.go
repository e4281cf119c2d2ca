// Package wire encodes and decodes the frames of the Dragonload peer
// protocol (ALPN "dragonload/1"). It knows nothing of QUIC: encoders append
// to byte slices, decoders are pure functions over byte slices, and Reader
// cuts frames out of any io.Reader without allocating.
//
// # Frames
//
// Every stream carries a sequence of frames:
//
//	frame   = type (1 byte) | length (uvarint, minimal encoding, at most 3 bytes) | payload (length bytes)
//
// Integers named uvarint are unsigned LEB128 as written by
// encoding/binary.AppendUvarint and must use the minimal number of bytes;
// varint is the zig-zag signed form of encoding/binary.AppendVarint, also
// minimal. A string is a uvarint byte count followed by that many bytes of
// valid UTF-8. A bool is one byte, 0 or 1. A sum is 32 raw bytes.
//
// # Frame types and payloads
//
//	0x01 HELLO     version uvarint | share sum | (later versions may append fields)
//	0x02 WELCOME   version uvarint | share sum | confirm sum | (later versions may append fields)
//	0x03 IDENT     confirm sum | name string
//	0x04 QUERY     (empty: asks for a STATUS)
//	0x05 STATUS    lending bool | name string
//	0x06 FETCH     url string | header count uvarint | count × (name string | value string) |
//	               offset uvarint | length uvarint | size varint | etag string | last-modified string
//	0x07 DATA      raw bytes (1 or more)
//	0x08 END       length uvarint | sha256 sum (before protocol version 4 only)
//	0x09 ERROR     code (1 byte, not 0) | http status uvarint (0 or 100..999) |
//	               retry-after milliseconds uvarint | message string
//
// Protocol version 3 adds copies and search between room members, and
// notes of what each is downloading:
//
//	0x0A HAVE      key kind (1 byte) | key sum
//	0x0B HOLDING   size uvarint | sha256 sum | name string |
//	               have count uvarint | count × (offset uvarint | length uvarint) |
//	               claims count uvarint | count × (offset uvarint | length uvarint)
//	0x0C READ      key kind (1 byte) | key sum | offset uvarint | length uvarint
//	0x0D SEARCH    words string
//	0x0E FOUND     count uvarint | count × (name string | size uvarint | sha256 sum)
//	0x0F NOTE      count uvarint | count × (file string | done uvarint | size uvarint |
//	               lenders count uvarint | lenders × node id sum)
//
// A key kind is 1 (the sum is the SHA-256 of the whole content) or 2 (the
// sum is an origin key). In HOLDING an all-zero sha256 means unknown. In
// NOTE a size of 0 means unknown, and a node id is the SHA-256 of the
// node's Ed25519 public key. NOTE has no answer frame: the server's FIN
// is the whole answer.
//
// Bytes after the last known field are an error, except in HELLO and
// WELCOME, whose tails are reserved for later protocol versions and ignored.
//
// # Caps
//
// A payload over its cap is rejected from the header alone, before any of
// it is read: DATA, FETCH, HOLDING and FOUND 64 KiB, every other frame
// 16 KiB. Inside FETCH: url at most 8 KiB and not empty, at most 32
// headers, each name plus value at most 4 KiB, names HTTP tokens, values
// free of control characters other than tab, no name twice; etag at most
// 1 KiB, last-modified at most 256 bytes; length at least 1 and offset +
// length at most 2^62. Names at most 256 bytes, ERROR messages at most
// 1 KiB.
//
// Inside HOLDING: size 1..2^62, name at most 256 bytes (may be empty);
// each list at most 1024 ranges, each of length at least 1, strictly
// increasing, disjoint and not adjacent (a range starts after the end of
// the one before, so that a list has one encoding), the last ending at or
// before size. READ: length at least 1 and offset + length at most 2^62.
// SEARCH: words 1 to 256 bytes. FOUND: at most 64 entries, each name 1 to
// 256 bytes, each size 1..2^62. NOTE (16 KiB, like every frame not named
// above): at most 16 entries (0 allowed); each file 1 to 256 bytes; size
// 0..2^62; done at most size when size is not 0, at most 2^62 when it is;
// at most 64 lender ids, strictly increasing in byte order (none twice),
// so that a list has one encoding. The 16 KiB cap binds first: sixteen
// entries of 64 lenders each would take about 37 KiB, so a NOTE carries
// at most about 370 lender ids in all.
package wire
