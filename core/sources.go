package core

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/dragonload/dragonload/core/origin"
	"github.com/dragonload/dragonload/core/span"
	"github.com/dragonload/dragonload/core/transfer"
	"github.com/dragonload/dragonload/quicwire"
)

// The transfer's sources that this package provides: this node's own HTTP
// client, and a room peer that fetches from the origin for us. Each turns
// its errors into transfer failures, so that the transfer treats a failure
// the same whichever source met it.

// selfSource fetches from the origin over this node's own link.
type selfSource struct {
	client *origin.Client
	name   string
	link   string // the URL the user gave; a refusal of any other (a redirect target) is an expired link
	// first is the probe's answer, still unread: the file's first bytes.
	// The fetch that starts at byte 0 streams it, which spares the first
	// chunk a round trip of its own: the transfer books those bytes to
	// this source before anything else (transfer.Config.First), copies on
	// the LAN included, since the origin has sent them already. When no
	// such fetch comes (a resumed download whose start is durable), the
	// download closes it at its end.
	first *firstBytes
}

func (s selfSource) ID() string   { return transfer.SelfID }
func (s selfSource) Name() string { return s.name }

func (s selfSource) Fetch(ctx context.Context, req transfer.Request, sink func([]byte) error) error {
	r := req.Range
	if f := s.first.takeAt(r.Off); f != nil {
		n, err := streamFirst(ctx, f, r, sink)
		if err != nil {
			return originFailure(err, req.Pin.URL != s.link)
		}
		r.Off += n
		if r.Empty() {
			return nil
		}
	}
	err := s.client.Range(ctx, req.Pin.URL, req.Pin.Headers, req.Pin.Identity, r.Off, r.Len(), sink)
	if err == nil {
		return nil
	}
	return originFailure(err, req.Pin.URL != s.link)
}

// firstBytes holds the probe's unread answer until one fetch takes it.
type firstBytes struct {
	mu sync.Mutex
	f  *origin.First
}

// takeAt hands the answer to the first caller whose bytes start at off
// 0, where the answer's do; every other caller, and any caller of a nil
// firstBytes, gets nil.
func (b *firstBytes) takeAt(off int64) *origin.First {
	if b == nil || off != 0 {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	f := b.f
	b.f = nil
	return f
}

// span is the bytes the answer holds, [0, Len); empty when there is none.
func (b *firstBytes) span() span.Range {
	if b == nil || b.f == nil {
		return span.Range{}
	}
	return span.Range{End: b.f.Len()}
}

// close releases an answer nobody took.
func (b *firstBytes) close() {
	if f := b.takeAt(0); f != nil {
		f.Close()
	}
}

// errHaveEnough stops streaming the probe's answer at the end of a range
// shorter than it.
var errHaveEnough = errors.New("the range ends before the probe's answer")

// streamFirst passes the probe's answer f, bytes [0, f.Len()), to sink as
// the start of range r, which starts at 0, and returns how many bytes of
// r it covered.
func streamFirst(ctx context.Context, f *origin.First, r span.Range, sink func([]byte) error) (int64, error) {
	n := min(f.Len(), r.Len())
	var got int64
	err := f.Stream(ctx, func(b []byte) error {
		b = b[:min(int64(len(b)), n-got)]
		if len(b) > 0 {
			if err := sink(b); err != nil {
				return err
			}
			got += int64(len(b))
		}
		if got == n && n < f.Len() {
			return errHaveEnough
		}
		return nil
	})
	f.Close()
	if errors.Is(err, errHaveEnough) {
		err = nil
	}
	return got, err
}

// originFailure classifies an error of this node's origin client.
// redirected says the URL was a redirect target, whose refusal means it
// expired.
func originFailure(err error, redirected bool) error {
	var we *transfer.WriteError
	if errors.As(err, &we) {
		return we
	}
	var mm *origin.MismatchError
	if errors.As(err, &mm) {
		return &transfer.Failure{Kind: transfer.Changed, Field: mm.Field, Err: err}
	}
	if errors.Is(err, origin.ErrIdentityChanged) {
		return &transfer.Failure{Kind: transfer.Changed, Field: origin.FieldSize, Err: err}
	}
	if errors.Is(err, origin.ErrForbiddenAddress) {
		return transfer.Fail(transfer.Fatal, err)
	}
	var se *origin.StatusError
	if errors.As(err, &se) {
		switch {
		case redirected && (se.Code == 401 || se.Code == 403 || se.Code == 410):
			return transfer.Fail(transfer.Expired, err)
		case se.Code >= 400 && se.Code < 500 && se.Code != 408 && se.Code != 429:
			return transfer.Fail(transfer.Fatal, err)
		}
		return &transfer.Failure{Kind: transfer.Transient, RetryAt: origin.RetryAt(err), Err: err}
	}
	return transfer.Fail(transfer.Transient, err)
}

// peerSource fetches through a room peer, which fetches from the origin
// over its own link.
type peerSource struct {
	peer     *quicwire.Peer
	received func(id string, n int) // counts bytes per peer for the peer table
}

func (s peerSource) ID() string   { return s.peer.ID().String() }
func (s peerSource) Name() string { return s.peer.Name() }

func (s peerSource) Fetch(ctx context.Context, req transfer.Request, sink func([]byte) error) error {
	id := req.Pin.Identity
	etag := id.ETag
	if etag == "" {
		// The wire carries one ETag verbatim; the lender tells a weak one by its W/.
		etag = id.WeakETag
	}
	err := s.peer.Fetch(ctx, quicwire.FetchRequest{
		URL: req.Pin.URL, Headers: req.Pin.Headers, Offset: req.Range.Off, Length: req.Range.Len(),
		Size: id.Size, ETag: etag, LastModified: id.LastModified,
	}, func(b []byte) error {
		if err := sink(b); err != nil {
			return err
		}
		s.received(s.ID(), len(b))
		return nil
	})
	if err == nil {
		return nil
	}
	return s.failure(err)
}

// failure classifies an error of a fetch through the peer.
func (s peerSource) failure(err error) error {
	var we *transfer.WriteError
	if errors.As(err, &we) {
		return we
	}
	var re *quicwire.RemoteError
	if !errors.As(err, &re) {
		select {
		case <-s.peer.Done():
			return transfer.Fail(transfer.Gone, err)
		default:
			return transfer.Fail(transfer.Transient, err)
		}
	}
	var retryAt time.Time
	if re.RetryAfter > 0 {
		retryAt = time.Now().Add(re.RetryAfter)
	}
	switch {
	case re.Code == quicwire.NotLending, re.Code == quicwire.Forbidden, re.Code == quicwire.BadRequest:
		return transfer.Fail(transfer.Refused, err)
	case re.Code == quicwire.IdentityChanged:
		return &transfer.Failure{Kind: transfer.Changed, Err: err}
	case re.Code == quicwire.OriginStatus && re.HTTPStatus >= 400 && re.HTTPStatus < 500 && re.HTTPStatus != 408 && re.HTTPStatus != 429:
		return transfer.Fail(transfer.Fatal, err)
	case re.Code == quicwire.Busy && retryAt.IsZero():
		retryAt = time.Now().Add(time.Second)
	}
	return &transfer.Failure{Kind: transfer.Transient, RetryAt: retryAt, Err: err}
}
