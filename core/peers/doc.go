// Package peers is the peer table: the room members this node knows of, the
// connections to them, and the bytes exchanged with each.
//
// The table keeps one dial loop per known address (Want, Forget) and one
// entry per proven peer. A peer is ready once a dial returned a connection,
// that is, once the room proof succeeded; it is lost when its connection
// dies, when it stops answering the status poll, when its address is
// forgotten (discovery expired it or heard its goodbye) or when the room
// changes (DropAll, RedialAll).
//
// The table neither listens nor speaks the wire protocol. It reaches peers
// through a Dialer and sees each connection through the small Conn
// interface, which *quicwire.Peer satisfies; the engine passes a dialer that
// uses its current QUIC node, and the tests pass fakes, so every rule below
// is tested without sockets in a testing/synctest bubble. The table is
// generic over the connection type so that its user gets back the type it
// dialed (the engine fetches through the *quicwire.Peer it is handed).
//
// What happens is reported through one function of Event (Seen, Ready,
// Lost, Updated, Lent); the engine translates those into its own events.
// Nothing here knows the engine or its bus.
//
// # Rules
//
//   - A failed dial is retried after a backoff that starts at 500 ms and
//     doubles up to 30 s; it starts again at 500 ms after a success.
//   - A peer of another room (quicwire.ErrRoomMismatch) is retried after
//     the longest backoff at once.
//   - One connection per node id: a second connection to a node already
//     connected (through another address, or its own dial to us) is closed,
//     and its address is dialed again after the longest backoff.
//   - A ready peer's status is polled every 2 s; a change of its lending
//     state is reported (Updated), and a peer that does not answer is lost.
//   - Once a second (Run), every peer whose byte counts moved is reported
//     with its rate (Updated), and every peer lent bytes to (Lent).
//   - Close stops every dial loop, drops every connection, and returns
//     only once every loop has ended.
package peers
