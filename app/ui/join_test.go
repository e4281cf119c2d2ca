package ui

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
)

// TestJoinRoomWarnsWeak: joining with a short code asks first, and No
// leaves the room as it was; a generated code joins at once.
func TestJoinRoomWarnsWeak(t *testing.T) {
	for _, c := range []struct {
		code   string
		warned bool
		answer string // in the warning: "Yes" or "No"
		want   string // the room afterwards
	}{
		{"hunter2", true, "No", "ROOM-CODE-1"},
		{"hunter2", true, "Yes", "hunter2"},
		{"k3m9p-x7q2a-h4w8t-c6v2n", false, "", "k3m9p-x7q2a-h4w8t-c6v2n"},
	} {
		eng := newFakeEngine()
		h := newHarness(t, eng, Options{})
		h.u.settings.joinRoom()
		form := h.win.Canvas().Overlays().Top()
		find[*widget.Entry](form, func(*widget.Entry) bool { return true }).SetText(c.code)
		test.Tap(find[*widget.Button](form, func(b *widget.Button) bool { return b.Text == "Join" }))
		top := h.win.Canvas().Overlays().Top()
		warned := top != nil && strings.Contains(test.RenderObjectToMarkup(top), "easy to guess")
		if warned != c.warned {
			t.Fatalf("%s: warned %v, want %v", c.code, warned, c.warned)
		}
		if warned {
			test.Tap(find[*widget.Button](top, func(b *widget.Button) bool { return b.Text == c.answer }))
		}
		eng.mu.Lock()
		room := eng.room
		eng.mu.Unlock()
		if room != c.want {
			t.Errorf("%s (%s): room %q, want %q", c.code, c.answer, room, c.want)
		}
	}
}
