package store

import (
	"testing"

	"github.com/dragonload/dragonload/core/span"
)

// BenchmarkCommit measures what one journal commit costs on this disk:
// fdatasync of the data written since the last one, then the atomic
// journal replacement. The transfer commits every 4 MiB (or second), so
// at 32 MiB/s that is 8 commits a second; `make bench` records the figure
// in test/bench/commit.txt.
func BenchmarkCommit(b *testing.B) {
	const chunk = 4 << 20
	size := int64(b.N+1) * chunk
	p, _, err := Open(b.TempDir(), "bench.bin", testMeta(size))
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	buf := make([]byte, chunk)
	for i := range buf {
		buf[i] = byte(i)
	}
	b.SetBytes(chunk)
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		off := int64(i) * chunk
		if _, err := p.WriteAt(buf, off); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := p.Commit([]span.Range{{Off: off, End: off + chunk}}); err != nil {
			b.Fatal(err)
		}
	}
}
