// Package netbed builds a small network of hosts out of Linux network
// namespaces: a LAN joined by a bridge, and for every host its own shaped
// link to an "internet" namespace that holds the test origin. It stands in
// for a room of machines whose internet links are capped per machine, the
// case Dragonload exists for, on a single box. It needs root.
//
// # Layout
//
// Every namespace of one bed starts with the bed's prefix (DefaultPrefix for
// humans, UniquePrefix for tests and benchmarks). For prefix "dlb-" and three
// hosts:
//
//	dlb-lan    bridge br0; ports h1..hN, the LAN ends of the hosts' veths
//	dlb-inet   origin address 10.79.0.1/32 on lo; h1..hN, the WAN ends
//	dlb-h1     lan0 10.77.0.1/24 (LAN), wan0 10.78.1.2/30 (WAN, gateway 10.78.1.1)
//	dlb-h2     lan0 10.77.0.2/24,       wan0 10.78.2.2/30 (gateway 10.78.2.1)
//	dlb-h3     lan0 10.77.0.3/24,       wan0 10.78.3.2/30 (gateway 10.78.3.1)
//
// A host routes only 10.79.0.0/24 (the origin's range) through its WAN link
// and reaches the other hosts directly on the LAN. Nothing else has a route:
// every address exists only inside the bed's namespaces, so no packet can
// leave them. The internet namespace does not forward, so hosts cannot reach
// each other through it. IPv6 is off everywhere (no duplicate address
// detection, no router solicitations to wait for).
//
// Every veth is created inside the bed's namespaces (never in the root
// namespace), so deleting the namespaces removes every link. Down finds a
// bed by its prefix alone, so it also cleans up after a run that crashed;
// SweepStale removes the beds of UniquePrefix runs whose process is gone.
//
// # Shaping
//
// A WAN link is shaped with a token bucket filter (tc tbf) on both of its
// ends, so uploads and downloads are each capped at the host's rate. The LAN
// can be shaped the same way. The kernel on the development machines has no
// netem, so the bed adds neither delay nor loss: the test origin adds
// latency per request instead.
//
// # Processes and sockets
//
// Command and Start run programs inside a namespace (through "ip netns
// exec"), each in its own process group, and Bed.Close ends every one of
// them with bounded waits. Dialer, Listen and HTTPClient open sockets inside
// a namespace from the calling Go process itself, so a test can serve or
// fetch without any helper program.
package netbed
