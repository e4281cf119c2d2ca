// Command testorigin runs the Dragonload test origin as a process, for the
// benchmarks and the network test bed (which start it inside network
// namespaces).
//
//	testorigin -listen 127.0.0.1:0 -size 256MiB -seed 1 -rate 2.5MB -latency 20ms [-name file.bin]
//
// Further flags switch on the quirks of testorigin.Quirks by the same
// names (-trickle-every, -stall-every, -no-answer, -weak-etag, ...); run
// with -h for the list.
//
// Once listening it prints exactly two lines to stdout,
//
//	url http://ADDR/NAME
//	sha256 HEX
//
// logs to stderr, and on SIGTERM or SIGINT prints "served BYTES" (file
// bytes sent to all clients) and exits 0.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	testorigin "github.com/dragonload/dragonload/test/origin"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "testorigin:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		listen    = flag.String("listen", "127.0.0.1:0", "TCP address to listen on")
		sizeStr   = flag.String("size", "64MiB", "file size (KiB, MiB, GiB, MB, ... suffixes)")
		seed      = flag.Int64("seed", 1, "content seed")
		rateStr   = flag.String("rate", "0", "bytes per second per client IP (e.g. 2.5MB, 20Mbit); 0 = unlimited")
		shared    = flag.Bool("shared-rate", false, "make -rate one budget for all clients together, as behind one shared uplink")
		latency   = flag.Duration("latency", 0, "delay before each response's headers")
		name      = flag.String("name", "file.bin", "file name in the URL")
		noRange   = flag.Bool("no-range", false, "ignore Range headers")
		noETag    = flag.Bool("no-etag", false, "send no ETag")
		redirects = flag.Int("redirects", 0, "redirect hops before the file")
		verbose   = flag.Bool("v", false, "log every request")

		unavailable  = flag.Int("unavailable-first", 0, "answer the first N file requests with 503")
		retryAfter   = flag.String("retry-after", "", "verbatim Retry-After of every 503 (e.g. 1000000000 or an HTTP date)")
		trickleEvery = flag.Int("trickle-every", 0, "every Nth body response trickles one byte per second")
		trickleAfter = flag.String("trickle-after", "4KiB", "bytes a trickling response sends at full speed first")
		stallEvery   = flag.Int("stall-every", 0, "every Nth body response stalls after 4 KiB")
		noAnswer     = flag.Bool("no-answer", false, "read requests but never answer them")
		weakETag     = flag.Bool("weak-etag", false, "send the ETag as a weak tag W/\"...\"")
		altETags     = flag.Bool("alternate-etags", false, "alternate between two strong ETags for the same bytes")
		dropETag     = flag.Int("drop-etag-every", 0, "leave the ETag out of every Nth response")
		wholeZero    = flag.Bool("whole-for-zero-zero", false, "answer Range: bytes=0-0 with the whole file under 206, like busybox httpd")
	)
	flag.Parse()
	if flag.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", flag.Arg(0))
	}
	size, err := testorigin.ParseSize(*sizeStr)
	if err != nil {
		return err
	}
	rate, err := testorigin.ParseSize(*rateStr)
	if err != nil {
		return err
	}
	trickle, err := testorigin.ParseSize(*trickleAfter)
	if err != nil {
		return err
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	sum := testorigin.SumSHA256(*seed, size)
	srv := testorigin.New(testorigin.Config{
		Size:          size,
		Seed:          *seed,
		RatePerSource: rate,
		SharedRate:    *shared,
		Latency:       *latency,
		NoETag:        *noETag,
		Name:          *name,
		Quirks: testorigin.Quirks{
			NoRange:          *noRange,
			Redirects:        *redirects,
			UnavailableFirst: *unavailable,
			RetryAfterValue:  *retryAfter,
			TrickleEvery:     *trickleEvery,
			TrickleAfter:     trickle,
			StallEvery:       *stallEvery,
			NoAnswer:         *noAnswer,
			WeakETag:         *weakETag,
			AlternateETags:   *altETags,
			DropETagEvery:    *dropETag,
			WholeForZeroZero: *wholeZero,
		},
		Logger: log,
	})
	if err := srv.Start(*listen); err != nil {
		return err
	}
	fmt.Printf("url %s\nsha256 %s\n", srv.URL(), sum)

	<-ctx.Done()
	err = srv.Close()
	fmt.Printf("served %d\n", srv.BytesServed())
	if err != nil {
		log.Warn("closing", "err", err)
	}
	return nil
}
