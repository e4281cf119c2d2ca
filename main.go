// Command dragonload pools the internet links of the machines on a LAN to
// download one large file faster. See README.md and DESIGN.md.
package main

import (
	"os"

	"github.com/dragonload/dragonload/app/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], cli.DefaultEnv(), nil))
}
