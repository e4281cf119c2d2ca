package netbed

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// netnsDir is where "ip netns" keeps the handles of named namespaces.
const netnsDir = "/run/netns"

// Dialer returns a DialContext function whose connections are opened inside
// the namespace ns (for example Host.NS). A socket belongs to the namespace
// it was created in, whatever thread uses it later.
func Dialer(ns string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		var conn net.Conn
		err := inNS(ns, func() error {
			var d net.Dialer
			c, err := d.DialContext(ctx, network, addr)
			conn = c
			return err
		})
		return conn, err
	}
}

// Listen opens a stream listener inside the namespace ns.
func Listen(ns, network, addr string) (net.Listener, error) {
	var l net.Listener
	err := inNS(ns, func() error {
		var err error
		l, err = net.Listen(network, addr)
		return err
	})
	return l, err
}

// HTTPClient returns a client whose connections start inside the namespace
// ns. It keeps no idle connections, so nothing outlives a request.
func HTTPClient(ns string) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			DialContext:           Dialer(ns),
			DisableKeepAlives:     true,
			ResponseHeaderTimeout: 30 * time.Second,
			Proxy:                 nil,
		},
	}
}

// inNS runs fn on an OS thread that has joined the namespace ns. The thread
// is never handed back to the Go scheduler: the goroutine exits while still
// locked, and the runtime then ends the thread instead of reusing it in the
// wrong namespace. fn must create its sockets synchronously.
func inNS(ns string, fn func() error) error {
	f, err := os.Open(filepath.Join(netnsDir, ns))
	if err != nil {
		return fmt.Errorf("cannot open network namespace %s: %w", ns, err)
	}
	defer f.Close()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("cannot enter network namespace %s: %w", ns, err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}
