package core

import (
	"context"
	"fmt"
	"maps"
	"net/netip"

	"github.com/dragonload/dragonload/core/discover"
	"github.com/dragonload/dragonload/core/peers"
	"github.com/dragonload/dragonload/core/watch"
	"github.com/dragonload/dragonload/quicwire"
)

// ProtocolVersion is announced in discovery and checked in the hello.
const ProtocolVersion = quicwire.ProtocolVersion

// PeerSource reports where room peers may be found. The engine dials every
// address found, proves room membership on the connection, and drops the
// peer when its source reports it lost (or when the connection dies).
// Sources: addresses given by hand (--peer, the settings file), mDNS, the
// peers reached lately ("recent", with mDNS only; recentpeers.go), and
// whatever a caller adds through Config.PeerSources.
type PeerSource interface {
	// Name says how peers were found ("manual", "mdns", ...), for the UI.
	Name() string
	// Run reports addresses until ctx ends. found and lost may be called
	// from any goroutine.
	Run(ctx context.Context, found func(addr string), lost func(addr, reason string)) error
}

// StaticPeers is a fixed list of addresses.
type StaticPeers struct {
	Via   string
	Addrs []string
}

// Name implements PeerSource.
func (s StaticPeers) Name() string { return s.Via }

// Run implements PeerSource.
func (s StaticPeers) Run(ctx context.Context, found func(string), _ func(string, string)) error {
	for _, a := range s.Addrs {
		found(a)
	}
	<-ctx.Done()
	return nil
}

// peerTable is the engine's peer table: room peers reached over QUIC.
type peerTable = peers.Table[*quicwire.Peer]

// newPeerTable builds the peer table: it dials through the QUIC node of the
// moment (a new one after each room change) and its events go out on the
// bus as the engine's own. Downloads learn of ready and lost peers through
// the bus like every other subscriber.
func (e *Engine) newPeerTable() *peerTable {
	t := peers.New(peers.Options[*quicwire.Peer]{
		Dialer: peers.DialFunc[*quicwire.Peer](func(ctx context.Context, addr string) (*quicwire.Peer, error) {
			return e.currentNode().Dial(ctx, addr)
		}),
		Observe: func(ev peers.Event) {
			switch ev := ev.(type) {
			case peers.Seen:
				e.bus.publish(PeerSeen{Peer: peerInfo(ev.Peer)})
			case peers.Ready:
				e.bus.publish(PeerReady{Peer: e.withBan(peerInfo(ev.Peer))})
				e.rememberPeer(ev.Peer)
			case peers.Lost:
				e.bus.publish(PeerLost{Peer: e.withBan(peerInfo(ev.Peer)), Reason: ev.Reason})
			case peers.Updated:
				e.bus.publish(PeerUpdated{Peer: e.withBan(peerInfo(ev.Peer))})
			case peers.Lent:
				e.bus.publish(Lent{Peer: ev.Peer, Bytes: ev.Bytes, Rate: ev.Rate})
			}
		},
		Logger: e.log.With("pkg", "peers"),
	})
	// Nicknames given earlier (RenamePeer) hold from the first connection.
	e.mu.Lock()
	nicks := maps.Clone(e.settings.PeerNames)
	e.mu.Unlock()
	for id, name := range nicks {
		if name, err := checkName(name); err == nil {
			t.SetNickname(id, name)
		}
	}
	return t
}

func peerInfo(p peers.Info) PeerInfo {
	return PeerInfo{
		ID: p.ID, Name: p.Name, Nickname: p.Nickname, Addr: p.Addr, Lending: p.Lending, RTT: p.RTT, Source: p.Source,
		Ready: p.Ready, Received: p.Received, Lent: p.Lent, Rate: p.Rate,
	}
}

// peerInfos converts the peer table's list (nil stays nil).
func peerInfos(list []peers.Info) []PeerInfo {
	var out []PeerInfo
	for _, p := range list {
		out = append(out, peerInfo(p))
	}
	return out
}

// runSource feeds one source into the peer table until the engine stops.
// The recent source only gives hints: its lost never stops the dialing of
// an address another source reports too (claims).
func (e *Engine) runSource(ctx context.Context, src PeerSource) {
	name := src.Name()
	_, yield := src.(*recentPeers)
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		err := src.Run(ctx,
			func(addr string) { e.claims.found(e.peers, addr, name) },
			func(addr, reason string) { e.claims.lost(e.peers, addr, name, reason, yield) })
		if err != nil && ctx.Err() == nil {
			e.log.Error("peer source stopped", "source", src.Name(), "err", err)
			e.bus.publish(Notice{Level: "error", Text: fmt.Sprintf("Finding peers by %s stopped: %v. Add peers by address instead.", src.Name(), err)})
		}
	}()
}

// mdnsPeers is LAN discovery as a peer source: this node advertises itself
// and reports the room peers it hears of.
type mdnsPeers struct {
	d      *discover.Discoverer
	notice func(Notice)
}

func (m *mdnsPeers) Name() string { return "mdns" }

func (m *mdnsPeers) Run(ctx context.Context, found func(string), lost func(string, string)) error {
	byNode := make(map[string]string) // node id → address reported; Run's emit is single-threaded
	return m.d.Run(ctx, func(ev discover.Event) {
		switch ev := ev.(type) {
		case discover.Found:
			addr := pickAddr(ev.Peer.Addrs)
			if !addr.IsValid() {
				return
			}
			if old, ok := byNode[ev.Peer.NodeID]; ok && old != addr.String() {
				lost(old, "address changed")
			}
			byNode[ev.Peer.NodeID] = addr.String()
			found(addr.String())
		case discover.Lost:
			if addr, ok := byNode[ev.NodeID]; ok {
				delete(byNode, ev.NodeID)
				lost(addr, ev.Reason)
			}
		case discover.Quiet:
			m.notice(Notice{Level: "warn", Text: ev.Text})
		}
	})
}

// startDiscovery advertises this node on the LAN and adds mDNS as a peer
// source.
func (e *Engine) startDiscovery() error {
	e.mu.Lock()
	port := e.node.Addr().Port
	hint, name := e.roomKey.Hint(), e.name
	e.mu.Unlock()
	d, err := discover.New(discover.Options{
		Iface: e.cfg.Iface,
		Service: discover.Service{
			NodeID:   e.ident.ID.String(),
			Name:     name,
			Port:     port,
			Lending:  e.lender.Lending(),
			RoomHint: hint,
			Version:  ProtocolVersion,
		},
		Logger: e.log.With("pkg", "discover"),
	})
	if err != nil {
		return fmt.Errorf("cannot start LAN discovery (try --no-mdns and --peer): %w", err)
	}
	ctx, cancel := context.WithCancel(e.ctx)
	e.mu.Lock()
	e.disc, e.discStop = d, cancel
	if e.name != name {
		d.SetName(e.name) // renamed meanwhile; SetName saw no discoverer
	}
	e.mu.Unlock()
	e.runSource(ctx, &mdnsPeers{d: d, notice: func(n Notice) { e.bus.publish(n) }})
	return nil
}

// pickAddr prefers IPv4: IPv6 link-local addresses need a zone and are
// unusable for a while after link-up.
func pickAddr(addrs []netip.AddrPort) netip.AddrPort {
	for _, a := range addrs {
		if a.Addr().Is4() || a.Addr().Is4In6() {
			return netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
		}
	}
	for _, a := range addrs {
		if !a.Addr().IsLinkLocalUnicast() {
			return a
		}
	}
	return netip.AddrPort{}
}

// startWatch starts downloads for the .dragon files dropped into dir.
func (e *Engine) startWatch(dir string) error {
	w, err := watch.New(watch.Options{Dir: dir, Logger: e.log.With("pkg", "watch")})
	if err != nil {
		return fmt.Errorf("cannot watch %s: %w", dir, err)
	}
	ctx, cancel := context.WithCancel(e.ctx)
	e.mu.Lock()
	e.watcher, e.watchStop = w, cancel
	e.mu.Unlock()
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		err := w.Run(ctx, func(job watch.Job) error {
			_, err := e.add(job.Link, job.Path, e.OutDir(), &job)
			return err
		})
		if err != nil && ctx.Err() == nil {
			e.log.Error("watching stopped", "dir", dir, "err", err)
			e.bus.publish(Notice{Level: "error", Text: fmt.Sprintf("Stopped watching %s: %v", dir, err)})
		}
	}()
	return nil
}
