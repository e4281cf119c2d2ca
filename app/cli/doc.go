// Package cli is Dragonload's command line: the subcommands of the
// contract in DESIGN.md (agent, get, peers, link, version, help) and the
// flags they share. It never imports Fyne: the desktop front end is handed
// in by main as a function, so `dragonload agent` runs on machines without
// a display. The front end is called only when every argument is
// something it can queue (a URL, a dragon:// link, an existing file); any
// other first word is an unknown command, answered before the engine or
// the toolkit start.
//
// Sizes and rates are written with package units (decimal: kB, MB, MB/s),
// as the window writes them.
//
// Exit codes:
//
//	0    success (for get: the verified file is in place; for help and
//	     version: always)
//	1    the operation failed (download failed, cannot listen, ...)
//	2    bad usage or bad input (unknown command or flag, malformed URL or
//	     link file)
//	130  interrupted (SIGINT/SIGTERM); a download resumes when run again
package cli
