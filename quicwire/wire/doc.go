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
//	0x08 END       length uvarint | sha256 sum
//	0x09 ERROR     code (1 byte, not 0) | http status uvarint (0 or 100..999) |
//	               retry-after milliseconds uvarint | message string
//
// Bytes after the last known field are an error, except in HELLO and
// WELCOME, whose tails are reserved for later protocol versions and ignored.
//
// # Caps
//
// A payload over its cap is rejected from the header alone, before any of
// it is read: DATA and FETCH 64 KiB, every other frame 16 KiB. Inside
// FETCH: url at most 8 KiB and not empty, at most 32 headers, each name
// plus value at most 4 KiB, names HTTP tokens, values free of control
// characters other than tab, no name twice; etag at most 1 KiB,
// last-modified at most 256 bytes; length at least 1 and offset + length
// at most 2^62. Names at most 256 bytes, ERROR messages at most 1 KiB.
package wire
