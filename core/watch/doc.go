// Package watch watches a folder for .dragon link files and hands each link
// to the engine exactly once.
//
// # What is picked up
//
// A file is a link when its name ends in ".dragon" (any case) and does not
// start with a dot. That leaves out the .dragonload folder, hidden files,
// the engine's partial files (".name.dlpart", ".name.dlpart.journal"),
// editors' temporary and backup files, other programs' partial downloads
// ("x.dragon.part", "x.dragon.crdownload", "x.dragon.tmp",
// "x.dragon.download", "x.dragon~") and the watcher's own notes
// ("x.dragon.error.txt"). Creating, writing, renaming into or moving into
// the folder all count, so do editors' saves that write a temporary file and
// rename it over the link. Links already in the folder when Run starts are
// picked up too; so is everything after an event-queue overflow, and on a
// full rescan every Options.Rescan as a safety net.
//
// A link file is read only once its size and modification time have not
// changed, and no event has named it, for Options.Debounce (300 ms by
// default). An empty file is not read: programs create files empty and fill
// them later. A writer that pauses for longer than the debounce mid-file
// should write a temporary name and rename it into place.
//
// # Links and notes
//
// Others may be able to write into the watched folder, and the watcher
// reads with its owner's rights. So it reads only regular files with a
// single link, and at most link.MaxFileSize+1 bytes of one: a link file
// that is a symbolic link or a hard link (which could lead to a file only
// the owner may read) is not read, gets no note, and is named once in the
// log. Names are looked at with Lstat, and opened through a handle on the
// folder with O_NOFOLLOW and O_NONBLOCK (a FIFO cannot block the watcher),
// the open file checked again with fstat; see osutil.Dir.
//
// A note never quotes the link file: the parser's messages do (an unknown
// key, a bad URL), so a note gives only the line and the kind of problem
// from a fixed list, such as "line 3: url is not a usable http or https
// URL"; the state and the log say the same. A download's failure is quoted
// as the engine says it, less the query and credentials of the link's URLs
// and the values of its headers. Notes are written with mode 0600, to a new
// file renamed over the note's name, so a symbolic link planted there is
// replaced, never written through. The .dragonload folder and its done
// folder are created with mode 0700 and refused if they are symbolic
// links; the state, the lock and moved link files are reached through
// handles on them, never through a link.
//
// # Exactly once
//
// A version of a link file is identified by its Key: the SHA-256 of its name
// and its bytes. The watcher records every Key it acts on, and what became
// of it, in Dir/.dragonload/state.json (JSON, written atomically):
//
//	{"version": 1, "links": {"<key>": {"name": "x.dragon",
//	  "state": "started" | "done" | "failed", "link": "dragon://?...",
//	  "final": "<downloaded file>", "error": "<why it failed>",
//	  "started": "<RFC 3339>", "updated": "<RFC 3339>"}}}
//
// A Key seen for the first time is parsed. An unusable link gets a note
// "<name>.error.txt" beside it, one or two sentences saying what is wrong,
// and is recorded failed. A usable one is recorded started and handed to
// the start function of Run. The engine reports the end with Done, which
// records it done and moves the link file into Dir/.dragonload/done/ (under
// "x (2).dragon" and so on if the name is taken), or with Failed, which
// records it failed and writes the note.
//
// A Key already recorded is not started again while the process runs. After
// a restart, a started Key whose file is still there is handed to start once
// more, with the same Job, for the engine to resume its partial file. A
// failed Key is not retried while its note exists: deleting the note retries
// it once; editing or renaming the link file makes a new Key, which replaces
// the old record and removes the old note. A done Key that shows up again
// (the same file dropped in twice, or a Done cut short by a crash) is moved
// to done/ without downloading again. When a link file is deleted, its
// failed record and note go too, and so does a started record that no
// download of this process is working on.
//
// Only one Watcher may run per folder at a time, across processes: Run takes
// a lock on Dir/.dragonload/lock.
package watch
