package gui

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	testorigin "github.com/dragonload/dragonload/test/origin"
	"github.com/dragonload/dragonload/test/testkit"
)

// TestDesktopList fills the Downloads list of the real app as a person
// would see it: finished files (one saved as "blob (1).bin" because
// blob.bin was taken), a failed one with its whole error, and a pooled
// download with a lending agent that is paused and resumed from the tray
// halfway. It screenshots the list in the dark theme, then restarts the
// app in the light theme (the list comes back from --home) and
// screenshots it again, and finally clicks "Clear finished" and checks
// that the engine's list on disk is empty.
func TestDesktopList(t *testing.T) {
	needDesktop(t)
	d := newDesk(t, true)

	// blob.bin is taken: the download is saved as "blob (1).bin".
	if err := os.WriteFile(filepath.Join(d.out, "blob.bin"), []byte("already here"), 0o644); err != nil {
		t.Fatal(err)
	}
	blob := startOrigin(t, testorigin.Config{Size: 3 << 20, Seed: 11, Name: "blob.bin"})
	notes := startOrigin(t, testorigin.Config{Size: 900 << 10, Seed: 12, Name: "notes.pdf"})
	photos := startOrigin(t, testorigin.Config{Size: 5 << 20, Seed: 13, Name: "photos.zip"})
	missing := startOrigin(t, testorigin.Config{Size: 1 << 20, Seed: 14, Name: "missing.iso",
		Quirks: testorigin.Quirks{Status: http.StatusNotFound}})
	// The origin caps each client address: the agent, fetching from
	// 127.0.0.2, adds its own share.
	const size = 64 << 20
	big := startOrigin(t, testorigin.Config{Size: size, Seed: 15, Name: "dataset.bin", RatePerSource: 4 << 20})

	const room = "e2e-gui-list-room"
	agentAddr := d.startAgent(t, room)
	app := d.launch(t, "list", "--room", room, "--name", "desk", "--peer", agentAddr,
		blob.URL(), notes.URL(), missingURL(missing), photos.URL(), big.URL())
	win := d.waitWindow(t, app, true, 20*time.Second)
	app.waitLog(t, "window ready", 20*time.Second)
	time.Sleep(700 * time.Millisecond)
	d.focus(t, win)
	d.xdotool(t, "key", "--window", fmt.Sprint(win), "Escape") // the first-run introduction

	final := filepath.Join(d.out, "dataset.bin")
	waitFor(t, "the small files", 60*time.Second, func() bool {
		return fileSize(filepath.Join(d.out, "blob (1).bin")) == 3<<20 &&
			fileSize(filepath.Join(d.out, "photos.zip")) == 5<<20 &&
			fileSize(filepath.Join(d.out, "notes.pdf")) == 900<<10
	})
	if b, _ := os.ReadFile(filepath.Join(d.out, "blob.bin")); string(b) != "already here" {
		t.Fatal("the download overwrote the file that was there")
	}

	// Pause the pooled download from the tray once a third is in, and
	// resume it: the legend must still count the bytes of the first run.
	waitFor(t, "a third of dataset.bin", 60*time.Second, func() bool { return big.BytesServed() > size/3 })
	d.clickTray(t, app, "Pause all")
	waitFor(t, "the origin to stop serving dataset.bin", 15*time.Second, func() bool {
		before := big.BytesServed()
		time.Sleep(800 * time.Millisecond)
		return big.BytesServed() == before
	})
	d.screenshot(t, win, "downloads-paused")
	d.clickTray(t, app, "Resume all")
	waitFor(t, "the verified dataset.bin", 90*time.Second, func() bool { return fileSize(final) == size })
	if got, want := testkit.FileSHA256(t, final), testorigin.SumSHA256(15, size); got != want {
		t.Fatalf("dataset.bin sha256 %s, want %s", got, want)
	}
	time.Sleep(1200 * time.Millisecond)
	d.screenshot(t, win, "downloads")

	// Quit from the tray and start again in the light theme: the list
	// comes back from the engine's list under --home, newest first.
	d.clickTray(t, app, "Quit")
	if code := app.wait(t, 20*time.Second); code != 0 {
		t.Fatalf("app exited %d after Quit: %s", code, app.log())
	}
	t.Setenv("FYNE_THEME", "light")
	// The desktop opens files and folders with xdg-open: a stand-in
	// records what it was asked to open.
	stub := filepath.Join(d.dir, "stub")
	opened := filepath.Join(d.dir, "opened")
	if err := os.MkdirAll(stub, 0o755); err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\necho \"$@\" >> '" + opened + "'\n"
	if err := os.WriteFile(filepath.Join(stub, "xdg-open"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", stub+string(os.PathListSeparator)+os.Getenv("PATH"))
	again := d.launch(t, "list-light", "--room", room, "--name", "desk", "--peer", agentAddr)
	win = d.waitWindow(t, again, true, 20*time.Second)
	again.waitLog(t, "window ready", 20*time.Second)
	if !strings.Contains(again.log(), "downloads=5") {
		t.Fatalf("the restarted app does not list the 5 downloads:\n%s", again.log())
	}
	// Select the newest row (dataset.bin): its map was not saved, but
	// the file is whole.
	d.focus(t, win)
	d.xdotool(t, "mousemove", "--window", fmt.Sprint(win), "400", "140", "click", "1")
	time.Sleep(1200 * time.Millisecond)
	d.screenshot(t, win, "downloads-light")

	// The row's folder button opens the download folder.
	d.xdotool(t, "mousemove", "--window", fmt.Sprint(win), "913", "148", "click", "1")
	waitFor(t, "xdg-open to be asked for the folder", 10*time.Second, func() bool {
		b, _ := os.ReadFile(opened)
		return strings.TrimSpace(string(b)) == "file://"+d.out
	})

	// "Clear finished" sits at the right end of the bar above the list;
	// every download here is finished, so the list on disk empties.
	d.focus(t, win)
	d.xdotool(t, "mousemove", "--window", fmt.Sprint(win), "900", "105", "click", "1")
	waitFor(t, "Clear finished to empty the saved list", 10*time.Second, func() bool {
		return savedDownloads(t, d.home) == 0
	})
	time.Sleep(700 * time.Millisecond)
	d.screenshot(t, win, "downloads-cleared")
	for _, name := range []string{"blob (1).bin", "photos.zip", "notes.pdf", "dataset.bin"} {
		if fileSize(filepath.Join(d.out, name)) <= 0 {
			t.Errorf("clearing the list removed %s from the folder", name)
		}
	}
	if strings.Contains(app.log()+again.log(), "panic") {
		t.Fatal("an app log mentions a panic")
	}
}

// missingURL is a long, signed-looking link to a file the server does not
// have: its error names the link, so the row must wrap it whole.
func missingURL(s *testorigin.Server) string {
	return s.URL() + "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F20250301%2Feu-west-1%2Fs3%2Faws4_request" +
		"&X-Amz-Date=20250301T000000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature=0123456789abcdef0123456789abcdef"
}

// savedDownloads counts the entries of the engine's download list on disk
// (downloads.json under home), -1 while it cannot be read.
func savedDownloads(t *testing.T, home string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(home, "downloads.json"))
	if err != nil {
		return -1
	}
	var list struct {
		Downloads []json.RawMessage `json:"downloads"`
	}
	if err := json.Unmarshal(b, &list); err != nil {
		return -1
	}
	return len(list.Downloads)
}
