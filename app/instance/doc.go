// Package instance keeps Dragonload to one desktop app per user and home
// folder. The first app listens on a local socket; a later launch connects,
// hands over its arguments (links and link files to add) and exits.
//
// The socket lives in a folder only the user can enter:
// $XDG_RUNTIME_DIR/dragonload/ when the desktop provides one, else
// <temp>/dragonload-<uid>/ created with mode 0700 and refused if anyone else
// owns it. Its name is derived from the home folder, so two homes (two test
// nodes on one machine) run side by side. On Linux the listener also checks
// the caller's uid with SO_PEERCRED.
//
// Protocol: one request per connection. The client sends one line of JSON,
// {"args":["https://…","/abs/path/x.dragon"]}, at most MaxMessage bytes; the
// server answers one line, {"ok":true} or {"error":"…"}, and closes. An empty
// args list asks the running app to show its window. Both sides give up
// after Timeout.
package instance
