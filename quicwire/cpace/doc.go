// Package cpace implements the CPace balanced password-authenticated key
// exchange (PAKE) with the cipher suite CPACE-RISTR255-SHA512, exactly as
// specified in draft-irtf-cfrg-cpace-21 ("CPace, a balanced composable
// PAKE", CFRG, April 2026): group environment G_Ristretto255 of section
// 8.3 over ristretto255 (RFC 9496, via github.com/gtank/ristretto255) and
// hash function H = SHA-512 (input block size 128 bytes, output 64 bytes).
//
// # Why
//
// Dragonload peers used to prove room membership with an HMAC keyed from
// the room code. Anyone who records one such proof can test guesses at
// the code offline, as fast as they can compute the key derivation, until
// one matches. CPace removes that: its messages are Diffie-Hellman shares
// over a generator derived from the password, so a passive observer
// learns nothing that lets it test a guess, and an active attacker who
// runs the protocol with a guessed code learns only whether that one
// guess was right. Each guess costs a protocol run with an honest peer,
// which the peer can see and rate-limit.
//
// # Protocol (sections 7.2, 8.1 and 8.3)
//
// Both parties share PRS (the password-related string: here the normalised
// room code), CI (channel identifier) and sid (session identifier). Each
// party, with its own associated data AD, computes
//
//	g  = G.calculate_generator(H, PRS, CI, sid)
//	   = ristretto255 element derivation of
//	     SHA-512(lv_cat(DSI, PRS, zero_bytes(len_zpad), CI, sid))
//	y  = G.sample_scalar()   (32 random bytes, bits above 252 cleared)
//	Y  = encode(y * g)
//
// and sends Y together with AD. On receiving the peer's Y' and AD' it computes
//
//	K   = G.scalar_mult_vfy(y, Y')  (G.I if Y' does not decode)
//	abort if K = G.I                (invalid encoding or the identity)
//	ISK = SHA-512(lv_cat(DSI || "_ISK", sid, K) || transcript)
//
// with DSI = "CPaceRistretto255". In the initiator-responder setting the
// transcript is transcript_ir(Ya, ADa, Yb, ADb) = lv_cat(Ya, ADa) ||
// lv_cat(Yb, ADb), where A is the initiator; in the symmetric setting
// it is transcript_oc, the ordered concatenation o_cat of the two
// lv_cat(Y, AD) strings. Both parties output the same 64-byte ISK if and
// only if they used the same PRS, CI and sid and saw the same messages.
//
// # Using it
//
// Start gives a State and the 32-byte message Y to send; Finish takes the
// peer's message and AD and returns ISK. The wire framing of Y and AD
// is the caller's. A State is single-use: its secret scalar is erased by
// Finish, whatever the outcome, as the draft forbids reusing scalars
// (section 10.9).
//
// The draft leaves these to the application:
//
//   - Use the initiator-responder setting when the roles are clear (e.g.
//     QUIC client = initiator, server = responder); a party must not play
//     both roles for the same (PRS, sid). Identities to be authenticated
//     go into CI (initiator's first) or into AD, and the receiver must
//     then check the peer's AD (section 10.1).
//   - sid should be unique per session, e.g. a TLS exporter value.
//   - ISK is an intermediate key: derive working keys from it with a KDF
//     such as HKDF, and add explicit key confirmation (e.g. a MAC keyed
//     from ISK over the messages) if the peer must be authenticated before
//     use (section 10.4). K itself is never exposed.
//
// The test vectors of appendix A (string utilities) and appendix B.3
// (ristretto255 with SHA-512) of the draft are checked by the tests.
package cpace
