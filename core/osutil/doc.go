// Package osutil holds the few file-system operations whose exact sequence
// matters for crash safety. State files (settings, keys, journals) must be
// either the old version or the new one after a power cut, never a torn mix,
// so they are written to a temporary file in the same folder, synced,
// renamed over the target, and the folder itself synced so the rename is
// durable too.
package osutil
