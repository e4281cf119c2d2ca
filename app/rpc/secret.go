package rpc

import (
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode"

	"github.com/dragonload/dragonload/core/osutil"
)

const (
	// SecretEnv names the environment variable whose value, when set,
	// is the secret (it takes precedence over the stored one).
	SecretEnv = "DRAGONLOAD_RPC_SECRET"
	// SecretFile is the file under the home folder holding the secret.
	SecretFile = "rpc-secret"
	// MinSecretLen is the shortest secret accepted, in bytes. A generated
	// one is 32 characters (160 bits).
	MinSecretLen = 16
	// maxSecretLen bounds a secret read from a file or the environment.
	maxSecretLen = 1024
)

// secretBytes is the entropy of a generated secret: 160 bits, 32 base32
// characters with no padding.
const secretBytes = 20

var secretEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// LoadOrCreateSecret returns the RPC secret: $DRAGONLOAD_RPC_SECRET when it
// is set, else the one stored in home/rpc-secret, else a new random one
// (160 bits, lowercase base32) that it stores there with mode 0600,
// atomically. A stored file readable by others is made private again.
func LoadOrCreateSecret(home string) (string, error) {
	if v, ok := os.LookupEnv(SecretEnv); ok && v != "" {
		if err := CheckSecret(v); err != nil {
			return "", fmt.Errorf("%s: %w", SecretEnv, err)
		}
		return v, nil
	}
	if home == "" {
		return "", errors.New("no home folder to keep the RPC secret in")
	}
	path := filepath.Join(home, SecretFile)
	data, err := readSmall(path)
	switch {
	case err == nil:
		secret := strings.TrimSpace(string(data))
		if err := CheckSecret(secret); err != nil {
			return "", fmt.Errorf("the RPC secret in %s: %w (delete the file to make a new one)", path, err)
		}
		if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(path, 0o600); err != nil {
				return "", fmt.Errorf("cannot make %s private: %w", path, err)
			}
		}
		return secret, nil
	case !errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("cannot read the RPC secret: %w", err)
	}
	secret, err := NewSecret()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(home, 0o700); err != nil {
		return "", fmt.Errorf("cannot create home folder %s: %w", home, err)
	}
	if err := osutil.WriteFileAtomic(path, []byte(secret+"\n"), 0o600); err != nil {
		return "", err
	}
	return secret, nil
}

// NewSecret returns a new random secret: 160 bits as 32 lowercase base32
// characters.
func NewSecret() (string, error) {
	var b [secretBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("cannot generate an RPC secret: %w", err)
	}
	return strings.ToLower(secretEncoding.EncodeToString(b[:])), nil
}

// CheckSecret reports why s cannot be a secret: too short, too long, or
// holding spaces or control characters (which would not survive being
// pasted into a client's settings).
func CheckSecret(s string) error {
	switch {
	case len(s) < MinSecretLen:
		return fmt.Errorf("the RPC secret must be at least %d characters long (it has %d)", MinSecretLen, len(s))
	case len(s) > maxSecretLen:
		return fmt.Errorf("the RPC secret must be at most %d characters long", maxSecretLen)
	}
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return errors.New("the RPC secret must not contain spaces or control characters")
		}
	}
	return nil
}

// readSmall reads a file of at most maxSecretLen+2 bytes (a secret and a
// line ending); a larger one is an error rather than a large read.
func readSmall(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSecretLen+3))
	if err != nil {
		return nil, err
	}
	if len(data) > maxSecretLen+2 {
		return nil, fmt.Errorf("%s is larger than a secret", path)
	}
	return data, nil
}
