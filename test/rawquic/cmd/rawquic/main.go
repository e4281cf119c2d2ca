// Command rawquic is the bench's reference for what one bulk transfer
// costs without Dragonload (issue 10, goal 4): quic-go alone, with the
// same receive windows as quicwire, or plain HTTP.
//
//	rawquic serve -listen ADDR -size N
//	rawquic get -addr ADDR -size N
//	rawquic httpget -url URL [-size N]
//
// serve listens for QUIC (a self-signed certificate made at start, ALPN
// "rawquic") and on each connection accepts one stream, reads the byte
// that opened it, writes N bytes from a 64 KiB buffer of fixed
// pseudo-random bytes and closes the stream; it runs until SIGTERM or
// SIGINT. get dials serve, opens a stream with one byte, reads it to the
// end into a 64 KiB buffer and discards it. httpget does the same for
// one HTTP GET. get and httpget print one line,
//
//	bytes N seconds S
//
// timed from the dial (or request) to the last byte, and fail when the
// count is not N.
package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/quic-go/quic-go"

	testorigin "github.com/dragonload/dragonload/test/origin"
)

// alpn names the protocol; nothing else speaks it.
const alpn = "rawquic"

// bufSize is the size of every read and write buffer.
const bufSize = 64 << 10

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "rawquic:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: rawquic serve -listen ADDR -size N | get -addr ADDR -size N | httpget -url URL [-size N]")
	}
	fs := flag.NewFlagSet("rawquic "+args[0], flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:4800", "serve: UDP address to listen on")
	addr := fs.String("addr", "127.0.0.1:4800", "get: the server's UDP address")
	url := fs.String("url", "", "httpget: the URL")
	sizeStr := fs.String("size", "0", "bytes to send (serve) or to expect (get, httpget; 0 = any)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	size, err := testorigin.ParseSize(*sizeStr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var n int64
	begin := time.Now()
	switch args[0] {
	case "serve":
		return serve(ctx, *listen, size, nil)
	case "get":
		n, err = get(ctx, *addr)
	case "httpget":
		n, err = httpGet(ctx, *url)
	default:
		return fmt.Errorf("unknown mode %q", args[0])
	}
	took := time.Since(begin)
	if err != nil {
		return err
	}
	if size > 0 && n != size {
		return fmt.Errorf("received %d bytes, want %d", n, size)
	}
	_, err = fmt.Fprintf(stdout, "bytes %d seconds %.6f\n", n, took.Seconds())
	return err
}

// quicConfig has quicwire's receive windows (quicwire/node.go), which
// bound how fast one stream can go; the rest is quic-go's defaults.
func quicConfig() *quic.Config {
	return &quic.Config{
		MaxStreamReceiveWindow:         4 << 20,
		MaxConnectionReceiveWindow:     12 << 20,
		InitialStreamReceiveWindow:     1 << 20,
		InitialConnectionReceiveWindow: 2 << 20,
	}
}

// serve sends size bytes on the first stream of every connection until
// ctx ends. ready, if set, learns the address once it listens.
func serve(ctx context.Context, listen string, size int64, ready func(addr string)) error {
	cert, err := selfSigned()
	if err != nil {
		return err
	}
	ln, err := quic.ListenAddr(listen, &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{alpn}, MinVersion: tls.VersionTLS13}, quicConfig())
	if err != nil {
		return err
	}
	defer ln.Close()
	if ready != nil {
		ready(ln.Addr().String())
	}
	data := pattern()
	for {
		conn, err := ln.Accept(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		go send(ctx, conn, data, size)
	}
}

// send writes size bytes of data, over and over, on the first stream conn
// opens, and waits until the receiver closes the connection: closing it
// here could drop bytes still in flight.
func send(ctx context.Context, conn *quic.Conn, data []byte, size int64) {
	defer conn.CloseWithError(0, "")
	s, err := conn.AcceptStream(ctx)
	if err != nil {
		return
	}
	if _, err := io.ReadFull(s, make([]byte, 1)); err != nil {
		return
	}
	for left := size; left > 0; {
		k, err := s.Write(data[:min(left, int64(len(data)))])
		left -= int64(k)
		if err != nil {
			return
		}
	}
	s.Close()
	select {
	case <-conn.Context().Done():
	case <-ctx.Done():
	}
}

// get receives one stream from serve at addr and returns its length.
func get(ctx context.Context, addr string) (int64, error) {
	conn, err := quic.DialAddr(ctx, addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{alpn}, MinVersion: tls.VersionTLS13}, quicConfig())
	if err != nil {
		return 0, err
	}
	defer conn.CloseWithError(0, "")
	s, err := conn.OpenStreamSync(ctx)
	if err != nil {
		return 0, err
	}
	// A stream reaches the server with its first frame: one byte opens it.
	if _, err := s.Write([]byte{1}); err != nil {
		return 0, err
	}
	if err := s.Close(); err != nil {
		return 0, err
	}
	return discard(s)
}

// httpGet receives the body of url and returns its length.
func httpGet(ctx context.Context, url string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	// No proxy from the environment: the request goes straight to url.
	client := &http.Client{Transport: &http.Transport{}}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: status %s", url, resp.Status)
	}
	return discard(resp.Body)
}

// discard reads r to the end through one buffer of bufSize.
func discard(r io.Reader) (int64, error) {
	buf := make([]byte, bufSize)
	var n int64
	for {
		k, err := r.Read(buf)
		n += int64(k)
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// pattern is bufSize bytes of fixed pseudo-random data: incompressible,
// and the same on every run.
func pattern() []byte {
	data := make([]byte, bufSize)
	mrand.NewChaCha8([32]byte{'r', 'a', 'w', 'q', 'u', 'i', 'c'}).Read(data)
	return data
}

// selfSigned makes a certificate nobody verifies (get skips verification).
func selfSigned() (tls.Certificate, error) {
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		DNSNames:     []string{alpn},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
