// Package store keeps a download's bytes on disk until they are whole: the
// partial file, its resume journal, and the final move into place.
//
// # Files
//
// A download of NAME into folder DIR uses two hidden files beside its
// destination (the watch folder ignores names starting with a dot):
//
//	DIR/.NAME.dlpart           the data, preallocated to the full size
//	DIR/.NAME.dlpart.journal   which byte ranges of it are durable
//
// Preallocation (fallocate on Linux) makes a full disk fail at Open, with a
// clear message, rather than hours later. A file of unknown size (a server
// that ignores ranges and sends no length) is neither preallocated nor
// journaled, since it cannot resume; its length is what the stream wrote.
// The data file is locked (flock on Linux) while a Partial has it open, so
// two processes never download into the same file.
//
// # Links
//
// The folder may be shared or synced, so others may be able to plant
// files in it. Open therefore opens the folder once and holds the handle
// until Close, Discard or a successful Finish; every file (the data file,
// the journal, its temporary file, the final name) is reached through that
// handle by its plain name, never by a path (openat, renameat, linkat,
// unlinkat on Unix; os.Root and the checks below on Windows). No name is
// ever followed if it is a symbolic link: on Unix the kernel refuses it
// (O_NOFOLLOW); on Windows, where os.Root would follow a link that stays
// inside the folder, each name is checked with Lstat before it is opened
// and the open file compared with it after. A symbolic link at the data
// file's, the journal's, the temporary file's or the final name is
// refused with one sentence naming it, such as
//
//	refusing to write through /dl/.x.iso.dlpart: it is a symbolic link
//	refusing to save the download as /dl/x.iso: it is a symbolic link
//
// (matching osutil.ErrSymlink), and nothing is written to what it points
// to; Open looks for such links before it creates anything. The data file
// and the journal must be regular files with a single link (on Unix,
// where the link count is known): a hard link planted under the data
// file's name would reach a file kept elsewhere just as well. A symbolic
// link planted at the journal's name mid-download is replaced by the next
// Commit's rename, never written through; a data file replaced by one
// fails Commit and Finish with ErrFolderGone, below.
//
// A folder path swapped for a symbolic link (or another folder) during the
// download is detected: Commit and Finish fail with ErrFolderGone, below.
// A swap in the instant between that check and the write or final move
// redirects nothing either: they go through the handle into the folder
// Open found, wherever it now is (Finish's path then names the old place).
//
// # Durability
//
// Commit first fdatasyncs the data file, then atomically replaces the
// journal with one listing the new ranges too: write a temporary file
// (.NAME.dlpart.journal.tmp), fsync it, rename it over the journal, fsync
// the folder. So a range is in the journal only once its bytes are on disk,
// and after a crash the journal is the old one or the new one, never a mix.
// One Commit costs one fdatasync and one small atomic write; a few per
// second are fine.
//
// Commit and Finish first check, with two stats, that the folder path still
// names the folder Open found (the path is followed, symbolic links and
// all, and must lead to the folder the handle holds) and that the data
// file is still linked under its name. A folder deleted, or moved away and created anew, mid-download
// would otherwise swallow every later byte into a file nobody can see, and
// the download would fail only at the final move. They fail instead with an
// error matching ErrFolderGone, having written nothing.
//
// Finish syncs the data, checks the whole-file SHA-256 when one is known
// (see below), and moves the file into place without ever replacing anything: if NAME is
// taken it tries "NAME (1).EXT", "NAME (2).EXT" and so on, using
// renameat2(RENAME_NOREPLACE) on Linux or renameatx_np(RENAME_EXCL) on
// macOS, or where that is missing (other systems, file systems without
// it) a hard link and an unlink, or on file systems without hard links a
// check for the name just before a rename. A candidate name that is a
// symbolic link stops the search with the refusal above. The folder is synced, and the journal removed last.
// Nothing appears under a final name before the file is complete and
// verified. A file that fails its SHA-256 is deleted with its journal, so a
// retry starts clean.
//
// # The file's SHA-256
//
// Every finished download's SHA-256 is known, whether or not the link gave
// one to check, so the file can be offered to others on the LAN by it
// (Sum). It is computed alongside the download rather than at the end: a
// second pass over a large file costs as long as reading it back, and all
// of that time would fall between the last byte and the final move. A
// goroutine per Partial hashes the durable prefix [0, N) as Commits extend
// it, reading the bytes back in pieces of 1 MiB just after they were
// written, while they are still in the page cache; Finish then reads only
// what it has not reached yet, usually the last Commit's bytes. A resumed
// download is hashed from its first byte in the background. The transfer
// never rewrites durable bytes, except an audit that repairs a lender's
// wrong ones (core's blame); any WriteAt below where the hash has read
// therefore makes it start over from byte 0, so the sum is always that
// of the final bytes.
//
// # Journal format, version 1
//
// The journal is UTF-8 text, one field per line, every line ending in "\n",
// in exactly this order:
//
//	dragonload-journal 1
//	url "https://example.com/big.iso"
//	size 1073741824
//	etag "\"5d8c72a5edda8\""
//	last-modified "Mon, 02 Jan 2006 15:04:05 GMT"
//	sha256 ""
//	name "big.iso"
//	done 0 67108864
//	done 134217728 201326592
//	crc32c 1b2c3d4e
//
// String values are Go-quoted (strconv.Quote) and may be empty; size is the
// file size in bytes; etag is the strong ETag or, failing one, the weak one
// with its W/ prefix, as the server sent it. Each done line is a half-open
// byte range [off, end) of durable data, in decimal without sign or leading
// zeros; the ranges are sorted, non-empty, within the size, and neither
// overlap nor touch (they are coalesced), so the journal stays small
// however many chunks landed.
// The last line is the CRC-32C (Castagnoli) of every byte before it, as
// eight lowercase hex digits.
//
// A journal that breaks any of these rules (torn, garbled, another version,
// more than 4 MiB) is not trusted: the download starts over, and Open says
// why.
//
// # Which partial resumes
//
// A partial resumes when it holds the same file, which the URL alone does
// not decide. Only the URL's scheme, host (with its port) and path count:
// a newly signed link to the same object (an S3 presigned URL, a CDN link
// with a fresh token) differs only in its query, and resumes. The journal
// then records the new URL. A partial from another scheme, host or path
// resumes only when both links carry the same SHA-256 and the size is the
// same, which names the bytes wherever they come from (Finish checks it).
//
// At the same address the file must not have changed: the same size, the
// same expected SHA-256 where both links carry one, and the same strong
// ETag, or, where there is none, the same Last-Modified date. A weak ETag
// that changed proves a change too; an unchanged one proves nothing.
// Resuming needs a strong ETag or a Last-Modified date (or, failing both,
// a SHA-256 on both links), so that bytes of two versions of a file are
// never mixed. Otherwise the download starts over, and RestartReason says
// why in a sentence such as: the server's ETag for the file changed from
// "a" to "b". FindFile looks for a partial by these rules; Find, given
// only a URL, by its scheme, host and path.
package store
