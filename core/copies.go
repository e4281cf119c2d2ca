package core

import (
	"context"
	"encoding/hex"
	"errors"
	"sync"
	"time"

	"github.com/dragonload/dragonload/core/index"
	"github.com/dragonload/dragonload/core/origin"
	"github.com/dragonload/dragonload/core/span"
	"github.com/dragonload/dragonload/core/transfer"
	"github.com/dragonload/dragonload/quicwire"
)

// Copies on the LAN: before and while a download fetches from the origin,
// it asks every room member whether it holds the same content (HAVE), by
// the link's SHA-256 when there is one and by the origin's URL, strong
// validator and size. Each member that holds some of it becomes one more
// source of the transfer, a copy: the scheduler gives it only bytes it
// holds and prefers it to every origin route, and leaves to it the bytes
// its own download is fetching right now (its claims). The question is
// asked again every copyPoll, since a running download's copy grows.

// copyPoll is how often a running download asks the room who holds its
// content. A HAVE is one small round trip on the LAN.
const copyPoll = time.Second

// copyAsk bounds one round of questions to one member.
const copyAsk = 2 * time.Second

// copyPrefix starts the transfer source id of a member's copy, which is
// otherwise the member's node id (the id of its lender source).
const copyPrefix = "copy:"

// contentKeys names a download's content for HAVE and READ: by SHA-256
// (from the link) and by origin key (URL, strong validator, size).
func contentKeys(sha string, url string, id origin.Identity) []quicwire.ContentKey {
	var keys []quicwire.ContentKey
	if b, err := hex.DecodeString(sha); err == nil && len(b) == 32 {
		k := quicwire.ContentKey{Kind: quicwire.KeySHA256}
		copy(k.Sum[:], b)
		keys = append(keys, k)
	}
	if url != "" {
		if sum, ok := index.OriginKey(url, id.ETag, id.LastModified, id.Size); ok {
			keys = append(keys, quicwire.ContentKey{Kind: quicwire.KeyOrigin, Sum: sum})
		}
	}
	return keys
}

// copyFinder asks the room for copies of one download and keeps the
// transfer's copy sources up to date. run is its only loop.
type copyFinder struct {
	e    *Engine
	tr   *transfer.Transfer
	keys []quicwire.ContentKey
	size int64
	sum  [32]byte // the link's SHA-256; zero when it gives none

	mu     sync.Mutex
	joined map[string]bool // copy source ids in the transfer
	ever   bool            // some member ever held a copy
}

func newCopyFinder(e *Engine, tr *transfer.Transfer, keys []quicwire.ContentKey, size int64) *copyFinder {
	cf := &copyFinder{e: e, tr: tr, keys: keys, size: size, joined: make(map[string]bool)}
	for _, k := range keys {
		if k.Kind == quicwire.KeySHA256 {
			cf.sum = k.Sum
		}
	}
	return cf
}

// first asks the room at once, for at most firstAsk, before the transfer
// starts. A copy known early gets the bytes it holds before other sources
// take them, and a member downloading the same file is known before this
// one picks any (without that, both would start at the front and fetch it
// twice). A HAVE is one round trip on the LAN, so this rarely waits at
// all.
func (cf *copyFinder) first(ctx context.Context) {
	if len(cf.keys) == 0 {
		return
	}
	fctx, cancel := context.WithTimeout(ctx, firstAsk)
	defer cancel()
	cf.round(fctx)
}

// firstAsk bounds the question asked before a transfer starts.
const firstAsk = 250 * time.Millisecond

// run asks every copyPoll until ctx ends.
func (cf *copyFinder) run(ctx context.Context) {
	if len(cf.keys) == 0 {
		return
	}
	t := time.NewTicker(copyPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cf.round(ctx)
	}
}

// found reports whether any member held a copy at some point.
func (cf *copyFinder) found() bool {
	cf.mu.Lock()
	defer cf.mu.Unlock()
	return cf.ever
}

// round asks every ready member at once and applies the answers.
func (cf *copyFinder) round(ctx context.Context) {
	peers := cf.e.peers.Connected()
	var wg sync.WaitGroup
	present := make(map[string]bool, len(peers))
	for _, p := range peers {
		present[copyPrefix+p.ID().String()] = true
		wg.Add(1)
		go func() {
			defer wg.Done()
			cf.askOne(ctx, p)
		}()
	}
	wg.Wait()
	cf.mu.Lock()
	var gone []string
	for id := range cf.joined {
		if !present[id] {
			gone = append(gone, id)
		}
	}
	cf.mu.Unlock()
	for _, id := range gone {
		cf.leave(id, "left the room")
	}
}

// askOne asks one member and applies its answer.
func (cf *copyFinder) askOne(ctx context.Context, p *quicwire.Peer) {
	id := copyPrefix + p.ID().String()
	if cf.e.banned(p.ID().String()) != "" {
		cf.leave(id, "banned")
		return
	}
	actx, cancel := context.WithTimeout(ctx, copyAsk)
	defer cancel()
	h, ok := cf.ask(actx, p)
	switch {
	case ctx.Err() != nil:
	case !ok:
		cf.leave(id, "holds no copy")
	default:
		cf.join(p, h)
	}
}

// newMember asks a member that just connected, for at most firstAsk,
// before it may lend: a copy it holds serves those bytes far faster. Only
// that member is asked, so members connecting one after another at the
// start do not each wait for a round of all.
func (cf *copyFinder) newMember(ctx context.Context, id string) {
	if len(cf.keys) == 0 {
		return
	}
	p, ok := cf.e.peers.Get(id)
	if !ok {
		return
	}
	fctx, cancel := context.WithTimeout(ctx, firstAsk)
	defer cancel()
	cf.askOne(fctx, p)
}

// ask returns what p holds of the content, trying each key in turn.
func (cf *copyFinder) ask(ctx context.Context, p *quicwire.Peer) (quicwire.Holding, bool) {
	for _, k := range cf.keys {
		h, err := p.Have(ctx, k)
		if err != nil {
			if errors.Is(err, quicwire.ErrUnsupported) {
				return quicwire.Holding{}, false
			}
			continue
		}
		if cf.usable(k, h) {
			return h, true
		}
	}
	return quicwire.Holding{}, false
}

// usable checks an answer against what this download knows: the size,
// and the SHA-256 when both sides know it. A copy that disagrees is of
// another file, whatever the member believes.
func (cf *copyFinder) usable(k quicwire.ContentKey, h quicwire.Holding) bool {
	if h.Size != cf.size || (len(h.Have) == 0 && len(h.Claims) == 0) {
		return false
	}
	var zero [32]byte
	return cf.sum == zero || h.SHA256 == zero || h.SHA256 == cf.sum
}

// join adds p's copy to the transfer, or updates what it holds.
func (cf *copyFinder) join(p *quicwire.Peer, h quicwire.Holding) {
	id := copyPrefix + p.ID().String()
	has, claims := setOf(h.Have), setOf(h.Claims)
	cf.mu.Lock()
	known := cf.joined[id]
	cf.joined[id] = true
	if has.Size() > 0 {
		cf.ever = true
	}
	cf.mu.Unlock()
	if !known {
		cf.e.log.Info("LAN copy found", "peer", p.Name(), "has", has.Size(), "of", cf.size)
	}
	// Added every time: a copy that failed as gone left the transfer, and
	// comes back once it answers again. A present one only updates.
	cf.tr.AddCopy(copySource{peer: p, keys: cf.keys, received: cf.e.peers.Received}, has)
	cf.tr.UpdateCopy(id, has, claims)
}

// leave takes a member's copy out of the transfer.
func (cf *copyFinder) leave(id, why string) {
	cf.mu.Lock()
	known := cf.joined[id]
	delete(cf.joined, id)
	cf.mu.Unlock()
	if known {
		cf.tr.RemoveSource(id, why)
	}
}

func setOf(rs []span.Range) span.Set {
	var s span.Set
	for _, r := range rs {
		s.Add(r)
	}
	return s
}

// copySource reads ranges of a member's copy.
type copySource struct {
	peer     *quicwire.Peer
	keys     []quicwire.ContentKey
	received func(id string, n int)
}

func (s copySource) ID() string   { return copyPrefix + s.peer.ID().String() }
func (s copySource) Name() string { return s.peer.Name() }

func (s copySource) Fetch(ctx context.Context, req transfer.Request, sink func([]byte) error) error {
	err := s.read(ctx, req.Range, sink)
	if err == nil {
		return nil
	}
	var we *transfer.WriteError
	if errors.As(err, &we) {
		return we
	}
	var re *quicwire.RemoteError
	switch {
	case errors.As(err, &re) && re.Code == quicwire.NotShared:
		// It stopped sharing, or no longer has those bytes: out until
		// the next question says otherwise.
		return transfer.Fail(transfer.Gone, err)
	case errors.As(err, &re):
		return transfer.Fail(transfer.Transient, err)
	}
	select {
	case <-s.peer.Done():
		return transfer.Fail(transfer.Gone, err)
	default:
		return transfer.Fail(transfer.Transient, err)
	}
}

// read asks with each key until one is answered: the member may know the
// content by only one of them.
func (s copySource) read(ctx context.Context, r span.Range, sink func([]byte) error) error {
	var err error
	for _, k := range s.keys {
		delivered := false
		err = s.peer.Read(ctx, k, r.Off, r.Len(), func(b []byte) error {
			delivered = true
			if err := sink(b); err != nil {
				return err
			}
			s.received(s.peer.ID().String(), len(b))
			return nil
		})
		var re *quicwire.RemoteError
		if err == nil || delivered || !errors.As(err, &re) || re.Code != quicwire.NotShared {
			return err
		}
	}
	return err
}
