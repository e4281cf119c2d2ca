package app

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/dragonload/dragonload/app/autostart"
	"github.com/dragonload/dragonload/core"
)

// freeAddr is a loopback address with a port nobody listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// fresh makes every call on a new connection: one kept alive from a server
// the test stopped would fail the next POST for the wrong reason.
var fresh = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

// answers reports whether an aria2 RPC at addr answers a call with secret.
func answers(addr, secret string) bool {
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": "1", "method": "aria2.getVersion", "params": []string{"token:" + secret}})
	resp, err := fresh.Post("http://"+addr+"/jsonrpc", "application/json", bytes.NewReader(body))
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var out struct {
		Result map[string]any `json:"result"`
	}
	return resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(&out) == nil && out.Result["version"] != nil
}

func testEngine(t *testing.T, home string) *core.Engine {
	t.Helper()
	off := false
	eng, err := core.New(core.Config{Home: home, Listen: "127.0.0.1:0", NoMDNS: true, OutDir: t.TempDir(), Lending: &off})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	return eng
}

// TestRPCSwitch: the RPC is off by default; Settings turns it on (it
// answers with the secret it shows) and off (it stops answering), and the
// choice is remembered for the next start. --rpc serves for its run
// without changing the setting.
func TestRPCSwitch(t *testing.T) {
	t.Setenv("DRAGONLOAD_RPC_SECRET", "")
	home := t.TempDir()
	eng := testEngine(t, home)
	addr := freeAddr(t)

	// The app's start-up without --rpc and without the setting.
	sw := newRPCSwitch(eng, addr, nil)
	if err := sw.start(false); err != nil {
		t.Fatal(err)
	}
	secret, err := sw.Secret()
	if err != nil {
		t.Fatal(err)
	}
	if sw.Enabled() || answers(addr, secret) {
		t.Fatal("the RPC serves although nobody turned it on")
	}

	if err := sw.SetEnabled(true); err != nil {
		t.Fatal(err)
	}
	if !sw.Enabled() || !answers(addr, secret) {
		t.Fatal("turned on, the RPC does not answer with the secret Settings shows")
	}
	if !eng.RPCEnabled() {
		t.Error("turning it on was not remembered")
	}
	// The next start (same engine settings) serves again.
	sw.close()
	again := newRPCSwitch(eng, addr, nil)
	if err := again.start(false); err != nil || !answers(addr, secret) {
		t.Fatalf("a start with the setting on does not serve: %v", err)
	}
	if err := again.SetEnabled(false); err != nil {
		t.Fatal(err)
	}
	if again.Enabled() || answers(addr, secret) || eng.RPCEnabled() {
		t.Fatal("turned off, the RPC still answers or the setting stayed on")
	}

	// --rpc ADDR: served for this run, the setting untouched.
	flagged := newRPCSwitch(eng, addr, nil)
	if err := flagged.start(true); err != nil {
		t.Fatal(err)
	}
	defer flagged.close()
	if !answers(addr, secret) || eng.RPCEnabled() {
		t.Fatalf("with --rpc: answers %v, setting %v", answers(addr, secret), eng.RPCEnabled())
	}

	// A port already taken: the flag's start fails with the address named,
	// the setting's only logs.
	taken := newRPCSwitch(eng, addr, nil)
	if err := taken.start(true); err == nil || !strings.Contains(err.Error(), addr) {
		t.Errorf("--rpc on a taken port: %v", err)
	}
	eng.SetRPCEnabled(true)
	if err := taken.start(false); err != nil || taken.Enabled() {
		t.Errorf("the setting on a taken port: %v, enabled %v", err, taken.Enabled())
	}
	if err := taken.SetEnabled(true); err == nil {
		t.Error("turning it on over a taken port reported success")
	}
}

// TestLoginItem: the Settings switch writes the autostart entry for this
// program, with --home when the home folder is not the default one.
func TestLoginItem(t *testing.T) {
	if runtime.GOOS == "darwin" || runtime.GOOS == "windows" {
		t.Skip("the entry read back here is the XDG desktop entry")
	}
	cfg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", cfg)
	t.Setenv("HOME", t.TempDir())
	home := t.TempDir()
	item := loginItem{home: home}
	if err := item.SetEnabled(true); err != nil {
		t.Fatal(err)
	}
	if on, err := item.Enabled(); err != nil || !on {
		t.Fatalf("Enabled() = %v, %v after SetEnabled(true)", on, err)
	}
	data, err := os.ReadFile(filepath.Join(cfg, "autostart", autostart.ID+".desktop"))
	if err != nil {
		t.Fatal(err)
	}
	exe, _ := os.Executable()
	if !strings.Contains(string(data), "Exec="+exe+" --home "+home+"\n") {
		t.Errorf("entry does not run %s --home %s:\n%s", exe, home, data)
	}
	if err := item.SetEnabled(false); err != nil {
		t.Fatal(err)
	}
	if on, _ := item.Enabled(); on {
		t.Error("still enabled after SetEnabled(false)")
	}

	base, err := os.UserConfigDir()
	if err != nil {
		t.Skip(err)
	}
	if got := loginArgs(filepath.Join(base, "dragonload")); got != nil {
		t.Errorf("default home: args %q, want none", got)
	}
	if got := loginArgs(home); !slices.Equal(got, []string{"--home", home}) {
		t.Errorf("other home: args %q", got)
	}
}
