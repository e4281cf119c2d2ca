package cli

import (
	"errors"
	"reflect"
	"testing"

	"github.com/dragonload/dragonload/core"
)

// TestStateOf: after a Resync, get reads its download's state back from
// the engine's snapshots, as the event it may have missed.
func TestStateOf(t *testing.T) {
	errGone := errors.New("gone")
	snaps := []core.DownloadSnapshot{
		{ID: "a", State: core.StateDownloading},
		{ID: "b", State: core.StateDone, Path: "/out/b.iso"},
		{ID: "c", State: core.StateFailed, Err: errGone},
	}
	tests := []struct {
		id     core.DownloadID
		want   core.DownloadStateChanged
		wantOK bool
	}{
		{id: "a", want: core.DownloadStateChanged{ID: "a", State: core.StateDownloading}, wantOK: true},
		{id: "b", want: core.DownloadStateChanged{ID: "b", State: core.StateDone, Path: "/out/b.iso"}, wantOK: true},
		{id: "c", want: core.DownloadStateChanged{ID: "c", State: core.StateFailed, Err: errGone}, wantOK: true},
		{id: "d"},
	}
	for _, tc := range tests {
		got, ok := stateOf(snaps, tc.id)
		if ok != tc.wantOK || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("stateOf(%s) = %#v, %v; want %#v, %v", tc.id, got, ok, tc.want, tc.wantOK)
		}
	}
}
