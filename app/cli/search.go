package cli

import (
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dragonload/dragonload/app/units"
)

// runSearch asks the room's peers for shared files whose names match the
// words, and lists each with the link that downloads it from its holders.
func runSearch(args []string, env Env) int {
	fs, c := newFlags("search", env)
	wait := fs.Duration("wait", 3*time.Second, "")
	pos, err := parse(fs, args)
	if err != nil {
		return usageError(env, "search", err)
	}
	words := strings.TrimSpace(strings.Join(pos, " "))
	switch {
	case words == "":
		return usageError(env, "search", errors.New("give the words to look for, e.g. dragonload search debian iso"))
	case len(words) > 256:
		return usageError(env, "search", fmt.Errorf("the words are %d bytes long; at most 256 are sent", len(words)))
	case *wait < 0 || *wait > time.Hour:
		return usageError(env, "search", fmt.Errorf("--wait %v is out of range (0 to 1h)", *wait))
	}
	eng, ctx, done, code := lookOnly(env, "search", c)
	if eng == nil {
		return code
	}
	defer done()
	// Peers are found and connected during the wait, as for `peers`.
	select {
	case <-ctx.Done():
		return ExitInterrupted
	case <-time.After(*wait):
	}
	results := eng.Search(ctx, words)
	if ctx.Err() != nil {
		return ExitInterrupted
	}
	if len(results) == 0 {
		ready := 0
		for _, p := range eng.Peers() {
			if p.Ready {
				ready++
			}
		}
		fmt.Fprintf(env.Stderr, "No shared file matches %q (%d peers asked).\n", words, ready)
		return ExitOK
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tNAME\tSIZE\tSHA256\tHELD BY")
	for i, r := range results {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", i+1, r.Name, units.Bytes(r.Size), r.SHA256[:16]+"…", strings.Join(r.Holders, ", "))
	}
	tw.Flush()
	fmt.Fprintln(env.Stdout)
	fmt.Fprintln(env.Stdout, "Download one from its holders with: dragonload get LINK")
	for i, r := range results {
		fmt.Fprintf(env.Stdout, "%d  %s\n", i+1, r.Link.URI())
	}
	return ExitOK
}
