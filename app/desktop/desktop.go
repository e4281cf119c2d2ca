//go:build !nogui

// Package desktop chooses the front end main hands to the command line: the
// Fyne window and tray, or none in a headless build.
//
// `go build -tags nogui` leaves Fyne out entirely. The result needs no cgo,
// no X11 or OpenGL libraries, and runs every subcommand but the window; it
// is the build for servers that only lend (`dragonload agent`).
package desktop

import (
	// Imported before Fyne's own init reads the locale; see its doc.
	_ "github.com/dragonload/dragonload/app/locale"

	"github.com/dragonload/dragonload/app"
	"github.com/dragonload/dragonload/app/cli"
)

// FrontEnd opens the desktop window and tray.
var FrontEnd cli.Desktop = app.Desktop
