package store

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dragonload/dragonload/core/span"
)

// hashContent is size bytes that differ from piece to piece, so a piece
// hashed at the wrong place or twice changes the sum.
func hashContent(size int, seed uint64) []byte {
	b := make([]byte, size)
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	for i := 0; i < size; i += 8 {
		v := r.Uint64()
		for k := 0; k < 8 && i+k < size; k++ {
			b[i+k] = byte(v >> (8 * k))
		}
	}
	return b
}

// pieces cuts [0, size) into ranges of uneven lengths around 300 KiB, so
// they straddle the hash's 1 MiB pieces.
func pieces(size int64, r *rand.Rand) []span.Range {
	var rs []span.Range
	for off := int64(0); off < size; {
		end := min(size, off+200<<10+r.Int64N(200<<10))
		rs = append(rs, span.Range{Off: off, End: end})
		off = end
	}
	return rs
}

// writeCommit writes and commits each of rs from content, in that order.
func writeCommit(t *testing.T, p *Partial, content []byte, rs []span.Range) {
	t.Helper()
	for _, r := range rs {
		mustWrite(t, p, content[r.Off:r.End], r.Off)
		must(t, p.Commit([]span.Range{r}))
	}
}

// hashedUpTo reports how far the running hash has got.
func hashedUpTo(p *Partial) int64 {
	p.hash.mu.Lock()
	defer p.hash.mu.Unlock()
	return p.hash.hashed
}

// waitHashed waits for the background hash to reach n bytes.
func waitHashed(t *testing.T, p *Partial, n int64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for hashedUpTo(p) < n {
		if time.Now().After(deadline) {
			t.Fatalf("the running hash is at %d after 20 s, not at %d", hashedUpTo(p), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// checkSum checks that Finish succeeded and that Sum is the SHA-256 of
// the final file and of want.
func checkSum(t *testing.T, p *Partial, final string, want []byte) {
	t.Helper()
	got, ok := p.Sum()
	if !ok {
		t.Fatal("Sum reports nothing after a successful Finish")
	}
	b, err := os.ReadFile(final)
	if err != nil {
		t.Fatal(err)
	}
	if onDisk := sha256.Sum256(b); got != onDisk {
		t.Errorf("Sum = %x, but the file's SHA-256 is %x", got, onDisk)
	}
	if w := sha256.Sum256(want); got != w {
		t.Errorf("Sum = %x, want %x", got, w)
	}
}

func TestSumInOrder(t *testing.T) {
	for _, withSum := range []bool{false, true} {
		t.Run(map[bool]string{false: "unknown", true: "given"}[withSum], func(t *testing.T) {
			content := hashContent(5<<20+12345, 1)
			meta := testMeta(int64(len(content)))
			if withSum {
				s := sha256.Sum256(content)
				meta.SHA256 = hex.EncodeToString(s[:])
			}
			p, _ := mustOpen(t, t.TempDir(), "in.bin", meta, Options{})
			writeCommit(t, p, content, pieces(meta.Size, rand.New(rand.NewPCG(2, 2))))
			if _, ok := p.Sum(); ok {
				t.Error("Sum reports a sum before Finish")
			}
			final, err := p.Finish()
			must(t, err)
			checkSum(t, p, final, content)
		})
	}
}

func TestSumOutOfOrder(t *testing.T) {
	content := hashContent(6<<20+777, 3)
	meta := testMeta(int64(len(content)))
	p, _ := mustOpen(t, t.TempDir(), "shuffled.bin", meta, Options{})
	r := rand.New(rand.NewPCG(4, 4))
	rs := pieces(meta.Size, r)
	r.Shuffle(len(rs), func(i, j int) { rs[i], rs[j] = rs[j], rs[i] })
	writeCommit(t, p, content, rs)
	final, err := p.Finish()
	must(t, err)
	checkSum(t, p, final, content)
}

// TestSumConcurrentCommits commits pieces from several goroutines at
// once, as the transfer does, while the hash runs behind them.
func TestSumConcurrentCommits(t *testing.T) {
	content := hashContent(4<<20+99, 5)
	meta := testMeta(int64(len(content)))
	p, _ := mustOpen(t, t.TempDir(), "c.bin", meta, Options{})
	rs := pieces(meta.Size, rand.New(rand.NewPCG(6, 6)))
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Go(func() {
			for i := w; i < len(rs); i += 3 {
				r := rs[i]
				if _, err := p.WriteAt(content[r.Off:r.End], r.Off); err != nil {
					t.Error(err)
					return
				}
				if err := p.Commit([]span.Range{r}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	final, err := p.Finish()
	must(t, err)
	checkSum(t, p, final, content)
}

// TestSumResumed: a download closed halfway is reopened; its durable
// prefix is hashed again in the background, and the sum is the file's.
func TestSumResumed(t *testing.T) {
	content := hashContent(5<<20+1, 7)
	meta := testMeta(int64(len(content)))
	dir := t.TempDir()
	rs := pieces(meta.Size, rand.New(rand.NewPCG(8, 8)))
	half := len(rs) / 2
	p, _ := mustOpen(t, dir, "r.bin", meta, Options{})
	// The first half, and one piece further on, so the prefix has a hole
	// after it.
	writeCommit(t, p, content, rs[:half])
	writeCommit(t, p, content, rs[half+2:half+3])
	must(t, p.Close())

	q, resumed := mustOpen(t, dir, "r.bin", meta, Options{})
	if !resumed {
		t.Fatal("not resumed")
	}
	prefix := rs[half-1].End
	waitHashed(t, q, prefix) // without any Commit: the background catches up
	if got := hashedUpTo(q); got != prefix {
		t.Errorf("the hash ran to %d, past the durable prefix that ends at %d", got, prefix)
	}
	writeCommit(t, q, content, rs[half:half+2])
	writeCommit(t, q, content, rs[half+3:])
	final, err := q.Finish()
	must(t, err)
	checkSum(t, q, final, content)
}

func TestSumUnknownSize(t *testing.T) {
	content := hashContent(3<<20+5, 9)
	meta := testMeta(-1)
	p, _ := mustOpen(t, t.TempDir(), "s.bin", meta, Options{})
	var off int64
	for _, r := range pieces(int64(len(content)), rand.New(rand.NewPCG(10, 10))) {
		mustWrite(t, p, content[r.Off:r.End], r.Off)
		off = r.End
		if r.Off%3 == 0 {
			must(t, p.Commit([]span.Range{{Off: 0, End: off}}))
		}
	}
	must(t, p.Commit([]span.Range{{Off: 0, End: off}}))
	final, err := p.Finish()
	must(t, err)
	checkSum(t, p, final, content)
}

func TestSumEmpty(t *testing.T) {
	p, _ := mustOpen(t, t.TempDir(), "empty", testMeta(0), Options{})
	final, err := p.Finish()
	must(t, err)
	checkSum(t, p, final, nil)
}

// TestSumMismatch: a file that is not the link's still fails Finish and
// is deleted, and has no sum.
func TestSumMismatch(t *testing.T) {
	content := hashContent(2<<20+3, 11)
	meta := testMeta(int64(len(content)))
	meta.SHA256 = hex.EncodeToString(make([]byte, 32))
	dir := t.TempDir()
	p, _ := mustOpen(t, dir, "m.bin", meta, Options{})
	writeCommit(t, p, content, pieces(meta.Size, rand.New(rand.NewPCG(12, 12))))
	_, err := p.Finish()
	if !errors.Is(err, ErrChecksum) {
		t.Fatalf("Finish = %v; want a checksum error", err)
	}
	if got := entries(t, dir); len(got) != 0 {
		t.Errorf("folder holds %v after a failed Finish, want nothing", got)
	}
	if _, ok := p.Sum(); ok {
		t.Error("Sum reports a sum after a failed Finish")
	}
}

// TestSumAuditRewrite: bytes already hashed are rewritten (an audit
// repairing a lender's wrong bytes), and the sum is that of the final
// bytes: Verify fails before the repair and passes after it, and Finish
// puts the file in place. Without a SHA-256 to check, the rewrite after
// the background hash passed it is caught as well.
func TestSumAuditRewrite(t *testing.T) {
	content := hashContent(4<<20+17, 13)
	good := sha256.Sum256(content)
	wrong := append([]byte(nil), content...)
	for _, off := range []int{10, 1<<20 + 5, 3 << 20} {
		wrong[off] ^= 0xff
	}
	for _, withSum := range []bool{true, false} {
		t.Run(map[bool]string{false: "unknown", true: "given"}[withSum], func(t *testing.T) {
			meta := testMeta(int64(len(content)))
			if withSum {
				meta.SHA256 = hex.EncodeToString(good[:])
			}
			p, _ := mustOpen(t, t.TempDir(), "a.bin", meta, Options{})
			writeCommit(t, p, wrong, pieces(meta.Size, rand.New(rand.NewPCG(14, 14))))
			if withSum {
				if err := p.Verify(); !errors.Is(err, ErrChecksum) {
					t.Fatalf("Verify of the wrong bytes = %v; want a checksum error", err)
				}
			}
			waitHashed(t, p, meta.Size)
			for _, off := range []int64{10, 1<<20 + 5, 3 << 20} {
				mustWrite(t, p, content[off:off+1], off)
				must(t, p.Commit([]span.Range{{Off: off, End: off + 1}}))
			}
			if withSum {
				if err := p.Verify(); err != nil {
					t.Fatalf("Verify after the repair: %v", err)
				}
			}
			final, err := p.Finish()
			must(t, err)
			checkSum(t, p, final, content)
		})
	}
}

// TestSumRewriteWhileHashing rewrites hashed bytes while the background
// hash is running over them (meant for -race): the sum is still that of
// the final bytes.
func TestSumRewriteWhileHashing(t *testing.T) {
	content := hashContent(8<<20, 15)
	wrong := hashContent(8<<20, 16)
	meta := testMeta(int64(len(content)))
	for round := range 5 {
		p, _ := mustOpen(t, t.TempDir(), "w.bin", meta, Options{})
		mustWrite(t, p, wrong, 0)
		must(t, p.Commit([]span.Range{{Off: 0, End: meta.Size}}))
		// Repair it piece by piece, from the end backwards, while the
		// hash runs forwards over it.
		r := rand.New(rand.NewPCG(17, uint64(round)))
		for end := meta.Size; end > 0; {
			off := max(0, end-64<<10-r.Int64N(256<<10))
			mustWrite(t, p, content[off:end], off)
			end = off
		}
		final, err := p.Finish()
		must(t, err)
		checkSum(t, p, final, content)
	}
}

// countFS counts the bytes read back from data files.
type countFS struct {
	fileSystem
	read atomic.Int64
}

func (c *countFS) openFolder(dir string) (folder, error) {
	d, err := c.fileSystem.openFolder(dir)
	if err != nil {
		return nil, err
	}
	return countFolder{d, c}, nil
}

type countFolder struct {
	folder
	c *countFS
}

func (d countFolder) openData(name string) (dataFile, error) {
	f, err := d.folder.openData(name)
	if err != nil {
		return nil, err
	}
	return countFile{f, d.c}, nil
}

type countFile struct {
	dataFile
	c *countFS
}

func (f countFile) ReadAt(b []byte, off int64) (int, error) {
	n, err := f.dataFile.ReadAt(b, off)
	f.c.read.Add(int64(n))
	return n, err
}

// TestFinishReadsOnlyTheRest: once the background hash has caught up,
// Finish (and Verify) read nothing back; hashing at Finish, the old way,
// reads the whole file.
func TestFinishReadsOnlyTheRest(t *testing.T) {
	content := hashContent(3<<20+11, 19)
	sum := sha256.Sum256(content)
	meta := testMeta(int64(len(content)))
	meta.SHA256 = hex.EncodeToString(sum[:])
	for _, c := range []struct {
		name     string
		atFinish bool
		want     int64
	}{{"running", false, 0}, {"atFinish", true, meta.Size}} {
		t.Run(c.name, func(t *testing.T) {
			fsys := &countFS{fileSystem: osFS{}}
			p, _ := mustOpen(t, t.TempDir(), "f.bin", meta, Options{fs: fsys, hashAtFinish: c.atFinish})
			writeCommit(t, p, content, pieces(meta.Size, rand.New(rand.NewPCG(20, 20))))
			if !c.atFinish {
				waitHashed(t, p, meta.Size)
			}
			fsys.read.Store(0)
			must(t, p.Verify())
			final, err := p.Finish()
			must(t, err)
			if got := fsys.read.Load(); got != c.want {
				t.Errorf("Verify and Finish read back %d bytes, want %d", got, c.want)
			}
			checkSum(t, p, final, content)
		})
	}
}

// TestHashGoroutineEnds: the hash's goroutine ends with Close, Discard,
// Finish and a Finish that fails its checksum, and with nothing to hash.
func TestHashGoroutineEnds(t *testing.T) {
	base := settledGoroutines(t, -1)
	content := hashContent(3<<20, 21)
	bad := testMeta(int64(len(content)))
	bad.SHA256 = hex.EncodeToString(make([]byte, 32))
	for _, c := range []struct {
		name string
		meta Meta
		end  func(*Partial) error
	}{
		{"Close", testMeta(int64(len(content))), (*Partial).Close},
		{"Discard", testMeta(int64(len(content))), (*Partial).Discard},
		{"Finish", testMeta(int64(len(content))), func(p *Partial) error { _, err := p.Finish(); return err }},
		{"FinishMismatch", bad, func(p *Partial) error {
			if _, err := p.Finish(); !errors.Is(err, ErrChecksum) {
				return errors.New("no checksum error")
			}
			return nil
		}},
		{"CloseIdle", testMeta(int64(len(content))), nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			p, _, err := OpenOptions(dir, "g.bin", c.meta, Options{})
			must(t, err)
			done := p.hash.done
			if c.end == nil {
				must(t, p.Close())
			} else {
				// Stopped while the hash may still be running.
				writeCommit(t, p, content, pieces(c.meta.Size, rand.New(rand.NewPCG(22, 22))))
				must(t, c.end(p))
			}
			select {
			case <-done:
			default:
				t.Error("the hash's goroutine is still running")
			}
			must(t, p.Close()) // harmless again
		})
	}
	if n := settledGoroutines(t, base); n > base {
		t.Errorf("%d goroutines after, %d before", n, base)
	}
}

// settledGoroutines waits, up to a few seconds, for the number of
// goroutines to fall to want (or, with want < 0, to stop changing), and
// returns it.
func settledGoroutines(t *testing.T, want int) int {
	t.Helper()
	n := runtime.NumGoroutine()
	for range 200 {
		time.Sleep(10 * time.Millisecond)
		m := runtime.NumGoroutine()
		if (want >= 0 && m <= want) || (want < 0 && m == n) {
			return m
		}
		n = m
	}
	return n
}
