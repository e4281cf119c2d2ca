package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	testorigin "github.com/dragonload/dragonload/test/origin"
	"github.com/dragonload/dragonload/test/testkit"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "dragonload-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "dragonload")
	build := exec.Command("go", "build", "-o", binary, "github.com/dragonload/dragonload")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "cannot build dragonload:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// testRoom is a generated-strength code, so no weak-code warning clutters logs.
const testRoom = "e2e7q-k3m9p-x7q2a-h4w8t"

// proc is one running dragonload process with its output captured.
type proc struct {
	t    *testing.T
	name string
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
	err  error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start runs the binary; it is killed at the end of the test if still alive.
func start(t *testing.T, name string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, name: name, out: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(binary, args...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("--- output of %s ---\n%s", name, p.out.String())
		}
	})
	return p
}

func (p *proc) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

func (p *proc) signal(sig syscall.Signal) { p.cmd.Process.Signal(sig) }

// wait returns the exit code, failing the test after timeout.
func (p *proc) wait(timeout time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.t.Fatalf("%s did not finish within %v", p.name, timeout)
	}
	if p.err == nil {
		return 0
	}
	if ee, ok := p.err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	p.t.Fatalf("%s: %v", p.name, p.err)
	return -1
}

// freePort finds a UDP port free on ip now (the agent binds it right after).
func freePort(t *testing.T, ip string) string {
	t.Helper()
	c, err := net.ListenPacket("udp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().String()
}

// agent starts a lender bound to ip for both QUIC and origin fetches.
func agent(t *testing.T, ip, room string, extra ...string) (*proc, string) {
	addr := freePort(t, ip)
	args := append([]string{"agent", "--home", t.TempDir(), "--room", room, "--listen", addr,
		"--no-mdns", "--source", ip, "--allow-private-origins", "--log-level", "debug"}, extra...)
	return start(t, "agent "+ip, args...), addr
}

// getArgs is the requester's command line, the same for every restart.
func getArgs(home, out, ip, url string, peers []string, extra ...string) []string {
	args := []string{"get", url, "--home", home, "--out", out, "--room", testRoom, "--listen", ip + ":0",
		"--no-mdns", "--source", ip, "--allow-private-origins", "--log-level", "debug"}
	for _, p := range peers {
		args = append(args, "--peer", p)
	}
	return append(args, extra...)
}

// origin starts the test origin on loopback.
func origin(t *testing.T, cfg testorigin.Config) *testorigin.Server {
	t.Helper()
	s := testorigin.New(cfg)
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// lines reads a process's output line by line (for log assertions).
func lines(s string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

// waitFor polls cond every 20 ms until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	testkit.WaitFor(t, timeout, 20*time.Millisecond, what, cond)
}

// waitExit waits up to timeout for p to end and returns its exit code;
// exited is false (and p still runs) when it did not end in time. Unlike
// wait it does not fail the test, so a caller can report a hang and go on.
func (p *proc) waitExit(timeout time.Duration) (code int, exited bool) {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		return -1, false
	}
	if p.err == nil {
		return 0, true
	}
	if ee, ok := p.err.(*exec.ExitError); ok {
		return ee.ExitCode(), true
	}
	p.t.Errorf("%s: %v", p.name, p.err)
	return -1, true
}

// exited reports whether p has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// writeHomeConfig writes home/config.toml before the first start in home:
// the test room and the given extra lines (TOML, e.g. "give_up_seconds = 20").
func writeHomeConfig(t *testing.T, home string, extra ...string) {
	t.Helper()
	s := fmt.Sprintf("room = %q\n", testRoom) + strings.Join(extra, "\n") + "\n"
	if err := os.WriteFile(filepath.Join(home, "config.toml"), []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

// waitAgentUp waits until an agent logged that it runs (it then listens).
func waitAgentUp(t *testing.T, p *proc) {
	t.Helper()
	waitFor(t, 30*time.Second, p.name+" to run", func() bool {
		return strings.Contains(p.out.String(), "agent running")
	})
}

// errorSentence is the one-sentence error a failed command printed last:
// its last line starting "dragonload: ", without that prefix; "" if none.
func errorSentence(out string) string {
	ls := lines(out)
	for i := len(ls) - 1; i >= 0; i-- {
		if s, ok := strings.CutPrefix(ls[i], "dragonload: "); ok {
			return s
		}
	}
	return ""
}

// durableBytes sums the "done OFF END" ranges of the journal of the
// partial download of name into dir: the bytes a resume will not fetch
// again. No journal (or an unreadable one) counts as 0.
func durableBytes(dir, name string) int64 {
	b, err := os.ReadFile(filepath.Join(dir, "."+name+".dlpart.journal"))
	if err != nil {
		return 0
	}
	var n int64
	for _, line := range lines(string(b)) {
		f := strings.Fields(line)
		if len(f) != 3 || f[0] != "done" {
			continue
		}
		off, err1 := strconv.ParseInt(f[1], 10, 64)
		end, err2 := strconv.ParseInt(f[2], 10, 64)
		if err1 == nil && err2 == nil && end > off {
			n += end - off
		}
	}
	return n
}
