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
// The events describe one row per machine for a front end: Seen opens a
// row for an address being dialed (no node id yet), and exactly one event
// closes it, Ready (the row becomes the node's, under its id) or Lost with
// an empty ID (the address was forgotten, or it reaches a machine already
// connected through another address). A Lost with an ID closes a node's
// row. List gives the same rows.
//
// # Rules
//
//   - A failed dial is retried after a backoff that starts at 500 ms and
//     doubles up to 30 s; it starts again at 500 ms after a success.
//   - A peer of another room (quicwire.ErrRoomMismatch) is retried after
//     the longest backoff at once.
//   - One connection per node id: a second connection to a node already
//     connected (through another address, or its own dial to us) is closed,
//     and its address is dialed again after the longest backoff. While the
//     node stays connected, that address is neither reported Seen nor
//     listed.
//   - Forget stops an address's dial loop for good: Lost for the peer
//     connected through it, else Lost with an empty ID for the dial.
//   - A ready peer's status is polled every 2 s; a change of its lending
//     state or its name is reported (Updated), and a peer that does not
//     answer is lost.
//   - Once a second (Run), every peer whose byte counts moved is reported
//     with its rate (Updated), and every peer lent bytes to (Lent).
//   - A nickname (SetNickname) is kept per node id, connected or not; the
//     table sets it on each connection to that node before reporting it
//     Ready, so Info.Name and the connection's own Name carry it.
//   - Close stops every dial loop, drops every connection, and returns
//     only once every loop has ended.
package peers
