package watch

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/dragonload/dragonload/core/osutil"
)

// What the watcher knows about one link (one Key).
const (
	stateStarted = "started"
	stateDone    = "done"
	stateFailed  = "failed"
)

const (
	stateFileName = "state.json" // in stateDir
	stateVersion  = 1
	// maxStateFile bounds what New reads back; the file never gets near it
	// because finished entries are pruned past maxEntries.
	maxStateFile = 32 << 20
	// maxEntries bounds the state file. Done entries only guard against the
	// same link file appearing again, so the oldest go first.
	maxEntries = 10000
)

// entry is the persisted record of one link, keyed by Job.Key.
type entry struct {
	Name    string    `json:"name"`            // link file name in the watched folder
	State   string    `json:"state"`           // started, done or failed
	Link    string    `json:"link,omitempty"`  // the link in dragon:// form
	Final   string    `json:"final,omitempty"` // the downloaded file, once done
	Error   string    `json:"error,omitempty"` // why it failed
	Started time.Time `json:"started"`
	Updated time.Time `json:"updated"`
}

type stateFile struct {
	Version int               `json:"version"`
	Links   map[string]*entry `json:"links"`
}

// loadState reads the state file. A missing file is an empty state. A
// damaged one is moved aside (and the watcher starts afresh) rather than
// stopping the watched folder for good: the worst outcome is that links
// still in the folder are looked at again.
func loadState(dir string, log *slog.Logger) (map[string]*entry, error) {
	links := make(map[string]*entry)
	path := filepath.Join(dir, stateDir, stateFileName)
	sd, err := openStateDir(dir)
	if err != nil {
		return nil, fmt.Errorf("open watch state: %w", err)
	}
	defer sd.Close()
	data, err := sd.ReadFile(stateFileName, maxStateFile+1)
	if errors.Is(err, os.ErrNotExist) {
		return links, nil
	}
	var sf stateFile
	var bad error
	if _, refused := errors.AsType[*osutil.RefusedError](err); refused {
		// A symbolic link or hard link planted in place of the state is
		// never read through: it is moved aside like a damaged file.
		bad = err
	} else if err != nil {
		return nil, fmt.Errorf("read watch state: %w", err)
	} else if len(data) > maxStateFile {
		bad = fmt.Errorf("file is larger than %d bytes", maxStateFile)
	} else if err := json.Unmarshal(data, &sf); err != nil {
		bad = err
	} else if sf.Version != stateVersion {
		bad = fmt.Errorf("unknown version %d", sf.Version)
	}
	if err := bad; err != nil {
		aside := fmt.Sprintf("%s.damaged-%s", path, time.Now().UTC().Format("20060102T150405Z"))
		log.Warn("watch state is damaged; moving it aside and starting afresh", "path", path, "moved_to", aside, "error", err)
		if err := sd.Rename(stateFileName, filepath.Base(aside)); err != nil {
			return nil, fmt.Errorf("move damaged watch state aside: %w", err)
		}
		return links, nil
	}
	for key, e := range sf.Links {
		if e != nil && validEntry(key, e) {
			links[key] = e
		}
	}
	return links, nil
}

// validEntry drops records a hand edit could have broken, so that later
// code can trust names and states.
func validEntry(key string, e *entry) bool {
	switch e.State {
	case stateStarted, stateDone, stateFailed:
	default:
		return false
	}
	return len(key) == 64 && eligible(e.Name) && filepath.Base(e.Name) == e.Name
}

// saveState writes the state atomically, pruning the oldest finished
// entries beyond maxEntries.
func saveState(dir string, links map[string]*entry) error {
	prune(links)
	data, err := json.MarshalIndent(stateFile{Version: stateVersion, Links: links}, "", "  ")
	if err != nil {
		return fmt.Errorf("encode watch state: %w", err)
	}
	sd, err := openStateDir(dir)
	if err != nil {
		return fmt.Errorf("save watch state: %w", err)
	}
	defer sd.Close()
	if err := sd.WriteFileAtomic(stateFileName, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("save watch state: %w", err)
	}
	return nil
}

func prune(links map[string]*entry) {
	if len(links) <= maxEntries {
		return
	}
	var done []string
	for key, e := range links {
		if e.State == stateDone {
			done = append(done, key)
		}
	}
	slices.SortFunc(done, func(a, b string) int { return links[a].Updated.Compare(links[b].Updated) })
	for _, key := range done {
		if len(links) <= maxEntries {
			return
		}
		delete(links, key)
	}
}
