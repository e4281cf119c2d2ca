package cli

import (
	"bytes"
	"log/slog"
	"testing"

	"github.com/dragonload/dragonload/core"
)

// TestAppPrefersPort4700: the app listens on the stable port unless
// --listen says otherwise, so that others can be given its address; the
// port is a preference (PreferListen), not a demand (Listen), so an app
// started beside an agent still starts.
func TestAppPrefersPort4700(t *testing.T) {
	cases := []struct {
		args               []string
		listen, preferring string
	}{
		{[]string{"--no-mdns"}, "", core.DefaultListen},
		{[]string{"--no-mdns", "--listen", "127.0.0.1:5000"}, "127.0.0.1:5000", ""},
		{[]string{"--no-mdns", "--listen", ":0"}, ":0", ""},
	}
	for _, c := range cases {
		var got *core.Config
		desk := func(cfg core.Config, _ []string, _ string, _ *slog.Logger) error {
			got = &cfg
			return nil
		}
		var out, errb bytes.Buffer
		if code := Main(c.args, Env{Stdout: &out, Stderr: &errb}, desk); code != ExitOK || got == nil {
			t.Fatalf("%q: exit %d, desktop started %v; stderr %q", c.args, code, got != nil, errb.String())
		}
		if got.Listen != c.listen || got.PreferListen != c.preferring {
			t.Errorf("%q: Listen %q, PreferListen %q; want %q, %q", c.args, got.Listen, got.PreferListen, c.listen, c.preferring)
		}
	}
	if core.DefaultListen != ":4700" {
		t.Errorf("DefaultListen = %q: the documented port is 4700", core.DefaultListen)
	}
}
