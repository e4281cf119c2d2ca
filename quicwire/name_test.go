package quicwire

import (
	"context"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/dragonload/dragonload/core/names"
)

// TestSetName: a renamed node sends its new name in every later STATUS
// and hello, so connected peers learn it at their next status poll and new
// connections start with it. A name the wire cannot carry is refused and
// the old one stays.
func TestSetName(t *testing.T) {
	var (
		mu   sync.Mutex
		from []string // requester names the lender's handler saw
	)
	lender := newNode(t, nodeOpts{name: "old", lending: true, handler: handlerFunc(
		func(ctx context.Context, p PeerInfo, req FetchRequest, w io.Writer) error {
			mu.Lock()
			from = append(from, p.Name)
			mu.Unlock()
			return (&patternHandler{}).ServeFetch(ctx, p, req, w)
		})})
	asker := newNode(t, nodeOpts{name: "asker"})
	p := dial(t, asker, lender)
	if p.Name() != "old" {
		t.Fatalf("name after hello %q, want \"old\"", p.Name())
	}

	if err := lender.SetName("new"); err != nil {
		t.Fatal(err)
	}
	if lender.Name() != "new" {
		t.Fatalf("Name() = %q after SetName(\"new\")", lender.Name())
	}
	// The live connection hears it at its next status query.
	if st, err := p.Status(context.Background()); err != nil || st.Name != "new" || p.Name() != "new" {
		t.Fatalf("status after rename: %+v %v, Name() %q", st, err, p.Name())
	}
	// A new connection gets it in the hello.
	if p2 := dial(t, asker, lender); p2.Name() != "new" {
		t.Fatalf("name in a new hello %q, want \"new\"", p2.Name())
	}

	// The requester's side: its IDENT carries the name of the moment.
	if err := asker.SetName("asker 2"); err != nil {
		t.Fatal(err)
	}
	p3 := dial(t, asker, lender)
	fetch := func(p *Peer) {
		t.Helper()
		if err := p.Fetch(context.Background(), FetchRequest{URL: "https://example.org/f", Length: 10, Size: 10}, func([]byte) error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	fetch(p)  // connected before the rename: keeps the IDENT name
	fetch(p3) // connected after it
	mu.Lock()
	got := strings.Join(from, ",")
	mu.Unlock()
	if got != "asker,asker 2" {
		t.Fatalf("lender saw requesters %q, want \"asker,asker 2\"", got)
	}

	for _, bad := range []string{strings.Repeat("x", 300), "bad \xff utf-8"} {
		if err := lender.SetName(bad); err == nil {
			t.Errorf("SetName(%.20q) succeeded", bad)
		}
	}
	if lender.Name() != "new" {
		t.Fatalf("a refused name replaced the old one: %q", lender.Name())
	}
}

// TestNickname: a nickname replaces the announced name in Name until it
// is cleared, and a status poll (which refreshes the announced name) does
// not undo it.
func TestNickname(t *testing.T) {
	lender := newNode(t, nodeOpts{name: "vm"})
	p := dial(t, newNode(t, nodeOpts{}), lender)
	cases := []struct {
		nickname, rename       string
		wantName, wantAnnounce string
	}{
		{"attic", "", "attic", "vm"},
		{"attic", "vm-2", "attic", "vm-2"},
		{"", "", "vm-2", "vm-2"},
	}
	for _, c := range cases {
		p.SetNickname(c.nickname)
		if c.rename != "" {
			if err := lender.SetName(c.rename); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := p.Status(context.Background()); err != nil {
			t.Fatal(err)
		}
		if p.Name() != c.wantName || p.Announced() != c.wantAnnounce {
			t.Errorf("nickname %q, lender renamed %q: Name %q, Announced %q; want %q, %q",
				c.nickname, c.rename, p.Name(), p.Announced(), c.wantName, c.wantAnnounce)
		}
	}
}

// TestHostileNames: a peer that announces a name with bidi overrides,
// control characters or 256 bytes is known by a cleaned name, on both
// ends of the hello and after a status query.
func TestHostileNames(t *testing.T) {
	evil := "\u202egnp.exe\x07" + strings.Repeat("x", 200)
	lender := newNode(t, nodeOpts{name: evil, lending: true})
	client := newNode(t, nodeOpts{name: evil})
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	p, err := client.Dial(ctx, lender.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	check := func(where, got string) {
		t.Helper()
		if strings.ContainsAny(got, "\u202e\x07") || len(got) > names.MaxDisplayName || !strings.HasPrefix(got, "gnp.exe") {
			t.Errorf("%s: name %q is not cleaned", where, got)
		}
	}
	check("hello", p.Name())
	if _, err := p.Status(ctx); err != nil {
		t.Fatal(err)
	}
	check("status", p.Name())
}
