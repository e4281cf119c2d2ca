package transfer

import (
	"errors"
	"fmt"
	"time"
)

// Kind says what a failed fetch means for the transfer.
type Kind int

// The kinds of failure a Source reports by wrapping its error in a *Failure.
// An error that is not a *Failure counts as Transient.
const (
	// Transient: the bytes may well come on the next try. The failure
	// counts against the bytes, and the source backs off (for RetryAfter,
	// when the server said how long).
	Transient Kind = iota
	// Refused: this source cannot take part in this download (a peer that
	// stopped lending, or whose guard refuses the origin). It leaves the
	// transfer; its ranges go back to the pool uncharged.
	Refused
	// Fatal: the origin refuses the file itself (404, say). From this
	// node's own client the transfer fails with it; from a peer, whose
	// view of the origin may differ, the peer leaves and the bytes are
	// charged.
	Fatal
	// Changed: a validator of the response differs from the pin (Field
	// says which, when known). The transfer asks the origin again to tell
	// an inconsistent server from a changed file.
	Changed
	// Expired: the URL the probe was redirected to stopped working (401,
	// 403, 410 from a signed CDN link). The transfer asks the origin again
	// for a fresh link and goes on.
	Expired
	// Gone: the source went away (its connection closed). It leaves the
	// transfer with its ranges uncharged, and may be added again.
	Gone
)

var kindNames = [...]string{"transient", "refused", "fatal", "changed", "expired", "gone"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Failure is an error a Source returns to say what kind of failure it met.
type Failure struct {
	Kind Kind
	// RetryAt is when the server asked to be asked again (Retry-After);
	// zero when it did not say. It may be far in the future: the transfer
	// decides whether to wait.
	RetryAt time.Time
	// Field names the validator that differed, for Changed ("" when the
	// source could not say).
	Field string
	Err   error
}

func (f *Failure) Error() string { return f.Err.Error() }
func (f *Failure) Unwrap() error { return f.Err }

// Fail wraps err as a failure of kind k.
func Fail(k Kind, err error) *Failure { return &Failure{Kind: k, Err: err} }

// classify returns err's failure, Transient for a plain error.
func classify(err error) *Failure {
	var f *Failure
	if errors.As(err, &f) {
		return f
	}
	return &Failure{Kind: Transient, Err: err}
}

// ChangedError ends a transfer whose file changed on the server. The caller
// discards the partial file and may start over with a fresh probe.
type ChangedError struct {
	Why string // one sentence: what differs
}

func (e *ChangedError) Error() string {
	return "the file changed on the server during the download: " + e.Why
}

// StuckError ends a transfer that made no durable progress for too long.
type StuckError struct {
	For   time.Duration // how long nothing became durable
	Cause error         // the last failure met, or nil
}

func (e *StuckError) Error() string {
	if e.Cause == nil {
		return fmt.Sprintf("nothing was downloaded for %s", e.For)
	}
	return fmt.Sprintf("nothing was downloaded for %s; the last problem: %v", e.For, e.Cause)
}

func (e *StuckError) Unwrap() error { return e.Cause }

// WaitError ends a transfer whose server asked to be retried later than
// the transfer is willing to wait.
type WaitError struct {
	Until time.Time
	Max   time.Duration
}

func (e *WaitError) Error() string {
	return fmt.Sprintf("the server asked to wait until %s; not waiting more than %s",
		e.Until.UTC().Format("2006-01-02 15:04 MST"), e.Max)
}

// WriteError wraps a local write failure (a full disk, a folder gone):
// fatal for the transfer, never retried on another source. Sources and the
// transfer's own writes return it.
type WriteError struct{ Err error }

func (e *WriteError) Error() string { return e.Err.Error() }
func (e *WriteError) Unwrap() error { return e.Err }

// errNoAnswer is the cause recorded for a request that stayed silent from
// the start: the connection was made but nothing came back.
var errNoAnswer = errors.New("the source accepted the request but never answered")
