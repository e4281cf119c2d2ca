// Package lend is the lender side of a node: it serves room peers' chunk
// requests by fetching the bytes from the origin over this node's own link
// and streaming them back as they arrive.
//
// A lender protects itself and its network. It serves nothing while lending
// is off; it caps the requests it serves at once and the bytes per second it
// lends in total (golang.org/x/time/rate), so lending never swamps the
// lender's own use of its link; it refuses requests larger than MaxRequest;
// and it fetches only http and https URLs through the origin client's
// guarded dialer, which refuses loopback, link-local, private, multicast and
// unspecified targets at dial time and on every redirect unless private
// origins are explicitly allowed. Nothing in a request names a local path.
package lend
