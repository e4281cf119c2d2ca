package discover

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync/atomic"
	"time"
)

// ServiceType is the DNS-SD service type every Dragonload node advertises.
const ServiceType = "_dragonload._udp"

// Reasons given in Lost.
const (
	ReasonExpired = "expired" // not heard for Options.TTL
	ReasonGoodbye = "goodbye" // the peer announced that it is leaving
)

// Service is what this node advertises about itself.
type Service struct {
	NodeID   string // base32 node id: 1 to 63 ASCII letters and digits
	Name     string // display name
	Port     int    // QUIC UDP port
	Lending  bool
	RoomHint string // 4 hex digits from quicwire Room.Hint(); peers with another hint are ignored
	Version  int    // protocol version, at least 1
}

// Options configure a Discoverer. Zero durations take the defaults.
type Options struct {
	Iface    string        // "" = every up, multicast-capable, non-loopback interface
	Service  Service       // this node
	Interval time.Duration // browse poll interval, default 1 s
	TTL      time.Duration // a peer not heard for this long is lost, default 6 s
	Quiet    time.Duration // after this long with nothing heard on any interface, say so once, default 20 s
	Logger   *slog.Logger  // nil = discard
}

// Defaults for zero Options fields.
const (
	DefaultInterval = time.Second
	DefaultTTL      = 6 * time.Second
	DefaultQuiet    = 20 * time.Second
)

// Peer is another node of the room as last heard.
type Peer struct {
	NodeID   string
	Name     string
	Addrs    []netip.AddrPort // QUIC addresses, IPv4 first, never empty
	Lending  bool
	RoomHint string
	Version  int
	Iface    string // the interface Addrs[0] was heard on
}

// Event is one of Found, Lost or Quiet.
type Event interface{ isEvent() }

// Found reports a peer heard for the first time, or one whose name, lend
// switch, version or addresses changed.
type Found struct{ Peer Peer }

// Lost reports a peer that left: Reason is ReasonExpired or ReasonGoodbye.
type Lost struct {
	NodeID string
	Reason string
}

// Quiet reports, once per silence, that nothing was heard on any interface
// for Options.Quiet. Text is a sentence for the user.
type Quiet struct{ Text string }

func (Found) isEvent() {}
func (Lost) isEvent()  {}
func (Quiet) isEvent() {}

// Discoverer advertises one node and browses for the others.
type Discoverer struct {
	opts    Options
	log     *slog.Logger
	lending atomic.Bool
	name    atomic.Pointer[string]
	relend  chan struct{} // signals Run that the lend switch or the name changed
	running atomic.Bool
}

// New checks opts and returns a Discoverer ready to Run.
func New(opts Options) (*Discoverer, error) {
	s := &opts.Service
	if !validNodeID(s.NodeID) {
		return nil, fmt.Errorf("node id %q is not 1 to %d ASCII letters and digits", s.NodeID, maxNodeID)
	}
	if s.Port < 1 || s.Port > 65535 {
		return nil, fmt.Errorf("port %d is not a UDP port", s.Port)
	}
	hint, ok := parseRoomHint(s.RoomHint)
	if !ok {
		return nil, fmt.Errorf("room hint %q is not 4 hex digits", s.RoomHint)
	}
	s.RoomHint = hint
	if s.Version < 1 || s.Version > maxVersion {
		return nil, fmt.Errorf("protocol version %d is not between 1 and %d", s.Version, maxVersion)
	}
	s.Name = cleanName(s.Name)
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	if opts.TTL <= 0 {
		opts.TTL = DefaultTTL
	}
	if opts.Quiet <= 0 {
		opts.Quiet = DefaultQuiet
	}
	if opts.TTL < 2*opts.Interval {
		return nil, fmt.Errorf("TTL %v is shorter than two poll intervals of %v, so live peers would expire", opts.TTL, opts.Interval)
	}
	if opts.Iface != "" {
		if _, err := net.InterfaceByName(opts.Iface); err != nil {
			return nil, fmt.Errorf("cannot use interface %q for mDNS: %w", opts.Iface, err)
		}
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &Discoverer{opts: opts, log: log, relend: make(chan struct{}, 1)}
	d.lending.Store(s.Lending)
	d.name.Store(&s.Name)
	return d, nil
}

// SetLending changes the lend switch this node advertises. A running
// Discoverer announces the change at once; it is safe to call at any time.
func (d *Discoverer) SetLending(on bool) {
	if d.lending.Swap(on) == on {
		return
	}
	d.changed()
}

// SetName changes the display name this node advertises (cleaned as New
// cleans Service.Name). A running Discoverer announces the change at once,
// as for SetLending; it is safe to call at any time.
func (d *Discoverer) SetName(name string) {
	name = cleanName(name)
	if old := d.name.Swap(&name); *old == name {
		return
	}
	d.changed()
}

// changed tells Run to announce the service again.
func (d *Discoverer) changed() {
	select {
	case d.relend <- struct{}{}:
	default:
	}
}

// Run advertises this node and browses for peers until ctx is done, calling
// emit for every event from a single goroutine; emit should not block for
// long, since discovery waits for it. Before it returns, Run multicasts a
// goodbye so that peers drop this node at once. It returns nil when ctx ends,
// and an error only if the Discoverer is already running.
func (d *Discoverer) Run(ctx context.Context, emit func(Event)) error {
	if !d.running.CompareAndSwap(false, true) {
		return errors.New("discoverer is already running")
	}
	defer d.running.Store(false)

	r := newRunner(d, emit)
	defer r.stop()
	now := time.Now()
	r.quiet.heard(now)
	r.sync()
	r.startRound(ctx)

	tick := time.NewTicker(d.opts.Interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-tick.C:
			r.sync()
			r.expire(now)
			r.checkQuiet(now)
			if !r.roundBusy {
				r.startRound(ctx)
			}
		case res := <-r.rounds:
			r.roundBusy = false
			r.applyRound(res)
		case h := <-r.heard:
			r.applyHeard(h)
		case <-d.relend:
			r.reannounce()
		}
	}
}

// service is this node's Service with the current lend switch and name.
func (d *Discoverer) service() Service {
	s := d.opts.Service
	s.Lending = d.lending.Load()
	s.Name = *d.name.Load()
	return s
}

// sortAddrs orders addresses IPv4 first, then by address and port, so that
// the same set always reads the same.
func sortAddrs(a []netip.AddrPort) {
	slices.SortFunc(a, func(x, y netip.AddrPort) int { return x.Compare(y) })
}
