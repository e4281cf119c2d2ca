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
		Name: "f", Size: 100 << 20, Done: 50 << 20, Rate: 2 << 20, ETA: 25 * time.Second,
		Peers: []core.PeerShare{{Peer: core.SelfPeer, Name: "me", Bytes: 30 << 20}, {Peer: "x", Name: "lab-2", Bytes: 20 << 20}},
	}
	got := summary(p)
	for _, want := range []string{"50.0 MiB of 100.0 MiB (50.0%)", "2.0 MiB/s", "25s left", "me 60%", "lab-2 40%"} {
		if !strings.Contains(got, want) {
			t.Errorf("summary %q lacks %q", got, want)
		}
	}
}

func TestBytesStr(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 3 << 30: "3.0 GiB", 5 << 40: "5.0 TiB"} {
		if got := bytesStr(n); got != want {
			t.Errorf("bytesStr(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestFailIsOneSentence(t *testing.T) {
	var b bytes.Buffer
	fail(Env{Stderr: &b}, ExitFailed, errString("the origin answered 404"))
	if got := b.String(); got != "dragonload: The origin answered 404.\n" {
		t.Fatalf("got %q", got)
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
