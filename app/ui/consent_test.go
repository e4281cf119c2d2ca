package ui

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
)

// TestConsent: a dragon:// link and a .dragon file opened by another
// program wait for the user's Download, shown with what they fetch; a
// plain URL starts at once; Cancel adds nothing; "Don't ask again" turns
// the question off.
func TestConsent(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "iso.dragon")
	if err := os.WriteFile(file, []byte("url = \"https://mirror.example/big.iso\"\nsize = 4000000000\nsha256 = \""+strings.Repeat("ab", 32)+"\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := "dragon://?url=https%3A%2F%2Fevil.example%2Fx.bin&name=x.bin"
	for _, c := range []struct {
		answer  string
		dontAsk bool
		want    []string
	}{
		{"Cancel", false, []string{"https://plain.example/a.iso"}},
		{"Download", true, []string{"https://plain.example/a.iso", link, file}},
	} {
		eng := newFakeEngine()
		h := newHarness(t, eng, Options{})
		h.u.Open([]string{"https://plain.example/a.iso", link, file})
		if got := eng.addedSources(); !reflect.DeepEqual(got, []string{"https://plain.example/a.iso"}) {
			t.Fatalf("before any answer the engine got %q; want only the plain URL", got)
		}
		dlg := h.win.Canvas().Overlays().Top()
		if dlg == nil {
			t.Fatal("no question for links opened from another program")
		}
		markup := test.RenderObjectToMarkup(dlg)
		for _, want := range []string{"Download these 2 files?", "x.bin from evil.example", "from mirror.example", "4.00 GB", "SHA-256", "no room peer is lending"} {
			if !strings.Contains(markup, want) {
				t.Errorf("the question lacks %q", want)
			}
		}
		if c.dontAsk {
			test.Tap(find[*widget.Check](dlg, func(*widget.Check) bool { return true }))
		}
		test.Tap(find[*widget.Button](dlg, func(b *widget.Button) bool { return b.Text == c.answer }))
		if got := eng.addedSources(); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: engine got %q, want %q", c.answer, got, c.want)
		}
		if eng.AskOpenedLinks() == c.dontAsk {
			t.Errorf("%s: asking is %v after \"Don't ask again\" was %v", c.answer, eng.AskOpenedLinks(), c.dontAsk)
		}
	}
}
