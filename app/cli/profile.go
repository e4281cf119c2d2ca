package cli

import (
	"fmt"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
)

// ProfileEnv names the file a CPU profile of the whole run is written to,
// for any command and the app: `DRAGONLOAD_CPUPROFILE=get.prof dragonload
// get URL`, then `go tool pprof -top bin/dragonload get.prof`. It is an
// environment variable rather than a flag so that it needs no place in
// the command-line contract and reaches the app and the agent alike. A
// "%p" in the path becomes the process id, so that several processes of
// one run (a get and the agents lending to it) each keep their own.
const ProfileEnv = "DRAGONLOAD_CPUPROFILE"

// startProfile starts a CPU profile into path and returns what stops it
// and closes the file.
func startProfile(path string) (stop func() error, err error) {
	path = strings.ReplaceAll(path, "%p", strconv.Itoa(os.Getpid()))
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cannot write the CPU profile ($%s): %w", ProfileEnv, err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cannot start the CPU profile ($%s): %w", ProfileEnv, err)
	}
	return func() error {
		pprof.StopCPUProfile()
		return f.Close()
	}, nil
}
