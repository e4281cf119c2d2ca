package quicwire

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dragonload/dragonload/quicwire/cpace"
	"github.com/dragonload/dragonload/quicwire/wire"
	"github.com/quic-go/quic-go"
)

func TestHelloStatusFetch(t *testing.T) {
	var (
		mu   sync.Mutex
		seen PeerInfo
	)
	ph := &patternHandler{}
	lender := newNode(t, nodeOpts{name: "lender", lending: true, handler: handlerFunc(
		func(ctx context.Context, from PeerInfo, req FetchRequest, w io.Writer) error {
			mu.Lock()
			seen = from
			mu.Unlock()
			return ph.ServeFetch(ctx, from, req, w)
		})})
	asker := newNode(t, nodeOpts{name: "asker"})
	p := dial(t, asker, lender)

	if p.ID() != lender.ID() || p.Name() != "lender" || !p.Lending() {
		t.Fatalf("peer %s %q lending=%v, want %s \"lender\" true", p.ID().Short(), p.Name(), p.Lending(), lender.ID().Short())
	}
	if p.RTT() <= 0 {
		t.Errorf("RTT %v, want a measurement", p.RTT())
	}
	st, err := p.Status(context.Background())
	if err != nil || st != (Status{Name: "lender", Lending: true}) {
		t.Fatalf("Status: %+v %v", st, err)
	}

	req := FetchRequest{URL: "https://example.org/f", Offset: 12345, Length: 5<<20 + 7, Size: 1 << 30, ETag: `"x"`}
	h := sha256.New()
	var got int64
	err = p.Fetch(context.Background(), req, func(b []byte) error {
		h.Write(b)
		got += int64(len(b))
		return nil
	})
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	want := patternSum(req.Offset, req.Length)
	if got != req.Length || [32]byte(h.Sum(nil)) != want {
		t.Fatalf("received %d bytes with a different sum, want %d", got, req.Length)
	}
	mu.Lock()
	defer mu.Unlock()
	if seen.ID != asker.ID() || seen.Name != "asker" || seen.Addr != asker.Addr().String() {
		t.Fatalf("handler saw %+v, want asker %s at %s", seen, asker.ID().Short(), asker.Addr())
	}
}

// Nodes of versions 3 and 4 fetch from each other, either way round: a
// version 4 lender still sends its SHA-256 to a version 3 requester, and
// a version 4 requester takes a version 3 lender's END with its sum.
func TestFetchAcrossVersions(t *testing.T) {
	const off, length = 12345, 200000
	for _, c := range []struct{ asker, lender int }{{3, 4}, {4, 3}, {3, 3}, {4, 4}} {
		lender := newNode(t, nodeOpts{version: c.lender, handler: &patternHandler{}})
		p := dial(t, newNode(t, nodeOpts{version: c.asker}), lender)
		h := sha256.New()
		err := p.Fetch(context.Background(), FetchRequest{URL: "http://h/", Offset: off, Length: length},
			func(b []byte) error { h.Write(b); return nil })
		if err != nil || [32]byte(h.Sum(nil)) != patternSum(off, length) {
			t.Errorf("version %d asking version %d (in use %d): %v, or wrong bytes", c.asker, c.lender, p.Version(), err)
		}
	}
}

// More fetches than the stream cap, at once and in a row, must all
// succeed: finished streams have to hand their credit back.
func TestManyFetches(t *testing.T) {
	lender := newNode(t, nodeOpts{handler: &patternHandler{piece: 1000}})
	p := dial(t, newNode(t, nodeOpts{}), lender)
	const n = 3 * maxStreams
	errs := make(chan error, n)
	for i := range n {
		go func() {
			off, length := int64(i)*10007, int64(1+i*301)
			h := sha256.New()
			err := p.Fetch(context.Background(), FetchRequest{URL: "http://h/", Offset: off, Length: length},
				func(b []byte) error { h.Write(b); return nil })
			if err == nil && [32]byte(h.Sum(nil)) != patternSum(off, length) {
				err = fmt.Errorf("fetch %d: wrong bytes", i)
			}
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

func TestWrongRoom(t *testing.T) {
	ph := &patternHandler{}
	rec := &logRecorder{}
	lender := newNode(t, nodeOpts{name: "secret-name", lending: true, handler: ph, log: rec})
	stranger := newNode(t, nodeOpts{room: otherRoom()})

	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	if p, err := stranger.Dial(ctx, lender.Addr().String()); !errors.Is(err, ErrRoomMismatch) {
		t.Fatalf("Dial from another room: peer %v, err %v; want ErrRoomMismatch", p, err)
	}

	// Byte by byte: to a client that does not know the code the server
	// sends its WELCOME (a CPace share and a tag, which confirm one guess
	// of the code and nothing else), then closes at the client's wrong
	// tag without a STATUS: no name, no lending state.
	id := newIdentity(t)
	conn := rawDial(t, lender, id)
	s, err := conn.OpenStreamSync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pr, err := startProof(conn, otherRoom(), cpace.Initiator, id.ID, lender.ID())
	if err != nil {
		t.Fatal(err)
	}
	hi := wire.Hello{Version: ProtocolVersion}
	copy(hi.Share[:], pr.share)
	frame, _ := wire.AppendHello(nil, hi)
	if _, err := s.Write(frame); err != nil {
		t.Fatal(err)
	}
	s.SetReadDeadline(time.Now().Add(waitLong))
	rd := wire.NewReader(s, make([]byte, wire.ReaderBufSize))
	typ, p, err := rd.Next()
	if err != nil || typ != wire.TypeWelcome {
		t.Fatalf("first frame %v, %v; want WELCOME", typ, err)
	}
	w, err := wire.DecodeWelcome(p)
	if err != nil {
		t.Fatal(err)
	}
	kc, ks, err := pr.finish(w.Share[:])
	if err != nil {
		t.Fatal(err)
	}
	if tag := confirmTag(ks, w.Share[:]); tag == w.Confirm {
		t.Fatal("the server's tag checks out for a client of another room")
	}
	frame, _ = wire.AppendIdent(nil, wire.Ident{Confirm: confirmTag(kc, pr.share), Name: "stranger"})
	s.Write(frame)
	s.Close()
	rest, err := io.ReadAll(s)
	if len(rest) != 0 {
		t.Fatalf("server sent %d more bytes (%q) to a client with a bad tag", len(rest), rest)
	}
	if code, ok := closedByPeer(err); !ok || code != closeRoom {
		t.Fatalf("read ended with %v, want the room-mismatch close", err)
	}
	if ph.calls.Load() != 0 {
		t.Fatal("handler called for a peer outside the room")
	}
	if attrs, ok := rec.find("refused peer"); !ok || attrs["reason"] != "room proof failed" {
		t.Fatalf("no log of the refusal: %v", attrs)
	}
}

// The exchange is bound to its TLS session: a client that runs CPace
// for one connection (as a relay between two members would have to, each
// side of it being a TLS session of its own) fails on another, even
// between the same two nodes and with the right code.
func TestRelayedProof(t *testing.T) {
	lender := newNode(t, nodeOpts{})
	id := newIdentity(t)
	first, second := rawDial(t, lender, id), rawDial(t, lender, id)
	pr, err := startProof(first, testRoom(), cpace.Initiator, id.ID, lender.ID())
	if err != nil {
		t.Fatal(err)
	}
	s, err := second.OpenStream()
	if err != nil {
		t.Fatal(err)
	}
	hi := wire.Hello{Version: ProtocolVersion}
	copy(hi.Share[:], pr.share)
	frame, _ := wire.AppendHello(nil, hi)
	s.Write(frame)
	rd := wire.NewReader(s, make([]byte, wire.ReaderBufSize))
	typ, p, err := rd.Next()
	if err != nil || typ != wire.TypeWelcome {
		t.Fatalf("first frame %v, %v; want WELCOME", typ, err)
	}
	w, _ := wire.DecodeWelcome(p)
	kc, ks, err := pr.finish(w.Share[:])
	if err != nil {
		t.Fatal(err)
	}
	if confirmTag(ks, w.Share[:]) == w.Confirm {
		t.Fatal("the server's tag checks out across TLS sessions")
	}
	frame, _ = wire.AppendIdent(nil, wire.Ident{Confirm: confirmTag(kc, pr.share)})
	s.Write(frame)
	s.Close()
	if code := closedWith(t, second); code != closeRoom {
		t.Fatalf("relayed exchange: closed with 0x%x, want 0x%x", code, closeRoom)
	}
	// An exchange on its own session passes.
	if _, err := clientHello(context.Background(), first, id, testRoom(), "raw", ProtocolVersion); err != nil {
		t.Fatalf("hello on its own session: %v", err)
	}
}

// A server that does not know the code is caught by the client's check of
// its tag, which does not depend on the server closing the connection;
// and the client sends nothing after HELLO to such a server (no tag, no
// name), so a fake peer gets no value it could test guesses against
// offline: only the client's share, which fits every code.
func TestServerProofChecked(t *testing.T) {
	client := newNode(t, nodeOpts{name: "my-laptop"})
	after := make(chan []byte, 1)
	addr := rawServer(t, func(conn *quic.Conn, self *Identity) {
		id, _ := connPeerID(conn)
		s, err := conn.AcceptStream(conn.Context())
		if err != nil {
			return
		}
		rd := wire.NewReader(s, make([]byte, wire.ReaderBufSize))
		_, p, err := rd.Next()
		if err != nil {
			return
		}
		h, _ := wire.DecodeHello(p)
		// An exchange run with a guessed code, as a fake peer would.
		pr, err := startProof(conn, otherRoom(), cpace.Responder, id, self.ID)
		if err != nil {
			return
		}
		_, ks, err := pr.finish(h.Share[:])
		if err != nil {
			return
		}
		w := wire.Welcome{Version: ProtocolVersion, Confirm: confirmTag(ks, pr.share)}
		copy(w.Share[:], pr.share)
		frame, _ := wire.AppendWelcome(nil, w)
		s.Write(frame)
		s.SetReadDeadline(time.Now().Add(waitLong))
		rest, _ := io.ReadAll(s)
		after <- rest
		<-conn.Context().Done()
	})
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	if _, err := client.Dial(ctx, addr); !errors.Is(err, ErrRoomMismatch) {
		t.Fatalf("Dial to a server with a bad tag: %v, want ErrRoomMismatch", err)
	}
	select {
	case rest := <-after:
		if len(rest) != 0 {
			t.Fatalf("the client sent %d bytes after HELLO to a server that failed its proof: %q", len(rest), rest)
		}
	case <-time.After(waitLong):
		t.Fatal("the fake server never finished reading")
	}
}

func TestGarbagePeer(t *testing.T) {
	proven := func(t *testing.T, conn *quic.Conn, id *Identity) {
		if _, err := clientHello(context.Background(), conn, id, testRoom(), "raw", ProtocolVersion); err != nil {
			t.Fatalf("hello: %v", err)
		}
	}
	fetch := func(f wire.Fetch) []byte {
		b, err := wire.AppendFetch(nil, f)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cases := []struct {
		name   string
		hello  bool   // run a valid hello first
		junk   []byte // opens a new stream
		reason string // part of the logged reason
	}{
		{"junk instead of hello", false, []byte{0xee, 0x01, 0x00}, "unknown type"},
		{"data instead of hello", false, append(wire.AppendHeader(nil, wire.TypeData, 3), 1, 2, 3), "instead of HELLO"},
		{"unknown frame type", true, []byte{0x7f, 0x00}, "unknown type"},
		{"oversize fetch", true, wire.AppendHeader(nil, wire.TypeFetch, wire.MaxFetch+1), "exceeds cap"},
		{"stream opened by data", true, append(wire.AppendHeader(nil, wire.TypeData, 1), 9), "DATA frame opens a stream"},
		{"fetch with trailing bytes", true, func() []byte {
			f := fetch(wire.Fetch{URL: "http://h/", Length: 1})
			f[1]++ // one more payload byte than the fields use
			return append(f, 0)
		}(), "after the last field"},
		{"bytes after the request", true, append(fetch(wire.Fetch{URL: "http://h/", Length: 1}), 0x04, 0x00), "after the last frame"},
		{"have with key kind 3", true, append(wire.AppendHeader(nil, wire.TypeHave, 1+wire.SumLen), append([]byte{3}, make([]byte, wire.SumLen)...)...), "key kind 3"},
		{"have cut short", true, append(wire.AppendHeader(nil, wire.TypeHave, 2), 1, 0), "short key sum"},
		{"read of zero bytes", true, append(wire.AppendHeader(nil, wire.TypeRead, 1+wire.SumLen+2), append(append([]byte{1}, make([]byte, wire.SumLen)...), 0, 0)...), "zero length"},
		{"empty search", true, []byte{byte(wire.TypeSearch), 1, 0}, "empty search words"},
		{"oversize search", true, wire.AppendHeader(nil, wire.TypeSearch, wire.MaxControl+1), "exceeds cap"},
		{"stream opened by holding", true, must(wire.AppendHolding(nil, wire.Holding{Size: 1})), "HOLDING frame opens a stream"},
		{"stream opened by found", true, must(wire.AppendFound(nil, wire.Found{})), "FOUND frame opens a stream"},
		{"bytes after a have", true, append(must(wire.AppendHave(nil, wire.Have{Key: wire.Key{Kind: 1}})), 0x04, 0x00), "after the last frame"},
	}
	ph := &patternHandler{}
	rec := &logRecorder{}
	lender := newNode(t, nodeOpts{handler: ph, log: rec})
	good := dial(t, newNode(t, nodeOpts{}), lender)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id := newIdentity(t)
			conn := rawDial(t, lender, id)
			if c.hello {
				proven(t, conn, id)
			}
			s, err := conn.OpenStream()
			if err != nil {
				t.Fatal(err)
			}
			s.Write(c.junk)
			s.Close()
			if code := closedWith(t, conn); code != closeProtocol {
				t.Fatalf("closed with 0x%x, want protocol violation 0x%x", code, closeProtocol)
			}
			// The log record is written before the close goes out.
			attrs, ok := rec.findPeer("dropping peer", id.ID.Short())
			if !ok || !contains(attrs["reason"], c.reason) {
				t.Fatalf("logged %v, want a drop whose reason mentions %q", attrs, c.reason)
			}
		})
		if err := good.Fetch(context.Background(), FetchRequest{URL: "http://h/", Length: 100000}, func([]byte) error { return nil }); err != nil {
			t.Fatalf("good peer after %s: %v", c.name, err)
		}
	}
	if ph.calls.Load() != int64(len(cases)) {
		t.Fatalf("handler ran %d times, want %d (only the good peer's)", ph.calls.Load(), len(cases))
	}
}

// The requester drops a lender that answers with garbage, too.
func TestGarbageLender(t *testing.T) {
	cases := []struct {
		name   string
		answer []byte
		reason string
	}{
		{"unknown frame", []byte{0xee, 0x00}, "unknown type"},
		{"status in a fetch answer", func() []byte { b, _ := wire.AppendStatus(nil, wire.Status{}); return b }(), "STATUS frame in a fetch answer"},
		{"end without data", nil, "ended early"},
		{"bad END", []byte{byte(wire.TypeEnd), 2, 0, 0}, "short sha256"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			addr := answeringServer(t, ProtocolVersion, func() []byte { return c.answer })
			rec := &logRecorder{}
			p := dialAddr(t, newNode(t, nodeOpts{log: rec}), addr)
			err := p.Fetch(context.Background(), FetchRequest{URL: "http://h/", Length: 10}, func([]byte) error { return nil })
			if err == nil || !contains(err.Error(), c.reason) {
				t.Fatalf("Fetch returned %v, want a failure mentioning %q", err, c.reason)
			}
			select {
			case <-p.Done():
			case <-time.After(waitLong):
				t.Fatal("connection to a garbage-sending lender still open")
			}
			if attrs, ok := rec.findPeer("dropping peer", p.ID().Short()); !ok || !contains(attrs["reason"], c.reason) {
				t.Fatalf("logged %v, want a drop whose reason mentions %q", attrs, c.reason)
			}
		})
	}
}

func TestFetchCancel(t *testing.T) {
	started := make(chan struct{})
	stopped := make(chan error, 1)
	lender := newNode(t, nodeOpts{handler: handlerFunc(func(ctx context.Context, _ PeerInfo, req FetchRequest, w io.Writer) error {
		if _, err := w.Write(make([]byte, 1000)); err != nil {
			return err
		}
		close(started)
		// Stands in for a slow origin: only ctx can end this early.
		select {
		case <-ctx.Done():
			stopped <- ctx.Err()
		case <-time.After(waitLong):
			stopped <- errors.New("handler context never cancelled")
		}
		return ctx.Err()
	})})
	p := dial(t, newNode(t, nodeOpts{}), lender)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- p.Fetch(ctx, FetchRequest{URL: "http://h/", Length: 1 << 20}, func([]byte) error { return nil })
	}()
	<-started
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Fetch returned %v, want context.Canceled", err)
	}
	if err := <-stopped; !errors.Is(err, context.Canceled) {
		t.Fatalf("handler: %v", err)
	}
}

func TestSinkError(t *testing.T) {
	stopped := make(chan error, 1)
	lender := newNode(t, nodeOpts{handler: handlerFunc(func(ctx context.Context, _ PeerInfo, req FetchRequest, w io.Writer) error {
		err := writePattern(w, 0, req.Length, 1000)
		stopped <- err
		return err
	})})
	p := dial(t, newNode(t, nodeOpts{}), lender)
	errDisk := errors.New("disk full")
	err := p.Fetch(context.Background(), FetchRequest{URL: "http://h/", Length: 64 << 20}, func([]byte) error { return errDisk })
	if err != errDisk {
		t.Fatalf("Fetch returned %v, want the sink's error", err)
	}
	select {
	case err := <-stopped:
		if err == nil {
			t.Fatal("handler finished writing 64 MiB the requester refused")
		}
	case <-time.After(waitLong):
		t.Fatal("handler still writing after the requester gave up")
	}
}

func TestHandlerOutcomes(t *testing.T) {
	const length = 100000
	cases := []struct {
		name    string
		handler Handler
		check   func(error) bool
	}{
		{"short", handlerFunc(func(_ context.Context, _ PeerInfo, r FetchRequest, w io.Writer) error {
			return writePattern(w, 0, r.Length-1, 4096)
		}), func(err error) bool { return isRemote(err, Internal) }},
		{"long in one write", handlerFunc(func(_ context.Context, _ PeerInfo, r FetchRequest, w io.Writer) error {
			w.Write(make([]byte, r.Length+1)) // the error is ignored on purpose
			return nil
		}), func(err error) bool { return isRemote(err, Internal) }},
		{"long after the end", handlerFunc(func(_ context.Context, _ PeerInfo, r FetchRequest, w io.Writer) error {
			writePattern(w, 0, r.Length+10, 4096)
			return nil
		}), func(err error) bool { return isRemote(err, Internal) }},
		{"remote error keeps its code", handlerFunc(func(context.Context, PeerInfo, FetchRequest, io.Writer) error {
			return fmt.Errorf("wrapped: %w", &RemoteError{Code: OriginStatus, HTTPStatus: 503, RetryAfter: 2 * time.Second, Message: "origin busy"})
		}), func(err error) bool {
			var re *RemoteError
			return errors.As(err, &re) && *re == RemoteError{Code: OriginStatus, HTTPStatus: 503, RetryAfter: 2 * time.Second, Message: "origin busy"}
		}},
		{"plain error becomes internal", handlerFunc(func(context.Context, PeerInfo, FetchRequest, io.Writer) error {
			return errors.New("boom")
		}), func(err error) bool {
			var re *RemoteError
			return errors.As(err, &re) && re.Code == Internal && re.Message == "boom"
		}},
		{"error after some data", handlerFunc(func(_ context.Context, _ PeerInfo, r FetchRequest, w io.Writer) error {
			writePattern(w, 0, r.Length/2, 4096)
			return &RemoteError{Code: OriginFailed, Message: "origin hung up"}
		}), func(err error) bool { return isRemote(err, OriginFailed) }},
		{"panic", handlerFunc(func(context.Context, PeerInfo, FetchRequest, io.Writer) error {
			panic("bug")
		}), func(err error) bool { return isRemote(err, Internal) }},
		{"no handler", nil, func(err error) bool { return isRemote(err, NotLending) }},
	}
	asker := newNode(t, nodeOpts{})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := dial(t, asker, newNode(t, nodeOpts{handler: c.handler}))
			err := p.Fetch(context.Background(), FetchRequest{URL: "http://h/", Length: length}, func([]byte) error { return nil })
			if !c.check(err) {
				t.Fatalf("Fetch returned %v", err)
			}
			// The connection survives a failed fetch.
			if _, err := p.Status(context.Background()); err != nil {
				t.Fatalf("Status after the failed fetch: %v", err)
			}
		})
	}
}

// TestTrailerMismatch: a fetch or read succeeds only when the DATA add up
// to the length asked for and END repeats it; END carries a SHA-256 on a
// version 3 connection and none on a version 4 one, and a lender that
// gets this wrong broke the protocol. A version 3 lender's sum is not
// checked (it proves nothing: docs/protocol.md §6).
func TestTrailerMismatch(t *testing.T) {
	const length = 70000
	data := make([]byte, length)
	wrongSum := [32]byte{1}
	cases := []struct {
		name    string
		version int
		frames  func() []byte
		check   func(error) bool
	}{
		{"v4 whole", 4, func() []byte {
			return wire.AppendEnd(appendData(nil, data), wire.End{Length: length})
		}, isNil},
		{"v3 whole, any sum", 3, func() []byte {
			return wire.AppendEnd(appendData(nil, data), wire.End{Length: length, Sum: &wrongSum})
		}, isNil},
		{"v4 trailer claims more", 4, func() []byte {
			return wire.AppendEnd(appendData(nil, data[:length-1]), wire.End{Length: length})
		}, isTrailerMismatch},
		{"v4 too few bytes", 4, func() []byte {
			return wire.AppendEnd(appendData(nil, data[:length-1]), wire.End{Length: length - 1})
		}, isTrailerMismatch},
		{"v3 too few bytes", 3, func() []byte {
			return wire.AppendEnd(appendData(nil, data[:length-1]), wire.End{Length: length - 1, Sum: &wrongSum})
		}, isTrailerMismatch},
		{"v4 too many bytes", 4, func() []byte {
			return appendData(nil, append(data, 0))
		}, isTrailerMismatch},
		{"v4 sum", 4, func() []byte {
			return wire.AppendEnd(appendData(nil, data), wire.End{Length: length, Sum: &wrongSum})
		}, isViolation},
		{"v3 no sum", 3, func() []byte {
			return wire.AppendEnd(appendData(nil, data), wire.End{Length: length})
		}, isViolation},
	}
	// Fetch and Read check their answers alike.
	requests := map[string]func(p *Peer) error{
		"fetch": func(p *Peer) error {
			return p.Fetch(context.Background(), FetchRequest{URL: "http://h/", Length: length}, func([]byte) error { return nil })
		},
		"read": func(p *Peer) error {
			return p.Read(context.Background(), ContentKey{Kind: KeySHA256}, 0, length, func([]byte) error { return nil })
		},
	}
	for _, c := range cases {
		for what, request := range requests {
			t.Run(what+" "+c.name, func(t *testing.T) {
				addr := answeringServer(t, c.version, c.frames)
				p := dialAddr(t, newNode(t, nodeOpts{}), addr)
				if p.Version() != c.version {
					t.Fatalf("version %d in use, want %d", p.Version(), c.version)
				}
				if err := request(p); !c.check(err) {
					t.Fatalf("%s returned %v", what, err)
				}
			})
		}
	}
}

func isNil(err error) bool             { return err == nil }
func isTrailerMismatch(err error) bool { return errors.Is(err, ErrTrailerMismatch) }
func isViolation(err error) bool {
	var pe *protocolError
	return errors.As(err, &pe)
}

func TestPeerDone(t *testing.T) {
	lender := newNode(t, nodeOpts{})
	p := dial(t, newNode(t, nodeOpts{}), lender)
	select {
	case <-p.Done():
		t.Fatal("Done closed on a live connection")
	default:
	}
	lender.Close()
	select {
	case <-p.Done():
	case <-time.After(waitLong):
		t.Fatal("Done still open after the other node closed")
	}
	if _, err := p.Status(context.Background()); err == nil {
		t.Fatal("Status succeeded on a closed connection")
	}
}

func TestDialSelf(t *testing.T) {
	n := newNode(t, nodeOpts{})
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	if p, err := n.Dial(ctx, n.Addr().String()); !errors.Is(err, errSelf) {
		t.Fatalf("Dial to itself: peer %v, err %v", p, err)
	}
}

func TestDialBadAddress(t *testing.T) {
	n := newNode(t, nodeOpts{})
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	for _, addr := range []string{"", "127.0.0.1", "127.0.0.1:99999", "localhost:x"} {
		if _, err := n.Dial(ctx, addr); err == nil {
			t.Errorf("Dial(%q) succeeded", addr)
		}
	}
}

func TestListenRefuses(t *testing.T) {
	id := newIdentity(t)
	cases := []struct {
		name string
		cfg  Config
	}{
		{"no identity", Config{Room: testRoom(), Listen: "127.0.0.1:0"}},
		{"no room", Config{Identity: id, Listen: "127.0.0.1:0"}},
		{"long name", Config{Identity: id, Room: testRoom(), Listen: "127.0.0.1:0", Name: string(make([]byte, 300))}},
		{"bad address", Config{Identity: id, Room: testRoom(), Listen: "nowhere"}},
	}
	for _, c := range cases {
		if n, err := Listen(c.cfg); err == nil {
			n.Close()
			t.Errorf("%s: Listen succeeded", c.name)
		}
	}
}

func TestWatchdog(t *testing.T) {
	var stalls atomic.Int64
	w := startWatchdog(30*time.Millisecond, func() { stalls.Add(1) })
	time.Sleep(100 * time.Millisecond) // not waiting on the peer: no stall
	if stalls.Load() != 0 {
		t.Fatal("stalled while idle")
	}
	w.begin()
	deadline := time.Now().Add(waitLong)
	for stalls.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if !w.stop() || stalls.Load() != 1 {
		t.Fatalf("stalls %d after a long wait, want 1", stalls.Load())
	}

	w = startWatchdog(time.Hour, func() { stalls.Add(1) })
	w.begin()
	if w.stop() {
		t.Fatal("stop reports a stall that never happened")
	}
}

func appendData(b, data []byte) []byte {
	for len(data) > 0 {
		k := min(len(data), wire.MaxData)
		b = append(wire.AppendHeader(b, wire.TypeData, k), data[:k]...)
		data = data[k:]
	}
	return b
}
