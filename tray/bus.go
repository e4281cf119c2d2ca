package tray

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// busDialTimeout bounds the session bus check; a local socket answers at once.
const busDialTimeout = 2 * time.Second

// SessionBus reports whether a D-Bus session bus answers, by connecting to
// the address in DBUS_SESSION_BUS_ADDRESS, or to $XDG_RUNTIME_DIR/bus when
// that is unset. It never starts a bus (unlike the D-Bus library's
// autolaunch), so with no session there is no tray and no stray daemon.
func SessionBus() error {
	addr := os.Getenv("DBUS_SESSION_BUS_ADDRESS")
	if addr == "" {
		if rt := os.Getenv("XDG_RUNTIME_DIR"); rt != "" {
			p := filepath.Join(rt, "bus")
			if fi, err := os.Stat(p); err == nil && fi.Mode()&os.ModeSocket != 0 {
				addr = "unix:path=" + p
			}
		}
	}
	if addr == "" {
		return errors.New("no D-Bus session bus: DBUS_SESSION_BUS_ADDRESS is not set")
	}
	var errs []error
	// An address lists transports to try in order, separated by ';'.
	for _, a := range strings.Split(addr, ";") {
		network, target, err := busTarget(a)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		c, err := net.DialTimeout(network, target, busDialTimeout)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		c.Close()
		return nil
	}
	return fmt.Errorf("no D-Bus session bus answers at %q: %w", addr, errors.Join(errs...))
}

// busTarget turns one D-Bus transport address (unix:path=…, unix:abstract=…,
// tcp:host=…,port=…) into a network and address for net.Dial.
func busTarget(a string) (network, target string, err error) {
	transport, params, ok := strings.Cut(strings.TrimSpace(a), ":")
	if !ok {
		return "", "", fmt.Errorf("bus address %q has no transport", a)
	}
	kv := make(map[string]string)
	for _, p := range strings.Split(params, ",") {
		k, v, _ := strings.Cut(p, "=")
		if uv, err := url.PathUnescape(v); err == nil {
			v = uv
		}
		kv[k] = v
	}
	switch transport {
	case "unix":
		if p := kv["path"]; p != "" {
			return "unix", p, nil
		}
		if p := kv["abstract"]; p != "" {
			return "unix", "@" + p, nil
		}
	case "tcp":
		if kv["host"] != "" && kv["port"] != "" {
			return "tcp", net.JoinHostPort(kv["host"], kv["port"]), nil
		}
	}
	return "", "", fmt.Errorf("bus address %q is not one this check can dial", a)
}
