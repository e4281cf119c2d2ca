package dlist

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

// FuzzLoad feeds the loader arbitrary bytes: it must never panic, and
// whatever it accepts must keep Put's rules, survive a save and reload
// unchanged, and trim to the history bound without losing unfinished
// entries.
func FuzzLoad(f *testing.F) {
	good, err := encode([]Entry{entry("a", StateQueued), full("b"), ended("c", 3)})
	if err != nil {
		f.Fatal(err)
	}
	seeds := []string{
		string(good),
		`{"version":1}`,
		`{"version":1,"downloads":[{"id":"a","state":"done","link":{"mirrors":[],"headers":{}}}]}`,
		`{"version":1,"downloads":[{"id":"a","state":"queued","link":{"name":"a.iso","size":12,"sha256":"` + strings.Repeat("0f", 32) + `"}}]}`,
		`{"version":1,"downloads":[{"id":"a","state":"paused","link":{"url":"","name":"a.iso","size":12,"sha256":"` + strings.Repeat("0f", 32) + `"}}]}`,
		`{"version":1,"downloads":[{"id":"a","state":"done","ended":"2025-01-01T00:00:00+00:00"}]}`,
		`{"version":1,"downloads":[{"id":"a","state":"done"},{"id":"a","state":"done"}]}`,
		`{"version":2,"downloads":[]}`,
		`{"Version":1,"DOWNLOADS":[{"ID":"\udc00","State":"failed","size":-1}]}`,
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
			if e.ID == "" || seen[e.ID] || !knownState(e.State) {
				t.Fatalf("decode accepted an entry Put would reject: %+v", e)
			}
			seen[e.ID] = true
			if e.Link.Mirrors != nil && len(e.Link.Mirrors) == 0 || e.Link.Headers != nil && len(e.Link.Headers) == 0 {
				t.Fatalf("empty slice or map not normalised: %+v", e)
			}
		}

		out, err := encode(es)
		if err != nil {
			t.Fatalf("cannot save what was loaded: %v", err)
		}
		again, err := decode(out)
		if err != nil {
			t.Fatalf("cannot reload what was saved: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(inUTC(again), inUTC(es)) {
			t.Fatalf("reload differs:\n%+v\n%+v", again, es)
		}

		const max = 2
		var unfinished []string
		for _, e := range es {
			if !Final(e.State) {
				unfinished = append(unfinished, e.ID)
			}
		}
		kept := trimHistory(slices.Clone(es), max)
		var keptUnfinished []string
		final := 0
		for _, e := range kept {
			if Final(e.State) {
				final++
			} else {
				keptUnfinished = append(keptUnfinished, e.ID)
			}
		}
		if final > max || !slices.Equal(keptUnfinished, unfinished) {
			t.Fatalf("trim kept %d final entries and unfinished %v, want at most %d and %v", final, keptUnfinished, max, unfinished)
		}
	})
}

// inUTC moves times to UTC: "+00:00" may load in the local zone and
// reload as UTC, the same instant.
func inUTC(es []Entry) []Entry {
	out := slices.Clone(es)
	for i := range out {
		out[i].Added = out[i].Added.UTC()
		out[i].Ended = out[i].Ended.UTC()
	}
	return out
}
