// Package transfer runs one download's transfer: it knows the pinned version
// of the file, the partial file and the bytes still missing, and it moves
// bytes from a changing set of sources into place until none are missing.
//
// A Source is anywhere bytes can come from: this node's own HTTP client,
// a room peer fetching from the origin for us over QUIC, and later mirrors
// and copies on the LAN. Sources join and leave at any moment (AddSource,
// RemoveSource); the transfer neither dials nor discovers anything. It
// reports what happens through a small Reporter: progress about ten times
// a second, each range once it is durable and which source fetched it,
// notices for the user, and the time it waits until when a server asked it
// to wait. Run returns the result.
//
// Nothing here knows the engine, its event bus or its download list; the
// root package core composes those. Time comes from the time package, so
// the tests run every scenario (trickling servers, stalls, lying ranges,
// version changes, sources vanishing) inside a testing/synctest bubble,
// where ten minutes of virtual time take milliseconds.
//
// # Rules
//
// The rules a transfer keeps are written down in docs/downloads.md; each has
// a test in this package:
//
//   - Progress: the scheduler (core/sched) stalls a request that stays
//     silent, or that delivers far below what its source has shown it can
//     do; its remainder goes back to the pool for any source, and a source
//     that keeps stalling is rested.
//   - Give-up: a transfer that makes no durable progress for Config.GiveUp
//     fails with one sentence naming the last cause. A server that asks to
//     be retried later than Config.MaxWait fails at once; a shorter wait is
//     honoured and reported.
//   - Validators: a response whose validators differ from the pin makes
//     the transfer ask the origin again. If the origin still describes the
//     pinned version, the validator is merely inconsistent: it is dropped
//     from the pin (it proves nothing) and the transfer goes on with a
//     notice. Otherwise the file changed and Run returns a *ChangedError;
//     bytes of two versions are never mixed.
//   - Failure accounting: a failure counts against its bytes whichever
//     source met it, so a download ends the same way with or without peers.
//   - Shared links: when the aggregate origin rate does not rise with a
//     lender's work, the lender seems to share this machine's internet
//     link, and its origin routes (mirror pairs included) stay out of the
//     scheduler for the rest of the download, kept among the sources. A
//     lender is tested by pausing it: once self and it have delivered for
//     2 s, the download has over 20 s left and no test ended in the last
//     10 s, it leaves the scheduler for 1 s plus a 2 s measurement; if the
//     aggregate fell by less than half its own rate, it adds nothing and
//     stays out; it shares the link if this node's own origin stream took
//     up its part of the freed rate, else the limit is this node's LAN or
//     CPU and it stays out without a notice.
//     A lender found sharing is followed at once by the next, in order of
//     joining; the first one that helps ends the testing. The user hears
//     "NAME seems to share this machine's internet link: not fetching
//     through it" once per lender, or, when every lender present shares
//     it, "pooling isn't helping: these machines seem to share one
//     internet link" once instead (Progress.SharedLink,
//     SourceStats.SharesLink). A lender not seen before brings every
//     lender set aside back and testing starts over. Copies are never
//     tested. See gain.go.
//   - Minor lenders: a lender whose rate, measured over its current stretch
//     in the scheduler for half a second (or a chunk), is under 1/64 of
//     the aggregate rate of every source stays out of the scheduler,
//     quietly: it could not shorten the download by more than about
//     1.6 %, less than its chunks cost at the end and in this machine's
//     CPU. It comes back when the aggregate falls below 32 times its
//     rate. This machine's source and copies are never kept out. See
//     minor.go.
//   - Durability: bytes are written outside every lock the sources share;
//     a separate goroutine makes them durable (fdatasync, then the journal)
//     every Config.CommitBytes or Config.CommitEvery, whichever comes
//     first, so a crash refetches at most about CommitBytes plus what was
//     in flight. Only then are they reported as durable.
package transfer
