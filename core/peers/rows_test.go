package peers

import (
	"context"
	"maps"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// A front end draws one row per event stream entry: a row for an address
// from its Seen until the Ready or Lost that closes it, and a row for a
// node id from its Ready until its Lost. These tests fold the events as
// such a front end does and check that it ends with one row per machine,
// never a row for a dial that is over.

// rowKeeper folds events into rows and records every event that a row
// front end could not place: a Lost for an address with no open Seen, or
// a Ready for an address that was never Seen.
type rowKeeper struct {
	mu     sync.Mutex
	rows   map[string]bool // "addr " + address, or "id " + node id
	faults []string
}

func (k *rowKeeper) observe(ev Event) {
	k.mu.Lock()
	defer k.mu.Unlock()
	switch ev := ev.(type) {
	case Seen:
		k.rows["addr "+ev.Peer.Addr] = true
	case Ready:
		if !k.rows["addr "+ev.Peer.Addr] {
			k.faults = append(k.faults, "ready without seen: "+ev.Peer.Addr)
		}
		delete(k.rows, "addr "+ev.Peer.Addr)
		k.rows["id "+ev.Peer.Name] = true
	case Lost:
		if ev.Peer.ID != "" {
			delete(k.rows, "id "+ev.Peer.Name)
			return
		}
		if !k.rows["addr "+ev.Peer.Addr] {
			k.faults = append(k.faults, "lost without seen: "+ev.Peer.Addr)
		}
		delete(k.rows, "addr "+ev.Peer.Addr)
	}
}

func (k *rowKeeper) state() ([]string, []string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Sorted(maps.Keys(k.rows)), slices.Clone(k.faults)
}

func TestOneRowPerMachine(t *testing.T) {
	// machine is who answers at an address: a fresh connection to the
	// same node for every dial, as a real node gives.
	type machine struct {
		id   byte
		name string
	}
	// switchable is a dial script whose answers a case changes midway.
	type switchable struct {
		mu      sync.Mutex
		answers map[string]machine // none: refused
		dialed  map[string][]*fakeConn
	}
	cases := []struct {
		name  string
		addrs []string
		// conns answer dials at first; then runs after a minute and
		// may change the answers.
		conns    map[string]machine
		then     func(tb *Table[*fakeConn], sw *switchable)
		wantRows []string
		wantList []string // Addr of each List entry
	}{
		{
			name:     "a dial that fails and is forgotten leaves no row",
			addrs:    []string{"10.0.0.1:1"},
			then:     func(tb *Table[*fakeConn], _ *switchable) { tb.Forget("10.0.0.1:1", "removed") },
			wantRows: nil,
			wantList: nil,
		},
		{
			name:     "a dial still failing keeps its row",
			addrs:    []string{"10.0.0.1:1"},
			wantRows: []string{"addr 10.0.0.1:1"},
			wantList: []string{"10.0.0.1:1"},
		},
		{
			name:     "a dial that connects becomes the machine's row",
			addrs:    []string{"10.0.0.2:1"},
			conns:    map[string]machine{"10.0.0.2:1": {2, "attic"}},
			wantRows: []string{"id attic"},
			wantList: []string{"10.0.0.2:1"},
		},
		{
			name:     "two addresses of one machine make one row",
			addrs:    []string{"10.0.0.3:1", "[fd00::3]:1"},
			conns:    map[string]machine{"10.0.0.3:1": {3, "attic"}, "[fd00::3]:1": {3, "attic"}},
			wantRows: []string{"id attic"},
			wantList: []string{"10.0.0.3:1"},
		},
		{
			name:  "a machine that moves to its other address keeps one row",
			addrs: []string{"10.0.0.4:1", "[fd00::4]:1"},
			conns: map[string]machine{"10.0.0.4:1": {4, "attic"}, "[fd00::4]:1": {4, "attic"}},
			then: func(tb *Table[*fakeConn], sw *switchable) {
				// Its first address stops answering and the connection
				// dies; it comes back through the second one.
				sw.mu.Lock()
				delete(sw.answers, "10.0.0.4:1")
				kept := sw.dialed["10.0.0.4:1"][0]
				sw.mu.Unlock()
				kept.hangUp()
			},
			wantRows: []string{"id attic"},
			wantList: []string{"[fd00::4]:1"},
		},
		{
			name:  "a machine among failing dials",
			addrs: []string{"10.0.0.5:1", "10.0.0.6:1", "10.0.0.7:1"},
			conns: map[string]machine{"10.0.0.6:1": {6, "bob"}},
			then: func(tb *Table[*fakeConn], _ *switchable) {
				tb.Forget("10.0.0.5:1", "expired")
				tb.Forget("10.0.0.6:1", "goodbye")
			},
			wantRows: []string{"addr 10.0.0.7:1"},
			wantList: []string{"10.0.0.7:1"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				sw := &switchable{answers: maps.Clone(c.conns), dialed: map[string][]*fakeConn{}}
				d := &fakeDialer{script: func(_ context.Context, addr string, _ int) (*fakeConn, error) {
					sw.mu.Lock()
					defer sw.mu.Unlock()
					m, ok := sw.answers[addr]
					if !ok {
						return nil, errRefused
					}
					conn := newConn(m.id, m.name, true)
					sw.dialed[addr] = append(sw.dialed[addr], conn)
					return conn, nil
				}}
				k := &rowKeeper{rows: map[string]bool{}}
				tb := New(Options[*fakeConn]{Dialer: d, Observe: k.observe})
				defer tb.Close()
				start := time.Now()
				for _, a := range c.addrs {
					tb.Want(a, "manual")
					synctest.Wait()
				}
				sleepUntil(start, time.Minute)
				if c.then != nil {
					c.then(tb, sw)
				}
				// Long enough for every backoff to have dialed again.
				sleepUntil(start, 3*time.Minute)
				rows, faults := k.state()
				if len(faults) > 0 {
					t.Errorf("events a row front end cannot place: %q", faults)
				}
				if !slices.Equal(rows, c.wantRows) {
					t.Errorf("rows %q, want %q", rows, c.wantRows)
				}
				var list []string
				for _, p := range tb.List() {
					list = append(list, p.Addr)
				}
				if !slices.Equal(list, c.wantList) {
					t.Errorf("List() addresses %q, want %q", list, c.wantList)
				}
			})
		})
	}
}

func TestSource(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := &fakeDialer{script: func(context.Context, string, int) (*fakeConn, error) { return nil, errRefused }}
		tb, _ := newTable(d)
		defer tb.Close()
		tb.Want("10.0.0.8:1", "mdns")
		tb.Want("10.0.0.9:1", "config")
		tb.Want("10.0.0.8:1", "manual") // known already: keeps how it was found first
		for _, c := range []struct {
			addr, want string
			ok         bool
		}{
			{"10.0.0.8:1", "mdns", true},
			{"10.0.0.9:1", "config", true},
			{"10.0.0.10:1", "", false},
		} {
			if got, ok := tb.Source(c.addr); got != c.want || ok != c.ok {
				t.Errorf("Source(%s) = %q, %v; want %q, %v", c.addr, got, ok, c.want, c.ok)
			}
		}
		tb.Forget("10.0.0.9:1", "removed")
		if got, ok := tb.Source("10.0.0.9:1"); ok {
			t.Errorf("Source of a forgotten address = %q, true", got)
		}
	})
}

// TestStatusPollHearsNewName: a peer that renames itself is reported
// Updated at the next poll, with its new name.
func TestStatusPollHearsNewName(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		peer := newConn(11, "vm", true)
		d := &fakeDialer{script: func(context.Context, string, int) (*fakeConn, error) { return peer, nil }}
		tb, r := newTable(d)
		defer tb.Close()
		start := time.Now()
		tb.Want("10.0.0.11:1", "mdns")
		synctest.Wait()
		peer.rename("vm-3fa2")
		sleepUntil(start, 2*time.Second)
		up := take[Updated](r)
		if len(up) != 1 || up[0].Peer.Name != "vm-3fa2" {
			t.Fatalf("updated events %+v, want one with the new name", up)
		}
		if list := tb.List(); len(list) != 1 || list[0].Name != "vm-3fa2" {
			t.Fatalf("List() = %+v", list)
		}
	})
}

// TestNicknames: a nickname replaces the announced name in every Info and
// on the connection itself (which names the peer in downloads), whether it
// is given before the peer connects or while it is connected, and it holds
// across a reconnection; "" goes back to the announced name.
func TestNicknames(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var last *fakeConn
		d := &fakeDialer{script: func(context.Context, string, int) (*fakeConn, error) {
			mu.Lock()
			defer mu.Unlock()
			last = newConn(12, "vm", true)
			return last, nil
		}}
		tb, r := newTable(d)
		defer tb.Close()
		conn := func() *fakeConn { mu.Lock(); defer mu.Unlock(); return last }
		var id string
		steps := []struct {
			what         string
			do           func()
			wantName     string
			wantNickname string
			wantUpdated  bool
		}{
			{"given before the peer connects", func() {
				id = newConn(12, "", false).ID().String()
				tb.SetNickname(id, "attic")
				tb.Want("10.0.0.12:1", "mdns")
			}, "attic", "attic", false},
			{"changed while connected", func() { tb.SetNickname(id, "loft") }, "loft", "loft", true},
			{"another node's nickname", func() { tb.SetNickname("someone-else", "shed") }, "loft", "loft", false},
			{"after a reconnection", func() { conn().hangUp() }, "loft", "loft", false},
			{"removed", func() { tb.SetNickname(id, "") }, "vm", "", true},
		}
		for _, st := range steps {
			st.do()
			synctest.Wait()
			list := tb.List()
			if len(list) != 1 || list[0].Name != st.wantName || list[0].Nickname != st.wantNickname {
				t.Fatalf("%s: List() = %+v, want name %q, nickname %q", st.what, list, st.wantName, st.wantNickname)
			}
			if got := conn().Name(); got != st.wantName {
				t.Fatalf("%s: the connection's Name() = %q, want %q", st.what, got, st.wantName)
			}
			up := take[Updated](r)
			if st.wantUpdated != (len(up) == 1) || len(up) > 1 || (len(up) == 1 && up[0].Peer.Name != st.wantName) {
				t.Fatalf("%s: updated events %+v, want one: %v", st.what, up, st.wantUpdated)
			}
		}
		if ready := take[Ready](r); len(ready) != 2 || ready[0].Peer.Name != "attic" || ready[1].Peer.Name != "loft" {
			t.Fatalf("ready events %+v, want the nickname in both", ready)
		}
	})
}
