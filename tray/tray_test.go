package tray

import (
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/dragonload/dragonload/core"
)

type fakeEngine struct {
	mu              sync.Mutex
	lending         bool
	pauses, resumes int
	downloads       []core.DownloadSnapshot
	peers           []core.PeerInfo
	events          chan core.Event
}

func (f *fakeEngine) Lending() bool { f.mu.Lock(); defer f.mu.Unlock(); return f.lending }
func (f *fakeEngine) SetLending(on bool) {
	f.mu.Lock()
	f.lending = on
	f.mu.Unlock()
}
func (f *fakeEngine) PauseAll()  { f.mu.Lock(); f.pauses++; f.mu.Unlock() }
func (f *fakeEngine) ResumeAll() { f.mu.Lock(); f.resumes++; f.mu.Unlock() }
func (f *fakeEngine) Downloads() []core.DownloadSnapshot {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.downloads
}
func (f *fakeEngine) Peers() []core.PeerInfo { f.mu.Lock(); defer f.mu.Unlock(); return f.peers }
func (f *fakeEngine) Subscribe() (<-chan core.Event, func()) {
	var once sync.Once
	return f.events, func() { once.Do(func() { close(f.events) }) }
}

func item(t *testing.T, m *fyne.Menu, prefix string) *fyne.MenuItem {
	t.Helper()
	for _, it := range m.Items {
		if strings.HasPrefix(it.Label, prefix) {
			return it
		}
	}
	t.Fatalf("menu has no item starting %q", prefix)
	return nil
}

// TestLendToggle runs the lend switch the way the tray does: by the
// menu item's action.
func TestLendToggle(t *testing.T) {
	test.NewTempApp(t)
	eng := &fakeEngine{events: make(chan core.Event)}
	tr := New(eng, Options{})
	lend := item(t, tr.Menu(), LabelLend)
	if lend.Checked || lend.Label != LabelLendOff {
		t.Fatalf("lending off shows %q checked=%v", lend.Label, lend.Checked)
	}
	lend.Action()
	if !eng.Lending() {
		t.Fatal("the item did not turn lending on")
	}
	if !lend.Checked || lend.Label != LabelLend {
		t.Fatalf("lending on shows %q checked=%v", lend.Label, lend.Checked)
	}
	lend.Action()
	if eng.Lending() {
		t.Fatal("the item did not turn lending back off")
	}
	if lend.Checked || lend.Label != LabelLendOff {
		t.Fatalf("lending off again shows %q checked=%v", lend.Label, lend.Checked)
	}
}

func TestMenuFollowsEvents(t *testing.T) {
	test.NewTempApp(t)
	eng := &fakeEngine{
		events:    make(chan core.Event, 16),
		downloads: []core.DownloadSnapshot{{ID: "old", State: core.StateDone}},
	}
	tr := New(eng, Options{})
	mainQ := make(chan func(), 16)
	tr.do = func(f func()) { mainQ <- f }
	if got := tr.status.Label; got != "No peers" {
		t.Fatalf("initial status %q", got)
	}
	if got := tr.Menu().Items[0].Label; got != LabelIdle {
		t.Fatalf("initial first item %q, want %q", got, LabelIdle)
	}
	if !item(t, tr.Menu(), LabelPauseAll).Disabled || !item(t, tr.Menu(), LabelResumeAll).Disabled {
		t.Error("Pause all / Resume all enabled with nothing to pause or resume")
	}
	tr.Start()
	defer tr.Stop()
	eng.events <- core.PeerReady{Peer: core.PeerInfo{ID: "A", Ready: true}}
	eng.events <- core.PeerReady{Peer: core.PeerInfo{ID: "B", Ready: true}}
	eng.events <- core.DownloadAdded{ID: "x"}
	eng.events <- core.DownloadStateChanged{ID: "x", State: core.StateDownloading}
	eng.events <- core.DownloadProgress{ID: "x", Size: 1_000_000_000, Done: 250_000_000, Rate: 4_200_000}
	eng.events <- core.LendingChanged{On: true}

	want := "2 peers ready"
	wantProgress := "1 download · 25 % · 4.20 MB/s · 2m 59s left"
	deadline := time.After(10 * time.Second)
	for tr.status.Label != want || tr.Menu().Items[0].Label != wantProgress {
		select {
		case f := <-mainQ:
			f()
		case <-deadline:
			t.Fatalf("menu starts %q, %q; want %q, %q", tr.Menu().Items[0].Label, tr.status.Label, wantProgress, want)
		}
	}
	if !item(t, tr.Menu(), LabelLend).Checked {
		t.Error("lending turned on elsewhere is not shown")
	}
	pause := item(t, tr.Menu(), LabelPauseAll)
	if pause.Disabled {
		t.Fatal("Pause all disabled with a download running")
	}
	pause.Action()
	if eng.pauses != 1 {
		t.Errorf("PauseAll called %d times", eng.pauses)
	}
}

// TestResyncReloads: after a Resync (events were lost) the tray shows the
// engine's state, not what the events it did get left behind.
func TestResyncReloads(t *testing.T) {
	tests := []struct {
		name      string
		downloads []core.DownloadSnapshot
		peers     []core.PeerInfo
		want      string
		progress  string
		resumable bool
	}{
		{name: "download finished, a peer left",
			downloads: []core.DownloadSnapshot{{ID: "x", State: core.StateDone}},
			peers:     []core.PeerInfo{{ID: "B", Ready: true}},
			want:      "1 peer ready", progress: LabelIdle},
		{name: "download paused, another queued, peers gone",
			downloads: []core.DownloadSnapshot{{ID: "x", State: core.StatePaused, Size: 100, Done: 50}, {ID: "y", State: core.StateQueued, Size: -1}},
			want:      "No peers", progress: "1 download", resumable: true},
		{name: "snapshot sizes count at once",
			downloads: []core.DownloadSnapshot{{ID: "x", State: core.StateDownloading, Size: 1000, Done: 610}},
			want:      "No peers", progress: "1 download · 61 %"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			test.NewTempApp(t)
			eng := &fakeEngine{events: make(chan core.Event)}
			tr := New(eng, Options{})
			for _, ev := range []core.Event{
				core.PeerReady{Peer: core.PeerInfo{ID: "A", Ready: true}},
				core.PeerReady{Peer: core.PeerInfo{ID: "B", Ready: true}},
				core.DownloadStateChanged{ID: "x", State: core.StateDownloading},
				core.DownloadProgress{ID: "x", Size: -1, Done: 10, Rate: 4_200_000},
			} {
				tr.apply(ev)
			}
			if got, want := tr.StatusText(), "2 peers ready"; got != want {
				t.Fatalf("before the resync: %q, want %q", got, want)
			}
			if got, want := tr.ProgressText(), "1 download · 4.20 MB/s"; got != want {
				t.Fatalf("before the resync: %q, want %q", got, want)
			}
			eng.mu.Lock()
			eng.downloads, eng.peers = tc.downloads, tc.peers
			eng.mu.Unlock()
			tr.apply(core.Resync{From: 5, To: 9})
			if got := tr.StatusText(); got != tc.want {
				t.Errorf("after the resync: %q, want %q", got, tc.want)
			}
			// The rate went with the lost events: a snapshot has none.
			if got := tr.ProgressText(); got != tc.progress {
				t.Errorf("after the resync: progress %q, want %q", got, tc.progress)
			}
			tr.refresh()
			if got := !item(t, tr.Menu(), LabelResumeAll).Disabled; got != tc.resumable {
				t.Errorf("Resume all enabled %v, want %v", got, tc.resumable)
			}
		})
	}
}

func TestOpenAndQuit(t *testing.T) {
	test.NewTempApp(t)
	opened, quit := 0, 0
	tr := New(&fakeEngine{events: make(chan core.Event)}, Options{Open: func() { opened++ }, Quit: func() { quit++ }})
	item(t, tr.Menu(), LabelOpen).Action()
	q := tr.Menu().Items[len(tr.Menu().Items)-1]
	if q.Label != LabelQuit || !q.IsQuit {
		t.Fatalf("last item %q (IsQuit=%v), want Quit", q.Label, q.IsQuit)
	}
	q.Action()
	if opened != 1 || quit != 1 {
		t.Fatalf("open %d, quit %d; want 1, 1", opened, quit)
	}
}

func TestSessionBus(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "bus")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()

	cases := []struct {
		name    string
		addr    string
		runtime string
		ok      bool
	}{
		{"nothing set", "", "", false},
		{"env path", "unix:path=" + sock, "", true},
		{"env with guid and fallback", "unix:path=" + filepath.Join(dir, "gone") + ";unix:path=" + sock + ",guid=abc", "", true},
		{"runtime dir", "", dir, true},
		{"runtime dir without bus", "", t.TempDir(), false},
		{"dead socket", "unix:path=" + filepath.Join(dir, "gone"), "", false},
		{"disabled", "disabled:", "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("DBUS_SESSION_BUS_ADDRESS", tc.addr)
			t.Setenv("XDG_RUNTIME_DIR", tc.runtime)
			err := SessionBus()
			if (err == nil) != tc.ok {
				t.Fatalf("SessionBus() = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestBusTarget(t *testing.T) {
	cases := []struct {
		in, network, target string
	}{
		{"unix:path=/run/user/1000/bus", "unix", "/run/user/1000/bus"},
		{"unix:path=/tmp/a%20b,guid=1", "unix", "/tmp/a b"},
		{"unix:abstract=/tmp/dbus-XYZ,guid=9", "unix", "@/tmp/dbus-XYZ"},
		{"tcp:host=127.0.0.1,port=7777", "tcp", "127.0.0.1:7777"},
		{"nonsense", "", ""},
		{"unix:tmpdir=/tmp", "", ""},
	}
	for _, tc := range cases {
		n, a, err := busTarget(tc.in)
		if tc.network == "" {
			if err == nil {
				t.Errorf("busTarget(%q) = %s %s, want error", tc.in, n, a)
			}
			continue
		}
		if err != nil || n != tc.network || a != tc.target {
			t.Errorf("busTarget(%q) = %s %s %v", tc.in, n, a, err)
		}
	}
}

func TestLendToggleRealEngine(t *testing.T) {
	test.NewTempApp(t)
	eng, err := core.New(core.Config{Home: t.TempDir(), Listen: "127.0.0.1:0", NoMDNS: true, OutDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	tr := New(eng, Options{})
	lend := item(t, tr.Menu(), LabelLend)
	start := eng.Lending()
	if lend.Checked != start {
		t.Fatalf("item checked=%v, engine lending=%v", lend.Checked, start)
	}
	lend.Action()
	if eng.Lending() == start || lend.Checked == start {
		t.Fatalf("after one click: engine %v, item %v; want both %v", eng.Lending(), lend.Checked, !start)
	}
	lend.Action()
	if eng.Lending() != start || lend.Checked != start {
		t.Fatalf("after two clicks: engine %v, item %v; want both %v", eng.Lending(), lend.Checked, start)
	}
}

// TestHelpingLine: the status line says whom this node helps, from the
// notes of the members it lends to; a note that says it helps nobody, or
// that grew old, drops out.
func TestHelpingLine(t *testing.T) {
	test.NewTempApp(t)
	tr := New(&fakeEngine{events: make(chan core.Event)}, Options{})
	tr.apply(core.PeerReady{Peer: core.PeerInfo{ID: "A", Ready: true}})
	note := core.PeerNote{Peer: "A", Name: "laptop", Downloads: []core.PeerDownload{
		{File: "ubuntu.iso", Done: 43, Size: 100, Helping: true},
		{File: "other.bin", Done: 1, Size: 2}, // not through this node
	}}
	tr.apply(note)
	if got, want := tr.StatusText(), "1 peer ready · helping laptop: ubuntu.iso 43 %"; got != want {
		t.Fatalf("status %q, want %q", got, want)
	}
	tr.apply(core.PeerNote{Peer: "A", Name: "laptop"})
	if got, want := tr.StatusText(), "1 peer ready"; got != want {
		t.Fatalf("after an empty note: %q, want %q", got, want)
	}
	tr.apply(note)
	tr.mu.Lock()
	h := tr.helping["A"]
	h.at = h.at.Add(-noteLife - time.Second)
	tr.helping["A"] = h
	tr.mu.Unlock()
	if got, want := tr.StatusText(), "1 peer ready"; got != want {
		t.Fatalf("after the note grew old: %q, want %q", got, want)
	}
}
