package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	testorigin "github.com/dragonload/dragonload/test/origin"
)

// sharer downloads the test file with `dragonload get` into a home of
// its own, then runs an agent on that home, which shares the finished
// file with the room. It returns the agent's address and the file's path.
func sharer(t *testing.T, o *testorigin.Server, ip string, extra ...string) (*proc, string, string) {
	t.Helper()
	home, out := t.TempDir(), t.TempDir()
	get := start(t, "first get", getArgs(home, out, ip, o.URL(), nil)...)
	if code := get.wait(2 * time.Minute); code != 0 {
		t.Fatalf("the first get exited %d:\n%s", code, get.out.String())
	}
	names, err := os.ReadDir(out)
	if err != nil || len(names) != 1 {
		t.Fatalf("the first get left %v in %s (%v)", names, out, err)
	}
	addr := freePort(t, ip)
	args := append([]string{"agent", "--home", home, "--listen", addr, "--no-mdns", "--source", ip,
		"--allow-private-origins", "--log-level", "debug"}, extra...)
	a := start(t, "sharing agent "+ip, args...)
	waitAgentUp(t, a)
	return a, addr, filepath.Join(out, names[0].Name())
}

// TestLANCopyE2E: a machine that downloaded a file serves it to the next
// machine over the LAN (the origin, slow for the second machine, sends it
// only the spot checks' slices), and the summary line says so. Then the
// shared file is rewritten on disk: it is no longer served, and a third
// machine fetches everything from the origin.
func TestLANCopyE2E(t *testing.T) {
	const size = 24 * mib
	o := origin(t, testorigin.Config{Size: size, Seed: seed, RatePerSource: 6 * mib})
	a, addr, path := sharer(t, o, "127.0.0.61")

	served := o.BytesServed()
	out := t.TempDir()
	get := start(t, "second get", getArgs(t.TempDir(), out, "127.0.0.62", o.URL(), []string{addr})...)
	if code := get.wait(2 * time.Minute); code != 0 {
		t.Fatalf("the second get exited %d:\n%s", code, get.out.String())
	}
	checkFile(t, out, size)
	// The agent also lends: count what the origin served to anyone.
	more := o.BytesServed() - served
	if more > size/20 {
		t.Errorf("the origin served %d of %d bytes for the second machine; a LAN copy was there", more, size)
	}
	t.Logf("the origin served %d bytes for the second machine", more)
	if !regexp.MustCompile(`from LAN copy from \S+ (9[5-9]|100)%`).MatchString(get.out.String()) {
		t.Errorf("the summary does not say the bytes came from the LAN copy:\n%s", get.out.String())
	}

	// Rewritten in place, same size: the agent must not serve it.
	if err := os.WriteFile(path, make([]byte, size), 0o644); err != nil {
		t.Fatal(err)
	}
	served = o.BytesServed()
	out3 := t.TempDir()
	get3 := start(t, "third get", getArgs(t.TempDir(), out3, "127.0.0.63", o.URL(), []string{addr})...)
	if code := get3.wait(2 * time.Minute); code != 0 {
		t.Fatalf("the third get exited %d:\n%s", code, get3.out.String())
	}
	checkFile(t, out3, size)
	if more := o.BytesServed() - served; more < size {
		t.Errorf("the origin served only %d of %d bytes for the third machine: the changed copy was served", more, size)
	}
	if strings.Contains(get3.out.String(), "LAN copy from") {
		t.Errorf("the third machine reports bytes from a LAN copy that changed on disk:\n%s", get3.out.String())
	}
	a.kill()
}

// TestSearchE2E: `dragonload search` finds the file a member shares and
// prints a link without a url; `dragonload get LINK` downloads it from the
// member alone (the origin serves nothing more). A machine of another room
// gets no answer to the search and cannot fetch the link.
func TestSearchE2E(t *testing.T) {
	const size = 6 * mib
	o := origin(t, testorigin.Config{Size: size, Seed: seed})
	a, addr, path := sharer(t, o, "127.0.0.64")
	name := filepath.Base(path)
	word := strings.ToUpper(strings.TrimSuffix(name, filepath.Ext(name)))

	search := start(t, "search", "search", word, "--home", t.TempDir(), "--room", testRoom, "--listen", "127.0.0.65:0",
		"--no-mdns", "--peer", addr, "--wait", "2s")
	if code := search.wait(time.Minute); code != 0 {
		t.Fatalf("search exited %d:\n%s", code, search.out.String())
	}
	link := regexp.MustCompile(`dragon://\S+`).FindString(search.out.String())
	if !strings.Contains(search.out.String(), name) || !strings.Contains(link, "sha256="+testorigin.SumSHA256(seed, size)) || strings.Contains(link, "url=") {
		t.Fatalf("search did not list %s with a sha256-only link:\n%s", name, search.out.String())
	}

	served := o.BytesServed()
	out := t.TempDir()
	get := start(t, "get by sha256", getArgs(t.TempDir(), out, "127.0.0.65", link, []string{addr})...)
	if code := get.wait(time.Minute); code != 0 {
		t.Fatalf("get of the search's link exited %d:\n%s", code, get.out.String())
	}
	checkFile(t, out, size)
	if more := o.BytesServed() - served; more != 0 {
		t.Errorf("the origin served %d bytes for a link without a url", more)
	}

	// Another room: the room proof fails, nothing is answered or served.
	other := start(t, "search from another room", "search", word, "--home", t.TempDir(), "--room", "other-k3m9p-x7q2a-h4w8t",
		"--listen", "127.0.0.66:0", "--no-mdns", "--peer", addr, "--wait", "2s")
	if code := other.wait(time.Minute); code != 0 {
		t.Fatalf("search from another room exited %d:\n%s", code, other.out.String())
	}
	if strings.Contains(other.out.String(), "dragon://") {
		t.Errorf("a machine of another room got search results:\n%s", other.out.String())
	}
	home := t.TempDir()
	writeHomeConfig(t, home, "give_up_seconds = 5")
	stranger := start(t, "get from another room", "get", link, "--home", home, "--room", "other-k3m9p-x7q2a-h4w8t",
		"--out", t.TempDir(), "--listen", "127.0.0.66:0", "--no-mdns", "--peer", addr)
	if code := stranger.wait(time.Minute); code == 0 {
		t.Fatalf("a machine of another room downloaded the shared file:\n%s", stranger.out.String())
	}
	if s := errorSentence(stranger.out.String()); !strings.Contains(s, "no room member shares a copy") {
		t.Errorf("the stranger's error is %q", s)
	}
	if !strings.Contains(a.out.String(), "room proof failed") {
		t.Errorf("the sharing agent did not log refusing the stranger:\n%s", a.out.String())
	}
	a.kill()
}

// TestTwoRequestersE2E: two machines run `dragonload get` of the same URL
// two seconds apart, each naming the other: each copies what the other
// fetched, and the origin serves the file about once, not twice.
func TestTwoRequestersE2E(t *testing.T) {
	const size = 48 * mib
	o := origin(t, testorigin.Config{Size: size, Seed: seed, RatePerSource: 4 * mib})
	a, b := freePort(t, "127.0.0.67"), freePort(t, "127.0.0.68")
	outA, outB := t.TempDir(), t.TempDir()
	argsA := []string{"get", o.URL(), "--home", t.TempDir(), "--out", outA, "--room", testRoom, "--listen", a,
		"--no-mdns", "--source", "127.0.0.67", "--allow-private-origins", "--log-level", "debug", "--peer", b}
	argsB := []string{"get", o.URL(), "--home", t.TempDir(), "--out", outB, "--room", testRoom, "--listen", b,
		"--no-mdns", "--source", "127.0.0.68", "--allow-private-origins", "--log-level", "debug", "--peer", a}
	first := start(t, "first machine", argsA...)
	time.Sleep(2 * time.Second)
	second := start(t, "second machine", argsB...)
	for _, p := range []*proc{first, second} {
		if code := p.wait(2 * time.Minute); code != 0 {
			t.Fatalf("%s exited %d:\n%s", p.name, code, p.out.String())
		}
	}
	checkFile(t, outA, size)
	checkFile(t, outB, size)
	served := o.BytesServed()
	t.Logf("origin served %.2f × the file for two machines: %v", float64(served)/size, o.BytesBySource())
	if served > size*13/10 {
		t.Errorf("the origin served %d bytes for two copies of a %d-byte file: the machines did not share", served, size)
	}
	if !strings.Contains(second.out.String(), "LAN copy from") {
		t.Errorf("the second machine's summary names no LAN copy:\n%s", second.out.String())
	}
}

// TestSharedUplinkE2E: a requester and three lenders behind one uplink
// (the origin's rate is one budget for all of them): the requester says
// pooling isn't helping, and the file is right. How soon it says so is
// the bench's business (scenario j: within 15 s); here it must say it.
func TestSharedUplinkE2E(t *testing.T) {
	const size = 84 * mib // about 28 s at 3 MiB/s: long enough to be tested
	o := origin(t, testorigin.Config{Size: size, Seed: seed, RatePerSource: 3 * mib, SharedRate: true})
	var peers []string
	for _, ip := range []string{"127.0.0.71", "127.0.0.72", "127.0.0.73"} {
		a, addr := agent(t, ip, testRoom)
		waitAgentUp(t, a)
		peers = append(peers, addr)
	}
	out := t.TempDir()
	begin := time.Now()
	get := start(t, "get", getArgs(t.TempDir(), out, "127.0.0.70", o.URL(), peers)...)
	var noticed time.Duration
	waitFor(t, 90*time.Second, "the shared-link notice or the end", func() bool {
		if noticed == 0 && strings.Contains(get.out.String(), "pooling isn't helping") {
			noticed = time.Since(begin)
		}
		return get.exited()
	})
	if code := get.wait(time.Minute); code != 0 {
		t.Fatalf("get exited %d:\n%s", code, get.out.String())
	}
	checkFile(t, out, size)
	t.Logf("notice after %v; whole download %v", noticed.Round(100*time.Millisecond), time.Since(begin).Round(100*time.Millisecond))
	if noticed == 0 {
		t.Errorf("no notice that pooling isn't helping:\n%s", get.out.String())
	}
}
