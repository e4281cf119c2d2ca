// Package app starts Dragonload's desktop app: the window (package ui), the
// tray icon (package tray) and the single-instance socket (package
// instance), all driven by one engine.
//
// main.go calls HandOff first, before it builds an engine: when an app is
// already running for the same home folder, the arguments go to it and the
// new process exits. Otherwise main builds the engine and calls Run on the
// main goroutine, which returns when the user quits.
//
// Closing the window hides it when a tray icon exists (the tray's "Open
// Dragonload" or a second launch brings it back) and quits otherwise. There
// is a tray icon only when a D-Bus session bus answers (tray.SessionBus):
// without one the systray library panics on quit.
package app
