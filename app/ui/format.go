package ui

import (
	"fmt"
	"math"
	"net/url"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/dragonload/dragonload/app/units"
	"github.com/dragonload/dragonload/core"
)

// etaText writes time left in the two largest units, or "" when unknown.
func etaText(d time.Duration) string {
	d = d.Round(time.Second)
	if d <= 0 {
		return ""
	}
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds left", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm %02ds left", int(d.Minutes()), int(d.Seconds())%60)
	case d < 100*time.Hour:
		return fmt.Sprintf("%dh %02dm left", int(d.Hours()), int(d.Minutes())%60)
	default:
		return "more than 4 days left"
	}
}

// stateText is a download state as the list shows it.
func stateText(s core.State) string {
	switch s {
	case core.StateQueued:
		return "Queued"
	case core.StateProbing:
		return "Probing"
	case core.StateDownloading:
		return "Downloading"
	case core.StatePaused:
		return "Paused"
	case core.StateVerifying:
		return "Verifying"
	case core.StateDone:
		return "Done"
	case core.StateFailed:
		return "Failed"
	case core.StateCanceled:
		return "Canceled"
	}
	return s.String()
}

// shareText lists who fetched how much of a download, largest share first,
// at most limit names (the rest are summed as "others").
func shareText(peers []core.PeerShare, limit int) string {
	var total int64
	for _, p := range peers {
		total += p.Bytes
	}
	if total <= 0 {
		return ""
	}
	sorted := append([]core.PeerShare(nil), peers...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Bytes > sorted[j].Bytes })
	var parts []string
	var rest int64
	for i, p := range sorted {
		if p.Bytes <= 0 {
			continue
		}
		if i >= limit {
			rest += p.Bytes
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %d%%", peerLabel(p.Peer, p.Name), percent(p.Bytes, total)))
	}
	if rest > 0 {
		parts = append(parts, fmt.Sprintf("others %d%%", percent(rest, total)))
	}
	return strings.Join(parts, " · ")
}

// peerLabel names a peer for people: its display name, "this machine" for
// our own fetches, or a short form of its node id.
func peerLabel(id, name string) string {
	switch {
	case id == core.SelfPeer:
		return "this machine"
	case name != "":
		return name
	default:
		return shortID(id)
	}
}

// shortID cuts a node id to something a person can compare at a glance.
func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

func percent(part, total int64) int {
	if total <= 0 {
		return 0
	}
	return int(math.Round(float64(part) * 100 / float64(total)))
}

// progressText is the second line of a download row. wait is set while the
// server asked to wait (Retry-After).
func progressText(size, done int64, rate float64, eta time.Duration, state core.State, wait time.Time) string {
	var parts []string
	switch {
	case size >= 0 && state == core.StateDone:
		parts = append(parts, units.Bytes(size))
	case size > 0:
		parts = append(parts, fmt.Sprintf("%d%%", min(100, int(float64(done)*100/float64(size)))),
			units.Bytes(done)+" of "+units.Bytes(size))
	case size == 0:
		parts = append(parts, units.Bytes(done)+" of "+units.Bytes(size))
	case done > 0:
		parts = append(parts, units.Bytes(done))
	}
	switch state {
	case core.StateQueued:
		parts = append(parts, "waiting for a free slot")
	case core.StateProbing:
		parts = append(parts, "asking the origin about the file")
	case core.StateVerifying:
		parts = append(parts, "checking the whole file")
	}
	if !wait.IsZero() && (state == core.StateDownloading || state == core.StateProbing) {
		return strings.Join(append(parts, waitText(wait)), " · ")
	}
	if state == core.StateDownloading {
		parts = append(parts, units.Rate(rate))
		if e := etaText(eta); e != "" {
			parts = append(parts, e)
		}
	}
	return strings.Join(parts, " · ")
}

// waitText says until when a server asked to wait: the time of day, with
// the date when it is not today.
func waitText(until time.Time) string {
	until = until.Local()
	layout := "15:04"
	if y, m, d := until.Date(); y != time.Now().Year() || m != time.Now().Month() || d != time.Now().Day() {
		layout = "2006-01-02 15:04"
	}
	return "waiting for the server until " + until.Format(layout)
}

// nameFromSource guesses a display name from what the user gave, for the
// moment before the engine reports the real one.
func nameFromSource(s string) string {
	if u, err := url.Parse(s); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
		if base := path.Base(u.Path); base != "." && base != "/" && base != "" {
			return base
		}
		return u.Host
	}
	if strings.HasPrefix(strings.ToLower(s), "dragon:") {
		return "dragon:// link"
	}
	return filepath.Base(s)
}

// finishedText is the second line of a finished row: the size, how long
// the download took from being added to its end (pauses and waits
// included) and its average speed over that time. Unknown parts are left
// out.
func finishedText(size int64, added, ended time.Time) string {
	parts := []string{}
	if size >= 0 {
		parts = append(parts, units.Bytes(size))
	}
	if added.IsZero() || ended.IsZero() || ended.Before(added) {
		return strings.Join(parts, " · ")
	}
	took := ended.Sub(added)
	parts = append(parts, "took "+units.Duration(took))
	if rate := float64(size) / took.Seconds(); size > 0 && took >= time.Second && rate >= 1 {
		parts = append(parts, units.Rate(rate)+" average")
	}
	return strings.Join(parts, " · ")
}
