package quicwire

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dragonload/dragonload/quicwire/wire"
	"github.com/quic-go/quic-go"
)

// testNoter records every note it hears; serve, when set, runs first.
type testNoter struct {
	serve func(Note)

	mu    sync.Mutex
	from  []PeerInfo
	notes []Note
}

func (n *testNoter) ServeNote(from PeerInfo, note Note) {
	n.mu.Lock()
	n.from = append(n.from, from)
	n.notes = append(n.notes, note)
	n.mu.Unlock()
	if n.serve != nil {
		n.serve(note)
	}
}

func (n *testNoter) heard() ([]PeerInfo, []Note) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.from), slices.Clone(n.notes)
}

// testID is a node id whose bytes sort by i.
func testID(i int) NodeID {
	var id NodeID
	binary.BigEndian.PutUint32(id[:], uint32(i))
	id[31] = 0x5a
	return id
}

func testIDs(from, n int) []NodeID {
	ids := make([]NodeID, n)
	for i := range ids {
		ids[i] = testID(from + i)
	}
	return ids
}

// rawNoteFrame encodes m as a NOTE frame without any of the encoder's
// checks, as a broken or hostile member might.
func rawNoteFrame(m wire.Note) []byte {
	p := binary.AppendUvarint(nil, uint64(len(m.Downloads)))
	for _, e := range m.Downloads {
		p = binary.AppendUvarint(p, uint64(len(e.File)))
		p = append(p, e.File...)
		p = binary.AppendUvarint(p, e.Done)
		p = binary.AppendUvarint(p, e.Size)
		p = binary.AppendUvarint(p, uint64(len(e.Lenders)))
		for _, id := range e.Lenders {
			p = append(p, id[:]...)
		}
	}
	return append(wire.AppendHeader(nil, wire.TypeNote, len(p)), p...)
}

// A note reaches the Noter of the member it is sent to, with the sender's
// PeerInfo, before Note returns.
func TestNoteDelivered(t *testing.T) {
	noter := &testNoter{}
	lender := newNode(t, nodeOpts{name: "lender", noter: noter})
	rec := &logRecorder{}
	laptop := newNode(t, nodeOpts{name: "laptop", log: rec})
	p := dial(t, laptop, lender)
	ctx := context.Background()

	note := Note{Downloads: []Download{
		{File: "ubuntu.iso", Done: 43 << 20, Size: 100 << 20, Lenders: []NodeID{testID(1), lender.ID(), testID(900)}},
		{File: "stream.bin", Done: 12345},
		{File: "Ünïcode 名前.tar", Done: 7, Size: 7},
	}}
	slices.SortFunc(note.Downloads[0].Lenders, func(a, b NodeID) int { return bytes.Compare(a[:], b[:]) })
	if err := p.Note(ctx, note); err != nil {
		t.Fatalf("Note: %v", err)
	}
	// The server hands the note on before its FIN: it is there already.
	_, notes := noter.heard()
	if len(notes) != 1 || !reflect.DeepEqual(notes[0], note) {
		t.Fatalf("heard %+v\nwant %+v", notes, note)
	}
	if err := p.Note(ctx, Note{}); err != nil {
		t.Fatalf("Note of nothing: %v", err)
	}
	from, notes := noter.heard()
	if len(notes) != 2 || notes[1].Downloads != nil {
		t.Fatalf("heard %+v, want an empty note second", notes)
	}
	for _, f := range from {
		if f.ID != laptop.ID() || f.Name != "laptop" || f.Addr != laptop.Addr().String() {
			t.Fatalf("noter saw %+v, want laptop %s at %s", f, laptop.ID().Short(), laptop.Addr())
		}
	}
	if attrs, ok := rec.find("note mended for the wire"); ok {
		t.Fatalf("a valid note was mended: %v", attrs)
	}
	if _, err := p.Status(ctx); err != nil {
		t.Fatalf("Status after the notes: %v", err)
	}
}

// A node without a Noter reads notes and drops them; one whose Noter
// panics logs it. Either way the sender sees success and the connection
// stays.
func TestNoteDropped(t *testing.T) {
	for _, c := range []struct {
		name  string
		noter Noter
		log   string
	}{
		{"no noter", nil, ""},
		{"noter panics", &testNoter{serve: func(Note) { panic("bug") }}, "noter panicked"},
	} {
		t.Run(c.name, func(t *testing.T) {
			srec, crec := &logRecorder{}, &logRecorder{}
			server := newNode(t, nodeOpts{noter: c.noter, log: srec, handler: &patternHandler{}})
			p := dial(t, newNode(t, nodeOpts{log: crec}), server)
			ctx := context.Background()
			for range 3 {
				if err := p.Note(ctx, Note{Downloads: []Download{{File: "f", Done: 1, Size: 2, Lenders: []NodeID{server.ID()}}}}); err != nil {
					t.Fatalf("Note: %v", err)
				}
			}
			if _, err := p.Status(ctx); err != nil {
				t.Fatalf("Status after the notes: %v", err)
			}
			if err := p.Fetch(ctx, FetchRequest{URL: "http://h/", Length: 1000}, func([]byte) error { return nil }); err != nil {
				t.Fatalf("Fetch after the notes: %v", err)
			}
			if c.log != "" {
				if _, ok := srec.find(c.log); !ok {
					t.Fatalf("no %q in the server's log", c.log)
				}
			}
			for side, rec := range map[string]*logRecorder{"server": srec, "client": crec} {
				if attrs, ok := rec.find("dropping peer"); ok {
					t.Fatalf("the %s dropped its peer: %v", side, attrs)
				}
			}
		})
	}
}

// A note the wire cannot carry is mended before it is sent, and the
// sender logs what it mended.
func TestNoteMended(t *testing.T) {
	noter := &testNoter{}
	server := newNode(t, nodeOpts{noter: noter})
	rec := &logRecorder{}
	p := dial(t, newNode(t, nodeOpts{log: rec}), server)
	give := Note{Downloads: []Download{
		{File: "", Done: 1, Size: 2},
		{File: "b", Done: 5, Size: 3, Lenders: []NodeID{testID(3), testID(1), testID(3)}},
	}}
	want := Note{Downloads: []Download{{File: "b", Done: 3, Size: 3, Lenders: []NodeID{testID(1), testID(3)}}}}
	if err := p.Note(context.Background(), give); err != nil {
		t.Fatalf("Note: %v", err)
	}
	if _, notes := noter.heard(); len(notes) != 1 || !reflect.DeepEqual(notes[0], want) {
		t.Fatalf("heard %+v\nwant %+v", notes, want)
	}
	if attrs, ok := rec.find("note mended for the wire"); !ok || attrs["peer"] != server.ID().Short() {
		t.Fatalf("the mended note was not logged: %v", attrs)
	}
}

func TestWireNote(t *testing.T) {
	long := strings.Repeat("é", 200) // 400 bytes: cut to 256 at a character boundary
	many := make([]Download, 20)
	for i := range many {
		many[i] = Download{File: string(rune('a' + i)), Done: int64(i)}
	}
	wantMany := make([]wire.Download, 16)
	for i := range wantMany {
		wantMany[i] = wire.Download{File: string(rune('a' + i)), Done: uint64(i)}
	}
	reversed := testIDs(0, 70)
	slices.Reverse(reversed)
	cases := []struct {
		name    string
		in      Note
		want    []wire.Download
		changed bool
	}{
		{"nothing", Note{}, nil, false},
		{"already right", Note{Downloads: []Download{{File: "a", Done: 1, Size: 2, Lenders: testIDs(5, 2)}, {File: "b", Done: 1 << 62}}},
			[]wire.Download{{File: "a", Done: 1, Size: 2, Lenders: wireIDs(testIDs(5, 2))}, {File: "b", Done: 1 << 62}}, false},
		{"bad entries dropped", Note{Downloads: []Download{
			{File: "", Size: 1}, {File: "neg size", Size: -1}, {File: "huge", Size: 1<<62 + 1},
			{File: "neg done", Done: -1}, {File: "ok", Done: 1},
		}}, []wire.Download{{File: "ok", Done: 1}}, true},
		{"done clipped", Note{Downloads: []Download{{File: "a", Done: 10, Size: 5}, {File: "b", Done: 1<<63 - 1}}},
			[]wire.Download{{File: "a", Done: 5, Size: 5}, {File: "b", Done: 1 << 62}}, true},
		{"names mended", Note{Downloads: []Download{{File: "caf\xe9"}, {File: long}}},
			[]wire.Download{{File: "caf\uFFFD"}, {File: truncate(long, 256)}}, true},
		{"lenders sorted, unique, cut", Note{Downloads: []Download{{File: "a", Lenders: append(reversed, reversed[3], testID(1))}}},
			[]wire.Download{{File: "a", Lenders: wireIDs(testIDs(0, 64))}}, true},
		{"first 16 downloads", Note{Downloads: many}, wantMany, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := slices.Clone(c.in.Downloads)
			for i := range before {
				before[i].Lenders = slices.Clone(before[i].Lenders)
			}
			m, fixed := wireNote(c.in)
			if !reflect.DeepEqual(m.Downloads, c.want) || (len(fixed) > 0) != c.changed {
				t.Fatalf("got %+v (%q)\nwant %+v (changed %v)", m.Downloads, fixed, c.want, c.changed)
			}
			if _, err := wire.AppendNote(nil, m); err != nil {
				t.Fatalf("the mended note does not encode: %v", err)
			}
			if !reflect.DeepEqual(c.in.Downloads, before) {
				t.Fatal("wireNote changed the caller's note")
			}
		})
	}

	// Sixteen entries with the longest names and 64 lenders each take
	// about 37 KiB: lenders go, from the entries with the most, until the
	// note fits 16 KiB; each keeps its lowest ids.
	full := make([]Download, 16)
	for i := range full {
		full[i] = Download{File: strings.Repeat(string(rune('a'+i)), 256), Done: 1 << 62, Size: 1 << 62, Lenders: testIDs(i*100, 64)}
	}
	m, fixed := wireNote(Note{Downloads: full})
	if len(fixed) == 0 {
		t.Fatal("cutting lenders was not reported")
	}
	if _, err := wire.AppendNote(nil, m); err != nil {
		t.Fatalf("the cut note does not encode: %v", err)
	}
	total := 0
	for i, e := range m.Downloads {
		total += len(e.Lenders)
		if len(e.Lenders) < 23 || len(e.Lenders) > 24 {
			t.Fatalf("entry %d kept %d lenders, want 23 or 24 (cut evenly)", i, len(e.Lenders))
		}
		if !reflect.DeepEqual(e.Lenders, wireIDs(testIDs(i*100, len(e.Lenders)))) {
			t.Fatalf("entry %d kept other lenders than its lowest", i)
		}
	}
	if size := wire.NoteSize(m); size > wire.MaxControl || size+wire.SumLen <= wire.MaxControl || total != 373 {
		t.Fatalf("kept %d lenders in %d bytes: not the most that fit %d", total, size, wire.MaxControl)
	}
}

func wireIDs(ids []NodeID) [][wire.SumLen]byte {
	out := make([][wire.SumLen]byte, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out
}

// A member that sends a NOTE breaking the frame rules is dropped with
// 0x2, and the Noter never hears of it.
func TestNoteMalformed(t *testing.T) {
	valid := wire.Download{File: "f", Done: 1, Size: 2, Lenders: wireIDs(testIDs(0, 2))}
	with := func(f func(*wire.Download)) []byte {
		e := valid
		e.Lenders = slices.Clone(valid.Lenders)
		f(&e)
		return rawNoteFrame(wire.Note{Downloads: []wire.Download{valid, e}})
	}
	cases := []struct {
		name   string
		frames []byte
		reason string
	}{
		{"lenders out of order", with(func(e *wire.Download) { slices.Reverse(e.Lenders) }), "byte order"},
		{"lender twice", with(func(e *wire.Download) { e.Lenders[1] = e.Lenders[0] }), "byte order"},
		{"done beyond size", with(func(e *wire.Download) { e.Done = 3 }), "beyond size"},
		{"empty file", with(func(e *wire.Download) { e.File = "" }), "empty file name"},
		{"too many downloads", rawNoteFrame(wire.Note{Downloads: slices.Repeat([]wire.Download{valid}, 17)}), "17 downloads"},
		{"too many lenders", with(func(e *wire.Download) { e.Lenders = wireIDs(testIDs(0, 65)) }), "65 lenders"},
		{"over the cap", wire.AppendHeader(nil, wire.TypeNote, wire.MaxControl+1), "exceeds cap"},
		{"two notes", append(rawNoteFrame(wire.Note{}), rawNoteFrame(wire.Note{})...), "after the last frame"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			noter := &testNoter{}
			rec := &logRecorder{}
			server := newNode(t, nodeOpts{noter: noter, log: rec})
			id := newIdentity(t)
			conn := rawDial(t, server, id)
			if _, err := clientHello(context.Background(), conn, id, testRoom(), "raw", ProtocolVersion); err != nil {
				t.Fatal(err)
			}
			s, err := conn.OpenStream()
			if err != nil {
				t.Fatal(err)
			}
			s.Write(c.frames)
			s.Close()
			if code := closedWith(t, conn); code != closeProtocol {
				t.Fatalf("closed with 0x%x, want 0x%x", code, closeProtocol)
			}
			if attrs, ok := rec.findPeer("dropping peer", id.ID.Short()); !ok || !contains(attrs["reason"], c.reason) {
				t.Fatalf("logged %v, want a drop whose reason mentions %q", attrs, c.reason)
			}
			if _, notes := noter.heard(); len(notes) != 0 {
				t.Fatalf("the noter heard %+v from a malformed NOTE", notes)
			}
		})
	}
}

// On a connection whose client said version 2, NOTE is what it was in
// version 2: a protocol violation. On a version 3 connection the answer
// is a bare FIN.
func TestNoteOnVersion2Connection(t *testing.T) {
	noter := &testNoter{}
	rec := &logRecorder{}
	server := newNode(t, nodeOpts{noter: noter, log: rec})
	note := must(wire.AppendNote(nil, wire.Note{Downloads: []wire.Download{{File: "f", Done: 1}}}))
	for _, speaks := range []int{2, 3} {
		id := newIdentity(t)
		conn := rawDial(t, server, id)
		if h, err := clientHello(context.Background(), conn, id, testRoom(), "raw", speaks); err != nil || h.version != speaks {
			t.Fatalf("hello offering %d: version %d, %v", speaks, h.version, err)
		}
		s, err := conn.OpenStream()
		if err != nil {
			t.Fatal(err)
		}
		s.Write(note)
		s.Close()
		s.SetReadDeadline(time.Now().Add(waitLong))
		if speaks == 3 {
			if rest, err := io.ReadAll(s); err != nil || len(rest) != 0 {
				t.Fatalf("answer to NOTE on a version 3 connection: %d bytes, %v; want a bare FIN", len(rest), err)
			}
			continue
		}
		if code := closedWith(t, conn); code != closeProtocol {
			t.Fatalf("NOTE on a version 2 connection: closed with 0x%x, want 0x%x", code, closeProtocol)
		}
		if attrs, ok := rec.findPeer("dropping peer", id.ID.Short()); !ok || !contains(attrs["reason"], "NOTE frame opens a stream on a version 2 connection") {
			t.Fatalf("logged %v, want a drop for a NOTE on a version 2 connection", attrs)
		}
	}
	if _, notes := noter.heard(); len(notes) != 1 {
		t.Fatalf("noter heard %d notes, want 1 (version 3)", len(notes))
	}
}

// A client sends no note to a version 2 peer: ErrUnsupported, and no
// stream is opened.
func TestNoteToVersion2Peer(t *testing.T) {
	noter := &testNoter{}
	rec := &logRecorder{}
	old := newNode(t, nodeOpts{version: 2, noter: noter, log: rec})
	p := dial(t, newNode(t, nodeOpts{}), old)
	if p.Version() != 2 {
		t.Fatalf("version %d in use, want 2", p.Version())
	}
	if err := p.Note(context.Background(), Note{Downloads: []Download{{File: "f"}}}); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("Note to a version 2 peer: %v, want ErrUnsupported", err)
	}
	if _, err := p.Status(context.Background()); err != nil {
		t.Fatalf("Status after the refused note: %v", err)
	}
	if _, notes := noter.heard(); len(notes) != 0 {
		t.Fatalf("a version 2 node heard %+v", notes)
	}
	if attrs, ok := rec.find("dropping peer"); ok {
		t.Fatalf("the version 2 node dropped its peer: %v", attrs)
	}
}

// The answer to NOTE is the server's FIN and nothing else: a client drops
// a server that sends a frame, and waits for the FIN.
func TestNoteAnswer(t *testing.T) {
	cases := []struct {
		name   string
		answer []byte
		reason string
	}{
		{"bare FIN", nil, ""},
		{"status", must(wire.AppendStatus(nil, wire.Status{Name: "x"})), "STATUS frame in answer to NOTE"},
		{"error", must(wire.AppendError(nil, wire.Error{Code: uint8(Internal)})), "ERROR frame in answer to NOTE"},
		{"half a frame", []byte{byte(wire.TypeStatus)}, "ended early"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			addr := answeringServer(t, ProtocolVersion, func() []byte { return c.answer })
			rec := &logRecorder{}
			p := dialAddr(t, newNode(t, nodeOpts{log: rec}), addr)
			err := p.Note(context.Background(), Note{Downloads: []Download{{File: "f"}}})
			if c.reason == "" {
				if err != nil {
					t.Fatalf("Note: %v", err)
				}
				return
			}
			if err == nil || !contains(err.Error(), c.reason) {
				t.Fatalf("got %v, want a failure mentioning %q", err, c.reason)
			}
			select {
			case <-p.Done():
			case <-time.After(waitLong):
				t.Fatal("connection to a server that answered a NOTE still open")
			}
			if attrs, ok := rec.findPeer("dropping peer", p.ID().Short()); !ok || !contains(attrs["reason"], c.reason) {
				t.Fatalf("logged %v, want a drop whose reason mentions %q", attrs, c.reason)
			}
		})
	}

	// A server that never sends its FIN: Note gives up with ctx (the
	// stream's deadline, which is ctx's, may fire first).
	addr := rawServer(t, func(conn *quic.Conn, self *Identity) {
		if _, err := serverHello(conn, self, testRoom(), func() Status { return Status{} }, ProtocolVersion); err != nil {
			return
		}
		if _, err := conn.AcceptStream(conn.Context()); err != nil {
			return
		}
		<-conn.Context().Done()
	})
	p := dialAddr(t, newNode(t, nodeOpts{}), addr)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := p.Note(ctx, Note{})
	if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Note to a silent server: %v, want the context's deadline", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Note to a silent server took %v with a 200 ms context", d)
	}
}

// A node outside the room cannot reach the Noter, not even by sending a
// NOTE before its proof failed: the server serves no stream before the
// client's tag checked out.
func TestNoteWrongRoom(t *testing.T) {
	noter := &testNoter{}
	rec := &logRecorder{}
	server := newNode(t, nodeOpts{noter: noter, log: rec})

	stranger := newNode(t, nodeOpts{room: otherRoom()})
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	if p, err := stranger.Dial(ctx, server.Addr().String()); !errors.Is(err, ErrRoomMismatch) {
		t.Fatalf("Dial from another room: peer %v, err %v; want ErrRoomMismatch", p, err)
	}

	id := newIdentity(t)
	conn := rawDial(t, server, id)
	control, err := conn.OpenStreamSync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var notes []*quic.Stream
	for range 3 {
		s, err := conn.OpenStreamSync(ctx)
		if err != nil {
			t.Fatal(err)
		}
		s.Write(must(wire.AppendNote(nil, wire.Note{Downloads: []wire.Download{{File: "spy.iso", Done: 1}}})))
		s.Close()
		notes = append(notes, s)
	}
	wrongTagHello(t, conn, control, id, server.ID())
	if code := closedWith(t, conn); code != closeRoom {
		t.Fatalf("closed with 0x%x, want the room-mismatch close 0x%x", code, closeRoom)
	}
	for i, s := range notes {
		s.SetReadDeadline(time.Now().Add(waitLong))
		if rest, _ := io.ReadAll(s); len(rest) != 0 {
			t.Fatalf("note %d got %d bytes of answer from a server that refused the room proof", i, len(rest))
		}
	}
	if _, heard := noter.heard(); len(heard) != 0 {
		t.Fatalf("the noter heard %+v from outside the room", heard)
	}
	if attrs, ok := rec.find("refused peer"); !ok || attrs["reason"] != "room proof failed" {
		t.Fatalf("no log of the refusal: %v", attrs)
	}
}
