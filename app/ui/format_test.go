package ui

import (
	"testing"
	"time"

	"github.com/dragonload/dragonload/core"
	"github.com/dragonload/dragonload/core/index"
)

func TestEtaText(t *testing.T) {
	cases := []struct {
		d    time.Duration
		want string
	}{
		{0, ""},
		{-time.Second, ""},
		{400 * time.Millisecond, ""},
		{time.Second, "1s left"},
		{59 * time.Second, "59s left"},
		{61 * time.Second, "1m 01s left"},
		{time.Hour + 2*time.Minute + 3*time.Second, "1h 02m left"},
		{200 * time.Hour, "more than 4 days left"},
	}
	for _, tc := range cases {
		if got := etaText(tc.d); got != tc.want {
			t.Errorf("etaText(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

func TestStateText(t *testing.T) {
	for s := core.StateQueued; s <= core.StateCanceled; s++ {
		if got := stateText(s); got == "" || got == s.String() {
			t.Errorf("stateText(%v) = %q, want a capitalised word", s, got)
		}
	}
	if got := stateText(core.State(42)); got != "state(42)" {
		t.Errorf("stateText(42) = %q", got)
	}
}

func TestShareText(t *testing.T) {
	cases := []struct {
		name  string
		peers []core.PeerShare
		limit int
		want  string
	}{
		{"none", nil, 3, ""},
		{"nothing yet", []core.PeerShare{{Peer: "self"}}, 3, ""},
		{"sorted", []core.PeerShare{
			{Peer: core.SelfPeer, Bytes: 25},
			{Peer: "AAAAAAAAAAAA", Name: "attic", Bytes: 50},
			{Peer: "BBBBBBBBBBBBBB", Bytes: 25},
		}, 3, "attic 50% · this machine 25% · BBBBBBBB 25%"},
		{"others summed", []core.PeerShare{
			{Peer: "a", Name: "a", Bytes: 40},
			{Peer: "b", Name: "b", Bytes: 30},
			{Peer: "c", Name: "c", Bytes: 20},
			{Peer: "d", Name: "d", Bytes: 10},
		}, 2, "a 40% · b 30% · others 30%"},
	}
	for _, tc := range cases {
		if got := shareText(tc.peers, tc.limit); got != tc.want {
			t.Errorf("%s: shareText = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestProgressText(t *testing.T) {
	cases := []struct {
		name  string
		size  int64
		done  int64
		rate  float64
		eta   time.Duration
		state core.State
		want  string
	}{
		{"queued unknown", -1, 0, 0, 0, core.StateQueued, "waiting for a free slot"},
		{"probing", -1, 0, 0, 0, core.StateProbing, "asking the origin about the file"},
		{"verifying", 100, 100, 0, 0, core.StateVerifying, "100% · 100 B of 100 B · checking the whole file"},
		{"downloading", 100_000_000, 25_000_000, 5_000_000, 15 * time.Second, core.StateDownloading, "25% · 25.0 MB of 100 MB · 5.00 MB/s · 15s left"},
		{"downloading unknown size", -1, 2_000, 0, 0, core.StateDownloading, "2.00 kB · –"},
		{"paused", 100, 50, 0, 0, core.StatePaused, "50% · 50 B of 100 B"},
		{"done", 4_700_000_000, 4_700_000_000, 0, 0, core.StateDone, "4.70 GB"},
	}
	for _, tc := range cases {
		if got := progressText(tc.size, tc.done, tc.rate, tc.eta, tc.state, time.Time{}); got != tc.want {
			t.Errorf("%s: progressText = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestProgressTextWaiting: while the server asked to wait, the row says
// until when instead of a rate of zero.
func TestProgressTextWaiting(t *testing.T) {
	today := time.Now()
	later := time.Date(2100, 1, 1, 12, 0, 0, 0, time.Local)
	cases := []struct {
		state core.State
		wait  time.Time
		want  string
	}{
		{core.StateDownloading, today, "50% · 50 B of 100 B · waiting for the server until " + today.Format("15:04")},
		{core.StateProbing, later, "50% · 50 B of 100 B · asking the origin about the file · waiting for the server until 2100-01-01 12:00"},
		{core.StatePaused, today, "50% · 50 B of 100 B"},
	}
	for _, tc := range cases {
		if got := progressText(100, 50, 0, 0, tc.state, tc.wait); got != tc.want {
			t.Errorf("%v: progressText = %q, want %q", tc.state, got, tc.want)
		}
	}
}

func TestFinishedText(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		name         string
		size         int64
		added, ended time.Time
		want         string
	}{
		{"whole", 210_000_000, t0, t0.Add(200 * time.Second), "210 MB · took 3m 20s · 1.05 MB/s average"},
		{"an hour", 4_700_000_000, t0, t0.Add(time.Hour + 5*time.Minute), "4.70 GB · took 1h 05m · 1.21 MB/s average"},
		{"days", 1_000, t0, t0.Add(50 * time.Hour), "1.00 kB · took 2 days 2h"},
		{"instant", 1_000, t0, t0.Add(300 * time.Millisecond), "1.00 kB · took under a second"},
		{"no times", 1_000, time.Time{}, time.Time{}, "1.00 kB"},
		{"clock went back", 1_000, t0, t0.Add(-time.Second), "1.00 kB"},
		{"unknown size", -1, t0, t0.Add(5 * time.Second), "took 5s"},
	}
	for _, tc := range cases {
		if got := finishedText(tc.size, tc.added, tc.ended); got != tc.want {
			t.Errorf("%s: finishedText = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestShareTextCopies: once some bytes came from a LAN copy, every share
// says where its bytes came from; without copies the names stay bare.
func TestShareTextCopies(t *testing.T) {
	copied := core.PeerShare{Peer: "copy:AAAAAAAAAAAA", Name: "attic", Bytes: 60, Copy: true}
	cases := []struct {
		name  string
		peers []core.PeerShare
		want  string
	}{
		{"a copy beside the internet", []core.PeerShare{
			{Peer: core.SelfPeer, Bytes: 30},
			copied,
			{Peer: "BBBBBBBBBBBB", Name: "den", Bytes: 10},
		}, "LAN copy from attic 60% · internet via this machine 30% · internet via den 10%"},
		{"a copy of an unnamed member", []core.PeerShare{
			{Peer: "copy:CCCCCCCCCCCC", Bytes: 1, Copy: true},
		}, "LAN copy from CCCCCCCC 100%"},
		{"no copy", []core.PeerShare{
			{Peer: core.SelfPeer, Bytes: 50},
			{Peer: "BBBBBBBBBBBB", Name: "den", Bytes: 50},
		}, "this machine 50% · den 50%"},
		{"bytes from before a restart", []core.PeerShare{
			copied,
			{Peer: priorPeer, Name: "before a restart", Bytes: 40},
		}, "LAN copy from attic 60% · before a restart 40%"},
	}
	for _, tc := range cases {
		if got := shareText(tc.peers, 3); got != tc.want {
			t.Errorf("%s: shareText = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestSharedText(t *testing.T) {
	added := time.Date(2025, 6, 1, 8, 30, 0, 0, time.Local)
	e := index.Entry{Name: "a.iso", Size: 2_500_000, Added: added, Shared: true}
	cases := []struct {
		name string
		e    index.Entry
		now  time.Time
		want string
	}{
		{"shared", e, added.Add(time.Hour), "2.50 MB · added 2025-06-01 08:30 · shared until 2025-06-15 08:30"},
		{"past its days", e, added.AddDate(0, 0, 20), "2.50 MB · added 2025-06-01 08:30 · sharing ended 2025-06-15 08:30"},
		{"stopped", index.Entry{Size: 0, Added: added}, added, "0 B · added 2025-06-01 08:30 · not shared"},
	}
	for _, tc := range cases {
		if got := sharedText(tc.e, 14, tc.now); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestResultText(t *testing.T) {
	r := core.SearchResult{Size: 999, SHA256: "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", Holders: []string{"attic"}}
	if got, want := resultText(r), "999 B · held by attic · sha256 001122334455"; got != want {
		t.Errorf("resultText = %q, want %q", got, want)
	}
}
