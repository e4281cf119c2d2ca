package gui

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	testorigin "github.com/dragonload/dragonload/test/origin"
	"github.com/dragonload/dragonload/test/testkit"
)

// appBinary is the dragonload executable under test, built once by TestMain
// (or given as DRAGONLOAD_BIN).
var appBinary string

func TestMain(m *testing.M) {
	flag.Parse()
	code := func() int {
		if b := os.Getenv("DRAGONLOAD_BIN"); b != "" {
			appBinary = b
			return m.Run()
		}
		if testing.Short() || !haveTools() {
			return m.Run() // the tests skip or fail on their own
		}
		dir, err := os.MkdirTemp("", "dlgui-bin")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		appBinary = filepath.Join(dir, "dragonload")
		root, err := moduleRoot()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", "build", "-o", appBinary, ".")
		cmd.Dir = root
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "cannot build dragonload: %v\n", err)
			return 1
		}
		return m.Run()
	}()
	os.Exit(code)
}

var tools = []string{"Xvfb", "xdotool", "dbus-daemon", "import"}

func haveTools() bool {
	for _, t := range tools {
		if _, err := exec.LookPath(t); err != nil {
			return false
		}
	}
	return true
}

// needDesktop skips the test where the desktop tools are missing, and
// fails it there under CI, which must run it.
func needDesktop(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end desktop test skipped in -short mode")
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is missing: install xvfb xdotool dbus imagemagick (make deps-test)", tool)
			}
			t.Skipf("%s is missing: install xvfb xdotool dbus imagemagick to run the desktop test", tool)
		}
	}
	if appBinary == "" {
		t.Fatal("no dragonload binary was built")
	}
}

// TestDesktop drives the real app with a tray: download from a typed link,
// hand-off from a second launch, close to tray, reopen, Quit from the tray.
func TestDesktop(t *testing.T) {
	needDesktop(t)
	d := newDesk(t, true)

	// The origin caps each client address, like a per-host WAN limit; a
	// lending agent fetching from another loopback address doubles the
	// pool, and the chunk map shows both colours.
	const size = 96 << 20
	origin := startOrigin(t, testorigin.Config{Size: size, Seed: 1, Name: "dataset.bin", RatePerSource: 8 << 20})
	const room = "e2e-gui-room-test"
	agentAddr := d.startAgent(t, room)
	app := d.launch(t, "first", "--room", room, "--name", "desk", "--peer", agentAddr)

	win := d.waitWindow(t, app, true, 20*time.Second)
	app.waitLog(t, "window ready", 20*time.Second)
	time.Sleep(700 * time.Millisecond) // let the first frames draw
	d.screenshot(t, win, "onboarding")
	// The first run opens the introduction; Escape closes it.
	d.focus(t, win)
	d.xdotool(t, "key", "--window", fmt.Sprint(win), "Escape")
	time.Sleep(500 * time.Millisecond)
	d.screenshot(t, win, "empty")

	// Type the link as a person would: Ctrl+L focuses the link field.
	d.xdotool(t, "key", "--window", fmt.Sprint(win), "ctrl+l")
	d.xdotool(t, "type", "--delay", "5", "--window", fmt.Sprint(win), origin.URL())
	d.xdotool(t, "key", "--window", fmt.Sprint(win), "Return")

	final := filepath.Join(d.out, "dataset.bin")
	waitFor(t, "the download to start", 20*time.Second, func() bool { return dirBytes(d.out) > 0 })
	time.Sleep(3 * time.Second)
	d.screenshot(t, win, "downloading")
	waitFor(t, "the verified file", 90*time.Second, func() bool { return fileSize(final) == size })
	if got, want := testkit.FileSHA256(t, final), testorigin.SumSHA256(1, size); got != want {
		t.Fatalf("downloaded file sha256 %s, want %s", got, want)
	}
	time.Sleep(800 * time.Millisecond)
	d.screenshot(t, win, "done")
	// The other tabs, for the record (Alt+2, Alt+3; Alt+1 goes back).
	for i, name := range []string{"peers", "settings"} {
		d.xdotool(t, "key", "--window", fmt.Sprint(win), fmt.Sprintf("alt+%d", i+2))
		time.Sleep(400 * time.Millisecond)
		d.screenshot(t, win, name)
	}

	d.xdotool(t, "key", "--window", fmt.Sprint(win), "alt+1")

	// A second launch with a link hands it over and exits 0 at once.
	second := startOrigin(t, testorigin.Config{Size: 1 << 20, Seed: 2, Name: "second.bin"})
	code, out := d.runOnce(t, 20*time.Second, second.URL())
	if code != 0 {
		t.Fatalf("second launch exited %d: %s", code, out)
	}
	waitFor(t, "the handed-off download", 30*time.Second, func() bool {
		return fileSize(filepath.Join(d.out, "second.bin")) == 1<<20
	})
	if n := len(d.visibleWindows(t)); n != 1 {
		t.Fatalf("%d visible Dragonload windows after the hand-off, want 1", n)
	}

	// The Shared tab (Alt+4) lists the two finished downloads, shared
	// with the room. The agent shares a file of its own (a one-shot get
	// in its home, which the running agent's index picks up); the search
	// field, focused with the tab, finds it in the room.
	manual := startOrigin(t, testorigin.Config{Size: 3 << 20, Seed: 4, Name: "field-manual.pdf"})
	d.agentGet(t, manual.URL())
	d.focus(t, win)
	d.xdotool(t, "key", "--window", fmt.Sprint(win), "alt+4")
	time.Sleep(600 * time.Millisecond)
	d.screenshot(t, win, "shared")
	d.xdotool(t, "type", "--delay", "5", "--window", fmt.Sprint(win), "manual")
	d.xdotool(t, "key", "--window", fmt.Sprint(win), "Return")
	time.Sleep(4 * time.Second) // a search waits up to 3 s for each machine
	d.screenshot(t, win, "search")
	d.xdotool(t, "key", "--window", fmt.Sprint(win), "alt+1")

	// A dragon:// link opened by another program (a web page, through the
	// desktop's scheme handler) waits for the user: the window asks, and
	// nothing is fetched, nor even asked of the server, before Download.
	third := startOrigin(t, testorigin.Config{Size: 1 << 20, Seed: 3, Name: "third.bin"})
	link := "dragon://?url=" + url.QueryEscape(third.URL()) + "&name=third.bin"
	if code, out := d.runOnce(t, 20*time.Second, link); code != 0 {
		t.Fatalf("launch with a dragon:// link exited %d: %s", code, out)
	}
	time.Sleep(2 * time.Second)
	d.screenshot(t, win, "consent")
	if n := third.Requests(); n != 0 {
		t.Fatalf("the origin of a link opened from outside got %d requests before the user said yes", n)
	}
	d.focus(t, win)
	d.xdotool(t, "key", "--window", fmt.Sprint(win), "Escape")
	time.Sleep(time.Second)
	if n := third.Requests(); n != 0 || fileSize(filepath.Join(d.out, "third.bin")) >= 0 {
		t.Fatalf("a link the user dismissed was fetched (%d requests)", n)
	}

	// Closing the window hides it: the app keeps running in the tray.
	if err := closeWindow(d.display, win); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the window to hide", 10*time.Second, func() bool { return len(d.visibleWindows(t)) == 0 })
	time.Sleep(time.Second)
	if app.exited() {
		t.Fatalf("closing the window with a tray quit the app: %s", app.log())
	}

	// A launch with no arguments brings the window back.
	if code, out := d.runOnce(t, 20*time.Second); code != 0 {
		t.Fatalf("bare second launch exited %d: %s", code, out)
	}
	d.waitWindow(t, app, true, 10*time.Second)

	// The tray shows the room's state and flips lending, through D-Bus as
	// the desktop's panel would.
	waitFor(t, "the tray status line", 10*time.Second, func() bool {
		return slices.ContainsFunc(d.trayLabels(t, app), func(l string) bool { return strings.HasPrefix(l, "1 peer ready") })
	})
	d.clickTray(t, app, "Lend bandwidth")
	waitFor(t, "the tray to show lending off", 10*time.Second, func() bool {
		return slices.Contains(d.trayLabels(t, app), "Lend bandwidth (off)")
	})
	d.clickTray(t, app, "Lend bandwidth (off)")
	waitFor(t, "the tray to show lending on", 10*time.Second, func() bool {
		return slices.Contains(d.trayLabels(t, app), "Lend bandwidth")
	})

	// Quit from the tray menu.
	d.clickTray(t, app, "Quit")
	if code := app.wait(t, 20*time.Second); code != 0 {
		t.Fatalf("app exited %d after Quit: %s", code, app.log())
	}
	if strings.Contains(app.log(), "Error in Fyne call thread") {
		t.Fatalf("the app touched widgets off the main goroutine:\n%s", app.log())
	}
	if strings.Contains(app.log(), "panic") {
		t.Fatalf("app log mentions a panic:\n%s", app.log())
	}
}

// TestDesktopWithoutTray runs the app with no session bus: it says so once,
// has no tray, and closing the window quits.
func TestDesktopWithoutTray(t *testing.T) {
	needDesktop(t)
	d := newDesk(t, false)
	app := d.launch(t, "solo")
	win := d.waitWindow(t, app, true, 20*time.Second)
	app.waitLog(t, "window ready", 20*time.Second)
	if err := closeWindow(d.display, win); err != nil {
		t.Fatal(err)
	}
	if code := app.wait(t, 20*time.Second); code != 0 {
		t.Fatalf("app exited %d after closing its only window: %s", code, app.log())
	}
	log := app.log()
	if n := strings.Count(log, "no tray icon"); n != 1 {
		t.Errorf("the log says %d times that there is no tray, want once:\n%s", n, log)
	}
	if strings.Contains(log, "panic") {
		t.Fatalf("app log mentions a panic:\n%s", log)
	}
}

// desk is one virtual desktop: an X display, optionally a session bus, and
// the folders one app instance uses.
type desk struct {
	t         *testing.T
	display   int
	bus       string // DBUS_SESSION_BUS_ADDRESS; a dead address without a bus
	dir       string
	home, out string
	artifacts string
}

func newDesk(t *testing.T, withBus bool) *desk {
	// Socket paths must stay short, so the folder is made under /tmp
	// rather than t.TempDir.
	dir, err := os.MkdirTemp("", "dlgui")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	d := &desk{t: t, dir: dir, home: filepath.Join(dir, "home"), out: filepath.Join(dir, "out")}
	for _, p := range []string{d.home, d.out, filepath.Join(dir, "user"), filepath.Join(dir, "run")} {
		if err := os.MkdirAll(p, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	d.artifacts = os.Getenv("DRAGONLOAD_E2E_ARTIFACTS")
	if d.artifacts == "" {
		d.artifacts = "artifacts"
	}
	if err := os.MkdirAll(d.artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	d.display = startXvfb(t)
	if withBus {
		d.bus = startBus(t, dir)
	} else {
		d.bus = "unix:path=" + filepath.Join(dir, "no-bus-here")
	}
	return d
}

func (d *desk) env() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR", "HOME", "DRAGONLOAD_HOME":
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		fmt.Sprintf("DISPLAY=:%d", d.display),
		"DBUS_SESSION_BUS_ADDRESS="+d.bus,
		"XDG_RUNTIME_DIR="+filepath.Join(d.dir, "run"),
		"HOME="+filepath.Join(d.dir, "user"),
		"LIBGL_ALWAYS_SOFTWARE=1",
	)
}

func (d *desk) args(extra ...string) []string {
	return append([]string{
		"--home", d.home, "--listen", "127.0.0.1:0", "--no-mdns",
		"--allow-private-origins", "--out", d.out, "--log-level", "info",
	}, extra...)
}

// startAgent runs a headless lending agent in the room, fetching from
// 127.0.0.2 so the origin counts it as another host, and returns its QUIC
// address.
func (d *desk) startAgent(t *testing.T, room string) string {
	t.Helper()
	port := freeUDPPort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	p := &proc{cmd: exec.Command(appBinary, "agent", "--home", d.agentHome(), "--room", room, "--name", "attic",
		"--listen", addr, "--no-mdns", "--allow-private-origins", "--source", "127.0.0.2",
		"--out", d.agentOut()), done: make(chan struct{})}
	p.cmd.Env = d.env()
	p.cmd.Stdout, p.cmd.Stderr = p, p
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("cannot start the agent: %v", err)
	}
	go func() {
		p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Signal(os.Interrupt)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("agent log:\n%s", p.log())
		}
	})
	return addr
}

// The agent's home and download folders.
func (d *desk) agentHome() string { return filepath.Join(d.dir, "agent") }
func (d *desk) agentOut() string  { return filepath.Join(d.dir, "agent-out") }

// agentGet downloads url with a one-shot get in the agent's home, beside
// the running agent, which then shares the file with the room.
func (d *desk) agentGet(t *testing.T, url string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, appBinary, "get", "--home", d.agentHome(), "--listen", "127.0.0.1:0",
		"--no-mdns", "--allow-private-origins", "--out", d.agentOut(), url)
	cmd.Env = d.env()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("get in the agent's home: %v: %s", err, out)
	}
}

// freeUDPPort finds a loopback UDP port nobody uses right now.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// proc is a running app.
type proc struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	buf  bytes.Buffer
	done chan struct{}
	code int
}

func (p *proc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.buf.Write(b)
}

func (p *proc) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.buf.String()
}

// waitLog waits until the app logged a line containing text.
func (p *proc) waitLog(t *testing.T, text string, timeout time.Duration) {
	t.Helper()
	waitFor(t, fmt.Sprintf("the app to log %q", text), timeout, func() bool {
		if p.exited() {
			t.Fatalf("app exited with %d:\n%s", p.code, p.log())
		}
		return strings.Contains(p.log(), text)
	})
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *proc) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.code
	case <-time.After(timeout):
		t.Fatalf("app still running after %v:\n%s", timeout, p.log())
		return -1
	}
}

func (d *desk) launch(t *testing.T, name string, extra ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(appBinary, d.args(extra...)...), done: make(chan struct{})}
	p.cmd.Env = d.env()
	p.cmd.Stdout, p.cmd.Stderr = p, p
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("cannot start dragonload: %v", err)
	}
	go func() {
		err := p.cmd.Wait()
		p.code = p.cmd.ProcessState.ExitCode()
		if err != nil && p.code == 0 {
			p.code = -1
		}
		close(p.done)
	}()
	t.Cleanup(func() {
		if !p.exited() {
			p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("%s app log:\n%s", name, p.log())
		}
	})
	return p
}

// runOnce runs a second, short-lived launch and returns its exit code and output.
func (d *desk) runOnce(t *testing.T, timeout time.Duration, extra ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, appBinary, d.args(extra...)...)
	cmd.Env = d.env()
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("second launch still running after %v: %s", timeout, out)
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("cannot run second launch: %v", err)
	}
	return cmd.ProcessState.ExitCode(), string(out)
}

func (d *desk) xdotool(t *testing.T, args ...string) string {
	t.Helper()
	out, err := d.xdotoolErr(args...)
	if err != nil {
		t.Fatalf("xdotool %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return out
}

func (d *desk) xdotoolErr(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "xdotool", args...)
	cmd.Env = d.env()
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// visibleWindows lists the mapped top-level windows titled Dragonload.
func (d *desk) visibleWindows(t *testing.T) []uint32 {
	out, err := d.xdotoolErr("search", "--onlyvisible", "--name", "^Dragonload$")
	if err != nil {
		return nil // xdotool exits 1 when nothing matches
	}
	var ids []uint32
	for _, f := range strings.Fields(out) {
		if id, err := strconv.ParseUint(f, 10, 32); err == nil {
			ids = append(ids, uint32(id))
		}
	}
	return ids
}

func (d *desk) waitWindow(t *testing.T, app *proc, visible bool, timeout time.Duration) uint32 {
	t.Helper()
	var win uint32
	waitFor(t, "the Dragonload window", timeout, func() bool {
		if app.exited() {
			t.Fatalf("app exited with %d before its window showed:\n%s", app.code, app.log())
		}
		ids := d.visibleWindows(t)
		if len(ids) > 0 {
			win = ids[0]
		}
		return len(ids) > 0 == visible
	})
	return win
}

// focus gives the window the keyboard: with no window manager, X sends
// keys to the focus window, which nothing sets otherwise.
func (d *desk) focus(t *testing.T, win uint32) {
	t.Helper()
	w := fmt.Sprint(win)
	d.xdotool(t, "mousemove", "--window", w, "480", "320")
	d.xdotool(t, "windowfocus", w)
}

func (d *desk) screenshot(t *testing.T, win uint32, name string) {
	t.Helper()
	path := filepath.Join(d.artifacts, name+".png")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "import", "-window", fmt.Sprint(win), path)
	cmd.Env = d.env()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("screenshot %s: %v: %s", name, err, out)
	}
	abs, _ := filepath.Abs(path)
	t.Logf("screenshot %s", abs)
}

// trayLabels lists the labels of the tray menu as the bus shows them.
func (d *desk) trayLabels(t *testing.T, app *proc) []string {
	t.Helper()
	conn, err := dbus.Connect(d.bus)
	if err != nil {
		t.Fatalf("cannot connect to the session bus: %v", err)
	}
	defer conn.Close()
	var rev uint32
	var layout dbusLayout
	menu := conn.Object(fmt.Sprintf("org.kde.StatusNotifierItem-%d-1", app.cmd.Process.Pid), "/StatusNotifierMenu")
	call := menu.Call("com.canonical.dbusmenu.GetLayout", 0, int32(0), int32(-1), []string{"label"})
	if call.Err != nil || call.Store(&rev, &layout) != nil {
		return nil
	}
	var labels []string
	layout.walk(func(l dbusLayout) {
		if v, ok := l.Props["label"]; ok {
			if s, ok := v.Value().(string); ok {
				labels = append(labels, s)
			}
		}
	})
	return labels
}

// clickTray clicks the tray menu item with the given label through the
// com.canonical.dbusmenu interface the tray exports.
func (d *desk) clickTray(t *testing.T, app *proc, label string) {
	t.Helper()
	conn, err := dbus.Connect(d.bus)
	if err != nil {
		t.Fatalf("cannot connect to the session bus: %v", err)
	}
	defer conn.Close()
	name := fmt.Sprintf("org.kde.StatusNotifierItem-%d-1", app.cmd.Process.Pid)
	menu := conn.Object(name, "/StatusNotifierMenu")
	var id int32 = -1
	waitFor(t, "the tray menu on the bus", 10*time.Second, func() bool {
		var rev uint32
		var layout dbusLayout
		call := menu.Call("com.canonical.dbusmenu.GetLayout", 0, int32(0), int32(-1), []string{"label"})
		if call.Err != nil || call.Store(&rev, &layout) != nil {
			return false
		}
		id = layout.find(label)
		return id >= 0
	})
	// Panels send the click without waiting for a reply (the method returns
	// nothing), and "Quit" ends the app before it could reply: the caller
	// checks the click's effect instead.
	call := menu.Call("com.canonical.dbusmenu.Event", dbus.FlagNoReplyExpected, id, "clicked", dbus.MakeVariant(""), uint32(time.Now().Unix()))
	if call.Err != nil {
		t.Fatalf("cannot click tray item %q: %v", label, call.Err)
	}
}

// dbusLayout is one node of a dbusmenu layout: (ia{sv}av).
type dbusLayout struct {
	ID       int32
	Props    map[string]dbus.Variant
	Children []dbus.Variant
}

// find returns the id of the item labelled label, or -1.
func (l dbusLayout) find(label string) int32 {
	id := int32(-1)
	l.walk(func(n dbusLayout) {
		if v, ok := n.Props["label"]; ok && id < 0 {
			if s, ok := v.Value().(string); ok && s == label {
				id = n.ID
			}
		}
	})
	return id
}

// walk visits l and every item under it.
func (l dbusLayout) walk(f func(dbusLayout)) {
	f(l)
	for _, c := range l.Children {
		fields, ok := c.Value().([]any)
		if !ok || len(fields) != 3 {
			continue
		}
		var child dbusLayout
		child.ID, _ = fields[0].(int32)
		child.Props, _ = fields[1].(map[string]dbus.Variant)
		child.Children, _ = fields[2].([]dbus.Variant)
		child.walk(f)
	}
}

func startXvfb(t *testing.T) int {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("Xvfb", "-displayfd", "3", "-screen", "0", "1280x800x24", "-nolisten", "tcp")
	cmd.ExtraFiles = []*os.File{w}
	if err := cmd.Start(); err != nil {
		t.Fatalf("cannot start Xvfb: %v", err)
	}
	w.Close()
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(r).ReadString('\n')
		lines <- line
		r.Close()
	}()
	select {
	case line := <-lines:
		n, err := strconv.Atoi(strings.TrimSpace(line))
		if err != nil {
			t.Fatalf("Xvfb reported display %q", line)
		}
		return n
	case <-time.After(20 * time.Second):
		t.Fatal("Xvfb did not report its display")
		return 0
	}
}

// startBus runs a private session bus for the test, so the app's tray
// registers there and nowhere else.
func startBus(t *testing.T, dir string) string {
	t.Helper()
	sock := filepath.Join(dir, "bus")
	addr := "unix:path=" + sock
	cmd := exec.Command("dbus-daemon", "--session", "--nofork", "--nopidfile", "--address="+addr)
	if err := cmd.Start(); err != nil {
		t.Fatalf("cannot start dbus-daemon: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	waitFor(t, "the session bus socket", 10*time.Second, func() bool {
		fi, err := os.Stat(sock)
		return err == nil && fi.Mode()&os.ModeSocket != 0
	})
	return addr
}

func startOrigin(t *testing.T, cfg testorigin.Config) *testorigin.Server {
	t.Helper()
	s := testorigin.New(cfg)
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	testkit.WaitFor(t, timeout, 100*time.Millisecond, what, cond)
}

func fileSize(p string) int64 {
	fi, err := os.Stat(p)
	if err != nil {
		return -1
	}
	return fi.Size()
}

// dirBytes sums the bytes of the files in dir and its subfolders, to see a
// partial file grow whatever its name.
func dirBytes(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			if fi, err := e.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("cannot find the module root: %w", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out))), nil
}
