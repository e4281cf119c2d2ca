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
//	link      .dragon files and dragon:// links (parse, format)
//	origin    talking HTTP to the origin: probe, strict ranged GETs, SSRF guard
//	sched     the chunk scheduler: a pure state machine over ranges and peers
//	span      byte ranges and sets of them
//	store     the partial file, its resume journal, and the final rename
//	config    the home folder: settings, room code, node key
//	lend      the lender side: serves room peers' chunk requests
//	discover  LAN discovery over mDNS (a PeerSource)
//	recent    the room peers reached lately, kept for a warm start
//	index     the finished downloads shared with the room
//	peers     the peer table: dial loops, proven peers, bytes per peer
//	watch     the watched folder of .dragon files
//	osutil    crash-safe file writes
//
// The peer protocol itself lives in the top-level package quicwire.
//
// # How a download runs
//
// Add queues a download; at most Limits.MaxDownloads run at once. A running
// download probes the origin (pinning the file's size and strong ETag or
// Last-Modified), opens or resumes its partial file, and hands the byte
// ranges to a scheduler whose participants are this node ("self") and every
// ready, lending room peer. Each participant keeps two requests in flight;
// bytes are written into place as they stream in, and the journal records a
// range only after the data is synced. Peers that join are used at once;
// peers that leave or stall give their unfinished ranges back. When the
// last byte lands the file is verified and renamed into the output folder
// without overwriting anything.
package core
