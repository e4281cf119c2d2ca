package ui

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/dragonload/dragonload/core"
	"github.com/dragonload/dragonload/core/index"
	"github.com/dragonload/dragonload/core/link"
)

// fakeEngine records commands and lets a test publish events.
type fakeEngine struct {
	mu      sync.Mutex
	added   []string
	paused  []core.DownloadID
	lending bool
	limits  core.Limits
	room    string
	outDir  string
	watch   string
	next    int
	events  chan core.Event
	closed  bool
}

func newFakeEngine() *fakeEngine {
	return &fakeEngine{room: "ROOM-CODE-1", outDir: "/home/ann/Downloads", events: make(chan core.Event, 64)}
}

func (f *fakeEngine) Add(source, _ string) (core.DownloadID, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if strings.Contains(source, "refuse") {
		return "", errors.New("the origin refused the request")
	}
	f.added = append(f.added, source)
	f.next++
	return core.DownloadID(fmt.Sprintf("d%d", f.next)), nil
}

func (f *fakeEngine) Pause(id core.DownloadID) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.paused = append(f.paused, id)
	return nil
}
func (f *fakeEngine) Resume(core.DownloadID) error     { return nil }
func (f *fakeEngine) Cancel(core.DownloadID) error     { return nil }
func (f *fakeEngine) Remove(core.DownloadID) error     { return nil }
func (f *fakeEngine) ClearFinished() []core.DownloadID { return nil }
func (f *fakeEngine) Downloads() []core.DownloadSnapshot {
	return nil
}
func (f *fakeEngine) ShareLink(id core.DownloadID) (string, error) {
	return "dragon://?url=https%3A%2F%2Fe.com%2F" + string(id), nil
}
func (f *fakeEngine) SetLending(on bool) {
	f.mu.Lock()
	f.lending = on
	f.mu.Unlock()
	f.events <- core.LendingChanged{On: on}
}
func (f *fakeEngine) Lending() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lending
}
func (f *fakeEngine) SetLimits(l core.Limits) { f.mu.Lock(); f.limits = l; f.mu.Unlock() }
func (f *fakeEngine) Limits() core.Limits     { f.mu.Lock(); defer f.mu.Unlock(); return f.limits }
func (f *fakeEngine) Peers() []core.PeerInfo {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.peerState().peers)
}
func (f *fakeEngine) AddPeer(string) error { return nil }
func (f *fakeEngine) RoomCode() string     { f.mu.Lock(); defer f.mu.Unlock(); return f.room }
func (f *fakeEngine) SetRoom(code string) error {
	f.mu.Lock()
	f.room = code
	f.mu.Unlock()
	return nil
}
func (f *fakeEngine) NodeID() string { return "NODEIDNODEIDNODEID" }
func (f *fakeEngine) Addr() string   { return "127.0.0.1:4700" }
func (f *fakeEngine) OutDir() string { f.mu.Lock(); defer f.mu.Unlock(); return f.outDir }
func (f *fakeEngine) SetOutDir(dir string) error {
	f.mu.Lock()
	f.outDir = dir
	f.mu.Unlock()
	return nil
}
func (f *fakeEngine) WatchDir() string { f.mu.Lock(); defer f.mu.Unlock(); return f.watch }
func (f *fakeEngine) SetWatchDir(dir string) error {
	f.mu.Lock()
	f.watch = dir
	f.mu.Unlock()
	return nil
}
func (f *fakeEngine) Subscribe() (<-chan core.Event, func()) {
	return f.events, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if !f.closed {
			f.closed = true
			close(f.events)
		}
	}
}

func (f *fakeEngine) addedSources() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.added...)
}

// harness runs a UI on Fyne's test driver. The test goroutine plays the
// Fyne main goroutine: the UI's hand-offs queue up until waitFor runs them.
type harness struct {
	t     *testing.T
	app   fyne.App
	win   fyne.Window
	u     *UI
	mainQ chan func()
	stop  chan struct{}
}

func newHarness(t *testing.T, eng Engine, opts Options) *harness {
	t.Helper()
	a := test.NewTempApp(t)
	w := a.NewWindow("Dragonload")
	w.Resize(DefaultSize)
	h := &harness{t: t, app: a, win: w, mainQ: make(chan func(), 1024), stop: make(chan struct{})}
	h.u = New(a, w, eng, opts)
	h.u.do = func(f func()) {
		select {
		case h.mainQ <- f:
		case <-h.stop:
		}
	}
	h.u.Start()
	t.Cleanup(func() {
		close(h.stop)
		h.u.Stop()
		w.Close()
	})
	return h
}

// waitFor runs the main queue until cond holds, failing after 10 s.
func (h *harness) waitFor(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.After(30 * time.Second) // a bound for failures only: -race on a loaded 2-core machine is slow
	for !cond() {
		select {
		case f := <-h.mainQ:
			f()
		case <-time.After(10 * time.Millisecond):
		case <-deadline:
			h.t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// The fake's side of the Settings pane's engine options. Their state sits
// beside the fake, keyed by it, so that the fake's own fields stay as
// they are for its other users.
type fakeOptions struct {
	name         string
	names        []string // every SetName call
	allowPrivate bool
	forced       bool // as if started with --allow-private-origins
	theme        string
	trustLinks   bool     // SetAskOpenedLinks(false)
	unbanned     []string // every Unban call
	noChecks     bool     // SetSpotChecks(false)
}

var fakeOptionsOf sync.Map // *fakeEngine → *fakeOptions

// opts is f's options; call it with f.mu held.
func (f *fakeEngine) opts() *fakeOptions {
	o, _ := fakeOptionsOf.LoadOrStore(f, &fakeOptions{name: "ann-laptop", theme: "system"})
	return o.(*fakeOptions)
}

func (f *fakeEngine) Name() string { f.mu.Lock(); defer f.mu.Unlock(); return f.opts().name }
func (f *fakeEngine) SetName(name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	o := f.opts()
	o.names = append(o.names, name)
	if name == "" {
		return errors.New("the name is empty")
	}
	o.name = name
	return nil
}
func (f *fakeEngine) AllowPrivate() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.opts().allowPrivate || f.opts().forced
}
func (f *fakeEngine) SetAllowPrivate(on bool) { f.mu.Lock(); f.opts().allowPrivate = on; f.mu.Unlock() }
func (f *fakeEngine) Theme() string           { f.mu.Lock(); defer f.mu.Unlock(); return f.opts().theme }
func (f *fakeEngine) AskOpenedLinks() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return !f.opts().trustLinks
}
func (f *fakeEngine) SetAskOpenedLinks(ask bool) {
	f.mu.Lock()
	f.opts().trustLinks = !ask
	f.mu.Unlock()
}
func (f *fakeEngine) Unban(id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.opts().unbanned = append(f.opts().unbanned, id)
	return nil
}
func (f *fakeEngine) SpotChecks() bool      { f.mu.Lock(); defer f.mu.Unlock(); return !f.opts().noChecks }
func (f *fakeEngine) SetSpotChecks(on bool) { f.mu.Lock(); f.opts().noChecks = !on; f.mu.Unlock() }
func (f *fakeEngine) SetTheme(name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch name {
	case "system", "light", "dark":
		f.opts().theme = name
		return nil
	}
	return fmt.Errorf("no theme %q", name)
}

// The fake's side of the Peers tab: nicknames, removals and whether mDNS
// runs. Its state sits beside the fake like fakeOptions, for the same
// reason.
type fakePeerState struct {
	renamed  [][2]string // every RenamePeer call: id, nickname
	removed  []string    // every RemovePeer call
	noMDNS   bool
	refusals map[string]error // by "rename ID" or "remove ADDR"
	peers    []core.PeerInfo  // what Peers returns
}

var fakePeersOf sync.Map // *fakeEngine → *fakePeerState

// peerState is f's Peers-tab state; call it with f.mu held.
func (f *fakeEngine) peerState() *fakePeerState {
	o, _ := fakePeersOf.LoadOrStore(f, &fakePeerState{})
	return o.(*fakePeerState)
}

func (f *fakeEngine) RenamePeer(id, nickname string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.peerState()
	s.renamed = append(s.renamed, [2]string{id, nickname})
	return s.refusals["rename "+id]
}

func (f *fakeEngine) RemovePeer(addr string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.peerState()
	s.removed = append(s.removed, addr)
	return s.refusals["remove "+addr]
}

func (f *fakeEngine) Discovering() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return !f.peerState().noMDNS
}

// The fake's side of sharing: the Settings pane's switch and days, the
// Shared tab's list, and what the room answers to a search. Its state
// sits beside the fake like fakeOptions, for the same reason.
type fakeShareState struct {
	off      bool // SetSharesFinished(false)
	days     int
	shared   []index.Entry
	stopped  []string // every StopSharing call
	found    []core.SearchResult
	searched []string      // the words of every Search
	hold     chan struct{} // when set, Search answers once it is closed
	links    []link.Link   // every AddLink call
}

var fakeSharesOf sync.Map // *fakeEngine → *fakeShareState

// shares is f's sharing state; call it with f.mu held.
func (f *fakeEngine) shares() *fakeShareState {
	o, _ := fakeSharesOf.LoadOrStore(f, &fakeShareState{days: core.DefaultShareDays})
	return o.(*fakeShareState)
}

func (f *fakeEngine) SharesFinished() bool { f.mu.Lock(); defer f.mu.Unlock(); return !f.shares().off }
func (f *fakeEngine) SetSharesFinished(on bool) {
	f.mu.Lock()
	f.shares().off = !on
	f.mu.Unlock()
}
func (f *fakeEngine) ShareDays() int { f.mu.Lock(); defer f.mu.Unlock(); return f.shares().days }
func (f *fakeEngine) SetShareDays(days int) {
	f.mu.Lock()
	f.shares().days = max(days, 1)
	f.mu.Unlock()
}
func (f *fakeEngine) Shared() []index.Entry {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.shares().shared)
}
func (f *fakeEngine) StopSharing(path string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.shares()
	s.stopped = append(s.stopped, path)
	for i := range s.shared {
		if s.shared[i].Path == path {
			s.shared[i].Shared = false
			return nil
		}
	}
	return errors.New("no shared file " + path)
}

// share adds a finished download to the fake's shared files, newest first.
func (f *fakeEngine) share(e index.Entry) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.shares()
	s.shared = append([]index.Entry{e}, s.shared...)
}

func (f *fakeEngine) Search(ctx context.Context, words string) []core.SearchResult {
	f.mu.Lock()
	s := f.shares()
	s.searched = append(s.searched, words)
	hold, found := s.hold, slices.Clone(s.found)
	f.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
			return nil
		}
	}
	return found
}

func (f *fakeEngine) AddLink(l link.Link, _ string) (core.DownloadID, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if strings.Contains(l.Name, "refuse") {
		return "", errors.New("no machine of the room holds that file")
	}
	s := f.shares()
	s.links = append(s.links, l)
	f.next++
	return core.DownloadID(fmt.Sprintf("d%d", f.next)), nil
}

// shareCalls returns what the Shared tab asked of the fake.
func (f *fakeEngine) shareCalls() (searched, stopped []string, links []link.Link) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.shares()
	return slices.Clone(s.searched), slices.Clone(s.stopped), slices.Clone(s.links)
}
