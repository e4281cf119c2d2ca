// Command dragonload pools the internet links of the machines on a LAN to
// download one large file faster. See README.md and DESIGN.md.
//
// main only parses the command line (app/cli) and hands the desktop front
// end (app) to it; `dragonload agent` and the other subcommands never start
// Fyne.
package main

import (
	"os"

	"github.com/dragonload/dragonload/app"
	"github.com/dragonload/dragonload/app/cli"
	_ "github.com/dragonload/dragonload/app/locale" // before Fyne reads the locale
)

func main() {
	os.Exit(cli.Main(os.Args[1:], cli.DefaultEnv(), app.Desktop))
}
