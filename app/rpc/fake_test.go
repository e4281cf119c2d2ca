package rpc_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	neturl "net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/dragonload/dragonload/app/rpc"
	"github.com/dragonload/dragonload/core"
	"github.com/dragonload/dragonload/core/link"
)

const secret = "s3cret-for-tests-0123456789"

// fakeEngine is an engine whose downloads the test sets; it validates
// links as the real one does and publishes the state changes it makes.
type fakeEngine struct {
	mu      sync.Mutex
	list    []core.DownloadSnapshot
	added   []added
	actions []string
	subs    map[chan core.Event]bool
	n       int
}

type added struct {
	link   link.Link
	outDir string
}

const fakeOutDir = "/downloads"

func newFake(list ...core.DownloadSnapshot) *fakeEngine {
	return &fakeEngine{list: list, subs: make(map[chan core.Event]bool)}
}

func (f *fakeEngine) AddLink(l link.Link, outDir string) (core.DownloadID, error) {
	if err := l.Validate(); err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	id := core.DownloadID(fmt.Sprintf("added%d", f.n))
	if outDir == "" {
		outDir = fakeOutDir
	}
	f.added = append(f.added, added{l, outDir})
	f.list = append(f.list, core.DownloadSnapshot{ID: id, Source: l.URL, Name: l.Name, OutDir: outDir, State: core.StateQueued, Size: -1, Added: time.Now()})
	f.publishLocked(core.DownloadStateChanged{ID: id, State: core.StateQueued})
	return id, nil
}

// set changes a download's state and publishes it.
func (f *fakeEngine) set(id core.DownloadID, st core.State) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.setLocked(id, st)
}

func (f *fakeEngine) setLocked(id core.DownloadID, st core.State) {
	for i := range f.list {
		if f.list[i].ID == id {
			f.list[i].State = st
		}
	}
	f.publishLocked(core.DownloadStateChanged{ID: id, State: st})
}

func (f *fakeEngine) act(what string, id core.DownloadID, st core.State) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.actions = append(f.actions, what+" "+string(id))
	if !slices.ContainsFunc(f.list, func(d core.DownloadSnapshot) bool { return d.ID == id }) {
		return fmt.Errorf("no download with id %q", id)
	}
	f.setLocked(id, st)
	return nil
}

func (f *fakeEngine) Pause(id core.DownloadID) error  { return f.act("pause", id, core.StatePaused) }
func (f *fakeEngine) Resume(id core.DownloadID) error { return f.act("resume", id, core.StateQueued) }
func (f *fakeEngine) Cancel(id core.DownloadID) error { return f.act("cancel", id, core.StateCanceled) }

func (f *fakeEngine) Remove(id core.DownloadID) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.actions = append(f.actions, "remove "+string(id))
	f.list = slices.DeleteFunc(f.list, func(d core.DownloadSnapshot) bool { return d.ID == id })
	f.publishLocked(core.DownloadRemoved{ID: id})
	return nil
}

func (f *fakeEngine) ClearFinished() []core.DownloadID {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.actions = append(f.actions, "clear")
	var gone []core.DownloadID
	f.list = slices.DeleteFunc(f.list, func(d core.DownloadSnapshot) bool {
		if d.State.Final() {
			gone = append(gone, d.ID)
			return true
		}
		return false
	})
	return gone
}

func (f *fakeEngine) Downloads() []core.DownloadSnapshot {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.list)
}

func (f *fakeEngine) OutDir() string { return fakeOutDir }

func (f *fakeEngine) Subscribe() (<-chan core.Event, func()) {
	ch := make(chan core.Event, 1024)
	f.mu.Lock()
	f.subs[ch] = true
	f.mu.Unlock()
	return ch, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.subs[ch] {
			delete(f.subs, ch)
			close(ch)
		}
	}
}

func (f *fakeEngine) publish(ev core.Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.publishLocked(ev)
}

func (f *fakeEngine) publishLocked(ev core.Event) {
	for ch := range f.subs {
		ch <- ev
	}
}

func (f *fakeEngine) takeActions() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.actions
	f.actions = nil
	return a
}

// startServer serves eng on a free loopback port and returns the
// endpoint's URL.
func startServer(t *testing.T, eng rpc.Engine, mod ...func(*rpc.Options)) (*rpc.Server, string) {
	t.Helper()
	opts := rpc.Options{Secret: secret, Version: "test"}
	for _, m := range mod {
		m(&opts)
	}
	srv, err := rpc.New(eng, opts)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := rpc.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-served; err != nil {
			t.Errorf("Serve returned %v after Close", err)
		}
	})
	return srv, "http://" + ln.Addr().String() + rpc.Path
}

// portOf is the port of an endpoint's URL.
func portOf(t *testing.T, endpoint string) string {
	t.Helper()
	u, err := neturl.Parse(endpoint)
	if err != nil || u.Port() == "" {
		t.Fatalf("endpoint %q: %v", endpoint, err)
	}
	return u.Port()
}

// answer is a decoded JSON-RPC response.
type answer struct {
	ID     json.RawMessage `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// post sends body with the given headers and decodes the answer.
func post(t *testing.T, url string, body []byte, header map[string]string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, out
}

// request encodes one call with the test's token first.
func request(method string, params ...any) []byte {
	return rawRequest(method, append([]any{"token:" + secret}, params...)...)
}

func rawRequest(method string, params ...any) []byte {
	if params == nil {
		params = []any{}
	}
	b, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": "q", "method": method, "params": params})
	if err != nil {
		panic(err)
	}
	return b
}

// call makes one authorized call and decodes its result into out; it
// fails the test on an error answer.
func call(t *testing.T, url string, out any, method string, params ...any) {
	t.Helper()
	status, _, body := post(t, url, request(method, params...), nil)
	var a answer
	if err := json.Unmarshal(body, &a); err != nil {
		t.Fatalf("%s: answer %q is not JSON: %v", method, body, err)
	}
	if a.Error != nil || status != http.StatusOK {
		t.Fatalf("%s: status %d, answer %s", method, status, body)
	}
	if out != nil {
		if err := json.Unmarshal(a.Result, out); err != nil {
			t.Fatalf("%s: result %s: %v", method, a.Result, err)
		}
	}
}

// callErr makes one authorized call that must fail, and returns the
// error's message.
func callErr(t *testing.T, url string, method string, params ...any) string {
	t.Helper()
	status, _, body := post(t, url, request(method, params...), nil)
	var a answer
	if err := json.Unmarshal(body, &a); err != nil {
		t.Fatalf("%s: answer %q is not JSON: %v", method, body, err)
	}
	if a.Error == nil {
		t.Fatalf("%s: want an error, got %s", method, body)
	}
	if a.Error.Code != 1 || status != http.StatusBadRequest {
		t.Fatalf("%s: want code 1 and status 400, got %d: %s", method, status, body)
	}
	return a.Error.Message
}
