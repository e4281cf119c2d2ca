package sched

import (
	"cmp"
	"slices"
	"sort"

	"github.com/dragonload/dragonload/core/span"
)

// The helpers below work on lists of ranges kept as a span.Set keeps them:
// sorted, non-overlapping and coalesced. Each runs in time linear in the
// lengths of its inputs (union: N log N in all it merges), so the pool can
// have many holes without Next growing quadratic in them.

// minus returns the bytes of a that are not in b.
func minus(a, b []span.Range) []span.Range {
	if len(b) == 0 {
		return a
	}
	var out []span.Range
	j := 0
	for _, r := range a {
		for j < len(b) && b[j].End <= r.Off {
			j++
		}
		off := r.Off
		for k := j; k < len(b) && b[k].Off < r.End; k++ {
			if b[k].Off > off {
				out = append(out, span.Range{Off: off, End: b[k].Off})
			}
			off = max(off, b[k].End)
		}
		if off < r.End {
			out = append(out, span.Range{Off: off, End: r.End})
		}
	}
	return out
}

// inter returns the bytes in both a and b.
func inter(a, b []span.Range) []span.Range {
	var out []span.Range
	for i, j := 0, 0; i < len(a) && j < len(b); {
		if r := a[i].Intersect(b[j]); !r.Empty() {
			out = append(out, r)
		}
		if a[i].End < b[j].End {
			i++
		} else {
			j++
		}
	}
	return out
}

// union returns the bytes in any of sets.
func union(sets ...[]span.Range) []span.Range {
	var all []span.Range
	for _, rs := range sets {
		all = append(all, rs...)
	}
	if len(sets) <= 1 {
		return all
	}
	slices.SortFunc(all, func(x, y span.Range) int { return cmp.Compare(x.Off, y.Off) })
	var out []span.Range
	for _, r := range all {
		if n := len(out); n > 0 && r.Off <= out[n-1].End {
			out[n-1].End = max(out[n-1].End, r.End)
			continue
		}
		out = append(out, r)
	}
	return out
}

// total is the number of bytes in rs.
func total(rs []span.Range) int64 {
	var n int64
	for _, r := range rs {
		n += r.Len()
	}
	return n
}

// within returns the range of rs that holds byte off, if any.
func within(rs []span.Range, off int64) (span.Range, bool) {
	i := sort.Search(len(rs), func(k int) bool { return rs[k].End > off })
	if i < len(rs) && rs[i].Off <= off {
		return rs[i], true
	}
	return span.Range{}, false
}

// overlaps reports whether rs holds any byte of r.
func overlaps(rs []span.Range, r span.Range) bool {
	i := sort.Search(len(rs), func(k int) bool { return rs[k].End > r.Off })
	return i < len(rs) && rs[i].Off < r.End
}

// startAfter returns the first range of rs that begins after off.
func startAfter(rs []span.Range, off int64) (span.Range, bool) {
	i := sort.Search(len(rs), func(k int) bool { return rs[k].Off > off })
	if i < len(rs) {
		return rs[i], true
	}
	return span.Range{}, false
}

// endAfter returns the first range of rs (sorted, disjoint) that ends
// after off: the one covering off, or else the first one after it.
func endAfter(rs []span.Range, off int64) (span.Range, bool) {
	i := sort.Search(len(rs), func(k int) bool { return rs[k].End > off })
	if i < len(rs) {
		return rs[i], true
	}
	return span.Range{}, false
}

// fronts returns the bytes that left each range of old from its front:
// those before the end of the last range of cur within it that are not
// in cur, or all of it if cur has none of it. Bytes that left a range
// from its end, after all of cur within it, are not among them.
func fronts(old, cur []span.Range) []span.Range {
	var out []span.Range
	j := 0
	for _, r := range old {
		for j < len(cur) && cur[j].End <= r.Off {
			j++
		}
		off, end := r.Off, r.End
		for k := j; k < len(cur) && cur[k].Off < r.End; k++ {
			if cur[k].Off > off {
				out = append(out, span.Range{Off: off, End: cur[k].Off})
			}
			off = cur[k].End
			end = off
		}
		if off < end {
			out = append(out, span.Range{Off: off, End: end})
		}
	}
	return out
}

// advance returns how far the front of the range of old that moved
// furthest moved: from its start to the first byte of cur within it. A
// range with nothing of cur within it does not count; ok is false when
// none does.
func advance(old, cur []span.Range) (n int64, ok bool) {
	j := 0
	for _, r := range old {
		for j < len(cur) && cur[j].End <= r.Off {
			j++
		}
		if j < len(cur) && cur[j].Off < r.End {
			n, ok = max(n, cur[j].Off-r.Off), true
		}
	}
	return n, ok
}

// leads returns the gaps between the ranges of has and claims, up to the
// last range of claims, which must not be empty: the bytes below it in
// neither, but those before the first byte of either if has holds some.
func leads(has, claims []span.Range) []span.Range {
	var out []span.Range
	var end int64
	for i, r := range union(has, claims) {
		if r.Off > claims[len(claims)-1].Off {
			break
		}
		if r.Off > end && (i > 0 || len(has) == 0) {
			out = append(out, span.Range{Off: end, End: r.Off})
		}
		end = r.End
	}
	return out
}

// heldFrom returns the part of [from, to) that lies in the first range of
// rs holding a byte at or after from.
func heldFrom(rs []span.Range, from, to int64) (span.Range, bool) {
	i := sort.Search(len(rs), func(k int) bool { return rs[k].End > from })
	if i == len(rs) {
		return span.Range{}, false
	}
	r := rs[i].Intersect(span.Range{Off: from, End: to})
	return r, !r.Empty()
}

// clip returns the ranges of set that lie in [0, size).
func clip(set span.Set, size int64) []span.Range {
	return inter(set.Ranges(), []span.Range{{Off: 0, End: size}})
}
