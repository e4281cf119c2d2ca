package span

import (
	"fmt"
	"sort"
)

// Range is the half-open byte range [Off, End).
type Range struct{ Off, End int64 }

// Len is the number of bytes in r; an inverted range holds none.
func (r Range) Len() int64 {
	if r.End <= r.Off {
		return 0
	}
	return r.End - r.Off
}

// Empty reports whether r holds no byte.
func (r Range) Empty() bool { return r.End <= r.Off }

// Intersect is the bytes r and o have in common; it is empty when they
// share none.
func (r Range) Intersect(o Range) Range {
	out := Range{Off: max(r.Off, o.Off), End: min(r.End, o.End)}
	if out.Empty() {
		return Range{}
	}
	return out
}

func (r Range) String() string { return fmt.Sprintf("[%d,%d)", r.Off, r.End) }

// Set is a set of bytes, kept as sorted, coalesced, non-overlapping ranges.
// The zero Set is empty and ready to use. A Set is not safe for concurrent
// use.
type Set struct {
	rs []Range
}

// Add puts the bytes of r into s. Adding an empty range does nothing.
func (s *Set) Add(r Range) {
	if r.Empty() {
		return
	}
	// i is the first range that ends at or after r.Off (it touches or
	// overlaps r, or lies wholly after it); j is the first range that
	// starts after r.End. Everything in [i, j) merges with r.
	i := sort.Search(len(s.rs), func(k int) bool { return s.rs[k].End >= r.Off })
	j := sort.Search(len(s.rs), func(k int) bool { return s.rs[k].Off > r.End })
	if i < j {
		r.Off = min(r.Off, s.rs[i].Off)
		r.End = max(r.End, s.rs[j-1].End)
	}
	switch {
	case i == j:
		s.rs = append(s.rs, Range{})
		copy(s.rs[i+1:], s.rs[i:])
		s.rs[i] = r
	default:
		s.rs[i] = r
		s.rs = append(s.rs[:i+1], s.rs[j:]...)
	}
}

// Remove takes the bytes of r out of s.
func (s *Set) Remove(r Range) {
	if r.Empty() {
		return
	}
	// [i, j) are the ranges that overlap r.
	i := sort.Search(len(s.rs), func(k int) bool { return s.rs[k].End > r.Off })
	j := sort.Search(len(s.rs), func(k int) bool { return s.rs[k].Off >= r.End })
	if i >= j {
		return
	}
	var keep []Range
	if first := s.rs[i]; first.Off < r.Off {
		keep = append(keep, Range{first.Off, r.Off})
	}
	if last := s.rs[j-1]; last.End > r.End {
		keep = append(keep, Range{r.End, last.End})
	}
	tail := append(keep, s.rs[j:]...)
	s.rs = append(s.rs[:i], tail...)
}

// Contains reports whether every byte of r is in s. An empty range is
// contained in any set.
func (s *Set) Contains(r Range) bool {
	if r.Empty() {
		return true
	}
	i := sort.Search(len(s.rs), func(k int) bool { return s.rs[k].End > r.Off })
	return i < len(s.rs) && s.rs[i].Off <= r.Off && s.rs[i].End >= r.End
}

// Overlaps reports whether any byte of r is in s.
func (s *Set) Overlaps(r Range) bool {
	if r.Empty() {
		return false
	}
	i := sort.Search(len(s.rs), func(k int) bool { return s.rs[k].End > r.Off })
	return i < len(s.rs) && s.rs[i].Off < r.End
}

// Size is the number of bytes in s.
func (s *Set) Size() int64 {
	var n int64
	for _, r := range s.rs {
		n += r.Len()
	}
	return n
}

// Len is the number of ranges s is made of.
func (s *Set) Len() int { return len(s.rs) }

// First is the lowest range of s, if s is not empty.
func (s *Set) First() (Range, bool) {
	if len(s.rs) == 0 {
		return Range{}, false
	}
	return s.rs[0], true
}

// Ranges returns a copy of the ranges of s, lowest first.
func (s *Set) Ranges() []Range {
	if len(s.rs) == 0 {
		return nil
	}
	return append([]Range(nil), s.rs...)
}

// Missing returns, lowest first, the ranges of [0, total) that are not in s.
func (s *Set) Missing(total int64) []Range {
	var out []Range
	var pos int64
	for _, r := range s.rs {
		if r.Off >= total {
			break
		}
		if r.Off > pos {
			out = append(out, Range{pos, r.Off})
		}
		pos = max(pos, r.End)
	}
	if pos < total {
		out = append(out, Range{pos, total})
	}
	return out
}

// Clone returns an independent copy of s.
func (s *Set) Clone() Set { return Set{rs: s.Ranges()} }

// Equal reports whether s and o hold the same bytes.
func (s *Set) Equal(o *Set) bool {
	if len(s.rs) != len(o.rs) {
		return false
	}
	for i := range s.rs {
		if s.rs[i] != o.rs[i] {
			return false
		}
	}
	return true
}

func (s Set) String() string { return fmt.Sprint(s.rs) }
