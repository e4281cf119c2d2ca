package quicwire

import (
	"context"
	"errors"
	"fmt"
	"github.com/dragonload/dragonload/core/names"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dragonload/dragonload/quicwire/wire"
	"github.com/quic-go/quic-go"
)

// Peer is a connection to a room member that passed the room proof. Its
// methods may be called concurrently; each Fetch and Status runs on a
// stream of its own.
type Peer struct {
	node    *Node
	conn    *quic.Conn
	id      NodeID
	addr    string
	version int // the protocol version in use
	lending atomic.Bool

	mu       sync.Mutex
	name     string // as the peer announced it, last heard
	nickname string // this node's own name for the peer; never sent
}

// ID is the peer's node id, proven by TLS.
func (p *Peer) ID() NodeID { return p.id }

// Name is what this node calls the peer: the nickname given with
// SetNickname, else the peer's display name as last heard.
func (p *Peer) Name() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.nickname != "" {
		return p.nickname
	}
	return p.name
}

// Announced is the peer's display name as last heard, whatever its
// nickname.
func (p *Peer) Announced() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.name
}

// SetNickname gives the peer a name of this node's choosing, which Name
// returns from then on in place of the one the peer announces; "" goes
// back to the announced one. It is local: nothing of it goes on the wire.
// The engine keeps nicknames here so that everything naming a peer
// through its connection (the peer table, each download's shares) shows
// the nickname.
func (p *Peer) SetNickname(nickname string) {
	p.mu.Lock()
	p.nickname = nickname
	p.mu.Unlock()
}

// Addr is the peer's UDP address.
func (p *Peer) Addr() string { return p.addr }

// Version is the protocol version in use on the connection: the lower of
// the two nodes' highest. Have, Read, Search and Note need 3.
func (p *Peer) Version() int { return p.version }

// Lending is whether the peer lends bandwidth, as last heard.
func (p *Peer) Lending() bool { return p.lending.Load() }

// RTT is QUIC's smoothed round-trip time to the peer.
func (p *Peer) RTT() time.Duration { return p.conn.ConnectionStats().SmoothedRTT }

// Done is closed when the connection is gone, for whatever reason.
func (p *Peer) Done() <-chan struct{} { return p.conn.Context().Done() }

// Close closes the connection, telling the peer.
func (p *Peer) Close() error {
	return p.conn.CloseWithError(closeNormal, "closed")
}

// Status asks the peer for its name and lending state, and remembers them.
func (p *Peer) Status(ctx context.Context) (Status, error) {
	var m wire.Status
	err := p.ask(ctx, "status", func(b []byte) ([]byte, error) { return wire.AppendQuery(b), nil },
		wire.TypeStatus, false, func(payload []byte) (err error) {
			m, err = wire.DecodeStatus(payload)
			return err
		})
	if err != nil {
		return Status{}, err
	}
	p.lending.Store(m.Lending)
	// A member chooses its own name: one that hides behind control or
	// bidi characters, or runs long, is cleaned before anything shows it.
	name := names.SanitizeDisplayName(m.Name)
	p.mu.Lock()
	p.name = name
	p.mu.Unlock()
	return Status{Name: name, Lending: m.Lending}, nil
}

// ask runs a request whose answer is one frame (QUERY, HAVE, SEARCH), or
// none (NOTE), on a new stream, all of it within the request timeout.
// request appends the request frame; decode gets the payload of the
// answer, which must be of type answer, or ERROR when errorOK (it then
// becomes a *RemoteError). The payload is valid only during decode. With
// decode nil the answer is the server's FIN alone, and any frame is a
// violation.
func (p *Peer) ask(ctx context.Context, what string, request func([]byte) ([]byte, error), answer wire.Type,
	errorOK bool, decode func([]byte) error) error {
	buf := getBuf()
	defer putBuf(buf)
	frame, err := request((*buf)[:0])
	if err != nil {
		return fmt.Errorf("%s request cannot be sent: %w", what, err)
	}
	asked := wire.Type(frame[0])
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	s, err := p.conn.OpenStreamSync(ctx)
	if err != nil {
		return fmt.Errorf("%s of peer %s: %w", what, p.id.Short(), err)
	}
	deadline, _ := ctx.Deadline()
	s.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { s.CancelRead(streamCanceled); s.CancelWrite(streamCanceled) })
	defer stop()

	if _, err := s.Write(frame); err != nil {
		return p.streamError(ctx, s, what, err)
	}
	if err := s.Close(); err != nil {
		return p.streamError(ctx, s, what, err)
	}
	rd := wire.NewReader(s, *buf)
	typ, payload, err := rd.Next()
	if decode == nil {
		switch {
		case err == io.EOF:
			return nil
		case err == nil:
			err = violation("%v frame in answer to %v", typ, asked)
		}
		return p.streamError(ctx, s, what, err)
	}
	if err != nil {
		return p.streamError(ctx, s, what, err)
	}
	switch {
	case typ == answer:
		if err := decode(payload); err != nil {
			return p.streamError(ctx, s, what, err)
		}
	case typ == wire.TypeError && errorOK:
		m, err := wire.DecodeError(payload)
		if err != nil {
			return p.streamError(ctx, s, what, err)
		}
		s.CancelRead(streamCanceled) // nothing may follow ERROR; don't wait for the FIN
		return remoteError(m)
	default:
		return p.streamError(ctx, s, what, violation("%v frame in answer to %v", typ, asked))
	}
	if err := rd.ExpectEOF(); err != nil {
		return p.streamError(ctx, s, what, err)
	}
	return nil
}

// remoteError is what an ERROR frame says.
func remoteError(m wire.Error) *RemoteError {
	return &RemoteError{
		Code:       Code(m.Code),
		Message:    m.Message,
		HTTPStatus: int(m.HTTPStatus),
		RetryAfter: time.Duration(min(m.RetryAfterMS, uint64(time.Hour/time.Millisecond))) * time.Millisecond,
	}
}

// Fetch asks the peer for req's bytes on a new stream and hands them to
// sink in order, as they arrive; sink must not keep the slice. It succeeds
// only when exactly req.Length bytes arrived and the lender's trailer
// confirms their length and SHA-256; otherwise it fails with
// ErrTrailerMismatch, a *RemoteError from the lender, sink's error, ctx's
// error, or a transport error. Bytes already handed to sink are verified
// only once Fetch returns nil: on any error the caller must discard them.
// Whenever it fails early the stream is cancelled in both directions, so
// the lender stops too.
func (p *Peer) Fetch(ctx context.Context, req FetchRequest, sink func([]byte) error) error {
	if req.Offset < 0 || req.Length <= 0 {
		return fmt.Errorf("fetch %d+%d: offset must be ≥ 0 and length > 0", req.Offset, req.Length)
	}
	return p.getData(ctx, "fetch", func(b []byte) ([]byte, error) {
		return wire.AppendFetch(b, wire.Fetch{
			URL:          req.URL,
			Headers:      req.Headers,
			Offset:       uint64(req.Offset),
			Length:       uint64(req.Length),
			Size:         req.Size,
			ETag:         req.ETag,
			LastModified: req.LastModified,
		})
	}, req.Length, sink)
}

// getData runs a request answered by DATA, then END or ERROR (FETCH,
// READ) on a new stream: request appends the request frame, length is the
// number of bytes it asks for. See Fetch for what it checks and returns.
func (p *Peer) getData(ctx context.Context, what string, request func([]byte) ([]byte, error), length int64, sink func([]byte) error) error {
	buf := getBuf()
	defer putBuf(buf)
	frame, err := request((*buf)[:0])
	if err != nil {
		return fmt.Errorf("%s request cannot be sent: %w", what, err)
	}
	s, err := p.conn.OpenStreamSync(ctx)
	if err != nil {
		return fmt.Errorf("%s from peer %s: %w", what, p.id.Short(), err)
	}
	abort := func(code quic.StreamErrorCode) {
		s.CancelRead(code)
		s.CancelWrite(code)
	}
	stop := context.AfterFunc(ctx, func() { abort(streamCanceled) })
	defer stop()
	wd := startWatchdog(dataGap, func() { abort(streamStalled) })
	defer wd.stop()

	wd.begin()
	if _, err := s.Write(frame); err != nil {
		return p.fetchError(ctx, s, wd, what, err)
	}
	if err := s.Close(); err != nil {
		return p.fetchError(ctx, s, wd, what, err)
	}
	rd := wire.NewReader(s, *buf)
	var got int64
	for {
		wd.begin()
		typ, payload, err := rd.Next()
		wd.end()
		if err != nil {
			return p.fetchError(ctx, s, wd, what, err)
		}
		switch typ {
		case wire.TypeData:
			if int64(len(payload)) > length-got {
				abort(streamProtocol)
				return fmt.Errorf("%w: peer %s sent more than %d bytes", ErrTrailerMismatch, p.id.Short(), length)
			}
			got += int64(len(payload))
			if err := sink(payload); err != nil {
				abort(streamCanceled)
				return err
			}
		case wire.TypeEnd:
			end, err := wire.DecodeEnd(payload)
			if err != nil {
				return p.fetchError(ctx, s, wd, what, err)
			}
			// Only a lender older than version 4 sends a SHA-256, and it
			// goes unchecked: the lender computes it over what it chose
			// to send, and QUIC's AEAD already refuses any byte changed
			// in transit, so it would prove nothing (docs/protocol.md §6).
			if (end.Sum != nil) != (p.version < sumlessVersion) {
				return p.fetchError(ctx, s, wd, what, violation("END of %d bytes on a version %d connection", len(payload), p.version))
			}
			if got != length || end.Length != uint64(got) {
				abort(streamProtocol)
				return fmt.Errorf("%w: got %d of %d bytes, peer %s claims %d", ErrTrailerMismatch, got, length, p.id.Short(), end.Length)
			}
			wd.begin()
			if err := rd.ExpectEOF(); err != nil {
				return p.fetchError(ctx, s, wd, what, err)
			}
			return nil
		case wire.TypeError:
			m, err := wire.DecodeError(payload)
			if err != nil {
				return p.fetchError(ctx, s, wd, what, err)
			}
			s.CancelRead(streamCanceled) // nothing may follow ERROR; don't wait for the FIN
			return remoteError(m)
		default:
			return p.fetchError(ctx, s, wd, what, violation("%v frame in a %s answer", typ, what))
		}
	}
}

// fetchError explains why a fetch or read stream failed, dropping the
// connection when the peer broke the protocol.
func (p *Peer) fetchError(ctx context.Context, s *quic.Stream, wd *watchdog, what string, err error) error {
	if wd.stop() {
		return fmt.Errorf("%s from peer %s: no data for %v", what, p.id.Short(), dataGap)
	}
	return p.streamError(ctx, s, what, err)
}

// streamError explains why a request stream failed and cancels it; ctx
// ending is reported as such, whatever the stream said.
func (p *Peer) streamError(ctx context.Context, s *quic.Stream, what string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%s from peer %s canceled: %w", what, p.id.Short(), context.Cause(ctx))
	}
	s.CancelRead(streamCanceled)
	s.CancelWrite(streamCanceled)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		err = violation("%s answer ended early", what)
	}
	err = streamReadError(err)
	var pe *protocolError
	if errors.As(err, &pe) {
		p.node.drop(p.conn, p.id, pe.reason)
	}
	return fmt.Errorf("%s from peer %s: %w", what, p.id.Short(), err)
}
