// Package tray is Dragonload's system-tray agent: an icon whose menu shows
// what the node is doing and flips lending with one click, so the app can
// keep lending and downloading with its window closed.
//
// The menu is built here as a plain *fyne.Menu driven by an Engine (the
// subset of *core.Engine it needs), so its logic is tested without a tray;
// Install hands it to the desktop driver. The menu reads:
//
//	2 downloads · 43 % · 12.3 MB/s · 1m 33s left (progress, not clickable;
//	                                             "No downloads running" idle)
//	3 peers ready                               (status, not clickable)
//	Download finished: a.iso is in ~/Downloads  (only while set: a
//	                                             notification the desktop
//	                                             could not show; SetNotice)
//	─────────
//	✓ Lend bandwidth                            (a checkbox only while on:
//	                                             trays draw no empty box)
//	─────────
//	Open Dragonload
//	Pause all / Resume all
//	─────────
//	Quit
//
// The lines change at most once a second (UpdateInterval). Once
// installed, the icon's tooltip repeats the progress line, and while
// downloads run the icon carries a progress bar (BarSteps steps).
//
// NotificationService tells the app whether desktop notifications can be
// shown at all (on Linux: a notification service on the session bus).
//
// On Linux the tray is a StatusNotifierItem on the D-Bus session bus; with
// no session bus the systray library fails on quit, so callers check
// SessionBus first and run without a tray when it reports an error.
package tray
