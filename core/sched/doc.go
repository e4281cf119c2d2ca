// Package sched decides which peer fetches which bytes of a download.
//
// A Scheduler is a plain state machine: it has no goroutines, opens no
// sockets, never sleeps and never reads a clock. Every method that depends
// on time takes it as an argument, so a test drives it with a fake clock in
// microseconds and the same inputs always give the same decisions. It is
// not safe for concurrent use; the engine owns one per download and calls
// it under its own lock.
//
// # Participants
//
// A participant is the requester itself (peer "self") or any ready room
// peer. Each may hold Config.InFlight assignments at once, so its link never
// idles between two chunks. Peers come and go at any time: RemovePeer puts
// the unreceived rest of each of the peer's assignments back into the pool
// of unassigned bytes at once, and nothing already received is ever handed
// out again.
//
// # Chunk sizes
//
// A peer's first chunk is Config.MinChunk long, to measure it. From then on
// a chunk is about Config.Target of the peer's own transfer time (its recent
// rate times Target, clamped to [MinChunk, MaxChunk]), but not more than the
// peer's fair share: what it can deliver by the time all usable peers
// together would finish everything left, less what it already holds (and
// at least Config.MinSplit). So the tail of the file stays balanced, and
// faster peers simply come back for more. Chunks are cut from the lowest
// unassigned offset, so the file fills from the front.
//
// A peer's two outstanding chunks are sized to end about half a chunk
// apart: a lender serves its requests side by side, and two that end
// together would leave its link idle while both next requests wait for
// their first byte.
//
// Rates are exponentially weighted over about two seconds of the time a
// peer had work outstanding: a peer waiting for work does not look slow,
// while a peer that holds work and delivers nothing does.
//
// # End-game
//
// When a peer with a free slot finds nothing unassigned, Next looks at the
// assignments of the other peers, latest estimated finish first (bytes the
// holder still has to deliver, including those queued ahead of it, over the
// holder's rate). It cuts the first one where that helps: the holder keeps
// the received prefix plus a share balanced so that both peers finish
// together (roughly proportional to their rates, allowing for the new
// peer's first-byte latency), and the idle peer gets the rest — provided that
// rest is at least Config.MinSplit and the estimated finish gets earlier. No
// byte is ever held by two peers at once, so the origin sends each byte once
// (apart from what a cut holder had in flight past its new end).
//
// A holder that has delivered nothing for two seconds (or twice its usual
// first-byte latency, if longer) loses all it has left to an idle peer,
// however small: its End drops to -1 and it counts a failure. Its silence
// also makes its rate estimate decay, so splits take ever more from it
// before that. Taking over rather than duplicating the last piece keeps
// the rule that no byte is held twice, and needs no race between copies.
//
// Outside the end-game, a peer that holds work and delivers nothing for
// Config.StallTimeout is stalled: Tick fails its assignments as if they had
// failed.
//
// # Progress
//
// Silence is not the only way to stall: an origin may send a few KiB and
// then a byte a second for good, which is never silent. So from its first
// byte on, each assignment is also judged on its own progress, once every
// Config.ProgressWindow (3 s): over the window just ended it must have
// delivered at least the larger of Config.MinRate (1 KiB/s) and
// 1/SlowFraction (an eighth) of its share of what its own peer has shown
// it can do — the peer's busy rate at the window's start or now,
// whichever is higher, over the assignments it holds. Otherwise Tick
// fails it with ErrSlow, like a silent one: the rest returns to the pool,
// the peer backs off, the bytes are charged one more attempt, and Tick
// reports it as a slow Stall so the caller cancels the request.
//
// A peer is compared with itself only: a steady slow peer clears its own
// bar however fast the others are, and a peer not measured yet is held to
// MinRate alone. A pause shorter than a window costs a window a fraction
// of its bytes, far from an eighth of them. A window in which the peer as
// a whole delivered nothing is left to the silence rule, so a link that
// pauses every stream alike gets its StallTimeout. A trickle after a
// burst is caught within two windows: at the end of the first if the peer
// is measured, else the burst carries the first and MinRate fails the
// second.
//
// In the end-game an idle peer does not wait for the window's end: an
// assignment below its bar for two seconds of its window loses all it
// has left to it, as from a silent holder.
//
// A stall of either kind backs its peer off like any failure,
// exponentially while stalls and failures come one after another; a chunk
// that completes resets that. Unlike other failures, a slow stall does not
// leave its bytes to other peers: a trickle is the luck of one request,
// not a sign that its peer cannot fetch those bytes. Bytes that failed
// with every present peer are fair game for all again.
//
// # Driving it
//
// The engine's loop for one download is:
//
//	a, ok := s.Next(peer, now)   // for each peer, after any event below and at Wake
//	// send the request for a.Range to a.Peer; if a.From != 0, assignment
//	// a.From just lost its tail: tell its lender, or simply rely on End.
//	for each buffer b read for assignment id at file offset pos:
//	    n := min(len(b), s.End(id)-pos)  // the end may have shrunk; -1 once dead
//	    if n > 0 { write b[:n] at pos }
//	    if s.Received(id, max(n, 0), now) { stop reading, close the request }
//	s.Fail(id, err, retryAfter, now)     // on error: the received prefix stays
//	s.Complete(id, now)                  // when the response ended
//	stalls, err := s.Tick(now)           // at Wake: abort each stall's request
//
// Fail, Complete and Tick return a *GiveUpError once the same bytes have
// failed Config.MaxAttempts times; the download should then fail with it.
// Finished reports when every byte has been received.
package sched
