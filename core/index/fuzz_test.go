package index

import (
	"crypto/sha256"
	"reflect"
	"testing"
	"time"
)

// FuzzDecode feeds the file decoder arbitrary bytes: it must never panic,
// whatever it accepts must keep the entry rules, and it must survive a
// save and reload unchanged.
func FuzzDecode(f *testing.F) {
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)
	good, err := encode([]Entry{
		{Path: abs("a.iso"), Name: "a.iso", Size: 4, ModTime: t0, FileID: "66306:1234", SHA256: sha256.Sum256([]byte("a")),
			Origin: sha256.Sum256([]byte("o")), URL: "https://example.com/a.iso?x=<&>", Added: t0, Shared: true},
		{Path: abs("b"), Name: "b é\u2028", Size: 1, SHA256: [32]byte{1}, Added: t0.Add(time.Hour)},
	})
	if err != nil {
		f.Fatal(err)
	}
	if es, err := decode(good); err != nil || len(es) != 2 {
		f.Fatalf("the good seed does not load: %d entries, %v", len(es), err)
	}
	seeds := []string{
		string(good),
		`{"version":1,"entries":[]}`,
		`{"version":1,"entries":null}`,
		`{"version":1}`,
		`{"version":2,"entries":[]}`,
		`{"Version":1,"ENTRIES":[{"PATH":"/x","name":"x","size":1,"sha256":"` + zeros(63) + `1","added":"2025-01-01T00:00:00+01:00","mod_time":null}]}`,
		`{"version":1,"entries":[{"path":"/x","name":"x","size":1,"sha256":"` + zeros(63) + `1","added":"0000-01-01T00:30:00+01:00","mod_time":"9999-12-31T23:59:59-01:00"}]}`,
		`{"version":1,"entries":[{"path":"/x","name":"x","size":1,"sha256":"` + zeros(63) + `1","origin":"` + zeros(64) + `","added":"2025-01-01T00:00:00Z"}]}`,
		`{"version":1,"entries":[null]}`,
		`null`,
		``,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		es, err := decode(data)
		if err != nil {
			if es != nil {
				t.Fatalf("decode returned entries with error %v", err)
			}
			return
		}
		seen := map[string]bool{}
		for _, e := range es {
			if err := checkEntry(e); err != nil || seen[e.Path] {
				t.Fatalf("decode accepted an entry Add would refuse (%v): %+v", err, e)
			}
			seen[e.Path] = true
		}
		out, err := encode(es)
		if err != nil {
			t.Fatalf("cannot save what was loaded: %v", err)
		}
		again, err := decode(out)
		if err != nil {
			t.Fatalf("cannot reload what was saved: %v\n%s", err, out)
		}
		if len(es) == 0 && len(again) == 0 {
			return
		}
		if !reflect.DeepEqual(again, es) {
			t.Fatalf("reload differs:\n%+v\n%+v", again, es)
		}
		if out2, _ := encode(again); string(out2) != string(out) {
			t.Fatalf("saving twice differs:\n%s\n%s", out, out2)
		}
	})
}

func zeros(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = '0'
	}
	return string(b)
}
