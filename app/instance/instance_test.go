package instance

import (
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// shortDir returns a temp folder with a path short enough for a socket
// (sun_path holds 108 bytes; t.TempDir can be longer).
func shortDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "dli")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func serve(t *testing.T, path string) (*Listener, chan []string) {
	t.Helper()
	l, err := Listen(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan []string, 4)
	done := make(chan error, 1)
	go func() { done <- l.Serve(func(args []string) { got <- args }) }()
	t.Cleanup(func() {
		l.Close()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return l, got
}

func TestHandOff(t *testing.T) {
	path := filepath.Join(shortDir(t), "s", "a.sock")
	_, got := serve(t, path)

	cases := [][]string{
		{"https://e.com/a.iso", "/home/ann/b.dragon"},
		{}, // show the window
		{"dragon://get?url=x", strings.Repeat("x", 10_000)},
	}
	for _, args := range cases {
		if err := Send(path, args); err != nil {
			t.Fatalf("Send(%d args): %v", len(args), err)
		}
		select {
		case a := <-got:
			if !reflect.DeepEqual(a, args) {
				t.Fatalf("handed %q, want %q", a, args)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the listener never got the arguments")
		}
	}
}

func TestSendWithoutListener(t *testing.T) {
	dir := shortDir(t)
	err := Send(filepath.Join(dir, "none.sock"), []string{"x"})
	if !errors.Is(err, ErrNotRunning) {
		t.Fatalf("Send to nothing: %v, want ErrNotRunning", err)
	}
	// A socket file whose app died refuses connections: also not running.
	stale := filepath.Join(dir, "stale.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: stale, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
	if err := Send(stale, nil); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("Send to a stale socket: %v, want ErrNotRunning", err)
	}
}

func TestListenTwice(t *testing.T) {
	path := filepath.Join(shortDir(t), "a.sock")
	serve(t, path)
	if _, err := Listen(path, nil); !errors.Is(err, ErrRunning) {
		t.Fatalf("second Listen: %v, want ErrRunning", err)
	}
}

func TestListenReplacesStaleSocket(t *testing.T) {
	path := filepath.Join(shortDir(t), "a.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
	_, got := serve(t, path)
	if err := Send(path, []string{"a"}); err != nil {
		t.Fatal(err)
	}
	<-got
}

func TestCloseRemovesSocket(t *testing.T) {
	path := filepath.Join(shortDir(t), "a.sock")
	l, err := Listen(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- l.Serve(func([]string) {}) }()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Serve after Close: %v", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("socket still there after Close: %v", err)
	}
}

func TestServeRefusesBadRequests(t *testing.T) {
	path := filepath.Join(shortDir(t), "a.sock")
	_, got := serve(t, path)
	cases := []struct {
		name, send, want string
	}{
		{"not json", "hello\n", "not valid JSON"},
		{"no newline", `{"args":[]}`, "closed before a full line"},
		{"too long", `{"args":["` + strings.Repeat("x", MaxMessage) + `"]}` + "\n", "longer than"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("unix", path)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			go func() {
				c.Write([]byte(tc.send))
				if !strings.HasSuffix(tc.send, "\n") {
					c.(*net.UnixConn).CloseWrite()
				}
			}()
			line, err := readLine(c)
			if err != nil {
				t.Fatal(err)
			}
			var r reply
			if err := json.Unmarshal(line, &r); err != nil {
				t.Fatal(err)
			}
			if r.OK || !strings.Contains(r.Error, tc.want) {
				t.Fatalf("reply %+v, want error containing %q", r, tc.want)
			}
		})
	}
	select {
	case a := <-got:
		t.Fatalf("a bad request reached the app: %q", a)
	default:
	}
}

func TestPathDependsOnHome(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", "/run/user/1000")
	a, err := Path("/home/ann/.config/dragonload")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Path("/tmp/node2")
	a2, _ := Path("/home/ann/.config/dragonload/")
	if a == b {
		t.Error("two homes share a socket")
	}
	if a != a2 {
		t.Error("the same home spelled twice gets two sockets")
	}
	if !strings.HasPrefix(a, "/run/user/1000/dragonload/") || len(a) > 100 {
		t.Errorf("socket path %q", a)
	}
	t.Setenv("XDG_RUNTIME_DIR", "")
	c, _ := Path("/tmp/node2")
	if !strings.Contains(c, "dragonload-") {
		t.Errorf("fallback socket path %q lacks the per-user folder", c)
	}
}

func TestEnsureDirTightensMode(t *testing.T) {
	dir := filepath.Join(shortDir(t), "d")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := ensureDir(dir); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(dir)
	if fi.Mode().Perm() != 0o700 {
		t.Fatalf("mode %v, want 0700", fi.Mode().Perm())
	}
	file := filepath.Join(shortDir(t), "f")
	os.WriteFile(file, nil, 0o600)
	if err := ensureDir(file); err == nil {
		t.Fatal("a file was accepted as the socket folder")
	}
}

func FuzzReadLine(f *testing.F) {
	f.Add([]byte("{\"args\":[]}\n"))
	f.Add([]byte("no newline"))
	f.Fuzz(func(t *testing.T, b []byte) {
		line, err := readLine(strings.NewReader(string(b)))
		if err == nil && (len(line) > MaxMessage || line[len(line)-1] != '\n') {
			t.Fatalf("readLine returned %d bytes not ending a line", len(line))
		}
	})
}
