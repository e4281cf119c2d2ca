//go:build !unix && !windows

package watch

import "os"

// lockFile does nothing where the platform has no file locks; one watcher
// per folder is then up to the user. It keeps f open until release.
func lockFile(f *os.File) (release func(), err error) { return func() { f.Close() }, nil }
