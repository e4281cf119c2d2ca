package store

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
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

// BenchmarkFinish measures the time from the last Commit of a 256 MiB
// download, committed every 4 MiB, to Finish returning, with the link's
// SHA-256 to check. "reread" is the old way, Finish reading the whole file
// back to hash it; "running" hashes alongside the download, and Finish
// reads only what the hash has not reached yet. The bytes were just
// written, so both read from the page cache, as a real Finish does.
func BenchmarkFinish(b *testing.B) {
	const size, chunk = 256 << 20, 4 << 20
	content := hashContent(size, 42)
	sum := sha256.Sum256(content)
	meta := testMeta(size)
	meta.SHA256 = hex.EncodeToString(sum[:])
	for _, c := range []struct {
		name   string
		reread bool
	}{{"reread", true}, {"running", false}} {
		b.Run(c.name, func(b *testing.B) {
			dir := b.TempDir()
			b.SetBytes(size)
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				p, _, err := OpenOptions(dir, "f.bin", meta, Options{hashAtFinish: c.reread})
				if err != nil {
					b.Fatal(err)
				}
				for off := int64(0); off < size; off += chunk {
					if _, err := p.WriteAt(content[off:off+chunk], off); err != nil {
						b.Fatal(err)
					}
					if err := p.Commit([]span.Range{{Off: off, End: off + chunk}}); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
				final, err := p.Finish()
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if err := os.Remove(final); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}
