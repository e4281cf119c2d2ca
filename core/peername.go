package core

import (
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/dragonload/dragonload/core/config"
	"github.com/dragonload/dragonload/core/names"
)

// Names and addresses of this node and of its peers: the display name this
// node announces, the nicknames it gives its peers, the peers added by hand
// and the UDP port it prefers.

// DefaultListen is the QUIC address the app and the agent prefer
// (Config.PreferListen): UDP port 4700 on every interface, so that the
// address given to others for --peer stays the same across restarts.
const DefaultListen = ":4700"

// MaxNameLen is the longest display name or nickname, in bytes of UTF-8:
// what the rest of the product shows of a name (names.MaxDisplayName).
const MaxNameLen = names.MaxDisplayName

// SetName changes the name this node shows to its peers and remembers it
// (it replaces this run's --name). The name is trimmed; an empty one, one
// longer than MaxNameLen bytes or one with control or other invisible
// characters (names.IsInvisible) is refused.
//
// Every later connection carries the new name, and mDNS announces it at
// once. Connected peers hear it at their next status query (every 2 s);
// only the name a lender shows for this node's requests stays the old one
// until this node connects to it again.
func (e *Engine) SetName(name string) error {
	name, err := checkName(name)
	if err != nil {
		return err
	}
	e.mu.Lock()
	e.name = name
	if e.node != nil {
		e.node.SetName(name) // cannot fail: checkName allows less than the wire does
	}
	if e.disc != nil {
		e.disc.SetName(name)
	}
	e.mu.Unlock()
	e.updateSettings(func(s *config.Settings) { s.Name = name })
	return nil
}

// RenamePeer gives the room member with node id a nickname that this node
// shows instead of the name the member announces: in Peers, in peer
// events and in downloads' shares from now on. The nickname is remembered
// (settings key peer_names) and holds whether the member is connected or
// not; "" removes it. It follows the rules of SetName.
func (e *Engine) RenamePeer(id, nickname string) error {
	id = strings.TrimSpace(id)
	if id == "" {
		return errors.New("no peer to rename: its node id is empty")
	}
	if strings.TrimSpace(nickname) != "" {
		var err error
		if nickname, err = checkName(nickname); err != nil {
			return err
		}
	} else {
		nickname = ""
	}
	e.updateSettings(func(s *config.Settings) {
		// A new map, never a change in place: a copy of the settings
		// taken for saving may still be reading the old one.
		nicks := maps.Clone(s.PeerNames)
		if nicks == nil {
			nicks = make(map[string]string)
		}
		if nickname == "" {
			delete(nicks, id)
		} else {
			nicks[id] = nickname
		}
		if len(nicks) == 0 {
			nicks = nil
		}
		s.PeerNames = nicks
	})
	// The table reports a connected peer Updated, which redraws it.
	e.peers.SetNickname(id, nickname)
	return nil
}

// RemovePeer stops using a peer added by hand (--peer, the settings file,
// AddPeer): it forgets the address in the settings, closes the connection
// through it and stops dialing it. A peer found on the LAN cannot be
// removed; it leaves when that machine stops or changes room.
func (e *Engine) RemovePeer(addr string) error {
	addr = strings.TrimSpace(addr)
	e.mu.Lock()
	saved := slices.Contains(e.settings.Peers, addr)
	e.mu.Unlock()
	source, dialed := e.peers.Source(addr)
	byHand := source == "manual" || source == "config"
	switch {
	case dialed && !byHand && !saved && (source == "mdns" || source == "recent"):
		return fmt.Errorf("%s was found on the LAN, not added by hand; it leaves by itself when that machine stops or changes room", addr)
	case dialed && !byHand && !saved:
		return fmt.Errorf("%s was found by %s, not added by hand, so it cannot be removed here", addr, source)
	case !dialed && !saved:
		return fmt.Errorf("no peer was added by hand at %s", addr)
	}
	if saved {
		e.updateSettings(func(s *config.Settings) {
			s.Peers = slices.DeleteFunc(slices.Clone(s.Peers), func(p string) bool { return p == addr })
		})
	}
	if byHand {
		// mDNS may have found the same address first: then it stays, as
		// the LAN's.
		e.peers.Forget(addr, "removed")
	}
	return nil
}

// Discovering reports whether this node finds peers on the LAN by mDNS
// (false with --no-mdns, or when discovery could not start): without it,
// peers must be added by address.
func (e *Engine) Discovering() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.disc != nil
}

// initName settles the display name at start: --name (for this run), else
// the settings file's, else the host name and a short id. It runs once the
// identity is loaded, before the QUIC node starts.
func (e *Engine) initName(flag string) error {
	host, _ := os.Hostname()
	if e.settings.Name != "" && e.settings.Name == host {
		// Earlier versions saved the bare host name as the name on first
		// run: it is the old default, not a choice, and it is what made
		// every machine of a lab "vm".
		e.settings.Name = ""
	}
	if e.settings.Name != "" {
		if _, err := checkName(e.settings.Name); err != nil {
			e.log.Warn("ignoring the name in the settings file", "name", e.settings.Name, "err", err)
			e.settings.Name = ""
		}
	}
	e.name = defaultName(host, e.ident.ID[:])
	if e.settings.Name != "" {
		e.name = e.settings.Name
	}
	if flag != "" {
		name, err := checkName(flag)
		if err != nil {
			return fmt.Errorf("cannot use the name %q: %w", flag, err)
		}
		e.name = name
	}
	return nil
}

// defaultName is host-abcd: the host name and the first four hex digits of
// the node id, so that machines with the same host name (cloned VMs, lab
// images) still read apart. The host name is cut so the whole fits
// MaxNameLen; without one, "dragonload-abcd".
func defaultName(host string, id []byte) string {
	suffix := "-" + hex.EncodeToString(id[:2])
	host = strings.Map(func(r rune) rune {
		if names.IsInvisible(r) || unicode.IsSpace(r) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(host, ""))
	for len(host)+len(suffix) > MaxNameLen {
		_, n := utf8.DecodeLastRuneInString(host)
		host = host[:len(host)-n]
	}
	if host == "" {
		host = "dragonload"
	}
	return host + suffix
}

// checkName trims a display name or nickname and says in one sentence what
// is wrong with it.
func checkName(name string) (string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", errors.New("a name cannot be empty")
	case len(name) > MaxNameLen:
		return "", fmt.Errorf("a name can be at most %d bytes long; this one has %d", MaxNameLen, len(name))
	case !utf8.ValidString(name):
		return "", errors.New("a name must be valid UTF-8 text")
	case strings.IndexFunc(name, names.IsInvisible) >= 0:
		return "", errors.New("a name cannot contain control characters such as tabs or line breaks, nor other invisible ones")
	}
	return name, nil
}
