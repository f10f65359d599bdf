package console

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// OIDCConfig is the retailer's OpenID Connect provider.
type OIDCConfig struct {
	// Issuer is the provider's issuer URL (discovery at Issuer/.well-known/openid-configuration).
	Issuer string
	// ClientID and ClientSecret identify the console; the secret may be empty for a public
	// client (PKCE protects the code either way).
	ClientID, ClientSecret string
	// RedirectURL is the console's /console/callback as the provider knows it.
	RedirectURL string
	// ScopesClaim is the ID-token claim listing the agent's Retailbridge scopes.
	ScopesClaim string
	// HTTPClient talks to the provider (default: a client with a 10 s timeout).
	HTTPClient *http.Client
}

// oidcLogin runs the authorization-code flow with PKCE (RFC 7636, S256). The provider is
// discovered on first use and then kept, so a provider that is down when the gateway starts
// only delays logins, never the gateway.
type oidcLogin struct {
	cfg OIDCConfig

	mu       sync.Mutex
	provider *oidc.Provider
}

func newOIDCLogin(_ context.Context, cfg OIDCConfig) (*oidcLogin, error) {
	if cfg.ClientID == "" || cfg.RedirectURL == "" {
		return nil, errors.New("console: OIDC needs a client id and a redirect URL")
	}
	if cfg.ScopesClaim == "" {
		cfg.ScopesClaim = "retailbridge_scopes"
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	return &oidcLogin{cfg: cfg}, nil
}

func (o *oidcLogin) ctx(ctx context.Context) context.Context {
	return oidc.ClientContext(ctx, o.cfg.HTTPClient)
}

// discover returns the provider, discovering it once.
func (o *oidcLogin) discover(ctx context.Context) (*oidc.Provider, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.provider != nil {
		return o.provider, nil
	}
	p, err := oidc.NewProvider(o.ctx(ctx), o.cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("OIDC discovery at %s: %w", o.cfg.Issuer, err)
	}
	o.provider = p
	return p, nil
}

func (o *oidcLogin) oauth(p *oidc.Provider) *oauth2.Config {
	return &oauth2.Config{ClientID: o.cfg.ClientID, ClientSecret: o.cfg.ClientSecret, RedirectURL: o.cfg.RedirectURL,
		Endpoint: p.Endpoint(), Scopes: []string{oidc.ScopeOpenID, "profile", "email"}}
}

// start returns the provider's authorization URL for a new pending login.
func (o *oidcLogin) start(ctx context.Context) (string, *pendingLogin, error) {
	p, err := o.discover(ctx)
	if err != nil {
		return "", nil, err
	}
	pl := &pendingLogin{State: randomToken(), Verifier: oauth2.GenerateVerifier(), Nonce: randomToken()}
	u := o.oauth(p).AuthCodeURL(pl.State, oauth2.S256ChallengeOption(pl.Verifier), oidc.Nonce(pl.Nonce))
	return u, pl, nil
}

// identity is who the provider says signed in.
type identity struct {
	Agent  string
	Scopes []string
}

// finish checks the callback against the pending login, redeems the code with the PKCE
// verifier and verifies the ID token (signature, issuer, audience, expiry, nonce).
func (o *oidcLogin) finish(ctx context.Context, pl *pendingLogin, r *http.Request) (identity, error) {
	q := r.URL.Query()
	if pl == nil || subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(pl.State)) != 1 {
		return identity{}, errors.New("the sign-in response does not belong to this browser's sign-in (state mismatch)")
	}
	if e := q.Get("error"); e != "" {
		return identity{}, fmt.Errorf("the identity provider refused the sign-in: %s", e)
	}
	p, err := o.discover(ctx)
	if err != nil {
		return identity{}, err
	}
	tok, err := o.oauth(p).Exchange(o.ctx(ctx), q.Get("code"), oauth2.VerifierOption(pl.Verifier))
	if err != nil {
		return identity{}, fmt.Errorf("code exchange: %w", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return identity{}, errors.New("the provider returned no ID token")
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: o.cfg.ClientID}).Verify(o.ctx(ctx), raw)
	if err != nil {
		return identity{}, fmt.Errorf("ID token: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(pl.Nonce)) != 1 {
		return identity{}, errors.New("ID token: nonce mismatch")
	}
	var claims map[string]json.RawMessage
	if err := idt.Claims(&claims); err != nil {
		return identity{}, err
	}
	return identity{Agent: agentName(claims, idt.Subject), Scopes: scopesFrom(claims[o.cfg.ScopesClaim])}, nil
}

// agentName is the most human name the token carries.
func agentName(claims map[string]json.RawMessage, sub string) string {
	for _, k := range []string{"preferred_username", "email"} {
		var v string
		if json.Unmarshal(claims[k], &v) == nil && v != "" {
			return v
		}
	}
	return sub
}

// scopesFrom reads a space-separated string or an array, keeping only the scopes the console
// knows.
func scopesFrom(raw json.RawMessage) []string {
	var list []string
	var s string
	if json.Unmarshal(raw, &s) == nil {
		list = strings.Fields(s)
	} else {
		_ = json.Unmarshal(raw, &list)
	}
	var out []string
	for _, k := range knownScopes {
		for _, v := range list {
			if v == k {
				out = append(out, k)
				break
			}
		}
	}
	return out
}
