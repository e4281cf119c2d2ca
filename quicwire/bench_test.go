package quicwire

import (
	"context"
	"io"
	"testing"
)

// BenchmarkFetch moves 256 MiB per operation over loopback, the handler
// writing 64 KiB pieces of the pattern file as fast as QUIC takes them.
// Run it alone: go test -run '^$' -bench BenchmarkFetch -benchtime 1x ./quicwire
func BenchmarkFetch(b *testing.B) {
	const size = 256 << 20
	lender := newNode(b, nodeOpts{handler: handlerFunc(func(_ context.Context, _ PeerInfo, r FetchRequest, w io.Writer) error {
		return writePattern(w, r.Offset, r.Length, 64<<10)
	})})
	p := dial(b, newNode(b, nodeOpts{}), lender)
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		var got int64
		err := p.Fetch(context.Background(), FetchRequest{URL: "http://h/", Length: size}, func(d []byte) error {
			got += int64(len(d))
			return nil
		})
		if err != nil || got != size {
			b.Fatalf("fetched %d bytes: %v", got, err)
		}
	}
}
