// Package lan checks LAN discovery end to end with the real dragonload
// binary on a netbed: hosts in network namespaces joined by one bridge, so
// that mDNS multicast flows between them as on a real LAN and never leaves
// the namespaces.
//
// The tests use only what a user has: the command line, its exit codes, its
// output, and the events file of `dragonload get --events FILE` (one JSON
// object per engine event and line). No test passes --peer: every peer is
// found by mDNS.
//
//   - TestPeersListsRoom: `dragonload peers --wait 3s` lists exactly the
//     agents of its own room, not the one in another room, and returns soon
//     after the wait.
//   - TestPeerLost: a running download's peer table drops an agent stopped
//     with SIGTERM within 2 s, and one killed with SIGKILL within 10 s.
//   - TestLateAgentJoins: an agent started while a download runs fetches a
//     share of the remaining bytes, and the file is whole and correct.
//
// Like netbed, the tests need root; they skip elsewhere, and fail instead
// of skipping when CI=true (CI runs as root).
package lan
