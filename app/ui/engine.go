package ui

import "github.com/dragonload/dragonload/core"

// Engine is what the window needs from the download engine; *core.Engine
// implements it.
type Engine interface {
	Add(source, outDir string) (core.DownloadID, error)
	Pause(id core.DownloadID) error
	Resume(id core.DownloadID) error
	Cancel(id core.DownloadID) error
	Downloads() []core.DownloadSnapshot
	ShareLink(id core.DownloadID) (string, error)
	Remove(id core.DownloadID) error
	ClearFinished() []core.DownloadID

	SetLending(on bool)
	Lending() bool
	SetLimits(l core.Limits)
	Limits() core.Limits

	Peers() []core.PeerInfo
	AddPeer(addr string) error
	RenamePeer(id, nickname string) error
	RemovePeer(addr string) error
	Discovering() bool
	RoomCode() string
	SetRoom(code string) error
	NodeID() string
	Addr() string

	OutDir() string
	SetOutDir(dir string) error
	WatchDir() string
	SetWatchDir(dir string) error

	Subscribe() (events <-chan core.Event, cancel func())

	// The machine and the options of the Settings pane.
	Name() string
	SetName(name string) error
	AllowPrivate() bool
	SetAllowPrivate(on bool)
	Theme() string
	SetTheme(name string) error
	// AskOpenedLinks: the window asks before it downloads a dragon://
	// link or .dragon file another program opened with it.
	AskOpenedLinks() bool
	SetAskOpenedLinks(ask bool)
	// Lenders caught altering bytes are banned (core/ban.go); the Peers
	// tab shows them and forgives them.
	Unban(id string) error
	SpotChecks() bool
	SetSpotChecks(on bool)
}
