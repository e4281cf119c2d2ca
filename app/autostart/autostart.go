package autostart

import (
	"fmt"
	"path/filepath"
	"unicode"
	"unicode/utf8"
)

// ID names the entry: the desktop file, the launchd label. It is the
// application id of FyneApp.toml and app.ID (this package cannot import
// app, which uses it).
const ID = "io.github.dragonload.Dragonload"

// Name is the entry's name for people, and the Windows Run value's name.
const Name = "Dragonload"

// Enable makes the user's next logins run exe with args. exe must be an
// absolute path: a login session's PATH is not the shell's.
func Enable(exe string, args []string) error {
	if err := checkCommand(exe, args); err != nil {
		return err
	}
	return enable(exe, args)
}

// Disable removes the entry; without one it does nothing.
func Disable() error { return disable() }

// Enabled reports whether an entry is there and switched on.
func Enabled() (bool, error) { return enabled() }

// checkCommand refuses what no format can carry: a relative program, and
// control characters or invalid UTF-8 (a newline would end a desktop
// entry's line; XML 1.0 has no form for most controls).
func checkCommand(exe string, args []string) error {
	if !filepath.IsAbs(exe) {
		return fmt.Errorf("cannot start %q at login: the program's path must be absolute", exe)
	}
	for _, s := range append([]string{exe}, args...) {
		if !utf8.ValidString(s) {
			return fmt.Errorf("cannot start at login with %q: not valid UTF-8", s)
		}
		for _, r := range s {
			if unicode.IsControl(r) {
				return fmt.Errorf("cannot start at login with %q: it holds a control character", s)
			}
		}
	}
	return nil
}
