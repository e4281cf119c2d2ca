//go:build !(linux || freebsd || openbsd || netbsd)

package app

// checkDisplay: Windows and macOS always have a window system for a
// desktop app; Fyne reports its own errors there.
func checkDisplay() error { return nil }
