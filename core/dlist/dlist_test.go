package dlist

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/dragonload/dragonload/core/link"
	"github.com/dragonload/dragonload/core/osutil"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// entry is a minimal valid entry.
func entry(id, state string) Entry {
	return Entry{ID: id, Source: "https://example.com/" + id, Link: Link{URL: "https://example.com/" + id}, State: state, Size: -1, Added: t0}
}

// ended is a final entry that ended at t0 plus minutes.
func ended(id string, minutes int) Entry {
	e := entry(id, StateDone)
	e.Ended = t0.Add(time.Duration(minutes) * time.Minute)
	return e
}

// full is an entry with every field set, including characters that JSON
// must escape.
func full(id string) Entry {
	return Entry{
		ID:     id,
		Source: "/home/u/Watch/" + id + ".dragon",
		Link: Link{
			URL: "https://example.com/a.iso?x=1&y=<2>", Name: "a \"b\".iso", Size: 1 << 40,
			SHA256:  strings.Repeat("ab", 32),
			Mirrors: []string{"https://m1/a.iso", "https://m2/a.iso"},
			Headers: map[string]string{"Cookie": "s=1; t=\u00e9\n", "Authorization": "Bearer x"},
		},
		OutDir: "/home/u/Downloads", Name: "a.iso", State: StateDone, Err: "",
		Path: "/home/u/Downloads/a.iso", Size: 1 << 40, Done: 1 << 40,
		Added: t0, Ended: t0.Add(time.Hour),
	}
}

func ids(es []Entry) []string {
	out := []string{}
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

func mustOpen(t *testing.T, home string, opts Options) *List {
	t.Helper()
	l, err := Open(home, opts)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func mustClose(t *testing.T, l *List) {
	t.Helper()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}

// onDisk decodes the list file as Open would.
func onDisk(t *testing.T, home string) []Entry {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(home, FileName))
	if err != nil {
		t.Fatal(err)
	}
	es, err := decode(data)
	if err != nil {
		t.Fatalf("file on disk does not load: %v\n%s", err, data)
	}
	return es
}

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		put  []Entry
	}{
		{"one minimal", []Entry{entry("a", StateQueued)}},
		{"every field", []Entry{full("a")}},
		{"every state", []Entry{
			entry("1", StateQueued), entry("2", StateProbing), entry("3", StateDownloading),
			entry("4", StatePaused), entry("5", StateVerifying), entry("6", StateDone),
			entry("7", StateFailed), entry("8", StateCanceled),
		}},
		{"empty slices and maps read back as nil", []Entry{{
			ID: "a", State: StateQueued, Link: Link{Mirrors: []string{}, Headers: map[string]string{}},
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := t.TempDir()
			l := mustOpen(t, home, Options{})
			for _, e := range tt.put {
				l.Put(e)
			}
			mustClose(t, l)

			fi, err := os.Stat(filepath.Join(home, FileName))
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("file mode %v, want 0600: headers may hold credentials", fi.Mode().Perm())
			}
			l = mustOpen(t, home, Options{})
			defer mustClose(t, l)
			if w := l.Warning(); w != "" {
				t.Errorf("warning %q on a file this package wrote", w)
			}
			want := make([]Entry, len(tt.put))
			for i, e := range tt.put {
				want[i] = cloneEntry(e)
			}
			if got := l.Entries(); !reflect.DeepEqual(got, want) && len(got)+len(want) > 0 {
				t.Errorf("after reopening:\ngot  %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestFileFormat(t *testing.T) {
	home := t.TempDir()
	l := mustOpen(t, home, Options{})
	mustClose(t, l) // clean: nothing written
	if _, err := os.Stat(filepath.Join(home, FileName)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("an unchanged empty list was written: %v", err)
	}
	l = mustOpen(t, home, Options{})
	l.Put(entry("a", StateQueued))
	l.Remove("a")
	mustClose(t, l)
	data, err := os.ReadFile(filepath.Join(home, FileName))
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(strings.Fields(string(data)), "")
	if want := `{"version":1,"downloads":[]}`; got != want {
		t.Errorf("file %s, want %s", got, want)
	}
}

func TestOrderReplaceRemove(t *testing.T) {
	tests := []struct {
		name string
		ops  func(t *testing.T, l *List)
		want []string // id:state, in list order
	}{
		{"order of first put", func(t *testing.T, l *List) {
			l.Put(entry("c", StateQueued))
			l.Put(entry("a", StateQueued))
			l.Put(entry("b", StateQueued))
		}, []string{"c:queued", "a:queued", "b:queued"}},
		{"replace keeps the place", func(t *testing.T, l *List) {
			l.Put(entry("a", StateQueued))
			l.Put(entry("b", StateQueued))
			l.Put(entry("c", StateQueued))
			l.Put(entry("a", StateDownloading))
			l.Put(entry("b", StateFailed))
		}, []string{"a:downloading", "b:failed", "c:queued"}},
		{"remove", func(t *testing.T, l *List) {
			l.Put(entry("a", StateQueued))
			l.Put(entry("b", StateQueued))
			l.Put(entry("c", StateQueued))
			if !l.Remove("b") {
				t.Error("Remove of a present id reported false")
			}
		}, []string{"a:queued", "c:queued"}},
		{"remove unknown id", func(t *testing.T, l *List) {
			l.Put(entry("a", StateQueued))
			if l.Remove("zz") {
				t.Error("Remove of an unknown id reported true")
			}
		}, []string{"a:queued"}},
		{"put after remove goes last", func(t *testing.T, l *List) {
			l.Put(entry("a", StateQueued))
			l.Put(entry("b", StateQueued))
			l.Remove("a")
			l.Put(entry("a", StatePaused))
		}, []string{"b:queued", "a:paused"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := t.TempDir()
			l := mustOpen(t, home, Options{})
			tt.ops(t, l)
			check := func(when string, es []Entry) {
				var got []string
				for _, e := range es {
					got = append(got, e.ID+":"+e.State)
				}
				if !slices.Equal(got, tt.want) {
					t.Errorf("%s: got %v, want %v", when, got, tt.want)
				}
			}
			check("in memory", l.Entries())
			for _, id := range tt.want {
				id, _, _ = strings.Cut(id, ":")
				if _, ok := l.Get(id); !ok {
					t.Errorf("Get(%q) found nothing", id)
				}
			}
			mustClose(t, l)
			check("on disk", onDisk(t, home))
		})
	}
}

func TestCopiesAreIndependent(t *testing.T) {
	l := mustOpen(t, t.TempDir(), Options{})
	defer mustClose(t, l)
	e := full("a")
	l.Put(e)
	e.Link.Mirrors[0] = "changed by the caller after Put"
	e.Link.Headers["Cookie"] = "changed"

	got, _ := l.Get("a")
	got.Link.Mirrors[1] = "changed through Get"
	l.Entries()[0].Link.Headers["Authorization"] = "changed through Entries"

	if again, _ := l.Get("a"); !reflect.DeepEqual(again, full("a")) {
		t.Errorf("stored entry changed through a copy:\n%+v", again)
	}
}

func TestClearFinished(t *testing.T) {
	tests := []struct {
		name        string
		states      []string // ids are "0", "1", ...
		wantCleared []string
		wantLeft    []string
	}{
		{"empty list", nil, nil, []string{}},
		{"nothing finished", []string{StateQueued, StateDownloading}, nil, []string{"0", "1"}},
		{"all final states, in order", []string{
			StateQueued, StateDone, StateProbing, StateFailed, StateDownloading,
			StateCanceled, StatePaused, StateVerifying,
		}, []string{"1", "3", "5"}, []string{"0", "2", "4", "6", "7"}},
		{"everything finished", []string{StateDone, StateDone}, []string{"0", "1"}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := t.TempDir()
			l := mustOpen(t, home, Options{})
			for i, st := range tt.states {
				l.Put(entry(strconv.Itoa(i), st))
			}
			if err := l.Flush(); err != nil { // so only ClearFinished can make it dirty
				t.Fatal(err)
			}
			if got := l.ClearFinished(); !slices.Equal(got, tt.wantCleared) {
				t.Errorf("cleared %v, want %v", got, tt.wantCleared)
			}
			if got := ids(l.Entries()); !slices.Equal(got, tt.wantLeft) {
				t.Errorf("left %v, want %v", got, tt.wantLeft)
			}
			mustClose(t, l)
			if len(tt.states) > 0 {
				if got := ids(onDisk(t, home)); !slices.Equal(got, tt.wantLeft) {
					t.Errorf("on disk %v, want %v", got, tt.wantLeft)
				}
			}
		})
	}
}

func TestHistoryBound(t *testing.T) {
	tests := []struct {
		name string
		max  int
		put  []Entry
		want []string
	}{
		{"within the bound", 3, []Entry{ended("a", 1), ended("b", 2), ended("c", 3)}, []string{"a", "b", "c"}},
		{"oldest ended dropped", 2, []Entry{ended("a", 1), ended("b", 2), ended("c", 3)}, []string{"b", "c"}},
		{"ending time decides, not list order", 2, []Entry{ended("a", 9), ended("b", 2), ended("c", 3)}, []string{"a", "c"}},
		{"no end time counts as oldest", 1, []Entry{ended("a", 1), entry("b", StateFailed)}, []string{"a"}},
		{"unfinished never dropped", 1, []Entry{
			entry("q1", StateQueued), ended("a", 1), entry("q2", StateDownloading),
			ended("b", 2), entry("q3", StatePaused), ended("c", 3),
		}, []string{"q1", "q2", "q3", "c"}},
		{"a resumed download leaves history", 2, []Entry{
			ended("a", 1), ended("b", 2), entry("a", StateQueued), ended("c", 3),
		}, []string{"a", "b", "c"}},
		{"every final state counts", 2, []Entry{
			ended("a", 1),
			{ID: "b", State: StateFailed, Ended: t0.Add(2 * time.Minute)},
			{ID: "c", State: StateCanceled, Ended: t0.Add(3 * time.Minute)},
		}, []string{"b", "c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := t.TempDir()
			l := mustOpen(t, home, Options{MaxHistory: tt.max})
			for _, e := range tt.put {
				l.Put(e)
			}
			if got := ids(l.Entries()); !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			mustClose(t, l)
			if got := ids(onDisk(t, home)); !slices.Equal(got, tt.want) {
				t.Errorf("on disk %v, want %v", got, tt.want)
			}
		})
	}
}

func TestHistoryBoundDefault(t *testing.T) {
	l := mustOpen(t, t.TempDir(), Options{})
	defer mustClose(t, l)
	for i := range DefaultMaxHistory + 10 {
		l.Put(ended(strconv.Itoa(i), i))
	}
	l.Put(entry("running", StateDownloading))
	es := l.Entries()
	if len(es) != DefaultMaxHistory+1 {
		t.Fatalf("%d entries, want %d finished plus one running", len(es), DefaultMaxHistory)
	}
	if es[0].ID != "10" {
		t.Errorf("oldest kept is %q, want \"10\"", es[0].ID)
	}
}

func TestHistoryBoundOnOpen(t *testing.T) {
	home := t.TempDir()
	l := mustOpen(t, home, Options{MaxHistory: 10})
	l.Put(ended("a", 1))
	l.Put(entry("q", StatePaused))
	l.Put(ended("b", 2))
	l.Put(ended("c", 3))
	mustClose(t, l)

	l = mustOpen(t, home, Options{MaxHistory: 1})
	want := []string{"q", "c"}
	if got := ids(l.Entries()); !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	mustClose(t, l)
	if got := ids(onDisk(t, home)); !slices.Equal(got, want) {
		t.Errorf("trimmed list not saved: on disk %v, want %v", got, want)
	}
}

func TestOpen(t *testing.T) {
	valid := func(es ...Entry) string {
		data, err := encode(es)
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	oversized := `{"version":1,"downloads":[]}` + strings.Repeat(" ", MaxFileSize)
	tests := []struct {
		name     string
		content  string // "" means no file
		wantIDs  []string
		wantWarn string // substring; "" means the file must load cleanly
	}{
		{"missing file", "", nil, ""},
		{"no downloads key", `{"version":1}`, nil, ""},
		{"null downloads", `{"version":1,"downloads":null}`, nil, ""},
		{"unknown field ignored", `{"version":1,"later":true,"downloads":[{"id":"a","state":"done","x":1}]}`, []string{"a"}, ""},
		{"valid", valid(entry("a", StateQueued), full("b")), []string{"a", "b"}, ""},
		{"empty file", " ", nil, "not a download list"},
		{"garbage", "\x00\x01not json", nil, "not a download list"},
		{"truncated", valid(full("a"))[:100], nil, "not a download list"},
		{"trailing data", `{"version":1,"downloads":[]} {}`, nil, "not a download list"},
		{"wrong type", `{"version":1,"downloads":{"a":1}}`, nil, "not a download list"},
		{"not an object", `[1,2]`, nil, "not a download list"},
		{"json null", `null`, nil, "no format version"},
		{"no version", `{"downloads":[]}`, nil, "no format version"},
		{"version zero", `{"version":0,"downloads":[]}`, nil, "format version 0"},
		{"newer version", `{"version":2,"downloads":"a new shape"}`, nil, "newer Dragonload"},
		{"entry without id", `{"version":1,"downloads":[{"state":"done"}]}`, nil, "no id"},
		{"null entry", `{"version":1,"downloads":[null]}`, nil, "no id"},
		{"repeated id", `{"version":1,"downloads":[{"id":"a","state":"done"},{"id":"a","state":"queued"}]}`, nil, "repeats"},
		{"unknown state", `{"version":1,"downloads":[{"id":"a","state":"seeding"}]}`, nil, "unknown state"},
		{"oversized", oversized, nil, "larger than 16 MiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := t.TempDir()
			path := filepath.Join(home, FileName)
			if tt.content != "" {
				if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			l := mustOpen(t, home, Options{})
			if got := ids(l.Entries()); len(got)+len(tt.wantIDs) > 0 && !slices.Equal(got, tt.wantIDs) {
				t.Errorf("entries %v, want %v", got, tt.wantIDs)
			}
			bad, _ := filepath.Glob(path + ".bad-*")
			if tt.wantWarn == "" {
				if l.Warning() != "" || len(bad) > 0 {
					t.Errorf("warning %q and files %v for a good file", l.Warning(), bad)
				}
				mustClose(t, l)
				return
			}

			if len(bad) != 1 {
				t.Fatalf("damaged file kept as %v, want one downloads.json.bad-UNIXTIME", bad)
			}
			if _, err := strconv.ParseInt(strings.TrimPrefix(bad[0], path+".bad-"), 10, 64); err != nil {
				t.Errorf("kept as %s: suffix is not a unix time", bad[0])
			}
			if kept, err := os.ReadFile(bad[0]); err != nil || string(kept) != tt.content {
				t.Errorf("kept file differs from the damaged one (%v)", err)
			}
			w := l.Warning()
			if !strings.Contains(w, tt.wantWarn) || !strings.Contains(w, bad[0]) {
				t.Errorf("warning %q should say %q and name %s", w, tt.wantWarn, bad[0])
			}
			if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("damaged file still in place: %v", err)
			}
			// The fresh list works and is saved.
			l.Put(entry("new", StateQueued))
			mustClose(t, l)
			if got := ids(onDisk(t, home)); !slices.Equal(got, []string{"new"}) {
				t.Errorf("after a fresh start, on disk %v", got)
			}
		})
	}
}

func TestSaveRefusesOversized(t *testing.T) {
	home := t.TempDir()
	// Only Flush writes here: a background failure would be reported by
	// the last Flush too.
	l := mustOpen(t, home, Options{FlushEvery: time.Hour})
	defer l.Close()
	l.Put(entry("a", StateQueued))
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	big := entry("big", StateQueued)
	big.Link.Headers = map[string]string{"Cookie": strings.Repeat("x", MaxFileSize)}
	l.Put(big)
	// Saving it would make the next start set the whole list aside.
	if err := l.Flush(); err == nil || !strings.Contains(err.Error(), "too large") {
		t.Errorf("Flush = %v, want a too-large error", err)
	}
	if got := ids(onDisk(t, home)); !slices.Equal(got, []string{"a"}) {
		t.Errorf("on disk %v, want the last good list", got)
	}
	l.Remove("big")
	if err := l.Flush(); err != nil {
		t.Errorf("Flush after removing the big entry: %v", err)
	}
}

func TestOpenUnreadable(t *testing.T) {
	home := t.TempDir()
	path := filepath.Join(home, FileName)
	if err := os.Mkdir(path, 0o700); err != nil { // reading a folder fails
		t.Fatal(err)
	}
	if l, err := Open(home, Options{}); err == nil {
		l.Close()
		t.Fatal("Open succeeded on a list that cannot be read")
	}
	if fi, err := os.Stat(path); err != nil || !fi.IsDir() {
		t.Errorf("unreadable list was moved or replaced: %v", err)
	}
}

func TestOpenCreatesHome(t *testing.T) {
	home := filepath.Join(t.TempDir(), "not", "yet")
	l := mustOpen(t, home, Options{})
	l.Put(entry("a", StateQueued))
	mustClose(t, l)
	if got := ids(onDisk(t, home)); !slices.Equal(got, []string{"a"}) {
		t.Errorf("on disk %v", got)
	}
}

func TestPutRejectsInvalid(t *testing.T) {
	tests := []struct {
		name string
		e    Entry
	}{
		{"no id", Entry{State: StateQueued}},
		{"no state", Entry{ID: "a"}},
		{"unknown state", Entry{ID: "a", State: "Done"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := mustOpen(t, t.TempDir(), Options{})
			defer mustClose(t, l)
			defer func() {
				if recover() == nil {
					t.Error("Put did not panic")
				}
				if n := len(l.Entries()); n != 0 {
					t.Errorf("invalid entry stored: %d entries", n)
				}
			}()
			l.Put(tt.e)
		})
	}
}

func TestLinkConversion(t *testing.T) {
	l := link.Link{
		URL: "https://h/a", Name: "a", Size: 3, SHA256: strings.Repeat("0", 64),
		Mirrors: []string{"https://m/a"}, Headers: map[string]string{"Cookie": "x"},
	}
	if got := FromLink(l).ToLink(); !reflect.DeepEqual(got, l) {
		t.Errorf("round trip: got %+v, want %+v", got, l)
	}
	// A new field in link.Link must be persisted too, or re-adding a
	// download after a restart silently loses it.
	if a, b := reflect.TypeFor[link.Link]().NumField(), reflect.TypeFor[Link]().NumField(); a != b {
		t.Errorf("link.Link has %d fields, dlist.Link %d", a, b)
	}
}

// TestLinkWithoutURL: an entry for a link without a url (sha256, name and
// size alone) is saved without a url and loads back as the same valid
// link; a file written before url was left out, with "url": "", loads the
// same.
func TestLinkWithoutURL(t *testing.T) {
	want := link.Link{Name: "debian.iso", Size: 3994091520, SHA256: strings.Repeat("5c", 32)}
	e := entry("a", StateDownloading)
	e.Source = want.URI()
	e.Link = FromLink(want)

	home := t.TempDir()
	l := mustOpen(t, home, Options{})
	l.Put(e)
	mustClose(t, l)
	data, err := os.ReadFile(filepath.Join(home, FileName))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data, []byte(`"url"`)) {
		t.Errorf("the file names a url for a link without one:\n%s", data)
	}
	if !bytes.Contains(data, []byte(`"sha256": "`+want.SHA256+`"`)) {
		t.Errorf("the file lacks the sha256:\n%s", data)
	}
	l = mustOpen(t, home, Options{})
	got := l.Entries()
	mustClose(t, l)
	if len(got) != 1 || !reflect.DeepEqual(got[0], e) {
		t.Fatalf("reloaded %+v, want %+v", got, e)
	}
	back := got[0].Link.ToLink()
	if !reflect.DeepEqual(back, want) || back.HasOrigin() {
		t.Fatalf("ToLink = %+v, want %+v", back, want)
	}
	if err := back.Validate(); err != nil {
		t.Fatalf("reloaded link is not valid: %v", err)
	}

	old := `{"version":1,"downloads":[{"id":"a","state":"queued","link":{"url":"","name":"debian.iso","size":3994091520,"sha256":"` + want.SHA256 + `"}}]}`
	es, err := decode([]byte(old))
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 1 || !reflect.DeepEqual(es[0].Link.ToLink(), want) {
		t.Fatalf("decoded %+v, want the link %+v", es, want)
	}

	// A link with a url still writes it.
	out, err := encode([]Entry{entry("b", StateQueued)})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out, []byte(`"url": "https://example.com/b"`)) {
		t.Errorf("the url is not written:\n%s", out)
	}
}

// writeLog records the fake time of every write that reached the disk.
type writeLog struct {
	mu    sync.Mutex
	times []time.Duration
	start time.Time
	fail  error
}

func (w *writeLog) write(path string, data []byte, perm os.FileMode) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fail != nil {
		return w.fail
	}
	w.times = append(w.times, time.Since(w.start))
	return osutil.WriteFileAtomic(path, data, perm)
}

func (w *writeLog) get() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.times)
}

func (w *writeLog) setFail(err error) {
	w.mu.Lock()
	w.fail = err
	w.mu.Unlock()
}

const ms = time.Millisecond

func TestFlusherCoalesces(t *testing.T) {
	every := func(from, to, step time.Duration) []time.Duration {
		var out []time.Duration
		for d := from; d < to; d += step {
			out = append(out, d)
		}
		return out
	}
	tests := []struct {
		name  string
		every time.Duration
		puts  []time.Duration // when each Put happens
		want  []time.Duration // when writes happen
	}{
		{"idle list never writes", 0, nil, nil},
		{"one put, one write after the default period", 0, []time.Duration{0}, []time.Duration{200 * ms}},
		{"a burst is one write", 0, every(0, 150*ms, ms), []time.Duration{200 * ms}},
		{"steady puts written at most once a period", 0, every(5*ms, 1000*ms, 10*ms),
			[]time.Duration{205 * ms, 405 * ms, 605 * ms, 805 * ms, 1005 * ms}},
		{"quiet gap restarts the wait", 0, []time.Duration{0, 500 * ms}, []time.Duration{200 * ms, 700 * ms}},
		{"custom period", 50 * ms, []time.Duration{0, 10 * ms, 120 * ms}, []time.Duration{50 * ms, 170 * ms}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				home := t.TempDir()
				w := &writeLog{start: time.Now()}
				l, err := open(home, Options{FlushEvery: tt.every}, w.write)
				if err != nil {
					t.Fatal(err)
				}
				for i, at := range tt.puts {
					time.Sleep(at - time.Since(w.start))
					e := entry("a", StateDownloading)
					e.Done = int64(i + 1)
					l.Put(e)
				}
				time.Sleep(5 * time.Second)
				synctest.Wait()
				if got := w.get(); !slices.Equal(got, tt.want) {
					t.Errorf("writes at %v, want %v", got, tt.want)
				}
				if len(tt.puts) > 0 {
					if got := onDisk(t, home); len(got) != 1 || got[0].Done != int64(len(tt.puts)) {
						t.Errorf("last write holds %+v, want the last Put", got)
					}
				}
				mustClose(t, l)
				if got := w.get(); len(got) != len(tt.want) {
					t.Errorf("Close of a clean list wrote again: %v", got)
				}
			})
		})
	}
}

func TestFlushAndClose(t *testing.T) {
	tests := []struct {
		name string
		ops  func(l *List) error
		want []time.Duration // write times; every op runs at time 0
	}{
		{"flush writes at once, flusher then finds nothing to do", func(l *List) error {
			l.Put(entry("a", StateQueued))
			return l.Flush()
		}, []time.Duration{0}},
		{"flush of a clean list writes nothing", func(l *List) error {
			return l.Flush()
		}, nil},
		{"close writes what is pending", func(l *List) error {
			l.Put(entry("a", StateQueued))
			return l.Close()
		}, []time.Duration{0}},
		{"close twice", func(l *List) error {
			l.Put(entry("a", StateQueued))
			return errors.Join(l.Close(), l.Close())
		}, []time.Duration{0}},
		{"put after close is written by flush", func(l *List) error {
			err := l.Close()
			l.Put(entry("a", StateQueued))
			return errors.Join(err, l.Flush())
		}, []time.Duration{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// synctest fails the test if the flusher outlives Close.
			synctest.Test(t, func(t *testing.T) {
				w := &writeLog{start: time.Now()}
				l, err := open(t.TempDir(), Options{}, w.write)
				if err != nil {
					t.Fatal(err)
				}
				if err := tt.ops(l); err != nil {
					t.Fatal(err)
				}
				time.Sleep(time.Second)
				synctest.Wait()
				if got := w.get(); !slices.Equal(got, tt.want) {
					t.Errorf("writes at %v, want %v", got, tt.want)
				}
				mustClose(t, l)
			})
		})
	}
}

func TestBackgroundWriteErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		errDisk := errors.New("disk full")
		home := t.TempDir()
		w := &writeLog{start: time.Now(), fail: errDisk}
		var reported []error
		var mu sync.Mutex
		l, err := open(home, Options{OnError: func(err error) {
			mu.Lock()
			reported = append(reported, err)
			mu.Unlock()
		}}, w.write)
		if err != nil {
			t.Fatal(err)
		}

		l.Put(entry("a", StateQueued))
		time.Sleep(time.Second)
		synctest.Wait()
		mu.Lock()
		if len(reported) != 1 || !errors.Is(reported[0], errDisk) {
			t.Errorf("OnError got %v, want one %v", reported, errDisk)
		}
		mu.Unlock()

		// Still failing: Flush retries and reports.
		if err := l.Flush(); !errors.Is(err, errDisk) {
			t.Errorf("Flush while failing = %v, want %v", err, errDisk)
		}
		// Fixed: the retry lands, and the kept background error is
		// still reported once.
		l.Put(entry("b", StateQueued))
		time.Sleep(time.Second) // background write fails, kept again
		w.setFail(nil)
		if err := l.Flush(); !errors.Is(err, errDisk) {
			t.Errorf("Flush after a failed background write = %v, want %v", err, errDisk)
		}
		if got := ids(onDisk(t, home)); !slices.Equal(got, []string{"a", "b"}) {
			t.Errorf("after the retry, on disk %v", got)
		}
		if err := l.Flush(); err != nil {
			t.Errorf("second Flush = %v, want nil: the error was already reported", err)
		}

		// Close returns a kept background error too.
		w.setFail(errDisk)
		l.Put(entry("c", StateQueued))
		time.Sleep(time.Second)
		w.setFail(nil)
		if err := l.Close(); !errors.Is(err, errDisk) {
			t.Errorf("Close = %v, want %v", err, errDisk)
		}
		if got := ids(onDisk(t, home)); !slices.Equal(got, []string{"a", "b", "c"}) {
			t.Errorf("after Close, on disk %v", got)
		}
	})
}

func TestConcurrentPuts(t *testing.T) {
	const writers, puts = 8, 200
	home := t.TempDir()
	l := mustOpen(t, home, Options{FlushEvery: time.Microsecond})
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for i := range puts {
				e := entry(fmt.Sprintf("g%d-%d", g, i%10), StateDownloading)
				e.Done = int64(i)
				l.Put(e)
				l.Get(e.ID)
				if i%50 == 0 {
					l.Entries()
					if err := l.Flush(); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Go(func() {
		for range puts {
			l.Put(entry("x", StateFailed))
			l.ClearFinished()
			l.Remove("y")
		}
	})
	wg.Wait()
	mustClose(t, l)

	es := onDisk(t, home)
	if !reflect.DeepEqual(es, l.Entries()) {
		t.Error("file differs from the list after Close")
	}
	if len(es) != writers*10 {
		t.Fatalf("%d entries, want %d", len(es), writers*10)
	}
	for _, e := range es {
		var g, k int
		fmt.Sscanf(e.ID, "g%d-%d", &g, &k)
		if want := int64(puts - 10 + k); e.Done != want {
			t.Errorf("%s: Done %d, want the last Put's %d", e.ID, e.Done, want)
		}
	}
}

// TestFileAlwaysValid checks the file after every write, background ones
// and Flush alike: it must always load, and after a Flush hold exactly the
// list.
func TestFileAlwaysValid(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		home := t.TempDir()
		var mu sync.Mutex
		var writes int
		check := func(path string, data []byte, perm os.FileMode) error {
			if err := osutil.WriteFileAtomic(path, data, perm); err != nil {
				return err
			}
			mu.Lock()
			writes++
			mu.Unlock()
			// Not onDisk: this runs on the flusher goroutine too.
			if back, err := os.ReadFile(path); err != nil {
				t.Error(err)
			} else if _, err := decode(back); err != nil {
				t.Errorf("written file does not load: %v", err)
			}
			return nil
		}
		l, err := open(home, Options{MaxHistory: 5}, check)
		if err != nil {
			t.Fatal(err)
		}
		defer mustClose(t, l)
		l.Put(entry("first", StatePaused))
		for i := range 200 {
			id := strconv.Itoa(i % 17)
			switch i % 7 {
			case 0:
				l.Remove(strconv.Itoa(i % 5))
			case 1:
				l.ClearFinished()
			case 2, 3:
				l.Put(ended(id, i))
			default:
				e := full(id)
				e.State = StateDownloading
				e.Link.Headers["X-Odd"] = fmt.Sprintf("\"\\\u2028</script>%c", rune(i))
				l.Put(e)
			}
			if i%3 == 0 {
				if err := l.Flush(); err != nil {
					t.Fatal(err)
				}
				if got := onDisk(t, home); !reflect.DeepEqual(got, l.Entries()) && len(got)+len(l.Entries()) > 0 {
					t.Fatalf("after Flush %d the file differs from the list", i)
				}
			}
			time.Sleep(30 * ms)
		}
		mu.Lock()
		defer mu.Unlock()
		if writes <= 67 { // one per Flush, plus background ones
			t.Errorf("only %d writes checked", writes)
		}
	})
}
