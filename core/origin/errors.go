package origin

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// The classes of failure a caller tells apart with errors.Is.
var (
	// ErrIdentityChanged means the origin now serves a different version of
	// the file (other size, ETag or Last-Modified) than the one pinned.
	ErrIdentityChanged = errors.New("the file changed on the origin")
	// ErrRangeMismatch means a 206 response did not describe exactly the
	// bytes asked for.
	ErrRangeMismatch = errors.New("the origin answered a different range than the one asked for")
	// ErrShortBody means a response body ended (or broke) before all the
	// bytes it announced had arrived.
	ErrShortBody = errors.New("the origin's response ended early")
	// ErrNoRange means the origin answered a range request with the whole
	// file; the download has to go on as a single stream.
	ErrNoRange = errors.New("the origin ignored the range request")
	// ErrForbiddenAddress means the target resolved to an address the SSRF
	// guard refuses.
	ErrForbiddenAddress = errors.New("the address is not allowed")
	// ErrNoAnswer means a server took the request but sent no response
	// headers within Options.HeaderTimeout. It is retryable: such servers
	// are usually overloaded, or one of several behind a balancer is stuck.
	ErrNoAnswer = errors.New("the server accepted the connection but never answered")
)

// The validators a MismatchError can name in its Field.
const (
	FieldETag         = "ETag"
	FieldLastModified = "Last-Modified"
	FieldSize         = "size"
)

// MismatchError says which validator of a response differed from the one
// pinned in the Identity. It matches ErrIdentityChanged with errors.Is, so
// callers that only need the class keep working; errors.As gives the
// details for logs and for deciding whether an origin labels one version
// inconsistently.
type MismatchError struct {
	URL   string
	Field string // FieldETag, FieldLastModified or FieldSize
	Got   string // what the response said; "" when it said nothing
	Want  string // the pinned value
}

func (e *MismatchError) Error() string {
	switch {
	case e.Field == FieldSize:
		return fmt.Sprintf("%s answered with a size of %s bytes instead of %s", e.URL, e.Got, e.Want)
	case e.Got == "":
		return fmt.Sprintf("%s answered with no %s instead of %s", e.URL, e.Field, e.Want)
	}
	return fmt.Sprintf("%s answered with %s %s instead of %s", e.URL, e.Field, e.Got, e.Want)
}

// Is makes errors.Is(err, ErrIdentityChanged) true for a mismatch.
func (e *MismatchError) Is(target error) bool { return target == ErrIdentityChanged }

// maxRetryAfter caps what an origin can make a caller wait.
const maxRetryAfter = 10 * time.Minute

// maxRetryAt bounds StatusError.RetryAt, so that an absurd Retry-After
// neither overflows nor produces a time that does not format.
var maxRetryAt = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)

// StatusError is an HTTP status the client did not expect.
type StatusError struct {
	Code       int
	RetryAfter time.Duration // from a Retry-After header, capped at 10 minutes; 0 if none
	// RetryAt is the moment the Retry-After header named, not capped (at
	// most the end of year 9999; the time of the answer for a past date),
	// so that a caller can tell "wait ten minutes" from "come back next
	// year". Zero if there was no valid Retry-After.
	RetryAt time.Time
	URL     string
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("%s answered %d %s", e.URL, e.Code, http.StatusText(e.Code))
	switch {
	case e.RetryAfter >= maxRetryAfter && !e.RetryAt.IsZero():
		msg += " and asked to retry at " + e.RetryAt.UTC().Format(time.RFC3339)
	case e.RetryAfter > 0:
		msg += fmt.Sprintf(" and asked to retry after %s", e.RetryAfter)
	}
	return msg
}

// Retryable reports whether trying the same request again, later or from
// another peer, can succeed: network failures, bodies that broke off, 408,
// 429 and 5xx. It is false for answers that will not change on their own
// (other 4xx, a changed file, a refused address, a bad URL or header, a
// server without range support) and for errors that did not come from this
// package's network operations, such as a sink's own error.
func Retryable(err error) bool {
	var sink *sinkError
	if err == nil || errors.As(err, &sink) {
		return false
	}
	var se *StatusError
	if errors.As(err, &se) {
		return se.Code == http.StatusRequestTimeout || se.Code == http.StatusTooManyRequests || se.Code >= 500
	}
	var (
		fe   *forbiddenError
		ue   *urlError
		he   *headerError
		re   *redirectError
		hn   x509.HostnameError
		ua   x509.UnknownAuthorityError
		ci   x509.CertificateInvalidError
		cve  *tls.CertificateVerificationError
		dnse *net.DNSError
	)
	switch {
	case errors.As(err, &fe), errors.As(err, &ue), errors.As(err, &he), errors.As(err, &re):
		return false
	case errors.Is(err, ErrIdentityChanged), errors.Is(err, ErrRangeMismatch), errors.Is(err, ErrNoRange), errors.Is(err, ErrForbiddenAddress):
		return false
	case errors.Is(err, context.Canceled):
		return false
	case errors.As(err, &hn), errors.As(err, &ua), errors.As(err, &ci), errors.As(err, &cve):
		return false
	case errors.As(err, &dnse):
		return !dnse.IsNotFound
	case errors.Is(err, ErrNoAnswer), errors.Is(err, ErrShortBody), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF), errors.Is(err, context.DeadlineExceeded):
		return true
	}
	var ne net.Error
	return errors.As(err, &ne)
}

// RetryAfter returns how long the origin asked the caller to wait (a 429 or
// 503 with Retry-After), capped at 10 minutes; 0 when it did not ask.
func RetryAfter(err error) time.Duration {
	var se *StatusError
	if errors.As(err, &se) {
		return se.RetryAfter
	}
	return 0
}

// RetryAt returns the moment the origin asked the caller to come back, not
// capped (see StatusError.RetryAt); zero when it did not ask.
func RetryAt(err error) time.Time {
	var se *StatusError
	if errors.As(err, &se) {
		return se.RetryAt
	}
	return time.Time{}
}

// forbiddenError is a refusal by the SSRF guard. url is empty when the
// refusal happened below the HTTP layer, which does not know it.
type forbiddenError struct {
	url    string
	ip     net.IP
	reason string
	always bool   // AllowPrivate does not lift it
	hint   string // how to lift it; "" = the command-line flag
}

func (e *forbiddenError) Error() string {
	target := "connect to " + e.ip.String()
	if e.url != "" {
		target = "fetch " + e.url
	}
	var what string
	switch e.reason {
	case reasonOwn:
		what = "is an address of this computer"
	case reasonOnLink:
		what = "is on a network this computer is attached to"
	case reasonNoList:
		what = "cannot be checked because this computer's own addresses could not be listed"
	default:
		what = "is " + withArticle(e.reason) + " address"
	}
	msg := fmt.Sprintf("refusing to %s: %s %s", target, e.ip, what)
	switch {
	case e.always:
	case e.hint != "":
		msg += " (" + e.hint + ")"
	default:
		msg += " (use --allow-private-origins to allow)"
	}
	return msg
}

func (e *forbiddenError) Unwrap() error { return ErrForbiddenAddress }

// urlError is a URL that fails ValidateURL.
type urlError struct {
	raw string
	why string
}

func (e *urlError) Error() string { return fmt.Sprintf("invalid URL %q: %s", clip(e.raw, 200), e.why) }

// headerError is a request header that fails ValidateHeaders.
type headerError struct {
	name string
	why  string
}

func (e *headerError) Error() string {
	if e.name == "" {
		return "invalid request headers: " + e.why
	}
	return fmt.Sprintf("invalid request header %q: %s", clip(e.name, 64), e.why)
}

// redirectError is a redirect the client will not follow.
type redirectError struct{ why string }

func (e *redirectError) Error() string { return e.why }

// sinkError carries the error a caller's sink returned, so that Retryable
// never blames the network for it.
type sinkError struct{ err error }

func (e *sinkError) Error() string { return e.err.Error() }
func (e *sinkError) Unwrap() error { return e.err }

func withArticle(s string) string {
	if s != "" && (s[0] == 'a' || s[0] == 'e' || s[0] == 'i' || s[0] == 'o' || s[0] == 'u') {
		return "an " + s
	}
	return "a " + s
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
