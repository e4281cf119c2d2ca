package core

import "sync"

// bus fans events out to subscribers. A slow subscriber (a window being
// dragged, a terminal on a slow link) must never stall the engine, and must
// never miss a state change without being told. So each subscriber has its
// own queue in which a newer progress-type event replaces an unsent older
// one for the same download or peer, while every other event is kept in
// order. Only a subscriber that stops reading for maxQueue such events loses
// them: its queue is replaced by one Resync naming what it missed, so that it
// can re-read the engine's state instead of silently showing a stale one.
type bus struct {
	mu  sync.Mutex
	seq uint64 // number of the last published event; the first is 1
	// maxQueue bounds each subscriber's backlog of events that cannot be
	// coalesced; a field so that tests need not publish 65,536 events.
	maxQueue int
	subs     map[*subscriber]struct{}
}

// defaultMaxQueue is large enough that only a subscriber that stopped
// reading altogether reaches it, and small enough to bound its memory.
const defaultMaxQueue = 1 << 16

// entry is one queued event and its number. A Resync is numbered by its To,
// which no queued event can share, so the pump can tell entries apart.
type entry struct {
	seq uint64
	ev  Event
}

type subscriber struct {
	out      chan Event
	maxQueue int

	mu    sync.Mutex
	queue []entry
	kept  int // entries of queue that count against maxQueue

	wake   chan struct{} // the queue changed
	closed chan struct{}
	once   sync.Once
}

func newBus() *bus {
	return &bus{subs: make(map[*subscriber]struct{}), maxQueue: defaultMaxQueue}
}

// subscribe returns a stream of every event published from now on, in
// order, except that progress-type events (DownloadProgress, PeerUpdated,
// Lent, PeerNote) are coalesced per download or peer while the subscriber is behind.
// A subscriber that falls maxQueue other events behind gets, instead of
// them, one Resync{From, To} and then the events after To. cancel ends the
// subscription and closes the channel.
func (b *bus) subscribe() (<-chan Event, func()) {
	s := &subscriber{
		out:    make(chan Event),
		wake:   make(chan struct{}, 1),
		closed: make(chan struct{}),
	}
	b.mu.Lock()
	s.maxQueue = b.maxQueue
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
	b.seq++
	for s := range b.subs {
		s.push(b.seq, ev)
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

func (s *subscriber) push(seq uint64, ev Event) {
	s.mu.Lock()
	s.pushLocked(entry{seq, ev})
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *subscriber) pushLocked(e entry) {
	if k, ok := coalesceKey(e.ev); ok {
		for i := len(s.queue) - 1; i >= 0; i-- {
			if k2, ok2 := coalesceKey(s.queue[i].ev); ok2 && k2 == k {
				s.queue[i] = e
				return
			}
		}
		// At most one entry per download or peer: no bound needed.
		s.queue = append(s.queue, e)
		return
	}
	if s.kept < s.maxQueue {
		s.queue = append(s.queue, e)
		s.kept++
		return
	}
	// The subscriber stopped reading. Everything it has not received is
	// replaced by one Resync, which also absorbs an earlier unsent one.
	from := e.seq
	for _, q := range s.queue {
		f := q.seq
		if r, ok := q.ev.(Resync); ok {
			f = r.From
		}
		from = min(from, f)
	}
	s.queue = []entry{{seq: e.seq, ev: Resync{From: from, To: e.seq}}}
	s.kept = 0
}

// pump delivers queued events; the channel is closed when the subscription
// ends. An entry leaves the queue only once delivered, so a Resync accounts
// exactly for what the subscriber did not get; while the pump waits for the
// reader it watches for changes to the head (a newer progress, a Resync).
func (s *subscriber) pump() {
	defer close(s.out)
	for {
		s.mu.Lock()
		var head entry
		if len(s.queue) > 0 {
			head = s.queue[0]
		}
		s.mu.Unlock()
		if head.ev == nil {
			select {
			case <-s.wake:
				continue
			case <-s.closed:
				return
			}
		}
		select {
		case s.out <- head.ev:
			s.mu.Lock()
			// Unless the head was replaced meanwhile, in which case the
			// replacement is news and is delivered too.
			if len(s.queue) > 0 && s.queue[0].seq == head.seq {
				s.queue[0] = entry{}
				s.queue = s.queue[1:]
				if counted(head.ev) {
					s.kept--
				}
			}
			s.mu.Unlock()
		case <-s.wake:
		case <-s.closed:
			return
		}
	}
}

// counted reports whether an event counts against maxQueue.
func counted(ev Event) bool {
	if _, ok := ev.(Resync); ok {
		return false
	}
	_, ok := coalesceKey(ev)
	return !ok
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
	case PeerNote:
		return coalesce{"note", e.Peer}, true
	}
	return coalesce{}, false
}
