package cli

import (
	"fmt"
	"strings"
)

// usage is the general help: `dragonload help`, -h, --help.
const usage = `Dragonload pools the internet links of the machines on your LAN to download one file faster.

Usage: dragonload [SOURCE...] [FLAGS]    open the desktop app; SOURCEs (URLs, .dragon files,
                                         dragon:// links) are queued
       dragonload COMMAND [ARGS] [FLAGS]

Commands:
  agent                 headless: lend bandwidth, watch the folder, serve peers
  get SOURCE            download one SOURCE now, with a progress display
  peers [--wait DUR]    list the peers of this room seen on the LAN
  search WORDS          find files the room's peers share, and the links that download them
  link URL              print a .dragon file for URL
  join                  ask for a room code and join that room (the code stays off the command line)
  rpc-secret            print the secret for the aria2 RPC (--rpc), made on first use
  version               print the version, commit, Go and protocol version (also --version)
  help [COMMAND]        help for one command (also COMMAND --help)

` + commonFlags + `
` + exitCodes

const commonFlags = `Flags every command takes:
  --home DIR                 config and state (default: $DRAGONLOAD_HOME or the user config folder)
  --room CODE                join this room (a shared secret) and remember it; default: the stored one,
                             created on first run. A code on the command line is visible to every
                             local user: prefer 'dragonload join', --room-file or $DRAGONLOAD_ROOM
  --room-file FILE           read the room code from the first line of FILE
  --name NAME                display name shown to peers, for this run (default: the one set in the
                             app, else the host name and a short id, e.g. vm-3fa2)
  --listen ADDR              UDP address for QUIC (default: :4700 for the app and agent, another
                             port when 4700 is taken; any free port for get and peers)
  --peer HOST:PORT           a peer to use besides the ones mDNS finds (repeatable)
  --no-mdns                  do not use LAN discovery
  --iface NAME               network interface for LAN discovery
  --source IP                local address for fetches from origins
  --out DIR                  where finished files go, for this run (the app's setting stays)
  --watch DIR                folder watched for .dragon files, for this run
  --allow-private-origins    allow origins on loopback/private addresses (test beds, LAN mirrors)
  --log-level LEVEL          debug, info, warn or error
`

const exitCodes = `Exit codes: 0 success, 1 failure, 2 bad usage or input, 130 interrupted (run again to resume).
`

const agentHelp = `Usage: dragonload agent [FLAGS]

Runs headless: lends this machine's bandwidth to the room, serves its peers,
and downloads every .dragon file dropped into the --watch folder (into --out,
else the folder set in the app, else ~/Downloads). Listens on UDP :4700
(another port, logged, when 4700 is taken) unless --listen says otherwise.
Runs until interrupted (Ctrl+C, SIGTERM).

Flags of the agent and the app:
  --rpc ADDR                 serve aria2's JSON-RPC on a loopback ADDR (127.0.0.1:6800) for
                             browser extensions and aria2 front ends; the secret token is
                             $DRAGONLOAD_RPC_SECRET or the one 'dragonload rpc-secret' prints

Examples:
  dragonload join && dragonload agent      (join asks for the room code)
  dragonload agent --watch ~/Dragon --peer 192.168.1.20:4700
  dragonload agent --rpc 127.0.0.1:6800

` + commonFlags + `
` + exitCodes

const getHelp = `Usage: dragonload get SOURCE [FLAGS]

Downloads one SOURCE now: a URL, a .dragon file or a dragon:// link. The
room's lenders fetch parts of it; the file appears in --out (default: the
current folder) only once complete and verified. On a terminal it draws a
progress bar per source; it ends with a summary line on stderr (name, size,
time taken, average speed, each source's share) and prints the path of the
file on stdout. Interrupted, it keeps what it has: the same command resumes.

Flags of get:
  --events FILE              write every engine event to FILE as JSON lines

Examples:
  dragonload get https://example.org/big.iso
  dragonload get big.dragon --out ~/Downloads

` + commonFlags + `
Exit codes: 0 the verified file is in place, 1 failure, 2 bad usage or input,
130 interrupted (run the same command again to resume).
`

const peersHelp = `Usage: dragonload peers [--wait DUR] [FLAGS]

Lists the peers of this room that answer within DUR (default 3s, at most
1h): name, node, address, whether they lend, round-trip time and how they
were found. Where multicast is blocked, name peers with --peer HOST:4700.

Flags of peers:
  --wait DUR                 how long to look for peers (default 3s)

` + commonFlags + `
` + exitCodes

const searchHelp = `Usage: dragonload search WORDS [--wait DUR] [FLAGS]

Asks the room's peers for the files they share (their finished downloads,
while they lend) whose names hold every one of WORDS, in any case, and
lists them best match first: name, size, SHA-256 and who holds it. Each
comes with a link naming the file by SHA-256, name and size; 'dragonload
get LINK' downloads it from its holders at once, with no origin, and
checks it against the SHA-256. Peers found within DUR (default 3s) are
asked.

Flags of search:
  --wait DUR                 how long to look for peers before asking (default 3s)

Example:
  dragonload search debian netinst

` + commonFlags + `
` + exitCodes

const linkHelp = `Usage: dragonload link URL [--sha256 HEX] [--name NAME] [--size BYTES]

Prints a .dragon link file for URL on stdout, to hand to other machines or
drop into a watched folder. It touches neither the network nor the room.

Flags of link:
  --sha256 HEX               the file's SHA-256, checked before the file is kept
  --name NAME                the file name to save as (default: from the URL)
  --size BYTES               the file's size in bytes

Example:
  dragonload link https://example.org/big.iso --sha256 HEX > big.dragon

` + exitCodes

const rpcSecretHelp = `Usage: dragonload rpc-secret [--home DIR]

Prints the secret token that aria2 clients (browser extensions, AriaNg)
must send to the JSON-RPC the app and the agent serve with --rpc ADDR:
$DRAGONLOAD_RPC_SECRET when set, else the one stored under --home,
made (and stored, readable only by you) on first use.
` + "\n" + exitCodes

const joinHelp = `Usage: dragonload join [--home DIR]

Asks for a room code (from the app's Settings, or the code an agent
printed when it made the room) and saves it under --home: the app and
dragonload agent then use that room. On a terminal the code is read
without echo; otherwise from the first line of standard input, so
"dragonload join < code.txt" works. The code never appears on a command
line, where every local user could read it. A short code gets a warning:
a made-up word is easy to guess online.
` + "\n" + exitCodes

const versionHelp = `Usage: dragonload version

Prints this build's version, the commit it was built from ("+dirty" when
the tree had changes), the Go release that built it and the peer protocol
version it speaks (peers must speak the same). Also: dragonload --version.
`

const helpHelp = `Usage: dragonload help [COMMAND]

Prints the general help, or the help of one command (the same as
dragonload COMMAND --help). Commands: agent, get, peers, link, join,
rpc-secret, version, help.
`

// printHelp prints the help of cmd ("" = the general help) on stdout.
func printHelp(env Env, cmd string) int {
	text := usage
	if c := lookup(cmd); c != nil {
		text = c.help
	}
	fmt.Fprint(env.Stdout, text)
	return ExitOK
}

// runHelp is `dragonload help [COMMAND]`.
func runHelp(args []string, env Env) int {
	fs, _ := newFlags("help", env) // the common flags are accepted, and mean nothing here
	pos, err := parse(fs, args)
	if err != nil {
		return usageError(env, "help", err)
	}
	switch {
	case len(pos) == 0:
		return printHelp(env, "")
	case len(pos) > 1:
		return usageError(env, "help", fmt.Errorf("help takes one command, got %d arguments", len(pos)))
	case lookup(pos[0]) == nil:
		return unknownCommand(env, pos[0])
	}
	return printHelp(env, pos[0])
}

// unknownCommand says, in one sentence on stderr, that word is no command
// (suggesting the nearest one when it looks like a typo) and returns
// ExitUsage.
func unknownCommand(env Env, word string) int {
	var names []string
	for _, c := range commands {
		names = append(names, c.name)
	}
	if near := closest(word, names); near != "" {
		fmt.Fprintf(env.Stderr, "dragonload: unknown command %q; did you mean %q?\n", word, near)
	} else {
		fmt.Fprintf(env.Stderr, "dragonload: unknown command %q, and no URL, dragon:// link or file by that name; run `dragonload help` for the commands.\n", word)
	}
	return ExitUsage
}

// closest returns the candidate nearest to word when it is near enough to
// be a typo of it (one edit for words of up to four letters, two for
// longer ones; letters swapped count as one edit, case is ignored), else "".
func closest(word string, candidates []string) string {
	w := strings.ToLower(word)
	limit := 1
	if len([]rune(w)) > 4 {
		limit = 2
	}
	best, bestD := "", limit+1
	for _, c := range candidates {
		if d := editDistance(w, strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the optimal string alignment distance between a and b:
// insertions, deletions, substitutions and swaps of two neighbours.
func editDistance(a, b string) int {
	s, t := []rune(a), []rune(b)
	d := make([][]int, len(s)+1)
	for i := range d {
		d[i] = make([]int, len(t)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(s); i++ {
		for j := 1; j <= len(t); j++ {
			cost := 1
			if s[i-1] == t[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && s[i-1] == t[j-2] && s[i-2] == t[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(s)][len(t)]
}
