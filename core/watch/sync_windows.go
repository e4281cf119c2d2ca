//go:build windows

package watch

// syncDir is a no-op on Windows, where folders cannot be opened for
// fsync and NTFS journals renames itself.
func syncDir(string) error { return nil }
