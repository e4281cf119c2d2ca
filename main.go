// Command dragonload pools the internet links of the machines on a LAN to
// download one large file faster. See README.md and DESIGN.md.
//
// main only parses the command line (app/cli) and hands it the desktop front
// end (app/desktop: the Fyne window and tray, or none when built with
// -tags nogui); `dragonload agent` and the other subcommands never start
// Fyne.
package main

import (
	"os"

	"github.com/dragonload/dragonload/app/cli"
	"github.com/dragonload/dragonload/app/desktop"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], cli.DefaultEnv(), desktop.FrontEnd))
}
