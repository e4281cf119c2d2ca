package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	testorigin "github.com/dragonload/dragonload/test/origin"
)

// TestMirrorsE2E: `dragonload get` of a .dragon file with three mirrors
// besides the url: two serve the file, one serves other bytes of the same
// size. The good origins share the work (each caps every client address,
// so none alone would do), the bad mirror is caught by a spot check and
// left out with a line in the log naming it, and the file is right
// although the link has no SHA-256.
func TestMirrorsE2E(t *testing.T) {
	const size, rate = 24 * mib, 3 * mib
	good := testorigin.Config{Size: size, Seed: seed, RatePerSource: rate}
	url, m1, m2 := origin(t, good), origin(t, good), origin(t, good)
	liar := origin(t, testorigin.Config{Size: size, Seed: seed + 5, RatePerSource: rate})
	dir := t.TempDir()
	linkFile := filepath.Join(dir, "file.dragon")
	content := fmt.Sprintf("url = %q\nname = \"file.bin\"\nmirrors = [%q, %q, %q]\n", url.URL(), m1.URL(), liar.URL(), m2.URL())
	if err := os.WriteFile(linkFile, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	get := start(t, "get", getArgs(t.TempDir(), out, "127.0.0.2", linkFile, nil)...)
	if code := get.wait(2 * time.Minute); code != 0 {
		t.Fatalf("get exited %d:\n%s", code, get.out.String())
	}
	checkFile(t, out, size)
	for name, o := range map[string]*testorigin.Server{"url": url, "mirror 1": m1, "mirror 2": m2} {
		if o.BytesServed() < size/8 {
			t.Errorf("%s served %d of %d bytes: the work was not shared", name, o.BytesServed(), size)
		}
	}
	host := strings.TrimPrefix(liar.URL(), "http://")
	host = host[:strings.IndexByte(host, '/')]
	log := get.out.String()
	if !strings.Contains(log, "via "+host) || !strings.Contains(log, "differ from the origin") {
		t.Errorf("the log does not name the mirror %s whose bytes differ:\n%s", host, log)
	}
}
