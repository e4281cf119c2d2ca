package ui

import (
	"errors"
	"image/color"
	"strings"
	"sync"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/dragonload/dragonload/core"
)

// fakeSwitch is an RPCSwitch and a LoginItem that records what the pane
// asks and fails when told to.
type fakeSwitch struct {
	mu     sync.Mutex
	on     bool
	calls  []bool
	fail   error
	addr   string
	secret string
}

func (f *fakeSwitch) Enabled() bool { f.mu.Lock(); defer f.mu.Unlock(); return f.on }
func (f *fakeSwitch) SetEnabled(on bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, on)
	if f.fail != nil {
		return f.fail
	}
	f.on = on
	return nil
}
func (f *fakeSwitch) Addr() string            { return f.addr }
func (f *fakeSwitch) Secret() (string, error) { return f.secret, nil }

func (f *fakeSwitch) recorded() []bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]bool(nil), f.calls...)
}

// loginItem adapts fakeSwitch to LoginItem's (bool, error) Enabled.
type loginItem struct{ *fakeSwitch }

func (l loginItem) Enabled() (bool, error) { return l.fakeSwitch.Enabled(), nil }

func TestSettingsName(t *testing.T) {
	eng := newFakeEngine()
	h := newHarness(t, eng, Options{})
	s := h.u.settings
	if s.name.Text != "ann-laptop" {
		t.Fatalf("name field %q, want the engine's name", s.name.Text)
	}
	if !strings.Contains(s.listen.Text, eng.Addr()) {
		t.Errorf("listening line %q does not name %s", s.listen.Text, eng.Addr())
	}
	s.name.SetText("")
	test.Type(s.name, "  lab-3 ")
	test.Tap(s.nameSave)
	if eng.Name() != "lab-3" {
		t.Fatalf("engine name %q after Save, want lab-3 (trimmed)", eng.Name())
	}
	if !strings.Contains(s.nameNote.Text, "lab-3") || s.nameNote.Importance == widget.DangerImportance {
		t.Errorf("note after a good name: %q", s.nameNote.Text)
	}

	s.name.SetText("   ")
	test.Tap(s.nameSave)
	if eng.Name() != "lab-3" {
		t.Errorf("an empty name changed the engine's name to %q", eng.Name())
	}
	if s.nameNote.Importance != widget.DangerImportance || !strings.Contains(s.nameNote.Text, "empty") {
		t.Errorf("the engine's refusal is not shown: %q", s.nameNote.Text)
	}
}

func TestSettingsDownloads(t *testing.T) {
	eng := newFakeEngine()
	eng.SetLimits(core.Limits{MaxDownloads: 3})
	h := newHarness(t, eng, Options{})
	s := h.u.settings
	if s.parallel.Text != "3" || s.rate.Text != "" {
		t.Fatalf("fields %q, %q; want the engine's 3 and no limit", s.parallel.Text, s.rate.Text)
	}

	s.parallel.SetText("5")
	s.rate.SetText("2.5")
	test.Tap(s.dlApply)
	if l := eng.Limits(); l.MaxDownloads != 5 || l.DownloadRate != 2_500_000 {
		t.Fatalf("limits %+v, want 5 at once and 2500000 B/s", l)
	}

	for _, bad := range []struct{ parallel, rate, says string }{
		{"5", "fast", "megabytes per second"},
		{"5", "0.05", "lowest"},
		{"0", "1", "whole number"},
		{"many", "1", "whole number"},
	} {
		s.parallel.SetText(bad.parallel)
		s.rate.SetText(bad.rate)
		test.Tap(s.dlApply)
		if l := eng.Limits(); l.MaxDownloads != 5 || l.DownloadRate != 2_500_000 {
			t.Errorf("%q, %q changed the limits to %+v", bad.parallel, bad.rate, l)
		}
		if s.rateNote.Importance != widget.DangerImportance || !strings.Contains(s.rateNote.Text, bad.says) {
			t.Errorf("%q, %q: note %q, want an error saying %q", bad.parallel, bad.rate, s.rateNote.Text, bad.says)
		}
	}

	// Emptied, the limit is lifted: SetLimits takes NoRateCap for that,
	// since zero keeps the current value.
	s.parallel.SetText("2")
	s.rate.SetText("")
	test.Tap(s.dlApply)
	if l := eng.Limits(); l.MaxDownloads != 2 || l.DownloadRate != core.NoRateCap {
		t.Fatalf("limits %+v after emptying the limit, want DownloadRate NoRateCap", l)
	}
	if s.rateNote.Importance == widget.DangerImportance {
		t.Errorf("error note after a good change: %q", s.rateNote.Text)
	}
}

// TestSettingsLendCapCleared: an emptied lending cap is sent as NoRateCap,
// which SetLimits reads as "no cap" (zero would keep the old cap).
func TestSettingsLendCapCleared(t *testing.T) {
	eng := newFakeEngine()
	eng.SetLimits(core.Limits{LendRate: 2_000_000})
	h := newHarness(t, eng, Options{})
	h.u.settings.cap.SetText("")
	h.u.settings.applyCap()
	if got := eng.Limits().LendRate; got != core.NoRateCap {
		t.Fatalf("LendRate %d after emptying the cap, want NoRateCap", got)
	}
}

func TestSettingsAllowPrivate(t *testing.T) {
	eng := newFakeEngine()
	h := newHarness(t, eng, Options{})
	s := h.u.settings
	if s.private.Checked {
		t.Fatal("private origins shown allowed on a fresh engine")
	}
	if !strings.Contains(s.privNote.Text, "devices on your network") {
		t.Errorf("no risk line under the switch: %q", s.privNote.Text)
	}
	test.Tap(s.private)
	if !eng.AllowPrivate() {
		t.Fatal("ticking the box did not allow private origins")
	}
	test.Tap(s.private)
	if eng.AllowPrivate() {
		t.Fatal("unticking the box did not stop them")
	}

	// Started with --allow-private-origins: the box stays on and says why.
	eng.mu.Lock()
	eng.opts().forced = true
	eng.mu.Unlock()
	s.reload()
	if !s.private.Checked {
		t.Fatal("the flag's allowance is not shown")
	}
	test.Tap(s.private)
	if !s.private.Checked || !strings.Contains(s.privNote.Text, "--allow-private-origins") {
		t.Errorf("unticking under the flag: checked %v, note %q", s.private.Checked, s.privNote.Text)
	}
	eng.mu.Lock()
	saved := eng.opts().allowPrivate
	eng.mu.Unlock()
	if saved {
		t.Error("the setting was not turned off underneath the flag")
	}
}

func TestSettingsLogin(t *testing.T) {
	eng := newFakeEngine()
	if h := newHarness(t, eng, Options{}); h.u.settings.login != nil {
		t.Fatal("a login switch without Options.Autostart")
	}
	item := &fakeSwitch{}
	h := newHarness(t, eng, Options{Autostart: loginItem{item}})
	s := h.u.settings
	if s.login.Checked {
		t.Fatal("login switch on while the item is off")
	}
	test.Tap(s.login)
	test.Tap(s.login)
	if got := item.recorded(); len(got) != 2 || !got[0] || got[1] {
		t.Fatalf("SetEnabled calls %v, want [true false]", got)
	}

	item.fail = errors.New("the autostart folder is read-only")
	test.Tap(s.login)
	if s.login.Checked {
		t.Error("the switch shows on after the item failed")
	}
	if !s.logNote.Visible() || s.logNote.Importance != widget.DangerImportance || !strings.Contains(s.logNote.Text, "read-only") {
		t.Errorf("the failure is not shown: %q", s.logNote.Text)
	}
	if got := item.recorded(); len(got) != 3 {
		t.Errorf("putting the switch back called the item again: %v", got)
	}
}

func TestSettingsTheme(t *testing.T) {
	eng := newFakeEngine()
	h := newHarness(t, eng, Options{})
	s := h.u.settings
	if s.theme.Selected != "System" {
		t.Fatalf("theme %q selected, want System", s.theme.Selected)
	}
	bg := func(asked fyne.ThemeVariant) color.Color {
		return h.app.Settings().Theme().Color(theme.ColorNameBackground, asked)
	}
	dark := theme.DefaultTheme().Color(theme.ColorNameBackground, theme.VariantDark)
	light := theme.DefaultTheme().Color(theme.ColorNameBackground, theme.VariantLight)

	s.theme.SetSelected("Dark")
	if eng.Theme() != "dark" {
		t.Errorf("engine theme %q, want dark", eng.Theme())
	}
	if bg(theme.VariantLight) != dark || bg(theme.VariantDark) != dark {
		t.Error("the dark choice does not force the dark variant")
	}
	s.theme.SetSelected("Light")
	if eng.Theme() != "light" || bg(theme.VariantDark) != light {
		t.Errorf("light choice: engine %q, dark-variant background %v", eng.Theme(), bg(theme.VariantDark))
	}
	s.theme.SetSelected("System")
	if eng.Theme() != "system" || bg(theme.VariantDark) != dark || bg(theme.VariantLight) != light {
		t.Error("the system choice does not follow the desktop's variant")
	}
	// The brand colour holds in every choice.
	if c := h.app.Settings().Theme().Color(theme.ColorNamePrimary, theme.VariantDark); c != brandOrange {
		t.Errorf("primary %v, want the brand orange", c)
	}
}

func TestSettingsRPC(t *testing.T) {
	eng := newFakeEngine()
	if h := newHarness(t, eng, Options{}); h.u.settings.rpc != nil {
		t.Fatal("an RPC section without Options.RPC")
	}
	sw := &fakeSwitch{addr: "127.0.0.1:6800", secret: "s3cretsecretsecretsecret"}
	h := newHarness(t, eng, Options{RPC: sw})
	s := h.u.settings
	if s.rpc.Checked || !strings.Contains(s.rpcAddr.Text, "http://127.0.0.1:6800/jsonrpc") {
		t.Fatalf("off: checked %v, address line %q", s.rpc.Checked, s.rpcAddr.Text)
	}
	if strings.Contains(s.secret.Text, sw.secret) {
		t.Error("the secret is shown before Show was pressed")
	}
	test.Tap(s.rpc)
	if got := sw.recorded(); len(got) != 1 || !got[0] || !sw.Enabled() {
		t.Fatalf("SetEnabled calls %v after ticking", got)
	}
	if !strings.Contains(s.rpcAddr.Text, "Serving at http://127.0.0.1:6800/jsonrpc") {
		t.Errorf("on: address line %q", s.rpcAddr.Text)
	}
	test.Tap(s.reveal)
	if s.secret.Text != sw.secret {
		t.Errorf("after Show the secret reads %q", s.secret.Text)
	}
	test.Tap(s.copyKey)
	if got := h.app.Clipboard().Content(); got != sw.secret {
		t.Errorf("clipboard %q after Copy, want the secret", got)
	}

	sw.fail = errors.New("port 6800 is taken")
	test.Tap(s.rpc)
	if !s.rpc.Checked || !sw.Enabled() {
		t.Error("the switch went off although stopping failed")
	}
	if !strings.Contains(s.rpcAddr.Text, "port 6800 is taken") {
		t.Errorf("the failure is not shown: %q", s.rpcAddr.Text)
	}
}

func TestThemeNamed(t *testing.T) {
	for name, want := range map[string]fyne.ThemeVariant{"light": theme.VariantLight, "dark": theme.VariantDark} {
		th := ThemeNamed(name)
		for _, asked := range []fyne.ThemeVariant{theme.VariantLight, theme.VariantDark} {
			if got, exp := th.Color(theme.ColorNameForeground, asked), theme.DefaultTheme().Color(theme.ColorNameForeground, want); got != exp {
				t.Errorf("ThemeNamed(%s) answers variant %v with %v, want %v", name, asked, got, exp)
			}
		}
	}
	sys := ThemeNamed("system")
	if sys.Color(theme.ColorNameForeground, theme.VariantDark) == sys.Color(theme.ColorNameForeground, theme.VariantLight) {
		t.Error("the system theme does not follow the variant asked for")
	}
}

// TestSettingsSharing: the sharing switch and its days reach the engine;
// days out of range are refused under the field; the Shared tab follows.
func TestSettingsSharing(t *testing.T) {
	eng := newFakeEngine()
	eng.SetLending(true)
	h := newHarness(t, eng, Options{})
	h.waitFor("lending on", func() bool { return h.u.m.lending })
	s := h.u.settings
	if !s.share.Checked || s.days.Text != "14" {
		t.Fatalf("sharing shown %v for %q days; want on, the engine's 14", s.share.Checked, s.days.Text)
	}

	test.Tap(s.share)
	if eng.SharesFinished() {
		t.Fatal("unticking the box did not stop sharing")
	}
	if !strings.Contains(h.u.shared.about.Text, "Sharing finished downloads is off") {
		t.Errorf("the Shared tab says %q with sharing off", h.u.shared.about.Text)
	}
	test.Tap(s.share)
	if !eng.SharesFinished() {
		t.Fatal("ticking the box did not share again")
	}

	s.days.SetText("30")
	s.days.OnSubmitted(s.days.Text)
	if eng.ShareDays() != 30 || !strings.Contains(s.daysNote.Text, "30 days") {
		t.Fatalf("engine shares for %d days; note %q", eng.ShareDays(), s.daysNote.Text)
	}
	if !strings.Contains(h.u.shared.about.Text, "each for 30 days") {
		t.Errorf("the Shared tab says %q after 30 days were applied", h.u.shared.about.Text)
	}
	for _, bad := range []string{"0", "two", "-3", "4000", ""} {
		s.days.SetText(bad)
		s.applyDays()
		if eng.ShareDays() != 30 {
			t.Errorf("%q changed the days to %d", bad, eng.ShareDays())
		}
		if s.daysNote.Importance != widget.DangerImportance || !strings.Contains(s.daysNote.Text, "whole number of days") {
			t.Errorf("%q: note %q", bad, s.daysNote.Text)
		}
	}

	// Read back when the pane is shown again.
	eng.SetSharesFinished(false)
	eng.SetShareDays(7)
	s.reload()
	if s.share.Checked || s.days.Text != "7" {
		t.Errorf("after reload: on %v, %q days; want off, 7", s.share.Checked, s.days.Text)
	}
	if eng.SharesFinished() {
		t.Error("reloading the pane turned sharing back on")
	}
}
