//go:build nogui

package desktop

import "github.com/dragonload/dragonload/app/cli"

// FrontEnd is nil in a headless build: `dragonload` without a subcommand
// says there is no desktop front end and suggests agent or get.
var FrontEnd cli.Desktop
