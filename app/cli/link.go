package cli

import (
	"fmt"
	"strconv"

	"github.com/dragonload/dragonload/core/link"
)

func runLink(args []string, env Env) int {
	fs, c := newFlags("link", env)
	sha := fs.String("sha256", "", "")
	size := fs.String("size", "", "")
	pos, err := parse(fs, args)
	if err != nil {
		return usageError(env, "link", err)
	}
	if len(pos) != 1 {
		return usageError(env, "link", fmt.Errorf("link takes exactly one URL, got %d arguments", len(pos)))
	}
	l := link.Link{URL: pos[0], Name: c.name, SHA256: *sha}
	if *size != "" {
		n, err := strconv.ParseInt(*size, 10, 64)
		if err != nil || n <= 0 {
			return usageError(env, "link", fmt.Errorf("--size %q is not a positive number of bytes", *size))
		}
		l.Size = n
	}
	if err := l.Validate(); err != nil {
		return fail(env, ExitUsage, err)
	}
	env.Stdout.Write(l.Format())
	return ExitOK
}
