//go:build !(linux || freebsd || openbsd || netbsd)

package app

import "io"

// checkDisplay: Windows and macOS always have a window system for a
// desktop app; Fyne reports its own errors there.
func checkDisplay() (io.Closer, error) { return io.NopCloser(nil), nil }
