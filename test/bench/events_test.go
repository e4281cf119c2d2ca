package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2025, 11, 21, 12, 0, 0, 0, time.UTC)

// line renders one events-file line the way `dragonload get --events` does.
func line(t *testing.T, at time.Duration, typ string, fields map[string]any) string {
	t.Helper()
	m := map[string]any{"t": t0.Add(at).Format(time.RFC3339Nano), "type": typ}
	for k, v := range fields {
		m[k] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b) + "\n"
}

func timelineOf(t *testing.T, lines ...string) *timeline {
	t.Helper()
	tl := newTimeline()
	for _, l := range lines {
		if err := tl.add([]byte(l)); err != nil {
			t.Fatal(err)
		}
	}
	return tl
}

func TestTail(t *testing.T) {
	const size = 1000
	// Chunks of 30 bytes every 300 ms (1% per 100 ms), then a last chunk of
	// 10 bytes a whole second after the one before it.
	var chunks []string
	chunks = append(chunks, line(t, 0, "DownloadAdded", nil))
	at := time.Duration(0)
	for off := 0; off < 990; off += 30 {
		at += 300 * time.Millisecond
		chunks = append(chunks, line(t, at, "ChunkLanded", map[string]any{"Offset": off, "Length": 30, "Peer": "self"}))
	}
	chunks = append(chunks,
		line(t, at+500*time.Millisecond, "DownloadProgress", map[string]any{"Size": size, "Done": 990}),
		line(t, at+time.Second, "ChunkLanded", map[string]any{"Offset": 990, "Length": 10, "Peer": "x"}))
	// The same download reported by progress events only, every 100 ms at
	// 1% each, with a slow last 1%.
	var progress []string
	for k := 1; k <= 99; k++ {
		progress = append(progress, line(t, time.Duration(k)*100*time.Millisecond, "DownloadProgress", map[string]any{"Size": size, "Done": 10 * k}))
	}
	progress = append(progress, line(t, 9900*time.Millisecond+3*time.Second, "DownloadProgress", map[string]any{"Size": size, "Done": size}))

	// Bursts: 5% lands at once every 500 ms, the last 5% after 2 s.
	var bursts []string
	bursts = append(bursts, line(t, 0, "DownloadProgress", map[string]any{"Size": size, "Done": 0}))
	for k := 1; k <= 19; k++ {
		for c := 0; c < 5; c++ {
			bursts = append(bursts, line(t, time.Duration(k)*500*time.Millisecond, "ChunkLanded", map[string]any{"Length": 10}))
		}
	}
	bursts = append(bursts, line(t, 9500*time.Millisecond+2*time.Second, "ChunkLanded", map[string]any{"Length": 50}))

	cases := []struct {
		name         string
		lines        []string
		last, median time.Duration
	}{
		{"chunk landings", chunks, time.Second, 100 * time.Millisecond},
		{"progress only", progress, 3 * time.Second, 100 * time.Millisecond},
		{"bursts", bursts, 400 * time.Millisecond, 100 * time.Millisecond},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tl := timelineOf(t, c.lines...)
			tail, err := tl.tail()
			if err != nil {
				t.Fatal(err)
			}
			if !near(tail.Last, c.last) || !near(tail.Median, c.median) {
				t.Fatalf("tail = last %v, median %v; want %v, %v", tail.Last, tail.Median, c.last, c.median)
			}
			if want := float64(c.last) / float64(c.median); tail.Ratio() < want*0.99 || tail.Ratio() > want*1.01 {
				t.Fatalf("ratio %.3f, want %.3f", tail.Ratio(), want)
			}
		})
	}
}

func near(a, b time.Duration) bool {
	d := a - b
	return d > -time.Millisecond && d < time.Millisecond
}

func TestTailIncomplete(t *testing.T) {
	cases := []struct {
		name  string
		lines []string
	}{
		{"no events", nil},
		{"size unknown", []string{line(t, 0, "ChunkLanded", map[string]any{"Length": 10})}},
		{"short", []string{line(t, 0, "DownloadProgress", map[string]any{"Size": 100, "Done": 99})}},
	}
	for _, c := range cases {
		if _, err := timelineOf(t, c.lines...).tail(); err == nil {
			t.Errorf("%s: tail succeeded, want an error", c.name)
		}
	}
}

func TestTimelineFields(t *testing.T) {
	tl := timelineOf(t,
		line(t, 0, "PeerSeen", map[string]any{"Peer": map[string]any{"Addr": "10.77.0.2:4700", "Source": "mdns"}}),
		line(t, 300*time.Millisecond, "PeerReady", map[string]any{"Peer": map[string]any{"ID": "abc", "Addr": "10.77.0.2:4700", "Source": "mdns", "Ready": true}}),
		line(t, 400*time.Millisecond, "PeerReady", map[string]any{"Peer": map[string]any{"ID": "def", "Addr": "10.77.0.3:4700", "Source": "manual", "Ready": true}}),
		line(t, time.Second, "ChunkLanded", map[string]any{"Length": 50, "Peer": "abc"}),
		line(t, time.Second, "DownloadProgress", map[string]any{"Size": 200, "Done": 50,
			"Peers": []map[string]any{{"Peer": "self", "Bytes": 0}, {"Peer": "abc", "Bytes": 50}}}),
		line(t, 2*time.Second, "DownloadStateChanged", map[string]any{"State": 5, "Path": "/x"}),
	)
	if tl.addrs["abc"] != "10.77.0.2:4700" || tl.addrs["def"] != "10.77.0.3:4700" {
		t.Errorf("addrs = %v", tl.addrs)
	}
	if !tl.ready.Equal(t0.Add(300*time.Millisecond)) || tl.via != "mdns" {
		t.Errorf("first ready peer at %v by %q, want the first PeerReady, by mdns", tl.ready.Sub(t0), tl.via)
	}
	if tl.shares["abc"] != 50 || tl.shares["self"] != 0 {
		t.Errorf("shares = %v", tl.shares)
	}
	if tl.fraction() != 0.25 {
		t.Errorf("fraction = %v, want 0.25", tl.fraction())
	}
	if !tl.done {
		t.Error("the done state was not seen")
	}
	for _, bad := range []string{"{", `{"type":"ChunkLanded"}`, `[1,2]`} {
		if err := newTimeline().add([]byte(bad)); err == nil {
			t.Errorf("add(%q) succeeded, want an error", bad)
		}
	}
}

func TestFollower(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.jsonl")
	f := newFollower(path)
	if err := f.poll(); err != nil { // not written yet
		t.Fatal(err)
	}
	full := line(t, 0, "DownloadProgress", map[string]any{"Size": 100, "Done": 40})
	next := line(t, time.Second, "DownloadProgress", map[string]any{"Size": 100, "Done": 80})
	file, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	steps := []struct {
		write string
		want  float64
	}{
		{full + next[:10], 0.4}, // half a line waits for the rest
		{next[10:], 0.8},
		{"", 0.8},
	}
	for i, s := range steps {
		if _, err := file.WriteString(s.write); err != nil {
			t.Fatal(err)
		}
		if err := f.poll(); err != nil {
			t.Fatal(err)
		}
		if got := f.tl.fraction(); got != s.want {
			t.Fatalf("step %d: fraction %v, want %v", i, got, s.want)
		}
	}
}

func TestPhasedIdeal(t *testing.T) {
	const mib = 1 << 20
	cases := []struct {
		name  string
		ends  []float64
		rates []float64
		want  time.Duration
	}{
		{"one phase", []float64{1}, []float64{8 * mib}, time.Second},
		{"two phases", []float64{0.5, 1}, []float64{8 * mib, 4 * mib}, 1500 * time.Millisecond},
		{"unknown rate", []float64{1}, []float64{0}, 0},
	}
	for _, c := range cases {
		if got := phasedIdeal(mib, c.ends, c.rates); !near(got, c.want) {
			t.Errorf("%s: phasedIdeal = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestSlug(t *testing.T) {
	for in, want := range map[string]string{
		"a: N=4": "a-n-4",
		"c: churn (h4 joins at 25%, h2 killed at 50%)": "c-churn-h4-joins-at-25-h2-killed-at-50",
	} {
		if got := slug(in); got != want {
			t.Errorf("slug(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRoomCode(t *testing.T) {
	a, b := roomCode(), roomCode()
	if a == b || len(a) != 23 || strings.Count(a, "-") != 3 {
		t.Fatalf("room codes %q, %q", a, b)
	}
	for _, c := range strings.ReplaceAll(a, "-", "") {
		if !strings.ContainsRune("0123456789abcdefghjkmnpqrstvwxyz", c) {
			t.Fatalf("room code %q has %q", a, c)
		}
	}
}

func TestSpan(t *testing.T) {
	tl := timelineOf(t,
		line(t, 0, "DownloadAdded", nil),
		line(t, time.Second, "DownloadProgress", map[string]any{"Size": 100, "Done": 0}),
		line(t, 2*time.Second, "ChunkLanded", map[string]any{"Length": 60}),
		line(t, 3*time.Second, "DownloadProgress", map[string]any{"Size": 100, "Done": 100}),
		line(t, 4*time.Second, "ChunkLanded", map[string]any{"Length": 40}),
	)
	first, full, ok := tl.span()
	if !ok || !first.Equal(t0.Add(2*time.Second)) || !full.Equal(t0.Add(3*time.Second)) {
		t.Fatalf("span = %v, %v, %v", first, full, ok)
	}
	if _, _, ok := timelineOf(t, line(t, 0, "DownloadProgress", map[string]any{"Size": 100, "Done": 50})).span(); ok {
		t.Fatal("span of an unfinished download succeeded")
	}
}

func TestCopiesAndNotices(t *testing.T) {
	tl := timelineOf(t,
		line(t, 0, "DownloadAdded", nil),
		line(t, time.Second, "DownloadProgress", map[string]any{"Size": 100, "Done": 30,
			"Peers": []map[string]any{{"Peer": "self", "Bytes": 10}, {"Peer": "copy:abc", "Name": "h2", "Bytes": 20, "Copy": true}}}),
		line(t, 2*time.Second, "Notice", map[string]any{"Level": "info", "Download": "d1", "Text": "h3 seems to share this machine's internet link: not fetching through it"}),
		line(t, 3*time.Second, "Notice", map[string]any{"Level": "warn", "Download": "d1", "Text": "the server sent a weak validator"}),
		line(t, 4*time.Second, "Notice", map[string]any{"Level": "info", "Download": "d1", "Text": "pooling isn't helping: these machines seem to share one internet link"}),
		line(t, 5*time.Second, "Notice", map[string]any{"Level": "info", "Download": "d1", "Text": "pooling isn't helping: these machines seem to share one internet link"}),
		// The last report with peers counts: the copy grew, a lender came.
		line(t, 6*time.Second, "DownloadProgress", map[string]any{"Size": 100, "Done": 100,
			"Peers": []map[string]any{{"Peer": "self", "Bytes": 10}, {"Peer": "copy:abc", "Name": "h2", "Bytes": 80, "Copy": true},
				{"Peer": "abc", "Name": "h2", "Bytes": 10}}}),
		line(t, 7*time.Second, "DownloadProgress", map[string]any{"Size": 100, "Done": 100}),
	)
	if tl.copied != 80 {
		t.Errorf("copied = %d, want 80", tl.copied)
	}
	if tl.shares["copy:abc"] != 80 || tl.shares["abc"] != 10 || tl.names["copy:abc"] != "h2" {
		t.Errorf("shares = %v, names = %v", tl.shares, tl.names)
	}
	if len(tl.notes) != 4 || tl.notes[1].level != "warn" {
		t.Fatalf("notes = %v", tl.notes)
	}
	n, ok := tl.firstNotice(noticeNotHelping)
	if !ok || !n.t.Equal(t0.Add(4*time.Second)) {
		t.Errorf("first %q = %v, %v", noticeNotHelping, n, ok)
	}
	n, ok = tl.firstNotice(noticeNotHelping, noticeSharesLink)
	if !ok || !n.t.Equal(t0.Add(2*time.Second)) {
		t.Errorf("first shared-link notice = %v, %v", n, ok)
	}
	if got := tl.sharedLink(); len(got) != 2 || !strings.HasPrefix(got[0], "h3 seems") || !strings.HasPrefix(got[1], "pooling") {
		t.Errorf("sharedLink = %q", got)
	}
	if _, ok := timelineOf(t, line(t, 0, "Notice", map[string]any{"Text": "other"})).firstNotice(noticeNotHelping); ok {
		t.Error("firstNotice found a notice that is not there")
	}
	if got := timelineOf(t, line(t, 0, "Notice", map[string]any{"Text": "other"})).sharedLink(); got != nil {
		t.Errorf("sharedLink without one = %q", got)
	}
}
