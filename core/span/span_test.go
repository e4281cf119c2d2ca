package span

import (
	"math/rand/v2"
	"reflect"
	"testing"
)

func TestRangeLen(t *testing.T) {
	cases := []struct {
		r    Range
		want int64
	}{
		{Range{0, 10}, 10},
		{Range{5, 5}, 0},
		{Range{7, 3}, 0},
	}
	for _, c := range cases {
		if got := c.r.Len(); got != c.want {
			t.Errorf("%v.Len() = %d, want %d", c.r, got, c.want)
		}
	}
}

func TestAdd(t *testing.T) {
	cases := []struct {
		name string
		add  []Range
		want []Range
	}{
		{"empty", nil, nil},
		{"empty range ignored", []Range{{5, 5}, {9, 2}}, nil},
		{"one", []Range{{2, 4}}, []Range{{2, 4}}},
		{"sorted", []Range{{10, 12}, {2, 4}, {6, 8}}, []Range{{2, 4}, {6, 8}, {10, 12}}},
		{"touching merge", []Range{{0, 4}, {4, 8}}, []Range{{0, 8}}},
		{"touching before", []Range{{4, 8}, {0, 4}}, []Range{{0, 8}}},
		{"overlap", []Range{{0, 5}, {3, 8}}, []Range{{0, 8}}},
		{"bridge", []Range{{0, 2}, {4, 6}, {8, 10}, {1, 9}}, []Range{{0, 10}}},
		{"bridge touching", []Range{{0, 2}, {4, 6}, {2, 4}}, []Range{{0, 6}}},
		{"inside", []Range{{0, 10}, {3, 4}}, []Range{{0, 10}}},
		{"covering", []Range{{3, 4}, {6, 7}, {0, 10}}, []Range{{0, 10}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var s Set
			for _, r := range c.add {
				s.Add(r)
			}
			if got := s.Ranges(); !reflect.DeepEqual(got, c.want) {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}

func TestRemove(t *testing.T) {
	cases := []struct {
		name   string
		start  []Range
		remove Range
		want   []Range
	}{
		{"nothing", []Range{{0, 10}}, Range{20, 30}, []Range{{0, 10}}},
		{"touching end", []Range{{0, 10}}, Range{10, 20}, []Range{{0, 10}}},
		{"all", []Range{{0, 10}}, Range{0, 10}, nil},
		{"middle", []Range{{0, 10}}, Range{3, 5}, []Range{{0, 3}, {5, 10}}},
		{"head", []Range{{0, 10}}, Range{0, 3}, []Range{{3, 10}}},
		{"tail", []Range{{0, 10}}, Range{7, 12}, []Range{{0, 7}}},
		{"across", []Range{{0, 4}, {6, 8}, {10, 14}}, Range{2, 12}, []Range{{0, 2}, {12, 14}}},
		{"exact middle", []Range{{0, 4}, {6, 8}, {10, 14}}, Range{6, 8}, []Range{{0, 4}, {10, 14}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var s Set
			for _, r := range c.start {
				s.Add(r)
			}
			s.Remove(c.remove)
			if got := s.Ranges(); !reflect.DeepEqual(got, c.want) {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}

func TestQueries(t *testing.T) {
	var s Set
	s.Add(Range{10, 20})
	s.Add(Range{30, 40})
	cases := []struct {
		r                  Range
		contains, overlaps bool
	}{
		{Range{10, 20}, true, true},
		{Range{12, 15}, true, true},
		{Range{5, 12}, false, true},
		{Range{15, 35}, false, true},
		{Range{20, 30}, false, false},
		{Range{0, 10}, false, false},
		{Range{40, 50}, false, false},
		{Range{39, 41}, false, true},
		{Range{25, 25}, true, false},
	}
	for _, c := range cases {
		if got := s.Contains(c.r); got != c.contains {
			t.Errorf("Contains(%v) = %v", c.r, got)
		}
		if got := s.Overlaps(c.r); got != c.overlaps {
			t.Errorf("Overlaps(%v) = %v", c.r, got)
		}
	}
	if s.Size() != 20 {
		t.Errorf("Size() = %d, want 20", s.Size())
	}
	if got, want := s.Missing(50), []Range{{0, 10}, {20, 30}, {40, 50}}; !reflect.DeepEqual(got, want) {
		t.Errorf("Missing(50) = %v, want %v", got, want)
	}
	if got, want := s.Missing(35), []Range{{0, 10}, {20, 30}}; !reflect.DeepEqual(got, want) {
		t.Errorf("Missing(35) = %v, want %v", got, want)
	}
	if got := s.Missing(5); !reflect.DeepEqual(got, []Range{{0, 5}}) {
		t.Errorf("Missing(5) = %v", got)
	}
	var empty Set
	if got := empty.Missing(0); got != nil {
		t.Errorf("empty.Missing(0) = %v", got)
	}
	c := s.Clone()
	c.Add(Range{20, 30})
	if s.Len() != 2 || c.Len() != 1 || s.Equal(&c) {
		t.Errorf("Clone shares storage: s=%v c=%v", s, c)
	}
	if f, ok := s.First(); !ok || f != (Range{10, 20}) {
		t.Errorf("First() = %v, %v", f, ok)
	}
}

// TestRandomAgainstBitmap checks every operation against a plain bitmap.
func TestRandomAgainstBitmap(t *testing.T) {
	const n = 200
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		var s Set
		var bits [n]bool
		for range 60 {
			a, b := rng.Int64N(n+1), rng.Int64N(n+1)
			if a > b {
				a, b = b, a
			}
			r := Range{a, b}
			if rng.IntN(3) == 0 {
				s.Remove(r)
				for i := a; i < b; i++ {
					bits[i] = false
				}
			} else {
				s.Add(r)
				for i := a; i < b; i++ {
					bits[i] = true
				}
			}
			checkAgainst(t, round, &s, bits[:])
			q := Range{rng.Int64N(n), rng.Int64N(n + 1)}
			all, any := !q.Empty(), false
			for i := q.Off; i < q.End; i++ {
				all = all && bits[i]
				any = any || bits[i]
			}
			if q.Empty() {
				all = true
			}
			if s.Contains(q) != all || s.Overlaps(q) != any {
				t.Fatalf("round %d: %v: Contains(%v)=%v want %v, Overlaps=%v want %v",
					round, s, q, s.Contains(q), all, s.Overlaps(q), any)
			}
		}
	}
}

func checkAgainst(t *testing.T, round int, s *Set, bits []bool) {
	t.Helper()
	var want []Range
	for i := 0; i < len(bits); i++ {
		if !bits[i] {
			continue
		}
		j := i
		for j < len(bits) && bits[j] {
			j++
		}
		want = append(want, Range{int64(i), int64(j)})
		i = j
	}
	if got := s.Ranges(); !reflect.DeepEqual(got, want) {
		t.Fatalf("round %d: got %v, want %v", round, got, want)
	}
	var missing Set
	for _, r := range s.Missing(int64(len(bits))) {
		missing.Add(r)
	}
	if missing.Size()+s.Size() != int64(len(bits)) {
		t.Fatalf("round %d: Missing %v does not complement %v", round, missing, s)
	}
	for _, r := range s.Ranges() {
		if missing.Overlaps(r) {
			t.Fatalf("round %d: Missing %v overlaps %v", round, missing, r)
		}
	}
}
