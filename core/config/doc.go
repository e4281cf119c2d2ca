// Package config owns the home folder: the settings file, the node key and
// the resume-independent state a node keeps between runs.
//
// Layout of the home folder (default os.UserConfigDir()/dragonload, or
// $DRAGONLOAD_HOME, or --home):
//
//	config.toml   settings (TOML, written atomically, mode 0600: it holds the room code)
//	node.key      this node's Ed25519 identity (see quicwire)
//
// config.toml keys:
//
//	room             string  the room code (a shared secret)
//	name             string  display name shown to peers
//	out_dir          string  where finished files go
//	watch_dir        string  folder watched for .dragon files ("" = none)
//	lending          bool    lend bandwidth to room peers
//	lend_rate        int     bytes per second lent, all peers together (0 = no cap)
//	lend_concurrency int     chunk requests served at once
//	max_downloads    int     downloads running at once
//	peers            [string] peers added by hand (host:port)
//	onboarded        bool    the first-run introduction was shown
//	banned           table   node id → why, for members caught altering bytes
//	no_spot_checks   bool    do not spot-check lenders' bytes against the origin
package config
