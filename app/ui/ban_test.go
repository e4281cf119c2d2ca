package ui

import (
	"slices"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/dragonload/dragonload/core"
)

// TestBannedPeer: a lender caught altering bytes shows as Banned with a
// way to forgive it (after a question); the spot-check switch reaches the
// engine.
func TestBannedPeer(t *testing.T) {
	eng := newFakeEngine()
	h := newHarness(t, eng, Options{})
	banned := readyX
	banned.Banned = "mallory sent bytes 0 to 4096 that differ from the origin's"
	eng.events <- core.PeerReady{Peer: readyY}
	eng.events <- core.PeerReady{Peer: banned}
	h.waitFor("two rows", func() bool { return len(h.u.peers.rows) == 2 })
	var row core.PeerInfo
	for _, r := range h.u.peers.rows {
		if r.ID == banned.ID {
			row = r
		}
	}
	if got := peerCell(row, 2); got != "Banned" {
		t.Errorf("status %q, want Banned", got)
	}
	if cell := actionCell(t, h, "vm-81c0"); cell.unban.Visible() {
		t.Error("a peer that is not banned offers to be forgiven")
	}
	cell := actionCell(t, h, "vm-3fa2")
	if !cell.unban.Visible() {
		t.Fatal("no way to forgive the banned peer")
	}
	test.Tap(cell.unban)
	dlg := h.win.Canvas().Overlays().Top()
	if dlg == nil || !strings.Contains(test.RenderObjectToMarkup(dlg), "differ from the origin") {
		t.Fatal("forgiving does not ask, or does not say why it was banned")
	}
	test.Tap(find[*widget.Button](dlg, func(b *widget.Button) bool { return b.Text == "Yes" }))
	eng.mu.Lock()
	got := slices.Clone(eng.opts().unbanned)
	eng.mu.Unlock()
	if !slices.Equal(got, []string{banned.ID}) {
		t.Errorf("Unban calls %q, want [%s]", got, banned.ID)
	}

	s := h.u.settings
	if !s.checks.Checked {
		t.Error("spot checks show off by default")
	}
	test.Tap(s.checks)
	if eng.SpotChecks() {
		t.Error("turning spot checks off did not reach the engine")
	}
}
