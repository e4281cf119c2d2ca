package netbed

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Command prepares name with args to run inside the namespace ns, in a
// process group of its own (so that Stop reaches whatever it forks) and
// killed if the calling process dies first. Start it with Bed.Start, not
// cmd.Start: the bed ends it on Close, and starts it from a thread that
// never exits (see spawn).
func Command(ns, name string, args ...string) *exec.Cmd {
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns, name}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	// Output copying must not hang on a grandchild that kept the pipe open.
	cmd.WaitDelay = 2 * time.Second
	return cmd
}

// spawn starts cmd from one OS thread that lives as long as the process.
// Pdeathsig kills a child when the thread that forked it exits, not the
// process, and Go ends a thread whenever a goroutine locked to it returns
// (as inNS does on purpose): a child forked from a thread that later ran
// such a goroutine would be killed in mid-test.
func spawn(cmd *exec.Cmd) error {
	spawnOnce.Do(func() {
		spawnReqs = make(chan spawnReq)
		go func() {
			runtime.LockOSThread() // never unlocked and never returns
			for r := range spawnReqs {
				r.done <- r.cmd.Start()
			}
		}()
	})
	r := spawnReq{cmd: cmd, done: make(chan error, 1)}
	spawnReqs <- r
	return <-r.done
}

type spawnReq struct {
	cmd  *exec.Cmd
	done chan error
}

var (
	spawnOnce sync.Once
	spawnReqs chan spawnReq
)

// Proc is a running program started by Bed.Start. "ip netns exec" execs
// the program in place, so Pid is the program's own process id and its
// resource usage is the program's.
type Proc struct {
	Name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error // from Wait, valid once done is closed
}

// Usage is what a process cost: CPU time (user plus system) and the peak
// resident set size.
type Usage struct {
	CPU     time.Duration
	PeakRSS int64 // bytes
}

// Pid is the process id of the program.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Done is closed once the program has exited and been reaped.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Err is the program's exit error (nil for exit status 0); valid after Done.
func (p *Proc) Err() error {
	<-p.done
	return p.err
}

// ExitCode is the program's exit status, -1 if a signal ended it; valid
// after Done.
func (p *Proc) ExitCode() int {
	<-p.done
	return p.cmd.ProcessState.ExitCode()
}

// Usage reports the resources an exited program used, from wait4. Before
// the program exits it reads /proc instead (see ReadUsage).
func (p *Proc) Usage() (Usage, error) {
	select {
	case <-p.done:
	default:
		return ReadUsage(p.Pid())
	}
	ru, ok := p.cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return Usage{}, errors.New("no resource usage for the process")
	}
	return Usage{
		CPU:     time.Duration(ru.Utime.Nano() + ru.Stime.Nano()),
		PeakRSS: ru.Maxrss * 1024,
	}, nil
}

// Wait waits for the program to exit, at most timeout, and reports whether
// it did.
func (p *Proc) Wait(timeout time.Duration) bool {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-p.done:
		return true
	case <-t.C:
		return false
	}
}

// Signal sends sig to the program's whole process group.
func (p *Proc) Signal(sig syscall.Signal) error {
	select {
	case <-p.done:
		return nil
	default:
	}
	if err := syscall.Kill(-p.Pid(), sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("cannot signal %s (pid %d): %w", p.Name, p.Pid(), err)
	}
	return nil
}

// Stop asks the program to end (SIGTERM to its process group), waits up to
// grace, then kills the group and waits a little more. It returns an error
// only if the program is still there after that.
func (p *Proc) Stop(grace time.Duration) error {
	if err := p.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	if grace > 0 && p.Wait(grace) {
		return nil
	}
	if err := p.Signal(syscall.SIGKILL); err != nil {
		return err
	}
	if p.Wait(5 * time.Second) {
		return nil
	}
	return fmt.Errorf("%s (pid %d) did not exit after SIGKILL", p.Name, p.Pid())
}

// ReadUsage reads the CPU time and peak RSS (VmHWM) of a live process from
// /proc.
func ReadUsage(pid int) (Usage, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return Usage{}, fmt.Errorf("cannot read usage of pid %d: %w", pid, err)
	}
	// The command name in parentheses may hold spaces: count fields after it.
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return Usage{}, fmt.Errorf("cannot parse /proc/%d/stat", pid)
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return Usage{}, fmt.Errorf("cannot parse /proc/%d/stat: too few fields", pid)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return Usage{}, fmt.Errorf("cannot parse CPU times in /proc/%d/stat", pid)
	}
	u := Usage{CPU: time.Duration(ut+st) * time.Second / clockTicks}
	status, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Usage{}, fmt.Errorf("cannot read usage of pid %d: %w", pid, err)
	}
	defer status.Close()
	sc := bufio.NewScanner(status)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return Usage{}, fmt.Errorf("cannot parse VmHWM of pid %d: %w", pid, err)
			}
			u.PeakRSS = kb * 1024
		}
	}
	return u, sc.Err()
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat times; it is 100 on
// every Linux architecture Go supports.
const clockTicks = 100

// UDPListening reports whether a UDP socket is bound to port in the network
// namespace of process pid, from /proc/PID/net/udp (which lists the sockets
// of that process's namespace). It tells when a program started in a bed
// is ready for peers.
func UDPListening(pid, port int) bool {
	f, err := os.Open(fmt.Sprintf("/proc/%d/net/udp", pid))
	if err != nil {
		return false
	}
	defer f.Close()
	suffix := fmt.Sprintf(":%04X", port)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 1 && strings.HasSuffix(fields[1], suffix) {
			return true
		}
	}
	return false
}
