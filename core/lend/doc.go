// Package lend is the lender side of a node: it serves room peers' chunk
// requests by fetching the bytes from the origin over this node's own link
// and streaming them back as they arrive.
//
// A lender protects itself and its network. It serves nothing while lending
// is off; it caps the requests it serves at once and the bytes per second it
// lends in total (golang.org/x/time/rate), so lending never swamps the
// lender's own use of its link; it refuses requests larger than MaxRequest;
// and it fetches only http and https URLs through the origin client's
// guarded dialer, which refuses loopback, link-local, private, reserved,
// multicast and unspecified targets, cloud metadata services and this
// computer's own addresses and networks, at dial time and on every
// redirect, unless private origins are explicitly allowed (see
// docs/origin.md for what that still refuses). Nothing in a request names
// a local path.
//
// A refused target is answered with the bare Forbidden code: no sentence,
// so the member learns neither the address a name resolved to on the
// lender's side nor what kind of network it is in, and nothing the target
// said. Other failures (an origin's 404, a changed file) keep their
// sentence: the member could have had it from the origin itself.
package lend
