package ui

import (
	"fmt"
	"math"
	"net/url"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/dragonload/dragonload/app/units"
	"github.com/dragonload/dragonload/core"
	"github.com/dragonload/dragonload/core/index"
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
	copies := anyCopy(peers)
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
		parts = append(parts, fmt.Sprintf("%s %d%%", shareLabel(p, copies), percent(p.Bytes, total)))
	}
	if rest > 0 {
		parts = append(parts, fmt.Sprintf("others %d%%", percent(rest, total)))
	}
	return strings.Join(parts, " · ")
}

// shareLabel names who supplied a share of a download. Once some of the
// file came from a copy on the LAN (copies), every share says where its
// bytes came from: "LAN copy from attic", "internet via this machine".
func shareLabel(p core.PeerShare, copies bool) string {
	if p.Peer == priorPeer {
		return p.Name // nobody recorded who fetched those bytes, nor how
	}
	who := peerLabel(strings.TrimPrefix(p.Peer, copyPeer), p.Name)
	switch {
	case p.Copy:
		return "LAN copy from " + who
	case copies:
		return "internet via " + who
	}
	return who
}

// anyCopy reports whether any of a download's shares is a LAN copy.
func anyCopy(peers []core.PeerShare) bool {
	return slices.ContainsFunc(peers, func(p core.PeerShare) bool { return p.Copy })
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

// resultText is the line under a search result's name: its size, the
// machines that hold it and the start of its SHA-256, which tells two
// files of one name apart.
func resultText(r core.SearchResult) string {
	parts := []string{units.Bytes(r.Size)}
	if len(r.Holders) > 0 {
		parts = append(parts, "held by "+strings.Join(r.Holders, ", "))
	}
	parts = append(parts, "sha256 "+r.SHA256[:min(12, len(r.SHA256))])
	return strings.Join(parts, " · ")
}

// sharedText is the line under the name of a file this machine shares:
// its size, when it was added and until when the room may copy it (days
// after it was added), or "not shared" once the user stopped sharing it.
func sharedText(e index.Entry, days int, now time.Time) string {
	parts := []string{units.Bytes(e.Size), "added " + timeText(e.Added)}
	until := e.Added.Add(time.Duration(days) * 24 * time.Hour)
	switch {
	case !e.Shared:
		parts = append(parts, "not shared")
	case now.Before(until):
		parts = append(parts, "shared until "+timeText(until))
	default:
		parts = append(parts, "sharing ended "+timeText(until))
	}
	return strings.Join(parts, " · ")
}

// timeText writes a moment to the minute, in local time.
func timeText(t time.Time) string { return t.Local().Format("2006-01-02 15:04") }
