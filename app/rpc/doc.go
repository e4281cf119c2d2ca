// Package rpc serves a subset of aria2's JSON-RPC interface on a loopback
// address, so that browser extensions and front ends written for aria2
// (AriaNg, the extensions that hand a browser's downloads over with their
// cookies, referer and user agent, aria2 client libraries) can drive the
// engine. It is a front end of the engine like the tray or the command line:
// every download it adds goes through Engine.AddLink, with the same SSRF
// guard and the same rules as a link typed into the window.
//
// # Transport
//
// JSON-RPC 2.0 over HTTP POST to /jsonrpc, and over a WebSocket on the same
// path; batches (a JSON array of requests) are accepted on both. Over a
// WebSocket the server also sends aria2's notifications: aria2.onDownloadStart,
// onDownloadPause, onDownloadStop (removed by the user), onDownloadComplete
// and onDownloadError, each with params [{"gid": GID}]. Like aria2, it answers
// a request without an "id" with an Invalid Request error, does not require
// the "jsonrpc" member, and uses aria2's HTTP status codes for errors (400 for
// a failed call or an invalid request, 404 for an unknown method, 500 for a
// parse error or invalid params).
//
// # Methods
//
// aria2.addUri (options dir, out, header, referer, user-agent and
// checksum=sha-256=HEX; other aria2 options are ignored, as aria2 ignores
// options that do not apply), aria2.tellStatus, aria2.tellActive,
// aria2.tellWaiting, aria2.tellStopped (offset, num and keys as in aria2,
// negative offsets counting from the end in reverse), aria2.getFiles,
// aria2.getUris, aria2.getOption (dir and out),
// aria2.pause, aria2.forcePause, aria2.pauseAll, aria2.forcePauseAll,
// aria2.unpause, aria2.unpauseAll, aria2.remove, aria2.forceRemove,
// aria2.removeDownloadResult, aria2.purgeDownloadResult, aria2.getGlobalStat,
// aria2.getGlobalOption (only "dir"), aria2.getVersion, system.multicall,
// system.listMethods and system.listNotifications.
//
// Engine states map to aria2's as follows: queued is "waiting"; probing,
// downloading and verifying are "active"; paused is "paused"; done is
// "complete"; failed is "error"; canceled is "removed". aria2.remove cancels
// the download (its partial file is deleted) and it stays listed by
// tellStopped until removeDownloadResult or purgeDownloadResult forgets it.
// GIDs are 16 hex digits derived from the engine's download ids (the first
// 64 bits of a SHA-256), so they stay the same across restarts.
//
// # Security
//
//   - The server listens on loopback addresses only: Listen, ListenAndServe
//     and Serve refuse any other address.
//   - Every call needs the secret as its first parameter, "token:SECRET",
//     compared in constant time. system.multicall carries it in each of its
//     calls, as aria2 clients send it (a token given to the multicall itself
//     must be right too). A call without it or with a wrong one gets aria2's
//     {"code":1,"message":"Unauthorized"}.
//   - A request whose Host is not a loopback name or address (localhost,
//     127.0.0.0/8, ::1) is refused, which defeats DNS rebinding; so is one
//     with an Origin header that is neither a loopback http(s) origin nor a
//     browser extension's origin (chrome-extension://, moz-extension://,
//     safari-web-extension://). The
//     extension schemes are allowed because the extensions this serves send
//     them; a web page cannot forge them, and an extension still needs the
//     secret. Allowed cross-origin callers get CORS headers naming their
//     origin only.
//   - Bodies and WebSocket messages are capped at MaxBodySize (1 MiB), a
//     batch or multicall at MaxCalls calls, WebSocket sessions at
//     MaxSessions.
//   - Notifications carry only a GID, which is useless without the secret;
//     like aria2 they go to every WebSocket that passed the Host and Origin
//     checks.
//
// # The secret
//
// LoadOrCreateSecret returns, in order of precedence: the environment
// variable DRAGONLOAD_RPC_SECRET; the secret stored in HOME/rpc-secret; a new
// random secret of 160 bits (32 base32 characters), which it stores there
// (mode 0600, written atomically). A secret must be at least MinSecretLen
// characters.
package rpc
