package core

import (
	"testing"
	"time"

	testorigin "github.com/dragonload/dragonload/test/origin"
)

// TestResumeRace: Resume of a running download must read the download's
// cancel function under its lock, because run() clears it when the download
// ends. Run with -race: the race detector reports the unlocked read.
//
// The Resume call runs on a goroutine that synchronises with nothing after
// it: anything that orders it before the end of the download (waiting for
// it, or reading the event stream on the same goroutine) would also hide the
// race from the detector.
func TestResumeRace(t *testing.T) {
	const size = 2 << 20
	o := testorigin.New(testorigin.Config{Size: size, Seed: 1, RatePerSource: 2 << 20})
	if err := o.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	off := false
	e, err := New(Config{
		Home: t.TempDir(), Room: "test7-k3m9p-x7q2a-h4w8t", Listen: "127.0.0.1:0",
		NoMDNS: true, AllowPrivate: true, OutDir: t.TempDir(), Lending: &off,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	events, cancel := e.Subscribe()
	defer cancel()
	id, err := e.Add(o.URL(), "")
	if err != nil {
		t.Fatal(err)
	}

	var resumed chan error // the Resume call's answer, once it was made
	deadline := time.After(time.Minute)
	for {
		select {
		case ev := <-events:
			sc, ok := ev.(DownloadStateChanged)
			if !ok || sc.ID != id {
				continue
			}
			if sc.State == StateDownloading && resumed == nil {
				resumed = make(chan error, 1)
				go func() { resumed <- e.Resume(id) }()
			}
			if !sc.State.Final() {
				continue
			}
			if sc.State != StateDone {
				t.Fatalf("download ended %v: %v", sc.State, sc.Err)
			}
			if resumed == nil {
				t.Fatal("the download never reported downloading")
			}
			// An error means Resume ran only after the download ended,
			// when there was no race to find: the origin must be slower.
			if err := <-resumed; err != nil {
				t.Fatalf("Resume of the running download: %v", err)
			}
			return
		case <-deadline:
			t.Fatal("the download did not finish")
		}
	}
}
