// Package span holds byte ranges and sets of them.
//
// A Range is half-open, [Off, End): it holds End-Off bytes and two ranges
// that touch (one's End is the other's Off) share no byte. A Set keeps its
// ranges sorted, non-overlapping and coalesced (touching ranges merge), so
// two Sets holding the same bytes have the same Ranges, and its size in
// memory follows the number of holes, not the number of additions.
//
// The scheduler uses Sets for the bytes still to hand out; the partial file
// uses one for the bytes known to be durable.
package span
