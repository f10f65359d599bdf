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

// Keyring is the local issuer's Ed25519 signing keys. Retailbridge signs with the newest key
// and publishes every key not retired, so tokens signed before a rotation stay valid until their
// key is retired. The keys live in the shared identity store (IdentityStore), so every gateway
// signs and verifies with the same keys, or, for tools and tests, in a directory (OpenKeyring).
// Other processes (the `retailbridge keys` command, another gateway) change them; a running
// gateway notices by polling every Poll interval and at once on an unknown kid, never needing
// a restart.
//
// A kid is the RFC 7638 thumbprint of the key, never a file name or row chosen by a token.
type Keyring struct {
	src       keySource
	maxAge    time.Duration
	now       func() time.Time
	logger    *slog.Logger
	poll      time.Duration
	bootstrap bool
	rescan    throttle

	mu      sync.RWMutex
	keys    []KeyInfo // newest first, retired included
	signing *SigningKey
	byKid   map[string]PublicKey
}

// keySource is where a keyring's keys live.
type keySource interface {
	// loadKeys returns every key, retired ones included, and the private keys of the others.
	loadKeys(ctx context.Context) ([]KeyInfo, map[string]ed25519.PrivateKey, error)
	// addKey stores a new key dated after every existing one; with onlyIfNone it stores
	// nothing while a usable key exists (several gateways bootstrapping at once make one key).
	addKey(ctx context.Context, priv ed25519.PrivateKey, now time.Time, onlyIfNone bool) (KeyInfo, bool, error)
	// retireKey retires kid at at and destroys its private key. It refuses an unknown or
	// retired kid and the last usable key.
	retireKey(ctx context.Context, kid string, at time.Time) error
	describe() string
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
	// File is the key's file for a directory keyring.
	File string
}

// Published reports whether the key verifies tokens and appears in the JWKS.
func (k KeyInfo) Published() bool { return k.Retired.IsZero() && !k.Expired }

// KeyringOptions tune a keyring.
type KeyringOptions struct {
	// MaxAge retires keys older than this automatically once a newer key exists (0 = only
	// explicit retirement).
	MaxAge time.Duration
	// Poll is how often Run reloads the keys (default 2 s).
	Poll time.Duration
	// Bootstrap, when set, is the file a first key is created in when the directory holds no
	// usable key (directory keyrings). Without it an empty keyring stays empty.
	Bootstrap string
	// CreateFirst makes a store keyring create a first key when the store holds no usable key.
	CreateFirst bool
	Logger      *slog.Logger
	Now         func() time.Time
}

// OpenKeyring loads the keys in dir.
func OpenKeyring(dir string, o KeyringOptions) (*Keyring, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	o.CreateFirst = o.Bootstrap != ""
	return openKeyring(&keyDir{dir: dir, bootstrap: o.Bootstrap}, o)
}

func openKeyring(src keySource, o KeyringOptions) (*Keyring, error) {
	if o.Poll <= 0 {
		o.Poll = 2 * time.Second
	}
	k := &Keyring{src: src, maxAge: o.MaxAge, now: orNow(o.Now), logger: orDiscard(o.Logger), poll: o.Poll,
		bootstrap: o.CreateFirst, rescan: throttle{interval: time.Second, now: orNow(o.Now)}}
	if err := k.Reload(); err != nil {
		return nil, err
	}
	if k.bootstrap {
		if _, err := k.Signing(); err != nil {
			if _, err := k.create(true); err != nil {
				return nil, err
			}
			if err := k.Reload(); err != nil {
				return nil, err
			}
		}
	}
	return k, nil
}

// Source names where the keys live (a directory or the identity store), for messages.
func (k *Keyring) Source() string { return k.src.describe() }

// Reload reads the keys again.
func (k *Keyring) Reload() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	keys, priv, err := k.src.loadKeys(ctx)
	if err != nil {
		return fmt.Errorf("keyring: %w", err)
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
		if signing == nil && priv[ki.ID] != nil {
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

// keyDir is a keyring directory. Layout: each usable key is a PKCS#8 PEM file `*.pem` whose
// `Created` header dates it (a file without one is dated by its modification time); retiring a
// key replaces its private key with `<kid>.retired`, a PKIX public key PEM with `Created` and
// `Retired` headers, so a retired key can never sign again. This was the only home of keys
// before the identity store; OpenIdentity imports such a directory into the store once.
type keyDir struct {
	dir       string
	bootstrap string
}

func (d *keyDir) describe() string { return d.dir }

func (d *keyDir) loadKeys(context.Context) ([]KeyInfo, map[string]ed25519.PrivateKey, error) {
	return readKeyDir(d.dir, nil)
}

// readKeyDir reads a key directory; unreadable files are skipped with a warning rather than
// taking every other key down with them.
func readKeyDir(dir string, logger *slog.Logger) ([]KeyInfo, map[string]ed25519.PrivateKey, error) {
	logger = orDiscard(logger)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, err
	}
	byID := map[string]KeyInfo{}
	var priv = map[string]ed25519.PrivateKey{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") {
			continue
		}
		path := filepath.Join(dir, name)
		switch filepath.Ext(name) {
		case ".pem":
			info, p, err := readPrivateKeyFile(path)
			if err != nil {
				logger.Warn("keyring: skipping unreadable key", "file", path, "error", err.Error())
				continue
			}
			if old, ok := byID[info.ID]; ok && !old.Retired.IsZero() {
				continue // a retired kid stays retired, whatever copy remains
			}
			byID[info.ID], priv[info.ID] = info, p
		case ".retired":
			info, err := readRetiredFile(path)
			if err != nil {
				logger.Warn("keyring: skipping unreadable retired key", "file", path, "error", err.Error())
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
	return keys, priv, nil
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
		k.logger.Warn("keyring reload failed", "source", k.src.describe(), "error", err.Error())
		return false
	}
	return ran
}

// Run implements Runner: poll the directory for rotated and retired keys.
func (k *Keyring) Run(ctx context.Context) {
	every(ctx, k.poll, func() {
		if err := k.Reload(); err != nil {
			k.logger.Warn("keyring reload failed", "source", k.src.describe(), "error", err.Error())
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
	info, err := k.create(false)
	if err != nil {
		return KeyInfo{}, err
	}
	return info, k.Reload()
}

// create makes a new key; with onlyIfNone, only while no usable key exists.
func (k *Keyring) create(onlyIfNone bool) (KeyInfo, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return KeyInfo{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	info, _, err := k.src.addKey(ctx, priv, k.now(), onlyIfNone)
	return info, err
}

// Retire stops publishing kid: tokens it signed are refused from the next poll on. Its private
// key is destroyed. The only usable key cannot be retired; rotate first.
func (k *Keyring) Retire(kid string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := k.src.retireKey(ctx, kid, k.now()); err != nil {
		return err
	}
	return k.Reload()
}

// nextCreated dates a new key: now to the second, but after the newest existing key, so a
// rotation within the same second as the previous key still sorts after it.
func nextCreated(now time.Time, keys []KeyInfo) time.Time {
	created := now.UTC().Truncate(time.Second)
	for _, k := range keys {
		if !created.After(k.Created) {
			created = k.Created.Add(time.Second)
		}
	}
	return created
}

// checkRetire refuses retiring an unknown or retired kid, or the last usable key.
func checkRetire(keys []KeyInfo, kid, where string) (KeyInfo, error) {
	var target *KeyInfo
	usable := 0
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
		return KeyInfo{}, fmt.Errorf("auth: no key %q in %s", kid, where)
	case !target.Retired.IsZero():
		return KeyInfo{}, fmt.Errorf("auth: key %q is already retired", kid)
	case usable <= 1:
		return KeyInfo{}, fmt.Errorf("auth: key %q is the only usable key; rotate before retiring it", kid)
	}
	return *target, nil
}

func (d *keyDir) addKey(_ context.Context, priv ed25519.PrivateKey, now time.Time, onlyIfNone bool) (KeyInfo, bool, error) {
	keys, privs, err := readKeyDir(d.dir, nil)
	if err != nil {
		return KeyInfo{}, false, err
	}
	if onlyIfNone && len(privs) > 0 {
		return KeyInfo{}, false, nil
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return KeyInfo{}, false, err
	}
	pub := priv.Public().(ed25519.PublicKey)
	kid := Thumbprint(pub)
	path := filepath.Join(d.dir, kid+".pem")
	if onlyIfNone && d.bootstrap != "" {
		path = d.bootstrap
	}
	created := nextCreated(now, keys)
	b := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Headers: map[string]string{"Created": created.Format(time.RFC3339)}, Bytes: der})
	if err := writeFileAtomic(path, b); err != nil {
		return KeyInfo{}, false, err
	}
	return KeyInfo{ID: kid, Created: created, Public: pub, File: path}, true, nil
}

func (d *keyDir) retireKey(_ context.Context, kid string, at time.Time) error {
	keys, _, err := readKeyDir(d.dir, nil)
	if err != nil {
		return err
	}
	target, err := checkRetire(keys, kid, d.dir)
	if err != nil {
		return err
	}
	der, err := x509.MarshalPKIXPublicKey(target.Public)
	if err != nil {
		return err
	}
	b := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Headers: map[string]string{
		"Created": target.Created.Format(time.RFC3339), "Retired": at.UTC().Format(time.RFC3339)}, Bytes: der})
	if err := writeFileAtomic(filepath.Join(d.dir, kid+".retired"), b); err != nil {
		return err
	}
	if err := os.Remove(target.File); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
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
