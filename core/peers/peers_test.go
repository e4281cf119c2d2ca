package peers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/dragonload/dragonload/quicwire"
)

// Every test runs in a synctest bubble: the backoffs and polls take virtual
// time, and a goroutine left behind when the test returns fails it.

// fakeConn is a proven connection without a socket.
type fakeConn struct {
	id quicwire.NodeID

	lending atomic.Bool // as last heard
	remote  atomic.Bool // what the next status poll hears
	polls   atomic.Int32

	mu         sync.Mutex
	name       string // as last heard
	remoteName string // what the next status poll hears
	nickname   string
	statusErr  error

	done     chan struct{}
	doneOnce sync.Once
	closed   atomic.Bool // closed by the table
}

func newConn(id byte, name string, lending bool) *fakeConn {
	c := &fakeConn{name: name, remoteName: name, done: make(chan struct{})}
	c.id[0] = id
	c.lending.Store(lending)
	c.remote.Store(lending)
	return c
}

func (c *fakeConn) ID() quicwire.NodeID { return c.id }
func (c *fakeConn) Name() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.nickname != "" {
		return c.nickname
	}
	return c.name
}
func (c *fakeConn) SetNickname(n string)  { c.mu.Lock(); c.nickname = n; c.mu.Unlock() }
func (c *fakeConn) Lending() bool         { return c.lending.Load() }
func (c *fakeConn) RTT() time.Duration    { return time.Millisecond }
func (c *fakeConn) Done() <-chan struct{} { return c.done }

func (c *fakeConn) Status(ctx context.Context) (quicwire.Status, error) {
	c.polls.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.statusErr != nil {
		return quicwire.Status{}, c.statusErr
	}
	c.lending.Store(c.remote.Load())
	c.name = c.remoteName
	return quicwire.Status{Name: c.name, Lending: c.lending.Load()}, nil
}

// rename is the peer taking another name, which the next poll hears.
func (c *fakeConn) rename(name string) {
	c.mu.Lock()
	c.remoteName = name
	c.mu.Unlock()
}

func (c *fakeConn) Close() error {
	c.closed.Store(true)
	c.hangUp()
	return nil
}

// hangUp is the connection dying from the other side.
func (c *fakeConn) hangUp() { c.doneOnce.Do(func() { close(c.done) }) }

func (c *fakeConn) failStatus(err error) {
	c.mu.Lock()
	c.statusErr = err
	c.mu.Unlock()
}

// fakeDialer answers each dial with what its script says for that address
// and attempt, and records when each attempt was made.
type fakeDialer struct {
	script func(ctx context.Context, addr string, attempt int) (*fakeConn, error)

	inflight atomic.Int32
	mu       sync.Mutex
	attempts map[string][]time.Time
}

func (d *fakeDialer) Dial(ctx context.Context, addr string) (*fakeConn, error) {
	d.inflight.Add(1)
	defer d.inflight.Add(-1)
	d.mu.Lock()
	if d.attempts == nil {
		d.attempts = make(map[string][]time.Time)
	}
	n := len(d.attempts[addr])
	d.attempts[addr] = append(d.attempts[addr], time.Now())
	d.mu.Unlock()
	return d.script(ctx, addr, n)
}

// gaps returns the time between successive attempts to addr.
func (d *fakeDialer) gaps(addr string) []time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []time.Duration
	at := d.attempts[addr]
	for i := 1; i < len(at); i++ {
		out = append(out, at[i].Sub(at[i-1]))
	}
	return out
}

func (d *fakeDialer) count(addr string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.attempts[addr])
}

// recorder keeps the events a table reports.
type recorder struct {
	mu     sync.Mutex
	events []Event
}

func (r *recorder) observe(ev Event) {
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
}

// take returns the events of type E reported since the last take of E.
func take[E Event](r *recorder) []E {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []E
	r.events = slices.DeleteFunc(r.events, func(ev Event) bool {
		e, ok := ev.(E)
		if ok {
			out = append(out, e)
		}
		return ok
	})
	return out
}

func newTable(d *fakeDialer) (*Table[*fakeConn], *recorder) {
	r := &recorder{}
	return New(Options[*fakeConn]{Dialer: d, Observe: r.observe}), r
}

var errRefused = errors.New("connection refused")

// sleepUntil advances virtual time to start+d and lets every goroutine
// settle.
func sleepUntil(start time.Time, d time.Duration) {
	time.Sleep(time.Until(start.Add(d)))
	synctest.Wait()
}

func secs(s ...float64) []time.Duration {
	out := make([]time.Duration, len(s))
	for i, v := range s {
		out[i] = time.Duration(v * float64(time.Second))
	}
	return out
}

func TestDialBackoffDoublesAndResets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		peer := newConn(1, "attic", true)
		d := &fakeDialer{script: func(_ context.Context, _ string, n int) (*fakeConn, error) {
			if n == 8 {
				return peer, nil
			}
			return nil, errRefused
		}}
		tb, r := newTable(d)
		defer tb.Close()
		start := time.Now()
		tb.Want("10.0.0.2:4433", "manual")

		// Attempts at 0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5, 61.5; the ninth,
		// at 91.5 s, connects.
		sleepUntil(start, 100*time.Second)
		if got, want := d.gaps("10.0.0.2:4433"), secs(0.5, 1, 2, 4, 8, 16, 30, 30); !slices.Equal(got, want) {
			t.Fatalf("gaps between dials %v, want %v", got, want)
		}
		if ready := take[Ready](r); len(ready) != 1 || ready[0].Peer.Name != "attic" || !ready[0].Peer.Ready {
			t.Fatalf("ready events %+v, want one for attic", ready)
		}
		if seen := take[Seen](r); len(seen) != 9 || seen[0].Peer != (Info{Addr: "10.0.0.2:4433", Source: "manual"}) {
			t.Fatalf("seen events %+v, want one per dial", seen)
		}

		// The connection dies: the address is dialed again at once, and
		// the backoff starts over from 500 ms.
		peer.hangUp()
		sleepUntil(start, 103*time.Second)
		if got, want := d.gaps("10.0.0.2:4433")[8:], secs(8.5, 0.5, 1); !slices.Equal(got, want) {
			t.Fatalf("gaps after the connection died %v, want %v", got, want)
		}
	})
}

func TestRoomMismatchBacksOffToTheMax(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := &fakeDialer{script: func(context.Context, string, int) (*fakeConn, error) {
			return nil, fmt.Errorf("hello: %w", quicwire.ErrRoomMismatch)
		}}
		tb, _ := newTable(d)
		defer tb.Close()
		start := time.Now()
		tb.Want("10.0.0.3:4433", "mdns")
		sleepUntil(start, 100*time.Second)
		if got, want := d.gaps("10.0.0.3:4433"), secs(30, 30, 30); !slices.Equal(got, want) {
			t.Fatalf("gaps between dials to another room's peer %v, want %v", got, want)
		}
	})
}

func TestDuplicateConnectionIsClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var dialed []*fakeConn
		var mu sync.Mutex
		d := &fakeDialer{script: func(_ context.Context, addr string, _ int) (*fakeConn, error) {
			// The same node, whichever of its addresses is dialed.
			c := newConn(7, "attic", true)
			mu.Lock()
			dialed = append(dialed, c)
			mu.Unlock()
			return c, nil
		}}
		tb, r := newTable(d)
		defer tb.Close()
		start := time.Now()
		tb.Want("10.0.0.7:4433", "mdns")
		synctest.Wait()
		tb.Want("[fd00::7]:4433", "manual")
		sleepUntil(start, 45*time.Second)

		if ready := take[Ready](r); len(ready) != 1 || ready[0].Peer.Addr != "10.0.0.7:4433" {
			t.Fatalf("ready events %+v, want one, through the first address", ready)
		}
		// The kept connection stays; only the second address's dial is
		// closed, once, as the same machine.
		want := Lost{Peer: Info{Addr: "[fd00::7]:4433", Source: "manual"}, Reason: "same machine as 10.0.0.7:4433"}
		if lost := take[Lost](r); len(lost) != 1 || lost[0] != want {
			t.Fatalf("lost events %+v, want %+v", lost, want)
		}
		mu.Lock()
		if len(dialed) != 3 || dialed[0].closed.Load() || !dialed[1].closed.Load() || !dialed[2].closed.Load() {
			t.Fatalf("want the first connection kept and both later ones closed; closed: %v", closedFlags(dialed))
		}
		mu.Unlock()
		// The duplicate's address is watched with the longest backoff.
		if got, want := d.gaps("[fd00::7]:4433"), secs(30); !slices.Equal(got, want) {
			t.Fatalf("gaps between dials of the duplicate address %v, want %v", got, want)
		}
		if got := tb.Ready(); len(got) != 1 || got[0] != dialed[0] {
			t.Fatalf("Ready() = %v, want the first connection", got)
		}
		// One machine, one entry: the duplicate address is not listed.
		list := tb.List()
		if len(list) != 1 || !list[0].Ready || list[0].Addr != "10.0.0.7:4433" {
			t.Fatalf("List() = %+v", list)
		}
	})
}

func closedFlags(cs []*fakeConn) []bool {
	var out []bool
	for _, c := range cs {
		out = append(out, c.closed.Load())
	}
	return out
}

func TestDeadConnectionIsLost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		peer := newConn(2, "attic", true)
		d := &fakeDialer{script: func(_ context.Context, _ string, n int) (*fakeConn, error) {
			if n == 0 {
				return peer, nil
			}
			return nil, errRefused
		}}
		tb, r := newTable(d)
		defer tb.Close()
		tb.Want("10.0.0.2:4433", "mdns")
		synctest.Wait()
		id := peer.ID().String()
		if got, ok := tb.Get(id); !ok || got != peer {
			t.Fatalf("Get(%s) = %v, %v before the connection died", id, got, ok)
		}

		peer.hangUp()
		synctest.Wait()
		lost := take[Lost](r)
		if len(lost) != 1 || lost[0].Reason != "connection closed" || lost[0].Peer.ID != id || lost[0].Peer.Addr != "10.0.0.2:4433" {
			t.Fatalf("lost events %+v, want one, \"connection closed\"", lost)
		}
		if _, ok := tb.Get(id); ok {
			t.Fatal("a lost peer is still in the table")
		}
		if got := tb.Ready(); len(got) != 0 {
			t.Fatalf("Ready() = %v after the peer was lost", got)
		}
	})
}

func TestStatusPoll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		peer := newConn(3, "attic", false)
		d := &fakeDialer{script: func(_ context.Context, _ string, n int) (*fakeConn, error) {
			if n == 0 {
				return peer, nil
			}
			return nil, errRefused
		}}
		tb, r := newTable(d)
		defer tb.Close()
		start := time.Now()
		tb.Want("10.0.0.3:4433", "mdns")
		synctest.Wait()
		if got := tb.Ready(); len(got) != 0 {
			t.Fatalf("Ready() = %v: the peer does not lend", got)
		}

		// The peer starts lending; the next poll, 2 s after it was
		// proven, hears of it.
		peer.remote.Store(true)
		sleepUntil(start, 1900*time.Millisecond)
		if up := take[Updated](r); len(up) != 0 {
			t.Fatalf("updated before the first poll: %+v", up)
		}
		sleepUntil(start, 2*time.Second)
		up := take[Updated](r)
		if len(up) != 1 || !up[0].Peer.Lending || up[0].Peer.ID != peer.ID().String() {
			t.Fatalf("updated events %+v, want one saying it lends", up)
		}
		if got := tb.Ready(); len(got) != 1 || got[0] != peer {
			t.Fatalf("Ready() = %v, want the peer", got)
		}
		// No change, no event.
		sleepUntil(start, 6*time.Second)
		if up := take[Updated](r); len(up) != 0 || peer.polls.Load() != 3 {
			t.Fatalf("after 3 polls without change (%d polls): updated %+v", peer.polls.Load(), up)
		}

		// A peer that stops answering is lost.
		peer.failStatus(errors.New("timeout"))
		sleepUntil(start, 8*time.Second)
		lost := take[Lost](r)
		if len(lost) != 1 || lost[0].Reason != "no answer to status: timeout" {
			t.Fatalf("lost events %+v, want one for the unanswered poll", lost)
		}
		if !peer.closed.Load() {
			t.Fatal("the silent peer's connection was not closed")
		}
	})
}

func TestForgetDropsAndStopsDialing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		peer := newConn(4, "attic", true)
		d := &fakeDialer{script: func(_ context.Context, addr string, _ int) (*fakeConn, error) {
			if addr == "10.0.0.4:4433" {
				return peer, nil
			}
			return nil, errRefused
		}}
		tb, r := newTable(d)
		defer tb.Close()
		start := time.Now()
		tb.Want("10.0.0.4:4433", "mdns")
		tb.Want("10.0.0.5:4433", "mdns")
		sleepUntil(start, 2*time.Second)

		tb.Forget("10.0.0.4:4433", "expired")
		tb.Forget("10.0.0.5:4433", "goodbye")
		synctest.Wait()
		// The ready peer is lost with its id; the address still being
		// dialed is lost without one, so that its Seen is closed.
		lost := take[Lost](r)
		if len(lost) != 2 || lost[0].Reason != "expired" || lost[0].Peer.Addr != "10.0.0.4:4433" || lost[0].Peer.ID == "" ||
			lost[1] != (Lost{Peer: Info{Addr: "10.0.0.5:4433", Source: "mdns"}, Reason: "goodbye"}) {
			t.Fatalf("lost events %+v, want the ready peer, expired, then the other address, goodbye", lost)
		}
		if !peer.closed.Load() {
			t.Fatal("the forgotten peer's connection was not closed")
		}
		if list := tb.List(); len(list) != 0 {
			t.Fatalf("List() = %+v after both addresses were forgotten", list)
		}
		n4, n5 := d.count("10.0.0.4:4433"), d.count("10.0.0.5:4433")
		sleepUntil(start, 5*time.Minute)
		if d.count("10.0.0.4:4433") != n4 || d.count("10.0.0.5:4433") != n5 {
			t.Fatalf("forgotten addresses are still dialed: %v", d.attempts)
		}
	})
}

func TestDropAllAndRedialAll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var conns []*fakeConn
		var mu sync.Mutex
		d := &fakeDialer{script: func(context.Context, string, int) (*fakeConn, error) {
			c := newConn(5, "attic", true)
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			return c, nil
		}}
		tb, r := newTable(d)
		defer tb.Close()
		tb.Want("10.0.0.5:4433", "mdns")
		synctest.Wait()

		tb.DropAll("room changed")
		synctest.Wait()
		// Its dial loop connects again at once.
		if lost, ready := take[Lost](r), take[Ready](r); len(lost) != 1 || lost[0].Reason != "room changed" || len(ready) != 2 {
			t.Fatalf("after DropAll: lost %+v, ready %+v", lost, ready)
		}
		tb.RedialAll()
		synctest.Wait()
		if lost, ready := take[Lost](r), take[Ready](r); len(lost) != 1 || lost[0].Reason != "room changed" || len(ready) != 1 {
			t.Fatalf("after RedialAll: lost %+v, ready %+v", lost, ready)
		}
		if d.count("10.0.0.5:4433") != 3 || len(tb.List()) != 1 {
			t.Fatalf("%d dials, list %+v", d.count("10.0.0.5:4433"), tb.List())
		}
		mu.Lock()
		defer mu.Unlock()
		if got := closedFlags(conns); !slices.Equal(got, []bool{true, true, false}) {
			t.Fatalf("closed connections %v, want the first two", got)
		}
	})
}

func TestCloseWaitsForEveryLoop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		peer := newConn(6, "attic", true)
		d := &fakeDialer{script: func(ctx context.Context, addr string, _ int) (*fakeConn, error) {
			switch addr {
			case "ready:1":
				return peer, nil
			case "hanging:1":
				<-ctx.Done() // a dial that takes until it is given up
				return nil, ctx.Err()
			}
			return nil, errRefused
		}}
		tb, r := newTable(d)
		runDone := make(chan struct{})
		go func() {
			defer close(runDone)
			tb.Run(context.Background())
		}()
		tb.Want("ready:1", "manual")
		tb.Want("hanging:1", "manual")
		tb.Want("refused:1", "manual")
		time.Sleep(3 * time.Second)
		if d.inflight.Load() != 1 {
			t.Fatalf("%d dials in flight, want the hanging one", d.inflight.Load())
		}

		tb.Close()
		// No synctest.Wait: Close itself must have waited.
		if n := d.inflight.Load(); n != 0 {
			t.Fatalf("Close returned with %d dials still running", n)
		}
		if !peer.closed.Load() {
			t.Fatal("Close left a connection open")
		}
		if lost := take[Lost](r); len(lost) != 1 || lost[0].Reason != "stopped" {
			t.Fatalf("lost events %+v, want the ready peer, stopped", lost)
		}
		<-runDone // Run ends with the table

		n := d.count("refused:1")
		tb.Want("late:1", "manual")
		tb.Want("refused:1", "manual")
		time.Sleep(time.Minute)
		if d.count("late:1") != 0 || d.count("refused:1") != n {
			t.Fatal("Want dials after Close")
		}
		// The bubble ends only if no goroutine is left.
	})
}

func TestListOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		conns := map[string]*fakeConn{
			"10.0.0.9:1": newConn(9, "bob", true),
			"10.0.0.8:1": newConn(8, "alice", true),
			"10.0.0.7:1": newConn(7, "alice", false),
		}
		d := &fakeDialer{script: func(_ context.Context, addr string, _ int) (*fakeConn, error) {
			if c, ok := conns[addr]; ok {
				return c, nil
			}
			return nil, errRefused
		}}
		tb, _ := newTable(d)
		defer tb.Close()
		for _, a := range []string{"10.0.0.2:1", "10.0.0.9:1", "10.0.0.1:1", "10.0.0.8:1", "10.0.0.7:1"} {
			tb.Want(a, "manual")
		}
		synctest.Wait()
		var got []string
		for _, p := range tb.List() {
			got = append(got, fmt.Sprintf("%v %s %s", p.Ready, p.Name, p.Addr))
		}
		want := []string{
			"true alice 10.0.0.7:1",
			"true alice 10.0.0.8:1",
			"true bob 10.0.0.9:1",
			"false  10.0.0.1:1",
			"false  10.0.0.2:1",
		}
		if !slices.Equal(got, want) {
			t.Fatalf("List() order\n got %q\nwant %q", got, want)
		}
	})
}

func TestRates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		peer := newConn(10, "attic", true)
		d := &fakeDialer{script: func(context.Context, string, int) (*fakeConn, error) { return peer, nil }}
		tb, r := newTable(d)
		defer tb.Close()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go tb.Run(ctx)
		start := time.Now()
		tb.Want("10.0.0.10:1", "manual")
		synctest.Wait()
		id := peer.ID().String()

		tb.Received(id, 3000)
		tb.LentTo(peer.ID(), 500)
		sleepUntil(start, time.Second)
		up := take[Updated](r)
		if len(up) != 1 || up[0].Peer.Rate != 3500 || up[0].Peer.Received != 3000 || up[0].Peer.Lent != 500 {
			t.Fatalf("updated events %+v after the first second", up)
		}
		if lent := take[Lent](r); len(lent) != 1 || lent[0] != (Lent{Peer: id, Bytes: 500, Rate: 500}) {
			t.Fatalf("lent events %+v after the first second", lent)
		}

		// A quiet second reports the rate falling to zero, once.
		sleepUntil(start, 3*time.Second)
		if up := take[Updated](r); len(up) != 1 || up[0].Peer.Rate != 0 {
			t.Fatalf("updated events %+v after two quiet seconds", up)
		}
		if lent := take[Lent](r); len(lent) != 0 {
			t.Fatalf("lent events %+v after two quiet seconds", lent)
		}
		// Bytes received from an unknown peer are not counted.
		tb.Received("nobody", 100)
		if list := tb.List(); len(list) != 1 || list[0].Received != 3000 {
			t.Fatalf("List() = %+v", list)
		}
	})
}
