package sched

import "github.com/dragonload/dragonload/core/span"

// tally counts how often each byte has failed, as sorted, non-overlapping
// segments with a count each. Its size follows the number of failures, not
// the size of the file.
type tally struct {
	segs []segment
}

type segment struct {
	r span.Range
	n int
}

// add counts one more failure for every byte of r and returns the highest
// count any byte of r now has.
func (t *tally) add(r span.Range) int {
	if r.Empty() {
		return 0
	}
	out := make([]segment, 0, len(t.segs)+2)
	worst := 0
	pos := r.Off // the first byte of r not yet counted
	for _, sg := range t.segs {
		if sg.r.End <= r.Off || sg.r.Off >= r.End {
			if sg.r.Off >= r.End && pos < r.End {
				out = append(out, segment{span.Range{Off: pos, End: r.End}, 1})
				worst = max(worst, 1)
				pos = r.End
			}
			out = append(out, sg)
			continue
		}
		if sg.r.Off < r.Off {
			out = append(out, segment{span.Range{Off: sg.r.Off, End: r.Off}, sg.n})
		}
		if pos < sg.r.Off {
			out = append(out, segment{span.Range{Off: pos, End: sg.r.Off}, 1})
			worst = max(worst, 1)
		}
		in := sg.r.Intersect(r)
		out = append(out, segment{in, sg.n + 1})
		worst = max(worst, sg.n+1)
		pos = in.End
		if sg.r.End > r.End {
			out = append(out, segment{span.Range{Off: r.End, End: sg.r.End}, sg.n})
		}
	}
	if pos < r.End {
		out = append(out, segment{span.Range{Off: pos, End: r.End}, 1})
		worst = max(worst, 1)
	}
	t.segs = out
	return worst
}
