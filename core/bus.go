package core

import "sync"

// bus fans events out to subscribers. A slow subscriber (a window being
// dragged, a terminal on a slow link) must never stall the engine, and must
// never miss a state change either. So each subscriber has its own queue in
// which a newer progress-type event replaces an unsent older one for the same
// download or peer, while every other event is kept in order.
type bus struct {
	mu   sync.Mutex
	subs map[*subscriber]struct{}
}

type subscriber struct {
	out    chan Event
	mu     sync.Mutex
	queue  []Event
	wake   chan struct{}
	closed chan struct{}
	once   sync.Once
}

// maxQueue bounds one subscriber's backlog of events that cannot be
// coalesced. Reaching it means the subscriber stopped reading altogether;
// the oldest events are then dropped rather than growing without bound.
const maxQueue = 1 << 16

func newBus() *bus { return &bus{subs: make(map[*subscriber]struct{})} }

func (b *bus) subscribe() (<-chan Event, func()) {
	s := &subscriber{
		out:    make(chan Event),
		wake:   make(chan struct{}, 1),
		closed: make(chan struct{}),
	}
	b.mu.Lock()
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	go s.pump()
	cancel := func() {
		b.mu.Lock()
		delete(b.subs, s)
		b.mu.Unlock()
		s.once.Do(func() { close(s.closed) })
	}
	return s.out, cancel
}

func (b *bus) publish(ev Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		s.push(ev)
	}
}

func (b *bus) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		s.once.Do(func() { close(s.closed) })
		delete(b.subs, s)
	}
}

func (s *subscriber) push(ev Event) {
	s.mu.Lock()
	if k, ok := coalesceKey(ev); ok {
		for i := len(s.queue) - 1; i >= 0; i-- {
			if k2, ok2 := coalesceKey(s.queue[i]); ok2 && k2 == k {
				s.queue[i] = ev
				s.mu.Unlock()
				return
			}
		}
	}
	if len(s.queue) >= maxQueue {
		s.queue = s.queue[1:]
	}
	s.queue = append(s.queue, ev)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// pump delivers queued events; the channel is closed when the subscription ends.
func (s *subscriber) pump() {
	defer close(s.out)
	for {
		s.mu.Lock()
		var ev Event
		if len(s.queue) > 0 {
			ev = s.queue[0]
			s.queue[0] = nil
			s.queue = s.queue[1:]
		}
		s.mu.Unlock()
		if ev == nil {
			select {
			case <-s.wake:
				continue
			case <-s.closed:
				return
			}
		}
		select {
		case s.out <- ev:
		case <-s.closed:
			return
		}
	}
}

type coalesce struct {
	kind string
	id   string
}

func coalesceKey(ev Event) (coalesce, bool) {
	switch e := ev.(type) {
	case DownloadProgress:
		return coalesce{"progress", string(e.ID)}, true
	case PeerUpdated:
		return coalesce{"peer", e.Peer.ID}, true
	case Lent:
		return coalesce{"lent", e.Peer}, true
	}
	return coalesce{}, false
}
