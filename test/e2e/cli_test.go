package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dragonload/dragonload/core"
	testorigin "github.com/dragonload/dragonload/test/origin"
)

// This file checks the command line as a person meets it (issue 12): the
// words that are not downloads (version, help, typos) and what
// `dragonload get` draws in a real terminal.

// isolated runs the binary with args where it can touch nothing that
// matters: no display (DISPLAY and WAYLAND_DISPLAY unset, so Fyne cannot
// start), fresh empty folders for its home, config and runtime files (the
// single-instance socket), and, when it can be arranged, a network
// namespace of its own, so that even a binary that wrongly started the
// engine could not announce itself by mDNS on the machine's interfaces. It
// returns the exit code, both outputs, how long the run took and whether
// any of those folders gained a file (the engine writes config.toml into
// its home at start, the app claims its socket in the runtime folder).
func isolated(t *testing.T, args ...string) (code int, stdout, stderr string, took time.Duration, touched []string) {
	t.Helper()
	base := t.TempDir()
	dirs := map[string]string{}
	for _, d := range []string{"home", "dragonload-home", "config", "runtime", "cache", "data", "cwd"} {
		p := filepath.Join(base, d)
		if err := os.Mkdir(p, 0o700); err != nil {
			t.Fatal(err)
		}
		dirs[d] = p
	}
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + dirs["home"],
		"DRAGONLOAD_HOME=" + dirs["dragonload-home"],
		"XDG_CONFIG_HOME=" + dirs["config"],
		"XDG_RUNTIME_DIR=" + dirs["runtime"],
		"XDG_CACHE_HOME=" + dirs["cache"],
		"XDG_DATA_HOME=" + dirs["data"],
		"LANG=C.UTF-8",
	}
	argv := append([]string{binary}, args...)
	if ns := netnsPrefix(); ns != nil {
		argv = append(ns, argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env, cmd.Dir = env, dirs["cwd"]
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	begin := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("dragonload %s did not end within 30 s; output:\n%s%s", strings.Join(args, " "), out.String(), errb.String())
	}
	took = time.Since(begin)
	switch e := err.(type) {
	case nil:
	case *exec.ExitError:
		code = e.ExitCode()
	default:
		t.Fatal(err)
	}
	for _, d := range dirs {
		filepath.WalkDir(d, func(p string, _ os.DirEntry, err error) error {
			if err == nil && p != d {
				touched = append(touched, p)
			}
			return nil
		})
	}
	return code, out.String(), errb.String(), took, touched
}

// netnsPrefix is the command that runs a program in a network namespace of
// its own (only a loopback interface, down): unshare -n as root, unshare
// -rn (a user namespace) otherwise; nil where neither works. It is a
// safety belt for running these tests against a broken binary; the proof
// that nothing started is the untouched folders.
func netnsPrefix() []string {
	for _, p := range [][]string{{"unshare", "-n", "--"}, {"unshare", "-rn", "--"}} {
		if p[1] == "-n" && os.Geteuid() != 0 {
			continue
		}
		if exec.Command(p[0], append(p[1:], "true")...).Run() == nil {
			return p
		}
	}
	return nil
}

// noCrash fails the test if the output shows a Go panic or a stack trace.
func noCrash(t *testing.T, out string) {
	t.Helper()
	for _, sign := range []string{"panic:", "goroutine ", "runtime error", ".go:"} {
		if strings.Contains(out, sign) {
			t.Fatalf("the output shows a crash (%q):\n%s", sign, out)
		}
	}
}

// TestCLIWords: version, help and mistyped words answer at once, with the
// right exit code and one output, without the display, the network or the
// engine.
func TestCLIWords(t *testing.T) {
	type want struct {
		code int
		// usage is the help's "Usage:" line that must appear exactly
		// once on stdout ("" = not a help text).
		usage string
		// sentence is the whole of stderr ("" = stderr must be empty).
		sentence string
		version  bool
	}
	general := "Usage: dragonload [SOURCE...]"
	tests := []struct {
		args []string
		want want
	}{
		{[]string{"version"}, want{version: true}},
		{[]string{"--version"}, want{version: true}},
		{[]string{"help"}, want{usage: general}},
		{[]string{"-h"}, want{usage: general}},
		{[]string{"--help"}, want{usage: general}},
		{[]string{"-help"}, want{usage: general}},
		{[]string{"--no-mdns", "--help"}, want{usage: general}},
		{[]string{"help", "get"}, want{usage: "Usage: dragonload get SOURCE"}},
		{[]string{"get", "--help"}, want{usage: "Usage: dragonload get SOURCE"}},
		{[]string{"get", "-h"}, want{usage: "Usage: dragonload get SOURCE"}},
		{[]string{"get", "https://example.org/x.iso", "--help"}, want{usage: "Usage: dragonload get SOURCE"}},
		{[]string{"help", "agent"}, want{usage: "Usage: dragonload agent"}},
		{[]string{"agent", "--help"}, want{usage: "Usage: dragonload agent"}},
		{[]string{"help", "peers"}, want{usage: "Usage: dragonload peers"}},
		{[]string{"peers", "-h"}, want{usage: "Usage: dragonload peers"}},
		{[]string{"help", "link"}, want{usage: "Usage: dragonload link URL"}},
		{[]string{"link", "--help"}, want{usage: "Usage: dragonload link URL"}},
		{[]string{"help", "version"}, want{usage: "Usage: dragonload version"}},
		{[]string{"version", "--help"}, want{usage: "Usage: dragonload version"}},
		{[]string{"help", "help"}, want{usage: "Usage: dragonload help"}},
		{[]string{"agnet"}, want{code: 2, sentence: `dragonload: unknown command "agnet"; did you mean "agent"?`}},
		{[]string{"gte", "https://example.org/x.iso"}, want{code: 2, sentence: `dragonload: unknown command "gte"; did you mean "get"?`}},
		{[]string{"verison"}, want{code: 2, sentence: `dragonload: unknown command "verison"; did you mean "version"?`}},
		{[]string{"--no-mdns", "peer"}, want{code: 2, sentence: `dragonload: unknown command "peer"; did you mean "peers"?`}},
		{[]string{"frobnicate"}, want{code: 2, sentence: `dragonload: unknown command "frobnicate", and no URL, dragon:// link or file by that name; run ` + "`dragonload help`" + ` for the commands.`}},
		{[]string{"help", "agnet"}, want{code: 2, sentence: `dragonload: unknown command "agnet"; did you mean "agent"?`}},
		{[]string{"https://example.org/x.iso", "nosuchfile.dragon"}, want{code: 2, sentence: `dragonload: "nosuchfile.dragon" is not a URL, a dragon:// link or an existing file.`}},
		// A valid link for the window, but no display: one sentence, and
		// neither the engine nor the single-instance socket started.
		{[]string{"https://example.org/x.iso"}, want{code: 1, sentence: "dragonload: cannot open a window: no display (DISPLAY is not set); on a machine without a desktop, use `dragonload get` or `dragonload agent`."}},
		{[]string{"--no-mdns"}, want{code: 1, sentence: "dragonload: cannot open a window: no display (DISPLAY is not set); on a machine without a desktop, use `dragonload get` or `dragonload agent`."}},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, stdout, stderr, took, touched := isolated(t, tc.args...)
			noCrash(t, stdout+stderr)
			if code != tc.want.code {
				t.Fatalf("exit %d, want %d; stdout:\n%s\nstderr:\n%s", code, tc.want.code, stdout, stderr)
			}
			if len(touched) > 0 {
				t.Errorf("the command wrote %v: it started the engine or the app", touched)
			}
			if took > 10*time.Second {
				t.Errorf("took %v: it must answer at once", took)
			}
			switch {
			case tc.want.sentence != "":
				if got := strings.TrimSuffix(stderr, "\n"); got != tc.want.sentence {
					t.Errorf("stderr\n%q\nwant one sentence\n%q", stderr, tc.want.sentence)
				}
				if stdout != "" {
					t.Errorf("stdout %q, want nothing", stdout)
				}
			case tc.want.usage != "":
				if stderr != "" {
					t.Errorf("stderr %q, want nothing", stderr)
				}
				if n := strings.Count(stdout, "Usage:"); n != 1 {
					t.Errorf("stdout has %d usage texts, want 1:\n%s", n, stdout)
				}
				if !strings.Contains(stdout, tc.want.usage) {
					t.Errorf("stdout lacks %q:\n%s", tc.want.usage, stdout)
				}
			case tc.want.version:
				if stderr != "" {
					t.Errorf("stderr %q, want nothing", stderr)
				}
				checkVersion(t, stdout)
			}
		})
	}
}

// checkVersion: four lines, the version, the commit the binary was built
// from, the Go release and the protocol version.
func checkVersion(t *testing.T, out string) {
	t.Helper()
	ls := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(ls) != 4 {
		t.Fatalf("version printed %d lines, want 4:\n%s", len(ls), out)
	}
	// What go build stamped into the binary (nothing under -buildvcs=false).
	info, err := exec.Command("go", "version", "-m", binary).Output()
	if err != nil {
		t.Fatal(err)
	}
	commit := "unknown"
	if m := regexp.MustCompile(`(?m)^\s+build\s+vcs\.revision=([0-9a-f]{12})`).FindSubmatch(info); m != nil {
		commit = string(m[1])
		if regexp.MustCompile(`(?m)^\s+build\s+vcs\.modified=true`).Match(info) {
			commit += "+dirty"
		}
	}
	commit = regexp.QuoteMeta(commit)
	patterns := []string{
		`^dragonload (devel|v?[0-9]\S*)$`,
		`^commit   ` + commit + `$`,
		`^go       ` + regexp.QuoteMeta(runtime.Version()) + `$`,
		`^protocol ` + strconv.Itoa(core.ProtocolVersion) + `$`,
	}
	for i, p := range patterns {
		if !regexp.MustCompile(p).MatchString(ls[i]) {
			t.Errorf("version line %d is %q, want it to match %s", i+1, ls[i], p)
		}
	}
}

// tmux drives one detached tmux session on a socket of the test's own.
type tmux struct {
	t    *testing.T
	sock string
}

func newTmux(t *testing.T, width, height int, script string) *tmux {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Fatal("tmux is not installed (make test installs it: TEST_PKGS in the Makefile)")
	}
	dir := t.TempDir()
	tm := &tmux{t: t, sock: filepath.Join(dir, "tmux.sock")}
	run := filepath.Join(dir, "run.sh")
	if err := os.WriteFile(run, []byte("#!/bin/sh\n"+script), 0o755); err != nil {
		t.Fatal(err)
	}
	tm.run("-f", "/dev/null", "new-session", "-d", "-s", "cli", "-x", strconv.Itoa(width), "-y", strconv.Itoa(height), run)
	t.Cleanup(func() { exec.Command("tmux", "-S", tm.sock, "kill-server").Run() })
	return tm
}

func (tm *tmux) run(args ...string) string {
	tm.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-S", tm.sock}, args...)...).CombinedOutput()
	if err != nil {
		tm.t.Fatalf("tmux %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// screen is what the pane shows now, as a person would read it.
func (tm *tmux) screen() string { return tm.run("capture-pane", "-p", "-t", "cli") }

// TestCLIGetInTmux: `dragonload get` in a real terminal, with a lender.
// While it runs, the screen shows the file's bar with done / size, rate
// and time left in decimal units; at the end, a summary line (name, size,
// time taken, average speed, each source's share) and then the path.
func TestCLIGetInTmux(t *testing.T) {
	const size, rate = 24 * mib, 3 * mib
	o := origin(t, testorigin.Config{Size: size, Seed: seed, RatePerSource: rate})
	lender, addr := agent(t, "127.0.0.3", testRoom, "--name", "lender-3")
	waitAgentUp(t, lender)
	out := t.TempDir()
	args := getArgs(t.TempDir(), out, "127.0.0.2", o.URL(), []string{addr}, "--log-level", "warn")
	var quoted []string
	for _, a := range append([]string{binary}, args...) {
		quoted = append(quoted, "'"+strings.ReplaceAll(a, "'", `'\''`)+"'")
	}
	tm := newTmux(t, 160, 40, strings.Join(quoted, " ")+"\necho \"exit=$?\"\nsleep 600\n")

	// While downloading: "file.bin [===>---] 9.44 MB / 25.2 MB  5.98 MB/s  ETA 3s".
	progress := regexp.MustCompile(`file\.bin\s+\[[^\]]*\]\s+([0-9.]+ (?:B|kB|MB)) / 25\.2 MB\s+[0-9.]+ (?:kB|MB)/s\s+ETA \S+`)
	var during string
	deadline := time.Now().Add(time.Minute)
	for {
		s := tm.screen()
		if m := progress.FindStringSubmatch(s); m != nil && m[1] != "25.2 MB" {
			during = s
			break
		}
		if strings.Contains(s, "exit=") || time.Now().After(deadline) {
			t.Fatalf("never saw a progress line with decimal units while downloading; the screen:\n%s", s)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("while downloading:\n%s", strings.TrimRight(during, "\n"))

	var end string
	waitFor(t, 2*time.Minute, "get to end", func() bool {
		end = tm.screen()
		return strings.Contains(end, "exit=")
	})
	t.Logf("at the end:\n%s", strings.TrimRight(end, "\n"))
	for _, s := range []string{during, end} {
		if strings.Contains(s, "iB") {
			t.Errorf("the screen uses binary units (MiB), the window decimal ones (MB):\n%s", s)
		}
	}
	var ls []string
	for _, l := range lines(end) {
		if l = strings.TrimRight(l, " "); l != "" {
			ls = append(ls, l)
		}
	}
	path := filepath.Join(out, "file.bin")
	n := len(ls)
	if n < 3 || ls[n-1] != "exit=0" || ls[n-2] != path {
		t.Fatalf("the screen does not end with the path %s and exit=0:\n%s", path, end)
	}
	summary := regexp.MustCompile(`^file\.bin: 25\.2 MB in (under a second|[0-9]+s|[0-9]+m [0-9]{2}s) at [0-9.]+ (kB|MB)/s average; from (this machine|lender-3) [0-9]+%, (this machine|lender-3) [0-9]+%$`)
	if !summary.MatchString(ls[n-3]) {
		t.Errorf("the line before the path is\n%q\nnot a summary (name, size, time taken, average speed, each source's share) matching %s", ls[n-3], summary)
	}
	if strings.Contains(ls[n-3], "this machine") != strings.Contains(ls[n-3], "lender-3") {
		t.Errorf("the summary names only one of the two sources: %q", ls[n-3])
	}
	checkFileSeed(t, out, "file.bin", size, seed)
}
