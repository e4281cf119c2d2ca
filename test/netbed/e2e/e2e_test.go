package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dragonload/dragonload/test/netbed"
	"github.com/dragonload/dragonload/test/testkit"
)

const (
	fileSize = 8 << 20
	wanRate  = 50e6 // bits per second
	port     = 4700
	room     = "b3nch-e2e0a-7q2hk-x9m4p" // shaped like a generated code
)

// TestPooledOnBed downloads a file with a requester on h1 and lenders on h2
// and h3, and checks the result byte for byte.
func TestPooledOnBed(t *testing.T) {
	netbed.NeedRoot(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	bins := t.TempDir()
	dragonload := build(t, ctx, bins, "dragonload", "github.com/dragonload/dragonload")
	testorigin := build(t, ctx, bins, "testorigin", "github.com/dragonload/dragonload/test/origin/cmd/testorigin")

	if err := netbed.SweepStale(ctx); err != nil {
		t.Logf("sweeping stale beds: %v", err)
	}
	bed, err := netbed.Up(ctx, netbed.Options{Prefix: netbed.UniquePrefix() + "e2e-", Hosts: 3, WANRate: wanRate, StopGrace: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	logs := t.TempDir()
	t.Cleanup(func() {
		if err := bed.Close(); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			dumpLogs(t, logs)
		}
	})

	url, sum := startOrigin(t, bed, testorigin, logs)
	var peers []string
	for _, h := range bed.Hosts()[1:] {
		addr := fmt.Sprintf("%s:%d", h.LANIP, port)
		p := start(t, bed, logs, "agent-"+h.Name, netbed.Command(h.NS, dragonload, "agent",
			"--home", filepath.Join(t.TempDir(), "home"), "--room", room, "--name", h.Name,
			"--listen", addr, "--no-mdns", "--allow-private-origins"))
		testkit.WaitFor(t, 30*time.Second, 50*time.Millisecond, "agent on "+h.Name+" listening", func() bool {
			select {
			case <-p.Done():
				t.Fatalf("agent on %s exited at start: %v", h.Name, p.Err())
			default:
			}
			return netbed.UDPListening(p.Pid(), port)
		})
		peers = append(peers, addr)
	}

	h1 := bed.Host(1)
	out := t.TempDir()
	args := []string{"get", url, "--home", filepath.Join(t.TempDir(), "home"), "--room", room, "--name", h1.Name,
		"--listen", fmt.Sprintf("%s:%d", h1.LANIP, port), "--no-mdns", "--allow-private-origins", "--out", out}
	for _, p := range peers {
		args = append(args, "--peer", p)
	}
	get := start(t, bed, logs, "get", netbed.Command(h1.NS, dragonload, args...))
	if !get.Wait(2 * time.Minute) {
		t.Fatal("dragonload get did not finish within 2 minutes")
	}
	if code := get.ExitCode(); code != 0 {
		t.Fatalf("dragonload get exited %d", code)
	}

	var files []string
	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".") {
			files = append(files, e.Name())
		}
	}
	if len(files) != 1 {
		t.Fatalf("output folder holds %v, want one file", files)
	}
	if got := testkit.FileSHA256(t, filepath.Join(out, files[0])); got != sum {
		t.Fatalf("sha256 of the download is %s, the origin's %s", got, sum)
	}
	// Who fetched what is the scheduler's business; log it for the reader.
	t.Logf("origin bytes by WAN address: %s", originStats(t, bed, url))
}

// build compiles pkg into dir, with the module's build cache.
func build(t *testing.T, ctx context.Context, dir, name, pkg string) string {
	t.Helper()
	out := filepath.Join(dir, name)
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cannot build %s: %v\n%s", pkg, err, msg)
	}
	return out
}

// start runs cmd on the bed with its output in logs/name.log.
func start(t *testing.T, bed *netbed.Bed, logs, name string, cmd *exec.Cmd) *netbed.Proc {
	t.Helper()
	f, err := os.Create(filepath.Join(logs, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd.Stdout, cmd.Stderr = f, f
	p, err := bed.Start(name, cmd)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// startOrigin runs the test origin in the internet namespace and returns
// the file's URL and SHA-256.
func startOrigin(t *testing.T, bed *netbed.Bed, bin, logs string) (url, sum string) {
	t.Helper()
	cmd := netbed.Command(bed.InetNS(), bin, "-listen", netbed.OriginIP.String()+":8080",
		"-size", fmt.Sprint(fileSize), "-seed", "9", "-rate", "0", "-latency", "5ms")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(logs, "origin.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd.Stderr = f
	p, err := bed.Start("origin", cmd)
	if err != nil {
		t.Fatal(err)
	}
	url, sum, err = testkit.ReadAnnouncement(stdout, 30*time.Second)
	if err != nil {
		t.Fatalf("%v (%v)", err, p.Err())
	}
	return url, sum
}

func originStats(t *testing.T, bed *netbed.Bed, url string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	statsURL := url[:strings.LastIndex(url, "/")] + "/stats"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, statsURL, nil)
	if err != nil {
		return err.Error()
	}
	resp, err := netbed.HTTPClient(bed.InetNS()).Do(req)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	var s struct {
		BySource map[string]int64 `json:"by_source"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&s); err != nil {
		return err.Error()
	}
	return fmt.Sprint(s.BySource)
}

func dumpLogs(t *testing.T, dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		data, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		if len(data) > 8<<10 {
			data = data[len(data)-8<<10:]
		}
		t.Logf("--- %s (end) ---\n%s", e.Name(), data)
	}
}
