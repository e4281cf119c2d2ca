package rpc

import (
	"bytes"
	"encoding/json"
	"slices"
	"sync"
	"testing"

	"github.com/dragonload/dragonload/core"
	"github.com/dragonload/dragonload/core/link"
)

// TestPageRange: aria2's pagination, item by item.
func TestPageRange(t *testing.T) {
	tests := []struct {
		offset, num, size int64
		from, to          int64
	}{
		{0, 2, 5, 0, 2},
		{3, 10, 5, 3, 5},
		{5, 1, 5, 0, 0},
		{9, 1, 5, 0, 0},
		{0, 0, 5, 0, 0},
		{0, -3, 5, 0, 0},
		{-1, 1, 5, 4, 5},
		{-1, 3, 5, 2, 5},
		{-2, 2, 5, 2, 4},
		{-5, 2, 5, 0, 1},
		{-6, 2, 5, 0, 0},
		{-1, 1 << 40, 5, 0, 5},
		{0, 1 << 40, 5, 0, 5},
		{0, 1, 0, 0, 0},
		{-1, 1, 0, 0, 0},
	}
	for _, tc := range tests {
		from, to := pageRange(tc.offset, tc.num, tc.size)
		if from != tc.from || to != tc.to {
			t.Errorf("pageRange(%d, %d, %d) = [%d, %d), want [%d, %d)", tc.offset, tc.num, tc.size, from, to, tc.from, tc.to)
		}
	}
}

const fuzzSecret = "fuzz-secret-0123456789"

// countingEngine counts the calls that change something.
type countingEngine struct {
	mu      sync.Mutex
	changes int
}

func (c *countingEngine) change() error {
	c.mu.Lock()
	c.changes++
	c.mu.Unlock()
	return nil
}

func (c *countingEngine) AddLink(l link.Link, _ string) (core.DownloadID, error) {
	if err := l.Validate(); err != nil {
		return "", err
	}
	return "new", c.change()
}
func (c *countingEngine) Pause(core.DownloadID) error  { return c.change() }
func (c *countingEngine) Resume(core.DownloadID) error { return c.change() }
func (c *countingEngine) Cancel(core.DownloadID) error { return c.change() }
func (c *countingEngine) Remove(core.DownloadID) error { return c.change() }
func (c *countingEngine) ClearFinished() []core.DownloadID {
	c.change()
	return nil
}
func (c *countingEngine) OutDir() string { return "/dl" }
func (c *countingEngine) Downloads() []core.DownloadSnapshot {
	return []core.DownloadSnapshot{
		{ID: "a", State: core.StateDownloading, Size: 10, Done: 5, Source: "https://example.org/a"},
		{ID: "b", State: core.StatePaused, Size: -1},
		{ID: "c", State: core.StateDone, Size: 3, Done: 3, Path: "/dl/c"},
	}
}
func (c *countingEngine) Subscribe() (<-chan core.Event, func()) {
	ch := make(chan core.Event)
	var once sync.Once
	return ch, func() { once.Do(func() { close(ch) }) }
}

// FuzzHandle: whatever arrives, the answer is one JSON value, and nothing
// changes unless the request carries the secret.
func FuzzHandle(f *testing.F) {
	tok := `"token:` + fuzzSecret + `"`
	for _, seed := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"aria2.getVersion","params":[` + tok + `]}`,
		`{"id":"x","method":"aria2.addUri","params":[` + tok + `,["https://example.org/f"],{"out":"f","header":["A: b"]}]}`,
		`{"id":2,"method":"aria2.tellStopped","params":[` + tok + `,-1,3,["gid","status"]]}`,
		`{"id":3,"method":"aria2.pause","params":[` + tok + `,"` + GID("a") + `"]}`,
		`{"id":4,"method":"system.multicall","params":[[{"methodName":"aria2.remove","params":[` + tok + `,"` + GID("b") + `"]},{"methodName":"aria2.addUri","params":[["http://x/"]]}]]}`,
		`[{"id":1,"method":"aria2.tellActive","params":[` + tok + `]},{"id":2,"method":"aria2.unpause","params":["token:x","` + GID("b") + `"]}]`,
		`{"id":1,"method":"aria2.addUri","params":["token:wrong",["https://example.org/f"]]}`,
		`{"id":1,"method":"aria2.purgeDownloadResult"}`,
		`[1,"a",null,{}]`,
		`{"id":`,
	} {
		f.Add([]byte(seed))
	}
	eng := &countingEngine{}
	s, err := New(eng, Options{Secret: fuzzSecret})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	f.Fuzz(func(t *testing.T, body []byte) {
		eng.mu.Lock()
		before := eng.changes
		eng.mu.Unlock()
		out, status := s.handle(body)
		if !json.Valid(out) {
			t.Fatalf("answer %q is not JSON", out)
		}
		if status < 200 || status > 599 {
			t.Fatalf("status %d", status)
		}
		eng.mu.Lock()
		changed := eng.changes != before
		eng.mu.Unlock()
		if changed && !bytes.Contains(body, []byte(fuzzSecret)) && !containsEscaped(body) {
			t.Fatalf("%q changed the engine without the secret", body)
		}
	})
}

// containsEscaped reports whether body could spell the secret with JSON
// escapes (\u0066 for f), which the fuzzer may find.
func containsEscaped(body []byte) bool {
	return bytes.Contains(body, []byte(`\u`)) || bytes.Contains(body, []byte(`\/`))
}

// TestMethodNamesSorted: listMethods answers in a stable order.
func TestMethodNamesSorted(t *testing.T) {
	if n := MethodNames(); !slices.IsSorted(n) || len(n) != len(methods)+1 {
		t.Errorf("MethodNames %v", n)
	}
}
