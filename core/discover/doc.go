// Package discover finds the other Dragonload nodes of a room on the local
// network with multicast DNS (RFC 6762) and DNS service discovery (RFC 6763),
// and tells them about this node.
//
// A Discoverer advertises this node on every usable interface and polls each
// of them for the others. It reports what it learns as events: Found (a peer
// appeared or changed), Lost (a peer said goodbye or was not heard for a
// while) and Quiet (nothing at all was heard for a long time, which usually
// means the network drops multicast). Nothing it reports is trusted: a peer
// is only a hint of an address until the QUIC room proof succeeds.
//
// # Wire format
//
// Each node advertises one service instance of type _dragonload._udp in the
// domain local., separately on each interface, with that interface's own
// addresses:
//
//	_dragonload._udp.local.           PTR   <id>._dragonload._udp.local.
//	<id>._dragonload._udp.local.      SRV   10 1 <QUIC UDP port> <id>.local.
//	<id>._dragonload._udp.local.      TXT   "v=2" "id=<id>" "room=<hint>" "lend=0|1" "name=<name>"
//	<id>.local.                       A     every IPv4 address of the interface
//	<id>.local.                       AAAA  every global or unique-local IPv6 address of the interface
//
// <id> is the node id (1 to 63 ASCII letters and digits, the base32 form of
// the node's key hash), which also names the host so that two nodes sharing
// a host name never mix their address records. IPv6 link-local addresses are
// not advertised: a receiver cannot tell on which of the sender's links they
// are valid.
//
// The TXT keys, each at most once (a receiver uses the first occurrence of a
// key, compares keys without regard to case, and ignores keys it does not
// know):
//
//	v     protocol version, a decimal integer from 1 to 65535 (now 2)
//	id    the node id; required
//	room  the room hint: 4 lowercase hex digits derived from the room secret
//	      (quicwire Room.Hint) so that rooms mostly skip each other; it
//	      carries 4 bits, too few to confirm a guessed code offline
//	lend  "1" when the node lends bandwidth, "0" when not
//	name  display name, UTF-8, at most 128 bytes; receivers drop characters
//	      that are not graphic (control and bidi formatting characters)
//
// Records are served by github.com/hashicorp/mdns with a TTL of 120 s. Besides
// answering queries, a node multicasts its records unprompted (an
// announcement) when it starts on an interface, when its addresses change
// and when its lend switch flips or its name changes (SetLending,
// SetName), and when it stops it multicasts a goodbye:
// the PTR, SRV and TXT records with TTL 0 (RFC 6762 section 10.1), sent from
// port 5353 to 224.0.0.251 and ff02::fb on each interface. A receiver drops a
// peer at once on a goodbye.
//
// # Browsing
//
// Every Options.Interval the Discoverer sends a one-shot query (RFC 6762
// section 5.1: a PTR question for _dragonload._udp.local. from an ephemeral
// port, so responders answer by unicast) out of each interface, once per
// address family, and collects the answers for half an interval. A query that
// fails is simply tried again on the next poll: IPv6 cannot send for a second
// or two after link-up while duplicate address detection runs, and must not
// hold IPv4 up. A socket joined to the mDNS groups on each interface receives
// announcements and goodbyes between polls. A peer not heard for Options.TTL
// is reported lost.
//
// The library's own query is not used: it joins its socket to 224.0.0.251 on
// whatever interface the routing table picks, so without an IPv4 route for
// that group it cannot query over IPv4 at all, and it keeps only the last
// IPv4 and IPv6 address of each answer.
//
// Addresses are kept only when they are on a subnet of the interface they were
// heard on. On Linux every socket bound to port 5353 receives the mDNS traffic
// of every interface, so a multi-homed peer also answers with the addresses of
// its other links; those are dropped here. A peer's most recently heard
// address is kept as long as the peer is alive, so that one lost answer does
// not make a peer's address flap.
//
// # Trust
//
// mDNS is not authenticated. Anyone on the link can announce a peer that does
// not exist, make one look like it lends, or send a goodbye for a live one. The
// engine only uses a peer after the QUIC room proof, and a spoofed goodbye
// lasts only until the next poll hears the peer again.
package discover
