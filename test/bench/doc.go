// Command bench measures Dragonload against the ideal on the network test
// bed (package netbed) and writes RESULTS.md and speedup.png. It is what
// `make bench` runs, as root:
//
//	go run ./test/bench -out test/bench
//
// It builds one bed of 16 hosts (netbed.MaxHosts; building it takes about
// a second) whose WAN links are shaped to 20 Mbit/s each, runs the test
// origin (test/origin/cmd/testorigin, 20 ms of latency per request) in the
// internet namespace, measures the plain HTTP goodput of h1..h8, and then
// runs the scenarios of issues 4 and 10 with the real binary
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
//	   the copy, time ≤ 1.10 × S / LAN intake + 1 s, and the same against
//	   raw quic-go's intake
//	i  h1 and h2 get the same 128 MiB file 5 s apart, each the other's
//	   peer: origin bytes of both ≤ 1.10 × S
//	j  shared uplink: h1..h4 behind one 20 Mbit/s uplink, 64 MiB; h1 alone,
//	   then h1 with h2..h4 lending: the "pooling isn't helping" notice
//	   within 15 s, and the pooled time ≤ 1.02 × alone
//	k  own link unshaped: h1's WAN unshaped, h2..h5 at 20 Mbit/s, LAN
//	   1 Gbit/s, 1 GiB; h1 alone and h1 with 4 lenders in turn, 3 each:
//	   pooled median ≤ 1.00 × alone median, with the requester's CPU
//	l  raw references: rawquic (test/rawquic) from h2 to h1 over the LAN,
//	   unshaped and at 1 Gbit/s, 1 GiB, 3 each: raw quic-go and plain
//	   HTTP, throughput and receiver's and sender's CPU per GiB; against
//	   them d's requester CPU/GiB ≤ 1.10 × raw quic-go receive, and d's
//	   lenders' CPU per GiB lent ≤ 1.10 × (raw HTTP receive + raw quic-go
//	   send), both at 1 Gbit/s
//	m  16 hosts at 10 Mbit/s, 128 MiB: ≤ 1.04
//	n  8 MiB, N = 4: ≤ 1.20
//	o  origin TTFB 300 ms, N = 4: 32 MiB ≤ 1.25 and 128 MiB ≤ 1.05
//	p  mixed links: h1..h4 at 5, 10, 20 and 40 Mbit/s, 128 MiB: ≤ 1.05
//	q  mDNS cold and warm start: N = 4, 32 MiB, the lenders with mDNS on;
//	   h1 by --peer, by mDNS with a fresh home (cold) and by mDNS with
//	   the cold run's home (warm), 3 each: the warm runs' first ready
//	   peer, median, ≤ 0.15 s; the cold one's and both wall times
//	   against --peer for information
//
// Over the runs (goal 2 of issue 10): start-up, from the requester's
// start to its first durable byte, median over a ≤ 0.25 s and over o ≤
// 0.3 + 0.15 s; finish, from the last durable byte to the requester's
// exit, ≤ 50 ms in the worst run.
//
// The scenarios run in the order a, b, c, m, n, o, p, q, l, h, i, j, k,
// d, e, which reshapes the bed least: each restores the rates it changed,
// but d and e, last, leave the lenders' WAN links open.
//
// The ideal time of a run is S / (sum of the goodputs of its participants),
// with goodputs measured in the same run of the bench: every host at the
// -wan rate counts the median of the eight hosts' plain HTTP goodput (one
// measurement that met a loss skews nothing), b's straggler its own, m's
// hosts the median of the sixteen at 10 Mbit/s, and p's hosts each its own
// at its rate. In c the pool changes, and the ideal adds up each phase at
// that phase's rate. In o the ideal adds one TTFB (the origin's wait before
// an answer) to that: no tool can have a byte before the first answer,
// and one that keeps enough requests in flight waits no longer than that.
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
// In k, h1 alone's ideal is, for information, S / one plain HTTP GET of
// the file over its unshaped link; the pooled runs' ideal is h1 alone's
// median time, so their ratio is pooled / alone. The runs take turns
// (alone, pooled, alone, ...) so that both meet the same noise.
//
// In l the tool, not the bench, times a transfer: from the dial (or the
// request) to the last byte. rawquic serve, on h2's LAN address, sends the
// file's size from a fixed 64 KiB buffer on one stream, with quicwire's
// receive windows; rawquic get on h1 reads it. For HTTP a test origin on
// h2's LAN address serves the file and rawquic httpget on h1 reads it.
// The receiver's CPU is from wait4; the sender serves all three runs, so
// its CPU is read from /proc before and after each (leaving out the
// origin's hashing of the file at start). In h, a raw quic-go transfer of
// h's file from h2 to h1 (the faster of two) is a second reference
// besides plain HTTP. d's lenders' bytes lent are the bytes by
// participant other than h1 in the requester's last progress report.
//
// In q (goal 2 of issue 10: peers seen before are dialed at once from a
// cache while mDNS confirms them) h2..h4 lend at the -wan rate, h1 gets
// the -ttfb-size file at the usual origin latency, and the lenders run
// with mDNS on. Every q process runs mDNS with --iface lan0, the bed's
// LAN, never on wan0; the bed's namespaces have no other links and no
// default route, and the bench itself runs no mDNS, so nothing of it
// leaves the bed. Three kinds of run take turns, three times: --peer (h1
// reaches the lenders by --peer, with --no-mdns, as in a), cold (no
// --peer, mDNS on, fresh homes for h1..h4 in a folder kept for the
// pair), and warm (the same again with those homes: only the downloaded
// file is gone, verified and removed after the cold run). These are 3
// (cold, warm) pairs with fresh homes each rather than one cold run and
// three warm ones, so that each warm requester has the same history: it
// met the lenders exactly once before. Each lender keeps its node id
// from the cold run to the warm one; the lenders restart for every run,
// as in every scenario, and listen before h1 starts. A run's first ready
// peer is from just before the bench starts the requester (as for
// start-up) to the first PeerReady event in its events, with how that
// peer was found (PeerInfo.Source). The Targets rows: the warm runs'
// median first ready peer against 0.15 s, the cold runs' as a reference
// (with every run's and the --peer runs' median in the notes), and, for
// information, the median wall time of the cold and of the warm runs
// against the --peer runs' median, which is also those runs' ideal.
//
// A run shorter than 10 s says little: in m, n, o and p every run whose
// ideal is under 10 s (no run beats its ideal) runs three times, and its
// row in the Targets table is the run with the median time ("median of
// 3", with every run's time); Every run lists each run. k, l and q, whose
// runs all take seconds, always run three times.
//
// The time of a run is the wall time of the requester process, start to
// exit, so it includes start-up, probing and the final verification.
// Start-up is from just before the bench starts the requester to the
// first byte its events report durable (a chunk landing or a progress
// report); finish is from the last such byte to the process's exit. Every
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
