// Package assets holds the images Dragonload ships, embedded in the binary.
//
// The PNG files are drawn by ./internal/mark (a signed-distance renderer, so
// every size is sharp) and committed; regenerate them with `go generate`.
// The linux/ folder holds what `make install` copies into the user's data
// folders: the desktop entry (which registers the dragon:// scheme and the
// application/x-dragon type, something FyneApp.toml cannot express) and the
// shared-mime-info definition of *.dragon files.
//
// FyneApp.toml (at the module root) feeds `go tool fyne package`, which
// rewrites the file on every run (dropping comments and bumping Build), so
// its notes live here: ExecParams is " %U" with a leading space because the
// tool's desktop-entry template joins it to Exec with none.
package assets

import (
	_ "embed"
)

//go:generate go run ./internal/mark -out .

// Icon is the application icon, 512×512 PNG.
//
//go:embed icon.png
var Icon []byte

// TrayIcon is the system-tray icon, 64×64 PNG.
//
//go:embed tray.png
var TrayIcon []byte
