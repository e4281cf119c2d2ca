package rpc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dragonload/dragonload/app/rpc"
)

// TestRefusals: every request that lacks the secret, comes from a foreign
// page, names a foreign host or is not JSON-RPC is refused with aria2's
// error shape and status; the good ones next to them pass.
func TestRefusals(t *testing.T) {
	_, url := startServer(t, newFake())
	port := portOf(t, url)
	version := request("aria2.getVersion")
	tests := []struct {
		name     string
		method   string // "" = POST
		path     string // "" = /jsonrpc
		body     []byte
		header   map[string]string
		status   int
		code     int    // JSON-RPC error code; 0 = success
		message  string // part of the error message
		wantCORS string // Access-Control-Allow-Origin expected
	}{
		{name: "good call", body: version, status: 200},
		{name: "no token", body: rawRequest("aria2.getVersion"), status: 400, code: 1, message: "Unauthorized"},
		{name: "wrong token", body: rawRequest("aria2.getVersion", "token:"+secret+"x"), status: 400, code: 1, message: "Unauthorized"},
		{name: "token prefix only", body: rawRequest("aria2.getVersion", "token:"), status: 400, code: 1, message: "Unauthorized"},
		{name: "secret without the token: prefix", body: rawRequest("aria2.getVersion", secret), status: 400, code: 1, message: "Unauthorized"},
		{name: "token not first", body: rawRequest("aria2.tellActive", []string{"gid"}, "token:"+secret), status: 400, code: 1, message: "Unauthorized"},
		{name: "token as a number", body: rawRequest("aria2.getVersion", 12345), status: 400, code: 1, message: "Unauthorized"},
		{name: "token needed for listMethods too", body: rawRequest("system.listMethods"), status: 400, code: 1, message: "Unauthorized"},
		{name: "foreign origin", body: version, header: map[string]string{"Origin": "http://evil.example"}, status: 403, code: 1, message: "Origin"},
		{name: "foreign https origin on port 6800", body: version, header: map[string]string{"Origin": "https://evil.example:6800"}, status: 403, code: 1, message: "Origin"},
		{name: "null origin", body: version, header: map[string]string{"Origin": "null"}, status: 403, code: 1, message: "Origin"},
		{name: "empty origin", body: version, header: map[string]string{"Origin": ""}, status: 403, code: 1, message: "Origin"},
		{name: "origin with a loopback-looking name", body: version, header: map[string]string{"Origin": "http://127.0.0.1.evil.example"}, status: 403, code: 1, message: "Origin"},
		{name: "other scheme origin", body: version, header: map[string]string{"Origin": "ws://evil.example"}, status: 403, code: 1, message: "Origin"},
		{name: "browser page origin", body: version, header: map[string]string{"Origin": "chrome://settings"}, status: 403, code: 1, message: "Origin"},
		{name: "extension origin with a path", body: version, header: map[string]string{"Origin": "chrome-extension://abc/page.html"}, status: 403, code: 1, message: "Origin"},
		{name: "file origin", body: version, header: map[string]string{"Origin": "file://"}, status: 403, code: 1, message: "Origin"},
		{name: "loopback origin", body: version, header: map[string]string{"Origin": "http://127.0.0.1:8080"}, status: 200, wantCORS: "http://127.0.0.1:8080"},
		{name: "localhost origin", body: version, header: map[string]string{"Origin": "http://localhost:3000"}, status: 200, wantCORS: "http://localhost:3000"},
		{name: "ipv6 loopback origin", body: version, header: map[string]string{"Origin": "http://[::1]:3000"}, status: 200, wantCORS: "http://[::1]:3000"},
		{name: "chrome extension origin", body: version, header: map[string]string{"Origin": "chrome-extension://mpkodccbngfoacfalldjimigbofkhgjn"}, status: 200, wantCORS: "chrome-extension://mpkodccbngfoacfalldjimigbofkhgjn"},
		{name: "firefox extension origin", body: version, header: map[string]string{"Origin": "moz-extension://0b3a3d2e-1111-2222-3333-444455556666"}, status: 200, wantCORS: "moz-extension://0b3a3d2e-1111-2222-3333-444455556666"},
		{name: "foreign host (DNS rebinding)", body: version, header: map[string]string{"Host": "rebind.evil.example:" + port}, status: 403, code: 1, message: "Host"},
		{name: "foreign host without port", body: version, header: map[string]string{"Host": "evil.example"}, status: 403, code: 1, message: "Host"},
		{name: "private address as host", body: version, header: map[string]string{"Host": "192.168.1.2:" + port}, status: 403, code: 1, message: "Host"},
		{name: "loopback-looking host name", body: version, header: map[string]string{"Host": "127.0.0.1.nip.io:" + port}, status: 403, code: 1, message: "Host"},
		{name: "localhost host", body: version, header: map[string]string{"Host": "localhost:" + port}, status: 200},
		{name: "ipv6 loopback host", body: version, header: map[string]string{"Host": "[::1]:" + port}, status: 200},
		{name: "other 127/8 host", body: version, header: map[string]string{"Host": "127.0.0.2"}, status: 200},
		{name: "malformed JSON", body: []byte(`{"jsonrpc":"2.0","id":1,"method":`), status: 500, code: -32700, message: "Parse error"},
		{name: "not JSON at all", body: []byte("token=abc&method=addUri"), status: 500, code: -32700, message: "Parse error"},
		{name: "empty body", body: nil, status: 500, code: -32700, message: "Parse error"},
		{name: "huge body", body: hugeBody(rpc.MaxBodySize + 1), status: 413, code: -32600, message: "larger than"},
		{name: "body at the cap", body: hugeBody(rpc.MaxBodySize), status: 200},
		{name: "unknown method", body: request("aria2.shutdown"), status: 404, code: -32601, message: "Method not found"},
		{name: "unknown method without token", body: rawRequest("aria2.changeGlobalOption"), status: 404, code: -32601, message: "Method not found"},
		{name: "no id", body: []byte(`{"jsonrpc":"2.0","method":"aria2.getVersion","params":["token:` + secret + `"]}`), status: 400, code: -32600, message: "Invalid Request"},
		{name: "method not a string", body: []byte(`{"id":1,"method":7,"params":[]}`), status: 400, code: -32600, message: "Invalid Request"},
		{name: "method name in the wrong case of key", body: []byte(`{"id":1,"Method":"aria2.getVersion","params":["token:` + secret + `"]}`), status: 400, code: -32600, message: "Invalid Request"},
		{name: "named params", body: []byte(`{"id":1,"method":"aria2.getVersion","params":{"token":"x"}}`), status: 500, code: -32602, message: "Invalid params"},
		{name: "a number", body: []byte(`42`), status: 400, code: -32600, message: "Invalid Request"},
		{name: "GET without upgrade", method: http.MethodGet, status: 405, code: 1},
		{name: "PUT", method: http.MethodPut, body: version, status: 405, code: 1},
		{name: "other path", path: "/rpc", body: version, status: 404, code: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			target := url
			if tc.path != "" {
				target = strings.Replace(url, rpc.Path, tc.path, 1)
			}
			method := tc.method
			if method == "" {
				method = http.MethodPost
			}
			req, err := http.NewRequest(method, target, bytes.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.header {
				if k == "Host" {
					req.Host = v
				} else {
					req.Header[k] = []string{v}
				}
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var a answer
			if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
				t.Fatalf("answer is not JSON: %v", err)
			}
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.status)
			}
			switch {
			case tc.code == 0 && a.Error != nil:
				t.Errorf("want success, got error %d %q", a.Error.Code, a.Error.Message)
			case tc.code == 0 && len(a.Result) == 0:
				t.Errorf("want a result, got none")
			case tc.code != 0 && a.Error == nil:
				t.Errorf("want error %d, got result %s", tc.code, a.Result)
			case tc.code != 0 && (a.Error.Code != tc.code || !strings.Contains(a.Error.Message, tc.message)):
				t.Errorf("got error %d %q, want %d containing %q", a.Error.Code, a.Error.Message, tc.code, tc.message)
			}
			if got := resp.Header.Get("Access-Control-Allow-Origin"); got != tc.wantCORS {
				t.Errorf("Access-Control-Allow-Origin %q, want %q", got, tc.wantCORS)
			}
		})
	}
}

// hugeBody is a valid request padded with spaces to n bytes.
func hugeBody(n int) []byte {
	b := request("aria2.getVersion")
	return append(b, bytes.Repeat([]byte(" "), n-len(b))...)
}

// TestPreflight: a loopback page gets a CORS preflight answer; a foreign
// one is refused before any CORS header is sent.
func TestPreflight(t *testing.T) {
	_, url := startServer(t, newFake())
	for _, tc := range []struct {
		origin string
		status int
	}{{"http://localhost:6880", 200}, {"https://evil.example", 403}} {
		req, _ := http.NewRequest(http.MethodOptions, url, nil)
		req.Header.Set("Origin", tc.origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "content-type")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d", tc.origin, resp.StatusCode, tc.status)
		}
		allowed := resp.Header.Get("Access-Control-Allow-Origin")
		if tc.status == 200 && (allowed != tc.origin || !strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "POST")) {
			t.Errorf("%s: CORS headers %v", tc.origin, resp.Header)
		}
		if tc.status != 200 && allowed != "" {
			t.Errorf("%s: refused but allowed origin %q", tc.origin, allowed)
		}
	}
}

// TestLoopbackOnly: the server refuses to listen or serve anywhere but on
// loopback, with a sentence that says so.
func TestLoopbackOnly(t *testing.T) {
	for _, addr := range []string{":6800", "0.0.0.0:6800", "[::]:6800", "192.168.1.10:6800", "example.com:6800", "6800", "localhost"} {
		err := rpc.CheckAddr(addr)
		if err == nil {
			t.Errorf("%s: accepted", addr)
			continue
		}
		if _, lerr := rpc.Listen(addr); lerr == nil {
			t.Errorf("%s: Listen accepted", addr)
		}
		if strings.Contains(addr, ":") && !strings.Contains(err.Error(), "loopback") {
			t.Errorf("%s: error %q does not say why", addr, err)
		}
	}
	for _, addr := range []string{"127.0.0.1:6800", "localhost:6800", "[::1]:6800", "127.0.0.5:0"} {
		if err := rpc.CheckAddr(addr); err != nil {
			t.Errorf("%s: %v", addr, err)
		}
	}
	ln, err := rpc.Listen("localhost:0")
	if err != nil {
		t.Fatal(err)
	}
	if ip := ln.Addr().(*net.TCPAddr).IP; !ip.Equal(net.IPv4(127, 0, 0, 1)) {
		t.Errorf("localhost listened on %v", ip)
	}
	ln.Close()

	// Serve checks the listener it is given, too. (A listener that says
	// it is on another address: nothing here binds beyond loopback.)
	srv, err := rpc.New(newFake(), rpc.Options{Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	lo, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	wide := addrListener{lo, &net.TCPAddr{IP: net.IPv4zero, Port: 6800}}
	if err := srv.Serve(wide); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("Serve on %s: %v", wide.Addr(), err)
	}
	if _, err := lo.Accept(); err == nil {
		t.Error("the refused listener was left open")
	}
}

// addrListener is a listener that reports another address.
type addrListener struct {
	net.Listener
	addr net.Addr
}

func (l addrListener) Addr() net.Addr { return l.addr }

// TestListenAndServe: it serves until its context ends, then returns nil;
// a non-loopback address is refused at once.
func TestListenAndServe(t *testing.T) {
	srv, err := rpc.New(newFake(), rpc.Options{Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := srv.ListenAndServe(t.Context(), "0.0.0.0:0"); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("ListenAndServe on the wildcard address: %v", err)
	}
	// Find a free loopback port, then serve on it.
	ln, err := rpc.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(t.Context())
	served := make(chan error, 1)
	go func() { served <- srv.ListenAndServe(ctx, addr) }()
	waitFor(t, func() bool {
		resp, err := http.Post("http://"+addr+rpc.Path, "application/json", bytes.NewReader(request("aria2.getVersion")))
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("ListenAndServe after its context ended: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ListenAndServe did not return after its context ended")
	}
}

// TestSecretRequired: no server without a secret, or with a guessable one.
func TestSecretRequired(t *testing.T) {
	for _, s := range []string{"", "short", "has a space in it 123"} {
		if _, err := rpc.New(newFake(), rpc.Options{Secret: s}); err == nil {
			t.Errorf("secret %q accepted", s)
		}
	}
}

// TestBatch: a JSON array of calls is answered call by call, each with its
// own authorization; non-objects are skipped as aria2 does.
func TestBatch(t *testing.T) {
	_, url := startServer(t, newFake())
	body := []byte(`[` + string(request("aria2.getVersion")) + `,` + string(rawRequest("aria2.getVersion", "token:wrong-wrong-wrong-wrong")) + `, 5,` +
		`{"id":"n","method":"nope","params":[]}]`)
	status, _, out := post(t, url, body, nil)
	var answers []answer
	if err := json.Unmarshal(out, &answers); err != nil {
		t.Fatalf("%s: %v", out, err)
	}
	if status != 200 || len(answers) != 3 {
		t.Fatalf("status %d, %d answers: %s", status, len(answers), out)
	}
	if answers[0].Error != nil || answers[1].Error == nil || answers[1].Error.Message != "Unauthorized" ||
		answers[2].Error == nil || answers[2].Error.Code != -32601 || string(answers[2].ID) != `"n"` {
		t.Errorf("answers %s", out)
	}
	many := []byte("[" + strings.Repeat(string(request("aria2.getVersion"))+",", rpc.MaxCalls) + string(request("aria2.getVersion")) + "]")
	if status, _, out := post(t, url, many, nil); status != 400 || !bytes.Contains(out, []byte("at most")) {
		t.Errorf("a batch over the cap: %d %s", status, out)
	}
}

// TestMulticall: each call of a multicall is authorized on its own; one
// that fails gives its error object in its place and the others run.
func TestMulticall(t *testing.T) {
	eng := newFake()
	_, url := startServer(t, eng)
	tok := "token:" + secret
	calls := []any{
		map[string]any{"methodName": "aria2.addUri", "params": []any{tok, []string{"https://example.org/a.iso"}}},
		map[string]any{"methodName": "aria2.tellStatus", "params": []any{tok, "00000000000000ff"}},
		map[string]any{"methodName": "aria2.getVersion", "params": []any{"token:wrong-wrong-wrong-wrong"}},
		map[string]any{"methodName": "aria2.addUri", "params": []any{[]string{"https://example.org/b.iso"}}},
		map[string]any{"methodName": "system.multicall", "params": []any{[]any{}}},
		map[string]any{"methodName": "aria2.nope", "params": []any{tok}},
		map[string]any{"params": []any{tok}},
		"not a struct",
		map[string]any{"methodName": "aria2.getGlobalStat", "params": []any{tok}},
	}
	status, _, out := post(t, url, rawRequest("system.multicall", calls), nil)
	var a answer
	if err := json.Unmarshal(out, &a); err != nil || a.Error != nil || status != 200 {
		t.Fatalf("status %d: %s", status, out)
	}
	var results []json.RawMessage
	if err := json.Unmarshal(a.Result, &results); err != nil || len(results) != len(calls) {
		t.Fatalf("results %s", a.Result)
	}
	var gid []string
	if err := json.Unmarshal(results[0], &gid); err != nil || len(gid) != 1 || len(gid[0]) != 16 {
		t.Errorf("addUri in a multicall: %s", results[0])
	}
	wantErrs := map[int]string{
		1: "GID 00000000000000ff is not found",
		2: "Unauthorized",
		3: "Unauthorized",
		4: "Recursive system.multicall forbidden.",
		5: "Method not found.",
		6: "Missing methodName.",
		7: "system.multicall expected struct.",
	}
	for i, want := range wantErrs {
		var e struct {
			Code    int
			Message string
		}
		if err := json.Unmarshal(results[i], &e); err != nil || e.Message != want {
			t.Errorf("call %d: %s, want %q", i, results[i], want)
		}
	}
	var stat []map[string]string
	if err := json.Unmarshal(results[8], &stat); err != nil || stat[0]["numWaiting"] != "1" {
		t.Errorf("getGlobalStat after the add: %s", results[8])
	}
	if n := len(eng.Downloads()); n != 1 {
		t.Errorf("%d downloads added, want 1 (the unauthorized addUri must not run)", n)
	}
	// A token on the multicall itself must be right when given.
	status, _, out = post(t, url, rawRequest("system.multicall", "token:wrong-wrong-wrong-wrong", calls[:1]), nil)
	if status != 400 || !bytes.Contains(out, []byte("Unauthorized")) {
		t.Errorf("multicall with a wrong outer token: %d %s", status, out)
	}
	if n := len(eng.Downloads()); n != 1 {
		t.Errorf("%d downloads after a refused multicall, want 1", n)
	}
	if msg := callErr(t, url, "system.multicall", "not a list"); msg != "The parameter at 0 has wrong type." {
		t.Errorf("multicall of a string: %q", msg)
	}
}
