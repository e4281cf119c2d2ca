package netbed

import (
	"os"
	"testing"
)

// NeedRoot skips a test that builds a bed when it cannot (not root, or no
// iproute2), except under CI, which runs as root and must run every test.
func NeedRoot(t testing.TB) {
	t.Helper()
	if err := RequireRoot(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
}
