package store

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/dragonload/dragonload/core/span"
)

// TestVerifyKeepsAndRepairs: Verify reports a mismatch without deleting
// anything, so the wrong bytes can be found and rewritten; after the
// repair Verify passes and Finish puts the file in place.
func TestVerifyKeepsAndRepairs(t *testing.T) {
	content := []byte("bytes from the origin, and some a lender changed")
	sum := sha256.Sum256(content)
	dir := t.TempDir()
	meta := testMeta(int64(len(content)))
	meta.SHA256 = hex.EncodeToString(sum[:])
	p, _ := mustOpen(t, dir, "r.bin", meta, Options{})
	wrong := append([]byte(nil), content...)
	wrong[30] ^= 0xff
	mustWrite(t, p, wrong, 0)
	if err := p.Commit([]span.Range{{Off: 0, End: meta.Size}}); err != nil {
		t.Fatal(err)
	}
	if err := p.Verify(); !errors.Is(err, ErrChecksum) {
		t.Fatalf("Verify of altered bytes = %v, want a checksum error", err)
	}
	if got := entries(t, dir); len(got) != 2 {
		t.Fatalf("after a failed Verify the folder holds %v, want the partial file and its journal", got)
	}
	mustWrite(t, p, content[30:31], 30)
	if err := p.Commit([]span.Range{{Off: 30, End: 31}}); err != nil {
		t.Fatal(err)
	}
	if err := p.Verify(); err != nil {
		t.Fatalf("Verify after the repair: %v", err)
	}
	final, err := p.Finish()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(final)
	if err != nil || string(got) != string(content) || final != filepath.Join(dir, "r.bin") {
		t.Fatalf("Finish = %q (%v), content %q", final, err, got)
	}
}
