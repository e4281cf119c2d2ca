package core

import (
	"errors"
	"fmt"
	"slices"

	"github.com/dragonload/dragonload/core/dlist"
)

// The engine remembers its downloads in a list under the home folder
// (core/dlist), so that after a restart of the app or the agent every
// unfinished download is listed again and resumes (a paused one stays
// paused), and finished and failed ones stay as history until the user
// removes or clears them. Memory stays bounded: at most maxHistory
// finished downloads are kept, the oldest go first.

// maxHistory bounds the finished downloads kept in memory and on disk.
const maxHistory = dlist.DefaultMaxHistory

// Remove forgets a finished, failed or canceled download: it leaves the
// list (the file it produced stays where it is).
func (e *Engine) Remove(id DownloadID) error {
	d, err := e.download(id)
	if err != nil {
		return err
	}
	d.mu.Lock()
	st := d.state
	d.mu.Unlock()
	if !st.Final() {
		return fmt.Errorf("download %s is %s; cancel it before removing it", id, st)
	}
	e.forget(id)
	return nil
}

// ClearFinished forgets every finished, failed and canceled download and
// returns their ids.
func (e *Engine) ClearFinished() []DownloadID {
	var gone []DownloadID
	for _, d := range e.list() {
		d.mu.Lock()
		final := d.state.Final()
		d.mu.Unlock()
		if final {
			e.forget(d.id)
			gone = append(gone, d.id)
		}
	}
	return gone
}

// forget drops a download from memory and from the list on disk.
func (e *Engine) forget(id DownloadID) {
	e.mu.Lock()
	delete(e.downloads, id)
	e.order = slices.DeleteFunc(e.order, func(x DownloadID) bool { return x == id })
	e.mu.Unlock()
	if e.history != nil {
		e.history.Remove(string(id))
		if err := e.history.Flush(); err != nil {
			e.log.Error("cannot save the download list", "err", err)
		}
	}
	e.bus.publish(DownloadRemoved{ID: id})
}

// prune drops the oldest finished downloads from memory beyond maxHistory
// (the list on disk applies the same bound) and tells subscribers.
func (e *Engine) prune() {
	e.mu.Lock()
	var final []DownloadID
	for _, id := range e.order {
		d := e.downloads[id]
		d.mu.Lock()
		if d.state.Final() {
			final = append(final, id)
		}
		d.mu.Unlock()
	}
	drop := final[:max(len(final)-maxHistory, 0)]
	for _, id := range drop {
		delete(e.downloads, id)
		e.order = slices.DeleteFunc(e.order, func(x DownloadID) bool { return x == id })
	}
	e.mu.Unlock()
	for _, id := range drop {
		e.bus.publish(DownloadRemoved{ID: id})
	}
}

// openHistory loads the download list and puts its downloads back: the
// unfinished ones queued (or paused), the rest as history. It runs before
// the watched folder starts, so a link file whose download is restored
// here is matched to it rather than added twice.
func (e *Engine) openHistory() error {
	h, err := dlist.Open(e.home, dlist.Options{
		MaxHistory: maxHistory,
		OnError:    func(err error) { e.log.Error("cannot save the download list", "err", err) },
	})
	if err != nil {
		return err
	}
	if w := h.Warning(); w != "" {
		e.log.Warn(w)
	}
	e.history = h
	for _, en := range h.Entries() {
		st, ok := stateByName(en.State)
		if !ok {
			continue
		}
		d := &download{
			e: e, id: DownloadID(en.ID), source: en.Source, link: en.Link.ToLink(), outDir: en.OutDir,
			name: en.Name, size: en.Size, done: en.Done, path: en.Path, state: st,
			added: en.Added, ended: en.Ended,
			chunks: chunksFromList(DownloadID(en.ID), en.Chunks), names: en.Names,
		}
		if en.Err != "" {
			d.err = errors.New(en.Err)
		}
		switch {
		case st == StatePaused, st.Final():
		default:
			// It was running or queued when the engine stopped.
			d.state = StateQueued
			d.err = nil
		}
		e.downloads[d.id] = d
		e.order = append(e.order, d.id)
		e.log.Info("download restored", "id", d.id, "url", d.link.URL, "state", d.state)
	}
	return nil
}

// record saves a download's entry; d.mu is held. Added and final states
// are flushed at once, so a crash right after does not lose them.
func (d *download) recordLocked(flush bool) {
	h := d.e.history
	if h == nil {
		return
	}
	errText := ""
	if d.err != nil {
		errText = d.err.Error()
	}
	h.Put(dlist.Entry{
		ID: string(d.id), Source: d.source, Link: dlist.FromLink(d.link), OutDir: d.outDir,
		Name: d.name, State: d.state.String(), Err: errText, Path: d.path, Size: d.size, Done: d.done,
		Added: d.added, Ended: d.ended,
		Chunks: chunksToList(d.chunks), Names: d.chunkNamesLocked(),
	})
	if flush || d.state.Final() {
		if err := h.Flush(); err != nil {
			d.e.log.Error("cannot save the download list", "err", err)
		}
	}
}

func stateByName(name string) (State, bool) {
	for i, n := range stateNames {
		if n == name {
			return State(i), true
		}
	}
	return 0, false
}
