// Command loopbench measures pooling on loopback with the real binary: a
// requester and three agents, each bound with --source to its own
// 127.0.0.x address, download one file from the test origin, which shapes
// every source address to the same rate R. The ideal time is S/(4R); the
// same run also times the requester alone (ideal S/R). Each scenario runs
// several times; medians are reported. A third scenario is the requester
// alone with a link that names two mirrors besides the url: three test
// origins, each capping every source address at R, ideal S/(3R). Results
// go to a Markdown file.
//
//	go run ./test/loopbench -size 256MiB -rate 8MiB -runs 3 -out test/bench/loopback.md
package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	testorigin "github.com/dragonload/dragonload/test/origin"
)

const room = "bench-k3m9p-x7q2a-h4w8t"

func main() {
	sizeFlag := flag.String("size", "256MiB", "file size")
	rateFlag := flag.String("rate", "8MiB", "origin rate per source address, per second")
	runs := flag.Int("runs", 3, "runs per scenario")
	out := flag.String("out", "test/bench/loopback.md", "results file")
	bin := flag.String("bin", "bin/dragonload", "dragonload binary")
	flag.Parse()
	size, err := testorigin.ParseSize(*sizeFlag)
	check(err)
	rate, err := testorigin.ParseSize(*rateFlag)
	check(err)
	absBin, err := filepath.Abs(*bin)
	check(err)

	var pooled, alone, mirrored []result
	for i := 0; i < *runs; i++ {
		pooled = append(pooled, measure(absBin, size, rate, 3, 0))
		fmt.Fprintf(os.Stderr, "pooled run %d: %v\n", i+1, pooled[i])
		alone = append(alone, measure(absBin, size, rate, 0, 0))
		fmt.Fprintf(os.Stderr, "alone run %d: %v\n", i+1, alone[i])
		mirrored = append(mirrored, measure(absBin, size, rate, 0, 2))
		fmt.Fprintf(os.Stderr, "mirrors run %d: %v\n", i+1, mirrored[i])
	}
	report(*out, size, rate, pooled, alone, mirrored)
}

type result struct {
	elapsed time.Duration
	served  int64
	by      map[string]int64
}

func (r result) String() string {
	return fmt.Sprintf("%.2fs, origin %d bytes %v", r.elapsed.Seconds(), r.served, r.by)
}

// measure runs one download with n agents (0 = the requester alone),
// from a link naming the origin and m mirrors (each another test origin
// with the same cap).
func measure(bin string, size, rate int64, n, m int) result {
	var origins []*testorigin.Server
	for range 1 + m {
		o := testorigin.New(testorigin.Config{Size: size, Seed: 11, RatePerSource: rate})
		check(o.Start("127.0.0.1:0"))
		defer o.Close()
		origins = append(origins, o)
	}
	o := origins[0]
	tmp, err := os.MkdirTemp("", "loopbench-")
	check(err)
	defer os.RemoveAll(tmp)
	source := o.URL()
	if m > 0 {
		var b strings.Builder
		fmt.Fprintf(&b, "url = %q\nmirrors = [\n", o.URL())
		for _, mo := range origins[1:] {
			fmt.Fprintf(&b, "  %q,\n", mo.URL())
		}
		b.WriteString("]\n")
		source = filepath.Join(tmp, "file.dragon")
		check(os.WriteFile(source, []byte(b.String()), 0o644))
	}

	var peers []string
	var procs []*exec.Cmd
	defer func() {
		for _, p := range procs {
			syscall.Kill(-p.Process.Pid, syscall.SIGKILL)
			p.Wait()
		}
	}()
	for i := 0; i < n; i++ {
		ip := fmt.Sprintf("127.0.0.%d", 21+i)
		addr := freeUDP(ip)
		home := filepath.Join(tmp, "agent"+ip)
		cmd := exec.Command(bin, "agent", "--home", home, "--room", room, "--listen", addr, "--no-mdns",
			"--source", ip, "--allow-private-origins", "--log-level", "warn")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		cmd.Stderr = os.Stderr
		check(cmd.Start())
		procs = append(procs, cmd)
		peers = append(peers, addr)
	}
	outDir := filepath.Join(tmp, "out")
	check(os.MkdirAll(outDir, 0o755))
	args := []string{"get", source, "--home", filepath.Join(tmp, "req"), "--room", room, "--out", outDir,
		"--listen", "127.0.0.20:0", "--no-mdns", "--source", "127.0.0.20", "--allow-private-origins", "--log-level", "warn"}
	for _, p := range peers {
		args = append(args, "--peer", p)
	}
	// Agents bind within milliseconds; give them a moment so the measured
	// time is the download, not process start-up.
	time.Sleep(300 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	get := exec.CommandContext(ctx, bin, args...)
	get.Stderr = os.Stderr
	stdout, err := get.StdoutPipe()
	check(err)
	begin := time.Now()
	check(get.Start())
	path, _ := bufio.NewReader(stdout).ReadString('\n')
	check(get.Wait())
	elapsed := time.Since(begin)
	if got, want := sum(strings.TrimSpace(path)), testorigin.SumSHA256(11, size); got != want {
		fmt.Fprintf(os.Stderr, "loopbench: wrong sha256 %s, want %s\n", got, want)
		os.Exit(1)
	}
	var served int64
	for _, o := range origins {
		served += o.BytesServed()
	}
	return result{elapsed: elapsed, served: served, by: o.BytesBySource()}
}

func report(path string, size, rate int64, pooled, alone, mirrored []result) {
	med := func(rs []result) result {
		s := slices.Clone(rs)
		slices.SortFunc(s, func(a, b result) int { return int(a.elapsed - b.elapsed) })
		return s[len(s)/2]
	}
	mp, ma, mm := med(pooled), med(alone), med(mirrored)
	idealMirrored := time.Duration(float64(size) / float64(3*rate) * float64(time.Second))
	idealPooled := time.Duration(float64(size) / float64(4*rate) * float64(time.Second))
	idealAlone := time.Duration(float64(size) / float64(rate) * float64(time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "# Loopback pooling benchmark\n\n")
	fmt.Fprintf(&b, "`go run ./test/loopbench -size %d -rate %d -runs %d` on %s, %s.\n\n", size, rate, len(pooled), hostname(), time.Now().UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "Requester and agents on 127.0.0.20–23, each bound with `--source`; the test origin caps every source address at R = %s/s. File S = %s. Medians of %d runs, all correct (sha256 checked).\n\n", human(rate), human(size), len(pooled))
	fmt.Fprintf(&b, "| scenario | time (median) | ideal | ratio | target | origin bytes / S |\n|---|---|---|---|---|---|\n")
	fmt.Fprintf(&b, "| requester + 3 agents | %.2f s | %.2f s = S/(4R) | %.3f | ≤ 1.10 | %.4f |\n", mp.elapsed.Seconds(), idealPooled.Seconds(), mp.elapsed.Seconds()/idealPooled.Seconds(), float64(mp.served)/float64(size))
	fmt.Fprintf(&b, "| requester alone | %.2f s | %.2f s = S/R | %.3f | — | %.4f |\n", ma.elapsed.Seconds(), idealAlone.Seconds(), ma.elapsed.Seconds()/idealAlone.Seconds(), float64(ma.served)/float64(size))
	fmt.Fprintf(&b, "| requester alone, url + 2 mirrors | %.2f s | %.2f s = S/(3R) | %.3f | ≤ 1.05 | %.4f (all three) |\n", mm.elapsed.Seconds(), idealMirrored.Seconds(), mm.elapsed.Seconds()/idealMirrored.Seconds(), float64(mm.served)/float64(size))
	fmt.Fprintf(&b, "\nSpeed-up of pooling over the requester alone, same run: %.2f× (ideal 4×).\n\n", ma.elapsed.Seconds()/mp.elapsed.Seconds())
	fmt.Fprintf(&b, "All runs:\n\n")
	for i := range pooled {
		fmt.Fprintf(&b, "- run %d: pooled %.2f s (origin %d B), alone %.2f s (origin %d B), mirrors %.2f s (origins %d B)\n", i+1, pooled[i].elapsed.Seconds(), pooled[i].served, alone[i].elapsed.Seconds(), alone[i].served, mirrored[i].elapsed.Seconds(), mirrored[i].served)
	}
	check(os.MkdirAll(filepath.Dir(path), 0o755))
	check(os.WriteFile(path, []byte(b.String()), 0o644))
	fmt.Print(b.String())
}

func freeUDP(ip string) string {
	c, err := net.ListenPacket("udp", ip+":0")
	check(err)
	defer c.Close()
	return c.LocalAddr().String()
}

func sum(path string) string {
	f, err := os.Open(path)
	check(err)
	defer f.Close()
	h := sha256.New()
	_, err = io.Copy(h, f)
	check(err)
	return hex.EncodeToString(h.Sum(nil))
}

func human(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d B", n)
}

func hostname() string {
	h, _ := os.Hostname()
	return fmt.Sprintf("%s (%d cores)", h, nprocs())
}

func nprocs() int {
	out, err := exec.Command("nproc").Output()
	if err != nil {
		return 0
	}
	var n int
	fmt.Sscan(string(out), &n)
	return n
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "loopbench:", err)
		os.Exit(1)
	}
}
