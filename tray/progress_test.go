package tray

import (
	"bytes"
	"image"
	"image/color"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/dragonload/dragonload/assets"
	"github.com/dragonload/dragonload/core"
)

func TestProgressLine(t *testing.T) {
	const GB = 1_000_000_000
	cases := []struct {
		name   string
		events []core.Event
		want   string
	}{
		{name: "nothing", want: LabelIdle},
		{name: "one with a known size",
			events: []core.Event{
				core.DownloadAdded{ID: "a"},
				core.DownloadStateChanged{ID: "a", State: core.StateDownloading},
				core.DownloadProgress{ID: "a", Size: 2 * GB, Done: 860_000_000, Rate: 12_300_000},
			},
			// 1.14 GB left at 12.3 MB/s: 92.7 s.
			want: "1 download · 43 % · 12.3 MB/s · 1m 33s left"},
		{name: "two share the rate and the percent",
			events: []core.Event{
				core.DownloadProgress{ID: "a", Size: GB, Done: 500_000_000, Rate: 5_000_000},
				core.DownloadProgress{ID: "b", Size: 3 * GB, Done: 500_000_000, Rate: 5_000_000},
			},
			want: "2 downloads · 25 % · 10.0 MB/s · 5m 00s left"},
		{name: "an unknown size keeps the percent of the others but no time left",
			events: []core.Event{
				core.DownloadProgress{ID: "a", Size: GB, Done: 500_000_000, Rate: 5_000_000},
				core.DownloadAdded{ID: "b"},
			},
			want: "2 downloads · 50 % · 5.00 MB/s"},
		{name: "queued, nothing known",
			events: []core.Event{core.DownloadAdded{ID: "a"}},
			want:   "1 download"},
		{name: "stalled: no rate, no time left",
			events: []core.Event{core.DownloadProgress{ID: "a", Size: GB, Done: 999_999_999}},
			want:   "1 download · 99 %"},
		{name: "paused ones are not running",
			events: []core.Event{
				core.DownloadProgress{ID: "a", Size: GB, Done: 100, Rate: 9},
				core.DownloadStateChanged{ID: "a", State: core.StatePaused},
				core.DownloadProgress{ID: "b", Size: GB, Done: 600_000_000, Rate: 1000},
			},
			want: "1 download · 60 % · 1.00 kB/s · 4 days 15h left"},
		{name: "only paused",
			events: []core.Event{
				core.DownloadProgress{ID: "a", Size: GB, Done: 100, Rate: 9},
				core.DownloadStateChanged{ID: "a", State: core.StatePaused},
			},
			want: LabelIdle + " · 1 paused"},
		{name: "finished, failed and removed ones drop out",
			events: []core.Event{
				core.DownloadProgress{ID: "a", Size: GB, Done: 100, Rate: 9},
				core.DownloadProgress{ID: "b", Size: GB, Done: 100, Rate: 9},
				core.DownloadProgress{ID: "c", Size: GB, Done: 100, Rate: 9},
				core.DownloadStateChanged{ID: "a", State: core.StateDone},
				core.DownloadStateChanged{ID: "b", State: core.StateFailed},
				core.DownloadStateChanged{ID: "c", State: core.StatePaused},
				core.DownloadRemoved{ID: "c"},
			},
			want: LabelIdle},
		{name: "verifying counts as running, done bytes stay",
			events: []core.Event{
				core.DownloadProgress{ID: "a", Size: GB, Done: GB, Rate: 9_000_000},
				core.DownloadStateChanged{ID: "a", State: core.StateVerifying},
			},
			want: "1 download · 100 %"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			test.NewTempApp(t)
			tr := New(&fakeEngine{events: make(chan core.Event)}, Options{})
			for _, ev := range tc.events {
				tr.apply(ev)
			}
			if got := tr.ProgressText(); got != tc.want {
				t.Errorf("progress %q, want %q", got, tc.want)
			}
			tr.refresh()
			if got := tr.Menu().Items[0].Label; got != tc.want {
				t.Errorf("first menu item %q, want %q", got, tc.want)
			}
		})
	}
}

// TestProgressCoalesced: a burst of progress events redraws the menu once
// per UpdateInterval, with the last values, not once per event.
func TestProgressCoalesced(t *testing.T) {
	test.NewTempApp(t)
	eng := &fakeEngine{events: make(chan core.Event)}
	tr := New(eng, Options{})
	var mu sync.Mutex
	var queued []func()
	handed := 0
	tr.do = func(f func()) {
		mu.Lock()
		queued = append(queued, f)
		handed++
		mu.Unlock()
	}
	start := time.Now()
	tr.Start()
	defer tr.Stop()
	for i := 1; i <= 200; i++ {
		eng.events <- core.DownloadProgress{ID: "a", Size: 1000, Done: int64(i * 5), Rate: 2_000_000}
	}
	const want = "1 download · 100 % · 2.00 MB/s"
	deadline := time.Now().Add(10 * time.Second)
	for tr.Menu().Items[0].Label != want {
		if time.Now().After(deadline) {
			t.Fatalf("first item %q, want %q", tr.Menu().Items[0].Label, want)
		}
		mu.Lock()
		q := queued
		queued = nil
		mu.Unlock()
		for _, f := range q {
			f()
		}
		time.Sleep(10 * time.Millisecond)
	}
	elapsed := time.Since(start)
	mu.Lock()
	n := handed
	mu.Unlock()
	if most := int(elapsed/UpdateInterval) + 1; n > most {
		t.Errorf("%d redraws handed to the main goroutine in %v for 200 events; at most %d expected", n, elapsed, most)
	}
}

func TestNotice(t *testing.T) {
	test.NewTempApp(t)
	opened := 0
	tr := New(&fakeEngine{events: make(chan core.Event)}, Options{Open: func() { opened++ }})
	n := len(tr.Menu().Items)
	tr.SetNotice("Download finished: a.iso\nis in /dl")
	items := tr.Menu().Items
	if len(items) != n+1 {
		t.Fatalf("menu has %d items with a notice, want %d", len(items), n+1)
	}
	it := items[2]
	if it.Label != "Download finished: a.iso is in /dl" || it.Disabled {
		t.Fatalf("third item %q (disabled %v), want the notice on one line, clickable", it.Label, it.Disabled)
	}
	tr.SetNotice("Download failed: b.iso")
	if len(tr.Menu().Items) != n+1 || tr.Menu().Items[2].Label != "Download failed: b.iso" {
		t.Fatalf("a second notice did not replace the first: %q", tr.Menu().Items[2].Label)
	}
	it.Action()
	if opened != 1 {
		t.Errorf("clicking the notice opened the window %d times, want 1", opened)
	}
	if len(tr.Menu().Items) != n {
		t.Errorf("the notice stayed after it was clicked: %d items", len(tr.Menu().Items))
	}
	tr.SetNotice("x")
	tr.SetNotice("")
	if len(tr.Menu().Items) != n || !tr.Menu().Items[2].IsSeparator {
		t.Errorf("SetNotice(\"\") left %q in the menu", tr.Menu().Items[2].Label)
	}
}

// fakeDesktop is the tray half of a desktop driver.
type fakeDesktop struct {
	menu  *fyne.Menu
	icons []fyne.Resource
}

func (d *fakeDesktop) SetSystemTrayMenu(m *fyne.Menu)    { d.menu = m }
func (d *fakeDesktop) SetSystemTrayIcon(r fyne.Resource) { d.icons = append(d.icons, r) }
func (d *fakeDesktop) SetSystemTrayWindow(fyne.Window)   {}

func (d *fakeDesktop) last() fyne.Resource { return d.icons[len(d.icons)-1] }
func (d *fakeDesktop) count() int          { return len(d.icons) }
func (d *fakeDesktop) busy() bool          { return d.last().Name() != "dragonload-tray.png" }

func (d *fakeDesktop) lastImage(t *testing.T) image.Image {
	t.Helper()
	return decode(t, d.last())
}

func decode(t *testing.T, r fyne.Resource) image.Image {
	t.Helper()
	img, _, err := image.Decode(bytes.NewReader(r.Content()))
	if err != nil {
		t.Fatalf("icon %s: %v", r.Name(), err)
	}
	return img
}

// TestTooltipAndBusyIcon: once installed, the tooltip repeats the progress
// line, and the icon carries a bar while downloads run and goes back to
// the plain icon when they end; a new icon is set only when the bar moves.
func TestTooltipAndBusyIcon(t *testing.T) {
	test.NewTempApp(t)
	var tips []string
	saved := systrayTooltip
	systrayTooltip = func(s string) { tips = append(tips, s) }
	t.Cleanup(func() { systrayTooltip = saved })
	tr := New(&fakeEngine{events: make(chan core.Event)}, Options{})
	d := &fakeDesktop{}
	plain := fyne.NewStaticResource("dragonload-tray.png", assets.TrayIcon)
	tr.Install(d, plain)
	if d.menu != tr.Menu() || d.count() != 1 || d.busy() {
		t.Fatalf("Install set menu %v and icons %v; want the menu and the plain icon", d.menu != nil, d.icons)
	}
	if len(tips) != 1 || tips[0] != "Dragonload: "+LabelIdle {
		t.Fatalf("tooltips after Install %q, want the idle line", tips)
	}

	tr.apply(core.DownloadProgress{ID: "a", Size: 1_000_000, Done: 100_000, Rate: 5000})
	tr.refresh()
	if len(tips) == 0 || tips[len(tips)-1] != "Dragonload: 1 download · 10 % · 5.00 kB/s · 3m 00s left" {
		t.Errorf("tooltips %q", tips)
	}
	if d.count() != 2 || !d.busy() {
		t.Fatalf("icons %v while downloading; want a busy one", d.icons)
	}
	if filled := barFill(d.lastImage(t)); filled != 0 {
		t.Errorf("the bar at 10 %% fills %d pixels of the bottom row, want none (first eighth not reached)", filled)
	}

	// 12 %: the same eighth, so no new icon.
	tr.apply(core.DownloadProgress{ID: "a", Size: 1_000_000, Done: 120_000, Rate: 5000})
	tr.refresh()
	if d.count() != 2 {
		t.Errorf("a new icon within the same step: %d icons", d.count())
	}
	tr.apply(core.DownloadProgress{ID: "a", Size: 1_000_000, Done: 600_000, Rate: 5000})
	tr.refresh()
	if d.count() != 3 || !d.busy() {
		t.Fatalf("icons %v at 60 %%", d.icons)
	}
	half := barFill(d.lastImage(t))
	if half == 0 {
		t.Error("the bar at 60 % is empty")
	}

	tr.apply(core.DownloadStateChanged{ID: "a", State: core.StateDone})
	tr.refresh()
	if d.busy() {
		t.Errorf("icon %s after the download ended, want the plain one", d.last().Name())
	}
	if tips[len(tips)-1] != "Dragonload: "+LabelIdle {
		t.Errorf("tooltip %q when idle", tips[len(tips)-1])
	}
}

// barFill counts white pixels along the middle row of the bar.
func barFill(img image.Image) int {
	b := img.Bounds()
	h := b.Dy() / 6
	y := b.Max.Y - h // the bar spans [Max-h-h/2, Max-h/2)
	n := 0
	for x := b.Min.X; x < b.Max.X; x++ {
		if c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA); c == (color.NRGBA{255, 255, 255, 255}) {
			n++
		}
	}
	return n
}

func TestBusyIconSteps(t *testing.T) {
	plain := fyne.NewStaticResource("dragonload-tray.png", assets.TrayIcon)
	b, err := newBusyIcons(plain)
	if err != nil {
		t.Fatal(err)
	}
	for frac, want := range map[float64]int{-1: 0, 0: 0, 0.124: 0, 0.125: 1, 0.5: 4, 0.99: 7, 1: 8, 1.5: 8} {
		if got := b.step(frac); got != want {
			t.Errorf("step(%v) = %d, want %d", frac, got, want)
		}
	}
	if b.icon(idleStep) != plain {
		t.Error("the idle step is not the plain icon")
	}
	prev := -1
	for step := 0; step <= BarSteps; step++ {
		n := barFill(decode(t, b.icon(step)))
		if n <= prev && step > 0 {
			t.Errorf("step %d fills %d pixels, step %d filled %d", step, n, step-1, prev)
		}
		prev = n
	}
	if prev < 40 {
		t.Errorf("a full bar fills %d pixels of 64", prev)
	}
	if _, err := newBusyIcons(fyne.NewStaticResource("x.png", []byte("not a png"))); err == nil {
		t.Error("a broken icon gave no error")
	}
}
