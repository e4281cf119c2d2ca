package quicwire

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
)

// BenchmarkMemberUnderFlood measures a member's 32 MiB fetch from a lender
// that serves it at 20 MB/s (as an origin link would), alone and while
// outsiders keep opening silent connections (TLS done, no
// HELLO) from 40 loopback addresses, up to 10,000 attempts per run, side
// by side in one run. The outsiders run in another process at the lowest
// CPU priority, standing for machines of their own: what is measured is
// what the flood costs the lender, not what it costs to make. It reports
// the ratio of the member's rates (1 = the flood costs it nothing), the
// attempts that got a connection, and the lender's heap growth. make
// bench writes it to test/bench/flood.txt.
func BenchmarkMemberUnderFlood(b *testing.B) {
	const size = 32 << 20
	lender := newNode(b, nodeOpts{lending: true, handler: pacedHandler{rate: 20e6}})
	retries := 0
	member := newNode(b, nodeOpts{})
	fetch := func() time.Duration {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		begin := time.Now()
		// The peer table redials a refused address; so does the member
		// here, and the retries are reported. (QUIC refuses a handshake
		// outright while its queue of connections to accept is full.)
		p, err := member.Dial(ctx, lender.Addr().String())
		for try := 1; err != nil && try < 5; try++ {
			retries++
			time.Sleep(100 * time.Millisecond)
			p, err = member.Dial(ctx, lender.Addr().String())
		}
		if err != nil {
			b.Fatal(err)
		}
		defer p.Close()
		var got int64
		if err := p.Fetch(ctx, FetchRequest{URL: "http://x/", Length: size, Size: -1},
			func(bs []byte) error { got += int64(len(bs)); return nil }); err != nil || got != size {
			b.Fatalf("fetch: %d bytes, %v", got, err)
		}
		return time.Since(begin)
	}
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	var ratio, held, growth, conns float64
	for range b.N {
		alone := fetch()
		before := heap()
		flood := exec.Command("nice", "-n", "19", os.Args[0], "-test.run=^TestFloodHelper$")
		flood.Env = append(os.Environ(), "DRAGONLOAD_FLOOD_TARGET="+lender.Addr().String())
		var out bytes.Buffer
		flood.Stdout = &out
		if err := flood.Start(); err != nil {
			b.Fatal(err)
		}
		time.Sleep(time.Second)
		attacked := fetch()
		u, _ := lender.admit.counts()
		after := heap()
		flood.Process.Signal(os.Interrupt)
		flood.Wait()
		opened := strings.Count(out.String(), "+")
		conns += float64(opened)
		ratio += alone.Seconds() / attacked.Seconds()
		held += float64(u)
		growth += float64(int64(after)-int64(before)) / (1 << 20)
	}
	b.ReportMetric(ratio/float64(b.N), "rate-under-flood/alone")
	b.ReportMetric(held/float64(b.N), "silent-conns-held")
	b.ReportMetric(growth/float64(b.N), "lender-heap-growth-MiB")
	b.ReportMetric(conns/float64(b.N), "flood-conns-opened")
	b.ReportMetric(float64(retries)/float64(b.N), "member-dial-retries")
}

// TestFloodHelper is the outsiders' process of BenchmarkMemberUnderFlood;
// it does nothing unless that benchmark started it.
func TestFloodHelper(t *testing.T) {
	target := os.Getenv("DRAGONLOAD_FLOOD_TARGET")
	if target == "" {
		return
	}
	addr, err := net.ResolveUDPAddr("udp", target)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 2, byte(10+i))})
			if err != nil {
				return
			}
			tr := &quic.Transport{Conn: udp}
			defer func() { tr.Close(); udp.Close() }()
			id, _ := NewIdentity()
			_, clientTLS, _ := tlsConfigs(id)
			for n := 0; n < 250 && ctx.Err() == nil; n++ {
				dctx, dcancel := context.WithTimeout(ctx, 2*time.Second)
				if _, err := tr.Dial(dctx, addr, clientTLS, quicConfig(false)); err == nil {
					os.Stdout.WriteString("+") // one connection the lender accepted
				}
				dcancel()
			}
		}()
	}
	wg.Wait()
}

// pacedHandler serves the test pattern at rate bytes per second, like a
// lender whose origin link is that fast.
type pacedHandler struct{ rate float64 }

func (h pacedHandler) ServeFetch(ctx context.Context, _ PeerInfo, req FetchRequest, w io.Writer) error {
	const piece = 64 << 10
	begin := time.Now()
	for off := int64(0); off < req.Length; off += piece {
		n := min(piece, req.Length-off)
		due := begin.Add(time.Duration(float64(off+n) / h.rate * float64(time.Second)))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Until(due)):
		}
		if err := writePattern(w, req.Offset+off, n, piece); err != nil {
			return err
		}
	}
	return nil
}
