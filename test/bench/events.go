package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"
)

// timeline is what the requester's events file says about one download:
// when each byte became durable, and who fetched how much.
type timeline struct {
	start  time.Time         // first event of any kind
	size   int64             // -1 until known
	points []point           // cumulative durable bytes from chunk landings, in time order
	done   bool              // a DownloadStateChanged to "done" was seen
	shares map[string]int64  // bytes by participant: node id, or "self"
	addrs  map[string]string // node id → address, from PeerReady events
	ready  time.Time         // the first PeerReady event
	via    string            // how that peer was found (core.PeerInfo.Source)
	names  map[string]string // node id → display name, from progress reports
	copied int64             // bytes from LAN copies, as the last progress report with peers has them
	notes  []notice          // every Notice, in order

	chunked  int64   // bytes from ChunkLanded events so far
	progress []point // durable bytes from DownloadProgress reports
}

type point struct {
	t    time.Time
	done int64
}

// notice is one core.Notice of the events file.
type notice struct {
	t     time.Time
	level string
	text  string
}

// Notice texts the bench looks for (core/transfer/gain.go): every lender
// shares the requester's internet link, or one of them does.
const (
	noticeNotHelping = "pooling isn't helping"
	noticeSharesLink = "seems to share"
)

// event is the part of an events-file line the bench reads. Every engine
// event is one JSON object with "t" and "type" and the event's own fields.
type event struct {
	T      time.Time       `json:"t"`
	Type   string          `json:"type"`
	Size   int64           `json:"Size"`
	Done   int64           `json:"Done"`
	Length int64           `json:"Length"`
	Peer   json.RawMessage `json:"Peer"` // a node id, or a PeerInfo object
	State  json.RawMessage `json:"State"`
	Peers  []struct {
		Peer  string `json:"Peer"`
		Name  string `json:"Name"`
		Bytes int64  `json:"Bytes"`
		Copy  bool   `json:"Copy"` // bytes read from the member's copy on the LAN
	} `json:"Peers"`
	Level string `json:"Level"` // a Notice's
	Text  string `json:"Text"`
}

// stateDone is core.StateDone as the events file writes it (a number; a
// name is accepted too, should State ever marshal as text).
const stateDone = 5

func newTimeline() *timeline {
	return &timeline{size: -1, shares: map[string]int64{}, addrs: map[string]string{}, names: map[string]string{}}
}

// readTimeline parses a whole events file.
func readTimeline(path string) (*timeline, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read the events: %w", err)
	}
	defer f.Close()
	tl := newTimeline()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		if err := tl.add(sc.Bytes()); err != nil {
			return nil, err
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("cannot read the events: %w", err)
	}
	return tl, nil
}

// add takes one line of the events file.
func (tl *timeline) add(line []byte) error {
	line = bytes.TrimSpace(line)
	if len(line) == 0 {
		return nil
	}
	var ev event
	if err := json.Unmarshal(line, &ev); err != nil {
		return fmt.Errorf("events line %.80q is not JSON: %w", line, err)
	}
	if ev.T.IsZero() {
		return fmt.Errorf("events line %.80q has no time", line)
	}
	if tl.start.IsZero() {
		tl.start = ev.T
	}
	switch ev.Type {
	case "ChunkLanded":
		tl.chunked += ev.Length
		tl.points = append(tl.points, point{ev.T, tl.chunked})
	case "DownloadProgress":
		if ev.Size > 0 {
			tl.size = ev.Size
		}
		tl.progress = append(tl.progress, point{ev.T, ev.Done})
		if len(ev.Peers) > 0 {
			clear(tl.shares)
			tl.copied = 0
			for _, p := range ev.Peers {
				tl.shares[p.Peer] += p.Bytes
				if p.Name != "" {
					tl.names[p.Peer] = p.Name
				}
				if p.Copy {
					tl.copied += p.Bytes
				}
			}
		}
	case "Notice":
		tl.notes = append(tl.notes, notice{ev.T, ev.Level, ev.Text})
	case "PeerReady":
		var info struct{ ID, Addr, Source string }
		if json.Unmarshal(ev.Peer, &info) == nil && info.ID != "" {
			tl.addrs[info.ID] = info.Addr
			if tl.ready.IsZero() {
				tl.ready, tl.via = ev.T, info.Source
			}
		}
	case "DownloadStateChanged":
		var n int
		var s string
		if json.Unmarshal(ev.State, &n) == nil && n == stateDone || json.Unmarshal(ev.State, &s) == nil && s == "done" {
			tl.done = true
		}
	}
	return nil
}

// firstNotice is the first notice whose text contains any of subs.
func (tl *timeline) firstNotice(subs ...string) (notice, bool) {
	for _, n := range tl.notes {
		for _, s := range subs {
			if strings.Contains(n.text, s) {
				return n, true
			}
		}
	}
	return notice{}, false
}

// sharedLink lists, once each, the notices saying lenders share the
// requester's internet link.
func (tl *timeline) sharedLink() []string {
	var out []string
	for _, n := range tl.notes {
		if (strings.Contains(n.text, noticeNotHelping) || strings.Contains(n.text, noticeSharesLink)) && !slices.Contains(out, n.text) {
			out = append(out, n.text)
		}
	}
	return out
}

// series is the best record of durable bytes over time: chunk landings
// (never dropped, but published in bursts at journal commits) merged with
// progress reports (about ten a second, but may be dropped), each point
// holding the most either source had reported by then.
func (tl *timeline) series() []point {
	merged := make([]point, 0, len(tl.points)+len(tl.progress))
	i, j := 0, 0
	var most int64
	for i < len(tl.points) || j < len(tl.progress) {
		var p point
		if j >= len(tl.progress) || i < len(tl.points) && tl.points[i].t.Before(tl.progress[j].t) {
			p, i = tl.points[i], i+1
		} else {
			p, j = tl.progress[j], j+1
		}
		most = max(most, p.done)
		merged = append(merged, point{p.t, most})
	}
	return merged
}

// span is when the first byte and the whole file were durable.
func (tl *timeline) span() (first, full time.Time, ok bool) {
	for _, p := range tl.series() {
		if p.done > 0 && first.IsZero() {
			first = p.t
		}
		if tl.size > 0 && p.done >= tl.size {
			return first, p.t, true
		}
	}
	return first, full, false
}

// fraction is the share of the file durable so far, 0 while unknown.
func (tl *timeline) fraction() float64 {
	s := tl.series()
	if tl.size <= 0 || len(s) == 0 {
		return 0
	}
	return float64(s[len(s)-1].done) / float64(tl.size)
}

// tail compares the time the last 1% of the bytes took with the median
// time of a 1% step. Step k ends at t(k), when k% of the file is durable
// (interpolated between reports); t(0) is the first event. Reports come in
// bursts, so a single step in mid-file is often zero: the median is taken
// over ten-step windows, (t(k+5) - t(k-5)) / 10 for k = 5..95, while the
// last step is t(100) - t(99) as it is.
type tail struct {
	Last, Median time.Duration
}

// Ratio is Last / Median, 0 when there is no median.
func (t tail) Ratio() float64 {
	if t.Median <= 0 {
		return 0
	}
	return float64(t.Last) / float64(t.Median)
}

func (tl *timeline) tail() (tail, error) {
	s := tl.series()
	if tl.size <= 0 || len(s) == 0 {
		return tail{}, fmt.Errorf("the events hold no progress with a known size")
	}
	if s[len(s)-1].done < tl.size {
		return tail{}, fmt.Errorf("the events end at %d of %d bytes", s[len(s)-1].done, tl.size)
	}
	at := []time.Time{tl.start}
	j := 0
	for k := 1; k <= 100; k++ {
		target := tl.size * int64(k) / 100
		for s[j].done < target {
			j++
		}
		t := s[j].t
		if j > 0 && s[j-1].done < target {
			a, b := s[j-1], s[j]
			frac := float64(target-a.done) / float64(b.done-a.done)
			t = a.t.Add(time.Duration(frac * float64(b.t.Sub(a.t))))
		}
		if prev := at[len(at)-1]; t.Before(prev) {
			t = prev
		}
		at = append(at, t)
	}
	var windows []time.Duration
	for k := 5; k <= 95; k++ {
		windows = append(windows, at[k+5].Sub(at[k-5])/10)
	}
	slices.Sort(windows)
	return tail{Last: at[100].Sub(at[99]), Median: windows[len(windows)/2]}, nil
}

// follower reads an events file while the requester still writes it.
type follower struct {
	path    string
	off     int64
	partial []byte
	tl      *timeline
}

func newFollower(path string) *follower { return &follower{path: path, tl: newTimeline()} }

// poll reads whatever complete lines were appended since the last call.
func (f *follower) poll() error {
	file, err := os.Open(f.path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cannot read the events: %w", err)
	}
	defer file.Close()
	if _, err := file.Seek(f.off, io.SeekStart); err != nil {
		return fmt.Errorf("cannot read the events: %w", err)
	}
	data, err := io.ReadAll(io.LimitReader(file, 64<<20))
	if err != nil {
		return fmt.Errorf("cannot read the events: %w", err)
	}
	f.off += int64(len(data))
	data = append(f.partial, data...)
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		if err := f.tl.add(data[:i]); err != nil {
			return err
		}
		data = data[i+1:]
	}
	f.partial = append([]byte(nil), data...)
	return nil
}
