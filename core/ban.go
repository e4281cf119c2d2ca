package core

import (
	"fmt"

	"github.com/dragonload/dragonload/core/config"
	"github.com/dragonload/dragonload/core/transfer"
)

// A room member proves it knows the room code, not that it is honest: the
// checksum at the end of a lender's stream is the lender's own. When the
// transfer's spot checks or the audit after a failed SHA-256 find bytes
// from a lender that differ from the origin's, this node bans the lender:
// it is remembered in the settings (banned), never used as a lender again
// by any download, and shown as banned in the peers list until the user
// forgives it (Unban). See docs/protocol.md, "Threat model".

// Unban lets a banned peer lend to this node again.
func (e *Engine) Unban(id string) error {
	e.mu.Lock()
	_, ok := e.settings.Banned[id]
	e.mu.Unlock()
	if !ok {
		return fmt.Errorf("peer %s is not banned", shortNodeID(id))
	}
	e.updateSettings(func(s *config.Settings) { delete(s.Banned, id) })
	e.announceBan(id)
	return nil
}

// banned reports why the peer is banned, or "".
func (e *Engine) banned(id string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.settings.Banned[id]
}

// banPeer bans a lender caught sending altered bytes.
func (e *Engine) banPeer(id, name, why string) {
	e.mu.Lock()
	_, already := e.settings.Banned[id]
	e.mu.Unlock()
	if already {
		return
	}
	e.updateSettings(func(s *config.Settings) {
		if s.Banned == nil {
			s.Banned = make(map[string]string)
		}
		s.Banned[id] = fmt.Sprintf("%s %s", name, why)
	})
	e.log.Warn("peer banned", "peer", shortNodeID(id), "name", name, "why", why)
	e.bus.publish(Notice{Level: "warn", Text: fmt.Sprintf(
		"%s %s; this machine will not use it as a lender again (the Peers tab can forgive it).", name, why)})
	e.announceBan(id)
}

// announceBan tells subscribers the peer's new ban state, and running
// transfers to drop a banned peer.
func (e *Engine) announceBan(id string) {
	for _, p := range e.Peers() {
		if p.ID == id {
			e.bus.publish(PeerUpdated{Peer: p})
		}
	}
}

// withBans marks banned peers.
func (e *Engine) withBans(list []PeerInfo) []PeerInfo {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i := range list {
		list[i].Banned = e.settings.Banned[list[i].ID]
	}
	return list
}

// withBan marks one peer if it is banned, for the events about it.
func (e *Engine) withBan(p PeerInfo) PeerInfo {
	if p.ID != "" {
		p.Banned = e.banned(p.ID)
	}
	return p
}

// SpotChecks reports whether lenders' bytes are spot-checked against the
// origin (see core/transfer); on unless turned off.
func (e *Engine) SpotChecks() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return !e.settings.NoSpotChecks
}

// SetSpotChecks turns the spot checks on or off for downloads that start
// from now on, and remembers it.
func (e *Engine) SetSpotChecks(on bool) {
	e.updateSettings(func(s *config.Settings) { s.NoSpotChecks = !on })
}

// spotChecks is the transfer's spot-check setting.
func (e *Engine) spotChecks() transfer.Checks {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.settings.NoSpotChecks {
		return transfer.Checks{}
	}
	return transfer.DefaultChecks()
}

func shortNodeID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}
