package core

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dragonload/dragonload/core/config"
	"github.com/dragonload/dragonload/core/discover"
	"github.com/dragonload/dragonload/core/dlist"
	"github.com/dragonload/dragonload/core/index"
	"github.com/dragonload/dragonload/core/lend"
	"github.com/dragonload/dragonload/core/link"
	"github.com/dragonload/dragonload/core/origin"
	"github.com/dragonload/dragonload/core/recent"
	"github.com/dragonload/dragonload/core/transfer"
	"github.com/dragonload/dragonload/core/watch"
	"github.com/dragonload/dragonload/quicwire"
)

// Config is what a front end decides before the engine starts. Zero values
// mean "what the settings file says", then the built-in default.
type Config struct {
	Home         string   // config and state folder
	Room         string   // room to join (remembered); "" = the stored one, created on first run
	Name         string   // display name for this run; "" = settings, then host name and id (peername.go)
	Listen       string   // UDP address for QUIC; "" = PreferListen, else any free port
	Peers        []string // manual peer addresses (host:port), for this run
	NoMDNS       bool
	Iface        string       // interface for mDNS
	Source       net.IP       // local address for origin fetches
	OutDir       string       // where finished files go
	WatchDir     string       // folder watched for .dragon files
	AllowPrivate bool         // fetch from loopback/private origins (test beds, LAN mirrors)
	Lending      *bool        // nil = from settings
	Limits       Limits       // zero fields = from settings
	PeerSources  []PeerSource // more places to find peers, besides Peers and mDNS
	// PreferListen is where QUIC listens when Listen is "": the app and the
	// agent pass DefaultListen (UDP 4700) so that an address given to
	// others keeps working across restarts. When it cannot be bound (the
	// port is taken), the engine listens on any free port of the same host
	// and logs it. "" = any free port (one-shot commands, tests).
	PreferListen string
	// GiveUp fails a download that makes no durable progress for this
	// long; 0 = the settings file's give_up_seconds, else 2 minutes.
	GiveUp time.Duration
	// KeepList keeps the download list under Home: unfinished downloads
	// are restored (and resume) on start, and the list is saved as it
	// changes. The app and the agent set it; one-shot commands (get,
	// peers) leave the list alone, so they neither run the app's
	// downloads nor overwrite its list.
	KeepList bool
	Logger   *slog.Logger

	recent recentOptions // tests only (recentpeers.go)
}

// Engine is one Dragonload node. All methods are safe for concurrent use.
type Engine struct {
	log      *slog.Logger
	home     string
	cfg      Config
	bus      *bus
	ctx      context.Context
	stop     context.CancelFunc
	wg       sync.WaitGroup
	firstRun bool

	ident  *quicwire.Identity
	index  *index.Index   // finished downloads shared with the room (share.go)
	notes  notes          // what room members are downloading (notes.go)
	origin *origin.Client // this node's downloads; see SetAllowPrivate
	dlRate *downloadRate  // Limits.DownloadRate, for every download (options.go)
	lender *lend.Server
	peers  *peerTable
	recent *recent.List // room peers reached lately, for the next start (recentpeers.go)
	claims claims       // which sources report which addresses

	mu        sync.Mutex
	settings  config.Settings
	room      string
	roomKey   quicwire.Room // derived from roomCode; costly (argon2id), so once per code
	roomCode  string
	node      *quicwire.Node
	disc      *discover.Discoverer
	discStop  context.CancelFunc
	watcher   *watch.Watcher
	watchStop context.CancelFunc
	downloads map[DownloadID]*download
	order     []DownloadID
	history   *dlist.List // the download list on disk; set once in New
	outDir    string      // --out for this run, not saved; "" = settings
	watchDir  string      // --watch for this run, not saved; "" = settings
	name      string      // display name in force (peername.go); settings.Name holds only one the user chose
	limits    Limits
	closed    atomic.Bool
}

// New builds and starts an engine: it loads or creates the home folder,
// starts the QUIC node, the peer table, discovery and the watched folder.
func New(cfg Config) (*Engine, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	home := cfg.Home
	if home == "" {
		h, err := config.DefaultHome()
		if err != nil {
			return nil, err
		}
		home = h
	}
	if err := os.MkdirAll(home, 0o700); err != nil {
		return nil, fmt.Errorf("cannot create home folder %s: %w", home, err)
	}
	settings, fresh, err := config.Load(home)
	if err != nil {
		return nil, err
	}
	e := &Engine{
		log:       log,
		home:      home,
		cfg:       cfg,
		bus:       newBus(),
		settings:  settings,
		downloads: make(map[DownloadID]*download),
	}
	e.ctx, e.stop = context.WithCancel(context.Background())

	// A room given on the command line is a join: it is remembered, so
	// the next start (the app, the agent) is in the same room.
	e.room = quicwire.NormalizeRoomCode(cfg.Room)
	joined := e.room != "" && e.room != settings.Room
	switch {
	case e.room == "" && settings.Room == "":
		e.room = quicwire.GenerateRoomCode()
		e.settings.Room = e.room
		e.firstRun = true
	case e.room == "":
		e.room = settings.Room
	default:
		e.settings.Room = e.room
	}
	// The display name is settled once the identity is loaded (initName).
	// --out and --watch hold for this run only: the folders the user set
	// in the app stay in the settings file (see OutDir and WatchDir).
	e.outDir, e.watchDir = cfg.OutDir, cfg.WatchDir
	if fresh || e.firstRun || joined {
		if err := config.Save(home, e.settings); err != nil {
			return nil, err
		}
	}
	e.limits = Limits{
		LendRate:        e.settings.LendRate,
		LendConcurrency: e.settings.LendConcurrency,
		MaxDownloads:    e.settings.MaxDownloads,
		DownloadRate:    downloadRateFloor(e.settings.DownloadRate),
	}
	mergeLimits(&e.limits, cfg.Limits)
	e.dlRate = newDownloadRate(e.limits.DownloadRate)
	lending := e.settings.Lending
	if cfg.Lending != nil {
		lending = *cfg.Lending
	}

	e.ident, err = quicwire.LoadIdentity(filepath.Join(home, config.KeyFile))
	if err != nil {
		return nil, err
	}
	if err := e.initName(cfg.Name); err != nil {
		return nil, err
	}
	originOpts := origin.Options{
		SourceIP:     cfg.Source,
		AllowPrivate: cfg.AllowPrivate,
		UserAgent:    "Dragonload/1",
		Logger:       log.With("pkg", "origin"),
		// A server that never answers is told apart within the give-up
		// time, whatever it is set to: a probe makes two requests.
		HeaderTimeout: min(max(e.giveUp()/4, 2*time.Second), 30*time.Second),
	}
	// Room peers choose what a lender fetches, so the lender keeps its own
	// client, which only the command-line flag opens to private
	// addresses; the setting opens this node's own downloads alone.
	lendOrigin := origin.New(originOpts)
	originOpts.AllowPrivate = cfg.AllowPrivate || e.settings.AllowPrivateOrigins
	originOpts.PrivateHint = privateHint
	e.origin = origin.New(originOpts)
	e.index, err = index.Open(filepath.Join(home, IndexFile))
	if err != nil {
		// A damaged index was set aside; sharing starts again empty.
		log.Warn("shared-files index was unreadable and starts empty", "err", err)
	}
	if n, err := e.index.Expire(e.shareCutoff()); err != nil {
		log.Warn("cannot expire shared files", "err", err)
	} else if n > 0 {
		log.Info("stopped sharing old downloads", "count", n)
	}
	e.peers = e.newPeerTable()
	e.lender = lend.New(lend.Options{
		Origin:      lendOrigin,
		Lending:     lending,
		Rate:        e.limits.LendRate,
		Concurrency: e.limits.LendConcurrency,
		Logger:      log.With("pkg", "lend"),
		OnLent:      e.peers.LentTo,
	})
	if err := e.startNode(); err != nil {
		return nil, err
	}
	e.startRecent() // first: remembered peers are dialed before mDNS hears of them
	e.runSource(e.ctx, StaticPeers{Via: "manual", Addrs: slices.Concat(e.settings.Peers, cfg.Peers)})
	for _, src := range cfg.PeerSources {
		e.runSource(e.ctx, src)
	}
	if !cfg.NoMDNS {
		if err := e.startDiscovery(); err != nil {
			e.Close()
			return nil, err
		}
	}
	if cfg.KeepList {
		if err := e.openHistory(); err != nil {
			e.Close()
			return nil, err
		}
	}
	if w := e.WatchDir(); w != "" {
		if err := e.startWatch(w); err != nil {
			e.Close()
			return nil, err
		}
	}
	e.dispatch()
	e.wg.Add(2)
	go func() {
		defer e.wg.Done()
		e.peers.Run(e.ctx)
	}()
	go func() {
		defer e.wg.Done()
		e.runNotes(e.ctx)
	}()
	return e, nil
}

// FirstRun reports whether this engine created the room (a fresh home): the
// front end then tells the user how other machines join.
func (e *Engine) FirstRun() bool { return e.firstRun }

// Home is the folder holding config and state.
func (e *Engine) Home() string { return e.home }

// Close stops every download (their partial files stay for resume), the
// watcher, discovery and the QUIC node.
func (e *Engine) Close() error {
	if e.closed.Swap(true) {
		return nil
	}
	e.mu.Lock()
	for _, d := range e.downloads {
		d.stopRun(errEngineClosed)
	}
	if e.watchStop != nil {
		e.watchStop()
	}
	if e.discStop != nil {
		e.discStop()
	}
	e.mu.Unlock()
	e.stop()
	e.peers.Close()
	e.wg.Wait()
	e.mu.Lock()
	node := e.node
	e.mu.Unlock()
	var err error
	if node != nil {
		err = node.Close()
	}
	if e.history != nil {
		if herr := e.history.Close(); herr != nil && err == nil {
			err = herr
		}
	}
	e.bus.close()
	return err
}

// Subscribe returns the event stream. Progress-type events (DownloadProgress,
// PeerUpdated, Lent, PeerNote) are coalesced for a slow subscriber; every other event
// is delivered in order. A subscriber that falls 65,536 other events behind
// gets one Resync{From, To} in place of the events it missed, then the
// events after To: it must read Downloads() and Peers() again. cancel ends
// the subscription and closes the channel.
func (e *Engine) Subscribe() (events <-chan Event, cancel func()) { return e.bus.subscribe() }

// SetLending turns lending to room peers on or off, and remembers it.
func (e *Engine) SetLending(on bool) {
	if e.lender.Lending() == on {
		return
	}
	e.lender.SetLending(on)
	e.mu.Lock()
	disc := e.disc
	e.mu.Unlock()
	if disc != nil {
		disc.SetLending(on)
	}
	e.updateSettings(func(s *config.Settings) { s.Lending = on })
	e.bus.publish(LendingChanged{On: on})
}

// Lending reports whether this node lends bandwidth.
func (e *Engine) Lending() bool { return e.lender.Lending() }

// SetLimits changes the lending caps, the download speed limit and the
// number of downloads at once. Zero fields keep their current value.
func (e *Engine) SetLimits(l Limits) {
	e.mu.Lock()
	mergeLimits(&e.limits, l)
	cur := e.limits
	e.mu.Unlock()
	e.lender.SetLimits(cur.LendRate, cur.LendConcurrency)
	e.dlRate.set(cur.DownloadRate)
	e.updateSettings(func(s *config.Settings) {
		s.LendRate, s.LendConcurrency, s.MaxDownloads = cur.LendRate, cur.LendConcurrency, cur.MaxDownloads
		s.DownloadRate = cur.DownloadRate
	})
	e.dispatch()
}

// Limits returns the caps in force.
func (e *Engine) Limits() Limits {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.limits
}

// NoRateCap is the value of Limits.LendRate or Limits.DownloadRate that
// removes a bandwidth cap through SetLimits (where zero means "unchanged").
const NoRateCap = -1

func mergeLimits(dst *Limits, src Limits) {
	switch {
	case src.LendRate == NoRateCap:
		dst.LendRate = 0
	case src.LendRate > 0:
		dst.LendRate = src.LendRate
	}
	switch {
	case src.DownloadRate == NoRateCap:
		dst.DownloadRate = 0
	case src.DownloadRate > 0:
		dst.DownloadRate = downloadRateFloor(src.DownloadRate)
	}
	if src.LendConcurrency > 0 {
		dst.LendConcurrency = src.LendConcurrency
	}
	if src.MaxDownloads > 0 {
		dst.MaxDownloads = src.MaxDownloads
	}
}

// RoomCode is the room this node is in.
func (e *Engine) RoomCode() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.room
}

// SetRoom moves this node into another room ("" makes a new one) and
// remembers it. Connections to the old room's peers are closed.
func (e *Engine) SetRoom(code string) error {
	code = quicwire.NormalizeRoomCode(code)
	if code == "" {
		code = quicwire.GenerateRoomCode()
	}
	e.mu.Lock()
	if code == e.room {
		e.mu.Unlock()
		return nil
	}
	old := e.node
	e.room = code
	e.mu.Unlock()
	e.peers.DropAll("room changed")
	if old != nil {
		old.Close()
	}
	if err := e.startNode(); err != nil {
		return err
	}
	e.mu.Lock()
	if e.disc != nil {
		e.discStop()
		e.disc = nil
	}
	e.mu.Unlock()
	if !e.cfg.NoMDNS {
		if err := e.startDiscovery(); err != nil {
			return err
		}
	}
	e.peers.RedialAll()
	e.updateSettings(func(s *config.Settings) { s.Room = code })
	return nil
}

// NodeID is this node's id (base32 of the hash of its public key).
func (e *Engine) NodeID() string { return e.ident.ID.String() }

// Name is this node's display name, as peers see it: the one given with
// SetName, else --name, else the settings file's, else the host name and
// the first four hex digits of the node id ("vm-3fa2").
func (e *Engine) Name() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.name
}

// Addr is the UDP address the QUIC node is bound to.
func (e *Engine) Addr() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.node == nil {
		return ""
	}
	return e.node.Addr().String()
}

// OutDir is where finished files go.
func (e *Engine) OutDir() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, dir := range []string{e.outDir, e.settings.OutDir, e.watchDir, e.settings.WatchDir} {
		if dir != "" {
			return dir
		}
	}
	return config.DefaultOutDir()
}

// SetOutDir changes where finished files go, and remembers it.
func (e *Engine) SetOutDir(dir string) error {
	abs, err := usableDir(dir)
	if err != nil {
		return err
	}
	e.mu.Lock()
	e.outDir = "" // the user's choice replaces this run's --out
	e.mu.Unlock()
	e.updateSettings(func(s *config.Settings) { s.OutDir = abs })
	return nil
}

// WatchDir is the folder watched for .dragon files ("" = none).
func (e *Engine) WatchDir() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.watchDir != "" {
		return e.watchDir
	}
	return e.settings.WatchDir
}

// SetWatchDir watches another folder ("" stops watching), and remembers it.
func (e *Engine) SetWatchDir(dir string) error {
	var abs string
	if dir != "" {
		var err error
		if abs, err = usableDir(dir); err != nil {
			return err
		}
	}
	e.mu.Lock()
	if e.watchStop != nil {
		e.watchStop()
		e.watchStop, e.watcher = nil, nil
	}
	e.watchDir = "" // the user's choice replaces this run's --watch
	e.mu.Unlock()
	if abs != "" {
		if err := e.startWatch(abs); err != nil {
			return err
		}
	}
	e.updateSettings(func(s *config.Settings) { s.WatchDir = abs })
	return nil
}

// Peers lists the room peers this node knows, ready or not.
func (e *Engine) Peers() []PeerInfo { return e.withBans(peerInfos(e.peers.List())) }

// AddPeer adds a peer by address and remembers it.
func (e *Engine) AddPeer(addr string) error {
	if err := CheckPeerAddr(addr); err != nil {
		return fmt.Errorf("peer address %w", err)
	}
	e.claims.found(e.peers, addr, "config") // so that the recent source's grace leaves it alone
	e.updateSettings(func(s *config.Settings) {
		if !slices.Contains(s.Peers, addr) {
			s.Peers = append(s.Peers, addr)
		}
	})
	return nil
}

// CheckPeerAddr says what is wrong with a peer address, or returns nil for
// a usable HOST:PORT. The error starts with the quoted address, for the
// caller to put what it is in front: "--peer %w", "peer address %w".
func CheckPeerAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return fmt.Errorf("%q is not HOST:PORT (for example 192.168.1.20:4700 or [fe80::1%%eth0]:4700)", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("%q has no valid port: it must be a number from 1 to 65535", addr)
	}
	return nil
}

// Onboarded reports whether the first-run introduction was shown.
func (e *Engine) Onboarded() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.settings.Onboarded
}

// SetOnboarded records that the first-run introduction was shown.
func (e *Engine) SetOnboarded() { e.updateSettings(func(s *config.Settings) { s.Onboarded = true }) }

func (e *Engine) updateSettings(change func(*config.Settings)) {
	e.mu.Lock()
	change(&e.settings)
	s := e.settings
	s.Peers = slices.Clone(s.Peers)
	s.Banned = maps.Clone(s.Banned)
	e.mu.Unlock()
	if err := config.Save(e.home, s); err != nil {
		e.log.Error("cannot save settings", "err", err)
		e.bus.publish(Notice{Level: "error", Text: err.Error()})
	}
}

func (e *Engine) startNode() error {
	e.mu.Lock()
	if e.roomCode != e.room {
		e.roomKey, e.roomCode = roomFor(e.home, e.room, e.log), e.room
	}
	roomKey, name := e.roomKey, e.name
	listen, prefer := e.cfg.Listen, ""
	switch {
	case e.node != nil:
		// Rebinding after a room change keeps the port peers know.
		listen = e.node.Addr().String()
	case listen == "" && e.cfg.PreferListen != "":
		prefer = e.cfg.PreferListen
	case listen == "":
		listen = ":0"
	}
	e.mu.Unlock()
	qcfg := quicwire.Config{
		Identity: e.ident,
		Room:     roomKey,
		Name:     name,
		Listen:   listen,
		Handler:  e.lender,
		Sharer:   sharer{e},
		Noter:    noter{e},
		Lending:  e.lender.Lending,
		Logger:   e.log.With("pkg", "quicwire"),
	}
	var node *quicwire.Node
	var preferErr error
	if prefer != "" {
		// The preferred port is only a preference: a second instance, or
		// anything else holding it, must not stop this one from starting.
		qcfg.Listen = prefer
		if node, preferErr = quicwire.Listen(qcfg); preferErr != nil {
			host, _, _ := net.SplitHostPort(prefer)
			qcfg.Listen = net.JoinHostPort(host, "0")
		}
	}
	if node == nil {
		var err error
		if node, err = quicwire.Listen(qcfg); err != nil {
			return fmt.Errorf("cannot listen on %s: %w", qcfg.Listen, err)
		}
	}
	if preferErr != nil {
		e.log.Warn("the usual UDP port is taken; listening on another, so peers given this machine's address need the new one",
			"wanted", prefer, "listen", node.Addr().String(), "err", preferErr)
	}
	e.mu.Lock()
	e.node = node
	if e.name != name {
		node.SetName(e.name) // renamed meanwhile; SetName saw the old node
	}
	e.mu.Unlock()
	return nil
}

// giveUp is how long a download may go without durable progress.
func (e *Engine) giveUp() time.Duration {
	if e.cfg.GiveUp > 0 {
		return e.cfg.GiveUp
	}
	e.mu.Lock()
	secs := e.settings.GiveUpSeconds
	e.mu.Unlock()
	if secs > 0 {
		return time.Duration(secs) * time.Second
	}
	return transfer.DefaultGiveUp
}

func (e *Engine) currentNode() *quicwire.Node {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.node
}

func newDownloadID() DownloadID {
	var b [6]byte
	rand.Read(b[:])
	return DownloadID(hex.EncodeToString(b[:]))
}

func usableDir(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("folder %q: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return "", fmt.Errorf("cannot use folder %s: %w", abs, err)
	}
	return abs, nil
}

var errEngineClosed = errors.New("the engine is shutting down")

// ParseSource turns what a user typed or dropped into a link: an http(s)
// URL, a dragon:// link, or the path of a .dragon file.
func ParseSource(source string) (link.Link, error) {
	l, ok, err := link.ParseSource(source)
	if err != nil {
		return link.Link{}, err
	}
	if ok {
		return l, nil
	}
	fi, err := os.Stat(source)
	if err != nil {
		return link.Link{}, fmt.Errorf("%q is neither a URL, a dragon:// link nor a readable link file", source)
	}
	if fi.Size() > link.MaxFileSize {
		return link.Link{}, fmt.Errorf("link file %s is larger than %d KiB", source, link.MaxFileSize>>10)
	}
	data, err := os.ReadFile(source)
	if err != nil {
		return link.Link{}, fmt.Errorf("cannot read link file: %w", err)
	}
	l, err = link.Parse(data)
	if err != nil {
		return link.Link{}, fmt.Errorf("link file %s: %w", source, err)
	}
	return l, nil
}
