package rpc_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/dragonload/dragonload/app/rpc"
	"github.com/dragonload/dragonload/core"
)

// dialWS opens a WebSocket to the server with the given headers.
func dialWS(t *testing.T, url string, header http.Header) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(url, "http"), &websocket.DialOptions{HTTPHeader: header})
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadLimit(4 << 20)
	t.Cleanup(func() { c.CloseNow() })
	return c
}

// wsMessage is a response or a notification.
type wsMessage struct {
	answer
	Method string              `json:"method"`
	Params []map[string]string `json:"params"`
}

func readWS(t *testing.T, c *websocket.Conn) wsMessage {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	typ, data, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("reading the WebSocket: %v", err)
	}
	if typ != websocket.MessageText {
		t.Fatalf("message type %v", typ)
	}
	var m wsMessage
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("%s: %v", data, err)
	}
	return m
}

func writeWS(t *testing.T, c *websocket.Conn, msg []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, msg); err != nil {
		t.Fatal(err)
	}
}

// TestWebSocketNotifications: calls are answered over the WebSocket, and
// each state change that aria2 reports arrives as its notification, in
// order, once: a run's probing → downloading → verifying is one start.
func TestWebSocketNotifications(t *testing.T) {
	eng := newFake(core.DownloadSnapshot{ID: "old", State: core.StateDownloading, Size: -1})
	_, url := startServer(t, eng)
	c := dialWS(t, url, http.Header{"Origin": {"chrome-extension://abcdefghijklmnop"}})
	other := dialWS(t, url, nil)
	writeWS(t, other, request("aria2.getVersion")) // answered: the session is registered
	readWS(t, other)

	writeWS(t, c, request("aria2.addUri", []string{"https://example.org/a.iso"}))
	m := readWS(t, c)
	var gid string
	if m.Error != nil || json.Unmarshal(m.Result, &gid) != nil || string(m.ID) != `"q"` {
		t.Fatalf("addUri over WebSocket: %+v", m)
	}
	id := eng.list[1].ID
	if gid != rpc.GID(id) {
		t.Fatalf("gid %s, want %s", gid, rpc.GID(id))
	}
	writeWS(t, c, rawRequest("aria2.tellActive", "token:wrong-wrong-wrong-wrong"))
	if m := readWS(t, c); m.Error == nil || m.Error.Message != "Unauthorized" {
		t.Fatalf("wrong token over WebSocket: %+v", m)
	}
	writeWS(t, c, []byte(`{"id":1,`))
	if m := readWS(t, c); m.Error == nil || m.Error.Code != -32700 {
		t.Fatalf("malformed JSON over WebSocket: %+v", m)
	}

	steps := []struct {
		st   core.State
		want string // "" = no notification
	}{
		{core.StateProbing, "aria2.onDownloadStart"},
		{core.StateDownloading, ""},
		{core.StatePaused, "aria2.onDownloadPause"},
		{core.StateQueued, ""},
		{core.StateProbing, "aria2.onDownloadStart"},
		{core.StateDownloading, ""},
		{core.StateDownloading, ""},
		{core.StateVerifying, ""},
		{core.StateDone, "aria2.onDownloadComplete"},
		{core.StateQueued, ""}, // retried
		{core.StateDownloading, "aria2.onDownloadStart"},
		{core.StateFailed, "aria2.onDownloadError"},
		{core.StateQueued, ""},
		{core.StateCanceled, "aria2.onDownloadStop"},
	}
	var want []string
	for _, s := range steps {
		eng.set(id, s.st)
		if s.want != "" {
			want = append(want, s.want)
		}
	}
	// The download that was already running when the server started
	// completes: a Complete without a Start.
	eng.set("old", core.StateDone)
	want = append(want, "aria2.onDownloadComplete")
	for _, conn := range []*websocket.Conn{c, other} {
		for i, w := range want {
			m := readWS(t, conn)
			wantGID := gid
			if i == len(want)-1 {
				wantGID = rpc.GID("old")
			}
			if m.Method != w || len(m.Params) != 1 || m.Params[0]["gid"] != wantGID || m.ID != nil {
				t.Fatalf("notification %d: %+v, want %s for %s", i, m, w, wantGID)
			}
		}
	}
	// Nothing more: a call now gets its answer next.
	writeWS(t, other, request("aria2.getGlobalStat"))
	if m := readWS(t, other); m.Method != "" || m.Error != nil {
		t.Fatalf("after the notifications: %+v", m)
	}
}

// TestWebSocketResync: events missed by a lagging subscription are made up
// for by comparing states.
func TestWebSocketResync(t *testing.T) {
	eng := newFake(core.DownloadSnapshot{ID: "a", State: core.StateQueued, Size: -1})
	_, url := startServer(t, eng)
	c := dialWS(t, url, nil)
	writeWS(t, c, request("aria2.getVersion")) // the session is registered once this is answered
	readWS(t, c)
	eng.mu.Lock()
	eng.list[0].State = core.StateDone // its events were lost
	eng.mu.Unlock()
	eng.publish(core.Resync{From: 1, To: 10})
	if m := readWS(t, c); m.Method != "aria2.onDownloadComplete" || m.Params[0]["gid"] != rpc.GID("a") {
		t.Fatalf("after a resync: %+v", m)
	}
}

// TestWebSocketRefusals: the handshake is refused for a foreign origin or
// host, and a message over the cap closes the connection.
func TestWebSocketRefusals(t *testing.T) {
	_, url := startServer(t, newFake())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	wsURL := "ws" + strings.TrimPrefix(url, "http")
	_, resp, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"https://evil.example"}}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("foreign origin: %v %v", err, resp)
	}
	_, resp, err = websocket.Dial(ctx, wsURL, &websocket.DialOptions{Host: "evil.example"})
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("foreign host: %v %v", err, resp)
	}

	c := dialWS(t, url, nil)
	big := make([]byte, rpc.MaxBodySize+1)
	for i := range big {
		big[i] = ' '
	}
	copy(big, request("aria2.getVersion"))
	c.Write(ctx, websocket.MessageText, big)
	_, _, err = c.Read(ctx)
	if websocket.CloseStatus(err) != websocket.StatusMessageTooBig {
		t.Errorf("a message over the cap: %v", err)
	}
}

// TestWebSocketSessionCap: at most MaxSessions WebSockets at once; a slot
// frees when one closes.
func TestWebSocketSessionCap(t *testing.T) {
	_, url := startServer(t, newFake())
	conns := make([]*websocket.Conn, rpc.MaxSessions)
	for i := range conns {
		conns[i] = dialWS(t, url, nil)
		// An answer means the session is registered.
		writeWS(t, conns[i], request("aria2.getVersion"))
		readWS(t, conns[i])
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(url, "http"), nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("connection over the cap: %v %v", err, resp)
	}
	conns[0].Close(websocket.StatusNormalClosure, "")
	waitFor(t, func() bool {
		c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(url, "http"), nil)
		if err != nil {
			return false
		}
		c.CloseNow()
		return true
	})
}

// TestCloseEndsSessions: Close ends every WebSocket and Serve returns.
func TestCloseEndsSessions(t *testing.T) {
	srv, url := startServer(t, newFake())
	c := dialWS(t, url, nil)
	writeWS(t, c, request("aria2.getVersion"))
	readWS(t, c)
	done := make(chan struct{})
	go func() {
		srv.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close hangs with a WebSocket open")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, _, err := c.Read(ctx); err == nil {
		t.Fatal("the WebSocket is still open after Close")
	}
}
