package origin

import (
	"context"
	"errors"
	"strings"
	"testing"

	testorigin "github.com/dragonload/dragonload/test/origin"
)

// TestSetAllowPrivate: a guarded client refuses a loopback origin with
// its PrivateHint in the message, fetches from it once
// SetAllowPrivate(true) is called on the same client, and refuses it
// again after SetAllowPrivate(false), even though the last request left
// a kept-alive connection to it.
func TestSetAllowPrivate(t *testing.T) {
	o := startOrigin(t, testorigin.Config{Size: 4096, Seed: 1})
	const hint = "turn it on in Settings"
	c := New(Options{PrivateHint: hint})
	t.Cleanup(c.CloseIdleConnections)
	ctx := context.Background()

	if c.AllowPrivate() {
		t.Fatal("AllowPrivate() = true for a client made without it")
	}
	_, err := c.Probe(ctx, o.URL(), nil)
	if !errors.Is(err, ErrForbiddenAddress) {
		t.Fatalf("guarded probe of a loopback origin: %v, want ErrForbiddenAddress", err)
	}
	if !strings.HasSuffix(err.Error(), "("+hint+")") || strings.Contains(err.Error(), "--allow-private-origins") {
		t.Errorf("refusal %q does not end with the hint %q alone", err, hint)
	}

	c.SetAllowPrivate(true)
	if !c.AllowPrivate() {
		t.Fatal("AllowPrivate() = false after SetAllowPrivate(true)")
	}
	info, err := c.Probe(ctx, o.URL(), nil)
	if err != nil {
		t.Fatalf("probe after SetAllowPrivate(true): %v", err)
	}
	if info.Identity.Size != 4096 {
		t.Fatalf("size %d, want 4096", info.Identity.Size)
	}

	c.SetAllowPrivate(false)
	if c.AllowPrivate() {
		t.Fatal("AllowPrivate() = true after SetAllowPrivate(false)")
	}
	if _, err := c.Probe(ctx, o.URL(), nil); !errors.Is(err, ErrForbiddenAddress) {
		t.Fatalf("probe after SetAllowPrivate(false): %v, want ErrForbiddenAddress (a kept-alive connection must not be reused)", err)
	}
}
