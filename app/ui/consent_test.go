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

// TestConsentWithoutURL: a link that names its file by SHA-256, name and
// size alone is described as coming from the room's copies, never as "the
// file at" an empty URL or from an empty host; a link with a url is
// described as before.
func TestConsentWithoutURL(t *testing.T) {
	sha := strings.Repeat("5c", 32)
	roomLink := "dragon://?name=debian.iso&size=4000000000&sha256=" + sha
	dir := t.TempDir()
	file := filepath.Join(dir, "room.dragon")
	if err := os.WriteFile(file, []byte("name = \"debian.iso\"\nsize = 4000000000\nsha256 = \""+sha+"\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		lenders int
		sharing string
	}{
		{0, "No machine of your room is sharing now"},
		{1, "1 machine of your room is sharing now"},
		{3, "3 machines of your room are sharing now"},
	} {
		for _, source := range []string{roomLink, file} {
			label, ok := describeLink(source, c.lenders).(*widget.Label)
			if !ok {
				t.Fatalf("describeLink(%q) is not a label", source)
			}
			text := label.Text
			for _, want := range []string{
				"debian.iso (4.00 GB), from copies shared in your room, checked against its SHA-256\n",
				"only machines of your room that hold this file can supply it",
				c.sharing,
			} {
				if !strings.Contains(text, want) {
					t.Errorf("describeLink(%q, %d) = %q, lacks %q", source, c.lenders, text, want)
				}
			}
			for _, bad := range []string{"the file at", "from \n", " from ,", "server once", "Fetched by this machine alone", "request headers", "mirrors"} {
				if strings.Contains(text, bad) {
					t.Errorf("describeLink(%q, %d) = %q, says %q", source, c.lenders, text, bad)
				}
			}
		}
	}

	// The question shows it, and Download adds the link as given.
	eng := newFakeEngine()
	h := newHarness(t, eng, Options{})
	h.u.Open([]string{roomLink})
	dlg := h.win.Canvas().Overlays().Top()
	if dlg == nil {
		t.Fatal("no question for a link without a url")
	}
	markup := test.RenderObjectToMarkup(dlg)
	for _, want := range []string{"Download this file?", "debian.iso (4.00 GB), from copies shared in your room"} {
		if !strings.Contains(markup, want) {
			t.Errorf("the question lacks %q", want)
		}
	}
	test.Tap(find[*widget.Button](dlg, func(b *widget.Button) bool { return b.Text == "Download" }))
	if got := eng.addedSources(); !reflect.DeepEqual(got, []string{roomLink}) {
		t.Errorf("engine got %q, want %q", got, []string{roomLink})
	}

	// A link without a url that lacks its size is shown with the parser's
	// reason, as any link that does not parse.
	bad := "dragon://?name=debian.iso&sha256=" + sha
	label := describeLink(bad, 0).(*widget.Label)
	if want := bad + ": a link without a url must give sha256, name and size (missing: size)"; label.Text != want {
		t.Errorf("describeLink(%q) = %q, want %q", bad, label.Text, want)
	}

	// With a url, the host is named as before.
	label = describeLink("dragon://?url=https://h.example/a&sha256="+sha, 0).(*widget.Label)
	if !strings.HasPrefix(label.Text, "the file at https://h.example/a from h.example\n") {
		t.Errorf("a link with a url is described as %q", label.Text)
	}
}
