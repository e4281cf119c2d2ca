package origin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Identity pins one version of a file. Range and Whole refuse bytes from
// any other version: every validator set here must come back unchanged.
type Identity struct {
	Size int64  // -1 if unknown
	ETag string // strong ETag only, verbatim ("abc" with its quotes)
	// WeakETag is a weak tag verbatim (W/"abc"). It cannot vouch for
	// bytes, but one that changes proves the file changed. Probe sets at
	// most one of ETag and WeakETag.
	WeakETag     string
	LastModified string // verbatim Last-Modified header
}

// Info is what Probe or Open learned about a file.
type Info struct {
	URL         string   // final URL after redirects; use it for every later request
	Name        string   // sanitised file name
	Identity    Identity // Size -1 if unknown
	Ranges      bool     // a real ranged GET came back as an exact 206
	ContentType string
	// Headers are the caller's headers that may be sent to URL: all of
	// them when every redirect stayed on the host they were given for and
	// none went from https to http, else nil (see docs/origin.md). Pass
	// these, not the ones given to Probe or Open, to Range and Whole for
	// URL, and to lenders asked to fetch URL.
	Headers map[string]string
}

// Options configure a Client.
type Options struct {
	SourceIP     net.IP            // local address for outgoing connections; nil = any
	AllowPrivate bool              // lifts the SSRF guard (test beds, LAN mirrors)
	UserAgent    string            // "" = "dragonload"
	Logger       *slog.Logger      // nil = discard
	Transport    http.RoundTripper // tests only; nil = the real guarded transport
	// HeaderTimeout is how long a server may take, once it has the
	// request's connection, to send the response headers before the
	// request fails with ErrNoAnswer. 0 = 30 s.
	HeaderTimeout time.Duration
	// PrivateHint tells the user how to lift the guard, in the refusal's
	// message: "allow it in Settings" in the app. "" = "use
	// --allow-private-origins to allow".
	PrivateHint string
}

// Client talks to origins. It is safe for concurrent use and keeps
// connections alive between requests; make one per process (or per source
// address) and share it.
type Client struct {
	http      *http.Client
	transport *http.Transport // nil when Options.Transport replaced it
	userAgent string
	log       *slog.Logger
	idle      time.Duration // a body that delivers nothing for this long fails
	header    time.Duration // Options.HeaderTimeout
	now       func() time.Time
	bufs      sync.Pool
	guard     *guard // its dialer; see SetAllowPrivate
	hint      string // Options.PrivateHint
}

// New returns a Client with its own guarded transport.
func New(opts Options) *Client {
	return newClient(opts, newGuard(opts.AllowPrivate, opts.SourceIP))
}

// Probe finds out what rawURL serves: final URL, name, size, identity and
// whether byte ranges work. hdr are extra request headers (see
// ValidateHeaders), meant for rawURL's host: no redirect to another host
// or from https to http carries them, and Info.Headers says which of them
// may go to Info.URL. It is Open for one byte, whose body it reads and
// checks: one GET for "bytes=0-0" (and one for "bytes=1-1" when the
// answer is not that byte), never a HEAD.
func (c *Client) Probe(ctx context.Context, rawURL string, hdr map[string]string) (Info, error) {
	info, first, err := c.Open(ctx, rawURL, hdr, 1)
	if err != nil || first == nil {
		return info, err
	}
	// The byte is read rather than dropped: that proves the body holds
	// exactly the byte labelled (a body without Content-Length may hold
	// more), and it leaves the connection reusable.
	err = first.Stream(ctx, func([]byte) error { return nil })
	switch {
	case err == nil:
		return info, nil
	case errors.Is(err, ErrRangeMismatch):
		return c.probeAgain(ctx, info, info.Identity.Size, err)
	}
	return Info{}, err
}

// Range fetches bytes [off, off+n) of the file id pins and passes them to
// sink in slices of at most 64 KiB. A slice is only valid during the call:
// sink must copy what it keeps. Nothing reaches sink unless the response
// headers prove the bytes are the ones asked for; a body that then ends
// early fails with ErrShortBody after sink got what did arrive. hdr are
// meant for url's host (for a probed file: Info.URL and Info.Headers); a
// redirect to another host or from https to http does not carry them.
func (c *Client) Range(ctx context.Context, url string, hdr map[string]string, id Identity, off, n int64, sink func([]byte) error) error {
	if _, err := ValidateURL(url); err != nil {
		return err
	}
	if err := ValidateHeaders(hdr); err != nil {
		return err
	}
	switch {
	case id.Size < 0:
		return fmt.Errorf("fetching a range of %s: the file's size is unknown", url)
	case off < 0 || n <= 0 || off > id.Size-n:
		return fmt.Errorf("fetching bytes %d+%d of %s: outside the file's %d bytes", off, n, url, id.Size)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	want := contentRange{first: off, last: off + n - 1, total: id.Size}
	resp, err := c.do(ctx, http.MethodGet, url, hdr, fmt.Sprintf("bytes=%d-%d", want.first, want.last))
	if err != nil {
		return err
	}
	defer drain(resp)

	switch resp.StatusCode {
	case http.StatusPartialContent:
	case http.StatusOK:
		return fmt.Errorf("%w: %s answered 200 with the whole file to a request for bytes %d-%d", ErrNoRange, url, want.first, want.last)
	default:
		return c.statusError(resp)
	}
	if err := checkIdentity(resp, id, url); err != nil {
		return err
	}
	got, err := parseContentRange(resp.Header.Get("Content-Range"))
	switch {
	case err != nil:
		return fmt.Errorf("%w: %s answered a request for bytes %d-%d with a bad header: %w", ErrRangeMismatch, url, want.first, want.last, err)
	case got.total >= 0 && got.total != id.Size:
		return sizeMismatch(url, got.total, id.Size)
	case got != want:
		return fmt.Errorf("%w: %s answered %q to a request for bytes %d-%d of %d", ErrRangeMismatch, url, got, want.first, want.last, want.total)
	case resp.ContentLength >= 0 && resp.ContentLength != n:
		return fmt.Errorf("%w: %s announced a %d-byte body for bytes %d-%d", ErrRangeMismatch, url, resp.ContentLength, want.first, want.last)
	}
	return c.stream(ctx, cancel, resp, url, n, sink)
}

// Whole fetches the whole file in one GET, for origins without range
// support, and passes it to sink like Range does. The length is checked
// against id.Size when that is known, and every validator id pins against
// the response's.
func (c *Client) Whole(ctx context.Context, url string, hdr map[string]string, id Identity, sink func([]byte) error) error {
	if _, err := ValidateURL(url); err != nil {
		return err
	}
	if err := ValidateHeaders(hdr); err != nil {
		return err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	resp, err := c.do(ctx, http.MethodGet, url, hdr, "")
	if err != nil {
		return err
	}
	defer drain(resp)
	if resp.StatusCode != http.StatusOK {
		return c.statusError(resp)
	}
	if err := checkIdentity(resp, id, url); err != nil {
		return err
	}
	n := id.Size
	if resp.ContentLength >= 0 {
		if n >= 0 && resp.ContentLength != n {
			return sizeMismatch(url, resp.ContentLength, n)
		}
		n = resp.ContentLength
	}
	return c.stream(ctx, cancel, resp, url, n, sink)
}

// CloseIdleConnections closes the connections kept alive for reuse.
func (c *Client) CloseIdleConnections() { c.http.CloseIdleConnections() }

// Transport tuning.
const (
	tlsTimeout    = 10 * time.Second
	headerTimeout = 30 * time.Second // default Options.HeaderTimeout
	idleTimeout   = 30 * time.Second
	maxRedirects  = 10
	sliceSize     = 64 << 10
)

var errBodyIdle = fmt.Errorf("no bytes arrived for %s", idleTimeout)

func newClient(opts Options, g *guard) *Client {
	c := &Client{
		guard:     g,
		hint:      opts.PrivateHint,
		userAgent: opts.UserAgent,
		log:       opts.Logger,
		idle:      idleTimeout,
		header:    opts.HeaderTimeout,
		now:       time.Now,
	}
	if c.header <= 0 {
		c.header = headerTimeout
	}
	if c.userAgent == "" {
		c.userAgent = "dragonload"
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.bufs.New = func() any { b := make([]byte, sliceSize); return &b }

	rt := opts.Transport
	if rt == nil {
		// HTTP/1.1 only (a custom dialer turns HTTP/2 off unless forced):
		// parallel ranges then travel on separate TCP connections, as with
		// aria2, which is what per-connection shaping at origins rewards.
		// The wait for response headers is timed by do, not by
		// ResponseHeaderTimeout, whose error cannot be told apart.
		c.transport = &http.Transport{
			Proxy:                  nil,
			DialContext:            g.DialContext,
			TLSHandshakeTimeout:    tlsTimeout,
			ExpectContinueTimeout:  time.Second,
			DisableCompression:     true,
			MaxIdleConns:           64,
			MaxIdleConnsPerHost:    16,
			IdleConnTimeout:        90 * time.Second,
			MaxResponseHeaderBytes: 64 << 10,
		}
		rt = c.transport
	}
	c.http = &http.Client{Transport: rt, CheckRedirect: checkRedirect}
	return c
}

// checkRedirect re-validates every hop; the dialer checks where it leads.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > maxRedirects {
		return &redirectError{why: fmt.Sprintf("stopped after %d redirects", maxRedirects)}
	}
	if _, err := ValidateURL(req.URL.String()); err != nil {
		return &redirectError{why: "refusing to follow a redirect: " + err.Error()}
	}
	guardRedirectHeaders(req, via)
	return nil
}

// do sends one request (following redirects) and turns transport errors
// into this package's sentences. A server that holds the request for
// c.header without sending response headers fails it with ErrNoAnswer.
// The caller must close the response body.
func (c *Client) do(ctx context.Context, method, rawURL string, hdr map[string]string, rng string) (*http.Response, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	watch := &answerWatch{wait: c.header, cancel: cancel}
	rctx := withHops(httptrace.WithClientTrace(ctx, watch.trace()), hdr, c.userAgent)
	req, err := http.NewRequestWithContext(rctx, method, rawURL, nil)
	if err != nil {
		cancel(nil)
		return nil, &urlError{raw: rawURL, why: err.Error()}
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	// Ranges count bytes of the stored representation: no compression.
	req.Header.Set("Accept-Encoding", "identity")
	if rng != "" {
		req.Header.Set("Range", rng)
	}
	resp, err := c.http.Do(req)
	watch.stop()
	if err == nil {
		// The request's context must live as long as its body.
		resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
		return resp, nil
	}
	cancel(nil)
	target, inner := rawURL, err
	var ue *url.Error
	if errors.As(err, &ue) {
		target, inner = ue.URL, ue.Err
	}
	if errors.Is(context.Cause(ctx), ErrNoAnswer) {
		return nil, fmt.Errorf("requesting %s: %w (waited %s)", target, ErrNoAnswer, c.header)
	}
	var fe *forbiddenError
	if errors.As(inner, &fe) {
		named := *fe
		named.url, named.hint = target, c.hint
		return nil, &named
	}
	var re *redirectError
	if errors.As(inner, &re) {
		return nil, fmt.Errorf("requesting %s: %w", rawURL, re)
	}
	return nil, fmt.Errorf("requesting %s: %w", target, inner)
}

// stream copies the body to sink. n is the exact length expected, or -1
// to read to the end. cancel aborts the request when the body goes idle.
func (c *Client) stream(ctx context.Context, cancel context.CancelCauseFunc, resp *http.Response, url string, n int64, sink func([]byte) error) error {
	bp := c.bufs.Get().(*[]byte)
	defer c.bufs.Put(bp)
	buf := *bp

	watchdog := time.AfterFunc(c.idle, func() { cancel(errBodyIdle) })
	defer watchdog.Stop()

	var got int64
	for n < 0 || got < n {
		want := int64(len(buf))
		if n >= 0 {
			want = min(want, n-got)
		}
		k, err := resp.Body.Read(buf[:want])
		if k > 0 {
			got += int64(k)
			watchdog.Stop() // the sink's own pace is not the origin's fault
			if serr := sink(buf[:k]); serr != nil {
				return &sinkError{err: serr}
			}
			watchdog.Reset(c.idle)
		}
		if err == io.EOF && (n < 0 || got == n) {
			return nil
		}
		if err != nil {
			return c.bodyError(ctx, err, url, got, n)
		}
	}
	// The body must end exactly here. A length-delimited body reports EOF
	// at once (and that read hands the connection back for reuse).
	var extra [1]byte
	k, err := io.ReadFull(resp.Body, extra[:])
	switch {
	case k > 0:
		return fmt.Errorf("%w: %s sent more than the %d bytes expected", ErrRangeMismatch, url, n)
	case err != io.EOF:
		return c.bodyError(ctx, err, url, got, n)
	}
	return nil
}

func (c *Client) bodyError(ctx context.Context, err error, url string, got, n int64) error {
	if cause := context.Cause(ctx); cause == errBodyIdle {
		err = cause
	}
	if n < 0 {
		return fmt.Errorf("%w: %s broke off after %d bytes: %w", ErrShortBody, url, got, err)
	}
	return fmt.Errorf("%w: %s broke off after %d of %d bytes: %w", ErrShortBody, url, got, n, err)
}

// checkProbeRange checks that a probe for "bytes=at-at" got exactly that
// one byte, labelled with the file's size.
func checkProbeRange(resp *http.Response, at int64) (contentRange, error) {
	cr, err := parseContentRange(resp.Header.Get("Content-Range"))
	if err != nil {
		return cr, err
	}
	if cr.first != at || cr.last != at || cr.total < 0 {
		return cr, fmt.Errorf("asked for bytes %d-%d of the file, got %s", at, at, cr)
	}
	if resp.ContentLength >= 0 && resp.ContentLength != 1 {
		return cr, fmt.Errorf("asked for 1 byte, the origin announced %d", resp.ContentLength)
	}
	var b [2]byte
	k, err := io.ReadFull(io.LimitReader(resp.Body, 2), b[:])
	if k != 1 {
		return cr, fmt.Errorf("asked for 1 byte, the origin sent %d (%v)", k, err)
	}
	return cr, nil
}

// checkFirstRange checks that an answer to "bytes=0-(n-1)" is labelled
// as exactly the file's first min(n, size) bytes, with the file's size,
// and returns that label.
func checkFirstRange(resp *http.Response, n int64) (contentRange, error) {
	cr, err := parseContentRange(resp.Header.Get("Content-Range"))
	if err != nil {
		return cr, err
	}
	if cr.total < 1 {
		return cr, fmt.Errorf("asked for bytes 0-%d of the file, got %s, which does not tell the size", n-1, cr)
	}
	m := min(n, cr.total)
	if cr.first != 0 || cr.last != m-1 {
		return cr, fmt.Errorf("asked for bytes 0-%d of the file, got %s", n-1, cr)
	}
	if resp.ContentLength >= 0 && resp.ContentLength != m {
		return cr, fmt.Errorf("asked for bytes 0-%d of the file, got %s with a %d-byte body announced", n-1, cr, resp.ContentLength)
	}
	return cr, nil
}

// checkIdentity compares a response's validators with every one id pins.
// The size is checked by the callers, which know where the response
// states it.
func checkIdentity(resp *http.Response, id Identity, url string) error {
	etag := strings.TrimSpace(resp.Header.Get("ETag"))
	for _, want := range []string{id.ETag, id.WeakETag} {
		if want != "" && etag != want {
			return &MismatchError{URL: url, Field: FieldETag, Got: clip(etag, 100), Want: want}
		}
	}
	if id.LastModified != "" {
		if got := resp.Header.Get("Last-Modified"); got != id.LastModified {
			return &MismatchError{URL: url, Field: FieldLastModified, Got: clip(got, 100), Want: id.LastModified}
		}
	}
	return nil
}

func (c *Client) statusError(resp *http.Response) error {
	e := &StatusError{Code: resp.StatusCode, URL: resp.Request.URL.String()}
	if v := resp.Header.Get("Retry-After"); v != "" {
		e.RetryAfter, e.RetryAt, _ = parseRetryAfter(v, c.now())
	}
	return e
}

// drain reads a little of a body so that a small answer leaves its
// connection reusable, then closes it. Large unread bodies just close, and
// so does one that trickles: the reading stops after drainFor, since a
// body sending a byte a second would otherwise hold the caller for an hour.
func drain(resp *http.Response) {
	stop := time.AfterFunc(drainFor, func() { resp.Body.Close() })
	io.CopyN(io.Discard, resp.Body, drainBytes)
	stop.Stop()
	resp.Body.Close()
}

// drainFor bounds how long drain reads, drainBytes how much.
const (
	drainFor   = 500 * time.Millisecond
	drainBytes = 4 << 10
)

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// probeAgain follows up a probe whose answer was not labelled as exactly
// the bytes asked for, or (for one byte) whose body held more. busybox
// httpd and s3rver answer "bytes=0-0" with the whole file (labelled as
// such) and every other range exactly, so "bytes=1-1", which neither
// starts nor ends at 0, decides. first is the Info from the first answer,
// known the size its label claimed (-1 for none).
func (c *Client) probeAgain(ctx context.Context, first Info, known int64, why error) (Info, error) {
	size := int64(-1)
	if known >= 2 {
		resp, err := c.do(ctx, http.MethodGet, first.URL, first.Headers, "bytes=1-1")
		if err != nil {
			return Info{}, err
		}
		defer drain(resp)
		switch resp.StatusCode {
		case http.StatusPartialContent:
			if cr, err := checkProbeRange(resp, 1); err == nil {
				info := first
				info.URL = resp.Request.URL.String()
				info.Headers = keptHeaders(resp, first.Headers)
				// This answer proved the ranges; it pins the version.
				info.Identity = identityOf(resp)
				info.Identity.Size = cr.total
				info.Ranges = true
				c.log.Info("origin mislabels the probe's range but serves other ranges exactly",
					"url", info.URL, "size", cr.total, "first_answer", why)
				c.logProbed(info)
				return info, nil
			}
		case http.StatusOK:
			// The whole file, as a single stream would get it.
			size = resp.ContentLength
		default:
			return Info{}, c.statusError(resp)
		}
	}
	// A server that cannot label a range correctly is not trusted with
	// ranges, nor with the size in that label; one stream still works.
	c.log.Warn("origin mislabels ranges, falling back to a single stream", "url", first.URL, "err", why)
	first.Identity.Size = size
	first.Ranges = false
	c.logProbed(first)
	return first, nil
}

func (c *Client) logProbed(info Info) {
	id := info.Identity
	c.log.Debug("probed", "url", info.URL, "name", info.Name, "size", id.Size, "ranges", info.Ranges,
		"etag", firstNonEmpty(id.ETag, id.WeakETag), "last_modified", id.LastModified)
}

// identityOf reads a response's validators; the size is left unknown.
func identityOf(resp *http.Response) Identity {
	etag := resp.Header.Get("ETag")
	return Identity{
		Size:         -1,
		ETag:         strongETag(etag),
		WeakETag:     weakETag(etag),
		LastModified: resp.Header.Get("Last-Modified"),
	}
}

func sizeMismatch(url string, got, want int64) error {
	return &MismatchError{URL: url, Field: FieldSize, Got: strconv.FormatInt(got, 10), Want: strconv.FormatInt(want, 10)}
}

// answerWatch fails a request whose server has the request's connection
// but sends no response headers in time. The clock starts when a
// connection is obtained (again for each redirect hop) and stops at the
// first response byte.
type answerWatch struct {
	wait   time.Duration
	cancel context.CancelCauseFunc

	mu    sync.Mutex
	timer *time.Timer
	done  bool
}

func (w *answerWatch) trace() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{GotConn: w.gotConn, GotFirstResponseByte: w.answered}
}

func (w *answerWatch) gotConn(httptrace.GotConnInfo) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.done:
	case w.timer == nil:
		w.timer = time.AfterFunc(w.wait, func() { w.cancel(ErrNoAnswer) })
	default:
		w.timer.Reset(w.wait)
	}
}

func (w *answerWatch) answered() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.timer != nil {
		w.timer.Stop()
	}
}

// stop ends the watch once the round trip returned.
func (w *answerWatch) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.done = true
	if w.timer != nil {
		w.timer.Stop()
	}
}

// cancelOnClose releases a request's context when its body is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelCauseFunc
}

func (b *cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel(nil)
	return err
}
