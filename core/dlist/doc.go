// Package dlist is the persisted download list: what the engine remembers
// about every download across restarts, so that quitting mid-download and
// relaunching shows the same list and can resume it.
//
// # File
//
// The list lives in HOME/downloads.json:
//
//	{"version": 1, "downloads": [ {entry}, ... ]}
//
// Entries appear in the order they were first added. Each one keeps the
// link fields (URL, mirrors, expected size and hash, request headers) so a
// download can be re-added after a restart even when its .dragon file is
// gone. Headers may carry credentials (cookies, tokens), so the file is
// written with mode 0600. An entry may also carry its chunk map (who
// fetched which byte ranges, and their names); the engine bounds its size.
//
// An entry's State is whatever was last Put. After a crash an unfinished
// entry may still say "downloading"; what that means on the next start is
// the engine's decision, not this package's.
//
// # Writes
//
// Every write replaces the whole file atomically (osutil.WriteFileAtomic),
// so after a crash the file is the previous version or the new one, never a
// torn mix. Progress makes Put frequent, so writes are coalesced: Put only
// marks the list dirty, and one background flusher writes it at most once
// per Options.FlushEvery (200 ms by default). A burst of Puts costs one
// write, and a crash loses at most that much progress. Changes that must
// not be lost (a download added, a download reaching a final state) are
// followed by an explicit Flush, which writes synchronously.
//
// A background write that fails is handed to Options.OnError at once and
// kept for the next Flush or Close to return, so no failure goes unseen.
// The list stays dirty and the write is retried by the next flush.
//
// # Bounds
//
// Unfinished downloads are always kept. Finished ones (done, failed,
// canceled) are history: at most Options.MaxHistory of them (500 by
// default) are kept, and beyond that the ones that ended longest ago are
// dropped, so a long-running agent does not grow without bound.
// ClearFinished drops all of them on request.
//
// # Damage
//
// A list that cannot be used never stops the application from starting.
// When downloads.json is not valid JSON, holds an entry that breaks the
// rules above (no id, a repeated id, an unknown state), is larger than
// MaxFileSize, or was written by a newer format version, Open renames it to
// downloads.json.bad-UNIXTIME, starts with an empty list, and explains in
// Warning. Nothing is ever overwritten that could not first be set aside.
package dlist
