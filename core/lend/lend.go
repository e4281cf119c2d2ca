package lend

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/time/rate"

	"github.com/dragonload/dragonload/core/origin"
	"github.com/dragonload/dragonload/quicwire"
)

// MaxRequest is the largest chunk a lender fetches for one request. The
// requester's scheduler never asks for more (its largest chunk is 64 MiB).
const MaxRequest = 64 << 20

// Options configure a Server.
type Options struct {
	Origin      *origin.Client
	Lending     bool
	Rate        int64 // bytes per second, all peers together; 0 = no cap
	Concurrency int   // requests served at once; <= 0 means 8
	Logger      *slog.Logger
	// OnLent is called as bytes are sent to a peer (for the peers panel).
	OnLent func(peer quicwire.NodeID, n int)
}

// Server implements quicwire.Handler.
type Server struct {
	origin  *origin.Client
	log     *slog.Logger
	onLent  func(quicwire.NodeID, int)
	lending atomic.Bool

	mu      sync.Mutex
	limiter *rate.Limiter
	slots   int
	busy    int
}

// burst is the token-bucket depth: one write of the origin client's buffer.
const burst = 256 << 10

// New returns a lender.
func New(opts Options) *Server {
	s := &Server{origin: opts.Origin, log: opts.Logger, onLent: opts.OnLent}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.lending.Store(opts.Lending)
	s.SetLimits(opts.Rate, opts.Concurrency)
	return s
}

// SetLending turns lending on or off. Requests already being served finish.
func (s *Server) SetLending(on bool) { s.lending.Store(on) }

// Lending reports whether this node lends.
func (s *Server) Lending() bool { return s.lending.Load() }

// SetLimits changes the bandwidth cap (bytes per second, 0 = none) and the
// number of requests served at once, effective for the next bytes sent.
func (s *Server) SetLimits(bytesPerSec int64, concurrency int) {
	if concurrency <= 0 {
		concurrency = 8
	}
	lim := rate.NewLimiter(rate.Inf, burst)
	if bytesPerSec > 0 {
		lim = rate.NewLimiter(rate.Limit(bytesPerSec), burst)
	}
	s.mu.Lock()
	s.limiter = lim
	s.slots = concurrency
	s.mu.Unlock()
}

// ServeFetch fetches req from the origin and streams it to w.
func (s *Server) ServeFetch(ctx context.Context, from quicwire.PeerInfo, req quicwire.FetchRequest, w io.Writer) error {
	log := s.log.With("peer", from.ID.Short(), "url", req.URL, "off", req.Offset, "len", req.Length)
	if !s.lending.Load() {
		return &quicwire.RemoteError{Code: quicwire.NotLending, Message: "this node is not lending bandwidth"}
	}
	if req.Length <= 0 || req.Length > MaxRequest || req.Offset < 0 || req.Size <= 0 || req.Offset+req.Length > req.Size {
		return &quicwire.RemoteError{Code: quicwire.BadRequest, Message: fmt.Sprintf("request for %d bytes at %d of %d is out of bounds (at most %d bytes per request)", req.Length, req.Offset, req.Size, MaxRequest)}
	}
	if _, err := origin.ValidateURL(req.URL); err != nil {
		return &quicwire.RemoteError{Code: quicwire.BadRequest, Message: err.Error()}
	}
	if err := origin.ValidateHeaders(req.Headers); err != nil {
		return &quicwire.RemoteError{Code: quicwire.BadRequest, Message: err.Error()}
	}
	lim, ok := s.acquire()
	if !ok {
		return &quicwire.RemoteError{Code: quicwire.Busy, Message: "this node is serving as many requests as it allows"}
	}
	defer s.release()

	// The wire carries the pinned ETag verbatim: a weak one keeps its W/.
	id := origin.Identity{Size: req.Size, ETag: req.ETag, LastModified: req.LastModified}
	if strings.HasPrefix(req.ETag, "W/") {
		id.ETag, id.WeakETag = "", req.ETag
	}
	err := s.origin.Range(ctx, req.URL, req.Headers, id, req.Offset, req.Length, func(b []byte) error {
		if err := waitN(ctx, lim, len(b)); err != nil {
			return err
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
		if s.onLent != nil {
			s.onLent(from.ID, len(b))
		}
		return nil
	})
	if err != nil {
		log.Debug("lend failed", "err", err)
		return remoteError(err)
	}
	return nil
}

func (s *Server) acquire() (*rate.Limiter, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.busy >= s.slots {
		return nil, false
	}
	s.busy++
	return s.limiter, true
}

func (s *Server) release() {
	s.mu.Lock()
	s.busy--
	s.mu.Unlock()
}

// waitN takes n tokens in bursts the limiter accepts.
func waitN(ctx context.Context, lim *rate.Limiter, n int) error {
	for n > 0 {
		k := min(n, burst)
		if err := lim.WaitN(ctx, k); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

// remoteError maps an origin failure to the code the requester acts on.
//
// A refusal by the SSRF guard goes back as the bare code, with no message:
// its text names the address the URL resolved to on the lender's side and
// the kind of network it is in, which is what a member probing the
// lender's network wants to learn. The other failures keep their
// sentence: they come from an origin the member may fetch from itself.
func remoteError(err error) error {
	if errors.Is(err, origin.ErrForbiddenAddress) {
		return &quicwire.RemoteError{Code: quicwire.Forbidden}
	}
	var re *quicwire.RemoteError
	if errors.As(err, &re) {
		return re
	}
	var se *origin.StatusError
	switch {
	case errors.As(err, &se):
		return &quicwire.RemoteError{Code: quicwire.OriginStatus, HTTPStatus: se.Code, RetryAfter: se.RetryAfter, Message: err.Error()}
	case errors.Is(err, origin.ErrIdentityChanged):
		return &quicwire.RemoteError{Code: quicwire.IdentityChanged, Message: err.Error()}
	}
	return &quicwire.RemoteError{Code: quicwire.OriginFailed, Message: err.Error()}
}
