// Package origin is the HTTP client every Dragonload participant uses to
// talk to the server that holds the file (the "origin").
//
// It does three things and trusts the origin for none of them:
//
//   - Probe finds the final URL, the file's name and size, its identity
//     (size plus the ETag, strong or weak, and Last-Modified) and whether
//     the server really honours byte ranges, with one "GET Range:
//     bytes=0-0" and no HEAD: only a ranged GET answered exactly proves
//     range support (Accept-Ranges alone proves nothing). Open does the
//     same with "bytes=0-(n-1)" and keeps the answer's body, the file's
//     first bytes, as a First to stream into the file: one round trip
//     before the first bytes land. Some servers (busybox httpd, s3rver)
//     answer "bytes=0-0" with the whole file and every other range
//     exactly, so an answer that is not the bytes asked for is checked
//     again with "bytes=1-1" before the server is given a single stream.
//   - Range fetches bytes [off, off+n) and hands them to a sink only after
//     the response headers proved they are exactly those bytes of exactly
//     that version of the file: status 206, "Content-Range: bytes
//     off-(off+n-1)/size" with the pinned size, and every pinned validator
//     (strong or weak ETag, Last-Modified) unchanged. The body must then be
//     exactly n bytes long.
//   - Whole fetches the file in one GET, for servers without range support.
//
// # Security
//
// A lender fetches URLs chosen by other room members, so the client refuses
// to be turned against the lender's own network (SSRF). Only http and https
// URLs are fetched, at most 10 redirects are followed and every hop is
// validated again. Every address the client actually connects to is checked
// at dial time, after DNS resolution and before the connect system call:
// loopback, link-local, private (RFC 1918, fc00::/7), carrier-grade NAT
// (100.64.0.0/10), reserved and benchmarking ranges (192.0.0.0/24,
// 198.18.0.0/15, 240.0.0.0/4, IPv6 outside 2000::/3), multicast,
// unspecified and broadcast addresses, the cloud metadata services, every
// address of this computer's interfaces and the networks configured on
// them (the LAN's global IPv6 /64), and the IPv6 forms that lead to any
// of these (IPv4-mapped, NAT64) or hide where they lead (6to4, Teredo,
// local-use NAT64, IPv4-compatible). Because the check sits on the dial
// and not on the URL, DNS rebinding and redirects to internal hosts are
// refused the same way. No proxy is ever used, so nothing can route around
// the check. Options.AllowPrivate lifts it for test beds and LAN mirrors,
// except for the cloud metadata services and the unspecified, multicast
// and broadcast addresses; Client.SetAllowPrivate changes that while the
// client runs (the app's "Allow downloads from this LAN" switch), and
// Options.PrivateHint says in each refusal how to lift it.
//
// Request headers given by the caller (a link's cookies and tokens) go
// only to the host they were given for: the first redirect to another
// host, or from https to http, drops them and the credential headers for
// the rest of the chain, and Info.Headers says which headers may go to
// Info.URL afterwards.
//
// # Errors
//
// No request waits for ever: a server that takes a request and sends no
// response headers within Options.HeaderTimeout fails it with ErrNoAnswer,
// and a body that delivers nothing for 30 s fails with ErrShortBody.
//
// Errors read as one sentence and are classified with errors.Is against
// ErrIdentityChanged, ErrRangeMismatch, ErrShortBody, ErrNoRange,
// ErrNoAnswer and ErrForbiddenAddress, with errors.As against *StatusError
// and *MismatchError (which validator changed), and with Retryable,
// RetryAfter and RetryAt, which tell a scheduler whether trying again (or
// from another peer) can help and when the origin asked it to.
package origin
