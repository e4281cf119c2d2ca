package instance

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// MaxMessage bounds one request or reply line.
const MaxMessage = 64 << 10

// Timeout bounds one hand-off, from connect to reply.
const Timeout = 10 * time.Second

// maxConns bounds hand-offs served at once; launches are rare, so more
// than a few at a time means something is hammering the socket.
const maxConns = 4

var (
	// ErrNotRunning means no app is listening for this home folder.
	ErrNotRunning = errors.New("no Dragonload app is running")
	// ErrRunning means another app already listens for this home folder.
	ErrRunning = errors.New("another Dragonload app is already running")
)

// Path returns the socket path for the app using home as its home folder.
func Path(home string) (string, error) {
	abs, err := filepath.Abs(home)
	if err != nil {
		return "", fmt.Errorf("cannot resolve home folder %s: %w", home, err)
	}
	sum := sha256.Sum256([]byte(abs))
	return filepath.Join(socketDir(), hex.EncodeToString(sum[:8])+".sock"), nil
}

// Send hands args to the app listening at path. It returns ErrNotRunning
// (wrapped) when nobody listens there.
func Send(path string, args []string) error {
	if args == nil {
		args = []string{}
	}
	req, err := json.Marshal(request{Args: args})
	if err != nil {
		return fmt.Errorf("cannot encode the hand-off: %w", err)
	}
	if len(req)+1 > MaxMessage {
		return fmt.Errorf("cannot hand off %d arguments: together they exceed %d KiB", len(args), MaxMessage>>10)
	}
	c, err := net.DialTimeout("unix", path, Timeout)
	if err != nil {
		if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) {
			return fmt.Errorf("%w (%s)", ErrNotRunning, path)
		}
		return fmt.Errorf("cannot reach the running app at %s: %w", path, err)
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(Timeout)); err != nil {
		return fmt.Errorf("cannot set a deadline on the hand-off: %w", err)
	}
	if _, err := c.Write(append(req, '\n')); err != nil {
		return fmt.Errorf("cannot hand the arguments to the running app: %w", err)
	}
	line, err := readLine(c)
	if err != nil {
		return fmt.Errorf("the running app did not answer the hand-off: %w", err)
	}
	var rep reply
	if err := json.Unmarshal(line, &rep); err != nil {
		return fmt.Errorf("the running app answered the hand-off with garbage: %w", err)
	}
	if !rep.OK {
		return fmt.Errorf("the running app refused the hand-off: %s", rep.Error)
	}
	return nil
}

// Listener is the running app's end of the socket.
type Listener struct {
	ln   *net.UnixListener
	path string
	log  *slog.Logger

	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
}

// Listen claims the socket at path. It returns ErrRunning when another app
// answers there, and replaces a socket file left by an app that died.
func Listen(path string, log *slog.Logger) (*Listener, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := ensureDir(filepath.Dir(path)); err != nil {
		return nil, err
	}
	ln, err := listenUnix(path)
	if errors.Is(err, syscall.EADDRINUSE) {
		c, derr := net.DialTimeout("unix", path, time.Second)
		if derr == nil {
			c.Close()
			return nil, ErrRunning
		}
		log.Info("replacing a stale single-instance socket", "path", path)
		if rerr := os.Remove(path); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
			return nil, fmt.Errorf("cannot remove stale socket %s: %w", path, rerr)
		}
		ln, err = listenUnix(path)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot listen on %s: %w", path, err)
	}
	ln.SetUnlinkOnClose(true)
	return &Listener{ln: ln, path: path, log: log}, nil
}

// Path returns the socket's path.
func (l *Listener) Path() string { return l.path }

// Serve answers hand-offs until Close, calling handle with each request's
// arguments. handle runs on a connection's goroutine and must not block
// for long.
func (l *Listener) Serve(handle func(args []string)) error {
	sem := make(chan struct{}, maxConns)
	for {
		c, err := l.ln.AcceptUnix()
		if err != nil {
			l.mu.Lock()
			closed := l.closed
			l.mu.Unlock()
			if closed {
				return nil
			}
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				continue
			}
			return fmt.Errorf("cannot accept a hand-off: %w", err)
		}
		select {
		case sem <- struct{}{}:
		default:
			l.log.Warn("too many hand-offs at once; dropping one")
			c.Close()
			continue
		}
		// Add under the lock that Close takes before Wait, so no Add can
		// race with Wait on a zero counter.
		l.mu.Lock()
		if l.closed {
			l.mu.Unlock()
			<-sem
			c.Close()
			return nil
		}
		l.wg.Add(1)
		l.mu.Unlock()
		go func() {
			defer func() { <-sem; l.wg.Done() }()
			l.serveConn(c, handle)
		}()
	}
}

// Close stops serving, removes the socket and waits for hand-offs in flight.
func (l *Listener) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.mu.Unlock()
	err := l.ln.Close()
	l.wg.Wait()
	return err
}

func (l *Listener) serveConn(c *net.UnixConn, handle func([]string)) {
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(Timeout)); err != nil {
		return
	}
	answer := func(r reply) {
		b, _ := json.Marshal(r)
		if _, err := c.Write(append(b, '\n')); err != nil {
			l.log.Info("cannot answer a hand-off", "err", err)
		}
	}
	if err := checkPeer(c); err != nil {
		l.log.Warn("refused a hand-off", "err", err)
		answer(reply{Error: err.Error()})
		return
	}
	line, err := readLine(c)
	if err != nil {
		answer(reply{Error: err.Error()})
		return
	}
	var req request
	if err := json.Unmarshal(line, &req); err != nil {
		answer(reply{Error: "the request is not valid JSON"})
		return
	}
	l.log.Info("handed arguments from a second launch", "args", len(req.Args))
	handle(req.Args)
	answer(reply{OK: true})
}

type request struct {
	Args []string `json:"args"`
}

type reply struct {
	OK    bool   `json:"ok,omitempty"`
	Error string `json:"error,omitempty"`
}

// readLine reads one newline-terminated line of at most MaxMessage bytes.
func readLine(r io.Reader) ([]byte, error) {
	line, err := bufio.NewReader(io.LimitReader(r, MaxMessage)).ReadBytes('\n')
	switch {
	case err == nil:
		return line, nil
	case errors.Is(err, io.EOF) && len(line) >= MaxMessage:
		return nil, fmt.Errorf("message longer than %d KiB", MaxMessage>>10)
	case errors.Is(err, io.EOF):
		return nil, errors.New("connection closed before a full line")
	default:
		return nil, err
	}
}

func listenUnix(path string) (*net.UnixListener, error) {
	return net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
}

// socketDir is the per-user folder holding the sockets.
func socketDir() string {
	if rt := os.Getenv("XDG_RUNTIME_DIR"); rt != "" {
		return filepath.Join(rt, "dragonload")
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("dragonload-%d", os.Getuid()))
}

// ensureDir creates the socket folder, or checks that an existing one is a
// real folder that only this user owns and can enter: in a shared /tmp,
// anyone could have made it first.
func ensureDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("cannot create socket folder %s: %w", dir, err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("cannot inspect socket folder %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("socket folder %s is not a folder", dir)
	}
	if err := checkOwner(fi); err != nil {
		return fmt.Errorf("socket folder %s: %w", dir, err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("cannot make socket folder %s private: %w", dir, err)
		}
	}
	return nil
}
