package tray

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// fakeBus answers the two calls hasService makes.
type fakeBus struct {
	dbus.BusObject // nil: any other call panics
	owned          map[string]bool
	activatable    []string
	err            error
	calls          []string
}

func (b *fakeBus) Call(method string, _ dbus.Flags, args ...any) *dbus.Call {
	b.calls = append(b.calls, method)
	if b.err != nil {
		return &dbus.Call{Err: b.err}
	}
	switch method {
	case "org.freedesktop.DBus.NameHasOwner":
		return &dbus.Call{Body: []any{b.owned[args[0].(string)]}}
	case "org.freedesktop.DBus.ListActivatableNames":
		return &dbus.Call{Body: []any{b.activatable}}
	}
	return &dbus.Call{Err: fmt.Errorf("unexpected call %s", method)}
}

func TestHasService(t *testing.T) {
	cases := []struct {
		name string
		bus  *fakeBus
		ok   bool
	}{
		{"owned", &fakeBus{owned: map[string]bool{notificationsName: true}}, true},
		{"activatable", &fakeBus{activatable: []string{"org.freedesktop.DBus", notificationsName}}, true},
		{"neither", &fakeBus{owned: map[string]bool{"org.kde.StatusNotifierWatcher": true}, activatable: []string{"org.freedesktop.DBus"}}, false},
		{"bus error", &fakeBus{err: errors.New("connection reset")}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := hasService(tc.bus, notificationsName)
			if (err == nil) != tc.ok {
				t.Fatalf("hasService = %v, want ok=%v (calls %q)", err, tc.ok, tc.bus.calls)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "no notification service") {
				t.Errorf("error %q does not say what is missing", err)
			}
		})
	}
}

// TestNotificationServiceNoBus: without a session bus the answer is an
// error, at once, and no bus is started (the D-Bus library would
// autolaunch one).
func TestNotificationServiceNoBus(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("notifications go through D-Bus only on Linux and the BSDs")
	}
	for _, addr := range []string{"", "unix:path=/nonexistent/bus", "disabled:"} {
		t.Setenv("DBUS_SESSION_BUS_ADDRESS", addr)
		t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
		start := time.Now()
		if err := NotificationService(); err == nil {
			t.Errorf("DBUS_SESSION_BUS_ADDRESS=%q: no error", addr)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("DBUS_SESSION_BUS_ADDRESS=%q: took %v", addr, d)
		}
	}
}

// TestNotificationServiceRealBus asks a private dbus-daemon: nothing there,
// then a service that can be started, then a name that a connection owns.
func TestNotificationServiceRealBus(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("notifications go through D-Bus only on Linux and the BSDs")
	}
	if _, err := exec.LookPath("dbus-daemon"); err != nil {
		t.Skip("dbus-daemon is not installed (apt-get install dbus)")
	}
	t.Setenv("FLATPAK_ID", "")

	// Nothing owns the name and nothing can start it.
	addr := startBus(t, "")
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", addr)
	if err := NotificationService(); err == nil {
		t.Fatal("an empty bus reported a notification service")
	}

	// A connection takes the name, as a notification daemon does.
	owner, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	reply, err := owner.RequestName(notificationsName, dbus.NameFlagDoNotQueue)
	if err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("RequestName = %v, %v", reply, err)
	}
	if err := NotificationService(); err != nil {
		t.Errorf("with the name owned: %v", err)
	}
	if err := owner.Close(); err != nil {
		t.Fatal(err)
	}
	// The bus drops the name with its owner's connection.
	deadline := time.Now().Add(5 * time.Second)
	for NotificationService() == nil {
		if time.Now().After(deadline) {
			t.Fatal("the service is still reported after its owner left")
		}
		time.Sleep(20 * time.Millisecond)
	}

	// A bus that can start a daemon on the first notification (D-Bus
	// activation, how most desktops run theirs). Its Exec fails, so a
	// check that started it instead of asking would still pass: the
	// check must not send it anything, which the marker file shows.
	marker := filepath.Join(t.TempDir(), "started")
	addr = startBus(t, "[D-BUS Service]\nName="+notificationsName+"\nExec=/bin/sh -c 'touch "+marker+"'\n")
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", addr)
	if err := NotificationService(); err != nil {
		t.Errorf("with an activatable service: %v", err)
	}
	time.Sleep(100 * time.Millisecond)
	if _, err := os.Stat(marker); err == nil {
		t.Error("the check started the notification service")
	}
}

// startBus runs a private dbus-daemon for the test and returns its address.
// service, when set, is the .service file of an activatable name.
func startBus(t *testing.T, service string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "dlbus") // short: a socket path has ~100 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	services := filepath.Join(dir, "services")
	if err := os.Mkdir(services, 0o755); err != nil {
		t.Fatal(err)
	}
	if service != "" {
		if err := os.WriteFile(filepath.Join(services, "notify.service"), []byte(service), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sock := filepath.Join(dir, "bus")
	conf := filepath.Join(dir, "bus.conf")
	err = os.WriteFile(conf, []byte(`<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=`+sock+`</listen>
  <servicedir>`+services+`</servicedir>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("dbus-daemon", "--config-file="+conf, "--nofork", "--nopidfile")
	var stderr strings.Builder
	cmd.Stderr = &stderr // its warnings (fd limits in a container) are noise unless it fails
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		if fi, err := os.Stat(sock); err == nil && fi.Mode()&os.ModeSocket != 0 {
			return "unix:path=" + sock
		}
		if time.Now().After(deadline) {
			t.Fatalf("dbus-daemon did not open its socket: %s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
