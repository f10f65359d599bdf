package auth

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"database/sql"
	"embed"
	"encoding/base64"
	"fmt"
	"hash/fnv"
	"log/slog"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/retailbridge/retailbridge/pkg/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// IdentityStore is the local issuer's identity in the shared SQL database (PostgreSQL through
// DATABASE_URL, or a SQLite file in the data directory under `dev`): signing keys and partner
// clients, so every gateway signs with the same key, verifies the same kids and admits the same
// clients. It is a key source for Keyring and a ClientStore.
//
// Changes made anywhere (the CLI, another gateway) reach a gateway within Poll: its keyring
// reloads every Poll and at once on an unknown kid, and client lookups answer from a snapshot
// that is never older than Poll (an unknown client id is looked up directly, so a new client
// works at once). That bound is what README states for revocation and retirement.
type IdentityStore struct {
	db     *store.DB
	sealer *KeySealer
	poll   time.Duration
	now    func() time.Time
	logger *slog.Logger

	flight  singleflight.Group
	mu      sync.RWMutex
	clients map[string]Client
	loaded  time.Time
}

// IdentityStoreOptions tune an IdentityStore.
type IdentityStoreOptions struct {
	// Sealer protects private keys at rest (default: unencrypted, see KeySealer).
	Sealer *KeySealer
	// Poll bounds how stale a client lookup may be (default 2 s).
	Poll   time.Duration
	Now    func() time.Time
	Logger *slog.Logger
}

// identityLockKey serialises identity writers on PostgreSQL (transaction-scoped advisory lock);
// SQLite's BEGIN IMMEDIATE serialises them already.
var identityLockKey = func() int64 {
	h := fnv.New64a()
	h.Write([]byte("retailbridge/auth/identity"))
	return int64(h.Sum64())
}()

// OpenIdentityStore migrates db's identity tables and returns the store.
func OpenIdentityStore(ctx context.Context, db *store.DB, o IdentityStoreOptions) (*IdentityStore, error) {
	if err := db.Migrate(ctx, "identity", migrations); err != nil {
		return nil, err
	}
	if o.Sealer == nil {
		o.Sealer = &KeySealer{}
	}
	if o.Poll <= 0 {
		o.Poll = 2 * time.Second
	}
	s := &IdentityStore{db: db, sealer: o.Sealer, poll: o.Poll, now: orNow(o.Now), logger: orDiscard(o.Logger)}
	if err := s.sealPlaintextKeys(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// sealPlaintextKeys seals the keys stored unencrypted once a key-encryption key is configured,
// so setting RB_KEY_ENCRYPTION_KEY and restarting protects the existing keys too.
func (s *IdentityStore) sealPlaintextKeys(ctx context.Context) error {
	if !s.sealer.Encrypts() {
		return nil
	}
	n := 0
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		n = 0
		if err := lockIdentity(ctx, tx); err != nil {
			return err
		}
		rows, err := s.keyRows(ctx, tx)
		if err != nil {
			return err
		}
		for _, r := range rows {
			if !r.private.Valid || !strings.HasPrefix(r.private.String, sealedPlain) {
				continue
			}
			der, err := s.sealer.Open(r.info.ID, r.private.String)
			if err != nil {
				return err
			}
			sealed, err := s.sealer.Seal(r.info.ID, der)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE rb_identity_keys SET private_key = $1 WHERE kid = $2`, sealed, r.info.ID); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if n > 0 && err == nil {
		s.logger.Info("identity store: sealed signing keys stored unencrypted with RB_KEY_ENCRYPTION_KEY", "keys", n)
	}
	return err
}

// NewStoreKeyring is the keyring over the store's keys.
func NewStoreKeyring(s *IdentityStore, o KeyringOptions) (*Keyring, error) {
	return openKeyring(s, o)
}

func (s *IdentityStore) describe() string {
	return "the identity store (" + s.db.Dialect().String() + ")"
}

func lockIdentity(ctx context.Context, tx *store.Tx) error {
	if tx.Dialect() != store.Postgres {
		return nil
	}
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, identityLockKey)
	return err
}

func micros(t time.Time) int64 { return t.UTC().UnixMicro() }

func fromMicros(us sql.NullInt64) time.Time {
	if !us.Valid {
		return time.Time{}
	}
	return time.UnixMicro(us.Int64).UTC()
}

type keyRow struct {
	info    KeyInfo
	private sql.NullString
}

type querier interface {
	Query(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func (s *IdentityStore) keyRows(ctx context.Context, q querier) ([]keyRow, error) {
	rows, err := q.Query(ctx, `SELECT kid, public_key, private_key, created_us, retired_us FROM rb_identity_keys`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []keyRow
	for rows.Next() {
		var r keyRow
		var pub string
		var created, retired sql.NullInt64
		if err := rows.Scan(&r.info.ID, &pub, &r.private, &created, &retired); err != nil {
			return nil, err
		}
		raw, err := base64.RawURLEncoding.DecodeString(pub)
		if err != nil || len(raw) != ed25519.PublicKeySize || Thumbprint(raw) != r.info.ID {
			// A row whose kid is not its key's thumbprint was not written by us: never use it.
			s.logger.Warn("identity store: skipping a key row that does not match its kid", "kid", r.info.ID)
			continue
		}
		r.info.Public, r.info.Created, r.info.Retired = raw, fromMicros(created), fromMicros(retired)
		out = append(out, r)
	}
	return out, rows.Err()
}

func (s *IdentityStore) loadKeys(ctx context.Context) ([]KeyInfo, map[string]ed25519.PrivateKey, error) {
	rows, err := s.keyRows(ctx, s.db)
	if err != nil {
		return nil, nil, err
	}
	keys := make([]KeyInfo, 0, len(rows))
	priv := map[string]ed25519.PrivateKey{}
	for _, r := range rows {
		keys = append(keys, r.info)
		if !r.info.Retired.IsZero() || !r.private.Valid {
			continue
		}
		p, err := s.openPrivate(r.info, r.private.String)
		if err != nil {
			return nil, nil, err
		}
		priv[r.info.ID] = p
	}
	return keys, priv, nil
}

func (s *IdentityStore) openPrivate(info KeyInfo, sealed string) (ed25519.PrivateKey, error) {
	der, err := s.sealer.Open(info.ID, sealed)
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("auth: key %s: %w", info.ID, err)
	}
	p, ok := k.(ed25519.PrivateKey)
	if !ok || !p.Public().(ed25519.PublicKey).Equal(info.Public) {
		return nil, fmt.Errorf("auth: key %s: the private key does not match its public key", info.ID)
	}
	return p, nil
}

func (s *IdentityStore) addKey(ctx context.Context, priv ed25519.PrivateKey, now time.Time, onlyIfNone bool) (KeyInfo, bool, error) {
	pub := priv.Public().(ed25519.PublicKey)
	info := KeyInfo{ID: Thumbprint(pub), Public: pub}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return KeyInfo{}, false, err
	}
	sealed, err := s.sealer.Seal(info.ID, der)
	if err != nil {
		return KeyInfo{}, false, err
	}
	added := false
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := lockIdentity(ctx, tx); err != nil {
			return err
		}
		rows, err := s.keyRows(ctx, tx)
		if err != nil {
			return err
		}
		var keys []KeyInfo
		for _, r := range rows {
			if onlyIfNone && r.info.Retired.IsZero() {
				return nil
			}
			keys = append(keys, r.info)
		}
		info.Created = nextCreated(now, keys)
		_, err = tx.Exec(ctx, `INSERT INTO rb_identity_keys (kid, public_key, private_key, created_us) VALUES ($1, $2, $3, $4)`,
			info.ID, base64.RawURLEncoding.EncodeToString(pub), sealed, micros(info.Created))
		added = err == nil
		return err
	})
	return info, added, err
}

func (s *IdentityStore) retireKey(ctx context.Context, kid string, at time.Time) error {
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := lockIdentity(ctx, tx); err != nil {
			return err
		}
		rows, err := s.keyRows(ctx, tx)
		if err != nil {
			return err
		}
		keys := make([]KeyInfo, 0, len(rows))
		for _, r := range rows {
			keys = append(keys, r.info)
		}
		if _, err := checkRetire(keys, kid, s.describe()); err != nil {
			return err
		}
		// The private key is destroyed with the retirement: a retired key can never sign again.
		_, err = tx.Exec(ctx, `UPDATE rb_identity_keys SET retired_us = $1, private_key = NULL WHERE kid = $2`, micros(at), kid)
		return err
	})
}

// Create implements ClientStore.
func (s *IdentityStore) Create(ctx context.Context, c Client) error {
	_, err := s.db.Exec(ctx, `INSERT INTO rb_identity_clients (client_id, name, tenant, scopes, secret_hash, created_us)
		VALUES ($1, $2, $3, $4, $5, $6)`, c.ID, c.Name, c.Tenant, strings.Join(c.Scopes, " "), c.SecretHash, micros(c.Created))
	if store.IsUniqueViolation(err) {
		return fmt.Errorf("auth: client %q exists", c.ID)
	}
	if err == nil {
		s.forget()
	}
	return err
}

// Get implements ClientStore: from a snapshot at most Poll old, or from the database for an id
// the snapshot does not hold.
func (s *IdentityStore) Get(ctx context.Context, id string) (Client, error) {
	s.mu.RLock()
	c, ok := s.clients[id]
	fresh := s.clients != nil && s.now().Sub(s.loaded) < s.poll
	s.mu.RUnlock()
	if fresh && ok {
		return c, nil
	}
	if !fresh {
		if err := s.refreshClients(ctx); err != nil {
			return Client{}, err
		}
		s.mu.RLock()
		c, ok = s.clients[id]
		s.mu.RUnlock()
		if ok {
			return c, nil
		}
	}
	cs, err := s.queryClients(ctx, `WHERE client_id = $1`, id)
	if err != nil {
		return Client{}, err
	}
	if len(cs) == 0 {
		return Client{}, ErrClientNotFound
	}
	return cs[0], nil
}

// refreshClients reloads the snapshot; concurrent callers share one query.
func (s *IdentityStore) refreshClients(ctx context.Context) error {
	_, err, _ := s.flight.Do("clients", func() (any, error) {
		cs, err := s.queryClients(context.WithoutCancel(ctx), "")
		if err != nil {
			return nil, err
		}
		m := make(map[string]Client, len(cs))
		for _, c := range cs {
			m[c.ID] = c
		}
		s.mu.Lock()
		s.clients, s.loaded = m, s.now()
		s.mu.Unlock()
		return nil, nil
	})
	return err
}

// forget drops the snapshot after a local change.
func (s *IdentityStore) forget() {
	s.mu.Lock()
	s.clients = nil
	s.mu.Unlock()
}

func (s *IdentityStore) queryClients(ctx context.Context, where string, args ...any) ([]Client, error) {
	rows, err := s.db.Query(ctx, `SELECT client_id, name, tenant, scopes, secret_hash, created_us, revoked_us
		FROM rb_identity_clients `+where+` ORDER BY created_us, client_id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Client
	for rows.Next() {
		var c Client
		var scopes string
		var created, revoked sql.NullInt64
		if err := rows.Scan(&c.ID, &c.Name, &c.Tenant, &scopes, &c.SecretHash, &created, &revoked); err != nil {
			return nil, err
		}
		c.Scopes, c.Created = strings.Fields(scopes), fromMicros(created)
		if revoked.Valid {
			at := fromMicros(revoked)
			c.Revoked = &at
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// List implements ClientStore.
func (s *IdentityStore) List(ctx context.Context) ([]Client, error) { return s.queryClients(ctx, "") }

// Revoke implements ClientStore. Revoking twice keeps the first time.
func (s *IdentityStore) Revoke(ctx context.Context, id string, at time.Time) error {
	res, err := s.db.Exec(ctx, `UPDATE rb_identity_clients SET revoked_us = COALESCE(revoked_us, $1) WHERE client_id = $2`, micros(at), id)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return ErrClientNotFound
	}
	s.forget()
	return nil
}

// Run implements Runner: it keeps the client snapshot fresh, so request paths rarely wait for
// the database.
func (s *IdentityStore) Run(ctx context.Context) {
	every(ctx, s.poll/2, func() {
		if err := s.refreshClients(ctx); err != nil && ctx.Err() == nil {
			s.logger.Warn("identity store: client reload failed", "error", err.Error())
		}
	})
}
