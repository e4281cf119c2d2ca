package instance

import (
	"fmt"
	"net"
	"os"
	"syscall"
)

// checkPeer refuses connections from other users. The folder's mode already
// keeps them out; this holds even if it was loosened.
func checkPeer(c *net.UnixConn) error {
	raw, err := c.SyscallConn()
	if err != nil {
		return fmt.Errorf("cannot inspect the caller: %w", err)
	}
	var cred *syscall.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil {
		return fmt.Errorf("cannot inspect the caller: %w", err)
	}
	if cerr != nil {
		return fmt.Errorf("cannot read the caller's credentials: %w", cerr)
	}
	if int(cred.Uid) != os.Getuid() {
		return fmt.Errorf("caller uid %d is not this user", cred.Uid)
	}
	return nil
}

func checkOwner(fi os.FileInfo) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	if int(st.Uid) != os.Getuid() {
		return fmt.Errorf("owned by uid %d, not this user", st.Uid)
	}
	return nil
}
