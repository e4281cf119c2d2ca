package e2e

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	testorigin "github.com/dragonload/dragonload/test/origin"
	"github.com/dragonload/dragonload/test/testkit"
)

// TestAgentRPC: `dragonload agent --rpc ADDR` serves aria2's JSON-RPC with
// the token `dragonload rpc-secret` prints: a download added through it
// completes; a call without the token is refused.
func TestAgentRPC(t *testing.T) {
	const size = 4 * mib
	o := origin(t, testorigin.Config{Size: size, Seed: seed})
	home, out := t.TempDir(), t.TempDir()
	secretCmd := start(t, "rpc-secret", "rpc-secret", "--home", home)
	if code := secretCmd.wait(30 * time.Second); code != 0 {
		t.Fatalf("rpc-secret exited %d: %s", code, secretCmd.out.String())
	}
	secret := strings.TrimSpace(secretCmd.out.String())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	start(t, "agent", "agent", "--home", home, "--room", testRoom, "--listen", freePort(t, "127.0.0.2"),
		"--no-mdns", "--allow-private-origins", "--out", out, "--rpc", addr)

	call := func(token, method string, params ...any) map[string]any {
		t.Helper()
		if token != "" {
			params = append([]any{"token:" + token}, params...)
		}
		body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": "1", "method": method, "params": params})
		var reply map[string]any
		testkit.WaitFor(t, 20*time.Second, 50*time.Millisecond, "the RPC to answer", func() bool {
			resp, err := http.Post("http://"+addr+"/jsonrpc", "application/json", bytes.NewReader(body))
			if err != nil {
				return false
			}
			defer resp.Body.Close()
			reply = nil
			return json.NewDecoder(resp.Body).Decode(&reply) == nil
		})
		return reply
	}
	if r := call("", "aria2.getVersion"); r["error"] == nil {
		t.Fatalf("a call without the token was answered: %v", r)
	}
	added := call(secret, "aria2.addUri", []string{o.URL()})
	gid, _ := added["result"].(string)
	if gid == "" {
		t.Fatalf("addUri: %v", added)
	}
	testkit.WaitFor(t, time.Minute, 100*time.Millisecond, "the download to complete", func() bool {
		st, _ := call(secret, "aria2.tellStatus", gid)["result"].(map[string]any)
		return st["status"] == "complete"
	})
	checkFile(t, out, size)
}
