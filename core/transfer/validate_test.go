package transfer

import (
	"testing"

	"github.com/dragonload/dragonload/core/origin"
)

func TestJudge(t *testing.T) {
	pin := origin.Identity{Size: 10, ETag: `"a"`, LastModified: "Mon, 02 Jan 2006 15:04:05 GMT"}
	cases := []struct {
		name  string
		fresh origin.Identity
		field string
		want  verdict
	}{
		{"same", pin, origin.FieldETag, sameVersion},
		{"other ETag", origin.Identity{Size: 10, ETag: `"b"`, LastModified: pin.LastModified}, origin.FieldETag, otherVersion},
		{"ETag left out", origin.Identity{Size: 10, LastModified: pin.LastModified}, origin.FieldETag, unknown},
		{"size differs", origin.Identity{Size: 11, ETag: `"a"`}, origin.FieldETag, otherVersion},
		{"Last-Modified differs while asking about the ETag", origin.Identity{Size: 10, ETag: `"a"`, LastModified: "Tue, 03 Jan 2006 15:04:05 GMT"}, origin.FieldETag, otherVersion},
		{"Last-Modified left out", origin.Identity{Size: 10, ETag: `"a"`}, origin.FieldLastModified, unknown},
		{"a peer could not say which", pin, "", sameVersion},
		{"strong became weak", origin.Identity{Size: 10, WeakETag: `W/"a"`}, origin.FieldETag, otherVersion},
	}
	for _, tc := range cases {
		if got := judge(pin, tc.fresh, tc.field); got != tc.want {
			t.Errorf("%s: judge = %v, want %v", tc.name, got, tc.want)
		}
	}
	weak := origin.Identity{Size: 10, WeakETag: `W/"1"`}
	if got := judge(weak, origin.Identity{Size: 10, WeakETag: `W/"2"`}, origin.FieldETag); got != otherVersion {
		t.Errorf("a changed weak ETag: judge = %v, want otherVersion", got)
	}
}
