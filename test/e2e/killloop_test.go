package e2e

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	testorigin "github.com/dragonload/dragonload/test/origin"
	"github.com/dragonload/dragonload/test/testkit"
)

// killLoopSeed picks the sizes and kill points; DRAGONLOAD_KILLLOOP_SEED
// replaces it to replay or vary a run.
const killLoopSeed = 20261203

// TestKillLoop SIGKILLs the requester 4 times at random points during each
// of 5 downloads (48-96 MiB, two lenders helping), then lets a last run
// finish each file. Every file must be right, and a kill may cost only
// what was not yet durable: the journal is committed every 4 MiB or 1 s,
// plus what was in flight.
func TestKillLoop(t *testing.T) {
	const (
		files        = 5
		killsPerFile = 4
		rate         = 32 * mib // per source address: the requester alone would get ~32 MiB/s
		// The mean refetch per kill may be the commit interval (4 MiB) plus
		// an allowance for bytes in flight (sent by the origin, not yet
		// written and committed by the requester).
		maxMeanRefetch = 4*mib + 8*mib
	)
	rs := int64(killLoopSeed)
	if v := os.Getenv("DRAGONLOAD_KILLLOOP_SEED"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			t.Fatalf("DRAGONLOAD_KILLLOOP_SEED=%q: %v", v, err)
		}
		rs = n
	}
	t.Logf("kill loop seed %d (set DRAGONLOAD_KILLLOOP_SEED to replay another)", rs)
	rng := rand.New(rand.NewPCG(uint64(rs), uint64(rs)>>1|1))

	began := time.Now()
	var peers []string
	for _, ip := range []string{"127.0.0.3", "127.0.0.4"} {
		a, addr := agent(t, ip, testRoom)
		waitAgentUp(t, a)
		peers = append(peers, addr)
		if os.Getenv("DRAGONLOAD_E2E_LOGS") != "" {
			t.Cleanup(func() { t.Logf("--- output of %s ---\n%s", a.name, a.out.String()) })
		}
	}
	home := t.TempDir()

	type fileRow struct {
		size, served, lenders int64
		kills                 []string
		secs                  float64
	}
	var (
		rows                 []fileRow
		totalSize, totalRefx int64
	)
	for f := range files {
		size := int64(48+rng.IntN(49)) * mib // 48..96 MiB
		fileSeed := int64(100 + f)
		name := fmt.Sprintf("kill%d.bin", f)
		o := origin(t, testorigin.Config{Size: size, Seed: fileSeed, RatePerSource: rate, Name: name})
		out := t.TempDir()
		row := fileRow{size: size}
		fileBegan := time.Now()
		for k := range killsPerFile {
			durable := durableBytes(out, name)
			before := o.BytesServed()
			// A random point of this run's work: between 256 KiB and 90%
			// of what the journal lacks, counted in origin bytes.
			left := size - durable
			target := before + 256<<10 + rng.Int64N(max(left*9/10-256<<10, 1))
			get := start(t, fmt.Sprintf("get %s run %d", name, k+1), getArgs(home, out, "127.0.0.2", o.URL(), peers)...)
			waitFor(t, time.Minute, fmt.Sprintf("%s: origin bytes to reach %d", name, target), func() bool {
				return o.BytesServed() >= target || get.exited()
			})
			if get.exited() {
				t.Fatalf("%s run %d ended before its kill point (exit %v):\n%s", name, k+1, get.err, get.out.String())
			}
			get.kill()
			if names := testkit.VisibleFiles(t, out); len(names) != 0 {
				t.Fatalf("%s: a file appeared under its final name before completion: %v", name, names)
			}
			// What this run fetched and did not make durable is lost.
			after := durableBytes(out, name)
			lost := o.BytesServed() - before - (after - durable)
			row.kills = append(row.kills, fmt.Sprintf("%3.0f%% %4.1fM", 100*float64(after)/float64(size), float64(lost)/mib))
		}
		get := start(t, fmt.Sprintf("get %s final run", name), getArgs(home, out, "127.0.0.2", o.URL(), peers)...)
		if code := get.wait(2 * time.Minute); code != 0 {
			t.Fatalf("%s: the final run exited %d: %s", name, code, errorSentence(get.out.String()))
		}
		checkFileSeed(t, out, name, size, fileSeed)
		row.served = o.BytesServed()
		by := o.BytesBySource()
		row.lenders = by["127.0.0.3"] + by["127.0.0.4"]
		row.secs = time.Since(fileBegan).Seconds()
		rows = append(rows, row)
		totalSize += size
		totalRefx += row.served - size
		os.Remove(filepath.Join(out, name)) // keep the disk footprint to one file
		o.Close()
	}

	kills := files * killsPerFile
	mean := float64(totalRefx) / float64(kills)
	var b strings.Builder
	fmt.Fprintf(&b, "kill loop: %d files, %d SIGKILLs, %d MiB/s per source, 2 lenders, seed %d, %.1fs in all\n",
		files, kills, rate/mib, rs, time.Since(began).Seconds())
	fmt.Fprintf(&b, "%-5s %8s %10s %9s %8s %7s  %s\n", "file", "size MiB", "served MiB", "refetch", "lenders", "seconds", "at each kill: durable, lost")
	for i, r := range rows {
		fmt.Fprintf(&b, "%-5d %8d %10.1f %8.1fM %7.0f%% %7.1f  %s\n", i, r.size/mib, float64(r.served)/mib,
			float64(r.served-r.size)/mib, 100*float64(r.lenders)/float64(r.served), r.secs, strings.Join(r.kills, " | "))
	}
	fmt.Fprintf(&b, "mean refetch per kill: %.2f MiB (bound %d MiB = 4 MiB commit interval + 8 MiB in flight); origin served %.3f x the bytes of the files",
		mean/mib, maxMeanRefetch/mib, float64(totalSize+totalRefx)/float64(totalSize))
	t.Log(b.String())
	if mean > maxMeanRefetch {
		t.Errorf("mean refetch per kill %.2f MiB exceeds %d MiB", mean/mib, maxMeanRefetch/mib)
	}
}

// checkFileSeed asserts that out holds exactly the file name, of size
// bytes with the content of seed s, and nothing else.
func checkFileSeed(t *testing.T, out, name string, size, s int64) {
	t.Helper()
	names := testkit.VisibleFiles(t, out)
	if len(names) != 1 || names[0] != name {
		t.Fatalf("want exactly %s in %s, got %v", name, out, names)
	}
	path := filepath.Join(out, name)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() != size {
		t.Fatalf("%s is %d bytes, want %d", name, fi.Size(), size)
	}
	if got, want := testkit.FileSHA256(t, path), testorigin.SumSHA256(s, size); got != want {
		t.Fatalf("%s: sha256 %s, want %s", name, got, want)
	}
	if entries, _ := os.ReadDir(out); len(entries) != 1 {
		t.Errorf("leftover files beside %s: %v", name, entries)
	}
}
