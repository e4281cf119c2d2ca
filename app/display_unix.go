//go:build linux || freebsd || openbsd || netbsd

package app

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// checkDisplay tells whether an X server answers on $DISPLAY, the way
// Fyne's GLFW driver will look for it, so a start without a display (an
// ssh session, a server) ends with one sentence before the engine and mDNS
// start, instead of a panic inside the toolkit after they did. It only
// connects: an X server that then refuses this user still fails in Fyne.
//
// The connection it made is returned open, for the caller to close once
// the window is up: an X server whose only client disconnects resets
// itself (Xvfb does, without -noreset), and a reset racing the toolkit's
// own connection made the window fail to open.
func checkDisplay() (io.Closer, error) {
	const hint = "; on a machine without a desktop, use `dragonload get` or `dragonload agent`"
	display := os.Getenv("DISPLAY")
	if display == "" {
		return nil, errors.New("cannot open a window: no display (DISPLAY is not set)" + hint)
	}
	network, addrs, err := xAddrs(display)
	if err != nil {
		return nil, fmt.Errorf("cannot open a window: %w%s", err, hint)
	}
	var last error
	for _, a := range addrs {
		c, err := net.DialTimeout(network, a, 2*time.Second)
		if err == nil {
			return c, nil
		}
		last = err
	}
	return nil, fmt.Errorf("cannot open a window: no X server answers on display %s (%v)%s", display, last, hint)
}

// xAddrs is where the X server of display ("[host]:N[.S]") listens: a
// local display on its Unix socket (Linux tries the abstract one first,
// as Xlib does), a remote one on TCP port 6000+N.
func xAddrs(display string) (network string, addrs []string, err error) {
	i := strings.LastIndexByte(display, ':')
	if i < 0 {
		return "", nil, fmt.Errorf("DISPLAY %q has no display number", display)
	}
	host, num := display[:i], display[i+1:]
	num, _, _ = strings.Cut(num, ".")
	n, err := strconv.Atoi(num)
	if err != nil || n < 0 || n > 65535-6000 {
		return "", nil, fmt.Errorf("DISPLAY %q has no valid display number", display)
	}
	if host == "" || host == "unix" {
		path := "/tmp/.X11-unix/X" + strconv.Itoa(n)
		if runtime.GOOS == "linux" {
			return "unix", []string{"@" + path, path}, nil
		}
		return "unix", []string{path}, nil
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	return "tcp", []string{net.JoinHostPort(host, strconv.Itoa(6000+n))}, nil
}
