package auth

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/retailbridge/retailbridge/pkg/store"
)

// Imported counts what ImportLegacy took from the files of a data directory.
type Imported struct {
	Keys, Clients int
}

// ImportLegacy copies a key directory and a clients.json file — where identity lived before the
// shared store — into the store. Each key and client is inserted once, by its id: one already in
// the store (imported before, by this or another gateway) is left as it is, so a key retired or
// a client revoked in the store is never brought back by its old file, and starting again, or
// several gateways with copies of the files, import nothing twice. Missing sources are not an
// error. The files are left in place; nothing else reads them afterwards.
func (s *IdentityStore) ImportLegacy(ctx context.Context, keyDir, clientsFile string) (Imported, error) {
	var n Imported
	if keyDir != "" {
		k, err := s.importOnce(ctx, "keys:"+absPath(keyDir), func(tx *store.Tx) (int, error) { return s.importKeyDir(ctx, tx, keyDir) })
		if err != nil {
			return n, fmt.Errorf("import keys from %s: %w", keyDir, err)
		}
		n.Keys = k
	}
	if clientsFile != "" {
		c, err := s.importOnce(ctx, "clients:"+absPath(clientsFile), func(tx *store.Tx) (int, error) {
			return s.importClientFile(ctx, tx, clientsFile)
		})
		if err != nil {
			return n, fmt.Errorf("import clients from %s: %w", clientsFile, err)
		}
		n.Clients = c
	}
	return n, nil
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// importOnce runs do in one transaction and records source when it inserted anything.
func (s *IdentityStore) importOnce(ctx context.Context, source string, do func(*store.Tx) (int, error)) (int, error) {
	n := 0
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := lockIdentity(ctx, tx); err != nil {
			return err
		}
		var err error
		if n, err = do(tx); err != nil || n == 0 {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO rb_identity_imports (source, imported_us) VALUES ($1, $2)
			ON CONFLICT (source) DO UPDATE SET imported_us = excluded.imported_us`, source, micros(s.now()))
		return err
	})
	if n > 0 {
		s.forget()
	}
	return n, err
}

func (s *IdentityStore) importKeyDir(ctx context.Context, tx *store.Tx, dir string) (int, error) {
	keys, priv, err := readKeyDir(dir, s.logger)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n := 0
	for _, k := range keys {
		var sealed *string
		if p, ok := priv[k.ID]; ok && k.Retired.IsZero() {
			der, err := x509.MarshalPKCS8PrivateKey(p)
			if err != nil {
				return 0, err
			}
			v, err := s.sealer.Seal(k.ID, der)
			if err != nil {
				return 0, err
			}
			sealed = &v
		}
		var retired *int64
		if !k.Retired.IsZero() {
			us := micros(k.Retired)
			retired = &us
		}
		res, err := tx.Exec(ctx, `INSERT INTO rb_identity_keys (kid, public_key, private_key, created_us, retired_us)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (kid) DO NOTHING`,
			k.ID, base64.RawURLEncoding.EncodeToString(k.Public), sealed, micros(k.Created), retired)
		if err != nil {
			return 0, err
		}
		if c, _ := res.RowsAffected(); c > 0 {
			n++
		}
	}
	return n, nil
}

func (s *IdentityStore) importClientFile(ctx context.Context, tx *store.Tx, path string) (int, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var f clientFile
	if err := json.Unmarshal(b, &f); err != nil {
		return 0, err
	}
	n := 0
	for _, c := range f.Clients {
		var revoked *int64
		if c.Revoked != nil {
			us := micros(*c.Revoked)
			revoked = &us
		}
		res, err := tx.Exec(ctx, `INSERT INTO rb_identity_clients (client_id, name, tenant, scopes, secret_hash, created_us, revoked_us)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (client_id) DO NOTHING`,
			c.ID, c.Name, c.Tenant, strings.Join(normaliseScopes(c.Scopes), " "), c.SecretHash, micros(c.Created), revoked)
		if err != nil {
			return 0, err
		}
		if c, _ := res.RowsAffected(); c > 0 {
			n++
		}
	}
	return n, nil
}
