package cli

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dragonload/dragonload/core"
)

// runWith runs Main with a desktop that records what it was asked to open.
func runWith(args ...string) (code int, stdout, stderr string, opened [][]string) {
	var out, errb bytes.Buffer
	desk := func(_ core.Config, sources []string, _ string, _ *slog.Logger) error {
		opened = append(opened, sources)
		return nil
	}
	code = Main(args, Env{Stdout: &out, Stderr: &errb}, desk)
	return code, out.String(), errb.String(), opened
}

// TestUnknownWords: a word that is no command, URL, link or file ends
// with exit 2 and one sentence; the desktop (and with it the engine) is
// never started.
func TestUnknownWords(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"agnet"}, `dragonload: unknown command "agnet"; did you mean "agent"?`},
		{[]string{"Agent"}, `dragonload: unknown command "Agent"; did you mean "agent"?`},
		{[]string{"gte", "https://example.org/x"}, `dragonload: unknown command "gte"; did you mean "get"?`},
		{[]string{"peer", "--wait", "1s"}, `dragonload: unknown command "peer"; did you mean "peers"?`},
		{[]string{"--no-mdns", "lnik"}, `dragonload: unknown command "lnik"; did you mean "link"?`},
		{[]string{"verison"}, `dragonload: unknown command "verison"; did you mean "version"?`},
		{[]string{"hlep"}, `dragonload: unknown command "hlep"; did you mean "help"?`},
		{[]string{"frobnicate"}, "dragonload: unknown command \"frobnicate\", and no URL, dragon:// link or file by that name; run `dragonload help` for the commands."},
		{[]string{"example.org/big.iso"}, "dragonload: unknown command \"example.org/big.iso\", and no URL, dragon:// link or file by that name; run `dragonload help` for the commands."},
		{[]string{filepath.Join(dir, "gone.dragon")}, "dragonload: unknown command \"" + filepath.Join(dir, "gone.dragon") + "\", and no URL, dragon:// link or file by that name; run `dragonload help` for the commands."},
		{[]string{"https://example.org/x", "bogus"}, `dragonload: "bogus" is not a URL, a dragon:// link or an existing file.`},
		{[]string{"help", "agnet"}, `dragonload: unknown command "agnet"; did you mean "agent"?`},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, stdout, stderr, opened := runWith(tc.args...)
			if code != ExitUsage {
				t.Errorf("exit %d, want %d", code, ExitUsage)
			}
			if got := strings.TrimSuffix(stderr, "\n"); got != tc.want {
				t.Errorf("stderr\n%q\nwant\n%q", stderr, tc.want)
			}
			if stdout != "" || opened != nil {
				t.Errorf("stdout %q, desktop opened %v: want neither", stdout, opened)
			}
		})
	}
}

// TestSourcesOpenTheApp: what the app can queue still opens it, blanks
// left out; a command after common flags runs as the command.
func TestSourcesOpenTheApp(t *testing.T) {
	file := filepath.Join(t.TempDir(), "big.dragon")
	if err := os.WriteFile(file, []byte("url = \"https://example.org/x\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := [][]string{
		{},
		{"https://example.org/x"},
		{"HTTP://example.org/x"},
		{"dragon:?url=https%3A%2F%2Fexample.org%2Fx"},
		{"file:///tmp/x.dragon"},
		{"ftp://example.org/x"}, // the window says it cannot download it
		{file},
		{"https://example.org/x", "", file},
	}
	for _, args := range tests {
		code, _, stderr, opened := runWith(append([]string{"--no-mdns"}, args...)...)
		if code != ExitOK || len(opened) != 1 {
			t.Errorf("%q: exit %d, opened %v; stderr %q", args, code, opened, stderr)
		}
	}
	code, stdout, _, opened := runWith("--no-mdns", "version")
	if code != ExitOK || opened != nil || !strings.HasPrefix(stdout, "dragonload ") {
		t.Errorf("--no-mdns version: exit %d, opened %v, stdout %q", code, opened, stdout)
	}
}

// TestHelp: every way to ask for help exits 0 and prints the help of that
// command once, on stdout.
func TestHelp(t *testing.T) {
	general := "Usage: dragonload [SOURCE...]"
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"help"}, general},
		{[]string{"-h"}, general},
		{[]string{"--help"}, general},
		{[]string{"-help"}, general},
		{[]string{"--no-mdns", "-h"}, general},
		{[]string{"help", "help"}, "Usage: dragonload help [COMMAND]"},
		{[]string{"help", "-h"}, "Usage: dragonload help [COMMAND]"},
	}
	for _, c := range commands {
		usage := strings.SplitN(c.help, "\n", 2)[0]
		tests = append(tests,
			struct {
				args []string
				want string
			}{[]string{"help", c.name}, usage},
			struct {
				args []string
				want string
			}{[]string{c.name, "--help"}, usage},
			struct {
				args []string
				want string
			}{[]string{c.name, "-h"}, usage},
		)
	}
	tests = append(tests, struct {
		args []string
		want string
	}{[]string{"get", "https://example.org/x", "--out", "/tmp", "--help"}, "Usage: dragonload get SOURCE"})
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, stdout, stderr, opened := runWith(tc.args...)
			if code != ExitOK || stderr != "" || opened != nil {
				t.Fatalf("exit %d, stderr %q, opened %v", code, stderr, opened)
			}
			if n := strings.Count(stdout, "Usage:"); n != 1 {
				t.Errorf("%d usage texts, want 1:\n%s", n, stdout)
			}
			if !strings.HasPrefix(stdout, tc.want) && !strings.Contains(stdout, "\n"+tc.want) {
				t.Errorf("stdout lacks %q:\n%s", tc.want, stdout)
			}
		})
	}
}

// TestUsageErrorIsOneSentence: bad usage is one line that points to the
// command's own help.
func TestUsageErrorIsOneSentence(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"get"}, "dragonload: get takes exactly one URL, .dragon file or dragon:// link, got 0 arguments; see `dragonload help get`.\n"},
		{[]string{"get", "https://x/y", "--outt", "d"}, "dragonload: unknown flag --outt; did you mean --out?\n"},
		{[]string{"agent", "--frob"}, "dragonload: unknown flag --frob; see `dragonload help agent`.\n"},
		{[]string{"peers", "--wait"}, "dragonload: --wait needs a value; see `dragonload help peers`.\n"},
		{[]string{"peers", "--wait", "soon"}, "dragonload: \"soon\" is not a valid value for --wait; see `dragonload help peers`.\n"},
		{[]string{"--no-mdns=maybe"}, "dragonload: \"maybe\" is not a valid value for --no-mdns; see `dragonload help`.\n"},
		{[]string{"version", "now"}, "dragonload: version takes no arguments, got \"now\"; see `dragonload help version`.\n"},
		{[]string{"help", "get", "agent"}, "dragonload: help takes one command, got 2 arguments; see `dragonload help help`.\n"},
	}
	for _, tc := range tests {
		code, stdout, stderr, opened := runWith(tc.args...)
		if code != ExitUsage || stderr != tc.want || stdout != "" || opened != nil {
			t.Errorf("%q: exit %d, stderr %q (want %q), stdout %q, opened %v", tc.args, code, stderr, tc.want, stdout, opened)
		}
	}
}

// TestPeerAddressError: one sentence of our own, not the parser's error
// glued to ours.
func TestPeerAddressError(t *testing.T) {
	tests := []struct{ addr, want string }{
		{"nohostport", `--peer "nohostport" is not HOST:PORT (for example 192.168.1.20:4700 or [fe80::1%eth0]:4700)`},
		{":4700", `--peer ":4700" is not HOST:PORT (for example 192.168.1.20:4700 or [fe80::1%eth0]:4700)`},
		{"[::1", `--peer "[::1" is not HOST:PORT (for example 192.168.1.20:4700 or [fe80::1%eth0]:4700)`},
		{"host:", `--peer "host:" has no valid port: it must be a number from 1 to 65535`},
		{"host:http", `--peer "host:http" has no valid port: it must be a number from 1 to 65535`},
		{"10.0.0.1:70000", `--peer "10.0.0.1:70000" has no valid port: it must be a number from 1 to 65535`},
		{"10.0.0.1:4700", ""},
		{"lab-2.local:4700", ""},
		{"[fe80::1%eth0]:4700", ""},
	}
	for _, tc := range tests {
		err := checkPeerAddr(tc.addr)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("checkPeerAddr(%q) = %q, want %q", tc.addr, got, tc.want)
		}
	}
}

func TestClosest(t *testing.T) {
	names := []string{"agent", "get", "peers", "link", "version", "help"}
	for word, want := range map[string]string{
		"agnet": "agent", "agen": "agent", "gte": "get", "gt": "get", "peer": "peers", "lnik": "link",
		"verison": "version", "versoin": "version", "hepl": "help", "HELP": "help",
		"frobnicate": "", "x": "", "ls": "", "status": "", "": "",
	} {
		if got := closest(word, names); got != want {
			t.Errorf("closest(%q) = %q, want %q", word, got, want)
		}
	}
}

// TestVersionText: the version, the short commit (+dirty), the Go release
// and the protocol version, from the build info or the ldflags variables.
func TestVersionText(t *testing.T) {
	bi := &debug.BuildInfo{
		GoVersion: "go1.26.8",
		Main:      debug.Module{Version: "(devel)"},
		Settings: []debug.BuildSetting{
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: "8696119833b02889c513653a66149f7b6865258e"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	proto := "protocol " + strconv.Itoa(core.ProtocolVersion) + "\n"
	tests := []struct {
		name            string
		bi              *debug.BuildInfo
		version, commit string
		want            string
	}{
		{"dirty tree", bi, "", "", "dragonload devel\ncommit   8696119833b0+dirty\ngo       go1.26.8\n" + proto},
		{"ldflags", bi, "v1.2.0", "0123456789ab", "dragonload v1.2.0\ncommit   0123456789ab\ngo       go1.26.8\n" + proto},
		{"nothing known", nil, "", "", "dragonload devel\ncommit   unknown\ngo       " + runtime.Version() + "\n" + proto},
		{"tagged", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.3.0"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abcdef0123456789"}, {Key: "vcs.modified", Value: "false"}}},
			"", "", "dragonload v1.3.0\ncommit   abcdef012345\ngo       go1.26.8\n" + proto},
		{"pseudo-version", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20261203090000-8696119833b0+dirty"}},
			"", "", "dragonload devel\ncommit   unknown\ngo       go1.26.8\n" + proto},
	}
	for _, tc := range tests {
		if got := versionText(tc.bi, tc.version, tc.commit); got != tc.want {
			t.Errorf("%s:\n%s\nwant\n%s", tc.name, got, tc.want)
		}
	}
	code, stdout, stderr, _ := runWith("--version")
	if code != ExitOK || stderr != "" || strings.Count(stdout, "\n") != 4 || !strings.HasSuffix(stdout, proto) {
		t.Errorf("--version: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

// TestDoneLine: the summary a finished get prints before the path.
func TestDoneLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "blob (1).bin")
	if err := os.WriteFile(path, make([]byte, 4_700_000), 0o644); err != nil {
		t.Fatal(err)
	}
	shares := []core.PeerShare{
		{Peer: core.SelfPeer, Name: "vm", Bytes: 1_645_000},
		{Peer: "bbbbbbbbbbbbbbbb", Name: "vm", Bytes: 1_175_000},
		{Peer: "cccccccccccccccc", Name: "lab-2", Bytes: 1_880_000},
		{Peer: "dddddddddddddddd", Name: "idle", Bytes: 0},
	}
	tests := []struct {
		name string
		f    finished
		took time.Duration
		want string
	}{
		{"pooled", finished{size: -1, shares: shares}, 2*time.Second + 400*time.Millisecond,
			"blob (1).bin: 4.70 MB in 2s at 1.96 MB/s average; from lab-2 40%, this machine 35%, vm 25%"},
		{"resumed", finished{size: 4_700_000, shares: shares[:1]}, 65 * time.Second,
			"blob (1).bin: 4.70 MB (1.65 MB fetched now, the rest by an earlier run) in 1m 05s at 25.3 kB/s average; from this machine 100%"},
		{"quick", finished{size: 4_700_000, shares: shares[:3]}, 300 * time.Millisecond,
			"blob (1).bin: 4.70 MB in under a second; from lab-2 40%, this machine 35%, vm 25%"},
		{"nothing fetched", finished{size: 4_700_000}, 0,
			"blob (1).bin: 4.70 MB (0 B fetched now, the rest by an earlier run) in under a second"},
	}
	for _, tc := range tests {
		if got := doneLine(path, tc.f, tc.took); got != tc.want {
			t.Errorf("%s:\n%q\nwant\n%q", tc.name, got, tc.want)
		}
	}
	// Two peers with one name are told apart by node.
	twins := []core.PeerShare{{Peer: "bbbbbbbbbbbb", Name: "vm", Bytes: 60}, {Peer: "cccccccccccc", Name: "vm", Bytes: 40}}
	if got, want := sharesText(twins, 100), "vm (bbbbbbbb) 60%, vm (cccccccc) 40%"; got != want {
		t.Errorf("sharesText = %q, want %q", got, want)
	}
}

// TestFinalShares: the snapshot wins over the last progress event.
func TestFinalShares(t *testing.T) {
	last := core.DownloadProgress{ID: "a", Size: 100, Peers: []core.PeerShare{{Peer: core.SelfPeer, Bytes: 90}}}
	snaps := []core.DownloadSnapshot{
		{ID: "b", Size: 7},
		{ID: "a", Size: 100, Peers: []core.PeerShare{{Peer: core.SelfPeer, Bytes: 100}}},
	}
	if f := finalShares(snaps, "a", last); f.size != 100 || len(f.shares) != 1 || f.shares[0].Bytes != 100 {
		t.Errorf("finalShares = %+v", f)
	}
	if f := finalShares(nil, "a", last); f.size != 100 || f.shares[0].Bytes != 90 {
		t.Errorf("finalShares without a snapshot = %+v", f)
	}
}
