// Command testorigin runs the Dragonload test origin as a process, for the
// benchmarks and the network test bed (which start it inside network
// namespaces).
//
//	testorigin -listen 127.0.0.1:0 -size 256MiB -seed 1 -rate 2.5MB -latency 20ms [-name file.bin]
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
		latency   = flag.Duration("latency", 0, "delay before each response's headers")
		name      = flag.String("name", "file.bin", "file name in the URL")
		noRange   = flag.Bool("no-range", false, "ignore Range headers")
		noETag    = flag.Bool("no-etag", false, "send no ETag")
		redirects = flag.Int("redirects", 0, "redirect hops before the file")
		verbose   = flag.Bool("v", false, "log every request")
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
		Latency:       *latency,
		NoETag:        *noETag,
		Name:          *name,
		Quirks:        testorigin.Quirks{NoRange: *noRange, Redirects: *redirects},
		Logger:        log,
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
