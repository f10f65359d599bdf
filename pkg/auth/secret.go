package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2Params are argon2id costs. The default is OWASP's recommended minimum (19 MiB, two
// passes, one lane): client secrets are 256-bit random strings, so the hash guards a leaked
// client file against offline guessing without making each token request expensive.
type Argon2Params struct {
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
}

// DefaultArgon2 is the cost new secrets are hashed with.
var DefaultArgon2 = Argon2Params{MemoryKiB: 19 * 1024, Time: 2, Threads: 1}

// Bounds on costs read back from a stored hash, so an edited client file cannot make every
// token request allocate gigabytes.
const (
	maxArgon2Memory  = 256 * 1024
	maxArgon2Time    = 10
	maxArgon2Threads = 16
)

// secretHasher hashes and checks client secrets, at most a few at a time: each check holds
// MemoryKiB of memory, and a flood of token requests must not exhaust the gateway.
type secretHasher struct {
	params Argon2Params
	slots  chan struct{}
}

func newSecretHasher(p Argon2Params, concurrency int) *secretHasher {
	if p.MemoryKiB == 0 {
		p = DefaultArgon2
	}
	return &secretHasher{params: p, slots: make(chan struct{}, max(concurrency, 1))}
}

// hash returns the PHC string of secret: $argon2id$v=19$m=…,t=…,p=…$salt$hash.
func (h *secretHasher) hash(ctx context.Context, secret string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	sum, err := h.derive(ctx, secret, salt, h.params)
	if err != nil {
		return "", err
	}
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, h.params.MemoryKiB, h.params.Time,
		h.params.Threads, enc.EncodeToString(salt), enc.EncodeToString(sum)), nil
}

var errBadHash = errors.New("auth: malformed secret hash")

// check reports whether secret matches the PHC string encoded, in constant time. A malformed
// hash is an error, never a match.
func (h *secretHasher) check(ctx context.Context, secret, encoded string) (bool, error) {
	p, salt, want, err := parsePHC(encoded)
	if err != nil {
		return false, err
	}
	got, err := h.derive(ctx, secret, salt, p)
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

func (h *secretHasher) derive(ctx context.Context, secret string, salt []byte, p Argon2Params) ([]byte, error) {
	select {
	case h.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-h.slots }()
	return argon2.IDKey([]byte(secret), salt, p.Time, p.MemoryKiB, p.Threads, 32), nil
}

func parsePHC(s string) (Argon2Params, []byte, []byte, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return Argon2Params{}, nil, nil, errBadHash
	}
	var p Argon2Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Time, &p.Threads); err != nil {
		return Argon2Params{}, nil, nil, errBadHash
	}
	if p.MemoryKiB < 8 || p.MemoryKiB > maxArgon2Memory || p.Time < 1 || p.Time > maxArgon2Time || p.Threads < 1 || p.Threads > maxArgon2Threads {
		return Argon2Params{}, nil, nil, errBadHash
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	sum, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(sum) != 32 {
		return Argon2Params{}, nil, nil, errBadHash
	}
	return p, salt, sum, nil
}
