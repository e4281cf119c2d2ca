package core

import (
	"reflect"
	"testing"
	"time"
)

// end is published last in each case: receiving it proves nothing else is
// queued, without waiting for events that should not come.
var end = Notice{Text: "end"}

func state(id DownloadID, s State) Event { return DownloadStateChanged{ID: id, State: s} }

// TestBusStalledSubscriber publishes everything before the subscriber reads
// a single event, which is what a subscriber that stopped reading sees.
func TestBusStalledSubscriber(t *testing.T) {
	tests := []struct {
		name     string
		maxQueue int
		before   []Event // published before subscribing
		publish  []Event
		want     []Event
	}{{
		name:     "progress coalesces per download, states are kept in order",
		maxQueue: defaultMaxQueue,
		publish: []Event{
			state("a", StateProbing),
			DownloadProgress{ID: "a", Done: 1}, DownloadProgress{ID: "a", Done: 2},
			DownloadProgress{ID: "b", Done: 7},
			DownloadProgress{ID: "a", Done: 100},
			state("a", StateDone),
			end,
		},
		want: []Event{
			state("a", StateProbing),
			DownloadProgress{ID: "a", Done: 100},
			DownloadProgress{ID: "b", Done: 7},
			state("a", StateDone),
			end,
		},
	}, {
		name:     "peer updates and lending coalesce per peer",
		maxQueue: defaultMaxQueue,
		publish: []Event{
			PeerUpdated{Peer: PeerInfo{ID: "x", RTT: 1}}, Lent{Peer: "x", Bytes: 1},
			PeerUpdated{Peer: PeerInfo{ID: "y", RTT: 1}}, PeerUpdated{Peer: PeerInfo{ID: "x", RTT: 2}},
			Lent{Peer: "x", Bytes: 2},
			end,
		},
		want: []Event{
			PeerUpdated{Peer: PeerInfo{ID: "x", RTT: 2}}, Lent{Peer: "x", Bytes: 2},
			PeerUpdated{Peer: PeerInfo{ID: "y", RTT: 1}},
			end,
		},
	}, {
		name:     "at the bound the backlog becomes a resync, later events follow",
		maxQueue: 3,
		publish: []Event{
			state("a", StateQueued), state("a", StateProbing), state("a", StateDownloading),
			state("a", StateVerifying), // 4th: over the bound
			state("a", StateDone), end,
		},
		want: []Event{Resync{From: 1, To: 4}, state("a", StateDone), end},
	}, {
		name:     "a second overflow extends the unsent resync",
		maxQueue: 2,
		publish: []Event{
			state("a", StateQueued), state("a", StateProbing), state("a", StateDownloading), // resync 1..3
			state("a", StateVerifying), state("a", StateDone), Notice{Text: "x"}, // resync 1..6
			end,
		},
		want: []Event{Resync{From: 1, To: 6}, end},
	}, {
		name:     "progress is discarded with the backlog and does not count",
		maxQueue: 2,
		publish: []Event{
			DownloadProgress{ID: "a", Done: 1}, state("a", StateDownloading),
			DownloadProgress{ID: "a", Done: 2}, DownloadProgress{ID: "b", Done: 1},
			state("a", StateVerifying),
			state("a", StateDone), // resync 2..6: progress for a is now number 3
			DownloadProgress{ID: "a", Done: 9},
			end,
		},
		want: []Event{Resync{From: 2, To: 6}, DownloadProgress{ID: "a", Done: 9}, end},
	}, {
		name:     "numbers count every event the bus published",
		maxQueue: 1,
		before:   []Event{Notice{Text: "1"}, Notice{Text: "2"}},
		publish:  []Event{state("a", StateQueued), state("a", StateDone), end},
		want:     []Event{Resync{From: 3, To: 4}, end},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newBus()
			b.maxQueue = tc.maxQueue
			for _, ev := range tc.before {
				b.publish(ev)
			}
			ch, cancel := b.subscribe()
			defer cancel()
			for _, ev := range tc.publish {
				b.publish(ev)
			}
			if got := receive(t, ch, len(tc.want)); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got\n%#v\nwant\n%#v", got, tc.want)
			}
		})
	}
}

// TestBusReaderMissesNoState: a subscriber that keeps reading while events
// are published gets every event that is not progress, in order, and no
// Resync.
func TestBusReaderMissesNoState(t *testing.T) {
	const n = 20000
	b := newBus()
	ch, cancel := b.subscribe()
	defer cancel()
	go func() {
		for i := range n {
			b.publish(DownloadProgress{ID: "a", Done: int64(i)})
			b.publish(ChunkLanded{ID: "a", Offset: int64(i)})
		}
		b.publish(end)
	}()
	var next int64
	lastDone := int64(-1)
	for _, ev := range receiveUntilEnd(t, ch) {
		switch ev := ev.(type) {
		case ChunkLanded:
			if ev.Offset != next {
				t.Fatalf("got chunk %d, want %d", ev.Offset, next)
			}
			next++
		case DownloadProgress:
			if ev.Done <= lastDone {
				t.Fatalf("progress went back from %d to %d", lastDone, ev.Done)
			}
			lastDone = ev.Done
		default:
			t.Fatalf("unexpected %#v", ev)
		}
	}
	if next != n || lastDone != n-1 {
		t.Fatalf("got %d chunks and progress up to %d, want %d and %d", next, lastDone, n, n-1)
	}
}

func TestBusCancelClosesChannel(t *testing.T) {
	b := newBus()
	ch, cancel := b.subscribe()
	b.publish(Notice{Text: "x"})
	cancel()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("channel not closed after cancel")
		}
	}
}

// receive reads n events, failing the test if they do not come.
func receive(t *testing.T, ch <-chan Event, n int) []Event {
	t.Helper()
	var got []Event
	timeout := time.After(10 * time.Second)
	for len(got) < n {
		select {
		case ev := <-ch:
			got = append(got, ev)
		case <-timeout:
			t.Fatalf("timed out after %d events: %#v", len(got), got)
		}
	}
	return got
}

// receiveUntilEnd reads events up to, not including, end.
func receiveUntilEnd(t *testing.T, ch <-chan Event) []Event {
	t.Helper()
	var got []Event
	timeout := time.After(time.Minute)
	for {
		select {
		case ev := <-ch:
			if ev == Event(end) {
				return got
			}
			got = append(got, ev)
		case <-timeout:
			t.Fatalf("timed out after %d events, before the last", len(got))
		}
	}
}
