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
	RoomCode() string
	SetRoom(code string) error
	NodeID() string
	Addr() string

	OutDir() string
	SetOutDir(dir string) error
	WatchDir() string
	SetWatchDir(dir string) error

	Subscribe() (events <-chan core.Event, cancel func())
}
