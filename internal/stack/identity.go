package stack

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/retailbridge/retailbridge/pkg/auth"
	"github.com/retailbridge/retailbridge/pkg/config"
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
// audience come from RB_TOKEN_ISSUER and RB_STOREFRONT_AUDIENCE, keys from the directory of
// RB_SIGNING_KEY_FILE (default <data>/keys), clients from <data>/clients.json.
func AuthConfig(c config.Config) (auth.Config, error) {
	if p := AuthConfigPath(c); p != "" {
		return auth.LoadConfig(p, c.DataDir)
	}
	return auth.DevConfig(c.Token.Issuer, c.Token.StorefrontAudience, filepath.Dir(SigningKeyPath(c)),
		filepath.Join(c.DataDir, "clients.json")), nil
}

// OpenIdentity builds the identity for c. Its key sets stay as loaded until Run: the gateway
// runs it, operator commands need not.
func OpenIdentity(c config.Config, logger *slog.Logger) (*auth.Authority, error) {
	ac, err := AuthConfig(c)
	if err != nil {
		return nil, err
	}
	var bootstrap string
	if ac.Local != nil && ac.Local.KeyDir == filepath.Dir(SigningKeyPath(c)) {
		// The first key lands where RB_SIGNING_KEY_FILE says, as before keys could rotate.
		bootstrap = SigningKeyPath(c)
	}
	a, err := auth.NewAuthority(ac, auth.AuthorityDeps{Logger: logger, Bootstrap: bootstrap})
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	return a, nil
}

// startIdentity builds the gateway's identity and keeps its key sets fresh while the stack runs.
func (s *Stack) startIdentity() (*auth.Authority, error) {
	a, err := OpenIdentity(s.opts.Config, s.logger.With("service", "identity"))
	if err != nil {
		return nil, err
	}
	if a.Keyring != nil {
		key, err := a.Keyring.Signing()
		if err != nil && !errors.Is(err, auth.ErrNoSigningKey) {
			return nil, err
		}
		s.SigningKey = key
	}
	s.wg.Go(func() { a.Run(s.ctx) })
	return a, nil
}

// DataDir is the stack's data directory (keys, clients, state).
func (s *Stack) DataDir() string { return s.opts.Config.DataDir }
