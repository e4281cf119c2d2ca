// Package gui holds the end-to-end test of the desktop app: the real
// binary on a virtual X display (Xvfb) with a private D-Bus session bus,
// driven with xdotool and a few raw X11 and D-Bus calls, as a person would.
//
// It checks that a link typed into the window downloads (against a local
// test origin), that a second launch hands its link to the first and exits
// 0, that closing the window hides it while a tray exists, that the tray's
// Quit ends the app, and that without a session bus the app runs with no
// tray and closing the window quits. On the way it opens the Shared tab,
// which lists the finished downloads, and searches the room for a file
// the agent shares. TestDesktopRestartResumes kills the app (SIGKILL)
// mid-download and starts it again without the link: the
// download must be restored from the list under --home, show in the
// window, resume from its partial file's journal (the origin serves about
// the file once, not again from zero) and finish with the right SHA-256.
// Screenshots of each stage are written to test/gui/artifacts/ (override
// with DRAGONLOAD_E2E_ARTIFACTS).
//
// It needs Xvfb, xdotool, dbus-daemon and ImageMagick's import; it skips
// without them, except under CI=true, where it fails.
package gui
