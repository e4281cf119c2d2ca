package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/BurntSushi/toml"

	"github.com/dragonload/dragonload/core/osutil"
)

// Settings is the content of config.toml.
type Settings struct {
	Room            string   `toml:"room"`
	Name            string   `toml:"name,omitempty"`
	OutDir          string   `toml:"out_dir,omitempty"`
	WatchDir        string   `toml:"watch_dir,omitempty"`
	Lending         bool     `toml:"lending"`
	LendRate        int64    `toml:"lend_rate"`
	LendConcurrency int      `toml:"lend_concurrency"`
	MaxDownloads    int      `toml:"max_downloads"`
	Peers           []string `toml:"peers,omitempty"`
	Onboarded       bool     `toml:"onboarded"`
	// GiveUpSeconds fails a download that makes no durable progress for
	// this long (0 = two minutes). It stays resumable.
	GiveUpSeconds int `toml:"give_up_seconds,omitempty"`
	// Banned are room members caught sending bytes that differ from the
	// origin's: node id → why. They are never used as lenders again.
	Banned map[string]string `toml:"banned,omitempty"`
	// PeerNames are this node's own names for room members (nicknames):
	// node id → name, shown instead of the name each announces. The
	// engine replaces the map rather than change it in place.
	PeerNames map[string]string `toml:"peer_names,omitempty"`
	// NoSpotChecks turns off the spot checks of lenders' bytes (on by
	// default; see core/transfer).
	NoSpotChecks bool `toml:"no_spot_checks,omitempty"`
	// AllowPrivateOrigins lets this node's own downloads fetch from
	// loopback and private addresses (a NAS, a LAN mirror). Room peers'
	// fetches stay guarded; see core.Engine.SetAllowPrivate.
	AllowPrivateOrigins bool `toml:"allow_private_origins,omitempty"`
	// DownloadRate caps the bytes per second all downloads receive,
	// from the origin and from peers together (0 = no cap).
	DownloadRate int64 `toml:"download_rate,omitempty"`
	// Theme is the desktop window's theme: "system" (or ""), "light"
	// or "dark". The engine only keeps it.
	Theme string `toml:"theme,omitempty"`
	// RPC serves the aria2 JSON-RPC on 127.0.0.1:6800 in the app.
	RPC bool `toml:"rpc,omitempty"`
	// NoShare stops sharing finished downloads with the room (shared by
	// default while lending is on; running downloads are always shared
	// with members fetching the same file).
	NoShare bool `toml:"no_share,omitempty"`
	// ShareDays is how many days a finished download stays shared
	// (0 = 14).
	ShareDays int `toml:"share_days,omitempty"`
	// TrustOpenedLinks starts the downloads of dragon:// links and .dragon
	// files opened from other programs without asking first.
	TrustOpenedLinks bool `toml:"trust_opened_links,omitempty"`
}

// Themes a settings file may name; "" is "system".
const (
	ThemeSystem = "system"
	ThemeLight  = "light"
	ThemeDark   = "dark"
)

// Defaults for settings a fresh home folder starts with.
const (
	DefaultLendConcurrency = 8
	DefaultMaxDownloads    = 3
)

// FileName is the settings file inside the home folder.
const FileName = "config.toml"

// KeyFile is the node key inside the home folder.
const KeyFile = "node.key"

// DefaultHome is the home folder used without --home: $DRAGONLOAD_HOME, or
// "dragonload" under the user's configuration folder.
func DefaultHome() (string, error) {
	if h := os.Getenv("DRAGONLOAD_HOME"); h != "" {
		return h, nil
	}
	base, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("cannot find a home folder (set --home or DRAGONLOAD_HOME): %w", err)
	}
	return filepath.Join(base, "dragonload"), nil
}

// DefaultOutDir is where downloads go when nothing else is set: the user's
// Downloads folder, or the current folder when there is no home.
func DefaultOutDir() string {
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, "Downloads")
	}
	return "."
}

// Load reads the settings under home. A missing file is not an error: it
// yields defaults and fresh=true, so the caller can run first-run steps.
func Load(home string) (s Settings, fresh bool, err error) {
	s = Settings{
		Lending:         true,
		LendConcurrency: DefaultLendConcurrency,
		MaxDownloads:    DefaultMaxDownloads,
	}
	path := filepath.Join(home, FileName)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, true, nil
	}
	if err != nil {
		return s, false, fmt.Errorf("cannot read settings: %w", err)
	}
	md, err := toml.Decode(string(data), &s)
	if err != nil {
		return s, false, fmt.Errorf("settings file %s is not valid: %w", path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		return s, false, fmt.Errorf("settings file %s has an unknown key %q", path, und[0].String())
	}
	if s.LendConcurrency <= 0 {
		s.LendConcurrency = DefaultLendConcurrency
	}
	if s.MaxDownloads <= 0 {
		s.MaxDownloads = DefaultMaxDownloads
	}
	if s.LendRate < 0 {
		return s, false, fmt.Errorf("settings file %s: lend_rate must not be negative", path)
	}
	if s.DownloadRate < 0 {
		return s, false, fmt.Errorf("settings file %s: download_rate must not be negative", path)
	}
	switch s.Theme {
	case "", ThemeSystem, ThemeLight, ThemeDark:
	default:
		return s, false, fmt.Errorf("settings file %s: theme must be %q, %q or %q, not %q", path, ThemeSystem, ThemeLight, ThemeDark, s.Theme)
	}
	return s, false, nil
}

// Save writes the settings under home atomically, creating home if needed.
func Save(home string, s Settings) error {
	if err := os.MkdirAll(home, 0o700); err != nil {
		return fmt.Errorf("cannot create home folder: %w", err)
	}
	var buf bytes.Buffer
	buf.WriteString("# Dragonload settings. This file holds the room code: keep it private.\n")
	if err := toml.NewEncoder(&buf).Encode(s); err != nil {
		return fmt.Errorf("cannot encode settings: %w", err)
	}
	return osutil.WriteFileAtomic(filepath.Join(home, FileName), buf.Bytes(), 0o600)
}
