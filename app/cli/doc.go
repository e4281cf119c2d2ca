// Package cli is Dragonload's command line: the subcommands of the
// contract in DESIGN.md (agent, get, peers, link) and the flags they share.
// It never imports Fyne: the desktop front end is handed in by main as a
// function, so `dragonload agent` runs on machines without a display.
//
// Exit codes:
//
//	0    success (for get: the verified file is in place)
//	1    the operation failed (download failed, cannot listen, ...)
//	2    bad usage or bad input (unknown flag, malformed URL or link file)
//	130  interrupted (SIGINT/SIGTERM); a download resumes when run again
package cli
