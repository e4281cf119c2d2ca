package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/dragonload/dragonload/core/config"
	"github.com/dragonload/dragonload/quicwire"
)

// The room code is a shared secret, so it should never have to be on a
// command line, where every local user can read it (ps, /proc). Three ways
// avoid that: `dragonload join` asks for it (without echo on a terminal,
// or reads one line from standard input) and saves it; --room-file reads
// it from a file; $DRAGONLOAD_ROOM carries it in the environment. --room
// still works, for test beds and scripts that accept the risk.

// roomEnv is the environment variable that may carry the room code.
const roomEnv = "DRAGONLOAD_ROOM"

// resolveRoom settles the room code from --room, else --room-file, else
// $DRAGONLOAD_ROOM ("" = the stored one).
func (c *common) resolveRoom() error {
	switch {
	case c.room != "":
		if c.roomFile != "" {
			return errors.New("--room and --room-file both give a room code; use one")
		}
	case c.roomFile != "":
		code, err := readRoomFile(c.roomFile)
		if err != nil {
			return err
		}
		c.room = code
	default:
		c.room = strings.TrimSpace(os.Getenv(roomEnv))
	}
	return nil
}

// readRoomFile reads a room code: the file's first line.
func readRoomFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("cannot read the room code: %w", err)
	}
	defer f.Close()
	line, err := bufio.NewReader(io.LimitReader(f, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("cannot read the room code from %s: %w", path, err)
	}
	code := strings.TrimSpace(line)
	if code == "" {
		return "", fmt.Errorf("%s holds no room code on its first line", path)
	}
	return code, nil
}

// runJoin is `dragonload join`: it asks for a room code and saves it, so
// that the app and the agent use that room from then on.
func runJoin(args []string, env Env) int {
	fs, c := newFlags("join", env)
	pos, err := parse(fs, args)
	if err != nil {
		return usageError(env, "join", err)
	}
	if len(pos) > 0 {
		// The argument is not echoed: it may well be the code itself.
		return usageError(env, "join", errors.New("join takes no arguments: it asks for the code, so that the code is not on the command line"))
	}
	if err := c.resolveRoom(); err != nil {
		return usageError(env, "join", err)
	}
	code := c.room
	if code == "" {
		if code, err = askRoom(env); err != nil {
			return fail(env, ExitUsage, err)
		}
	}
	code = quicwire.NormalizeRoomCode(code)
	if code == "" {
		return fail(env, ExitUsage, errors.New("no room code was given"))
	}
	home := c.home
	if home == "" {
		if home, err = config.DefaultHome(); err != nil {
			return fail(env, ExitFailed, err)
		}
	}
	s, _, err := config.Load(home)
	if err != nil {
		return fail(env, ExitFailed, err)
	}
	s.Room = code
	if err := config.Save(home, s); err != nil {
		return fail(env, ExitFailed, err)
	}
	if quicwire.RoomCodeWeak(code) {
		fmt.Fprintln(env.Stderr, "dragonload: warning: this room code is short; a code made by Dragonload (shown in the app's Settings) is much harder to guess.")
	}
	fmt.Fprintf(env.Stdout, "Joined the room. The app and `dragonload agent` use it from now on (settings in %s).\n", home)
	return ExitOK
}

// askRoom reads the code: without echo from a terminal, else the first line
// of standard input.
func askRoom(env Env) (string, error) {
	if env.Stdin == nil {
		return "", errors.New("no room code: give it on standard input, with --room-file or in $" + roomEnv)
	}
	if f, ok := env.Stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(env.Stderr, "Room code (from the app's Settings on another machine): ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(env.Stderr)
		if err != nil {
			return "", fmt.Errorf("cannot read the room code: %w", err)
		}
		return string(b), nil
	}
	line, err := bufio.NewReader(io.LimitReader(env.Stdin, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("cannot read the room code: %w", err)
	}
	return strings.TrimSpace(line), nil
}
