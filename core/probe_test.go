package core_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dragonload/dragonload/core"
	testorigin "github.com/dragonload/dragonload/test/origin"
	"github.com/dragonload/dragonload/test/testkit"
)

// TestProbeCarriesFirstChunk: a download's first request to the origin is
// the probe, and its answer is the file's first chunk: no HEAD, no request
// of one byte, no second request for bytes from 0, and the origin sends
// every byte of the file exactly once.
func TestProbeCarriesFirstChunk(t *testing.T) {
	const size = 6 * mib
	o := testorigin.New(testorigin.Config{Size: size, Seed: seed, RatePerSource: 16 * mib, Latency: 20 * time.Millisecond})
	var (
		mu   sync.Mutex
		seen []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.Header.Get("Range"))
		mu.Unlock()
		o.ServeHTTP(w, r)
	}))
	defer srv.Close()

	e := newEngine(t, nil)
	events, cancel := e.Subscribe()
	defer cancel()
	id, err := e.Add(srv.URL+"/file.bin", "")
	if err != nil {
		t.Fatal(err)
	}
	end := finish(t, events, id, time.Minute)
	if end.State != core.StateDone {
		t.Fatalf("got %v: %v", end.State, end.Err)
	}
	if got, want := testkit.FileSHA256(t, end.Path), testorigin.SumSHA256(seed, size); got != want {
		t.Fatalf("sha256 %s, want %s", got, want)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) == 0 || seen[0] != "GET bytes=0-1048575" {
		t.Fatalf("requests %q: want the first to be GET bytes=0-1048575", seen)
	}
	for _, s := range seen[1:] {
		if !strings.HasPrefix(s, "GET bytes=") || strings.HasPrefix(s, "GET bytes=0-") {
			t.Fatalf("requests %q: want only ranged GETs after the probe, none from byte 0", seen)
		}
	}
	if got := o.BytesServed(); got != size {
		t.Fatalf("the origin sent %d bytes for a %d-byte file", got, size)
	}
}
