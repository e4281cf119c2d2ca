package main

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestMedian(t *testing.T) {
	runs := func(walls ...time.Duration) []*result {
		var rs []*result
		for _, w := range walls {
			rs = append(rs, &result{Wall: w})
		}
		return rs
	}
	if m := median(runs(7*time.Second, 9*time.Second, 8*time.Second)); m.Wall != 8*time.Second {
		t.Errorf("median of 7, 9, 8 s = %v", m.Wall)
	}
	if m := median(runs(5 * time.Second)); m.Wall != 5*time.Second {
		t.Errorf("median of one run = %v", m.Wall)
	}
	rs := runs(7*time.Second, 9*time.Second, 8*time.Second)
	rs[2].Err = errors.New("failed")
	if m := median(rs); m != rs[2] {
		t.Errorf("median of runs with a failure = %+v, want the failed run", m)
	}
	if v := middle([]float64{3, 1, 2, 4}); v != 2 {
		t.Errorf("middle of 3, 1, 2, 4 = %v, want the lower middle 2", v)
	}
}

func TestNth(t *testing.T) {
	s := spec{scenario: "n", name: "n: 8 MiB, N=4"}
	if got := s.nth(2, 3); got.name != "n: 8 MiB, N=4 (run 2 of 3)" || got.row != s.name {
		t.Errorf("nth(2, 3) = %q under %q", got.name, got.row)
	}
	if got := s.nth(1, 1); got.name != s.name || got.row != s.name {
		t.Errorf("nth(1, 1) = %q under %q", got.name, got.row)
	}
	if slug(s.nth(1, 3).name) == slug(s.nth(2, 3).name) {
		t.Error("two runs of a row share a folder")
	}
}

func TestMixedName(t *testing.T) {
	for _, c := range []struct {
		rates []int64
		want  string
	}{
		{[]int64{5e6, 10e6, 20e6, 40e6}, "5/10/20/40mbit"},
		{[]int64{500e3, 10e6}, "500kbit/10mbit"},
		{nil, ""},
	} {
		if got := mixedName(c.rates); got != c.want {
			t.Errorf("mixedName(%v) = %q, want %q", c.rates, got, c.want)
		}
	}
}

func TestReadRawOut(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.out")
	os.WriteFile(good, []byte("bytes 1073741824 seconds 9.027596\n"), 0o644)
	if d, err := readRawOut(good); err != nil || d != 9027596*time.Microsecond {
		t.Errorf("readRawOut = %v, %v", d, err)
	}
	bad := filepath.Join(dir, "bad.out")
	os.WriteFile(bad, []byte("rawquic: timeout\n"), 0o644)
	if _, err := readRawOut(bad); err == nil {
		t.Error("readRawOut of a line that is not the result succeeded")
	}
}
