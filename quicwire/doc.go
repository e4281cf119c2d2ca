// Package quicwire is the Dragonload peer protocol over QUIC: node
// identities, rooms, the room proof, chunk fetches between room members,
// copies and search among them, and notes of what each is downloading. It hides quic-go entirely;
// docs/protocol.md is the same specification in prose for implementers.
//
// # Identity and room
//
// A node's identity is an Ed25519 key; its NodeID is the SHA-256 of the
// 32-byte public key, written as 52 characters of lowercase unpadded
// base32. A room is a shared code; its 32-byte key is
// Argon2id(NormalizeRoomCode(code), salt "dragonload/1 room key", t=4,
// m=16 MiB, p=4). Generated codes are 20 characters of Crockford base32
// (100 bits) in 4 groups of 5. The room hint published in mDNS is the first
// 2 bytes, as 4 hex digits, of HMAC-SHA256(room key, "dragonload/1 room hint").
//
// # Connection
//
// One UDP socket and one QUIC transport per node both accept and dial.
// TLS 1.3 only, ALPN "dragonload/1", no session resumption. Each side
// presents one self-signed certificate carrying its Ed25519 key (the server
// requires one from the client) and checks the other's itself: exactly one
// certificate, an Ed25519 key, a valid self-signature. The peer's NodeID
// comes from that key; a node refuses a connection to itself. The dialing
// side only asks, the accepting side only serves: the dialer accepts no
// streams, the server at most 64 concurrent bidirectional streams and no
// unidirectional ones. Idle timeout 8 s, keep-alive every 2 s.
//
// # Room proof
//
// Both sides run CPace (package quicwire/cpace, draft-irtf-cfrg-cpace-21,
// ristretto255 and SHA-512) with the room key as the password-related
// string, both node ids in the channel identifier and a TLS exporter value
// ("EXPORTER-dragonload/2 cpace", 32 bytes) as the session id, then confirm
// the key: each side sends HMAC-SHA256 under a key HKDF-expanded from the
// ISK over the share it sent. An exchange tests one guess of the code:
// nothing a transcript or a fake peer holds can be checked offline, and an
// exchange relayed into another TLS session fails. See docs/protocol.md.
//
// # Hello exchange (control stream)
//
// The first stream the client opens is the control stream:
//
//	client → HELLO   {version 3, client share}
//	server → WELCOME {version in use, server share, server tag}
//	client            checks the tag; on failure closes with 0x1
//	client → IDENT   {client tag, name}, then FIN
//	server            checks the tag; on failure closes with 0x1, having
//	                  sent nothing but WELCOME
//	server → STATUS  {lending, name}, then FIN
//
// Version: HELLO carries the highest version the client speaks, WELCOME
// the one in use, the lower of the two sides' highest. Versions 2 to 4
// are spoken (1 used an HMAC proof); 3 adds HAVE, READ, SEARCH and NOTE,
// 4 drops the SHA-256 from END, and both keep the hello of 2, so nodes of
// any of these versions talk. A HELLO older
// than 2 is refused with 0x3, and a client closes with 0x3 on a WELCOME
// below 2 or above what it offered. Peer.Version says which is in use.
// The client sends nothing else before STATUS, and the server serves no
// other stream before the client's tag checked out. The client gives TLS
// and the exchange together 10 s, the server the exchange 10 s.
//
// # Request streams
//
// Every later stream is opened by the client and carries one request,
// after which the client sends FIN:
//
//	QUERY  → STATUS {lending, name}, FIN
//	FETCH  → DATA* then END {length} or ERROR {code, http status, retry-after ms, message}, FIN
//	HAVE   → HOLDING {size, sha256, name, have ranges, claimed ranges} or ERROR, FIN   (version 3)
//	READ   → DATA* then END {length} or ERROR, FIN                                     (version 3)
//	SEARCH → FOUND {name, size, sha256 of each result} or ERROR, FIN                   (version 3)
//	NOTE   → FIN alone, once the note is handed on                                     (version 3)
//
// HAVE asks what the server holds of some content, named by its SHA-256
// or an origin key; READ reads bytes of it; SEARCH looks for shared
// content by name. The server answers them from Config.Sharer, which
// serves only what its user chose to share, never a path a peer names;
// only members reach it, after the room proof. On a version 2
// connection they and NOTE are protocol violations, so Peer.Have, Read,
// Search and Note fail with ErrUnsupported without sending anything. A READ runs exactly
// like a FETCH; HAVE and SEARCH, like QUERY, get 10 s in all. A Holding
// or result list that breaks the frame rules is mended by the server
// (sorted, merged, clipped, cut to the caps) rather than sent invalid.
//
// NOTE {count × (file, done, size, lender ids)} tells a member what the
// sender is downloading now (at most 16 downloads; count 0: nothing) and
// how far each has come, all sources together, with the members fetching
// for it: a requester sends one to each member about once a second, so
// that a lender knows whom it helps and every member can show what each
// peer downloads. The server hands it to Config.Noter (nil drops it)
// and then sends FIN, nothing else; Peer.Note returns once that FIN came,
// within 10 s. Every member hears the file names and progress of the
// sender's downloads: members are trusted with that, as they already see
// the URLs it fetches. Peer.Note mends a Note the wire cannot carry
// (lenders sorted and made unique, bad entries dropped, counts cut to the
// caps) rather than send it invalid.
//
// STATUS carries the name of the moment (Node.SetName), so peers hear a
// new name at their next QUERY; the name a lender knows a requester by is
// the one of its IDENT until it connects again. Peer.SetNickname is local
// and never sent.
//
// The server has 10 s to read a request. A fetch or read succeeds only
// when the DATA payloads add up to exactly the requested length, and END
// repeats that length. Before version 4 END also carried the bytes'
// SHA-256: a node still sends it on an older connection and takes it
// there unchecked, since the lender computes it over what it chose to
// send and QUIC's AEAD already refuses bytes changed in transit. Bytes
// reach the requester's sink as they arrive; those a failed fetch
// delivered before failing are kept by the requester. A server whose
// handler or Sharer produced fewer or more bytes sends ERROR (Internal)
// instead of END. Either side
// cancels a stream (RESET_STREAM and STOP_SENDING) that waits on its peer
// for 30 s, and a requester that gives up cancels its stream: the lender
// sees STOP_SENDING and stops fetching from the origin.
//
// Frame layouts and size caps are specified in package wire. Any bytes a
// peer sends that the protocol does not allow (unknown frame type, a frame
// over its cap, a bad encoding, a frame out of place, a version 3 request
// on a version 2 connection) make the receiver close the whole connection
// with application error 0x2 and log the reason.
//
// # Error codes
//
// ERROR codes (Code): 1 NotLending, 2 Busy, 3 Forbidden, 4 OriginStatus,
// 5 IdentityChanged, 6 OriginFailed, 7 BadRequest, 8 Internal, 9
// NotShared (version 3: no such copy, or not shared); unknown codes from
// later versions are passed on as they are. Connection close
// codes: 0x0 normal, 0x1 room proof failed, 0x2 protocol violation, 0x3 no
// common version, 0x4 connected to itself, 0x5 hello timeout, 0x6 too
// many connections. Stream cancel codes: 0x1 canceled, 0x2 protocol
// violation, 0x3 stalled (30 s without progress).
package quicwire
