package stack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/retailbridge/retailbridge/pkg/audit"
	"github.com/retailbridge/retailbridge/pkg/auth"
	"github.com/retailbridge/retailbridge/pkg/config"
	"github.com/retailbridge/retailbridge/pkg/store"
)

// AuthConfigPath is the identity configuration file for c: the file RB_AUTH_CONFIG names, else
// <data>/auth.yaml when it exists, else "" (the built-in development identity).
func AuthConfigPath(c config.Config) string {
	if c.AuthConfig != "" {
		return c.AuthConfig
	}
	p := filepath.Join(c.DataDir, "auth.yaml")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return ""
}

// AuthConfig reads the identity configuration for c. Without a file, Retailbridge issues
// storefront, support and partner tokens itself (auth.DevConfig): the storefront issuer and
// audience come from RB_TOKEN_ISSUER and RB_STOREFRONT_AUDIENCE; keys and clients live in the
// identity store, which imports the key directory of RB_SIGNING_KEY_FILE (default <data>/keys)
// and <data>/clients.json where earlier versions kept them.
func AuthConfig(c config.Config) (auth.Config, error) {
	if p := AuthConfigPath(c); p != "" {
		return auth.LoadConfig(p, c.DataDir)
	}
	return auth.DevConfig(c.Token.Issuer, c.Token.StorefrontAudience, filepath.Dir(SigningKeyPath(c)),
		filepath.Join(c.DataDir, "clients.json")), nil
}

// IdentityDatabaseURL is where the identity store and the audit log live: the shared
// PostgreSQL database of DATABASE_URL, so every gateway and the CLI agree, else
// <data>/identity.db.
func IdentityDatabaseURL(c config.Config) string {
	if c.DatabaseURL != "" {
		return c.DatabaseURL
	}
	return "sqlite:" + filepath.Join(c.DataDir, "identity.db")
}

// OpenIdentityDB opens the identity database for operator commands (the stack opens it through
// its database helper).
func OpenIdentityDB(ctx context.Context, c config.Config) (*store.DB, error) {
	if err := os.MkdirAll(c.DataDir, 0o750); err != nil {
		return nil, err
	}
	db, err := store.Open(ctx, IdentityDatabaseURL(c), store.Options{})
	if err != nil {
		return nil, fmt.Errorf("identity database: %w", err)
	}
	return db, nil
}

// OpenIdentity builds the identity for c over the identity database db. Its key sets stay as
// loaded until Run: the gateway runs it, operator commands need not.
func OpenIdentity(ctx context.Context, c config.Config, db *store.DB, logger *slog.Logger) (*auth.Authority, error) {
	ac, err := AuthConfig(c)
	if err != nil {
		return nil, err
	}
	deps := auth.AuthorityDeps{Logger: logger}
	if ac.Local != nil {
		sealer, err := auth.NewKeySealer(c.Token.KeyEncryptionKey)
		if err != nil {
			return nil, err
		}
		if !sealer.Encrypts() && logger != nil {
			logger.Warn("signing keys are stored unencrypted in the identity store; set RB_KEY_ENCRYPTION_KEY to seal them")
		}
		deps.Store, err = auth.OpenIdentityStore(ctx, db, auth.IdentityStoreOptions{Sealer: sealer, Poll: ac.Local.KeyPoll, Logger: logger})
		if err != nil {
			return nil, fmt.Errorf("identity store: %w", err)
		}
	}
	a, err := auth.NewAuthority(ac, deps)
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	return a, nil
}

// startIdentity builds the gateway's identity, keeps its key sets fresh while the stack runs,
// and opens the audit log of privileged actions, which lives in the same database.
func (s *Stack) startIdentity() (*auth.Authority, *audit.Log, error) {
	db, err := s.database(s.ctx, "identity")
	if err != nil {
		return nil, nil, err
	}
	a, err := OpenIdentity(s.ctx, s.opts.Config, db, s.logger.With("service", "identity"))
	if err != nil {
		return nil, nil, err
	}
	if a.Keyring != nil {
		key, err := a.Keyring.Signing()
		if err != nil && !errors.Is(err, auth.ErrNoSigningKey) {
			return nil, nil, err
		}
		s.SigningKey = key
	}
	log, err := audit.Open(s.ctx, db, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("audit log: %w", err)
	}
	s.wg.Go(func() { a.Run(s.ctx) })
	return a, log, nil
}

// DataDir is the stack's data directory (keys, clients, state).
func (s *Stack) DataDir() string { return s.opts.Config.DataDir }

// Config is the configuration the stack runs with (tests open its identity store as the CLI
// does).
func (s *Stack) Config() config.Config { return s.opts.Config }
