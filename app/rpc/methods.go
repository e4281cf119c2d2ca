package rpc

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/dragonload/dragonload/core"
	"github.com/dragonload/dragonload/core/link"
	"github.com/dragonload/dragonload/core/origin"
)

// ariaVersion is the aria2 version whose RPC this server follows.
const ariaVersion = "1.37.0"

type method func(s *Server, p params) (any, error)

// methods are the calls served, by name; system.multicall is handled
// before the lookup.
var methods map[string]method

// notifications are the notifications sent over WebSocket.
var notifications = []string{
	"aria2.onDownloadStart", "aria2.onDownloadPause", "aria2.onDownloadStop",
	"aria2.onDownloadComplete", "aria2.onDownloadError",
}

func init() {
	methods = map[string]method{
		"aria2.addUri":               (*Server).addURI,
		"aria2.remove":               (*Server).remove,
		"aria2.forceRemove":          (*Server).remove,
		"aria2.pause":                (*Server).pause,
		"aria2.forcePause":           (*Server).pause,
		"aria2.pauseAll":             (*Server).pauseAll,
		"aria2.forcePauseAll":        (*Server).pauseAll,
		"aria2.unpause":              (*Server).unpause,
		"aria2.unpauseAll":           (*Server).unpauseAll,
		"aria2.tellStatus":           (*Server).tellStatus,
		"aria2.getFiles":             (*Server).getFiles,
		"aria2.getUris":              (*Server).getUris,
		"aria2.getOption":            (*Server).getOption,
		"aria2.tellActive":           (*Server).tellActive,
		"aria2.tellWaiting":          (*Server).tellWaiting,
		"aria2.tellStopped":          (*Server).tellStopped,
		"aria2.removeDownloadResult": (*Server).removeDownloadResult,
		"aria2.purgeDownloadResult":  (*Server).purgeDownloadResult,
		"aria2.getGlobalStat":        (*Server).getGlobalStat,
		"aria2.getGlobalOption":      (*Server).getGlobalOption,
		"aria2.getVersion":           (*Server).getVersion,
		"system.listMethods":         (*Server).listMethods,
		"system.listNotifications":   (*Server).listNotifications,
	}
}

// MethodNames lists the methods served, system.multicall included, sorted.
func MethodNames() []string {
	names := make([]string, 0, len(methods)+1)
	for n := range methods {
		names = append(names, n)
	}
	names = append(names, "system.multicall")
	slices.Sort(names)
	return names
}

// GID is the aria2 GID of a download: 16 hex digits, the first 64 bits of
// a SHA-256 of its id, so the same download keeps its GID across restarts.
func GID(id core.DownloadID) string {
	h := sha256.Sum256([]byte("dragonload rpc gid\x00" + string(id)))
	return hex.EncodeToString(h[:8])
}

// find returns the download whose GID is parameter i.
func (s *Server) find(p params, i int) (core.DownloadSnapshot, string, error) {
	g, _, err := p.str(i, true)
	if err != nil {
		return core.DownloadSnapshot{}, "", err
	}
	if len(g) != 16 {
		return core.DownloadSnapshot{}, "", fail("Invalid GID %s", g)
	}
	if _, err := hex.DecodeString(g); err != nil {
		return core.DownloadSnapshot{}, "", fail("Invalid GID %s", g)
	}
	g = strings.ToLower(g)
	for _, d := range s.eng.Downloads() {
		if GID(d.ID) == g {
			return d, g, nil
		}
	}
	return core.DownloadSnapshot{}, "", fail("GID %s is not found", g)
}

// addURI adds one download: [uris, options?, position?]. More than one URI
// are mirrors of the same file, as in aria2.
func (s *Server) addURI(p params) (any, error) {
	list, _, err := p.list(0, true)
	if err != nil {
		return nil, err
	}
	uris := stringsOf(list)
	if len(uris) == 0 {
		return nil, fail("URI is not provided.")
	}
	// An empty URI is refused here: a link without a url is one that
	// names its file by sha256, name and size for the room to supply,
	// which is not what an aria2 client asks for, and its rules would
	// answer with a sentence about fields addUri does not have.
	for i, u := range uris {
		if u == "" {
			return nil, fail("addUri needs a URI (URI %d of %d is empty).", i+1, len(uris))
		}
	}
	opts, _, err := p.dict(1, false)
	if err != nil {
		return nil, err
	}
	if pos, ok, err := p.integer(2, false); err != nil {
		return nil, err
	} else if ok && pos < 0 {
		return nil, fail("Position must be greater than or equal to 0.")
	}
	l := link.Link{URL: uris[0]}
	for _, u := range uris[1:] {
		if u != l.URL && !slices.Contains(l.Mirrors, u) {
			l.Mirrors = append(l.Mirrors, u)
		}
	}
	outDir, err := s.applyOptions(&l, opts)
	if err != nil {
		return nil, err
	}
	id, err := s.eng.AddLink(l, outDir)
	if err != nil {
		return nil, err
	}
	s.log.Info("download added over RPC", "gid", GID(id), "id", id, "url", l.URL)
	return GID(id), nil
}

// applyOptions maps aria2's options to the link's fields and returns the
// folder asked for ("" = the default). Options that do not apply here are
// ignored, as aria2 ignores options that do not apply to a call.
func (s *Server) applyOptions(l *link.Link, opts map[string]json.RawMessage) (string, error) {
	var outDir, referer, agent string
	var headers []string
	for name, raw := range opts {
		var v string
		isString := kindOf(raw) == '"' && json.Unmarshal(raw, &v) == nil
		switch name {
		case "header":
			if isString {
				headers = append(headers, v)
			} else if kindOf(raw) == '[' {
				var list []json.RawMessage
				if json.Unmarshal(raw, &list) == nil {
					headers = append(headers, stringsOf(list)...)
				}
			}
			continue
		case "dir", "out", "referer", "user-agent", "checksum":
		default:
			s.log.Debug("ignored an aria2 option", "option", name)
			continue
		}
		if !isString {
			continue
		}
		switch name {
		case "dir":
			if v != "" && !filepath.IsAbs(v) {
				return "", fail("dir must be an absolute path (got %q).", v)
			}
			if v != "" {
				outDir = filepath.Clean(v)
			}
		case "out":
			l.Name = v
		case "referer":
			referer = v
		case "user-agent":
			agent = v
		case "checksum":
			algo, sum, _ := strings.Cut(v, "=")
			if strings.EqualFold(algo, "sha-256") {
				l.SHA256 = strings.ToLower(sum)
			} else {
				s.log.Warn("ignored a checksum that Dragonload cannot check (only sha-256)", "algorithm", algo)
			}
		}
	}
	for _, h := range headers {
		name, value, ok := strings.Cut(h, ":")
		name, value = strings.TrimSpace(name), strings.Trim(value, " \t")
		if !ok || name == "" {
			return "", fail("header %q is not \"Name: value\".", h)
		}
		// Headers the fetcher sets itself, which a link may not set: a
		// browser extension forwarding every header of a request sends
		// some, and they are dropped rather than failing the download.
		if link.ReservedHeader(name) {
			continue
		}
		addHeader(l, name, value)
	}
	if referer == "*" {
		// The download's own URL, as aria2 does. addURI refuses an empty
		// URI; for a link without a url the referer stays empty and no
		// header is set, since headers need a url.
		referer = l.URL
	}
	if referer != "" {
		setHeader(l, "Referer", referer)
	}
	if agent != "" {
		setHeader(l, "User-Agent", agent)
	}
	return outDir, nil
}

// addHeader adds a header, joining repeats of one name (whatever its case)
// the way HTTP folds them: cookies with "; ", the rest with ", ".
func addHeader(l *link.Link, name, value string) {
	if l.Headers == nil {
		l.Headers = make(map[string]string)
	}
	for k, v := range l.Headers {
		if strings.EqualFold(k, name) {
			sep := ", "
			if strings.EqualFold(name, "cookie") {
				sep = "; "
			}
			l.Headers[k] = v + sep + value
			return
		}
	}
	l.Headers[name] = value
}

// setHeader sets a header, replacing one of the same name in any case.
func setHeader(l *link.Link, name, value string) {
	if l.Headers == nil {
		l.Headers = make(map[string]string)
	}
	for k := range l.Headers {
		if strings.EqualFold(k, name) {
			delete(l.Headers, k)
		}
	}
	l.Headers[name] = value
}

// remove cancels a download that has not ended (aria2's remove): it then
// shows as "removed" among the stopped ones.
func (s *Server) remove(p params) (any, error) {
	d, g, err := s.find(p, 0)
	if err != nil {
		return nil, err
	}
	if d.State.Final() {
		return nil, fail("Active Download not found for GID#%s", g)
	}
	if err := s.eng.Cancel(d.ID); err != nil {
		return nil, err
	}
	return g, nil
}

func (s *Server) pause(p params) (any, error) {
	d, g, err := s.find(p, 0)
	if err != nil {
		return nil, err
	}
	if d.State == core.StatePaused || d.State.Final() {
		return nil, fail("GID#%s cannot be paused now", g)
	}
	if err := s.eng.Pause(d.ID); err != nil {
		return nil, err
	}
	return g, nil
}

func (s *Server) pauseAll(params) (any, error) {
	for _, d := range s.eng.Downloads() {
		if d.State != core.StatePaused && !d.State.Final() {
			s.eng.Pause(d.ID)
		}
	}
	return "OK", nil
}

func (s *Server) unpause(p params) (any, error) {
	d, g, err := s.find(p, 0)
	if err != nil {
		return nil, err
	}
	if d.State != core.StatePaused {
		return nil, fail("GID#%s cannot be unpaused now", g)
	}
	if err := s.eng.Resume(d.ID); err != nil {
		return nil, err
	}
	return g, nil
}

func (s *Server) unpauseAll(params) (any, error) {
	for _, d := range s.eng.Downloads() {
		if d.State == core.StatePaused {
			s.eng.Resume(d.ID)
		}
	}
	return "OK", nil
}

func (s *Server) removeDownloadResult(p params) (any, error) {
	d, g, err := s.find(p, 0)
	if err != nil {
		return nil, err
	}
	if !d.State.Final() {
		return nil, fail("Could not remove download result of GID#%s", g)
	}
	if err := s.eng.Remove(d.ID); err != nil {
		return nil, err
	}
	return "OK", nil
}

func (s *Server) purgeDownloadResult(params) (any, error) {
	s.eng.ClearFinished()
	return "OK", nil
}

// keys reads a list of keys at parameter i; none means every key.
func keys(p params, i int) (map[string]bool, error) {
	list, ok, err := p.list(i, false)
	if err != nil || !ok {
		return nil, err
	}
	names := stringsOf(list)
	if len(names) == 0 {
		return nil, nil
	}
	want := make(map[string]bool, len(names))
	for _, k := range names {
		want[k] = true
	}
	return want, nil
}

func (s *Server) tellStatus(p params) (any, error) {
	d, _, err := s.find(p, 0)
	if err != nil {
		return nil, err
	}
	want, err := keys(p, 1)
	if err != nil {
		return nil, err
	}
	return s.status(d, want), nil
}

func (s *Server) getFiles(p params) (any, error) {
	d, _, err := s.find(p, 0)
	if err != nil {
		return nil, err
	}
	return files(d), nil
}

func (s *Server) getUris(p params) (any, error) {
	d, _, err := s.find(p, 0)
	if err != nil {
		return nil, err
	}
	return files(d)[0]["uris"], nil
}

// getOption reports the options of a download that have a meaning here:
// its folder and, once known, its file name.
func (s *Server) getOption(p params) (any, error) {
	d, _, err := s.find(p, 0)
	if err != nil {
		return nil, err
	}
	opts := map[string]string{"dir": d.OutDir}
	if d.Name != "" {
		opts["out"] = d.Name
	}
	return opts, nil
}

func (s *Server) tellActive(p params) (any, error) {
	want, err := keys(p, 0)
	if err != nil {
		return nil, err
	}
	out := make([]any, 0)
	for _, d := range s.eng.Downloads() {
		if ariaStatus(d.State) == "active" {
			out = append(out, s.status(d, want))
		}
	}
	return out, nil
}

func (s *Server) tellWaiting(p params) (any, error) {
	return s.page(p, func(st core.State) bool { return st == core.StateQueued || st == core.StatePaused }, false)
}

func (s *Server) tellStopped(p params) (any, error) {
	return s.page(p, core.State.Final, true)
}

// page answers tellWaiting and tellStopped: [offset, num, keys?] over the
// downloads whose state matches, in the order they were added (waiting) or
// ended (stopped).
func (s *Server) page(p params, match func(core.State) bool, byEnd bool) (any, error) {
	offset, _, err := p.integer(0, true)
	if err != nil {
		return nil, err
	}
	num, _, err := p.integer(1, true)
	if err != nil {
		return nil, err
	}
	if num < 0 {
		return nil, fail("The integer parameter at 1 has invalid value: the value must be greater than or equal to 0.")
	}
	want, err := keys(p, 2)
	if err != nil {
		return nil, err
	}
	var items []core.DownloadSnapshot
	for _, d := range s.eng.Downloads() {
		if match(d.State) {
			items = append(items, d)
		}
	}
	if byEnd {
		slices.SortStableFunc(items, func(a, b core.DownloadSnapshot) int { return a.Ended.Compare(b.Ended) })
	}
	from, to := pageRange(offset, num, int64(len(items)))
	out := make([]any, 0, to-from)
	for _, d := range items[from:to] {
		out = append(out, s.status(d, want))
	}
	if offset < 0 {
		slices.Reverse(out)
	}
	return out, nil
}

// pageRange is aria2's pagination: num items from offset; a negative offset
// counts from the end (-1 is the last item) and the page runs backwards
// from it (the caller reverses the result).
func pageRange(offset, num, size int64) (from, to int64) {
	if num <= 0 {
		return 0, 0
	}
	if offset < 0 {
		last := offset + size
		if last < 0 {
			return 0, 0
		}
		offset = last - (num - 1)
		if offset < 0 {
			offset, num = 0, last+1
		}
	} else if offset >= size {
		return 0, 0
	}
	return offset, min(offset+num, size)
}

func (s *Server) getGlobalStat(params) (any, error) {
	var active, waiting, stopped int
	var speed float64
	for _, d := range s.eng.Downloads() {
		switch ariaStatus(d.State) {
		case "active":
			active++
			speed += s.rate(d.ID)
		case "waiting", "paused":
			waiting++
		default:
			stopped++
		}
	}
	return map[string]string{
		"downloadSpeed":   itoa(int64(speed)),
		"uploadSpeed":     "0",
		"numActive":       strconv.Itoa(active),
		"numWaiting":      strconv.Itoa(waiting),
		"numStopped":      strconv.Itoa(stopped),
		"numStoppedTotal": strconv.Itoa(stopped),
	}, nil
}

func (s *Server) getGlobalOption(params) (any, error) {
	return map[string]string{"dir": s.eng.OutDir()}, nil
}

func (s *Server) getVersion(params) (any, error) {
	v := map[string]any{
		"version":         ariaVersion,
		"enabledFeatures": []string{"HTTPS"},
	}
	if s.version != "" {
		v["dragonload"] = s.version
	}
	return v, nil
}

func (s *Server) listMethods(params) (any, error) { return MethodNames(), nil }

func (s *Server) listNotifications(params) (any, error) { return slices.Clone(notifications), nil }

// ariaStatus is aria2's name for an engine state.
func ariaStatus(st core.State) string {
	switch st {
	case core.StateQueued:
		return "waiting"
	case core.StatePaused:
		return "paused"
	case core.StateDone:
		return "complete"
	case core.StateFailed:
		return "error"
	case core.StateCanceled:
		return "removed"
	}
	return "active" // probing, downloading, verifying
}

// status is aria2's status structure of one download, with only the keys
// asked for (all when want is nil). Numbers are decimal strings, as aria2
// sends them.
func (s *Server) status(d core.DownloadSnapshot, want map[string]bool) map[string]any {
	out := make(map[string]any)
	put := func(k string, v any) {
		if want == nil || want[k] {
			out[k] = v
		}
	}
	st := ariaStatus(d.State)
	total := max(d.Size, 0)
	done := d.Done
	if d.State == core.StateDone {
		done = total
	}
	var speed float64
	connections := 0
	if st == "active" {
		speed = s.rate(d.ID)
		for _, p := range d.Peers {
			if p.InFlight > 0 {
				connections++
			}
		}
	}
	put("gid", GID(d.ID))
	put("status", st)
	put("totalLength", itoa(total))
	put("completedLength", itoa(done))
	put("uploadLength", "0")
	put("downloadSpeed", itoa(int64(speed)))
	put("uploadSpeed", "0")
	put("connections", strconv.Itoa(connections))
	put("dir", d.OutDir)
	put("files", files(d))
	if d.State.Final() {
		code, msg := errorOf(d)
		put("errorCode", code)
		put("errorMessage", msg)
	}
	return out
}

// files is the one-file list aria2 reports for an HTTP download.
func files(d core.DownloadSnapshot) []map[string]any {
	path := d.Path
	if path == "" && d.Name != "" {
		path = filepath.Join(d.OutDir, d.Name)
	}
	total := max(d.Size, 0)
	done := d.Done
	if d.State == core.StateDone {
		done = total
	}
	uris := make([]map[string]string, 0, 1)
	if d.Source != "" {
		uris = append(uris, map[string]string{"uri": d.Source, "status": "used"})
	}
	return []map[string]any{{
		"index":           "1",
		"path":            path,
		"length":          itoa(total),
		"completedLength": itoa(done),
		"selected":        "true",
		"uris":            uris,
	}}
}

// errorOf is aria2's errorCode and errorMessage of an ended download.
func errorOf(d core.DownloadSnapshot) (string, string) {
	switch d.State {
	case core.StateDone:
		return "0", ""
	case core.StateCanceled:
		return "31", "Removed by the user."
	}
	if d.Err == nil {
		return "1", "Unknown error."
	}
	code := "1"
	var se *origin.StatusError
	switch {
	case errors.As(d.Err, &se) && se.Code == 404:
		code = "3"
	case se != nil && (se.Code == 401 || se.Code == 407):
		code = "24"
	case se != nil && se.Code == 503:
		code = "29"
	case se != nil:
		code = "22"
	case errors.Is(d.Err, origin.ErrNoAnswer):
		code = "2"
	}
	return code, d.Err.Error()
}

func (s *Server) rate(id core.DownloadID) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rates[id]
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
