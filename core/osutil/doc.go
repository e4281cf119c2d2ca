// Package osutil holds the few file-system operations whose exact sequence
// matters for crash safety. State files (settings, keys, journals) must be
// either the old version or the new one after a power cut, never a torn mix,
// so they are written to a temporary file in the same folder, synced,
// renamed over the target, and the folder itself synced so the rename is
// durable too.
//
// Dir is for folders others may write to (a shared or synced output or
// watched folder): it reaches files only through a handle on the folder
// and only by plain names, never follows a symbolic link in a name, and
// opens only regular files with a single link, so that nobody can steer
// a write, or a read, to a file kept elsewhere by planting a link.
package osutil
