package quicwire

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dragonload/dragonload/core/span"
	"github.com/dragonload/dragonload/quicwire/cpace"
	"github.com/dragonload/dragonload/quicwire/wire"
	"github.com/quic-go/quic-go"
)

// shareSize is the size of the one file a testSharer shares: the pattern
// file cut there.
const shareSize = 3<<20 + 5

var (
	shareKey   = ContentKey{Kind: KeySHA256, Sum: patternSum(0, shareSize)}
	originKey  = ContentKey{Kind: KeyOrigin, Sum: [32]byte{'o', 'r', 'i', 'g', 'i', 'n'}}
	unknownKey = ContentKey{Kind: KeySHA256, Sum: [32]byte{'n', 'o'}}
)

// testSharer shares the pattern file under shareKey and originKey; each
// method may be replaced. It counts calls and remembers who asked.
type testSharer struct {
	calls  atomic.Int64
	have   func(key ContentKey) (Holding, error)
	read   func(key ContentKey, off, length int64, w io.Writer) error
	search func(words string) ([]Found, error)

	mu   sync.Mutex
	from []PeerInfo
}

var notShared = &RemoteError{Code: NotShared, Message: "no such copy"}

func (s *testSharer) saw(from PeerInfo) {
	s.calls.Add(1)
	s.mu.Lock()
	s.from = append(s.from, from)
	s.mu.Unlock()
}

func (s *testSharer) ServeHave(_ context.Context, from PeerInfo, key ContentKey) (Holding, error) {
	s.saw(from)
	if s.have != nil {
		return s.have(key)
	}
	if key != shareKey && key != originKey {
		return Holding{}, notShared
	}
	return Holding{Size: shareSize, SHA256: shareKey.Sum, Name: "pattern.bin",
		Have:   []span.Range{{Off: 0, End: 1 << 20}, {Off: 2 << 20, End: shareSize}},
		Claims: []span.Range{{Off: 1<<20 + 10, End: 2<<20 - 10}},
	}, nil
}

func (s *testSharer) ServeRead(_ context.Context, from PeerInfo, key ContentKey, off, length int64, w io.Writer) error {
	s.saw(from)
	if s.read != nil {
		return s.read(key, off, length, w)
	}
	if key != shareKey && key != originKey {
		return notShared
	}
	if off+length > shareSize {
		return &RemoteError{Code: BadRequest, Message: "beyond the end"}
	}
	return writePattern(w, off, length, 20000)
}

func (s *testSharer) ServeSearch(_ context.Context, from PeerInfo, words string) ([]Found, error) {
	s.saw(from)
	if s.search != nil {
		return s.search(words)
	}
	if !strings.Contains("pattern.bin", words) {
		return nil, nil
	}
	return []Found{{Name: "pattern.bin", Size: shareSize, SHA256: shareKey.Sum}}, nil
}

// readAll reads a range through Peer.Read and returns its length and
// SHA-256.
func readAll(p *Peer, key ContentKey, off, length int64) (int64, [32]byte, error) {
	h := sha256.New()
	var got int64
	err := p.Read(context.Background(), key, off, length, func(b []byte) error {
		h.Write(b)
		got += int64(len(b))
		return nil
	})
	return got, [32]byte(h.Sum(nil)), err
}

func TestShareHappyPaths(t *testing.T) {
	sh := &testSharer{}
	holder := newNode(t, nodeOpts{name: "holder", sharer: sh})
	asker := newNode(t, nodeOpts{name: "asker"})
	p := dial(t, asker, holder)
	if p.Version() != ProtocolVersion {
		t.Fatalf("version %d in use, want %d", p.Version(), ProtocolVersion)
	}
	ctx := context.Background()

	want := Holding{Size: shareSize, SHA256: shareKey.Sum, Name: "pattern.bin",
		Have:   []span.Range{{Off: 0, End: 1 << 20}, {Off: 2 << 20, End: shareSize}},
		Claims: []span.Range{{Off: 1<<20 + 10, End: 2<<20 - 10}},
	}
	for _, key := range []ContentKey{shareKey, originKey} {
		h, err := p.Have(ctx, key)
		if err != nil || !reflect.DeepEqual(h, want) {
			t.Fatalf("Have(%v): %+v, %v; want %+v", key.Kind, h, err, want)
		}
	}
	if h, err := p.Have(ctx, unknownKey); !isRemote(err, NotShared) {
		t.Fatalf("Have of an unknown key: %+v, %v; want NotShared", h, err)
	}

	for _, r := range []struct{ off, length int64 }{{0, 1}, {12345, 2<<20 + 3}, {0, shareSize}, {shareSize - 1, 1}} {
		got, sum, err := readAll(p, shareKey, r.off, r.length)
		if err != nil {
			t.Fatalf("Read %d+%d: %v", r.off, r.length, err)
		}
		if got != r.length || sum != patternSum(r.off, r.length) {
			t.Fatalf("Read %d+%d: %d bytes with another sum", r.off, r.length, got)
		}
	}
	if _, _, err := readAll(p, unknownKey, 0, 10); !isRemote(err, NotShared) {
		t.Fatalf("Read of an unknown key: %v, want NotShared", err)
	}
	if _, _, err := readAll(p, shareKey, shareSize-1, 2); !isRemote(err, BadRequest) {
		t.Fatalf("Read beyond the end: %v, want the sharer's BadRequest", err)
	}

	found, err := p.Search(ctx, "pattern")
	if wantFound := []Found{{Name: "pattern.bin", Size: shareSize, SHA256: shareKey.Sum}}; err != nil || !reflect.DeepEqual(found, wantFound) {
		t.Fatalf("Search: %+v, %v; want %+v", found, err, wantFound)
	}
	if found, err := p.Search(ctx, "nothing like it"); err != nil || len(found) != 0 {
		t.Fatalf("Search without a match: %+v, %v", found, err)
	}

	sh.mu.Lock()
	defer sh.mu.Unlock()
	for _, from := range sh.from {
		if from.ID != asker.ID() || from.Name != "asker" || from.Addr != asker.Addr().String() {
			t.Fatalf("sharer saw %+v, want asker %s at %s", from, asker.ID().Short(), asker.Addr())
		}
	}
	if len(sh.from) != 11 {
		t.Fatalf("sharer called %d times, want 11", len(sh.from))
	}
}

// A request the encoder refuses is not sent at all.
func TestShareRequestRefused(t *testing.T) {
	sh := &testSharer{}
	p := dial(t, newNode(t, nodeOpts{}), newNode(t, nodeOpts{sharer: sh}))
	ctx := context.Background()
	if _, err := p.Have(ctx, ContentKey{Kind: 7}); !errors.Is(err, wire.ErrMalformed) {
		t.Errorf("Have with key kind 7: %v", err)
	}
	if _, err := p.Search(ctx, ""); !errors.Is(err, wire.ErrMalformed) {
		t.Errorf("Search for nothing: %v", err)
	}
	if _, err := p.Search(ctx, strings.Repeat("w", 257)); !errors.Is(err, wire.ErrMalformed) {
		t.Errorf("Search for 257 bytes: %v", err)
	}
	for _, r := range []struct{ off, length int64 }{{-1, 1}, {0, 0}, {1 << 62, 1}} {
		if err := p.Read(ctx, shareKey, r.off, r.length, func([]byte) error { return nil }); err == nil {
			t.Errorf("Read %d+%d succeeded", r.off, r.length)
		}
	}
	if sh.calls.Load() != 0 {
		t.Fatalf("sharer called %d times for requests never sent", sh.calls.Load())
	}
}

func TestShareNoSharer(t *testing.T) {
	p := dial(t, newNode(t, nodeOpts{}), newNode(t, nodeOpts{handler: &patternHandler{}}))
	ctx := context.Background()
	if _, err := p.Have(ctx, shareKey); !isRemote(err, NotShared) {
		t.Errorf("Have: %v, want NotShared", err)
	}
	if _, _, err := readAll(p, shareKey, 0, 100); !isRemote(err, NotShared) {
		t.Errorf("Read: %v, want NotShared", err)
	}
	if _, err := p.Search(ctx, "x"); !isRemote(err, NotShared) {
		t.Errorf("Search: %v, want NotShared", err)
	}
	if _, err := p.Status(ctx); err != nil {
		t.Fatalf("Status after the refusals: %v", err)
	}
}

// A Sharer that gets the wire's rules wrong does not make its node send
// an invalid frame: the node mends the answer and says so in its log.
func TestHoldingMended(t *testing.T) {
	many := make([]span.Range, 0, 1500)
	for i := range int64(1500) {
		// Lengths 1..1500 at every 2000 bytes: the largest 1024 are the
		// last 1024.
		many = append(many, span.Range{Off: i * 2000, End: i*2000 + i + 1})
	}
	var wantMany []span.Range
	for i := int64(1500 - 1024); i < 1500; i++ {
		wantMany = append(wantMany, span.Range{Off: i * 2000, End: i*2000 + i + 1})
	}
	cases := []struct {
		name string
		give Holding
		want Holding
	}{
		{"unsorted, overlapping, adjacent, empty, beyond the size",
			Holding{Size: 1000, Name: "f",
				Have: []span.Range{{Off: 500, End: 600}, {Off: 100, End: 200}, {Off: 150, End: 250}, {Off: 250, End: 260},
					{Off: 300, End: 300}, {Off: 400, End: 390}, {Off: -50, End: 10}, {Off: 990, End: 2000}, {Off: 5000, End: 6000}},
				Claims: []span.Range{{Off: 700, End: 800}, {Off: 700, End: 800}, {Off: 800, End: 900}}},
			Holding{Size: 1000, Name: "f",
				Have:   []span.Range{{Off: 0, End: 10}, {Off: 100, End: 260}, {Off: 500, End: 600}, {Off: 990, End: 1000}},
				Claims: []span.Range{{Off: 700, End: 900}}}},
		{"too many ranges",
			Holding{Size: 1 << 30, Claims: many},
			Holding{Size: 1 << 30, Claims: wantMany}},
		{"nothing left",
			Holding{Size: 10, Have: []span.Range{{Off: 10, End: 20}, {Off: 5, End: 5}}},
			Holding{Size: 10}},
		{"bad name",
			Holding{Size: 10, Name: "caf\xe9" + strings.Repeat("é", 200)},
			Holding{Size: 10, Name: truncate("caf\uFFFD"+strings.Repeat("é", 200), 256)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := &logRecorder{}
			holder := newNode(t, nodeOpts{log: rec, sharer: &testSharer{have: func(ContentKey) (Holding, error) { return c.give, nil }}})
			p := dial(t, newNode(t, nodeOpts{}), holder)
			h, err := p.Have(context.Background(), shareKey)
			if err != nil || !reflect.DeepEqual(h, c.want) {
				t.Fatalf("Have: %+v, %v\nwant %+v", h, err, c.want)
			}
			if _, ok := rec.find("sharer's holding mended for the wire"); !ok {
				t.Fatal("the mended holding was not logged")
			}
		})
	}

	// A size the wire cannot carry leaves nothing to mend: Internal.
	for _, size := range []int64{0, -1, 1<<62 + 1} {
		holder := newNode(t, nodeOpts{sharer: &testSharer{have: func(ContentKey) (Holding, error) { return Holding{Size: size}, nil }}})
		p := dial(t, newNode(t, nodeOpts{}), holder)
		if _, err := p.Have(context.Background(), shareKey); !isRemote(err, Internal) {
			t.Fatalf("Have of size %d: %v, want Internal", size, err)
		}
	}
}

func TestFoundMended(t *testing.T) {
	var give, want []Found
	for i := range 70 {
		give = append(give, Found{Name: fmt.Sprintf("f%d", i), Size: int64(i + 1)})
		want = append(want, Found{Name: fmt.Sprintf("f%d", i), Size: int64(i + 1)})
	}
	give = append([]Found{{Name: "", Size: 1}, {Name: "zero", Size: 0}, {Name: "huge", Size: 1<<62 + 1}, {Name: "\xff", Size: 9}}, give...)
	want = append([]Found{{Name: "\uFFFD", Size: 9}}, want[:63]...)
	rec := &logRecorder{}
	holder := newNode(t, nodeOpts{log: rec, sharer: &testSharer{search: func(string) ([]Found, error) { return give, nil }}})
	p := dial(t, newNode(t, nodeOpts{}), holder)
	found, err := p.Search(context.Background(), "f")
	if err != nil || !reflect.DeepEqual(found, want) {
		t.Fatalf("Search: %+v, %v\nwant %+v", found, err, want)
	}
	if _, ok := rec.find("sharer's results mended for the wire"); !ok {
		t.Fatal("the mended results were not logged")
	}
}

func TestWireRanges(t *testing.T) {
	cases := []struct {
		name    string
		in      []span.Range
		size    int64
		want    []wire.Range
		changed bool
	}{
		{"nil", nil, 10, nil, false},
		{"already right", []span.Range{{Off: 0, End: 5}, {Off: 6, End: 10}}, 10, []wire.Range{{Offset: 0, Length: 5}, {Offset: 6, Length: 4}}, false},
		{"adjacent", []span.Range{{Off: 0, End: 5}, {Off: 5, End: 10}}, 10, []wire.Range{{Offset: 0, Length: 10}}, true},
		{"contained", []span.Range{{Off: 0, End: 8}, {Off: 2, End: 3}}, 10, []wire.Range{{Offset: 0, Length: 8}}, true},
		{"inverted", []span.Range{{Off: 5, End: 2}}, 10, nil, true},
		{"clipped both ends", []span.Range{{Off: -5, End: 50}}, 10, []wire.Range{{Offset: 0, Length: 10}}, true},
		{"unsorted", []span.Range{{Off: 7, End: 8}, {Off: 1, End: 2}}, 10, []wire.Range{{Offset: 1, Length: 1}, {Offset: 7, Length: 1}}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, why := wireRanges(c.in, c.size)
			if !reflect.DeepEqual(got, c.want) || (why != "") != c.changed {
				t.Fatalf("got %v (%q), want %v (changed %v)", got, why, c.want, c.changed)
			}
			if _, err := wire.AppendHolding(nil, wire.Holding{Size: uint64(c.size), Have: got}); err != nil {
				t.Fatalf("the mended list does not encode: %v", err)
			}
		})
	}
	// Ties among the largest keep the lowest offsets.
	var ties []span.Range
	for i := range int64(wire.MaxRanges + 10) {
		ties = append(ties, span.Range{Off: i * 10, End: i*10 + 5})
	}
	got, _ := wireRanges(ties, 1<<20)
	if len(got) != wire.MaxRanges || got[0].Offset != 0 || got[len(got)-1].Offset != (wire.MaxRanges-1)*10 {
		t.Fatalf("kept %d ranges from %v to %v", len(got), got[0], got[len(got)-1])
	}
}

func TestReadOutcomes(t *testing.T) {
	const length = 100000
	cases := []struct {
		name  string
		read  func(key ContentKey, off, length int64, w io.Writer) error
		check func(error) bool
	}{
		{"short", func(_ ContentKey, off, n int64, w io.Writer) error {
			return writePattern(w, off, n-1, 4096)
		}, func(err error) bool { return isRemote(err, Internal) }},
		{"long in one write", func(_ ContentKey, _, n int64, w io.Writer) error {
			w.Write(make([]byte, n+1)) // the error is ignored on purpose
			return nil
		}, func(err error) bool { return isRemote(err, Internal) }},
		{"long after the end", func(_ ContentKey, off, n int64, w io.Writer) error {
			writePattern(w, off, n+10, 4096)
			return nil
		}, func(err error) bool { return isRemote(err, Internal) }},
		{"remote error keeps its code", func(ContentKey, int64, int64, io.Writer) error {
			return fmt.Errorf("wrapped: %w", &RemoteError{Code: Busy, RetryAfter: time.Second, Message: "disk busy"})
		}, func(err error) bool {
			var re *RemoteError
			return errors.As(err, &re) && *re == RemoteError{Code: Busy, RetryAfter: time.Second, Message: "disk busy"}
		}},
		{"plain error becomes internal", func(ContentKey, int64, int64, io.Writer) error {
			return errors.New("disk on fire")
		}, func(err error) bool {
			var re *RemoteError
			return errors.As(err, &re) && re.Code == Internal && re.Message == "disk on fire"
		}},
		{"error after some data", func(_ ContentKey, off, n int64, w io.Writer) error {
			writePattern(w, off, n/2, 4096)
			return &RemoteError{Code: NotShared, Message: "unshared meanwhile"}
		}, func(err error) bool { return isRemote(err, NotShared) }},
		{"panic", func(ContentKey, int64, int64, io.Writer) error {
			panic("bug")
		}, func(err error) bool { return isRemote(err, Internal) }},
	}
	asker := newNode(t, nodeOpts{})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := dial(t, asker, newNode(t, nodeOpts{sharer: &testSharer{read: c.read}}))
			if _, _, err := readAll(p, shareKey, 7, length); !c.check(err) {
				t.Fatalf("Read returned %v", err)
			}
			if _, err := p.Status(context.Background()); err != nil {
				t.Fatalf("Status after the failed read: %v", err)
			}
		})
	}
}

// Panics in ServeHave and ServeSearch, and their errors, reach the asker
// as ERROR frames too.
func TestHaveSearchErrors(t *testing.T) {
	asker := newNode(t, nodeOpts{})
	p := dial(t, asker, newNode(t, nodeOpts{sharer: &testSharer{
		have:   func(ContentKey) (Holding, error) { panic("have bug") },
		search: func(string) ([]Found, error) { panic("search bug") },
	}}))
	if _, err := p.Have(context.Background(), shareKey); !isRemote(err, Internal) {
		t.Errorf("Have from a panicking sharer: %v, want Internal", err)
	}
	if _, err := p.Search(context.Background(), "x"); !isRemote(err, Internal) {
		t.Errorf("Search from a panicking sharer: %v, want Internal", err)
	}
	if _, err := p.Status(context.Background()); err != nil {
		t.Fatalf("Status after the panics: %v", err)
	}
	p = dial(t, asker, newNode(t, nodeOpts{sharer: &testSharer{
		have:   func(ContentKey) (Holding, error) { return Holding{}, errors.New("index gone") },
		search: func(string) ([]Found, error) { return nil, &RemoteError{Code: Busy, Message: "indexing"} },
	}}))
	if _, err := p.Have(context.Background(), shareKey); !isRemote(err, Internal) {
		t.Errorf("Have with a plain error: %v, want Internal", err)
	}
	if _, err := p.Search(context.Background(), "x"); !isRemote(err, Busy) {
		t.Errorf("Search: %v, want the sharer's Busy", err)
	}
}

// wrongTagHello runs the client side of a hello on s with a guessed room
// code, up to sending the wrong tag, as a non-member would.
func wrongTagHello(t *testing.T, conn *quic.Conn, s *quic.Stream, id *Identity, server NodeID) {
	t.Helper()
	pr, err := startProof(conn, otherRoom(), cpace.Initiator, id.ID, server)
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
	if tag := confirmTag(ks, w.Share[:]); hmac.Equal(tag[:], w.Confirm[:]) {
		t.Fatal("the server's tag checks out for a client of another room")
	}
	frame, _ = wire.AppendIdent(nil, wire.Ident{Confirm: confirmTag(kc, pr.share), Name: "stranger"})
	s.Write(frame)
	s.Close()
}

// A node outside the room gets no answer to HAVE, READ or SEARCH, not
// even by sending them before its proof failed: the server serves no
// stream before the client's tag checked out, and the Sharer is never
// called.
func TestShareWrongRoom(t *testing.T) {
	sh := &testSharer{}
	rec := &logRecorder{}
	holder := newNode(t, nodeOpts{sharer: sh, log: rec})

	stranger := newNode(t, nodeOpts{room: otherRoom()})
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	if p, err := stranger.Dial(ctx, holder.Addr().String()); !errors.Is(err, ErrRoomMismatch) {
		t.Fatalf("Dial from another room: peer %v, err %v; want ErrRoomMismatch", p, err)
	}

	id := newIdentity(t)
	conn := rawDial(t, holder, id)
	control, err := conn.OpenStreamSync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var requests []*quic.Stream
	for _, frame := range [][]byte{
		must(wire.AppendHave(nil, wire.Have{Key: shareKey.wire()})),
		must(wire.AppendRead(nil, wire.Read{Key: shareKey.wire(), Length: 100})),
		must(wire.AppendSearch(nil, wire.Search{Words: "pattern"})),
	} {
		s, err := conn.OpenStreamSync(ctx)
		if err != nil {
			t.Fatal(err)
		}
		s.Write(frame)
		s.Close()
		requests = append(requests, s)
	}
	wrongTagHello(t, conn, control, id, holder.ID())
	if code := closedWith(t, conn); code != closeRoom {
		t.Fatalf("closed with 0x%x, want the room-mismatch close 0x%x", code, closeRoom)
	}
	for i, s := range requests {
		s.SetReadDeadline(time.Now().Add(waitLong))
		if rest, _ := io.ReadAll(s); len(rest) != 0 {
			t.Fatalf("request %d got %d bytes of answer from a server that refused the room proof", i, len(rest))
		}
	}
	if n := sh.calls.Load(); n != 0 {
		t.Fatalf("sharer called %d times for peers outside the room", n)
	}
	if attrs, ok := rec.find("refused peer"); !ok || attrs["reason"] != "room proof failed" {
		t.Fatalf("no log of the refusal: %v", attrs)
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// Nodes of versions 2 and 3 talk version 2, in either direction: fetches
// and status work, HAVE, READ, SEARCH and NOTE are refused before
// anything is sent, and nobody drops anybody.
func TestVersionMix(t *testing.T) {
	cases := []struct {
		name                 string
		client, server, want int
	}{
		{"3 to 3", 3, 3, 3},
		{"3 to 2", 3, 2, 2},
		{"2 to 3", 2, 3, 2},
		{"2 to 2", 2, 2, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sh := &testSharer{}
			noter := &testNoter{}
			srec, crec := &logRecorder{}, &logRecorder{}
			server := newNode(t, nodeOpts{version: c.server, sharer: sh, noter: noter, handler: &patternHandler{}, log: srec})
			client := newNode(t, nodeOpts{version: c.client, log: crec})
			p := dial(t, client, server)
			if p.Version() != c.want {
				t.Fatalf("version %d in use, want %d", p.Version(), c.want)
			}
			ctx := context.Background()
			if err := p.Fetch(ctx, FetchRequest{URL: "http://h/", Length: 1000}, func([]byte) error { return nil }); err != nil {
				t.Fatalf("Fetch: %v", err)
			}
			_, herr := p.Have(ctx, shareKey)
			_, _, rerr := readAll(p, shareKey, 0, 10)
			_, serr := p.Search(ctx, "pattern")
			nerr := p.Note(ctx, Note{Downloads: []Download{{File: "f", Done: 1}}})
			for name, err := range map[string]error{"Have": herr, "Read": rerr, "Search": serr, "Note": nerr} {
				if c.want >= 3 && err != nil {
					t.Errorf("%s: %v", name, err)
				}
				if c.want < 3 && !errors.Is(err, ErrUnsupported) {
					t.Errorf("%s on version %d: %v, want ErrUnsupported", name, c.want, err)
				}
			}
			if c.want < 3 && sh.calls.Load() != 0 {
				t.Fatalf("sharer called %d times on a version 2 connection", sh.calls.Load())
			}
			if _, notes := noter.heard(); len(notes) != min(c.want-2, 1) {
				t.Fatalf("noter heard %d notes on a version %d connection", len(notes), c.want)
			}
			if _, err := p.Status(ctx); err != nil {
				t.Fatalf("Status: %v", err)
			}
			for side, rec := range map[string]*logRecorder{"server": srec, "client": crec} {
				if attrs, ok := rec.find("dropping peer"); ok {
					t.Fatalf("the %s dropped its peer: %v", side, attrs)
				}
			}
		})
	}
}

// On a connection whose client said version 2, the new frames are what
// they were in version 2: a protocol violation. The same frame on a
// version 3 connection is answered.
func TestVersion2ConnectionRefusesNewFrames(t *testing.T) {
	rec := &logRecorder{}
	sh := &testSharer{}
	holder := newNode(t, nodeOpts{sharer: sh, log: rec})
	have := must(wire.AppendHave(nil, wire.Have{Key: shareKey.wire()}))
	for _, speaks := range []int{2, 3} {
		id := newIdentity(t)
		conn := rawDial(t, holder, id)
		h, err := clientHello(context.Background(), conn, id, testRoom(), "raw", speaks)
		if err != nil || h.version != speaks {
			t.Fatalf("hello offering %d: version %d, %v", speaks, h.version, err)
		}
		s, err := conn.OpenStream()
		if err != nil {
			t.Fatal(err)
		}
		s.Write(have)
		s.Close()
		s.SetReadDeadline(time.Now().Add(waitLong))
		rd := wire.NewReader(s, make([]byte, wire.ReaderBufSize))
		typ, _, err := rd.Next()
		if speaks == 3 {
			if err != nil || typ != wire.TypeHolding {
				t.Fatalf("answer on a version 3 connection: %v, %v; want HOLDING", typ, err)
			}
			continue
		}
		if code := closedWith(t, conn); code != closeProtocol {
			t.Fatalf("HAVE on a version 2 connection: closed with 0x%x, want 0x%x", code, closeProtocol)
		}
		if attrs, ok := rec.findPeer("dropping peer", id.ID.Short()); !ok || !contains(attrs["reason"], "version 2 connection") {
			t.Fatalf("logged %v, want a drop for a HAVE on a version 2 connection", attrs)
		}
	}
	if sh.calls.Load() != 1 {
		t.Fatalf("sharer called %d times, want once (version 3)", sh.calls.Load())
	}
}

// The server accepts any HELLO from version 2 up and answers with the
// lower of the two; HELLO 1 is refused with 0x3.
func TestServerVersions(t *testing.T) {
	holder := newNode(t, nodeOpts{})
	old := newNode(t, nodeOpts{version: 2})
	for _, c := range []struct {
		server *Node
		offer  int
		want   int
	}{{holder, 2, 2}, {holder, 3, 3}, {holder, 4, 4}, {holder, 9, 4}, {old, 3, 2}, {old, 9, 2}} {
		id := newIdentity(t)
		h, err := clientHello(context.Background(), rawDial(t, c.server, id), id, testRoom(), "raw", c.offer)
		if err != nil || h.version != c.want {
			t.Errorf("HELLO %d to a node of version %d: version %d, %v; want %d", c.offer, c.server.speaks, h.version, err, c.want)
		}
	}
	id := newIdentity(t)
	conn := rawDial(t, holder, id)
	if _, err := clientHello(context.Background(), conn, id, testRoom(), "raw", 1); err == nil {
		t.Fatal("hello offering version 1 succeeded")
	}
	if code := closedWith(t, conn); code != closeVersion {
		t.Fatalf("HELLO 1: closed with 0x%x, want 0x%x", code, closeVersion)
	}
}

// A client that offered 4 accepts WELCOME 2 to 4, and closes with 0x3 on
// anything else.
func TestClientVersions(t *testing.T) {
	for _, welcome := range []uint64{0, 1, 5, 1 << 40} {
		closed := make(chan quic.ApplicationErrorCode, 1)
		addr := rawServer(t, func(conn *quic.Conn, self *Identity) {
			s, err := conn.AcceptStream(conn.Context())
			if err != nil {
				return
			}
			rd := wire.NewReader(s, make([]byte, wire.ReaderBufSize))
			if _, _, err := rd.Next(); err != nil {
				return
			}
			frame, _ := wire.AppendWelcome(nil, wire.Welcome{Version: welcome})
			s.Write(frame)
			select {
			case <-conn.Context().Done():
				code, _ := closedByPeer(context.Cause(conn.Context()))
				closed <- code
			case <-time.After(waitLong):
				closed <- 0xff
			}
		})
		ctx, cancel := context.WithTimeout(context.Background(), waitLong)
		_, err := newNode(t, nodeOpts{}).Dial(ctx, addr)
		cancel()
		if err == nil || !contains(err.Error(), "version") {
			t.Errorf("WELCOME %d: Dial returned %v, want a version error", welcome, err)
		}
		if code := <-closed; code != closeVersion {
			t.Errorf("WELCOME %d: the client closed with 0x%x, want 0x%x", welcome, code, closeVersion)
		}
	}
}

// The requester drops a holder that answers HAVE or SEARCH with garbage.
func TestGarbageHolder(t *testing.T) {
	holding := func(h wire.Holding) []byte { return must(wire.AppendHolding(nil, h)) }
	cases := []struct {
		name   string
		search bool
		answer []byte
		reason string
	}{
		{"data in answer to HAVE", false, appendData(nil, []byte{1}), "DATA frame in answer to HAVE"},
		{"found in answer to HAVE", false, must(wire.AppendFound(nil, wire.Found{})), "FOUND frame in answer to HAVE"},
		{"holding in answer to SEARCH", true, holding(wire.Holding{Size: 1}), "HOLDING frame in answer to SEARCH"},
		{"nothing", false, nil, "ended early"},
		{"unsorted ranges", false, func() []byte {
			b := holding(wire.Holding{Size: 100, Have: []wire.Range{{Offset: 1, Length: 1}, {Offset: 50, Length: 1}}})
			// The payload ends in have count 2, 1, 1, 50, 1, then claims
			// count 0: move the second range before the first.
			b[len(b)-3] = 0
			return b
		}(), "starts at 0"},
		{"two answers", true, append(must(wire.AppendFound(nil, wire.Found{})), must(wire.AppendFound(nil, wire.Found{}))...), "after the last frame"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			addr := answeringServer(t, ProtocolVersion, func() []byte { return c.answer })
			rec := &logRecorder{}
			p := dialAddr(t, newNode(t, nodeOpts{log: rec}), addr)
			var err error
			if c.search {
				_, err = p.Search(context.Background(), "x")
			} else {
				_, err = p.Have(context.Background(), shareKey)
			}
			if err == nil || !contains(err.Error(), c.reason) {
				t.Fatalf("got %v, want a failure mentioning %q", err, c.reason)
			}
			select {
			case <-p.Done():
			case <-time.After(waitLong):
				t.Fatal("connection to a garbage-sending holder still open")
			}
			if attrs, ok := rec.findPeer("dropping peer", p.ID().Short()); !ok || !contains(attrs["reason"], c.reason) {
				t.Fatalf("logged %v, want a drop whose reason mentions %q", attrs, c.reason)
			}
		})
	}
}
