package rpc_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dragonload/dragonload/app/rpc"
	"github.com/dragonload/dragonload/core"
	testorigin "github.com/dragonload/dragonload/test/origin"
)

// clientDir holds the aria2 npm client's pinned package.json and
// package-lock.json, and the script that drives the server.
const clientDir = "testdata/aria2client"

// TestAria2NpmClient drives the server with a real aria2 client, the aria2
// package from npm (aria2.js, pinned in testdata/aria2client): over HTTP
// and WebSocket it adds a download and watches it complete by tellStatus
// and the onDownloadComplete notification, pauses, unpauses and removes
// another, and is refused without the secret (see client.js).
//
// It needs node and npm, and the npm registry for `npm ci` (npm's cache
// serves later runs). Without them it is skipped, except under CI=true,
// where it fails: CI must run it.
func TestAria2NpmClient(t *testing.T) {
	inCI := os.Getenv("CI") == "true"
	node, nodeErr := exec.LookPath("node")
	npm, npmErr := exec.LookPath("npm")
	if nodeErr != nil || npmErr != nil {
		if inCI {
			t.Fatalf("node and npm are needed for the aria2 client test (node: %v, npm: %v)", nodeErr, npmErr)
		}
		t.Skip("node or npm is not installed; the aria2 client test needs both")
	}

	work := t.TempDir()
	for _, f := range []string{"package.json", "package-lock.json", "client.js"} {
		data, err := os.ReadFile(filepath.Join(clientDir, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(work, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	install := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error")
	install.Dir = work
	install.Env = append(os.Environ(), "npm_config_update_notifier=false")
	if out, err := install.CombinedOutput(); err != nil {
		if inCI {
			t.Fatalf("npm ci of the aria2 client failed: %v\n%s", err, out)
		}
		t.Skipf("npm ci of the aria2 client failed (no registry?): %v\n%s", err, out)
	}

	const fastSize, slowSize = 2 << 20, 64 << 20
	fast := startOrigin(t, testorigin.Config{Size: fastSize, Seed: seed, Name: "fast.bin"})
	// 1 MiB/s: a minute unless stopped.
	slow := startOrigin(t, testorigin.Config{Size: slowSize, Seed: seed + 10, Name: "slow.bin", RatePerSource: 1 << 20})
	eng := newEngine(t, true)
	_, url := startServer(t, eng)
	port := portOf(t, url)
	outDir := filepath.Join(t.TempDir(), "from-aria2js")

	run := exec.CommandContext(ctx, node, "client.js")
	run.Dir = work
	run.Env = append(os.Environ(),
		"RPC_PORT="+port, "RPC_SECRET="+secret,
		"FAST_URL="+fast.url, "SLOW_URL="+slow.url, "OUT_DIR="+outDir,
		"NODE_NO_WARNINGS=1",
	)
	var stdout, stderr bytes.Buffer
	run.Stdout, run.Stderr = &stdout, &stderr
	begin := time.Now()
	err := run.Run()
	t.Logf("aria2.js client ran in %v\n%s", time.Since(begin).Round(time.Millisecond), stderr.String())
	if err != nil {
		t.Fatalf("the aria2 client's checks failed: %v\nstdout: %s", err, stdout.String())
	}
	var result struct {
		OK            bool
		Fast, Slow    string
		Notifications []struct{ Name, GID string }
	}
	if err := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &result); err != nil || !result.OK {
		t.Fatalf("client output %q: %v", stdout.String(), err)
	}

	// What the client saw is what happened in the engine.
	data, err := os.ReadFile(filepath.Join(outDir, "fast.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != testorigin.SumSHA256(seed, fastSize) {
		t.Error("fast.bin has the wrong bytes")
	}
	if _, err := os.Stat(filepath.Join(outDir, "slow.bin")); err == nil {
		t.Error("the removed download left slow.bin")
	}
	downloads := eng.Downloads()
	if len(downloads) != 1 || rpc.GID(downloads[0].ID) != result.Fast || downloads[0].State != core.StateDone {
		t.Errorf("engine's downloads after the client: %+v", downloads)
	}
	if slow.BytesServed() >= slowSize {
		t.Error("the slow file was served whole: remove did not stop it")
	}
	var names []string
	for _, n := range result.Notifications {
		if n.GID == result.Slow {
			names = append(names, n.Name)
		}
	}
	if got := strings.Join(names, " "); got != "onDownloadStart onDownloadPause onDownloadStart onDownloadStop" {
		t.Errorf("notifications for the paused and removed download: %s", got)
	}
}
