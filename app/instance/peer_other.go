//go:build !linux

package instance

import (
	"net"
	"os"
)

// checkPeer relies on the socket folder's permissions where SO_PEERCRED is
// not available.
func checkPeer(*net.UnixConn) error { return nil }

func checkOwner(os.FileInfo) error { return nil }
