package cli

import (
	"fmt"
	"regexp"
	"runtime"
	"runtime/debug"

	"github.com/dragonload/dragonload/app/rpc"
	"github.com/dragonload/dragonload/core"
	"github.com/dragonload/dragonload/core/config"
)

// Version and Commit may be set when building, for builds made without
// version control information (a source tarball, -buildvcs=false):
//
//	go build -ldflags "-X github.com/dragonload/dragonload/app/cli.Version=v1.2.0 -X github.com/dragonload/dragonload/app/cli.Commit=0123456789ab"
//
// Otherwise both come from what go build stamped into the binary.
var Version, Commit string

// VersionString is the version `dragonload version` prints first, for
// other places that report it (the aria2 RPC's getVersion).
func VersionString() string {
	v := Version
	if bi, ok := debug.ReadBuildInfo(); ok && v == "" {
		v = moduleVersion(bi.Main.Version)
	}
	if v == "" {
		v = "devel"
	}
	return v
}

// runVersion is `dragonload version` and `dragonload --version`.
func runVersion(args []string, env Env) int {
	fs, _ := newFlags("version", env) // the common flags are accepted, and mean nothing here
	pos, err := parse(fs, args)
	if err != nil {
		return usageError(env, "version", err)
	}
	if len(pos) > 0 {
		return usageError(env, "version", fmt.Errorf("version takes no arguments, got %q", pos[0]))
	}
	bi, _ := debug.ReadBuildInfo()
	fmt.Fprint(env.Stdout, versionText(bi, Version, Commit))
	return ExitOK
}

// versionText is what `dragonload version` prints: the version, the
// commit, the Go release and the protocol version, one per line. bi may
// be nil; version and commit, when set, win over bi.
func versionText(bi *debug.BuildInfo, version, commit string) string {
	goVersion := runtime.Version()
	if bi != nil {
		if version == "" {
			version = moduleVersion(bi.Main.Version)
		}
		if bi.GoVersion != "" {
			goVersion = bi.GoVersion
		}
		if commit == "" {
			commit = vcsCommit(bi.Settings)
		}
	}
	if version == "" {
		version = "devel"
	}
	if commit == "" {
		commit = "unknown"
	}
	return fmt.Sprintf("dragonload %s\ncommit   %s\ngo       %s\nprotocol %d\n", version, commit, goVersion, core.ProtocolVersion)
}

// pseudoVersion matches the versions go build derives from a commit with
// no tag (v0.0.0-20261203090000-8696119abcde): the commit line says that
// better.
var pseudoVersion = regexp.MustCompile(`^v[0-9]+\.[0-9]+\.[0-9]+-(?:[0-9A-Za-z.]+[.-])?[0-9]{14}-[0-9a-f]{12}(\+dirty)?$`)

// moduleVersion is the main module's version as a person reads it: a
// tagged release as is, "" for a development build.
func moduleVersion(v string) string {
	if v == "" || v == "(devel)" || pseudoVersion.MatchString(v) {
		return ""
	}
	return v
}

// vcsCommit is the short commit go build stamped, "+dirty" when the tree
// had changes, or "" when nothing was stamped.
func vcsCommit(settings []debug.BuildSetting) string {
	var rev string
	var dirty bool
	for _, s := range settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return ""
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "+dirty"
	}
	return rev
}

// runRPCSecret is `dragonload rpc-secret`: the token for the aria2 RPC.
func runRPCSecret(args []string, env Env) int {
	fs, c := newFlags("rpc-secret", env)
	pos, err := parse(fs, args)
	if err != nil {
		return usageError(env, "rpc-secret", err)
	}
	if len(pos) > 0 {
		return usageError(env, "rpc-secret", fmt.Errorf("rpc-secret takes no arguments, got %q", pos[0]))
	}
	home := c.home
	if home == "" {
		if home, err = config.DefaultHome(); err != nil {
			return fail(env, ExitFailed, err)
		}
	}
	secret, err := rpc.LoadOrCreateSecret(home)
	if err != nil {
		return fail(env, ExitFailed, err)
	}
	fmt.Fprintln(env.Stdout, secret)
	return ExitOK
}
