package core

import (
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/dragonload/dragonload/core/osutil"
	"github.com/dragonload/dragonload/quicwire"
)

// The room key is derived from the room code with Argon2id, which is slow
// on purpose (quicwire.NewRoom): 40–75 ms and 16 MiB here, most of what a
// `dragonload get` spends before its first request. The home keeps the
// result next to the code it came from, so only the first start with a
// code pays. The file is as secret as config.toml, which holds the code
// itself, and has the same mode; a file that is unreadable, malformed, or
// for another code is ignored and replaced.

// roomKeyFile is the cache's name in the home.
const roomKeyFile = "room-key.json"

// roomKeyCache is the file's content.
type roomKeyCache struct {
	Code string `json:"code"` // normalized (quicwire.NormalizeRoomCode)
	Key  string `json:"key"`  // hex
}

// roomFor returns the room of code: its key from the cache in home when
// the cache was written for this code, else derived and cached.
func roomFor(home, code string, log *slog.Logger) quicwire.Room {
	norm := quicwire.NormalizeRoomCode(code)
	path := filepath.Join(home, roomKeyFile)
	if k, ok := readRoomKey(path, norm); ok {
		return quicwire.RoomFromKey(k)
	}
	r := quicwire.NewRoom(code)
	k := r.Key()
	data, err := json.Marshal(roomKeyCache{Code: norm, Key: hex.EncodeToString(k[:])})
	if err == nil {
		err = osutil.WriteFileAtomic(path, data, 0o600)
	}
	if err != nil {
		log.Warn("cannot keep the room key; the next start derives it again", "err", err)
	}
	return r
}

// readRoomKey reads the cached key for the normalized code norm.
func readRoomKey(path, norm string) (key [32]byte, ok bool) {
	f, err := os.Open(path)
	if err != nil {
		return key, false
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, 4<<10))
	if err != nil {
		return key, false
	}
	var c roomKeyCache
	if json.Unmarshal(data, &c) != nil || c.Code != norm || c.Code == "" {
		return key, false
	}
	b, err := hex.DecodeString(c.Key)
	if err != nil || len(b) != len(key) {
		return key, false
	}
	copy(key[:], b)
	return key, true
}
