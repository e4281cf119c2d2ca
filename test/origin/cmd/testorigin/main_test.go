package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	testorigin "github.com/dragonload/dragonload/test/origin"
)

// TestMain lets the test binary stand in for the command: the test below
// runs itself with TESTORIGIN_RUN_MAIN=1 instead of building a binary.
func TestMain(m *testing.M) {
	if os.Getenv("TESTORIGIN_RUN_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// command runs the test binary as the command with args and returns its
// url and sha256 lines, and a reader for the lines after them.
func command(t *testing.T, args ...string) (cmd *exec.Cmd, url, sum string, next func(prefix string) string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd = exec.CommandContext(t.Context(), exe, args...)
	cmd.Env = append(os.Environ(), "TESTORIGIN_RUN_MAIN=1")
	cmd.Stderr = io.Discard
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(out)
	next = func(prefix string) string {
		t.Helper()
		if !lines.Scan() {
			t.Fatalf("no %q line: %v", prefix, lines.Err())
		}
		v, ok := strings.CutPrefix(lines.Text(), prefix+" ")
		if !ok {
			t.Fatalf("line %q, want %q first", lines.Text(), prefix)
		}
		return v
	}
	url = next("url")
	sum = next("sha256")
	return cmd, url, sum, next
}

func TestCommand(t *testing.T) {
	cmd, url, sum, next := command(t, "-listen", "127.0.0.1:0", "-size", "3KiB", "-seed", "4",
		"-rate", "10MB", "-latency", "1ms", "-name", "x.iso")
	if !strings.HasPrefix(url, "http://127.0.0.1:") || !strings.HasSuffix(url, "/x.iso") {
		t.Errorf("url %q", url)
	}
	if want := testorigin.SumSHA256(4, 3072); sum != want {
		t.Errorf("sha256 %s, want %s", sum, want)
	}

	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if h := sha256.Sum256(body); hex.EncodeToString(h[:]) != sum {
		t.Errorf("served %d bytes that do not match the printed sha256", len(body))
	}
	c.CloseIdleConnections()

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if got := next("served"); got != "3072" {
		t.Errorf("served %s, want 3072", got)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("exit after SIGTERM: %v", err)
	}
}

// TestQuirkFlags checks that the quirk flags reach the server.
func TestQuirkFlags(t *testing.T) {
	cmd, url, _, _ := command(t, "-listen", "127.0.0.1:0", "-size", "100", "-seed", "2",
		"-unavailable-first", "1", "-retry-after", "1000000000", "-weak-etag", "-whole-for-zero-zero")
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	c := &http.Client{Timeout: 10 * time.Second}
	defer c.CloseIdleConnections()
	cases := []struct {
		name       string
		status     int
		retryAfter string
		contentRng string
	}{
		{name: "unavailable first", status: 503, retryAfter: "1000000000"},
		{name: "whole for bytes=0-0", status: 206, contentRng: "bytes 0-99/100"},
	}
	for _, tc := range cases {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
		req.Header.Set("Range", "bytes=0-0")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || resp.Header.Get("Retry-After") != tc.retryAfter || resp.Header.Get("Content-Range") != tc.contentRng {
			t.Errorf("%s: %s, Retry-After %q, Content-Range %q", tc.name, resp.Status, resp.Header.Get("Retry-After"), resp.Header.Get("Content-Range"))
		}
		if tc.status == 206 && (len(body) != 100 || !strings.HasPrefix(resp.Header.Get("ETag"), `W/"`)) {
			t.Errorf("%s: %d bytes, ETag %q; want 100 and a weak tag", tc.name, len(body), resp.Header.Get("ETag"))
		}
	}
}
