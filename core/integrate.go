package core

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/dragonload/dragonload/core/discover"
	"github.com/dragonload/dragonload/core/watch"
)

// ProtocolVersion is announced in discovery and checked in the hello.
const ProtocolVersion = 1

// startDiscovery advertises this node and feeds the peers heard of into the
// peer table; mDNS peers are dialed like manual ones, and dropped when
// discovery expires them or hears their goodbye.
func (e *Engine) startDiscovery() error {
	e.mu.Lock()
	port := e.node.Addr().Port
	hint, name := e.roomKey.Hint(), e.settings.Name
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
	e.mu.Unlock()
	byNode := make(map[string]string) // node id → address dialed; touched only by emit
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		err := d.Run(ctx, func(ev discover.Event) {
			switch ev := ev.(type) {
			case discover.Found:
				addr := pickAddr(ev.Peer.Addrs)
				if !addr.IsValid() {
					return
				}
				if old, ok := byNode[ev.Peer.NodeID]; ok && old != addr.String() {
					e.peers.forget(old, "address changed")
				}
				byNode[ev.Peer.NodeID] = addr.String()
				e.peers.want(addr.String(), "mdns")
			case discover.Lost:
				if addr, ok := byNode[ev.NodeID]; ok {
					delete(byNode, ev.NodeID)
					e.peers.forget(addr, ev.Reason)
				}
			case discover.Quiet:
				e.bus.publish(Notice{Level: "warn", Text: ev.Text})
			}
		})
		if err != nil && ctx.Err() == nil {
			e.log.Error("LAN discovery stopped", "err", err)
			e.bus.publish(Notice{Level: "error", Text: "LAN discovery stopped: " + err.Error() + ". Add peers by address instead."})
		}
	}()
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
