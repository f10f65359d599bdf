package auth

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// Keyring is the local issuer's Ed25519 signing keys in a directory. Retailbridge signs with the
// newest key and publishes every key not retired, so tokens signed before a rotation stay valid
// until their key is retired. Other processes (the `retailbridge keys` command) change the
// directory; a running gateway notices by polling it, never needing a restart.
//
// Layout: each usable key is a PKCS#8 PEM file `*.pem` whose `Created` header dates it (a file
// without one is dated by its modification time); retiring a key replaces its private key with
// `<kid>.retired`, a PKIX public key PEM with `Created` and `Retired` headers, so a retired key
// can never sign again. A kid is the RFC 7638 thumbprint of the key, never a file name, so no
// token-supplied kid ever names a file.
type Keyring struct {
	dir       string
	maxAge    time.Duration
	now       func() time.Time
	logger    *slog.Logger
	poll      time.Duration
	bootstrap string
	rescan    throttle

	mu      sync.RWMutex
	keys    []KeyInfo // newest first, retired included
	signing *SigningKey
	byKid   map[string]PublicKey
}

// KeyInfo describes one key of a keyring.
type KeyInfo struct {
	ID      string
	Created time.Time
	// Retired is when the key was retired; zero while it is published.
	Retired time.Time
	// Expired is set when the key is past the keyring's age limit and is no longer the newest.
	Expired bool
	// Signing marks the key new tokens are signed with.
	Signing bool
	Public  ed25519.PublicKey
	File    string
}

// Published reports whether the key verifies tokens and appears in the JWKS.
func (k KeyInfo) Published() bool { return k.Retired.IsZero() && !k.Expired }

// KeyringOptions tune a keyring.
type KeyringOptions struct {
	// MaxAge retires keys older than this automatically once a newer key exists (0 = only
	// explicit retirement).
	MaxAge time.Duration
	// Poll is how often Run rescans the directory (default 2 s).
	Poll time.Duration
	// Bootstrap, when set, is the file a first key is created in when the directory holds no
	// usable key. Without it an empty keyring stays empty.
	Bootstrap string
	Logger    *slog.Logger
	Now       func() time.Time
}

// OpenKeyring loads the keys in dir.
func OpenKeyring(dir string, o KeyringOptions) (*Keyring, error) {
	if o.Poll <= 0 {
		o.Poll = 2 * time.Second
	}
	k := &Keyring{dir: dir, maxAge: o.MaxAge, now: orNow(o.Now), logger: orDiscard(o.Logger), poll: o.Poll,
		bootstrap: o.Bootstrap, rescan: throttle{interval: time.Second, now: orNow(o.Now)}}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if err := k.Reload(); err != nil {
		return nil, err
	}
	if k.bootstrap != "" {
		if _, err := k.Signing(); err != nil {
			if _, err := k.create(k.bootstrap); err != nil {
				return nil, err
			}
			if err := k.Reload(); err != nil {
				return nil, err
			}
		}
	}
	return k, nil
}

// Dir is the keyring's directory.
func (k *Keyring) Dir() string { return k.dir }

// Reload rescans the directory. Unreadable files are skipped with a warning rather than
// taking every other key down with them.
func (k *Keyring) Reload() error {
	entries, err := os.ReadDir(k.dir)
	if err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	byID := map[string]KeyInfo{}
	var priv = map[string]ed25519.PrivateKey{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") {
			continue
		}
		path := filepath.Join(k.dir, name)
		switch filepath.Ext(name) {
		case ".pem":
			info, p, err := readPrivateKeyFile(path)
			if err != nil {
				k.logger.Warn("keyring: skipping unreadable key", "file", path, "error", err.Error())
				continue
			}
			if old, ok := byID[info.ID]; ok && !old.Retired.IsZero() {
				continue // a retired kid stays retired, whatever copy remains
			}
			byID[info.ID], priv[info.ID] = info, p
		case ".retired":
			info, err := readRetiredFile(path)
			if err != nil {
				k.logger.Warn("keyring: skipping unreadable retired key", "file", path, "error", err.Error())
				continue
			}
			byID[info.ID] = info
			delete(priv, info.ID)
		}
	}
	keys := make([]KeyInfo, 0, len(byID))
	for _, ki := range byID {
		keys = append(keys, ki)
	}
	slices.SortFunc(keys, func(a, b KeyInfo) int {
		if c := b.Created.Compare(a.Created); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	var signing *SigningKey
	byKid := map[string]PublicKey{}
	for i := range keys {
		ki := &keys[i]
		if !ki.Retired.IsZero() {
			continue
		}
		if signing == nil {
			signing = &SigningKey{ID: ki.ID, Private: priv[ki.ID]}
			ki.Signing = true
		} else if k.maxAge > 0 && k.now().Sub(ki.Created) > k.maxAge {
			ki.Expired = true
			continue
		}
		byKid[ki.ID] = PublicKey{Key: ki.Public, Alg: "EdDSA"}
	}
	k.mu.Lock()
	k.keys, k.signing, k.byKid = keys, signing, byKid
	k.mu.Unlock()
	return nil
}

func readPEM(path string) (*pem.Block, os.FileInfo, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, nil, errors.New("no PEM block")
	}
	return blk, st, nil
}

func readPrivateKeyFile(path string) (KeyInfo, ed25519.PrivateKey, error) {
	blk, st, err := readPEM(path)
	if err != nil {
		return KeyInfo{}, nil, err
	}
	if blk.Type != "PRIVATE KEY" {
		return KeyInfo{}, nil, fmt.Errorf("PEM block is %q, want PRIVATE KEY", blk.Type)
	}
	key, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return KeyInfo{}, nil, err
	}
	priv, ok := key.(ed25519.PrivateKey)
	if !ok {
		return KeyInfo{}, nil, errors.New("not an Ed25519 key")
	}
	pub := priv.Public().(ed25519.PublicKey)
	created := st.ModTime()
	if c, err := time.Parse(time.RFC3339, blk.Headers["Created"]); err == nil {
		created = c
	}
	return KeyInfo{ID: Thumbprint(pub), Created: created.UTC(), Public: pub, File: path}, priv, nil
}

func readRetiredFile(path string) (KeyInfo, error) {
	blk, _, err := readPEM(path)
	if err != nil {
		return KeyInfo{}, err
	}
	key, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return KeyInfo{}, err
	}
	pub, ok := key.(ed25519.PublicKey)
	if !ok {
		return KeyInfo{}, errors.New("not an Ed25519 key")
	}
	created, _ := time.Parse(time.RFC3339, blk.Headers["Created"])
	retired, err := time.Parse(time.RFC3339, blk.Headers["Retired"])
	if err != nil {
		return KeyInfo{}, errors.New("no Retired header")
	}
	return KeyInfo{ID: Thumbprint(pub), Created: created.UTC(), Retired: retired.UTC(), Public: pub, File: path}, nil
}

// Key implements KeySet: published keys only.
func (k *Keyring) Key(kid string) (PublicKey, bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	p, ok := k.byKid[kid]
	return p, ok
}

// Missed implements KeySet: a token may be signed by a key rotated in since the last poll.
func (k *Keyring) Missed(string) bool {
	ran, err := k.rescan.do(k.Reload)
	if err != nil {
		k.logger.Warn("keyring reload failed", "dir", k.dir, "error", err.Error())
		return false
	}
	return ran
}

// Run implements Runner: poll the directory for rotated and retired keys.
func (k *Keyring) Run(ctx context.Context) {
	every(ctx, k.poll, func() {
		if err := k.Reload(); err != nil {
			k.logger.Warn("keyring reload failed", "dir", k.dir, "error", err.Error())
		}
	})
}

// ErrNoSigningKey means every key of the keyring is retired.
var ErrNoSigningKey = errors.New("auth: the keyring holds no usable signing key; run `retailbridge keys rotate`")

// Signing returns the key new tokens are signed with: the newest key not retired.
func (k *Keyring) Signing() (SigningKey, error) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if k.signing == nil {
		return SigningKey{}, ErrNoSigningKey
	}
	return *k.signing, nil
}

// Keys lists every key, newest first, retired ones included.
func (k *Keyring) Keys() []KeyInfo {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return slices.Clone(k.keys)
}

// JWKS is the published key set: every key that verifies tokens, newest first.
func (k *Keyring) JWKS() JWKS {
	k.mu.RLock()
	defer k.mu.RUnlock()
	set := JWKS{Keys: []JWK{}}
	for _, ki := range k.keys {
		if _, ok := k.byKid[ki.ID]; ok {
			set.Keys = append(set.Keys, Ed25519JWK(ki.ID, ki.Public))
		}
	}
	return set
}

// Rotate adds a new key, which signs from now on; older keys stay published until retired.
func (k *Keyring) Rotate() (KeyInfo, error) {
	info, err := k.create("")
	if err != nil {
		return KeyInfo{}, err
	}
	return info, k.Reload()
}

// create writes a new key to path (default <dir>/<kid>.pem), atomically and with mode 0600.
func (k *Keyring) create(path string) (KeyInfo, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return KeyInfo{}, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return KeyInfo{}, err
	}
	kid := Thumbprint(pub)
	if path == "" {
		path = filepath.Join(k.dir, kid+".pem")
	}
	created := k.now().UTC().Truncate(time.Second)
	// A rotation within the same second as the previous key must still sort after it.
	if keys := k.Keys(); len(keys) > 0 && !created.After(keys[0].Created) {
		created = keys[0].Created.Add(time.Second)
	}
	b := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Headers: map[string]string{"Created": created.Format(time.RFC3339)}, Bytes: der})
	if err := writeFileAtomic(path, b); err != nil {
		return KeyInfo{}, err
	}
	return KeyInfo{ID: kid, Created: created, Public: pub, File: path}, nil
}

// Retire stops publishing kid: tokens it signed are refused from the next poll on. Its private
// key is destroyed. The only usable key cannot be retired; rotate first.
func (k *Keyring) Retire(kid string) error {
	if err := k.Reload(); err != nil {
		return err
	}
	var target *KeyInfo
	usable := 0
	keys := k.Keys()
	for i := range keys {
		if keys[i].Retired.IsZero() {
			usable++
		}
		if keys[i].ID == kid {
			target = &keys[i]
		}
	}
	switch {
	case target == nil:
		return fmt.Errorf("auth: no key %q in %s", kid, k.dir)
	case !target.Retired.IsZero():
		return fmt.Errorf("auth: key %q is already retired", kid)
	case usable <= 1:
		return fmt.Errorf("auth: key %q is the only usable key; rotate before retiring it", kid)
	}
	der, err := x509.MarshalPKIXPublicKey(target.Public)
	if err != nil {
		return err
	}
	b := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Headers: map[string]string{
		"Created": target.Created.Format(time.RFC3339), "Retired": k.now().UTC().Format(time.RFC3339)}, Bytes: der})
	if err := writeFileAtomic(filepath.Join(k.dir, kid+".retired"), b); err != nil {
		return err
	}
	if err := os.Remove(target.File); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return k.Reload()
}

// writeFileAtomic writes b to path with mode 0600 through a temporary file and a rename, so a
// reader never sees a partial file.
func writeFileAtomic(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
