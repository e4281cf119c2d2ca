package lend

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/dragonload/dragonload/core/origin"
	"github.com/dragonload/dragonload/quicwire"
	testorigin "github.com/dragonload/dragonload/test/origin"
)

func startOrigin(t *testing.T, cfg testorigin.Config) *testorigin.Server {
	t.Helper()
	s := testorigin.New(cfg)
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func request(url string, size, off, n int64) quicwire.FetchRequest {
	return quicwire.FetchRequest{URL: url, Offset: off, Length: n, Size: size, ETag: ""}
}

// code extracts the remote error code a handler returned.
func code(t *testing.T, err error) quicwire.Code {
	t.Helper()
	var re *quicwire.RemoteError
	if !errors.As(err, &re) {
		t.Fatalf("want a *quicwire.RemoteError, got %v", err)
	}
	return re.Code
}

func TestServeFetchStreamsExactBytes(t *testing.T) {
	const size = 4 << 20
	o := startOrigin(t, testorigin.Config{Size: size, Seed: 9, NoETag: true})
	var lent int
	s := New(Options{Origin: origin.New(origin.Options{AllowPrivate: true}), Lending: true,
		OnLent: func(quicwire.NodeID, int) { lent++ }})
	var buf bytes.Buffer
	if err := s.ServeFetch(t.Context(), quicwire.PeerInfo{}, request(o.URL(), size, 1000, 300000), &buf); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), testorigin.Content(9, 1000, 300000)) {
		t.Fatal("wrong bytes")
	}
	if lent == 0 {
		t.Error("OnLent was never called")
	}
}

func TestServeFetchRefusals(t *testing.T) {
	const size = 1 << 20
	o := startOrigin(t, testorigin.Config{Size: size, Seed: 9, NoETag: true})
	strict := New(Options{Origin: origin.New(origin.Options{}), Lending: true})
	open := New(Options{Origin: origin.New(origin.Options{AllowPrivate: true}), Lending: true})
	off := New(Options{Origin: origin.New(origin.Options{AllowPrivate: true}), Lending: false})
	tests := []struct {
		name string
		s    *Server
		req  quicwire.FetchRequest
		want quicwire.Code
	}{
		{"not lending", off, request(o.URL(), size, 0, 10), quicwire.NotLending},
		{"loopback origin", strict, request(o.URL(), size, 0, 10), quicwire.Forbidden},
		{"cloud metadata address", strict, request("http://169.254.169.254/latest/meta-data", size, 0, 10), quicwire.Forbidden},
		{"private address", strict, request("http://10.1.2.3/x", size, 0, 10), quicwire.Forbidden},
		{"file scheme", open, request("file:///etc/passwd", size, 0, 10), quicwire.BadRequest},
		{"too large", open, request(o.URL(), 1<<30, 0, MaxRequest+1), quicwire.BadRequest},
		{"past the end", open, request(o.URL(), size, size-5, 10), quicwire.BadRequest},
		{"negative offset", open, request(o.URL(), size, -1, 10), quicwire.BadRequest},
		{"header injection", open, quicwire.FetchRequest{URL: o.URL(), Offset: 0, Length: 10, Size: size, Headers: map[string]string{"Range": "bytes=0-"}}, quicwire.BadRequest},
		{"origin status", open, request(o.URL()+"-missing", size, 0, 10), quicwire.OriginStatus},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			err := tc.s.ServeFetch(ctx, quicwire.PeerInfo{}, tc.req, io.Discard)
			if got := code(t, err); got != tc.want {
				t.Fatalf("code %v (%v), want %v", got, err, tc.want)
			}
		})
	}
	if n := o.BytesServed(); n != 0 {
		t.Errorf("refused requests still fetched %d bytes from the origin", n)
	}
}

func TestServeFetchBusy(t *testing.T) {
	const size = 8 << 20
	o := startOrigin(t, testorigin.Config{Size: size, Seed: 9, NoETag: true, RatePerSource: 256 << 10})
	s := New(Options{Origin: origin.New(origin.Options{AllowPrivate: true}), Lending: true, Concurrency: 1})
	ctx, cancel := context.WithCancel(t.Context())
	started := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.ServeFetch(ctx, quicwire.PeerInfo{}, request(o.URL(), size, 0, size), writerFunc(func(p []byte) (int, error) {
			select {
			case <-started:
			default:
				close(started)
			}
			return len(p), nil
		}))
	}()
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("first request never started")
	}
	if got := code(t, s.ServeFetch(t.Context(), quicwire.PeerInfo{}, request(o.URL(), size, 0, 10), io.Discard)); got != quicwire.Busy {
		t.Fatalf("second request: %v, want Busy", got)
	}
	cancel()
	<-done
	if err := s.ServeFetch(t.Context(), quicwire.PeerInfo{}, request(o.URL(), size, 0, 10), io.Discard); err != nil {
		t.Fatalf("after the first finished, a request failed: %v", err)
	}
}

func TestServeFetchRateCap(t *testing.T) {
	// Load only slows this down, so only a lower bound on time is checked.
	const size, rate, n = 4 << 20, 1 << 20, 1 << 20
	o := startOrigin(t, testorigin.Config{Size: size, Seed: 9, NoETag: true})
	s := New(Options{Origin: origin.New(origin.Options{AllowPrivate: true}), Lending: true, Rate: rate})
	begin := time.Now()
	if err := s.ServeFetch(t.Context(), quicwire.PeerInfo{}, request(o.URL(), size, 0, n), io.Discard); err != nil {
		t.Fatal(err)
	}
	if floor := time.Duration(float64(n-burst) / rate * float64(time.Second)); time.Since(begin) < floor {
		t.Fatalf("lent 1 MiB in %v under a 1 MiB/s cap (floor %v)", time.Since(begin), floor)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// TestForbiddenSaysNothingMore: a member must not learn from a refusal
// where a name resolves on the lender's side, what kind of network that
// is, or what the target would have answered; only the code goes back.
// An ordinary origin failure keeps its sentence, which the member could
// have got from the origin itself.
func TestForbiddenSaysNothingMore(t *testing.T) {
	const size = 1 << 20
	o := startOrigin(t, testorigin.Config{Size: size, Seed: 9, NoETag: true})
	strict := New(Options{Origin: origin.New(origin.Options{}), Lending: true})
	for _, url := range []string{
		o.URL(),              // exists: 206 and the size, if it were fetched
		o.URL() + "-missing", // would answer 404
		"http://169.254.169.254/latest/meta-data/",
		"http://[::ffff:10.1.2.3]:8080/x",
	} {
		err := strict.ServeFetch(t.Context(), quicwire.PeerInfo{}, request(url, size, 0, 10), io.Discard)
		var re *quicwire.RemoteError
		if !errors.As(err, &re) {
			t.Fatalf("%s: %v, want a remote error", url, err)
		}
		if *re != (quicwire.RemoteError{Code: quicwire.Forbidden}) {
			t.Errorf("%s: %+v, want the Forbidden code and nothing else", url, *re)
		}
		if got := err.Error(); got != "peer refused fetch: forbidden" {
			t.Errorf("%s: the member reads %q", url, got)
		}
	}
	if n := o.Requests(); n != 0 {
		t.Errorf("the refused origin got %d requests", n)
	}

	open := New(Options{Origin: origin.New(origin.Options{AllowPrivate: true}), Lending: true})
	err := open.ServeFetch(t.Context(), quicwire.PeerInfo{}, request(o.URL()+"-missing", size, 0, 10), io.Discard)
	var re *quicwire.RemoteError
	if !errors.As(err, &re) || re.Code != quicwire.OriginStatus || re.HTTPStatus != 404 || !strings.Contains(re.Message, "404") {
		t.Errorf("an origin's 404: %v, want OriginStatus 404 with its sentence", err)
	}
}
