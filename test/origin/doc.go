// Package testorigin is an HTTP origin for tests and benchmarks: it serves
// one file of any size whose bytes are computed on the fly, and it can be
// told to misbehave in the ways real origins do.
//
// # Content
//
// Byte i of the file with seed s is byte i of the AES-128-CTR key stream
// whose key is the first 16 bytes of SHA-256("dragonload testorigin" ||
// s as 8 little-endian bytes) and whose initial counter block is zero (the
// counter is the block index, big-endian, in the low 8 bytes). Any range can
// therefore be produced directly, at several GB/s, with nothing held in
// memory; Content and SumSHA256 give tests the expected bytes and digest.
// After Quirks.ChangeETagAfter the server switches to a second version: the
// same construction with seed s+1, a different ETag and a later
// Last-Modified.
//
// # Paths
//
//	/<Name>          the file (or the start of a redirect chain)
//	/r/<k>/<Name>    hop k of a redirect chain; the last hop serves the file
//	/stats           {"bytes_total":N,"by_source":{"127.0.0.3":N},"requests":N}
//
// A query string (a "signed URL" such as /<Name>?sig=abc) does not change
// what a path serves.
//
// The file answers GET and HEAD with Accept-Ranges, Content-Length, ETag and
// Last-Modified (when configured), and single byte ranges ("bytes=a-b",
// "bytes=a-", "bytes=-n") with 206; other Range values are ignored, as RFC
// 9110 allows. Requests() counts requests for the file, not for /stats;
// BytesServed counts file bytes written, not headers or error pages.
//
// # Hanging servers
//
// Quirks.TrickleEvery, StallEvery and NoAnswer make responses that never
// end on their own. They pick responses by counting, so tests know which
// one hangs, and they end when the client leaves or Close is called, which
// returns at once.
//
// # Rate limits
//
// RatePerSource shapes each client IP address with one token bucket shared
// by all of that address's connections, the way many origins and ISPs cap
// a host rather than a connection. Benchmarks use it to stand in for
// per-host WAN links.
package testorigin
