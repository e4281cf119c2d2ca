package quicwire

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base32"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/dragonload/dragonload/core/osutil"
)

// NodeID names a node: the SHA-256 of its Ed25519 public key.
type NodeID [32]byte

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// String is the lowercase, unpadded base32 form (52 characters).
func (id NodeID) String() string {
	return strings.ToLower(idEncoding.EncodeToString(id[:]))
}

// Short is the first 8 characters of String, for logs and lists.
func (id NodeID) Short() string {
	return id.String()[:8]
}

// ParseNodeID reads the form String writes, in either case.
func ParseNodeID(s string) (NodeID, error) {
	var id NodeID
	b, err := idEncoding.DecodeString(strings.ToUpper(strings.TrimSpace(s)))
	if err != nil {
		return id, fmt.Errorf("node id %.60q is not base32: %w", s, err)
	}
	if len(b) != len(id) {
		return id, fmt.Errorf("node id %.60q holds %d bytes, want %d", s, len(b), len(id))
	}
	copy(id[:], b)
	return id, nil
}

func idOf(pub ed25519.PublicKey) NodeID {
	return sha256.Sum256(pub)
}

// Identity is a node's long-term key pair and the id derived from it.
type Identity struct {
	Key ed25519.PrivateKey
	ID  NodeID
}

// NewIdentity makes a fresh random identity.
func NewIdentity() (*Identity, error) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate node key: %w", err)
	}
	return identityOf(key), nil
}

func identityOf(key ed25519.PrivateKey) *Identity {
	return &Identity{Key: key, ID: idOf(key.Public().(ed25519.PublicKey))}
}

const pemType = "PRIVATE KEY"

// LoadIdentity reads the PEM (PKCS #8) Ed25519 key at path. When the file
// does not exist it makes a new identity and writes it there atomically,
// readable by the owner only, creating the folder if needed.
func LoadIdentity(path string) (*Identity, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return createIdentity(path)
	}
	if err != nil {
		return nil, fmt.Errorf("read node key: %w", err)
	}
	block, rest := pem.Decode(data)
	if block == nil || block.Type != pemType || len(strings.TrimSpace(string(rest))) != 0 {
		return nil, fmt.Errorf("node key file %s is corrupt: want one PEM %q block", path, pemType)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("node key file %s is corrupt: %w", path, err)
	}
	key, ok := parsed.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("node key file %s is corrupt: holds a %T, want an Ed25519 key", path, parsed)
	}
	return identityOf(key), nil
}

func createIdentity(path string) (*Identity, error) {
	id, err := NewIdentity()
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(id.Key)
	if err != nil {
		return nil, fmt.Errorf("encode node key: %w", err)
	}
	data := pem.EncodeToMemory(&pem.Block{Type: pemType, Bytes: der})
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("save node key: %w", err)
	}
	if err := osutil.WriteFileAtomic(path, data, 0o600); err != nil {
		return nil, fmt.Errorf("save node key: %w", err)
	}
	return id, nil
}
