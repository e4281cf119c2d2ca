package quicwire

import (
	"errors"
	"fmt"
	"time"

	"github.com/quic-go/quic-go"
)

// Code says why a lender refused or failed a fetch. It travels in ERROR
// frames; the values are part of the protocol.
type Code uint8

// The error codes of protocol version 1.
const (
	NotLending      Code = 1 // the node does not lend bandwidth now
	Busy            Code = 2 // at capacity; retry later (RetryAfter may say when)
	Forbidden       Code = 3 // the lender refuses the target (SSRF guard, scheme)
	OriginStatus    Code = 4 // the origin answered with an unusable HTTP status (HTTPStatus)
	IdentityChanged Code = 5 // the origin's file is not the one pinned (size, ETag, Last-Modified)
	OriginFailed    Code = 6 // the origin could not be reached or broke off
	BadRequest      Code = 7 // the request makes no sense to the lender
	Internal        Code = 8 // anything else, including handler errors without a code
)

// The error code added in protocol version 3, for HAVE, READ and SEARCH.
const (
	NotShared Code = 9 // the node holds no such copy, or does not share it
)

var codeNames = [...]string{"", "not lending", "busy", "forbidden", "origin status", "identity changed", "origin failed", "bad request", "internal", "not shared"}

func (c Code) String() string {
	if c != 0 && int(c) < len(codeNames) {
		return codeNames[c]
	}
	return fmt.Sprintf("code(%d)", uint8(c))
}

// RemoteError is a request the peer refused or failed (FETCH, and HAVE,
// READ and SEARCH). A Handler or Sharer returns one to choose the code the
// requester sees.
type RemoteError struct {
	Code       Code
	Message    string
	HTTPStatus int           // the origin's status, for OriginStatus
	RetryAfter time.Duration // a hint for Busy and OriginStatus; 0 when none
}

func (e *RemoteError) Error() string {
	s := "peer refused fetch: " + e.Code.String()
	if e.HTTPStatus != 0 {
		s += fmt.Sprintf(" (HTTP %d)", e.HTTPStatus)
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

var (
	// ErrRoomMismatch means the other node is not in this node's room, or
	// could not prove it.
	ErrRoomMismatch = errors.New("peer is not in this room")
	// ErrTrailerMismatch means the bytes received are not as many as the
	// lender says it sent, or not as many as asked for.
	ErrTrailerMismatch = errors.New("fetched bytes do not match the lender's trailer")
	// ErrUnsupported means the peer speaks a protocol version without the
	// request asked for: HAVE, READ, SEARCH and NOTE need version 3.
	// Nothing was sent.
	ErrUnsupported = errors.New("peer does not support this request")
	// errSelf is the answer to dialing this node's own address.
	errSelf = errors.New("peer is this node itself")
)

// Application error codes that close a connection (CONNECTION_CLOSE).
const (
	closeNormal   quic.ApplicationErrorCode = 0x0
	closeRoom     quic.ApplicationErrorCode = 0x1 // room proof failed
	closeProtocol quic.ApplicationErrorCode = 0x2 // the peer broke the protocol
	closeVersion  quic.ApplicationErrorCode = 0x3 // no common protocol version
	closeSelf     quic.ApplicationErrorCode = 0x4 // a node connected to itself
	closeTimeout  quic.ApplicationErrorCode = 0x5 // the hello exchange took too long
	closeBusy     quic.ApplicationErrorCode = 0x6 // the server has too many connections
)

// Stream error codes, for RESET_STREAM and STOP_SENDING.
const (
	streamCanceled quic.StreamErrorCode = 0x1 // the requester gave up
	streamProtocol quic.StreamErrorCode = 0x2 // the peer broke the protocol on this stream
	streamStalled  quic.StreamErrorCode = 0x3 // no progress for the data-gap timeout
)

// protocolError is a violation by the peer: it closes the connection.
type protocolError struct{ reason string }

func (e *protocolError) Error() string { return "peer broke the protocol: " + e.reason }

func violation(format string, args ...any) error {
	return &protocolError{reason: fmt.Sprintf(format, args...)}
}

// closedByPeer returns the application error code the peer closed the
// connection with, if it did.
func closedByPeer(err error) (quic.ApplicationErrorCode, bool) {
	var ae *quic.ApplicationError
	if errors.As(err, &ae) && ae.Remote {
		return ae.ErrorCode, true
	}
	return 0, false
}
