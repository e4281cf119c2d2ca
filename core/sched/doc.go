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
// unassigned offset, so the file fills from the front (but see Copies and
// claims), with one exception: a peer not measured yet that joins a
// download under way (another peer is measured, or is delivering bytes it
// claimed with Claim, such as the answer to the probe that started the
// download) cuts its chunks from the end of the unassigned bytes. It may be far slower than those
// already at work, and a chunk of it near the front would hold back the
// running hash of the file's prefix until it lands, leaving everything
// behind it to hash at the very end; at the end of the file it is done
// before the others get there, or the end-game takes it over.
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
// # Copies and claims
//
// A participant added with AddCopy holds a copy of some of the file: a
// room machine with the download finished, or with its own download of it
// running, serving what it holds over the LAN. SetHas replaces what it
// holds; it grows while the copy's own download runs, and it may shrink.
//
// A copy peer is assigned only bytes it holds, as last told. It picks
// from the unassigned bytes it holds (leaving the bytes that failed in its
// hands to others, as any peer does), its chunk ends at the end of the
// held range it starts in, and a split gives it only a piece it holds: if
// the piece from the cut on is only partly held, it gets the part from the
// first held byte at or after the cut to the end of that held range; the
// holder keeps all before that point (nothing if it was silent), and what
// lies after the piece returns to the pool. A copy peer that holds nothing
// gets nothing. A copy peer that finds nothing to pick does not wait for
// the end-game: it looks for a split at once, so a copy that appears
// mid-download takes over what it holds from slower sources. Its chunks
// start at MinChunk and follow its own rate. Fair shares, and the rates
// and latencies to plan with for a peer not measured yet, are reckoned
// among copy peers and among the others apart, each over the unassigned
// bytes its kind may take: a LAN's rate says nothing about an origin's.
//
// Copies come first. While a present copy peer holds an unassigned byte
// that has not failed in its hands, a peer that holds no copy does not
// pick that byte; it takes the rest. A copy peer whose last assignment
// failed (or stalled, or was taken over) is not preferred until it
// completes one: a copy that stopped serving must not keep the origin from
// bytes it will never deliver. End-game splits of a copy peer's work by
// the others follow the finish-earlier rule as always, so a slow copy
// still loses work to a faster origin at the end; but not before the
// copy's pace is known (it delivered MinChunk, or worked for two seconds):
// the rule would plan with a guessed rate, and a LAN copy that has just
// joined would lose half its first chunks to the origin.
//
// Two machines downloading the same file at once each see the other as a
// copy peer, tell their scheduler what the other holds and, with
// SetClaims, what the other's download is fetching right now (the other's
// Assigned, which is the union of the unreceived rest of its outstanding
// assignments), and poll both, say, every second. A peer that holds no
// copy does not pick claimed bytes either (but for the far ends of claims,
// below): it fetches other bytes, so the two downloads fetch different
// bytes from the internet and copy the rest from each other. Claims hold while the claimer's copy grows: once a
// copy peer's held bytes have not grown for Config.ClaimPatience (since it
// joined, or since they last grew), its download has stalled or died, and
// its claims lapse; they lapse too when it is removed. Their bytes are then
// fair game, and lapsed claims neither block nor cut anything.
//
// What a copy peer holds is what its download has committed, a second or
// so behind what it has received, and its claims no longer show what it
// received. So the bytes that left its claims from the front since they
// were last told (its download received them) count as claimed until it
// holds them, or until its claims have been told twice more; the bytes
// that left from the back (its assignment was cut) do not. And when its
// claims are first told not empty, the gaps below its last claimed range
// between the bytes it holds and claims (and from the start of the file
// if it holds nothing) count as claimed until its claims have been told
// twice more: a download that ran before this one learnt of it most
// likely received them. Claims told again at the same instant count as
// told once.
//
// The other download's latest picks are not among its claims until the
// next poll, and it too would pick the lowest free bytes. So while a copy
// peer is active (its copy is not complete, and it joined or its copy
// grew within ClaimPatience), a peer that holds no copy goes on right
// after its own previous chunk if that byte is free and that chunk is not
// claimed by the other as well; else it starts at a point drawn in the
// middle half of the largest free range, from a generator seeded by New's
// time, so that two machines' schedulers draw apart. It takes at most
// half the free range it starts in (but at least MinSplit). Two downloads
// thus stream from different places and meet only at the end. Add a copy
// peer as soon as its download is known, even holding nothing yet: two
// downloads that do not know of each other both start at the front, and
// the bytes both took before they learn of each other are fetched twice.
//
// Claims meet in the middle. A download that started alone soon holds all
// the rest of the file in a few rate-sized chunks, so a download that
// starts later finds every byte claimed. Two rules let it share them:
//
// The late download takes the far end of a claim. When a peer that holds
// no copy finds no free byte (none left that a preferred copy peer does
// not hold and that does not count as claimed), it takes the largest
// range [c0, c1) of bytes that one copy peer claims, that no copy peer
// holds and nobody here has been assigned, and starts a chunk in its
// middle, c0 + (c1-c0)/2 (aligned like other cuts), sized as usual but not
// past c1. The claimant fetches its claims from the start forward, so the
// two meet in the middle. It does so only if the range is at least
// 2*MinSplit, and only if the claimant cannot have got to the middle by
// the time it sees where the chunk begins: at its pace (how fast the
// front of its claims moved between the last two SetClaims), over the age
// of its claims and two intervals between SetClaims (one until it looks
// at this download's claims, one more until the chunk's start shows among
// the bytes this download received). A copy peer whose pace is not known
// yet (its claims told only once) offers no far end. Otherwise the peer
// waits as before. Its next chunks go on after the previous one: in free
// bytes as any stream does, or in the bytes the same copy peer claims in
// the same claimed range as that chunk. Those lie beyond where the chunk
// began, where the claimant stops; in the far half of the claim only,
// the stream would stop short and leave a stretch that both downloads
// would later pick at once.
//
// The early download gives up the far end. When the bytes a copy peer
// holds (while it is preferred) or claims (while its claims hold) begin
// strictly inside the unreceived rest of an assignment of a peer that
// holds no copy, at a byte q past the assignment's position and before its
// end, with q-1 neither held nor claimed by that copy peer, then SetHas and
// SetClaims cut the assignment to end at the first such q, as a split
// would: End shrinks, and the caller stops the request when it gets there.
// No new assignment takes the cut-off bytes: they return to the pool,
// where they are the copy peer's to serve or its download's to fetch.
// Bytes a copy peer claims that merely cover an assignment's position do
// not cut it: that download started on them first, and this one's claims
// cut its assignment in its own scheduler. So of two downloads fetching
// the same bytes, the one behind stops where the one ahead is, and they
// never cut each other. Assignments of copy peers are never cut.
//
// When only held or claimed bytes are unassigned and no far end is to be
// taken, a peer that holds no copy waits, and Wake includes the time the
// earliest claim lapses.
//
// Everything else (failures, backoff, the silence and progress rules, the
// end-game, MaxAttempts, no byte held twice, Finished) applies to copy
// peers as to any other. Bytes received are never handed out again.
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
//	s.SetHas(c, has, now)                // at each poll of copy peer c: what it holds,
//	s.SetClaims(c, claims, now)          // and what its own download fetches now
//	publish s.Assigned()                 // as this download's claims, for the others
//
// Fail, Complete and Tick return a *GiveUpError once the same bytes have
// failed Config.MaxAttempts times; the download should then fail with it.
// Finished reports when every byte has been received.
package sched
