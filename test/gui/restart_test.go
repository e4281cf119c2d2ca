package gui

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	testorigin "github.com/dragonload/dragonload/test/origin"
	"github.com/dragonload/dragonload/test/testkit"
)

// TestDesktopRestartResumes kills the app (SIGKILL, no chance to save
// anything) in the middle of a download and starts it again with the same
// home and output folders but no link: the download must come back on its
// own, show in the window, resume from its partial file's journal rather
// than from zero, and finish with the right bytes.
func TestDesktopRestartResumes(t *testing.T) {
	needDesktop(t)
	d := newDesk(t, false)

	// 48 MiB at 4 MiB/s: about 12 s in all, time enough to kill it midway.
	const (
		size = 48 << 20
		seed = 7
		name = "restart.bin"
	)
	origin := startOrigin(t, testorigin.Config{Size: size, Seed: seed, Name: name, RatePerSource: 4 << 20})
	final := filepath.Join(d.out, name)
	partial := filepath.Join(d.out, "."+name+".dlpart")
	journal := partial + ".journal"

	// First run: the link is passed on the command line.
	first := d.launch(t, "first", origin.URL())
	win := d.waitWindow(t, first, true, 20*time.Second)
	first.waitLog(t, "window ready", 20*time.Second)
	time.Sleep(700 * time.Millisecond) // let the first frames draw
	// Close the first-run introduction, so the second run opens on the list.
	d.focus(t, win)
	d.xdotool(t, "key", "--window", fmt.Sprint(win), "Escape")
	waitFor(t, "the introduction to be recorded as shown", 10*time.Second, func() bool {
		b, err := os.ReadFile(filepath.Join(d.home, "config.toml"))
		return err == nil && strings.Contains(string(b), "onboarded = true")
	})

	waitFor(t, "a quarter of the file fetched into the partial file", 60*time.Second, func() bool {
		if first.exited() {
			t.Fatalf("app exited with %d mid-download:\n%s", first.code, first.log())
		}
		return fileSize(partial) >= 0 && origin.BytesServed() > size/4
	})
	d.screenshot(t, win, "before-kill")

	// Kill it hard: no graceful stop, no last flush.
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("cannot kill the app: %v", err)
	}
	select {
	case <-first.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the app survived SIGKILL for 10 s")
	}
	time.Sleep(300 * time.Millisecond) // let the origin see its connections die
	servedAtKill := origin.BytesServed()
	durable := journalBytes(t, journal)
	if fileSize(final) >= 0 {
		t.Fatalf("%s was complete before the kill: the test proves nothing", final)
	}
	if servedAtKill >= size {
		t.Fatalf("the origin served %d bytes of %d before the kill: the test proves nothing", servedAtKill, size)
	}
	if durable <= 0 {
		t.Fatalf("no durable range in %s after %d bytes served", journal, servedAtKill)
	}
	if _, err := os.Stat(filepath.Join(d.home, "downloads.json")); err != nil {
		t.Fatalf("no download list after the first run: %v", err)
	}
	t.Logf("killed after %d bytes served (%.0f%%), %d durable in the journal", servedAtKill, 100*float64(servedAtKill)/size, durable)

	// Second run: no link. The download must come back by itself.
	second := d.launch(t, "second")
	win = d.waitWindow(t, second, true, 20*time.Second)
	second.waitLog(t, "window ready", 20*time.Second)

	// (1) The log says it was restored, as an unfinished (queued) download.
	restored := logLines(second.log(), "download restored")
	if len(restored) != 1 {
		t.Fatalf("%d \"download restored\" lines, want 1:\n%s", len(restored), second.log())
	}
	if l := restored[0]; !strings.Contains(l, origin.URL()) || !strings.Contains(l, "state=queued") {
		t.Fatalf("restored line does not name the link as queued: %s", l)
	}
	if !strings.Contains(second.log(), "downloads=1") {
		t.Fatalf("the window did not open with 1 download:\n%s", second.log())
	}
	// It resumes from the journal rather than starting over.
	second.waitLog(t, "resuming", 20*time.Second)
	if strings.Contains(second.log(), "starting over") {
		t.Fatalf("the restored download started over:\n%s", second.log())
	}

	// (2) The window lists it with its progress.
	time.Sleep(1500 * time.Millisecond) // let the row draw its progress
	if fileSize(final) >= 0 {
		t.Fatal("the download finished before the screenshot of the restored row")
	}
	d.screenshot(t, win, "restored")

	// (3) It completes with the right bytes.
	waitFor(t, "the resumed file", 90*time.Second, func() bool {
		if second.exited() {
			t.Fatalf("app exited with %d mid-download:\n%s", second.code, second.log())
		}
		return fileSize(final) == size
	})
	if got, want := testkit.FileSHA256(t, final), testorigin.SumSHA256(seed, size); got != want {
		t.Fatalf("resumed file sha256 %s, want %s", got, want)
	}
	waitFor(t, "the partial files to go", 10*time.Second, func() bool {
		return fileSize(partial) < 0 && fileSize(journal) < 0
	})
	time.Sleep(800 * time.Millisecond)
	d.screenshot(t, win, "restored-done")

	// (4) Only what was not durable at the kill was fetched again.
	total := origin.BytesServed()
	ratio := float64(total) / size
	lost := servedAtKill - durable
	t.Logf("origin served %d bytes over both runs for a %d-byte file: %.3f× (%d before the kill, %d of them not durable)",
		total, size, ratio, servedAtKill, lost)
	if ratio > 1.25 {
		t.Errorf("origin served %.3f× the file over both runs, want ≤ 1.25×: the restart refetched what it had", ratio)
	}
	const slack = 1 << 20
	if limit := size + lost + slack; total > limit {
		t.Errorf("origin served %d bytes, want ≤ size + bytes lost at the kill + 1 MiB = %d", total, limit)
	}

	// Closing the window (no tray here) quits cleanly.
	if err := closeWindow(d.display, win); err != nil {
		t.Fatal(err)
	}
	if code := second.wait(t, 20*time.Second); code != 0 {
		t.Fatalf("app exited %d after closing its window: %s", code, second.log())
	}
	if strings.Contains(second.log(), "panic") {
		t.Fatalf("app log mentions a panic:\n%s", second.log())
	}
}

// journalBytes sums the durable ranges ("done OFF END" lines) of a partial
// file's journal (core/store's format); 0 when there is no journal.
func journalBytes(t *testing.T, path string) int64 {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var n int64
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 3 || fields[0] != "done" {
			continue
		}
		off, err1 := strconv.ParseInt(fields[1], 10, 64)
		end, err2 := strconv.ParseInt(fields[2], 10, 64)
		if err1 != nil || err2 != nil || end < off {
			t.Fatalf("bad journal line %q in %s", sc.Text(), path)
		}
		n += end - off
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}

// logLines returns the lines of log containing text.
func logLines(log, text string) []string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, text) {
			out = append(out, l)
		}
	}
	return out
}
