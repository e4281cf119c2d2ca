// Package config owns the home folder: the settings file, the node key and
// the resume-independent state a node keeps between runs.
//
// Layout of the home folder (default os.UserConfigDir()/dragonload, or
// $DRAGONLOAD_HOME, or --home):
//
//	config.toml   settings (TOML, written atomically, mode 0600: it holds the room code)
//	node.key      this node's Ed25519 identity (see quicwire)
//	room-key.json the room key derived from the room code, with the code (mode 0600; core/roomkey.go)
//	recent-peers.json room peers found by mDNS lately, dialed at the next start (mode 0600; core/recent)
//
// config.toml keys:
//
//	room             string  the room code (a shared secret)
//	name             string  display name shown to peers, as chosen in Settings ("" = host name and
//	                         the first four hex digits of the node id, e.g. vm-3fa2; a bare host name,
//	                         which earlier versions saved by themselves, counts as "")
//	out_dir          string  where finished files go
//	watch_dir        string  folder watched for .dragon files ("" = none)
//	lending          bool    lend bandwidth to room peers
//	lend_rate        int     bytes per second lent, all peers together (0 = no cap)
//	lend_concurrency int     chunk requests served at once
//	max_downloads    int     downloads running at once
//	peers            [string] peers added by hand (host:port)
//	onboarded        bool    the first-run introduction was shown
//	banned           table   node id → why, for members caught altering bytes
//	peer_names       table   node id → nickname this node shows for that member (Rename in the Peers tab)
//	no_spot_checks   bool    do not spot-check lenders' bytes against the origin
//	trust_opened_links bool  start dragon:// links and .dragon files opened from other programs without asking
//	allow_private_origins bool  this node's downloads may fetch from loopback/private addresses (LAN mirror, NAS);
//	                         --allow-private-origins allows them for one run and is not saved here
//	download_rate    int     bytes per second all downloads receive, from origins and peers together (0 = no cap)
//	theme            string  the window's theme: "system" (default), "light" or "dark"
//	rpc              bool    the app serves the aria2 JSON-RPC on 127.0.0.1:6800
package config
