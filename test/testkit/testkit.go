// Package testkit holds the few helpers every end-to-end test of the real
// binary needs: polling for a condition with a deadline, hashing a result,
// listing what a user sees in a folder, and reading the test origin's
// announcement. It is imported only by tests.
package testkit

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

// WaitFor polls cond every poll until it holds, failing t after timeout.
func WaitFor(t testing.TB, timeout, poll time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(poll)
	}
}

// FileSHA256 is the hex SHA-256 of the file at path.
func FileSHA256(t testing.TB, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// VisibleFiles lists the names in dir a user sees: not hidden, so not the
// engine's partial files and journals.
func VisibleFiles(t testing.TB, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	return names
}

// ReadAnnouncement reads the test origin command's first lines,
// "url URL" and "sha256 HEX", from its standard output, then keeps draining
// it in the background so the origin never blocks on a full pipe.
func ReadAnnouncement(stdout io.Reader, timeout time.Duration) (url, sum string, err error) {
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	deadline := time.After(timeout)
	for url == "" || sum == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				return "", "", errors.New("the test origin ended its output early")
			}
			if v, ok := strings.CutPrefix(l, "url "); ok {
				url = v
			}
			if v, ok := strings.CutPrefix(l, "sha256 "); ok {
				sum = v
			}
		case <-deadline:
			return "", "", fmt.Errorf("the test origin printed no url and sha256 within %v", timeout)
		}
	}
	go func() {
		for range lines {
		}
	}()
	return url, sum, nil
}
