package tray

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"
)

// busDialTimeout bounds the session bus check; a local socket answers at once.
const busDialTimeout = 2 * time.Second

// SessionBus reports whether a D-Bus session bus answers, by connecting to
// the address in DBUS_SESSION_BUS_ADDRESS, or to $XDG_RUNTIME_DIR/bus when
// that is unset. It never starts a bus (unlike the D-Bus library's
// autolaunch), so with no session there is no tray and no stray daemon.
func SessionBus() error {
	c, _, err := dialSessionBus()
	if err != nil {
		return err
	}
	c.Close()
	return nil
}

// NotificationService reports whether the desktop can show a notification
// from this app. On Linux and the BSDs that takes a D-Bus session bus on
// which org.freedesktop.Notifications has an owner or can be started
// (it is activatable); in a Flatpak sandbox, where Fyne goes through the
// desktop portal, org.freedesktop.portal.Desktop instead. Elsewhere the
// OS shows notifications itself and it returns nil.
//
// Fyne's SendNotification logs "Failed to send message to bus" to stderr
// when no service answers, and the user sees nothing; callers check this
// first and show notifications in the window when it reports an error.
// Like SessionBus it never starts a bus.
func NotificationService() error {
	switch runtime.GOOS {
	case "linux", "freebsd", "openbsd", "netbsd":
	default:
		return nil
	}
	name := notificationsName
	if os.Getenv("FLATPAK_ID") != "" {
		name = portalName
	}
	c, addr, err := dialSessionBus()
	if err != nil {
		return fmt.Errorf("no notification service: %w", err)
	}
	defer c.Close()
	// The deadline bounds the whole exchange: a bus that accepts the
	// connection but never answers must not hold up the app's start.
	if err := c.SetDeadline(time.Now().Add(busDialTimeout)); err != nil {
		return fmt.Errorf("no notification service: %w", err)
	}
	conn, err := dbus.NewConn(c)
	if err != nil {
		return fmt.Errorf("no notification service: %w", err)
	}
	defer conn.Close()
	if err := conn.Auth(nil); err != nil {
		return fmt.Errorf("no notification service: cannot authenticate to the session bus at %q: %w", addr, err)
	}
	if err := conn.Hello(); err != nil {
		return fmt.Errorf("no notification service: the session bus at %q did not answer: %w", addr, err)
	}
	return hasService(conn.BusObject(), name)
}

// The bus names of the desktop notification service and of the desktop
// portal (which forwards notifications from inside a Flatpak).
const (
	notificationsName = "org.freedesktop.Notifications"
	portalName        = "org.freedesktop.portal.Desktop"
)

// hasService reports whether name has an owner on the bus or can be
// started by it. It starts nothing: a bus starts an activatable service on
// the first message to it, which is the notification itself.
func hasService(bus dbus.BusObject, name string) error {
	var owned bool
	if err := bus.Call("org.freedesktop.DBus.NameHasOwner", 0, name).Store(&owned); err != nil {
		return fmt.Errorf("no notification service: cannot ask the session bus about %s: %w", name, err)
	}
	if owned {
		return nil
	}
	var names []string
	if err := bus.Call("org.freedesktop.DBus.ListActivatableNames", 0).Store(&names); err != nil {
		return fmt.Errorf("no notification service: cannot list the session bus's services: %w", err)
	}
	if slices.Contains(names, name) {
		return nil
	}
	return fmt.Errorf("no notification service: nothing owns or can start %s on the session bus", name)
}

// dialSessionBus connects to the session bus's socket, trying the
// transports of its address in order, and returns the connection and the
// address it resolved.
func dialSessionBus() (net.Conn, string, error) {
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
		return nil, "", errors.New("no D-Bus session bus: DBUS_SESSION_BUS_ADDRESS is not set")
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
		return c, addr, nil
	}
	return nil, addr, fmt.Errorf("no D-Bus session bus answers at %q: %w", addr, errors.Join(errs...))
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
