package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/dragonload/dragonload/core"
	"github.com/dragonload/dragonload/core/link"
)

func run(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = Main(args, Env{Stdout: &out, Stderr: &errb}, nil)
	return code, out.String(), errb.String()
}

func TestParseInterspersedFlags(t *testing.T) {
	fs, c := newFlags("get", Env{})
	pos, err := parse(fs, []string{"https://x/y", "--out", "/tmp/o", "--peer", "a:1", "--peer", "b:2", "--no-mdns"})
	if err != nil {
		t.Fatal(err)
	}
	if len(pos) != 1 || pos[0] != "https://x/y" {
		t.Fatalf("positional %v", pos)
	}
	if c.out != "/tmp/o" || len(c.peers) != 2 || !c.noMDNS {
		t.Fatalf("flags not parsed: %+v", c)
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"get"}, "exactly one"},
		{[]string{"get", "a", "b"}, "exactly one"},
		{[]string{"get", "https://x/y", "--bogus"}, "bogus"},
		{[]string{"get", "https://x/y", "--source", "not-an-ip"}, "--source"},
		{[]string{"get", "https://x/y", "--peer", "nohostport"}, "--peer"},
		{[]string{"agent", "extra"}, "no arguments"},
		{[]string{"peers", "--wait", "-1s"}, "--wait"},
		{[]string{"link"}, "exactly one URL"},
		{[]string{"link", "https://x/y", "--size", "-3"}, "--size"},
		{[]string{"get", "https://x/y", "--log-level", "loud"}, "--log-level"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, _, stderr := run(tc.args...)
			if code != ExitUsage {
				t.Fatalf("exit %d, want %d; stderr: %s", code, ExitUsage, stderr)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr %q does not mention %q", stderr, tc.want)
			}
		})
	}
}

func TestLinkRoundTrips(t *testing.T) {
	sha := strings.Repeat("0f", 32)
	code, out, stderr := run("link", "https://example.org/big.iso", "--sha256", sha, "--name", "big.iso", "--size", "123")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	l, err := link.Parse([]byte(out))
	if err != nil {
		t.Fatalf("link output does not parse: %v\n%s", err, out)
	}
	want := link.Link{URL: "https://example.org/big.iso", Name: "big.iso", Size: 123, SHA256: sha}
	if l.URL != want.URL || l.Name != want.Name || l.Size != want.Size || l.SHA256 != want.SHA256 {
		t.Fatalf("got %+v, want %+v", l, want)
	}
	if code, _, stderr := run("link", "ftp://example.org/x"); code != ExitUsage || !strings.Contains(stderr, "ftp") {
		t.Fatalf("bad URL: exit %d, %q", code, stderr)
	}
}

func TestDesktopMissing(t *testing.T) {
	code, _, stderr := run("--no-mdns")
	if code != ExitFailed || !strings.Contains(stderr, "desktop") {
		t.Fatalf("exit %d, %q", code, stderr)
	}
}

func TestSummary(t *testing.T) {
	p := core.DownloadProgress{
		Name: "f", Size: 100e6, Done: 50e6, Rate: 2.4e6, ETA: 25 * time.Second,
		Peers: []core.PeerShare{{Peer: core.SelfPeer, Name: "me", Bytes: 30e6}, {Peer: "x", Name: "lab-2", Bytes: 20e6}},
	}
	got := summary(p)
	for _, want := range []string{"50.0 MB of 100 MB (50.0%)", "at 2.40 MB/s", "25s left", "me 60%", "lab-2 40%"} {
		if !strings.Contains(got, want) {
			t.Errorf("summary %q lacks %q", got, want)
		}
	}
	if strings.Contains(got, "iB") {
		t.Errorf("summary %q uses binary units", got)
	}
}

// TestBarUnits: the bar's text uses the window's decimal units.
func TestBarUnits(t *testing.T) {
	p := core.DownloadProgress{Name: "f", Size: 25_165_824, Done: 9_437_184, Rate: 6_291_456, ETA: 3 * time.Second}
	if got, want := totalLine(p), "  9.44 MB / 25.2 MB     6.29 MB/s  ETA 3s"; got != want {
		t.Errorf("totalLine = %q, want %q", got, want)
	}
	p.Rate, p.ETA = 0, 0
	if got, want := totalLine(p), "  9.44 MB / 25.2 MB             –  ETA --"; got != want {
		t.Errorf("idle totalLine = %q, want %q", got, want)
	}
}

// TestFailKeepsNames: the sentence keeps the error's first word as it
// was (a URL, a file name, a field of a link file) and ends with a stop.
func TestFailKeepsNames(t *testing.T) {
	tests := []struct{ err, want string }{
		{"the origin answered 404", "dragonload: the origin answered 404.\n"},
		{"http://127.0.0.1:8080/nope.bin answered 404 Not Found", "dragonload: http://127.0.0.1:8080/nope.bin answered 404 Not Found.\n"},
		{"url has no host name", "dragonload: url has no host name.\n"},
		{"blob.bin is corrupt", "dragonload: blob.bin is corrupt.\n"},
		{"Blob.bin is corrupt", "dragonload: Blob.bin is corrupt.\n"},
		{"is it there?", "dragonload: is it there?\n"},
		{"done.", "dragonload: done.\n"},
	}
	for _, tc := range tests {
		var b bytes.Buffer
		fail(Env{Stderr: &b}, ExitFailed, errString(tc.err))
		if got := b.String(); got != tc.want {
			t.Errorf("fail(%q) printed %q, want %q", tc.err, got, tc.want)
		}
	}
}

type errString string

func (e errString) Error() string { return string(e) }

// TestSummaryWaiting: while the server asked to wait, the progress line
// and the bar say until when, not a rate of zero.
func TestSummaryWaiting(t *testing.T) {
	until := time.Date(2100, 1, 1, 14, 5, 0, 0, time.Local)
	p := core.DownloadProgress{Name: "f", Size: 100, Done: 50, WaitUntil: until}
	for _, got := range []string{summary(p), totalLine(p)} {
		if !strings.Contains(got, "waiting for the server until 2100-01-01 14:05") || strings.Contains(got, "/s") {
			t.Errorf("%q does not say until when the server asked to wait", got)
		}
	}
	soon := time.Now()
	if got := waitingText(soon); got != "waiting for the server until "+soon.Format("15:04") {
		t.Errorf("waitingText(today) = %q", got)
	}
}
