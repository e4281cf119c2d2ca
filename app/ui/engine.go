package ui

import (
	"context"

	"github.com/dragonload/dragonload/core"
	"github.com/dragonload/dragonload/core/index"
	"github.com/dragonload/dragonload/core/link"
)

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

	// Finished downloads shared with the room, for ShareDays after they
	// finished and only while lending (core/share.go): the Settings
	// pane's switch and days, and the Shared tab's list.
	SharesFinished() bool
	SetSharesFinished(on bool)
	ShareDays() int
	SetShareDays(days int)
	Shared() []index.Entry
	StopSharing(path string) error
	// Search asks the room's ready members for shared files whose names
	// hold every word, waiting a few seconds for them: never call it on
	// the main goroutine. AddLink downloads a result from its holders.
	Search(ctx context.Context, words string) []core.SearchResult
	AddLink(l link.Link, outDir string) (core.DownloadID, error)
}
