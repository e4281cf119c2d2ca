package testorigin

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// Config describes the file a Server serves and how it serves it.
type Config struct {
	Size          int64 // bytes; negative counts as 0
	Seed          int64 // selects the content (see the package doc)
	RatePerSource int64 // bytes/s per client IP, all its connections together; 0 = unlimited
	// SharedRate makes RatePerSource one budget for every client
	// together, as if all of them sat behind one uplink of that rate.
	SharedRate   bool
	Latency      time.Duration // wait before each response's headers (stands in for WAN latency)
	ETag         string        // "" = derived from Seed and Size
	NoETag       bool          // send no ETag at all
	LastModified time.Time     // zero = send no Last-Modified
	Name         string        // served under /<Name>; "" = "file.bin"
	Quirks       Quirks
	Logger       *slog.Logger // nil = discard
}

// Quirks make the server misbehave like real origins do. The zero value
// is a well-behaved server.
type Quirks struct {
	NoRange           bool          // ignore Range: always 200 with the whole body, no Accept-Ranges
	HeadNotAllowed    bool          // HEAD → 405
	WrongContentRange bool          // 206 whose Content-Range is off by one byte (the body is right)
	CutAfter          int64         // close each response's connection after this many body bytes (0 = off)
	ResetAfter        int64         // reset (RST) each response's connection after this many body bytes (0 = off)
	ChangeETagAfter   int64         // once this many bytes were served in total, serve a second version (0 = off)
	Redirects         int           // /<Name> redirects through this many hops before the file
	Status            int           // answer every file request with this status (0 = off)
	UnavailableFirst  int           // answer the next N file requests with 503 and Retry-After
	SignedURLBytes    int64         // /<Name> redirects to a signed URL /s/<n>/<Name> that answers 403 once this many bytes were served after it was issued, like an expiring CDN link (0 = off)
	RetryAfter        time.Duration // Retry-After for those 503s, rounded up to seconds; 0 = 1 s

	// RetryAfterValue, when set, is sent verbatim as the Retry-After of
	// every 503 (UnavailableFirst or Status 503) instead of RetryAfter, to
	// ask for absurd waits: "1000000000", "Fri, 01 Jan 2100 00:00:00 GMT".
	RetryAfterValue string

	// The quirks below pick responses by counting, so that a test knows in
	// advance which response misbehaves however requests interleave. Body
	// responses are GETs answered 200 or 206 with at least one byte;
	// labelled responses are all answers that carry the file's validators
	// (GET and HEAD, 200, 206 and 416). Both counts start at 1 and restart
	// at New and at every SetQuirks.

	// TrickleEvery makes the Nth, 2Nth, ... body response send
	// TrickleAfter bytes, then one byte per second until the body is done,
	// the client leaves or the server closes: a transfer that never quite
	// stops, which an idle timeout alone does not catch. 0 = off.
	TrickleEvery int
	TrickleAfter int64 // bytes a trickling response sends at full speed first; 0 = 4096
	// StallEvery makes the Nth, 2Nth, ... body response send its headers
	// and 4 KiB, then nothing until the client leaves or the server closes.
	// It wins where TrickleEvery picks the same response. 0 = off.
	StallEvery int
	// NoAnswer makes the server read every file request and never send a
	// status line, until the client leaves or the server closes: a server
	// that accepted the connection and hangs.
	NoAnswer bool
	// WeakETag sends the ETag as a weak tag, W/"...", which changes with
	// ChangeETagAfter like the strong one.
	WeakETag bool
	// AlternateETags labels odd-numbered labelled responses with the ETag
	// and even-numbered ones with a second, different strong ETag, for
	// identical bytes, like a balancer in front of servers that compute
	// ETags differently.
	AlternateETags bool
	// DropETagEvery leaves the ETag out of the Nth, 2Nth, ... labelled
	// response (identical bytes). 0 = off.
	DropETagEvery int
	// WholeForZeroZero answers exactly "Range: bytes=0-0" with the whole
	// file under 206 and "Content-Range: bytes 0-(N-1)/N", as busybox
	// httpd and s3rver do, and every other range exactly.
	WholeForZeroZero bool
}

// stallAfter is what a StallEvery response sends before it stalls.
const stallAfter = 4 << 10

// defaultTrickleAfter is TrickleAfter's default.
const defaultTrickleAfter = 4 << 10

// Server is a running (or startable) test origin.
type Server struct {
	cfg    Config
	log    *slog.Logger
	etag   string        // version 0's ETag; "" with NoETag
	slice  int           // bytes per write, also the rate limiter's burst
	shared *rate.Limiter // every client's limiter with SharedRate

	mu          sync.Mutex
	quirks      Quirks
	unavailLeft int
	sources     map[string]*source
	signed      []int64 // per signed URL issued: total bytes served when it was issued
	bodies      int     // body responses counted since New or SetQuirks
	labels      int     // labelled responses counted since New or SetQuirks

	total    atomic.Int64
	requests atomic.Int64

	ln   net.Listener
	srv  *http.Server
	done chan struct{}

	quit      chan struct{} // closed by Close: every pause ends
	closeOnce sync.Once
	// wait is where trickling, stalled and unanswered requests pause:
	// pause, or a test's stand-in that controls the clock.
	wait func(ctx context.Context, d time.Duration) bool
}

// source is one client IP address: its rate limiter and its byte count.
type source struct {
	lim   *rate.Limiter // nil when unlimited
	bytes atomic.Int64
}

// New returns a Server for cfg; Start makes it listen.
func New(cfg Config) *Server {
	if cfg.Name == "" {
		cfg.Name = "file.bin"
	}
	cfg.Size = max(cfg.Size, 0)
	s := &Server{
		cfg:         cfg,
		log:         cfg.Logger,
		quirks:      cfg.Quirks,
		unavailLeft: cfg.Quirks.UnavailableFirst,
		sources:     make(map[string]*source),
		slice:       32 << 10,
		quit:        make(chan struct{}),
	}
	s.wait = s.pause
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if !cfg.NoETag {
		s.etag = cfg.ETag
		if s.etag == "" {
			var b [16]byte
			binary.LittleEndian.PutUint64(b[:8], uint64(cfg.Seed))
			binary.LittleEndian.PutUint64(b[8:], uint64(cfg.Size))
			sum := sha256.Sum256(b[:])
			s.etag = fmt.Sprintf(`"%x"`, sum[:8])
		}
	}
	if r := cfg.RatePerSource; r > 0 {
		// Small writes at low rates keep the shaping smooth.
		s.slice = int(min(max(r/20, 1), int64(s.slice)))
	}
	return s
}

// Start listens on addr (for example "127.0.0.1:0") and serves in the
// background until Close.
func (s *Server) Start(addr string) error {
	if s.ln != nil {
		return errors.New("test origin already started")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("starting the test origin: %w", err)
	}
	s.ln = ln
	s.srv = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, connKey{}, c)
		},
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	s.done = make(chan struct{})
	go func() {
		defer close(s.done)
		s.srv.Serve(ln)
	}()
	s.log.Info("test origin listening", "url", s.URL(), "size", s.cfg.Size, "rate", s.cfg.RatePerSource)
	return nil
}

// URL is the full URL of the file. Only valid after Start.
func (s *Server) URL() string {
	return "http://" + s.ln.Addr().String() + "/" + url.PathEscape(s.cfg.Name)
}

// BytesServed is the number of file bytes written to all clients.
func (s *Server) BytesServed() int64 { return s.total.Load() }

// BytesBySource is the number of file bytes written per client IP.
func (s *Server) BytesBySource() map[string]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := make(map[string]int64, len(s.sources))
	for ip, src := range s.sources {
		if n := src.bytes.Load(); n > 0 {
			m[ip] = n
		}
	}
	return m
}

// Requests is the number of requests for the file (redirect hops included,
// /stats excluded).
func (s *Server) Requests() int { return int(s.requests.Load()) }

// SetQuirks changes how the server misbehaves from the next request on.
// UnavailableFirst and the counted quirks count from this call.
func (s *Server) SetQuirks(q Quirks) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.quirks = q
	s.unavailLeft = q.UnavailableFirst
	s.bodies, s.labels = 0, 0
}

// Close stops the server and drops every connection at once, trickling,
// stalled and unanswered ones included; their handlers end soon after.
func (s *Server) Close() error {
	s.closeOnce.Do(func() { close(s.quit) })
	if s.srv == nil {
		return nil
	}
	err := s.srv.Close()
	<-s.done
	return err
}

// ServeHTTP serves the file, its redirect hops and /stats.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/stats" {
		s.serveStats(w)
		return
	}
	if n, ok := s.signedPath(r.URL.Path); ok {
		if !s.signatureValid(n) {
			s.requests.Add(1)
			http.Error(w, "the signature of this URL has expired", http.StatusForbidden)
			return
		}
		s.serveFile(w, r, maxHops+1)
		return
	}
	hop, ok := s.hop(r.URL.Path)
	if !ok {
		http.NotFound(w, r)
		return
	}
	s.serveFile(w, r, hop)
}

// signedPath parses /s/<n>/<Name>.
func (s *Server) signedPath(p string) (int, bool) {
	rest, ok := strings.CutPrefix(p, "/s/")
	if !ok {
		return 0, false
	}
	ns, name, ok := strings.Cut(rest, "/")
	if !ok || name != s.cfg.Name {
		return 0, false
	}
	n, err := strconv.Atoi(ns)
	return n, err == nil && n >= 0
}

// sign issues a new signed URL and returns its number.
func (s *Server) sign() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.signed = append(s.signed, s.total.Load())
	return len(s.signed) - 1
}

func (s *Server) signatureValid(n int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return n < len(s.signed) && s.total.Load()-s.signed[n] < s.quirks.SignedURLBytes
}

type connKey struct{}

// maxHops bounds the redirect chain a client can walk.
const maxHops = 1000

// hop maps a request path to its place in the redirect chain: 0 for
// /<Name>, k for /r/<k>/<Name>.
func (s *Server) hop(p string) (int, bool) {
	if p == "/"+s.cfg.Name {
		return 0, true
	}
	rest, ok := strings.CutPrefix(p, "/r/")
	if !ok {
		return 0, false
	}
	ks, name, ok := strings.Cut(rest, "/")
	if !ok || name != s.cfg.Name {
		return 0, false
	}
	k, err := strconv.Atoi(ks)
	if err != nil || k < 1 || k > maxHops {
		return 0, false
	}
	return k, true
}

func (s *Server) serveStats(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(struct {
		BytesTotal int64            `json:"bytes_total"`
		BySource   map[string]int64 `json:"by_source"`
		Requests   int              `json:"requests"`
	}{s.BytesServed(), s.BytesBySource(), s.Requests()})
}

func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, hop int) {
	s.requests.Add(1)
	q, unavailable := s.begin()
	s.log.Debug("request", "method", r.Method, "path", r.URL.Path, "range", r.Header.Get("Range"), "from", r.RemoteAddr)

	if q.NoAnswer {
		s.log.Debug("not answering", "from", r.RemoteAddr)
		s.wait(r.Context(), -1)
		// Aborting sends nothing at all, where returning would send 200.
		panic(http.ErrAbortHandler)
	}
	if d := s.cfg.Latency; d > 0 && !s.pause(r.Context(), d) {
		return
	}
	switch {
	case q.Status != 0:
		if q.Status == http.StatusServiceUnavailable && q.RetryAfterValue != "" {
			w.Header().Set("Retry-After", q.RetryAfterValue)
		}
		http.Error(w, http.StatusText(q.Status), q.Status)
		return
	case unavailable:
		v := q.RetryAfterValue
		if v == "" {
			v = strconv.FormatInt(max(int64(math.Ceil(q.RetryAfter.Seconds())), 1), 10)
		}
		w.Header().Set("Retry-After", v)
		http.Error(w, "try again later", http.StatusServiceUnavailable)
		return
	case hop < q.Redirects:
		http.Redirect(w, r, fmt.Sprintf("/r/%d/%s", hop+1, url.PathEscape(s.cfg.Name)), http.StatusFound)
		return
	case q.SignedURLBytes > 0 && hop <= maxHops:
		http.Redirect(w, r, fmt.Sprintf("/s/%d/%s", s.sign(), url.PathEscape(s.cfg.Name)), http.StatusFound)
		return
	case r.Method != http.MethodGet && r.Method != http.MethodHead,
		r.Method == http.MethodHead && q.HeadNotAllowed:
		w.Header().Set("Allow", "GET")
		if !q.HeadNotAllowed {
			w.Header().Set("Allow", "GET, HEAD")
		}
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}

	version := int64(0)
	if q.ChangeETagAfter > 0 && s.total.Load() >= q.ChangeETagAfter {
		version = 1
	}
	size := s.cfg.Size
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	if etag := s.etagHeader(version, s.count(&s.labels), q); etag != "" {
		h.Set("ETag", etag)
	}
	if !s.cfg.LastModified.IsZero() {
		lm := s.cfg.LastModified.Add(time.Duration(version) * time.Hour)
		h.Set("Last-Modified", lm.UTC().Format(http.TimeFormat))
	}

	off, n, status := int64(0), size, http.StatusOK
	if !q.NoRange {
		h.Set("Accept-Ranges", "bytes")
		if rh := r.Header.Get("Range"); rh != "" {
			start, length, res := parseRange(rh, size)
			if res == rangeOK && q.WholeForZeroZero && isZeroZero(rh) {
				// The whole file, honestly labelled as such.
				start, length = 0, size
			}
			switch res {
			case rangeOK:
				off, n, status = start, length, http.StatusPartialContent
				h.Set("Content-Range", contentRange(off, n, size, q.WrongContentRange))
			case rangeUnsatisfiable:
				h.Set("Content-Range", fmt.Sprintf("bytes */%d", size))
				http.Error(w, "range not satisfiable", http.StatusRequestedRangeNotSatisfiable)
				return
			}
		}
	}
	h.Set("Content-Length", strconv.FormatInt(n, 10))
	var p pace
	if r.Method == http.MethodGet && n > 0 {
		p = paceFor(s.count(&s.bodies), q)
	}
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	s.writeBody(w, r, s.cfg.Seed+version, off, n, q, p)
}

// pace slows a body down: after its first after bytes it sends one byte
// per every, or nothing more (every < 0). The zero pace is full speed.
type pace struct {
	on    bool
	after int64
	every time.Duration
}

// paceFor picks the pace of the body response numbered k.
func paceFor(k int, q Quirks) pace {
	switch {
	case q.StallEvery > 0 && k%q.StallEvery == 0:
		return pace{on: true, after: stallAfter, every: -1}
	case q.TrickleEvery > 0 && k%q.TrickleEvery == 0:
		after := q.TrickleAfter
		if after <= 0 {
			after = defaultTrickleAfter
		}
		return pace{on: true, after: after, every: time.Second}
	}
	return pace{}
}

// count advances one of the response counters and returns its new value.
func (s *Server) count(c *int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	*c++
	return *c
}

// pause waits d (forever if d < 0) and reports true, or false as soon as
// the request ends or the server closes.
func (s *Server) pause(ctx context.Context, d time.Duration) bool {
	var timeout <-chan time.Time
	if d >= 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-timeout:
		return true
	case <-ctx.Done():
		return false
	case <-s.quit:
		return false
	}
}

// isZeroZero reports whether a Range header asks for exactly "bytes=0-0".
func isZeroZero(h string) bool {
	return strings.EqualFold(strings.ReplaceAll(h, " ", ""), "bytes=0-0")
}

// begin takes a consistent view of the quirks for one request.
func (s *Server) begin() (q Quirks, unavailable bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.unavailLeft > 0 {
		s.unavailLeft--
		unavailable = true
	}
	return s.quirks, unavailable
}

// etagHeader is the ETag of a version, as the labelled response numbered
// label carries it under q; "" for none.
func (s *Server) etagHeader(version int64, label int, q Quirks) string {
	switch {
	case s.etag == "", q.DropETagEvery > 0 && label%q.DropETagEvery == 0:
		return ""
	}
	etag := s.etag
	if version > 0 {
		etag = withSuffix(etag, fmt.Sprintf("-v%d", version+1))
	}
	if q.AlternateETags && label%2 == 0 {
		etag = withSuffix(etag, "-alt")
	}
	if q.WeakETag && !strings.HasPrefix(etag, "W/") {
		etag = "W/" + etag
	}
	return etag
}

// withSuffix appends suffix to an entity tag's opaque part.
func withSuffix(etag, suffix string) string {
	if base, ok := strings.CutSuffix(etag, `"`); ok && len(base) > 0 {
		return base + suffix + `"`
	}
	return etag + suffix
}

// contentRange formats the Content-Range of a 206, or a wrong one: shifted
// by a byte where the file leaves room, else claiming one byte too many.
func contentRange(off, n, size int64, wrong bool) string {
	first, last, total := off, off+n-1, size
	if wrong {
		switch {
		case last+1 < size:
			first, last = first+1, last+1
		case first > 0:
			first, last = first-1, last-1
		default:
			total++
		}
	}
	return fmt.Sprintf("bytes %d-%d/%d", first, last, total)
}

// writeBody writes n bytes of the content from off, paced by the client's
// rate limiter and by p, and carries out CutAfter and ResetAfter.
func (s *Server) writeBody(w http.ResponseWriter, r *http.Request, seed, off, n int64, q Quirks, p pace) {
	limit, abort := n, ""
	if q.CutAfter > 0 && q.CutAfter < limit {
		limit, abort = q.CutAfter, "cut"
	}
	if q.ResetAfter > 0 && q.ResetAfter < limit {
		limit, abort = q.ResetAfter, "reset"
	}
	ctx := r.Context()
	rc := http.NewResponseController(w)
	src := s.source(r.RemoteAddr)
	st := newStream(seed, off)
	buf := make([]byte, s.slice)
	for sent := int64(0); sent < limit; {
		k := int(min(int64(len(buf)), limit-sent))
		if p.on {
			switch {
			case sent < p.after:
				k = int(min(int64(k), p.after-sent))
			case p.every < 0:
				s.log.Debug("stalling", "after", sent, "from", r.RemoteAddr)
				s.wait(ctx, -1)
				return
			default:
				if !s.wait(ctx, p.every) {
					return
				}
				k = 1
			}
		}
		st.read(buf[:k])
		if src.lim != nil {
			if err := src.lim.WaitN(ctx, k); err != nil {
				return
			}
		}
		// Counted before the write, so that once a client has read a
		// byte the counters include it; a failed write is corrected to
		// what it wrote.
		src.bytes.Add(int64(k))
		s.total.Add(int64(k))
		m, err := w.Write(buf[:k])
		if err != nil {
			src.bytes.Add(int64(m - k))
			s.total.Add(int64(m - k))
			return
		}
		sent += int64(m)
		if p.on && sent >= p.after {
			// A paced client must see what was sent before the pause.
			rc.Flush()
		}
	}
	if abort == "" {
		return
	}
	rc.Flush()
	conn, _ := ctx.Value(connKey{}).(net.Conn)
	if conn == nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok && abort == "reset" {
		// Linger 0 makes close send RST instead of FIN.
		tc.SetLinger(0)
	}
	s.log.Debug("aborting response", "how", abort, "after", limit, "from", r.RemoteAddr)
	conn.Close()
}

// source returns the per-IP state for a client address.
func (s *Server) source(remote string) *source {
	ip, _, err := net.SplitHostPort(remote)
	if err != nil {
		ip = remote
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	src, ok := s.sources[ip]
	if !ok {
		src = &source{}
		switch {
		case s.cfg.RatePerSource > 0 && s.cfg.SharedRate:
			if s.shared == nil {
				s.shared = rate.NewLimiter(rate.Limit(s.cfg.RatePerSource), s.slice)
			}
			src.lim = s.shared
		case s.cfg.RatePerSource > 0:
			src.lim = rate.NewLimiter(rate.Limit(s.cfg.RatePerSource), s.slice)
		}
		s.sources[ip] = src
	}
	return src
}

type rangeResult int

const (
	rangeIgnored rangeResult = iota // no usable Range: serve the whole file
	rangeOK
	rangeUnsatisfiable
)

// parseRange reads a single-range "bytes=" Range header against a file of
// size bytes. Multiple ranges and malformed values are ignored, which RFC
// 9110 allows; a well-formed range that starts past the end is
// unsatisfiable.
func parseRange(h string, size int64) (off, n int64, res rangeResult) {
	const unit = "bytes="
	if len(h) < len(unit) || !strings.EqualFold(h[:len(unit)], unit) {
		return 0, 0, rangeIgnored
	}
	spec := strings.TrimSpace(h[len(unit):])
	if strings.Contains(spec, ",") {
		return 0, 0, rangeIgnored
	}
	a, b, ok := strings.Cut(spec, "-")
	if !ok {
		return 0, 0, rangeIgnored
	}
	a, b = strings.TrimSpace(a), strings.TrimSpace(b)
	if a == "" {
		suffix, ok := digits(b)
		switch {
		case !ok:
			return 0, 0, rangeIgnored
		case suffix == 0 || size == 0:
			return 0, 0, rangeUnsatisfiable
		}
		n = min(suffix, size)
		return size - n, n, rangeOK
	}
	first, ok := digits(a)
	if !ok {
		return 0, 0, rangeIgnored
	}
	last := int64(math.MaxInt64)
	if b != "" {
		if last, ok = digits(b); !ok || last < first {
			return 0, 0, rangeIgnored
		}
	}
	if first >= size {
		return 0, 0, rangeUnsatisfiable
	}
	last = min(last, size-1)
	return first, last - first + 1, rangeOK
}

func digits(s string) (int64, bool) {
	if s == "" || len(s) > 19 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}
