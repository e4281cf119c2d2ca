// Package tray is Dragonload's system-tray agent: an icon whose menu shows
// what the node is doing and flips lending with one click, so the app can
// keep lending and downloading with its window closed.
//
// The menu is built here as a plain *fyne.Menu driven by an Engine (the
// subset of *core.Engine it needs), so its logic is tested without a tray;
// Install hands it to the desktop driver. The menu reads:
//
//	3 peers ready · 1 downloading · 4.20 MB/s   (status, not clickable)
//	─────────
//	✓ Lend bandwidth                            (a checkbox only while on:
//	                                             trays draw no empty box)
//	─────────
//	Open Dragonload
//	Pause all / Resume all
//	─────────
//	Quit
//
// On Linux the tray is a StatusNotifierItem on the D-Bus session bus; with
// no session bus the systray library fails on quit, so callers check
// SessionBus first and run without a tray when it reports an error.
package tray
