package rpc

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/dragonload/dragonload/core"
	"github.com/dragonload/dragonload/core/link"
)

// Engine is what the server needs of the engine; *core.Engine has it.
type Engine interface {
	AddLink(l link.Link, outDir string) (core.DownloadID, error)
	Pause(id core.DownloadID) error
	Resume(id core.DownloadID) error
	Cancel(id core.DownloadID) error
	Remove(id core.DownloadID) error
	ClearFinished() []core.DownloadID
	Downloads() []core.DownloadSnapshot
	Subscribe() (events <-chan core.Event, cancel func())
	OutDir() string
}

var _ Engine = (*core.Engine)(nil)

const (
	// DefaultAddr is aria2's default RPC address, on loopback.
	DefaultAddr = "127.0.0.1:6800"
	// Path is where the JSON-RPC endpoint is served, over HTTP POST and
	// WebSocket, as in aria2.
	Path = "/jsonrpc"
	// MaxBodySize caps a request body and a WebSocket message.
	MaxBodySize = 1 << 20
	// MaxCalls caps the calls of one batch or one system.multicall.
	MaxCalls = 256
	// MaxSessions caps the WebSocket connections open at once.
	MaxSessions = 32
)

// bodyTimeout bounds reading one request body.
const bodyTimeout = 30 * time.Second

// Options configure a Server.
type Options struct {
	// Secret is the token every call must carry ("token:SECRET" as its
	// first parameter). Required; see LoadOrCreateSecret.
	Secret string
	// Logger receives refusals and failed calls; nil discards.
	Logger *slog.Logger
	// Version is Dragonload's version, which aria2.getVersion reports
	// beside the aria2 version it emulates.
	Version string
}

// Server is an aria2-compatible JSON-RPC server in front of an engine.
// All methods are safe for concurrent use.
type Server struct {
	eng     Engine
	log     *slog.Logger
	secret  [sha256.Size]byte // SHA-256 of the secret: compared in constant time whatever its length
	version string
	httpSrv *http.Server

	mu       sync.Mutex
	sessions map[*session]struct{}
	states   map[core.DownloadID]core.State // last state seen, for notifications
	rates    map[core.DownloadID]float64    // last rate reported, bytes per second
	serving  bool
	closed   bool

	closeOnce sync.Once
	cancelSub func()
	loopDone  chan struct{}
}

// New makes a server for eng and starts following its events (for the
// WebSocket notifications); Close stops it. It refuses a missing or weak
// secret.
func New(eng Engine, opts Options) (*Server, error) {
	if eng == nil {
		return nil, errors.New("rpc: no engine")
	}
	if err := CheckSecret(opts.Secret); err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		eng:      eng,
		log:      log,
		secret:   sha256.Sum256([]byte(opts.Secret)),
		version:  opts.Version,
		sessions: make(map[*session]struct{}),
		states:   make(map[core.DownloadID]core.State),
		rates:    make(map[core.DownloadID]float64),
		loopDone: make(chan struct{}),
	}
	s.httpSrv = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	// Subscribed before the states are read: a change in between is
	// then both in the snapshot and in the stream, and the stream's copy
	// is recognised as no change.
	events, cancel := eng.Subscribe()
	s.cancelSub = cancel
	for _, d := range eng.Downloads() {
		s.states[d.ID] = d.State
	}
	go s.follow(events)
	return s, nil
}

// CheckAddr reports whether addr (host:port) is one the server may listen
// on: an IP address in 127.0.0.0/8 or ::1, or "localhost" (which Listen
// binds as 127.0.0.1). It resolves no names.
func CheckAddr(addr string) error {
	_, err := loopbackListenAddr(addr)
	return err
}

func loopbackListenAddr(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("RPC address %q is not host:port: %w", addr, err)
	}
	if strings.EqualFold(host, "localhost") {
		return net.JoinHostPort("127.0.0.1", port), nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		if host == "" {
			host = "every interface"
		}
		return "", fmt.Errorf("the RPC server listens only on loopback addresses (such as %s), not on %s: anyone who can reach it could try the secret", DefaultAddr, host)
	}
	return addr, nil
}

// Listen opens a TCP listener on addr, which must be a loopback address
// (see CheckAddr). Port 0 picks a free port; ln.Addr() tells which.
func Listen(addr string) (net.Listener, error) {
	a, err := loopbackListenAddr(addr)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", a)
	if err != nil {
		return nil, fmt.Errorf("cannot serve the RPC on %s: %w", addr, err)
	}
	return ln, nil
}

// Serve answers requests on ln until Close; it returns nil after Close.
// It refuses (and closes) a listener that is not on a loopback address.
// Serve closes ln when it returns.
func (s *Server) Serve(ln net.Listener) error {
	if err := checkListener(ln.Addr()); err != nil {
		ln.Close()
		return err
	}
	s.mu.Lock()
	switch {
	case s.closed:
		s.mu.Unlock()
		ln.Close()
		return nil
	case s.serving:
		s.mu.Unlock()
		ln.Close()
		return errors.New("rpc: server already serving")
	}
	s.serving = true
	s.mu.Unlock()
	s.log.Info("serving aria2 JSON-RPC", "addr", ln.Addr().String())
	err := s.httpSrv.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// ListenAndServe listens on addr (a loopback address) and serves until ctx
// ends or Close is called. It returns an error at once when addr is not on
// loopback or cannot be bound.
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	ln, err := Listen(addr)
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { s.Close() })
	defer stop()
	return s.Serve(ln)
}

func checkListener(a net.Addr) error {
	tcp, ok := a.(*net.TCPAddr)
	if !ok || !tcp.IP.IsLoopback() {
		return fmt.Errorf("the RPC server listens only on loopback addresses, not on %s", a)
	}
	return nil
}

// Close stops serving, closes every WebSocket and stops following the
// engine. It does not close the engine.
func (s *Server) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		sessions := make([]*session, 0, len(s.sessions))
		for ss := range s.sessions {
			sessions = append(sessions, ss)
		}
		s.mu.Unlock()
		err = s.httpSrv.Close()
		for _, ss := range sessions {
			ss.close("server closing")
		}
		s.cancelSub()
		<-s.loopDone
	})
	return err
}

// ServeHTTP answers /jsonrpc: POST for calls, GET with an upgrade for a
// WebSocket, OPTIONS for a CORS preflight.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != Path {
		writeRefusal(w, http.StatusNotFound, "Not found: the JSON-RPC endpoint is "+Path+".")
		return
	}
	if !loopbackHost(r.Host) {
		s.log.Warn("refused a request for a host that is not loopback", "host", r.Host, "remote", r.RemoteAddr)
		writeRefusal(w, http.StatusForbidden, "Forbidden: the Host header must name a loopback address.")
		return
	}
	origin := r.Header.Get("Origin")
	if _, present := r.Header["Origin"]; present {
		if !s.originAllowed(origin) {
			s.log.Warn("refused a request from a foreign origin", "origin", origin, "remote", r.RemoteAddr)
			writeRefusal(w, http.StatusForbidden, "Forbidden: requests from this Origin are not allowed.")
			return
		}
		w.Header().Set("Access-Control-Allow-Origin", origin)
		w.Header().Add("Vary", "Origin")
	}
	switch r.Method {
	case http.MethodOptions:
		if origin != "" && r.Header.Get("Access-Control-Request-Method") != "" {
			h := w.Header()
			h.Set("Access-Control-Allow-Methods", "POST, GET, OPTIONS")
			h.Set("Access-Control-Allow-Headers", "Content-Type")
			h.Set("Access-Control-Max-Age", "600")
		}
		w.WriteHeader(http.StatusOK)
	case http.MethodGet:
		if !isUpgrade(r) {
			writeRefusal(w, http.StatusMethodNotAllowed, "Call with POST, or open a WebSocket.")
			return
		}
		s.serveWebSocket(w, r)
	case http.MethodPost:
		s.servePost(w, r)
	default:
		w.Header().Set("Allow", "POST, GET, OPTIONS")
		writeRefusal(w, http.StatusMethodNotAllowed, "Call with POST, or open a WebSocket.")
	}
}

func (s *Server) servePost(w http.ResponseWriter, r *http.Request) {
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(bodyTimeout))
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodySize))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.log.Warn("refused a request body over the limit", "limit", MaxBodySize, "remote", r.RemoteAddr)
			writeJSON(w, http.StatusRequestEntityTooLarge, errorResponse(nil, codeInvalidRequest,
				fmt.Sprintf("Invalid Request: the body is larger than %d bytes.", MaxBodySize)))
			return
		}
		s.log.Debug("cannot read a request body", "err", err, "remote", r.RemoteAddr)
		writeJSON(w, http.StatusBadRequest, errorResponse(nil, codeInvalidRequest, "Invalid Request: the body could not be read."))
		return
	}
	out, status := s.handle(body)
	writeRaw(w, status, out)
}

// loopbackHost reports whether a Host header names this machine by a
// loopback name or address, with or without a port. Anything else is a
// name some DNS resolves to us (rebinding) or a proxy's doing.
func loopbackHost(hostport string) bool {
	if hostport == "" {
		return false
	}
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	} else if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// extensionSchemes are the schemes of browser extensions' origins
// (Chromium browsers, Firefox, Safari, the old Edge).
var extensionSchemes = map[string]bool{
	"chrome-extension":     true,
	"moz-extension":        true,
	"safari-web-extension": true,
	"ms-browser-extension": true,
}

// originAllowed reports whether a browser page or extension with this
// Origin may call: a loopback http(s) origin (AriaNg served locally), a
// or a browser extension.
func (s *Server) originAllowed(origin string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.User != nil {
		return false
	}
	switch u.Scheme {
	case "http", "https":
		return loopbackHost(u.Host)
	}
	return extensionSchemes[u.Scheme]
}

func isUpgrade(r *http.Request) bool {
	return headerHasToken(r.Header, "Connection", "upgrade") && headerHasToken(r.Header, "Upgrade", "websocket")
}

func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// writeRefusal answers a request refused before any call, in aria2's
// error shape.
func writeRefusal(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorResponse(nil, codeFailed, msg))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	writeRaw(w, status, encode(v))
}

func writeRaw(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json-rpc")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(body)
}
