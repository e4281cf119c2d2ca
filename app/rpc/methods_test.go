package rpc_test

import (
	"errors"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dragonload/dragonload/app/rpc"
	"github.com/dragonload/dragonload/core"
	"github.com/dragonload/dragonload/core/link"
	"github.com/dragonload/dragonload/core/origin"
)

// TestAddURI: aria2's options become the link's fields and the folder;
// what the link rules refuse is refused with their sentence.
func TestAddURI(t *testing.T) {
	const u = "https://example.org/files/big.iso"
	tests := []struct {
		name    string
		params  []any
		want    link.Link
		wantDir string
		wantErr string
	}{
		{name: "bare", params: []any{[]string{u}}, want: link.Link{URL: u}, wantDir: fakeOutDir},
		{name: "mirrors", params: []any{[]string{u, "https://mirror.example/big.iso", u, "https://mirror.example/big.iso"}},
			want: link.Link{URL: u, Mirrors: []string{"https://mirror.example/big.iso"}}, wantDir: fakeOutDir},
		{name: "dir and out", params: []any{[]string{u}, map[string]any{"dir": "/tmp/x/../isos", "out": "debian.iso"}},
			want: link.Link{URL: u, Name: "debian.iso"}, wantDir: "/tmp/isos"},
		{name: "browser extension's headers", params: []any{[]string{u}, map[string]any{
			"header":     []string{"Cookie: a=1", "cookie: b=2", "Accept-Encoding: gzip", "Authorization:  Bearer x ", "Range: bytes=0-"},
			"referer":    "https://example.org/download-page",
			"user-agent": "Mozilla/5.0 (X11; Linux x86_64)",
		}}, want: link.Link{URL: u, Headers: map[string]string{
			"Cookie": "a=1; b=2", "Authorization": "Bearer x",
			"Referer": "https://example.org/download-page", "User-Agent": "Mozilla/5.0 (X11; Linux x86_64)",
		}}, wantDir: fakeOutDir},
		{name: "one header as a string, referer *", params: []any{[]string{u}, map[string]any{"header": "X-Token: t", "referer": "*"}},
			want: link.Link{URL: u, Headers: map[string]string{"X-Token": "t", "Referer": u}}, wantDir: fakeOutDir},
		{name: "user-agent option wins over a header", params: []any{[]string{u}, map[string]any{"header": []string{"user-agent: curl"}, "user-agent": "Firefox"}},
			want: link.Link{URL: u, Headers: map[string]string{"User-Agent": "Firefox"}}, wantDir: fakeOutDir},
		{name: "sha-256 checksum", params: []any{[]string{u}, map[string]any{"checksum": "sha-256=" + strings.Repeat("AB", 32)}},
			want: link.Link{URL: u, SHA256: strings.Repeat("ab", 32)}, wantDir: fakeOutDir},
		{name: "other aria2 options ignored", params: []any{[]string{u}, map[string]any{"split": "16", "max-connection-per-server": "16", "checksum": "md5=abc", "out": 5}, 0},
			want: link.Link{URL: u}, wantDir: fakeOutDir},
		{name: "no URI", params: []any{[]string{}}, wantErr: "URI is not provided."},
		{name: "URIs not strings", params: []any{[]any{1, nil}}, wantErr: "URI is not provided."},
		// An empty URI is not a link without a url: aria2 clients are told
		// a URI is needed, not what such a link must give.
		{name: "empty URI", params: []any{[]string{""}}, wantErr: "addUri needs a URI (URI 1 of 1 is empty)."},
		{name: "empty URI with what a link without a url gives", params: []any{[]string{""}, map[string]any{
			"out": "debian.iso", "checksum": "sha-256=" + strings.Repeat("ab", 32), "referer": "*",
		}}, wantErr: "addUri needs a URI (URI 1 of 1 is empty)."},
		{name: "empty URI before a mirror", params: []any{[]string{"", u}}, wantErr: "addUri needs a URI (URI 1 of 2 is empty)."},
		{name: "empty mirror", params: []any{[]any{u, 7, ""}}, wantErr: "addUri needs a URI (URI 2 of 2 is empty)."},
		{name: "missing", params: nil, wantErr: "The parameter at 0 is required but missing."},
		{name: "URIs as a string", params: []any{u}, wantErr: "The parameter at 0 has wrong type."},
		{name: "options as a list", params: []any{[]string{u}, []string{"dir"}}, wantErr: "The parameter at 1 has wrong type."},
		{name: "negative position", params: []any{[]string{u}, map[string]any{}, -1}, wantErr: "Position must be greater than or equal to 0."},
		{name: "position not an integer", params: []any{[]string{u}, map[string]any{}, 1.5}, wantErr: "The parameter at 2 has wrong type."},
		{name: "relative dir", params: []any{[]string{u}, map[string]any{"dir": "isos"}}, wantErr: "dir must be an absolute path"},
		{name: "out is a path", params: []any{[]string{u}, map[string]any{"out": "../../.bashrc"}}, wantErr: "name must be a file name, not a path"},
		{name: "hidden out", params: []any{[]string{u}, map[string]any{"out": ".bashrc"}}, wantErr: "must not start with a dot"},
		{name: "header without a colon", params: []any{[]string{u}, map[string]any{"header": "Cookie"}}, wantErr: `header "Cookie" is not "Name: value".`},
		{name: "header injection", params: []any{[]string{u}, map[string]any{"header": "X-A: 1\r\nHost: evil"}}, wantErr: "one line"},
		{name: "magnet", params: []any{[]string{"magnet:?xt=urn:btih:abc"}}, wantErr: `scheme "magnet" is not supported`},
		{name: "ftp", params: []any{[]string{"ftp://example.org/f"}}, wantErr: `scheme "ftp" is not supported`},
		{name: "bad checksum", params: []any{[]string{u}, map[string]any{"checksum": "sha-256=xyz"}}, wantErr: "sha256 must be 64 hex digits"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			eng := newFake()
			_, url := startServer(t, eng)
			if tc.wantErr != "" {
				if msg := callErr(t, url, "aria2.addUri", tc.params...); !strings.Contains(msg, tc.wantErr) {
					t.Errorf("error %q, want %q", msg, tc.wantErr)
				}
				if len(eng.added) != 0 {
					t.Errorf("added %v", eng.added)
				}
				return
			}
			var gid string
			call(t, url, &gid, "aria2.addUri", tc.params...)
			if len(eng.added) != 1 {
				t.Fatalf("added %d downloads", len(eng.added))
			}
			got := eng.added[0]
			if !reflect.DeepEqual(got.link, tc.want) || got.outDir != tc.wantDir {
				t.Errorf("added %+v in %q, want %+v in %q", got.link, got.outDir, tc.want, tc.wantDir)
			}
			if gid != rpc.GID(eng.list[0].ID) {
				t.Errorf("gid %q, want %q", gid, rpc.GID(eng.list[0].ID))
			}
		})
	}
}

func snapshots() []core.DownloadSnapshot {
	t0 := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	return []core.DownloadSnapshot{
		{ID: "run", Source: "https://example.org/run.iso", Name: "run.iso", OutDir: "/dl", State: core.StateDownloading, Size: 1000, Done: 400,
			Peers: []core.PeerShare{{Peer: core.SelfPeer, InFlight: 2}, {Peer: "p2", InFlight: 1}, {Peer: "p3"}}},
		{ID: "probe", Source: "https://example.org/unknown", OutDir: "/dl", State: core.StateProbing, Size: -1},
		{ID: "q1", Source: "https://example.org/q1", Name: "q1", OutDir: "/dl", State: core.StateQueued, Size: -1},
		{ID: "paused", Source: "https://example.org/p", Name: "p.bin", OutDir: "/dl", State: core.StatePaused, Size: 500, Done: 100},
		{ID: "q2", Source: "https://example.org/q2", Name: "q2", OutDir: "/dl", State: core.StateQueued, Size: -1},
		{ID: "done", Source: "https://example.org/d.bin", Name: "d.bin", OutDir: "/dl", State: core.StateDone, Size: 300, Done: 300,
			Path: "/dl/d (1).bin", Ended: t0.Add(3 * time.Minute)},
		{ID: "failed", Source: "https://example.org/gone", Name: "gone", OutDir: "/dl", State: core.StateFailed, Size: -1,
			Err: &origin.StatusError{Code: 404, URL: "https://example.org/gone"}, Ended: t0.Add(1 * time.Minute)},
		{ID: "canceled", Source: "https://example.org/c", Name: "c", OutDir: "/dl", State: core.StateCanceled, Size: 50, Done: 10,
			Ended: t0.Add(2 * time.Minute)},
		{ID: "failed2", Source: "https://example.org/x", Name: "x", OutDir: "/dl", State: core.StateFailed, Size: -1,
			Err: errors.New("the address is not allowed"), Ended: t0.Add(4 * time.Minute)},
	}
}

// TestTellStatus: aria2's status structure, whole and filtered by keys,
// for each state.
func TestTellStatus(t *testing.T) {
	eng := newFake(snapshots()...)
	_, url := startServer(t, eng)
	eng.publish(core.DownloadProgress{ID: "run", Size: 1000, Done: 400, Rate: 2048.7})
	waitFor(t, func() bool {
		var st map[string]any
		call(t, url, &st, "aria2.tellStatus", rpc.GID("run"), []string{"downloadSpeed"})
		return st["downloadSpeed"] == "2048"
	})

	var run map[string]any
	call(t, url, &run, "aria2.tellStatus", rpc.GID("run"))
	want := map[string]any{
		"gid": rpc.GID("run"), "status": "active", "totalLength": "1000", "completedLength": "400",
		"uploadLength": "0", "downloadSpeed": "2048", "uploadSpeed": "0", "connections": "2", "dir": "/dl",
		"files": []any{map[string]any{
			"index": "1", "path": "/dl/run.iso", "length": "1000", "completedLength": "400", "selected": "true",
			"uris": []any{map[string]any{"uri": "https://example.org/run.iso", "status": "used"}},
		}},
	}
	if !reflect.DeepEqual(run, want) {
		t.Errorf("tellStatus\n got %v\nwant %v", run, want)
	}

	tests := []struct {
		id   core.DownloadID
		keys []string
		want map[string]any
	}{
		{"probe", []string{"status", "totalLength", "completedLength"}, map[string]any{"status": "active", "totalLength": "0", "completedLength": "0"}},
		{"q1", []string{"status", "gid"}, map[string]any{"status": "waiting", "gid": rpc.GID("q1")}},
		{"paused", []string{"status", "completedLength", "downloadSpeed"}, map[string]any{"status": "paused", "completedLength": "100", "downloadSpeed": "0"}},
		{"done", []string{"status", "completedLength", "errorCode", "errorMessage"}, map[string]any{"status": "complete", "completedLength": "300", "errorCode": "0", "errorMessage": ""}},
		{"failed", []string{"status", "errorCode", "errorMessage"}, map[string]any{"status": "error", "errorCode": "3", "errorMessage": "https://example.org/gone answered 404 Not Found"}},
		{"failed2", []string{"errorCode", "errorMessage"}, map[string]any{"errorCode": "1", "errorMessage": "the address is not allowed"}},
		{"canceled", []string{"status", "errorCode", "nosuchkey"}, map[string]any{"status": "removed", "errorCode": "31"}},
		{"q1", []string{"errorCode"}, map[string]any{}},
	}
	for _, tc := range tests {
		var got map[string]any
		call(t, url, &got, "aria2.tellStatus", rpc.GID(tc.id), tc.keys)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s %v: got %v, want %v", tc.id, tc.keys, got, tc.want)
		}
	}
	var files []map[string]any
	call(t, url, &files, "aria2.getFiles", rpc.GID("done"))
	if len(files) != 1 || files[0]["path"] != "/dl/d (1).bin" {
		t.Errorf("getFiles of a done download (final name): %v", files)
	}
	var uris []map[string]string
	call(t, url, &uris, "aria2.getUris", rpc.GID("run"))
	if len(uris) != 1 || uris[0]["uri"] != "https://example.org/run.iso" || uris[0]["status"] != "used" {
		t.Errorf("getUris: %v", uris)
	}
	var opts map[string]string
	call(t, url, &opts, "aria2.getOption", rpc.GID("done"))
	if !maps.Equal(opts, map[string]string{"dir": "/dl", "out": "d.bin"}) {
		t.Errorf("getOption: %v", opts)
	}

	for _, tc := range []struct {
		params []any
		want   string
	}{
		{[]any{"0123456789abcdef"}, "GID 0123456789abcdef is not found"},
		{[]any{"xyz"}, "Invalid GID xyz"},
		{[]any{"0123456789abcdeg"}, "Invalid GID 0123456789abcdeg"},
		{[]any{7}, "The parameter at 0 has wrong type."},
		{nil, "The parameter at 0 is required but missing."},
		{[]any{rpc.GID("run"), "status"}, "The parameter at 1 has wrong type."},
	} {
		if msg := callErr(t, url, "aria2.tellStatus", tc.params...); msg != tc.want {
			t.Errorf("tellStatus %v: %q, want %q", tc.params, msg, tc.want)
		}
	}
	// Upper-case GIDs are the same GIDs.
	var st map[string]any
	call(t, url, &st, "aria2.tellStatus", strings.ToUpper(rpc.GID("q1")), []string{"gid"})
	if st["gid"] != rpc.GID("q1") {
		t.Errorf("upper-case gid: %v", st)
	}
}

// TestWithoutURL: downloads of links without a url, added other than by
// addUri (a dragon:// link in the window, a link file, AddLink), show in
// every call that reports downloads, with no URI but their source.
func TestWithoutURL(t *testing.T) {
	sha := strings.Repeat("5c", 32)
	source := "dragon://?name=debian.iso&size=4000&sha256=" + sha
	eng := newFake(core.DownloadSnapshot{
		ID: "room", Source: source, Name: "debian.iso", OutDir: "/dl", State: core.StateDownloading, Size: 4000, Done: 1000,
		Peers: []core.PeerShare{{Peer: "p2", InFlight: 1}},
	}, core.DownloadSnapshot{
		ID: "roomfailed", Source: source, Name: "debian.iso", OutDir: "/dl", State: core.StateFailed, Size: 4000,
		Err: errors.New("no room member shares a copy of debian.iso (sha256 " + sha + "), and the link gives no url to download it from"),
	})
	id, err := eng.AddLink(link.Link{Name: "other.iso", Size: 12, SHA256: sha}, "")
	if err != nil {
		t.Fatal(err)
	}
	_, url := startServer(t, eng)

	var st map[string]any
	call(t, url, &st, "aria2.tellStatus", rpc.GID("room"))
	want := map[string]any{
		"gid": rpc.GID("room"), "status": "active", "totalLength": "4000", "completedLength": "1000",
		"uploadLength": "0", "downloadSpeed": "0", "uploadSpeed": "0", "connections": "1", "dir": "/dl",
		"files": []any{map[string]any{
			"index": "1", "path": "/dl/debian.iso", "length": "4000", "completedLength": "1000", "selected": "true",
			"uris": []any{map[string]any{"uri": source, "status": "used"}},
		}},
	}
	if !reflect.DeepEqual(st, want) {
		t.Errorf("tellStatus\n got %v\nwant %v", st, want)
	}
	// Added with no source at all: no URI.
	call(t, url, &st, "aria2.tellStatus", rpc.GID(id))
	if st["status"] != "waiting" || !reflect.DeepEqual(st["files"], []any{map[string]any{
		"index": "1", "path": fakeOutDir + "/other.iso", "length": "0", "completedLength": "0", "selected": "true", "uris": []any{},
	}}) {
		t.Errorf("tellStatus of a download added by AddLink without a url: %v", st)
	}
	var uris []map[string]string
	call(t, url, &uris, "aria2.getUris", rpc.GID(id))
	if len(uris) != 0 {
		t.Errorf("getUris of a download without a url or source: %v", uris)
	}
	call(t, url, &uris, "aria2.getUris", rpc.GID("room"))
	if len(uris) != 1 || uris[0]["uri"] != source {
		t.Errorf("getUris: %v", uris)
	}
	var files []map[string]any
	call(t, url, &files, "aria2.getFiles", rpc.GID("room"))
	if len(files) != 1 || files[0]["path"] != "/dl/debian.iso" {
		t.Errorf("getFiles: %v", files)
	}
	var opts map[string]string
	call(t, url, &opts, "aria2.getOption", rpc.GID("room"))
	if !maps.Equal(opts, map[string]string{"dir": "/dl", "out": "debian.iso"}) {
		t.Errorf("getOption: %v", opts)
	}
	call(t, url, &st, "aria2.tellStatus", rpc.GID("roomfailed"), []string{"status", "errorCode", "errorMessage"})
	if st["status"] != "error" || st["errorCode"] != "1" || !strings.Contains(st["errorMessage"].(string), "no room member shares a copy") {
		t.Errorf("tellStatus of a failed download without a url: %v", st)
	}
	for _, m := range []struct {
		method string
		params []any
		want   []string
	}{
		{"aria2.tellActive", []any{[]string{"gid"}}, []string{rpc.GID("room")}},
		{"aria2.tellWaiting", []any{0, 10, []string{"gid"}}, []string{rpc.GID(id)}},
		{"aria2.tellStopped", []any{0, 10, []string{"gid"}}, []string{rpc.GID("roomfailed")}},
	} {
		var list []map[string]any
		call(t, url, &list, m.method, m.params...)
		var got []string
		for _, d := range list {
			got = append(got, d["gid"].(string))
		}
		if !slices.Equal(got, m.want) {
			t.Errorf("%s: %v, want %v", m.method, got, m.want)
		}
	}
	var stat map[string]string
	call(t, url, &stat, "aria2.getGlobalStat")
	if stat["numActive"] != "1" || stat["numWaiting"] != "1" || stat["numStopped"] != "1" {
		t.Errorf("getGlobalStat: %v", stat)
	}
	// Pausing and resuming one works as for any download.
	var gid string
	call(t, url, &gid, "aria2.pause", rpc.GID("room"))
	call(t, url, &gid, "aria2.unpause", rpc.GID("room"))
	if gid != rpc.GID("room") {
		t.Errorf("unpause answered %q", gid)
	}
}

// TestLists: tellActive, tellWaiting and tellStopped list the right
// downloads in aria2's order, with its pagination.
func TestLists(t *testing.T) {
	eng := newFake(snapshots()...)
	_, url := startServer(t, eng)
	gids := func(method string, params ...any) []string {
		t.Helper()
		var list []map[string]any
		call(t, url, &list, method, params...)
		var out []string
		for _, d := range list {
			if len(d) != 1 {
				t.Errorf("%s %v: keys not filtered: %v", method, params, d)
			}
			out = append(out, d["gid"].(string))
		}
		return out
	}
	g := func(ids ...core.DownloadID) []string {
		var out []string
		for _, id := range ids {
			out = append(out, rpc.GID(id))
		}
		return out
	}
	key := []string{"gid"}
	tests := []struct {
		method string
		params []any
		want   []string
	}{
		{"aria2.tellActive", []any{key}, g("run", "probe")},
		{"aria2.tellWaiting", []any{0, 10, key}, g("q1", "paused", "q2")},
		{"aria2.tellWaiting", []any{1, 1, key}, g("paused")},
		{"aria2.tellWaiting", []any{-1, 2, key}, g("q2", "paused")},
		{"aria2.tellWaiting", []any{3, 10, key}, nil},
		{"aria2.tellWaiting", []any{0, 0, key}, nil},
		// Stopped ones in the order they ended.
		{"aria2.tellStopped", []any{0, 1000, key}, g("failed", "canceled", "done", "failed2")},
		{"aria2.tellStopped", []any{-1, 1000, key}, g("failed2", "done", "canceled", "failed")},
		{"aria2.tellStopped", []any{-2, 2, key}, g("done", "canceled")},
		{"aria2.tellStopped", []any{-5, 2, key}, nil},
	}
	for _, tc := range tests {
		if got := gids(tc.method, tc.params...); !slices.Equal(got, tc.want) {
			t.Errorf("%s %v: %v, want %v", tc.method, tc.params, got, tc.want)
		}
	}
	if msg := callErr(t, url, "aria2.tellWaiting", 0, -1); !strings.Contains(msg, "greater than or equal to 0") {
		t.Errorf("negative num: %q", msg)
	}
	if msg := callErr(t, url, "aria2.tellStopped", "0", 1); msg != "The parameter at 0 has wrong type." {
		t.Errorf("offset as a string: %q", msg)
	}
	if msg := callErr(t, url, "aria2.tellWaiting", 0); msg != "The parameter at 1 is required but missing." {
		t.Errorf("no num: %q", msg)
	}

	var stat map[string]string
	call(t, url, &stat, "aria2.getGlobalStat")
	wantStat := map[string]string{"downloadSpeed": "0", "uploadSpeed": "0", "numActive": "2", "numWaiting": "3", "numStopped": "4", "numStoppedTotal": "4"}
	if !maps.Equal(stat, wantStat) {
		t.Errorf("getGlobalStat %v, want %v", stat, wantStat)
	}
}

// TestControl: pause, unpause, remove and the result methods call the
// engine only where aria2 would act, and refuse the rest with its words.
func TestControl(t *testing.T) {
	eng := newFake(snapshots()...)
	_, url := startServer(t, eng)
	var r string
	ok := func(method string, id core.DownloadID, wantResult string, wantActions ...string) {
		t.Helper()
		call(t, url, &r, method, rpc.GID(id))
		if r != wantResult {
			t.Errorf("%s %s: result %q, want %q", method, id, r, wantResult)
		}
		if got := eng.takeActions(); !slices.Equal(got, wantActions) {
			t.Errorf("%s %s: engine got %v, want %v", method, id, got, wantActions)
		}
	}
	refused := func(method string, id core.DownloadID, want string) {
		t.Helper()
		msg := callErr(t, url, method, rpc.GID(id))
		if !strings.Contains(msg, want) || !strings.Contains(msg, rpc.GID(id)) {
			t.Errorf("%s %s: %q, want %q", method, id, msg, want)
		}
		if got := eng.takeActions(); len(got) != 0 {
			t.Errorf("%s %s: engine got %v", method, id, got)
		}
	}
	ok("aria2.pause", "run", rpc.GID("run"), "pause run")
	refused("aria2.pause", "run", "cannot be paused now") // it is paused now
	ok("aria2.forcePause", "q1", rpc.GID("q1"), "pause q1")
	refused("aria2.pause", "done", "cannot be paused now")
	ok("aria2.unpause", "run", rpc.GID("run"), "resume run")
	refused("aria2.unpause", "probe", "cannot be unpaused now")
	refused("aria2.unpause", "failed", "cannot be unpaused now")
	ok("aria2.remove", "probe", rpc.GID("probe"), "cancel probe")
	ok("aria2.forceRemove", "paused", rpc.GID("paused"), "cancel paused")
	refused("aria2.remove", "done", "Active Download not found")
	refused("aria2.removeDownloadResult", "q2", "Could not remove download result")
	ok("aria2.removeDownloadResult", "failed", "OK", "remove failed")
	if msg := callErr(t, url, "aria2.tellStatus", rpc.GID("failed")); !strings.Contains(msg, "is not found") {
		t.Errorf("tellStatus after removeDownloadResult: %q", msg)
	}

	call(t, url, &r, "aria2.pauseAll")
	if got := eng.takeActions(); !slices.Equal(got, []string{"pause run", "pause q2"}) {
		t.Errorf("pauseAll: %v", got)
	}
	call(t, url, &r, "aria2.unpauseAll")
	if got := eng.takeActions(); !slices.Equal(got, []string{"resume run", "resume q1", "resume q2"}) {
		t.Errorf("unpauseAll: %v", got)
	}
	call(t, url, &r, "aria2.purgeDownloadResult")
	if got := eng.takeActions(); !slices.Equal(got, []string{"clear"}) || r != "OK" {
		t.Errorf("purgeDownloadResult: %v %q", got, r)
	}
	var stopped []map[string]any
	call(t, url, &stopped, "aria2.tellStopped", 0, 100)
	if len(stopped) != 0 {
		t.Errorf("stopped after purge: %v", stopped)
	}
}

// TestInfo: getVersion, listMethods, listNotifications, getGlobalOption.
func TestInfo(t *testing.T) {
	_, url := startServer(t, newFake())
	var version map[string]any
	call(t, url, &version, "aria2.getVersion")
	if v, _ := version["version"].(string); !strings.HasPrefix(v, "1.") || version["dragonload"] != "test" || version["enabledFeatures"] == nil {
		t.Errorf("getVersion: %v", version)
	}
	var names []string
	call(t, url, &names, "system.listMethods")
	for _, m := range []string{"aria2.addUri", "aria2.tellStatus", "aria2.tellActive", "aria2.tellWaiting", "aria2.tellStopped",
		"aria2.pause", "aria2.unpause", "aria2.remove", "aria2.forcePause", "aria2.forceRemove", "aria2.getGlobalStat",
		"aria2.getVersion", "system.listMethods", "system.multicall"} {
		if !slices.Contains(names, m) {
			t.Errorf("listMethods lacks %s: %v", m, names)
		}
	}
	if !slices.Equal(names, rpc.MethodNames()) {
		t.Errorf("listMethods %v, MethodNames %v", names, rpc.MethodNames())
	}
	var notes []string
	call(t, url, &notes, "system.listNotifications")
	if len(notes) != 5 || notes[0] != "aria2.onDownloadStart" {
		t.Errorf("listNotifications: %v", notes)
	}
	var opts map[string]string
	call(t, url, &opts, "aria2.getGlobalOption")
	if opts["dir"] != fakeOutDir {
		t.Errorf("getGlobalOption: %v", opts)
	}
}

// TestGID: GIDs are 16 lowercase hex digits, stable and distinct.
func TestGID(t *testing.T) {
	seen := make(map[string]bool)
	for i := range 1000 {
		id := core.DownloadID(strings.Repeat("a", i%7) + string(rune('a'+i%26)) + time.Duration(i).String())
		g := rpc.GID(id)
		if len(g) != 16 || strings.ToLower(g) != g || strings.Trim(g, "0123456789abcdef") != "" {
			t.Fatalf("GID %q", g)
		}
		if g != rpc.GID(id) {
			t.Fatalf("GID of %q not stable", id)
		}
		if seen[g] {
			t.Fatalf("GID %s repeats", g)
		}
		seen[g] = true
	}
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
