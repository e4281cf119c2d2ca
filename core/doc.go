// Package core is the Dragonload download engine.
//
// One Engine value owns everything that happens on this node: the downloads
// it requests, the chunks it lends to room peers, and the peer table. It is
// driven through a small command API (Add, Pause, Resume, Cancel,
// SetLending, SetLimits) and observed through one stream of typed events
// (Subscribe). The desktop window, the tray, the headless agent, the CLI and
// the tests are all just callers and subscribers; none of them reaches into
// the engine's internals, and nothing under core/ imports Fyne.
//
// The work is split into sub-packages with one job each:
//
//	link     .dragon files and dragon:// links (parse, format)
//	origin   talking HTTP to the origin: probe, strict ranged GETs, SSRF guard
//	sched    the chunk scheduler: a pure state machine over ranges and peers
//	store    the partial file, its resume journal, and the final rename
//	config   the home folder: settings, room code, node key
//	lend     the lender side: serves room peers' chunk requests
package core
