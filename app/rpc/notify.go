package rpc

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/dragonload/dragonload/core"
)

const (
	// sessionQueue is how many messages (answers and notifications) may
	// wait for a slow WebSocket client before it is disconnected.
	sessionQueue = 256
	// writeTimeout bounds writing one message to a WebSocket client.
	writeTimeout = 10 * time.Second
)

// session is one WebSocket client. Answers and notifications go through
// one queue, written in order by one goroutine.
type session struct {
	conn *websocket.Conn
	out  chan []byte
	ctx  context.Context
	stop context.CancelFunc
	once sync.Once
}

func (ss *session) close(reason string) {
	ss.once.Do(func() {
		ss.stop()
		ss.conn.Close(websocket.StatusGoingAway, reason)
	})
}

// send queues msg, waiting while the queue is full; false once the session
// ended.
func (ss *session) send(msg []byte) bool {
	select {
	case ss.out <- msg:
		return true
	case <-ss.ctx.Done():
		return false
	}
}

// notify queues msg without waiting: a client that lets sessionQueue
// messages pile up is disconnected rather than slowing the others.
func (ss *session) notify(msg []byte) {
	select {
	case ss.out <- msg:
	case <-ss.ctx.Done():
	default:
		go ss.close("too slow to read notifications")
	}
}

func (s *Server) serveWebSocket(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	full, closed := len(s.sessions) >= MaxSessions, s.closed
	s.mu.Unlock()
	if full || closed {
		writeRefusal(w, http.StatusServiceUnavailable, "Too many WebSocket connections.")
		return
	}
	// Host and Origin were checked by ServeHTTP, which also allows the
	// origins of browser extensions; the library's same-origin check
	// would refuse those.
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		s.log.Debug("WebSocket handshake failed", "err", err, "remote", r.RemoteAddr)
		return
	}
	conn.SetReadLimit(MaxBodySize)
	ctx, stop := context.WithCancel(context.Background())
	ss := &session{conn: conn, out: make(chan []byte, sessionQueue), ctx: ctx, stop: stop}
	s.mu.Lock()
	if s.closed || len(s.sessions) >= MaxSessions {
		s.mu.Unlock()
		conn.Close(websocket.StatusTryAgainLater, "server closing or full")
		stop()
		return
	}
	s.sessions[ss] = struct{}{}
	s.mu.Unlock()
	s.log.Debug("WebSocket session opened", "remote", r.RemoteAddr)
	defer func() {
		s.mu.Lock()
		delete(s.sessions, ss)
		s.mu.Unlock()
		ss.close("")
		s.log.Debug("WebSocket session closed", "remote", r.RemoteAddr)
	}()
	go ss.write()
	for {
		_, msg, err := conn.Read(ctx)
		if err != nil {
			if !errors.Is(err, context.Canceled) && websocket.CloseStatus(err) == -1 {
				s.log.Debug("WebSocket read ended", "err", err, "remote", r.RemoteAddr)
			}
			return
		}
		answer, _ := s.handle(msg)
		if !ss.send(answer) {
			return
		}
	}
}

// write sends the queued messages until the session ends.
func (ss *session) write() {
	for {
		select {
		case msg := <-ss.out:
			ctx, cancel := context.WithTimeout(ss.ctx, writeTimeout)
			err := ss.conn.Write(ctx, websocket.MessageText, msg)
			cancel()
			if err != nil {
				ss.close("write failed")
				return
			}
		case <-ss.ctx.Done():
			return
		}
	}
}

// follow turns the engine's events into notifications until the
// subscription ends.
func (s *Server) follow(events <-chan core.Event) {
	defer close(s.loopDone)
	for ev := range events {
		switch e := ev.(type) {
		case core.DownloadProgress:
			s.mu.Lock()
			s.rates[e.ID] = e.Rate
			s.mu.Unlock()
		case core.DownloadStateChanged:
			s.changed(e.ID, e.State)
		case core.DownloadRemoved:
			s.mu.Lock()
			delete(s.states, e.ID)
			delete(s.rates, e.ID)
			s.mu.Unlock()
		case core.Resync:
			// Events were missed: compare every download with what was
			// last seen and send what changed.
			for _, d := range s.eng.Downloads() {
				s.changed(d.ID, d.State)
			}
		}
	}
}

// changed records a download's state and notifies the WebSocket clients
// when it is news to an aria2 client.
func (s *Server) changed(id core.DownloadID, st core.State) {
	s.mu.Lock()
	prev, known := s.states[id]
	s.states[id] = st
	if ariaStatus(st) != "active" {
		s.rates[id] = 0
	}
	s.mu.Unlock()
	if known && prev == st {
		return
	}
	var name string
	switch {
	case ariaStatus(st) == "active":
		if known && ariaStatus(prev) == "active" {
			return // probing → downloading → verifying is one run
		}
		name = "aria2.onDownloadStart"
	case st == core.StatePaused:
		name = "aria2.onDownloadPause"
	case st == core.StateCanceled:
		name = "aria2.onDownloadStop"
	case st == core.StateDone:
		name = "aria2.onDownloadComplete"
	case st == core.StateFailed:
		name = "aria2.onDownloadError"
	default:
		return // queued: aria2 says nothing until it starts
	}
	s.broadcast(name, GID(id))
}

type notification struct {
	JSONRPC string              `json:"jsonrpc"`
	Method  string              `json:"method"`
	Params  []map[string]string `json:"params"`
}

func (s *Server) broadcast(method, gid string) {
	msg, err := json.Marshal(notification{JSONRPC: "2.0", Method: method, Params: []map[string]string{{"gid": gid}}})
	if err != nil {
		return
	}
	s.mu.Lock()
	sessions := make([]*session, 0, len(s.sessions))
	for ss := range s.sessions {
		sessions = append(sessions, ss)
	}
	s.mu.Unlock()
	for _, ss := range sessions {
		ss.notify(msg)
	}
}
