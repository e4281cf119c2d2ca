// Command bench measures Dragonload against the ideal on the network test
// bed (package netbed) and writes RESULTS.md and speedup.png. It is what
// `make bench` runs, as root:
//
//	go run ./test/bench -out test/bench
//
// It builds one bed of 8 hosts whose WAN links are shaped to 20 Mbit/s
// each, runs the test origin (test/origin/cmd/testorigin, 20 ms of latency
// per request) in the internet namespace, measures every host's plain HTTP
// goodput, and then runs the scenarios of issue 4 with the real binary
// (bin/dragonload, built if missing): a requester (`dragonload get`) on h1
// and lenders (`dragonload agent`) on the other hosts, in a fresh room.
//
//	a  N = 1, 2, 4, 8 hosts, 256 MiB; aria2c -x16 -s16 from h1 on the same file;
//	   no shared-link notice may appear (every host has a link of its own)
//	b  4 hosts, h4's WAN at 2 Mbit/s
//	c  4 hosts: h2, h3 lend from the start, h4 joins at 25%, h2 is killed at 50%
//	d  lenders' WAN unshaped, LAN 1 Gbit/s, 4 lenders, 1 GiB: intake and CPU per GiB
//	e  lenders' WAN and LAN unshaped, 2 lenders, 4 GiB: peak RSS
//	f  origin bytes / S and LAN bytes / S, every run
//	g  the last 1% of bytes against the median 1%, every run
//	h  LAN copy: h2 fetched the 256 MiB file before and its agent shares
//	   it; h1 gets it with h2 as peer, LAN unshaped: ≥ 95% of the bytes from
//	   the copy, time ≤ 1.10 × S / LAN intake + 1 s
//	i  h1 and h2 get the same 128 MiB file 5 s apart, each the other's
//	   peer: origin bytes of both ≤ 1.10 × S
//	j  shared uplink: h1..h4 behind one 20 Mbit/s uplink, 64 MiB; h1 alone,
//	   then h1 with h2..h4 lending: the "pooling isn't helping" notice
//	   within 15 s, and the pooled time ≤ 1.02 × alone
//
// The scenarios run in the order a, b, c, h, i, j, d, e, which reshapes
// the bed least.
//
// The ideal time of a run is S / (sum of the goodputs of its participants),
// with goodputs measured in the same run of the bench: every host at the
// -wan rate counts the median of the eight hosts' plain HTTP goodput (one
// measurement that met a loss skews nothing), b's straggler its own. In c
// the pool changes, and the ideal adds up each phase at that phase's rate.
// In d and e the requester keeps its 20 Mbit/s WAN link: unshaped, it
// would fetch most of the file itself over a veth, and the run would
// measure the origin rather than the pooled path over the LAN. d's ideal
// is S / (LAN line rate + the requester's goodput).
//
// In h, h2 first runs `dragonload get` alone into a home of its own, with
// its WAN link opened for the time (so it takes seconds, not minutes) and
// restored after; the file stays, indexed in that home, and `dragonload
// agent` on h2 with the same home shares it. The reference, LAN intake,
// is plain HTTP over the LAN in the same run: a test origin on h2's LAN
// address serving the same file, unlimited, and the faster of two whole
// GETs from h1. The share of LAN copies is the bytes marked Copy in the
// requester's last progress report (core.PeerShare).
//
// In i both machines run one-shot gets (which lend no bandwidth but share
// what they hold), each with a home of its own and the other as --peer;
// the origin's /stats before and after give their bytes together, and
// per WAN address each machine's own. Each one's time is compared, for
// information, with fetching alone: S / per-host goodput.
//
// In j the origin models the shared uplink: -rate at the -wan rate with
// -shared-rate is one budget for every client together, and the WAN links
// of h1..h4 are unshaped for the scenario (restored after). h1 alone's
// ideal is S / the uplink rate; the pooled run's is h1 alone's time. The
// notice's time is from the requester's start to the first Notice event
// containing "pooling isn't helping". Every run records the notices about
// shared links it saw; a must have none.
//
// The time of a run is the wall time of the requester process, start to
// exit, so it includes start-up, probing and the final verification. Every
// file is checked against the origin's SHA-256 before its run counts.
//
// Origin bytes come from the origin's /stats, LAN bytes from the
// requester's lan0 counters, CPU time and peak RSS from wait4 of each
// process, and the 1% steps from the requester's --events file (chunk
// landings, or progress reports when there are none).
//
// Logs and events of every run stay in the -work folder (a temporary one
// by default, removed unless -keep or a run failed).
package main
