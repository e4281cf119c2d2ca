package core

import (
	"context"
	"errors"
	"time"

	"github.com/dragonload/dragonload/core/origin"
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
}

func (s selfSource) ID() string   { return transfer.SelfID }
func (s selfSource) Name() string { return s.name }

func (s selfSource) Fetch(ctx context.Context, req transfer.Request, sink func([]byte) error) error {
	err := s.client.Range(ctx, req.Pin.URL, req.Pin.Headers, req.Pin.Identity, req.Range.Off, req.Range.Len(), sink)
	if err == nil {
		return nil
	}
	return originFailure(err, req.Pin.URL != s.link)
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
