package core

import (
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/dragonload/dragonload/quicwire"
)

// TestRoomKeyCache: the first start with a code derives the key and keeps
// it (mode 0600); the next start with the same code, however it is typed,
// reads it back instead of deriving it; another code, or a damaged file,
// is derived again and replaces the file.
func TestRoomKeyCache(t *testing.T) {
	const code = "test7-k3m9p-x7q2a-h4w8t"
	log := slog.New(slog.DiscardHandler)
	home := t.TempDir()
	path := filepath.Join(home, roomKeyFile)
	want := quicwire.NewRoom(code).Key()

	if got := roomFor(home, code, log).Key(); got != want {
		t.Fatal("the first start's key is not NewRoom's")
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("cache %v, %v: want a file of mode 0600", fi, err)
	}

	// A key the cache holds for this code is used as it is: rewrite it
	// to a marker and see the marker come back.
	marker := [32]byte{1, 2, 3}
	writeCache := func(code string, key string) {
		data, _ := json.Marshal(roomKeyCache{Code: code, Key: key})
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writeCache(quicwire.NormalizeRoomCode(code), hex.EncodeToString(marker[:]))
	if got := roomFor(home, " TEST7-K3M9P-X7Q2A-H4W8T ", log).Key(); got != marker {
		t.Fatal("the cached key for the same code, typed otherwise, was not used")
	}

	for name, damage := range map[string]func(){
		"another code":  func() { writeCache("other-code", hex.EncodeToString(marker[:])) },
		"short key":     func() { writeCache(quicwire.NormalizeRoomCode(code), "0102") },
		"not hex":       func() { writeCache(quicwire.NormalizeRoomCode(code), "zz") },
		"not json":      func() { os.WriteFile(path, []byte("{"), 0o600) },
		"empty code":    func() { writeCache("", hex.EncodeToString(marker[:])) },
		"no file":       func() { os.Remove(path) },
		"a folder here": func() { os.Remove(path); os.Mkdir(path, 0o700) },
	} {
		damage()
		if got := roomFor(home, code, log).Key(); got != want {
			t.Errorf("%s: the key is not the derived one", name)
		}
		if name == "a folder here" {
			os.Remove(path)
			continue
		}
		if k, ok := readRoomKey(path, quicwire.NormalizeRoomCode(code)); !ok || k != want {
			t.Errorf("%s: the file was not replaced with the derived key", name)
		}
	}
}
