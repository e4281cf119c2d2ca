// Package autostart registers Dragonload to start when the user logs in,
// the way each desktop expects it, for the current user only:
//
//	Linux and other XDG desktops  $XDG_CONFIG_HOME/autostart/<ID>.desktop
//	                              (default ~/.config/autostart), a Desktop Entry
//	macOS                         ~/Library/LaunchAgents/<ID>.plist, a launchd
//	                              agent with RunAtLoad, loaded at the next login
//	Windows                       the value "Dragonload" under
//	                              HKCU\Software\Microsoft\Windows\CurrentVersion\Run
//
// Enable writes the entry (atomically where it is a file) and replaces an
// older one; Disable removes it; Enabled reports whether one is there and
// the desktop has not switched it off (Hidden=true or
// X-GNOME-Autostart-enabled=false in the desktop entry; the Startup
// Apps switch of Windows' Task Manager). Nothing is started now: the
// entries only take effect at the next login.
//
// The command is an absolute program path and its arguments, quoted for
// each format: the Desktop Entry specification's Exec quoting (with its
// string escapes on top), XML text in the property list, and the
// CommandLineToArgvW rules on Windows. The builders are plain functions
// without build tags, so their tests run on every system.
//
// The package has no Fyne or engine dependency: the app calls it from the
// Settings pane through a small option.
package autostart
