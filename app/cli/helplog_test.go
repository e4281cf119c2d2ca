package cli

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/dragonload/dragonload/core"
)

// TestHelpLog: the agent logs whom it helps when it starts, every 10 %
// and when the download stops, and nothing for downloads it is not part of.
func TestHelpLog(t *testing.T) {
	var buf bytes.Buffer
	h := helpLog{log: slog.New(slog.NewTextHandler(&buf, nil))}
	note := func(done int64, helping bool) core.PeerNote {
		return core.PeerNote{Peer: "abcdefghijkl", Name: "laptop", Downloads: []core.PeerDownload{
			{File: "ubuntu.iso", Done: done, Size: 100, Helping: helping},
		}}
	}
	h.note(note(5, false))
	for _, done := range []int64{43, 45, 52, 53, 70} {
		h.note(note(done, true))
	}
	h.note(core.PeerNote{Peer: "abcdefghijkl", Name: "laptop"})
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		_, msg, _ := strings.Cut(l, "msg=")
		got = append(got, msg)
	}
	want := []string{
		`"helping laptop: ubuntu.iso 43 %" peer=abcdefgh`,
		`"helping laptop: ubuntu.iso 53 %" peer=abcdefgh`,
		`"helping laptop: ubuntu.iso 70 %" peer=abcdefgh`,
		`"no longer helping laptop: ubuntu.iso" peer=abcdefgh`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("logged\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
