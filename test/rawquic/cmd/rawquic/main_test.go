package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestGet sends a few MiB through serve and get on loopback, and checks the
// count and the line get prints.
func TestGet(t *testing.T) {
	const size = 3<<20 + 5 // not a multiple of the buffer
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	addr := make(chan string, 1)
	served := make(chan error, 1)
	go func() { served <- serve(ctx, "127.0.0.1:0", size, func(a string) { addr <- a }) }()
	var a string
	select {
	case a = <-addr:
	case err := <-served:
		t.Fatalf("serve: %v", err)
	}
	for range 2 { // one server, several connections
		var out bytes.Buffer
		if err := run([]string{"get", "-addr", a, "-size", fmt.Sprint(size)}, &out); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(out.String(), fmt.Sprintf("bytes %d seconds ", size)) {
			t.Fatalf("get printed %q", out.String())
		}
	}
	if err := run([]string{"get", "-addr", a, "-size", "7"}, &bytes.Buffer{}); err == nil {
		t.Error("get of the wrong size succeeded")
	}
	cancel()
	if err := <-served; err != nil {
		t.Fatalf("serve: %v", err)
	}
}

func TestHTTPGet(t *testing.T) {
	body := pattern()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) }))
	defer srv.Close()
	var out bytes.Buffer
	if err := run([]string{"httpget", "-url", srv.URL, "-size", "64KiB"}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "bytes 65536 seconds ") {
		t.Fatalf("httpget printed %q", out.String())
	}
}
