package quicwire

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/dragonload/dragonload/quicwire/wire"
	"github.com/quic-go/quic-go"
)

func (n *Node) acceptLoop() {
	defer n.wg.Done()
	for {
		conn, err := n.ln.Accept(context.Background())
		if err != nil {
			return // the listener is closed
		}
		if why, ok := n.track(conn, true); !ok {
			n.log.Debug("refused connection", "addr", conn.RemoteAddr().String(), "reason", why)
			conn.CloseWithError(closeBusy, why)
			continue
		}
		n.wg.Add(1)
		go n.serveConn(conn)
	}
}

// serveConn proves the room on an accepted connection, then serves its
// streams until it ends.
func (n *Node) serveConn(conn *quic.Conn) {
	defer n.wg.Done()
	h, err := serverHello(conn, n.id, n.room, n.status, n.speaks)
	if err != nil {
		if errors.Is(err, ErrRoomMismatch) {
			n.admit.failed(remoteIP(conn), time.Now())
		}
		n.refuse(conn, err)
		return
	}
	if !n.admit.proven(conn) {
		n.log.Warn("refused member", "peer", h.id.Short(), "addr", conn.RemoteAddr().String(), "reason", "too many members connected")
		conn.CloseWithError(closeBusy, "too many connections")
		return
	}
	from := PeerInfo{ID: h.id, Name: h.name, Addr: conn.RemoteAddr().String()}
	n.log.Debug("peer connected", "peer", h.id.Short(), "addr", from.Addr, "name", h.name, "version", h.version)
	for {
		s, err := conn.AcceptStream(conn.Context())
		if err != nil {
			n.log.Debug("peer disconnected", "peer", h.id.Short(), "addr", from.Addr, "reason", err)
			return
		}
		n.wg.Add(1)
		go n.serveStream(conn, s, from, h.version)
	}
}

// refuse closes a connection whose hello exchange failed, saying why.
func (n *Node) refuse(conn *quic.Conn, err error) {
	id, _ := connPeerID(conn)
	addr := conn.RemoteAddr().String()
	var pe *protocolError
	switch {
	case errors.As(err, &pe):
		n.drop(conn, id, pe.reason)
	case errors.Is(err, ErrRoomMismatch):
		n.log.Info("refused peer", "peer", id.Short(), "addr", addr, "reason", "room proof failed")
		conn.CloseWithError(closeRoom, "room proof failed")
	case errors.Is(err, errVersion):
		n.log.Info("refused peer", "peer", id.Short(), "addr", addr, "reason", err.Error())
		conn.CloseWithError(closeVersion, "unsupported protocol version")
	case errors.Is(err, errSelf):
		conn.CloseWithError(closeSelf, "connected to itself")
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		n.log.Info("refused peer", "peer", id.Short(), "addr", addr, "reason", "no hello in time")
		conn.CloseWithError(closeTimeout, "hello timeout")
	default:
		n.log.Debug("hello failed", "peer", id.Short(), "addr", addr, "reason", err.Error())
		conn.CloseWithError(closeNormal, "hello failed")
	}
}

// serveStream reads the request that opens a stream and answers it.
// version is the protocol version in use on the connection.
func (n *Node) serveStream(conn *quic.Conn, s *quic.Stream, from PeerInfo, version int) {
	defer n.wg.Done()
	buf := getBuf()
	defer putBuf(buf)
	s.SetReadDeadline(time.Now().Add(requestTimeout))
	rd := wire.NewReader(s, *buf)
	typ, p, err := rd.Next()
	if err == nil {
		switch typ {
		case wire.TypeQuery:
			err = n.serveQuery(s, rd, p)
		case wire.TypeFetch:
			err = n.serveFetch(s, rd, p, from, version, *buf)
		case wire.TypeHave, wire.TypeRead, wire.TypeSearch, wire.TypeNote:
			// A version 2 peer knows nothing of these frames: on its
			// connection they are as unknown as any other type.
			if version < shareVersion {
				err = violation("%v frame opens a stream on a version %d connection", typ, version)
				break
			}
			err = n.serveShare(typ, s, rd, p, from, version, *buf)
		default:
			err = violation("%v frame opens a stream", typ)
		}
	}
	if err == nil {
		return
	}
	err = streamReadError(err)
	var pe *protocolError
	if errors.As(err, &pe) {
		n.drop(conn, from.ID, pe.reason)
		return
	}
	n.log.Debug("stream failed", "peer", from.ID.Short(), "reason", err.Error())
	s.CancelRead(streamCanceled)
	s.CancelWrite(streamCanceled)
}

func (n *Node) serveQuery(s *quic.Stream, rd *wire.Reader, p []byte) error {
	if err := wire.DecodeQuery(p); err != nil {
		return err
	}
	if err := rd.ExpectEOF(); err != nil {
		return err
	}
	st := n.status()
	frame, err := wire.AppendStatus(nil, wire.Status{Lending: st.Lending, Name: st.Name})
	if err != nil {
		return err
	}
	s.SetWriteDeadline(time.Now().Add(requestTimeout))
	if _, err := s.Write(frame); err != nil {
		return err
	}
	return s.Close()
}

// serveFetch runs the handler for one FETCH and closes the stream with END
// or ERROR. buf, free once the request is decoded, holds outgoing frames.
func (n *Node) serveFetch(s *quic.Stream, rd *wire.Reader, p []byte, from PeerInfo, version int, buf []byte) error {
	m, err := wire.DecodeFetch(p)
	if err != nil {
		return err
	}
	if err := rd.ExpectEOF(); err != nil {
		return err
	}
	req := FetchRequest{
		URL:          m.URL,
		Headers:      m.Headers,
		Offset:       int64(m.Offset),
		Length:       int64(m.Length),
		Size:         m.Size,
		ETag:         m.ETag,
		LastModified: m.LastModified,
	}
	return n.serveData(s, buf, from, version, "fetch", req.Length, func(ctx context.Context, w io.Writer) error {
		return n.callHandler(ctx, from, req, w)
	}, "url", req.URL)
}

// serveData answers a FETCH or READ whose request is read: produce writes
// the want requested bytes to w, which sends them as DATA as they come,
// and the stream closes with END, or with ERROR when produce failed or
// wrote another length. On a connection older than version 4, END also
// carries the bytes' SHA-256. logAttrs name the request in the log.
func (n *Node) serveData(s *quic.Stream, buf []byte, from PeerInfo, version int, what string, want int64,
	produce func(ctx context.Context, w io.Writer) error, logAttrs ...any) error {
	s.SetReadDeadline(time.Time{})
	// The send side's context ends when the requester stops reading
	// (STOP_SENDING) or the connection dies: exactly when produce should
	// stop fetching from the origin, or reading from disk.
	ctx, cancel := context.WithCancel(s.Context())
	defer cancel()
	w := &dataWriter{s: s, buf: buf, want: want}
	if version < sumlessVersion {
		w.sum = sha256.New()
	}
	w.wd = startWatchdog(dataGap, func() { s.CancelWrite(streamStalled) })
	defer w.wd.stop()

	herr := produce(ctx, w)
	if ctx.Err() != nil || w.err != nil {
		s.CancelRead(streamCanceled)
		s.CancelWrite(streamCanceled)
		return nil // the requester is gone or stalled: nobody to tell
	}
	var (
		frame []byte
		err   error
	)
	switch {
	case herr != nil:
		frame, err = errorFrame(buf[:0], herr)
		n.log.Debug(what+" failed", append([]any{"peer", from.ID.Short(), "err", herr}, logAttrs...)...)
	case w.over || w.n != w.want:
		frame, err = errorFrame(buf[:0], &RemoteError{Code: Internal,
			Message: fmt.Sprintf("lender produced %d of %d bytes", w.n+w.extra, w.want)})
		n.log.Error("handler wrote the wrong length", append([]any{"request", what, "peer", from.ID.Short(),
			"wrote", w.n + w.extra, "want", w.want}, logAttrs...)...)
	default:
		end := wire.End{Length: uint64(w.n)}
		if w.sum != nil {
			end.Sum = (*[wire.SumLen]byte)(w.sum.Sum(nil))
		}
		frame = wire.AppendEnd(buf[:0], end)
	}
	if err != nil {
		return err
	}
	w.wd.begin()
	if _, err := s.Write(frame); err != nil {
		return err
	}
	return s.Close()
}

// callHandler runs the handler, turning a panic into an Internal error so
// that one bad request cannot take the node down.
func (n *Node) callHandler(ctx context.Context, from PeerInfo, req FetchRequest, w io.Writer) (err error) {
	if n.handler == nil {
		return &RemoteError{Code: NotLending, Message: "this node does not lend"}
	}
	defer n.recoverPanic("fetch handler", from, &err)
	return n.handler.ServeFetch(ctx, from, req, w)
}

// recoverPanic, deferred by a caller of a Handler or Sharer method, turns
// the method's panic into an Internal error in *err, so that one bad
// request cannot take the node down.
func (n *Node) recoverPanic(what string, from PeerInfo, err *error) {
	if r := recover(); r != nil {
		n.log.Error(what+" panicked", "peer", from.ID.Short(), "panic", fmt.Sprint(r))
		*err = &RemoteError{Code: Internal, Message: what + " failed"}
	}
}

// errorFrame encodes err as an ERROR frame: a *RemoteError keeps its
// code, anything else is Internal with the error's text.
func errorFrame(b []byte, err error) ([]byte, error) {
	re := &RemoteError{Code: Internal, Message: err.Error()}
	errors.As(err, &re)
	m := wire.Error{Code: uint8(re.Code), Message: re.Message}
	if m.Code == 0 {
		m.Code = uint8(Internal)
	}
	if re.HTTPStatus >= 100 && re.HTTPStatus <= 999 {
		m.HTTPStatus = uint64(re.HTTPStatus)
	}
	if re.RetryAfter > 0 {
		m.RetryAfterMS = uint64(re.RetryAfter.Milliseconds())
	}
	if !utf8.ValidString(m.Message) {
		m.Message = string([]rune(m.Message)) // replaces invalid bytes with U+FFFD
	}
	return wire.AppendError(b, m)
}

var errOverlong = errors.New("handler wrote more bytes than requested")

// dataWriter is the io.Writer a handler writes the requested bytes to.
// Each Write goes out at once, as DATA frames of at most 64 KiB, so that
// bytes reach the requester as fast as the origin delivers them.
type dataWriter struct {
	s       *quic.Stream
	buf     []byte    // at least wire.MaxHeaderLen + wire.MaxData
	sum     hash.Hash // nil from version 4 on: END carries no SHA-256
	want, n int64
	extra   int64 // bytes refused for going past want
	over    bool
	err     error // the first send error; every later Write returns it
	wd      *watchdog
}

func (w *dataWriter) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if int64(len(p)) > w.want-w.n {
		w.over = true
		w.extra += int64(len(p))
		return 0, errOverlong
	}
	written := 0
	for len(p) > 0 {
		c := p[:min(len(p), wire.MaxData)]
		frame := append(wire.AppendHeader(w.buf[:0], wire.TypeData, len(c)), c...)
		w.wd.begin()
		_, err := w.s.Write(frame)
		w.wd.end()
		if err != nil {
			w.err = fmt.Errorf("send data to peer: %w", err)
			return written, w.err
		}
		if w.sum != nil {
			w.sum.Write(c)
		}
		w.n += int64(len(c))
		written += len(c)
		p = p[len(c):]
	}
	return written, nil
}

// bufPool holds frame buffers: a Reader's, later reused for outgoing DATA.
var bufPool = sync.Pool{New: func() any {
	b := make([]byte, wire.ReaderBufSize)
	return &b
}}

func getBuf() *[]byte  { return bufPool.Get().(*[]byte) }
func putBuf(b *[]byte) { bufPool.Put(b) }

// watchdog cancels a stream that waits on its peer for longer than gap:
// begin and end bracket each wait, and cost one clock read and one atomic
// store, so they can run per frame; one timer per stream does the rest.
type watchdog struct {
	gap     time.Duration
	onStall func()
	since   atomic.Int64 // monoNow when the current wait began; 0 when not waiting

	mu      sync.Mutex
	stopped bool
	fired   bool
	t       *time.Timer
}

var monoEpoch = time.Now()

// monoNow is a monotonic clock reading in nanoseconds, never 0.
func monoNow() int64 { return int64(time.Since(monoEpoch)) + 1 }

func startWatchdog(gap time.Duration, onStall func()) *watchdog {
	w := &watchdog{gap: gap, onStall: onStall}
	w.mu.Lock()
	w.t = time.AfterFunc(gap, w.check)
	w.mu.Unlock()
	return w
}

func (w *watchdog) begin() { w.since.Store(monoNow()) }
func (w *watchdog) end()   { w.since.Store(0) }

func (w *watchdog) check() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return
	}
	next := w.gap
	if since := w.since.Load(); since != 0 {
		waited := time.Duration(monoNow() - since)
		if waited >= w.gap {
			w.fired = true
			w.stopped = true
			w.onStall()
			return
		}
		next = w.gap - waited
	}
	w.t.Reset(next)
}

// stop disarms the watchdog; once it returns, onStall will not run. It
// reports whether onStall ran.
func (w *watchdog) stop() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopped = true
	w.t.Stop()
	return w.fired
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
