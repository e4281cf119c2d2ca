package discover

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/mdns"
	"github.com/miekg/dns"
)

// writeTimeout bounds every send of an announcement or goodbye.
const writeTimeout = 500 * time.Millisecond

// runner is the state of one Run. Everything but the channels is owned by
// the goroutine in Run.
type runner struct {
	d      *Discoverer
	emit   func(Event)
	log    *slog.Logger
	libLog *log.Logger // hashicorp/mdns logs through this, at debug level

	ifaces   map[string]*ifaceState
	failures map[string]string // last error per interface or operation, so that each is logged once
	cache    *cache
	quiet    quietWatch

	heard     chan heardPacket
	rounds    chan roundResult
	roundBusy bool
	done      chan struct{} // closed when Run ends
	wg        sync.WaitGroup
}

// ifaceState is everything running on one interface.
type ifaceState struct {
	info   ifaceInfo
	zone   *zone
	server *mdns.Server
	v4, v6 *listener
}

// heardPacket is an announcement or goodbye received on an interface.
type heardPacket struct {
	at    time.Time
	iface string
	recs  []record
}

// roundResult is what one poll of every interface returned.
type roundResult struct {
	start time.Time
	found map[string][]record // by interface
	errs  map[string]error    // by interface and family, nil for success
}

func newRunner(d *Discoverer, emit func(Event)) *runner {
	return &runner{
		d:        d,
		emit:     emit,
		log:      d.log,
		libLog:   slog.NewLogLogger(d.log.Handler(), slog.LevelDebug),
		ifaces:   map[string]*ifaceState{},
		failures: map[string]string{},
		cache:    newCache(d.opts.TTL),
		quiet:    quietWatch{after: d.opts.Quiet},
		heard:    make(chan heardPacket, 16),
		rounds:   make(chan roundResult, 1),
		done:     make(chan struct{}),
	}
}

// sync brings the per-interface servers and listeners in line with the
// interfaces as they are now.
func (r *runner) sync() {
	infos, err := interfaces(r.d.opts.Iface)
	if err != nil {
		r.warnOnce("interfaces", "cannot enumerate interfaces for mDNS", err)
		if r.d.opts.Iface == "" {
			return // a failed listing says nothing about the interfaces; keep what runs
		}
		// The named interface is gone.
	} else {
		r.clearFailure("interfaces")
	}
	present := map[string]bool{}
	for _, info := range infos {
		name := info.ifi.Name
		present[name] = true
		st := r.ifaces[name]
		if st != nil && st.info.key() != info.key() {
			r.log.Debug("mDNS interface changed; reopening its sockets", "iface", name)
			r.stopIface(st, false)
			delete(r.ifaces, name)
			st = nil
		}
		if st == nil {
			if st = r.startIface(info); st != nil {
				r.ifaces[name] = st
			}
			continue
		}
		changed := !st.info.sameAddrs(info)
		st.info = info
		r.openListeners(st)
		if changed {
			r.log.Info("mDNS addresses changed", "iface", name, "addrs", info.ips())
			r.refresh(st)
		}
	}
	for name, st := range r.ifaces {
		if !present[name] {
			r.log.Info("mDNS interface gone", "iface", name)
			r.stopIface(st, true)
			delete(r.ifaces, name)
		}
	}
}

func (r *runner) startIface(info ifaceInfo) *ifaceState {
	name := info.ifi.Name
	svc, err := r.mdnsService(info)
	if err != nil {
		r.warnOnce("serve "+name, "cannot advertise on interface", err, "iface", name)
		return nil
	}
	z := &zone{}
	z.svc.Store(svc)
	ifi := info.ifi
	server, err := mdns.NewServer(&mdns.Config{Zone: z, Iface: &ifi, Logger: r.libLog})
	if err != nil {
		r.warnOnce("serve "+name, "cannot start mDNS responder on interface", err, "iface", name)
		return nil
	}
	r.clearFailure("serve " + name)
	st := &ifaceState{info: info, zone: z, server: server}
	r.openListeners(st)
	r.log.Info("mDNS running on interface", "iface", name, "addrs", info.ips())
	r.announce(st, false)
	return st
}

// openListeners opens whichever of the interface's announcement listeners
// is missing; one that failed is tried again on the next sync.
func (r *runner) openListeners(st *ifaceState) {
	if st.v4 == nil && len(st.info.v4) > 0 {
		st.v4 = r.openListener(st, false)
	}
	if st.v6 == nil && st.info.anyV6 {
		st.v6 = r.openListener(st, true)
	}
}

func (r *runner) openListener(st *ifaceState, v6 bool) *listener {
	ifi := st.info.ifi
	l, err := listen(&ifi, v6, r.log)
	if err != nil {
		r.log.Debug("cannot listen for mDNS announcements; retrying next poll", "iface", ifi.Name, "err", err)
		return nil
	}
	r.wg.Add(1)
	go r.receive(l, ifi.Name, ifi.Index)
	return l
}

// stopIface shuts an interface's responder and listeners down, saying
// goodbye first when asked.
func (r *runner) stopIface(st *ifaceState, goodbye bool) {
	if err := st.server.Shutdown(); err != nil {
		r.log.Debug("cannot stop mDNS responder", "iface", st.info.ifi.Name, "err", err)
	}
	if goodbye {
		r.announce(st, true)
	}
	for _, l := range []*listener{st.v4, st.v6} {
		if l != nil {
			l.conn.Close()
		}
	}
}

// stop ends the run: every interface says goodbye, and Run waits for every
// goroutine it started.
func (r *runner) stop() {
	close(r.done)
	for name, st := range r.ifaces {
		r.stopIface(st, true)
		delete(r.ifaces, name)
	}
	r.wg.Wait()
}

// refresh rebuilds an interface's records and announces them.
func (r *runner) refresh(st *ifaceState) {
	svc, err := r.mdnsService(st.info)
	if err != nil {
		r.log.Warn("cannot update mDNS records", "iface", st.info.ifi.Name, "err", err)
		return
	}
	st.zone.svc.Store(svc)
	r.announce(st, false)
}

func (r *runner) reannounce() {
	s := r.d.service()
	r.log.Debug("lend switch or name changed; announcing", "lending", s.Lending, "name", s.Name)
	for _, st := range r.ifaces {
		r.refresh(st)
	}
}

// announce multicasts the interface's records, or a goodbye for them.
func (r *runner) announce(st *ifaceState, goodbye bool) {
	pkt, err := announcement(st.zone.svc.Load(), goodbye)
	if err != nil {
		r.log.Warn("cannot announce over mDNS", "iface", st.info.ifi.Name, "err", err)
		return
	}
	for _, l := range []*listener{st.v4, st.v6} {
		if l == nil {
			continue
		}
		if err := l.send(pkt); err != nil {
			r.log.Debug("cannot send mDNS announcement", "iface", st.info.ifi.Name, "goodbye", goodbye, "err", err)
		}
	}
}

// receive reads announcements and goodbyes until the listener is closed.
func (r *runner) receive(l *listener, iface string, index int) {
	defer r.wg.Done()
	buf := make([]byte, 65536)
	for {
		n, from, err := l.read(buf)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			r.log.Debug("cannot read mDNS packet", "iface", iface, "err", err)
			select {
			case <-time.After(100 * time.Millisecond): // do not spin on a persistent error
				continue
			case <-r.done:
				return
			}
		}
		if from != 0 && from != index {
			continue // another interface's traffic, delivered to every socket on port 5353
		}
		recs, err := parseResponse(buf[:n])
		if err != nil {
			r.log.Debug("ignoring mDNS packet", "iface", iface, "err", err)
			continue
		}
		if len(recs) == 0 {
			continue
		}
		select {
		case r.heard <- heardPacket{at: time.Now(), iface: iface, recs: recs}:
		case <-r.done:
			return
		}
	}
}

func (r *runner) applyHeard(h heardPacket) {
	st := r.ifaces[h.iface]
	if st == nil {
		return
	}
	for _, rec := range h.recs {
		r.emitAll(r.interpret(rec, st.info, h.at))
	}
}

// startRound polls every interface, once per address family, in the
// background; the result arrives on r.rounds.
func (r *runner) startRound(ctx context.Context) {
	type target struct {
		ifi net.Interface
		v6  bool
	}
	var targets []target
	for _, st := range r.ifaces {
		if len(st.info.v4) > 0 {
			targets = append(targets, target{st.info.ifi, false})
		}
		if st.info.anyV6 {
			targets = append(targets, target{st.info.ifi, true})
		}
	}
	if len(targets) == 0 {
		return
	}
	r.roundBusy = true
	res := roundResult{start: time.Now(), found: map[string][]record{}, errs: map[string]error{}}
	window := r.d.opts.Interval / 2
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		var mu sync.Mutex
		var wg sync.WaitGroup
		for _, t := range targets {
			wg.Add(1)
			go func() {
				defer wg.Done()
				recs, err := query(ctx, &t.ifi, t.v6, window)
				mu.Lock()
				defer mu.Unlock()
				res.found[t.ifi.Name] = append(res.found[t.ifi.Name], recs...)
				res.errs[fmt.Sprintf("query %s ipv6=%t", t.ifi.Name, t.v6)] = err
			}()
		}
		wg.Wait()
		r.rounds <- res // buffered, and only one round runs at a time
	}()
}

func (r *runner) applyRound(res roundResult) {
	for _, key := range sortedKeys(res.errs) {
		// A failing query is retried on the next poll. It is typical while
		// IPv6 runs duplicate address detection after link-up, so it is only
		// logged when the failure starts, changes or ends.
		switch err := res.errs[key]; {
		case err == nil && r.failures[key] != "":
			r.log.Debug("mDNS query works again", "what", key)
			r.clearFailure(key)
		case err != nil && r.failures[key] != rootCause(err):
			r.log.Debug("mDNS query failed; retrying each poll", "what", key, "err", err)
			r.failures[key] = rootCause(err)
		}
	}
	for name, recs := range res.found {
		st := r.ifaces[name]
		if st == nil {
			continue
		}
		for _, rec := range recs {
			r.emitAll(r.interpret(rec, st.info, res.start))
		}
	}
}

// interpret turns a record heard on an interface into cache updates.
func (r *runner) interpret(rec record, info ifaceInfo, at time.Time) []Event {
	self := r.d.opts.Service
	svc, err := decodeTXT(rec.txt)
	if rec.goodbye {
		id := ""
		if err == nil {
			if svc.NodeID == self.NodeID {
				return nil
			}
			id = svc.NodeID
		}
		return r.cache.goodbye(at, id, rec.instance)
	}
	if err != nil {
		r.log.Debug("ignoring mDNS record", "iface", info.ifi.Name, "instance", rec.instance, "err", err)
		return nil
	}
	if svc.NodeID == self.NodeID {
		return nil
	}
	r.quiet.heard(at)
	if svc.RoomHint != self.RoomHint {
		return nil
	}
	s := sighting{at: at, iface: info.ifi.Name, instance: rec.instance, svc: svc}
	if rec.port > 0 && rec.port <= 65535 {
		for _, a := range rec.addrs {
			if info.usable(a) {
				s.addrs = append(s.addrs, netip.AddrPortFrom(a.WithZone(""), uint16(rec.port)))
			} else {
				r.log.Debug("ignoring peer address not on the interface's subnets", "iface", info.ifi.Name, "peer", svc.NodeID, "addr", a)
			}
		}
	}
	return r.cache.seen(s)
}

func (r *runner) expire(now time.Time) {
	r.emitAll(r.cache.expire(now))
}

func (r *runner) checkQuiet(now time.Time) {
	if !r.quiet.check(now) {
		return
	}
	var text string
	switch {
	case len(r.ifaces) == 0 && r.d.opts.Iface != "":
		text = fmt.Sprintf("No peers can be found on the LAN: interface %s is not up with an address and multicast, so mDNS cannot run. Add a peer by its address instead (--peer HOST:4700, or Add peer in the app).", r.d.opts.Iface)
	case len(r.ifaces) == 0:
		text = "No peers can be found on the LAN: no network interface is up with an address and multicast, so mDNS cannot run. Add a peer by its address instead (--peer HOST:4700, or Add peer in the app)."
	default:
		text = fmt.Sprintf("No Dragonload peers heard on %s for %v. Multicast is often blocked on Wi-Fi and guest networks; add a peer by its address instead (--peer HOST:4700, or Add peer in the app).",
			strings.Join(sortedKeys(r.ifaces), ", "), r.d.opts.Quiet)
	}
	r.log.Info("nothing heard over mDNS", "for", r.d.opts.Quiet)
	r.emit(Quiet{Text: text})
}

func (r *runner) emitAll(evs []Event) {
	for _, ev := range evs {
		r.emit(ev)
	}
}

// mdnsService builds the library's records for this node on an interface.
func (r *runner) mdnsService(info ifaceInfo) (*mdns.MDNSService, error) {
	ips := info.ips()
	if len(ips) == 0 {
		// The library would look the host name up instead.
		return nil, fmt.Errorf("interface %s has no address to advertise", info.ifi.Name)
	}
	s := r.d.service()
	return mdns.NewMDNSService(s.NodeID, ServiceType, "local.", s.NodeID+".local.", s.Port, ips, encodeTXT(s))
}

func (r *runner) warnOnce(key, msg string, err error, attrs ...any) {
	if r.failures[key] == err.Error() {
		r.log.Debug(msg, append(attrs, "err", err)...)
		return
	}
	r.failures[key] = err.Error()
	r.log.Warn(msg, append(attrs, "err", err)...)
}

func (r *runner) clearFailure(key string) { delete(r.failures, key) }

// rootCause is the innermost error's text, which unlike the whole message
// does not change with the ephemeral port of each attempt.
func rootCause(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err.Error()
		}
		err = next
	}
}

// zone serves the current records of one interface; they are swapped whole
// when the lend switch or the addresses change.
type zone struct {
	svc atomic.Pointer[mdns.MDNSService]
}

func (z *zone) Records(q dns.Question) []dns.RR { return z.svc.Load().Records(q) }
