// Package index is the list of finished files this node downloaded and
// may share, so that peers of the room can copy them over the LAN instead
// of fetching them from the internet again, and search them by name.
//
// # What is served, and why the checks
//
// A peer asks for a file by its content SHA-256, or by the key of the
// version it wants at an origin (OriginKey: URL, strong validator and
// size). Handing out bytes from this node's disk to others is where a
// mistake would leak the user's data, so the package keeps four rules:
//
//   - Only files in the index are ever opened. A request names a hash, not a
//     path; OpenFile refuses an Entry that is not, or no longer, a shared
//     entry of the index. Nothing a peer sends can reach an arbitrary path.
//
//   - A file is served only while it is the very file that was indexed. At
//     Add time the file's size, modification time and identity (device and
//     inode on Unix, volume serial and file index on Windows) are
//     recorded; Lookup and Search compare them with an Lstat, and OpenFile
//     compares them again with the Stat of the file it opened, which is
//     what gets read. A file edited, truncated, or replaced by another one
//     (even one given the same size and time) is dropped from the index
//     and never served: the user may have reused the name for something
//     private. These checks are about not disclosing other bytes, not
//     about integrity: the receiving peer checks the SHA-256 of what it
//     gets in any case, and that is what catches the one change they
//     cannot see, a rewrite in place that keeps both size and time.
//
//   - A symbolic link is never followed. Add refuses one, and OpenFile
//     opens with O_NOFOLLOW on Unix (on Windows the name is opened with
//     FILE_FLAG_OPEN_REPARSE_POINT, so a link or other reparse point is
//     opened as itself and refused), so that a link planted where a
//     shared file was cannot steer a read to, say, ~/.ssh/id_ed25519.
//     Folders above the file are the user's and are followed; a folder
//     swapped for a link to elsewhere leads to another file, whose
//     identity does not match.
//
//   - Anything that cannot be verified counts as changed: a file that
//     vanished, a folder made unreadable, a FIFO or device in its place.
//     Where no file identity is available (neither Unix nor Windows) the
//     size and time are still compared.
//
// Entries are dropped lazily, when a lookup finds them changed; List does
// not look at the disk. Expire drops entries past their sharing period,
// and SetShared(path, false) keeps an entry listed but out of reach.
//
// # File
//
// The index is one JSON file, mode 0600 (it lists the user's files):
//
//	{"version":1,"entries":[
//	{"path":"/home/a/Downloads/x.iso","name":"x.iso","size":1,...},
//	...
//	]}
//
// newest entry first, one a line. Every change rewrites it atomically
// (osutil.WriteFileAtomic) before the change shows in memory, so that the
// file and the in-memory index always agree; a change that cannot be
// saved is not made.
//
// # Bounds and damage
//
// At most 10,000 entries are kept; beyond that the oldest are dropped. A
// file larger than 16 MiB or holding more than 100,000 entries was not
// written by this package. Entries must have an absolute, clean UTF-8
// path, a printable UTF-8 name of at most 256 bytes, a size of at least
// one byte and a content hash; paths may not repeat. A file breaking any
// of this, not JSON, or from an unknown (newer) format version is renamed
// to its name plus ".bad" by Open, which returns a usable empty index and
// an error to log: a damaged index never stops the application.
package index
