package dlist

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// file is the on-disk shape of the list.
type file struct {
	Version   int     `json:"version"`
	Downloads []Entry `json:"downloads"`
}

// encode renders entries as a version 1 file. It refuses a list that Open
// would reject for its size, since saving it would lose it on next start.
func encode(entries []Entry) ([]byte, error) {
	if entries == nil {
		entries = []Entry{} // "downloads": [], not null
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(file{Version: Version, Downloads: entries}); err != nil {
		return nil, fmt.Errorf("cannot encode the download list: %w", err)
	}
	if buf.Len() > MaxFileSize {
		return nil, fmt.Errorf("the download list is too large to save (%d bytes, at most %d)", buf.Len(), MaxFileSize)
	}
	return buf.Bytes(), nil
}

// decode parses a list file and checks what Put guarantees: every entry
// has an id of its own and a known state. Empty slices and maps come back
// as nil, as Put stores them.
func decode(data []byte) ([]Entry, error) {
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("it is larger than %d MiB", MaxFileSize>>20)
	}
	// Read the version alone first, so a newer format is reported as such
	// even if its entries no longer fit Entry.
	var head struct {
		Version *int `json:"version"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("it is not a download list: %w", err)
	}
	switch {
	case head.Version == nil:
		return nil, errors.New("it has no format version")
	case *head.Version > Version:
		return nil, fmt.Errorf("it was written by a newer Dragonload, format version %d", *head.Version)
	case *head.Version < Version:
		return nil, fmt.Errorf("format version %d is unknown", *head.Version)
	}
	var f file
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("it is not a download list: %w", err)
	}
	seen := make(map[string]bool, len(f.Downloads))
	for i, e := range f.Downloads {
		switch {
		case e.ID == "":
			return nil, fmt.Errorf("download %d has no id", i+1)
		case seen[e.ID]:
			return nil, fmt.Errorf("download %d repeats the id %q", i+1, e.ID)
		case !knownState(e.State):
			return nil, fmt.Errorf("download %q has the unknown state %q", e.ID, e.State)
		}
		seen[e.ID] = true
		f.Downloads[i] = cloneEntry(e)
	}
	if len(f.Downloads) == 0 {
		return nil, nil
	}
	return f.Downloads, nil
}

// trimHistory drops the final entries that ended longest ago until at most
// max remain; unfinished entries are never dropped. Ending time, not list
// order, decides, so a long download that just finished is not the first
// to go. Ties (and entries without an end time) go in list order.
func trimHistory(entries []Entry, max int) []Entry {
	var final []int
	for i, e := range entries {
		if Final(e.State) {
			final = append(final, i)
		}
	}
	if len(final) <= max {
		return entries
	}
	slices.SortStableFunc(final, func(a, b int) int {
		return entries[a].Ended.Compare(entries[b].Ended)
	})
	drop := make(map[int]bool, len(final)-max)
	for _, i := range final[:len(final)-max] {
		drop[i] = true
	}
	out := entries[:0]
	for i, e := range entries {
		if !drop[i] {
			out = append(out, e)
		}
	}
	clear(entries[len(out):]) // let dropped entries be collected
	return out
}
