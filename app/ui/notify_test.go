package ui

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/dragonload/dragonload/core"
)

// finish adds a download and ends it in state s, as the engine reports it.
func finish(h *harness, id core.DownloadID, s core.State, err error) {
	h.u.applyBatch([]core.Event{
		core.DownloadAdded{ID: id, Name: string(id) + ".iso", OutDir: "/dl"},
		core.DownloadStateChanged{ID: id, State: s, Err: err},
	})
}

// TestNotifySystem: with a notification service the desktop shows the
// notification and the window shows no banner.
func TestNotifySystem(t *testing.T) {
	n := NewNotifier(nil, true)
	h := newHarness(t, newFakeEngine(), Options{Notifier: n})
	n.app = h.app // the harness makes the test app
	var away []string
	n.SetAway(func(s string) { away = append(away, s) })

	test.AssertNotificationSent(t, fyne.NewNotification("Download finished", "a.iso is in /dl"), func() {
		finish(h, "a", core.StateDone, nil)
	})
	if h.u.banner.content.Visible() {
		t.Errorf("the banner shows %q although the desktop showed the notification", h.u.banner.title.Text)
	}
	if len(away) != 0 {
		t.Errorf("the tray got %q although the desktop showed the notification", away)
	}
}

// TestNotifyBanner: with no notification service nothing goes to the
// desktop; the banner shows title and body, a newer notification replaces
// it, and the close button takes it away.
func TestNotifyBanner(t *testing.T) {
	h := newHarness(t, newFakeEngine(), Options{Notifier: NewNotifier(nil, false)})
	b := h.u.banner
	if b.content.Visible() {
		t.Fatal("the banner shows before any notification")
	}

	test.AssertNotificationSent(t, nil, func() {
		finish(h, "a", core.StateDone, nil)
	})
	// What the banner's text widget holds, title and body.
	if got := strings.Fields(b.text.String()); !b.content.Visible() || !slices.Equal(got, strings.Fields("Download finished a.iso is in /dl")) {
		t.Fatalf("banner visible=%v says %q; want the finished download", b.content.Visible(), b.text.String())
	}
	if b.title.Text != "Download finished" || b.title.Style != widget.RichTextStyleStrong {
		t.Errorf("title %q in style %+v, want it in bold", b.title.Text, b.title.Style)
	}
	if !inTree(h.win.Canvas().Content(), b.content) {
		t.Error("the banner is not in the window's content")
	}

	test.AssertNotificationSent(t, nil, func() {
		finish(h, "b", core.StateFailed, errors.New("origin changed the file"))
	})
	if b.title.Text != "Download failed" || strings.TrimSpace(b.body.Text) != "b.iso: origin changed the file" {
		t.Fatalf("banner %q / %q; want the failed download", b.title.Text, b.body.Text)
	}

	test.Tap(b.close)
	if b.content.Visible() {
		t.Error("the banner stayed after its close button was tapped")
	}
}

// TestBannerHidesItself: the banner goes after its timeout, but a newer
// notification gets its own full time.
func TestBannerHidesItself(t *testing.T) {
	n := NewNotifier(nil, false)
	n.Foreground(true)
	h := newHarness(t, newFakeEngine(), Options{Notifier: n})
	b := h.u.banner
	b.timeout = 300 * time.Millisecond

	finish(h, "a", core.StateDone, nil)
	shown := time.Now()
	// A second one just before the first would hide: it must stay for
	// its own timeout, not go with the first one's timer.
	time.Sleep(200 * time.Millisecond)
	second := time.Now()
	finish(h, "b", core.StateDone, nil)
	h.waitFor("the banner to hide", func() bool { return !b.content.Visible() })
	if gone := time.Since(second); gone < b.timeout {
		t.Errorf("the banner hid %v after the second notification (%v after the first); want at least %v",
			gone, time.Since(shown), b.timeout)
	}
	if b.title.Text != "Download finished" || strings.TrimSpace(b.body.Text) != "b.iso is in /dl" {
		t.Errorf("banner held %q / %q, want the second notification", b.title.Text, b.body.Text)
	}
}

// TestBannerWaitsForForeground: a notification that came while the app
// was in the background (window hidden to the tray) stays until the user
// has had the window in front for the timeout.
func TestBannerWaitsForForeground(t *testing.T) {
	n := NewNotifier(nil, false)
	h := newHarness(t, newFakeEngine(), Options{Notifier: n})
	b := h.u.banner
	b.timeout = 100 * time.Millisecond

	finish(h, "a", core.StateDone, nil)
	// Run the main queue for three timeouts: nothing may hide it.
	deadline := time.Now().Add(3 * b.timeout)
	for time.Now().Before(deadline) {
		select {
		case f := <-h.mainQ:
			f()
		case <-time.After(10 * time.Millisecond):
		}
	}
	if !b.content.Visible() {
		t.Fatal("the banner hid while the app was in the background")
	}
	front := time.Now()
	n.Foreground(true)
	h.waitFor("the banner to hide", func() bool { return !b.content.Visible() })
	if gone := time.Since(front); gone < b.timeout {
		t.Errorf("the banner hid %v after the app came to the front, want at least %v", gone, b.timeout)
	}
}

// TestNotifierAway: a notification the desktop cannot show goes to the
// tray while the app is in the background, and leaves it when the app
// comes to the foreground (the window shows it then).
func TestNotifierAway(t *testing.T) {
	a := test.NewTempApp(t)
	n := NewNotifier(a, false)
	var away []string
	n.SetAway(func(s string) { away = append(away, s) })

	if n.Notify("Download finished", "a.iso is in /dl") {
		t.Fatal("Notify reported the desktop showed it, with no service")
	}
	n.Foreground(true)
	if n.Notify("Download failed", "b.iso: gone") {
		t.Fatal("Notify reported the desktop showed it, with no service")
	}
	n.Foreground(false)
	n.Notify("Download failed", "")
	want := []string{"Download finished: a.iso is in /dl", "", "Download failed"}
	if !slices.Equal(away, want) {
		t.Errorf("the tray got %q, want %q", away, want)
	}

	// Without a tray the window alone shows it.
	n.SetAway(nil)
	if n.Notify("x", "y") {
		t.Error("Notify reported the desktop showed it, with no service and no tray")
	}
}

// inTree reports whether o is in the tree of containers under root.
func inTree(root, o fyne.CanvasObject) bool {
	if root == o {
		return true
	}
	if c, ok := root.(*fyne.Container); ok {
		for _, child := range c.Objects {
			if inTree(child, o) {
				return true
			}
		}
	}
	return false
}
