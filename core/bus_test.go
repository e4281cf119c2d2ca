package core

import (
	"reflect"
	"testing"
	"time"
)

func TestBusCoalescesProgressKeepsStates(t *testing.T) {
	b := newBus()
	ch, cancel := b.subscribe()
	defer cancel()
	// Nobody reads while these are published: progress for "a" must collapse
	// to the newest, state changes must all survive, in order.
	b.publish(DownloadStateChanged{ID: "a", State: StateProbing})
	for i := int64(1); i <= 100; i++ {
		b.publish(DownloadProgress{ID: "a", Done: i})
	}
	b.publish(DownloadProgress{ID: "b", Done: 7})
	b.publish(DownloadStateChanged{ID: "a", State: StateDone})

	var got []Event
	timeout := time.After(5 * time.Second)
	for len(got) < 4 {
		select {
		case ev := <-ch:
			got = append(got, ev)
		case <-timeout:
			t.Fatalf("timed out after %d events: %v", len(got), got)
		}
	}
	want := []Event{
		DownloadStateChanged{ID: "a", State: StateProbing},
		DownloadProgress{ID: "a", Done: 100},
		DownloadProgress{ID: "b", Done: 7},
		DownloadStateChanged{ID: "a", State: StateDone},
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("event %d: got %#v, want %#v", i, got[i], want[i])
		}
	}
	select {
	case ev := <-ch:
		t.Errorf("unexpected extra event %#v", ev)
	case <-time.After(50 * time.Millisecond):
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
