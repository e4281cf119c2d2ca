package watch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/dragonload/dragonload/core/link"
)

const (
	testDebounce = 150 * time.Millisecond
	waitLimit    = 5 * time.Second
	hash         = "5c6e0b4e0d3b4c6f2b0a2f1c8e9d7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f"
)

// recorder is a fake engine: it records the jobs handed to start.
type recorder struct {
	jobs chan Job
	mu   sync.Mutex
	err  error // returned by start
}

func newRecorder() *recorder { return &recorder{jobs: make(chan Job, 100)} }

func (r *recorder) start(j Job) error {
	r.jobs <- j
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// next waits for the next started job.
func (r *recorder) next(t *testing.T) Job {
	t.Helper()
	select {
	case j := <-r.jobs:
		return j
	case <-time.After(waitLimit):
		t.Fatal("no download was started")
		return Job{}
	}
}

// none checks that nothing is started for d.
func (r *recorder) none(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case j := <-r.jobs:
		t.Fatalf("unexpected start of %s (%s)", j.Path, j.Link.URL)
	case <-time.After(d):
	}
}

func newWatcher(t *testing.T, dir string, debounce time.Duration) *Watcher {
	t.Helper()
	w, err := New(Options{Dir: dir, Debounce: debounce})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return w
}

// run runs w until the returned stop function or the end of the test.
func run(t *testing.T, w *Watcher, r *recorder) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, r.start) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(waitLimit):
				t.Error("Run did not return after cancel")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeRename writes content to a temporary name and renames it over path,
// as editors and browsers do.
func writeRename(t *testing.T, path, tmpName, content string) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), tmpName)
	write(t, tmp, content)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func linkText(url string) string { return fmt.Sprintf("url = %q\n", url) }

// TestSlowWrites: a link written in several slow pieces, each of which
// leaves a valid link behind, is read once, whole.
func TestSlowWrites(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := newRecorder()
	run(t, newWatcher(t, dir, 400*time.Millisecond), r)

	pieces := []string{
		"url = \"https://example.com/big.iso\"\n",
		"name = \"big.iso\"\n",
		"size = 123456\n",
		"sha256 = \"" + hash + "\"\n",
		"mirrors = [\"https://mirror.example.com/big.iso\"]\n",
	}
	path := filepath.Join(dir, "big.dragon")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pieces {
		if _, err := f.WriteString(p); err != nil {
			t.Fatal(err)
		}
		time.Sleep(40 * time.Millisecond)
	}
	f.Close()

	j := r.next(t)
	want := link.Link{
		URL: "https://example.com/big.iso", Name: "big.iso", Size: 123456, SHA256: hash,
		Mirrors: []string{"https://mirror.example.com/big.iso"},
	}
	if !reflect.DeepEqual(j.Link, want) {
		t.Fatalf("started with %+v, want the complete link %+v", j.Link, want)
	}
	if j.Path != path {
		t.Fatalf("job path %q, want %q", j.Path, path)
	}
	r.none(t, 1200*time.Millisecond)
}

// TestRenameOverSave: saves that replace the file by rename start the new
// version once; a save that changes nothing starts nothing.
func TestRenameOverSave(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := newRecorder()
	run(t, newWatcher(t, dir, testDebounce), r)
	path := filepath.Join(dir, "a.dragon")

	write(t, path, linkText("https://example.com/1"))
	first := r.next(t)

	// Editor writes a hidden temporary file and renames it over the link.
	writeRename(t, path, ".a.dragon.swp", linkText("https://example.com/2"))
	second := r.next(t)
	if second.Link.URL != "https://example.com/2" || second.Key == first.Key {
		t.Fatalf("second start %+v, want the new version with a new key", second)
	}

	// Same bytes saved again: same key, nothing new.
	writeRename(t, path, "a.dragon.tmp", linkText("https://example.com/2"))
	r.none(t, 6*testDebounce)

	// vim-style: move the old file to a backup name, write anew, delete
	// the backup.
	if err := os.Rename(path, path+"~"); err != nil {
		t.Fatal(err)
	}
	write(t, path, linkText("https://example.com/3"))
	if err := os.Remove(path + "~"); err != nil {
		t.Fatal(err)
	}
	if j := r.next(t); j.Link.URL != "https://example.com/3" {
		t.Fatalf("third start %+v, want https://example.com/3", j.Link)
	}
	r.none(t, 6*testDebounce)
}

// TestBusyFolder: a stream of events for other files (the engine writing
// its partial file in the same folder) does not hold up a link.
func TestBusyFolder(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// A long debounce: the flood below leaves no gap that long, so only a
	// settle timer that events do not push back can fire.
	w, err := New(Options{Dir: dir, Debounce: 2 * time.Second, Rescan: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "x.dragon"), linkText("https://example.com/x"))
	r := newRecorder()
	events := make(chan fsnotify.Event)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.loop(ctx, events, nil, func() error { return nil }, r.start) }()
	defer func() {
		cancel()
		<-done
	}()

	partial := fsnotify.Event{Name: filepath.Join(dir, ".big.iso.dlpart"), Op: fsnotify.Write}
	deadline := time.After(waitLimit)
	for {
		select {
		case j := <-r.jobs:
			if j.Link.URL != "https://example.com/x" {
				t.Fatalf("started %s", j.Link.URL)
			}
			return
		case <-deadline:
			t.Fatal("the link was not started while other files kept changing")
		case events <- partial:
			time.Sleep(time.Millisecond)
		}
	}
}

// TestManyAtOnce: twenty links dropped together start twenty downloads.
func TestManyAtOnce(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := newRecorder()
	run(t, newWatcher(t, dir, testDebounce), r)

	const n = 20
	for i := range n {
		writeRename(t, filepath.Join(dir, fmt.Sprintf("f%02d.dragon", i)), fmt.Sprintf(".f%02d.tmp", i),
			linkText(fmt.Sprintf("https://example.com/f%02d", i)))
	}
	seen := make(map[string]bool)
	for range n {
		j := r.next(t)
		if seen[j.Link.URL] {
			t.Fatalf("%s started twice", j.Link.URL)
		}
		seen[j.Link.URL] = true
	}
	r.none(t, 6*testDebounce)
}

// TestMalformed: a bad link gets its note quickly (default debounce), is
// not retried, the watcher keeps working, and fixing the file replaces the
// note with a download.
func TestMalformed(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := newRecorder()
	run(t, newWatcher(t, dir, 0), r)

	bad := filepath.Join(dir, "bad.dragon")
	note := bad + ".error.txt"
	written := time.Now()
	write(t, bad, "url = \"https://example.com/x\"\nsha256 = \"abc\"\n")
	eventually(t, "the error note exists", func() bool { return exists(note) })
	if took := time.Since(written); took > 2*time.Second {
		t.Errorf("error note took %v, want under 2 s", took)
	}
	text, err := os.ReadFile(note)
	if err != nil {
		t.Fatal(err)
	}
	// The kind of problem and its line, not the parser's own words, which
	// may quote the file.
	want := "bad.dragon cannot be used: line 2: sha256 must be 64 hex digits (0-9, a-f).\nFix the link file and save it again to retry.\n"
	if string(text) != want {
		t.Fatalf("note = %q, want %q", text, want)
	}
	noteInfo, _ := os.Stat(note)

	write(t, filepath.Join(dir, "good.dragon"), linkText("https://example.com/good"))
	if j := r.next(t); j.Link.URL != "https://example.com/good" {
		t.Fatalf("started %s, want the good link", j.Link.URL)
	}

	// A touch makes the watcher read the bad link again; it neither
	// retries it nor rewrites its note.
	later := time.Now().Add(time.Second)
	if err := os.Chtimes(bad, later, later); err != nil {
		t.Fatal(err)
	}
	r.none(t, time.Second)
	if fi, err := os.Stat(note); err != nil || !fi.ModTime().Equal(noteInfo.ModTime()) {
		t.Fatalf("note was rewritten or removed: %v", err)
	}

	write(t, bad, "url = \"https://example.com/x\"\nsha256 = \""+hash+"\"\n")
	if j := r.next(t); j.Link.SHA256 != hash {
		t.Fatalf("fixed link started as %+v", j.Link)
	}
	eventually(t, "the old note is removed", func() bool { return !exists(note) })
}

// TestRestart: after a restart, an unfinished link is handed over again
// with the same job; finished and failed ones are not. Deleting a failure
// note retries that link once.
func TestRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := newRecorder()
	w1 := newWatcher(t, dir, testDebounce)
	stop := run(t, w1, r)

	for _, n := range []string{"pending", "done", "failed"} {
		write(t, filepath.Join(dir, n+".dragon"), linkText("https://example.com/"+n))
	}
	jobs := make(map[string]Job)
	for range 3 {
		j := r.next(t)
		jobs[strings.TrimSuffix(filepath.Base(j.Path), ".dragon")] = j
	}
	final := filepath.Join(dir, "done.bin")
	if err := w1.Done(jobs["done"], final); err != nil {
		t.Fatalf("Done: %v", err)
	}
	if err := w1.Failed(jobs["failed"], errors.New("origin answered 404 Not Found.")); err != nil {
		t.Fatalf("Failed: %v", err)
	}
	if exists(jobs["done"].Path) || !exists(filepath.Join(dir, ".dragonload", "done", "done.dragon")) {
		t.Fatal("Done did not move the link file into .dragonload/done")
	}
	note := jobs["failed"].Path + ".error.txt"
	text, err := os.ReadFile(note)
	if err != nil {
		t.Fatalf("Failed wrote no note: %v", err)
	}
	if want := "The download for failed.dragon failed: origin answered 404 Not Found.\nDelete this note to try again.\n"; string(text) != want {
		t.Fatalf("note = %q, want %q", text, want)
	}
	stop()

	w2 := newWatcher(t, dir, testDebounce)
	if p := w2.Pending(); len(p) != 1 || !reflect.DeepEqual(p[0], jobs["pending"]) {
		t.Fatalf("Pending() = %+v, want only %+v", p, jobs["pending"])
	}
	run(t, w2, r)
	if j := r.next(t); !reflect.DeepEqual(j, jobs["pending"]) {
		t.Fatalf("after restart started %+v, want the pending job %+v", j, jobs["pending"])
	}
	r.none(t, 6*testDebounce)

	if err := os.Remove(note); err != nil {
		t.Fatal(err)
	}
	if j := r.next(t); !reflect.DeepEqual(j, jobs["failed"]) {
		t.Fatalf("after the note was deleted started %+v, want the failed job again", j)
	}
	r.none(t, 6*testDebounce)
}

// TestOverflowRescan: after an event overflow the folder is rescanned and
// a link that produced no event is found.
func TestOverflowRescan(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// No periodic rescan during the test, and a fake subscription that
	// always succeeds: only the overflow can make the watcher look.
	w, err := New(Options{Dir: dir, Debounce: testDebounce, Rescan: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	r := newRecorder()
	events := make(chan fsnotify.Event)
	errs := make(chan error)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.loop(ctx, events, errs, func() error { return nil }, r.start) }()
	defer func() {
		cancel()
		<-done
	}()

	// The loop takes events only after its first scan, so once this is
	// received the link below can only be found by another scan.
	events <- fsnotify.Event{Name: filepath.Join(dir, "ignored.txt"), Op: fsnotify.Create}
	write(t, filepath.Join(dir, "quiet.dragon"), linkText("https://example.com/quiet"))
	r.none(t, 6*testDebounce)

	errs <- fsnotify.ErrEventOverflow
	if j := r.next(t); j.Link.URL != "https://example.com/quiet" {
		t.Fatalf("started %s after the rescan", j.Link.URL)
	}
}

// TestIgnored: hidden files, partial downloads, notes, folders and empty
// files start nothing and get no notes.
func TestIgnored(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := newRecorder()
	run(t, newWatcher(t, dir, testDebounce), r)

	names := []string{
		".hidden.dragon", ".x.dlpart", ".x.dlpart.journal", "x.dragon.part", "x.dragon.crdownload",
		"x.dragon.tmp", "x.dragon.download", "x.dragon~", ".x.dragon.swp", "y.dragon.error.txt", "notes.txt",
	}
	for _, n := range names {
		write(t, filepath.Join(dir, n), linkText("https://example.com/"+n))
	}
	if err := os.Mkdir(filepath.Join(dir, "folder.dragon"), 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "empty.dragon"), "")
	write(t, filepath.Join(dir, stateDir, "inside.dragon"), linkText("https://example.com/inside"))
	r.none(t, 8*testDebounce)

	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, de := range des {
		if strings.HasSuffix(de.Name(), noteExt) && de.Name() != "y.dragon.error.txt" {
			t.Errorf("unexpected note %s", de.Name())
		}
	}
	// The empty file is picked up once it is filled in.
	write(t, filepath.Join(dir, "empty.dragon"), linkText("https://example.com/filled"))
	if j := r.next(t); j.Link.URL != "https://example.com/filled" {
		t.Fatalf("started %s", j.Link.URL)
	}
}

func TestEligible(t *testing.T) {
	t.Parallel()
	cases := map[string]bool{
		"a.dragon": true, "A.DRAGON": true, "my link.Dragon": true,
		"": false, ".a.dragon": false, ".dragonload": false, "a.dragon.error.txt": false,
		".a.dlpart": false, ".a.dlpart.journal": false, "a.dragon.part": false, "a.dragon.crdownload": false,
		"a.dragon.tmp": false, "a.dragon.download": false, "a.dragon~": false, ".a.dragon.swp": false,
		"a.dragonx": false, "dragon": false,
	}
	for name, want := range cases {
		if got := eligible(name); got != want {
			t.Errorf("eligible(%q) = %v, want %v", name, got, want)
		}
	}
}

// TestStartError: a link the engine refuses is failed with a note, once.
func TestStartError(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := newRecorder()
	r.err = errors.New("the output folder is not writable")
	run(t, newWatcher(t, dir, testDebounce), r)

	path := filepath.Join(dir, "x.dragon")
	write(t, path, linkText("https://example.com/x"))
	r.next(t)
	eventually(t, "the error note exists", func() bool { return exists(path + noteExt) })
	r.none(t, 6*testDebounce)
}

// TestDoneAfterEdit: when the link file was replaced while its download
// ran, Done records the old version but leaves the new file in place.
func TestDoneAfterEdit(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := newRecorder()
	w := newWatcher(t, dir, testDebounce)
	run(t, w, r)

	path := filepath.Join(dir, "x.dragon")
	write(t, path, linkText("https://example.com/1"))
	old := r.next(t)
	write(t, path, linkText("https://example.com/2"))
	cur := r.next(t)
	if err := w.Done(old, filepath.Join(dir, "1")); err != nil {
		t.Fatalf("Done: %v", err)
	}
	if err := w.Failed(old, errors.New("late failure")); err != nil {
		t.Fatalf("Failed: %v", err)
	}
	if !exists(path) || exists(path+noteExt) {
		t.Fatal("Done or Failed for an old version touched the new link file")
	}
	if err := w.Done(cur, filepath.Join(dir, "2")); err != nil {
		t.Fatalf("Done: %v", err)
	}
	if exists(path) {
		t.Fatal("Done did not move the current link file")
	}
	if err := w.Done(Job{Path: "/elsewhere/x.dragon", Key: cur.Key}, ""); err == nil {
		t.Fatal("Done accepted a job from another folder")
	}
}

// TestDoneTwice: the same link file dropped in again after it was
// downloaded is moved away without a second download.
func TestDoneTwice(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := newRecorder()
	w := newWatcher(t, dir, testDebounce)
	run(t, w, r)

	path := filepath.Join(dir, "x.dragon")
	write(t, path, linkText("https://example.com/1"))
	if err := w.Done(r.next(t), filepath.Join(dir, "1")); err != nil {
		t.Fatalf("Done: %v", err)
	}
	write(t, path, linkText("https://example.com/1"))
	eventually(t, "the repeated link is moved away", func() bool {
		return !exists(path) && exists(filepath.Join(dir, stateDir, "done", "x (2).dragon"))
	})
	r.none(t, 3*testDebounce)
}

// TestOneWatcherPerFolder: a second watcher on the same folder refuses to
// run rather than download everything twice.
func TestOneWatcherPerFolder(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := newRecorder()
	run(t, newWatcher(t, dir, testDebounce), r)
	write(t, filepath.Join(dir, "x.dragon"), linkText("https://example.com/x"))
	r.next(t) // the first watcher is up and holds the lock

	err := newWatcher(t, dir, testDebounce).Run(context.Background(), r.start)
	if err == nil || !strings.Contains(err.Error(), "already watched") {
		t.Fatalf("second Run = %v, want an already-watched error", err)
	}
}

// TestDamagedState: a state file that cannot be read is moved aside and
// the watcher starts afresh.
func TestDamagedState(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, stateDir), 0o700); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, stateDir, "state.json"), "{not json")
	w := newWatcher(t, dir, testDebounce)
	if p := w.Pending(); len(p) != 0 {
		t.Fatalf("Pending() = %v, want none", p)
	}
	matches, _ := filepath.Glob(filepath.Join(dir, stateDir, "state.json.damaged-*"))
	if len(matches) != 1 {
		t.Fatalf("damaged state moved aside as %v, want one file", matches)
	}
}

// TestStateFile checks what is persisted for a started link.
func TestStateFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := newRecorder()
	run(t, newWatcher(t, dir, testDebounce), r)
	write(t, filepath.Join(dir, "x.dragon"), linkText("https://example.com/x"))
	j := r.next(t)

	data, err := os.ReadFile(filepath.Join(dir, stateDir, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	var sf stateFile
	if err := json.Unmarshal(data, &sf); err != nil {
		t.Fatal(err)
	}
	e := sf.Links[j.Key]
	if sf.Version != 1 || e == nil || e.Name != "x.dragon" || e.State != stateStarted || e.Link != j.Link.URI() {
		t.Fatalf("state file holds %s", data)
	}
}
