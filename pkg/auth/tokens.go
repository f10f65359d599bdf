package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TokenService issues Retailbridge's own tokens: partner access tokens through the OAuth 2.0
// client-credentials grant, and development tokens for the other audiences (the CLI).
type TokenService struct {
	issuer    string
	audiences map[Audience]string
	ttl       time.Duration
	keys      *Keyring
	clients   *Clients
	now       func() time.Time
}

// AccessToken is a successful token response (RFC 6749 §5.1).
type AccessToken struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
	Scope       string `json:"scope"`
}

// OAuthError is an RFC 6749 §5.2 error response.
type OAuthError struct {
	Code        string `json:"error"`
	Description string `json:"error_description,omitempty"`
	// Status is the HTTP status: 401 for invalid_client, 400 for the rest, 5xx when the
	// server cannot issue.
	Status int `json:"-"`
	cause  error
}

func (e *OAuthError) Error() string { return e.Code + ": " + e.Description }

// Unwrap returns the cause, for logs.
func (e *OAuthError) Unwrap() error { return e.cause }

func oauthErr(status int, code, desc string) *OAuthError {
	return &OAuthError{Status: status, Code: code, Description: desc}
}

// The RFC 6749 §5.2 error codes.
const (
	ErrInvalidRequest       = "invalid_request"
	ErrInvalidClient        = "invalid_client"
	ErrInvalidGrant         = "invalid_grant"
	ErrInvalidScope         = "invalid_scope"
	ErrUnsupportedGrantType = "unsupported_grant_type"
)

// ClientCredentials issues a partner access token for an authenticated client (RFC 6749 §4.4).
// scope is the space-separated request; empty means every scope the client holds.
func (s *TokenService) ClientCredentials(ctx context.Context, clientID, secret, scope string) (AccessToken, error) {
	cl, err := s.clients.Authenticate(ctx, clientID, secret)
	switch {
	case errors.Is(err, ErrBadClient):
		return AccessToken{}, oauthErr(http.StatusUnauthorized, ErrInvalidClient, "client authentication failed")
	case errors.Is(err, ErrClientRevoked):
		// The grant (the client's credentials) was revoked; only a caller holding the secret
		// learns that.
		return AccessToken{}, oauthErr(http.StatusBadRequest, ErrInvalidGrant, "the client's credentials were revoked")
	case err != nil:
		e := oauthErr(http.StatusServiceUnavailable, "temporarily_unavailable", "try again later")
		e.cause = err
		return AccessToken{}, e
	}
	granted := cl.Scopes
	if strings.TrimSpace(scope) != "" {
		granted = normaliseScopes([]string{scope})
		for _, sc := range granted {
			if !validScopeToken(sc) || !slices.Contains(cl.Scopes, sc) {
				return AccessToken{}, oauthErr(http.StatusBadRequest, ErrInvalidScope, fmt.Sprintf("scope %q is not granted to this client", sc))
			}
		}
	}
	tok, err := s.Mint(Partner, cl.ID, cl.Tenant, granted, s.ttl)
	if err != nil {
		e := oauthErr(http.StatusServiceUnavailable, "temporarily_unavailable", "try again later")
		e.cause = err
		return AccessToken{}, e
	}
	return AccessToken{AccessToken: tok, TokenType: "Bearer", ExpiresIn: int(s.ttl / time.Second), Scope: strings.Join(granted, " ")}, nil
}

// Mint signs a token for audience kind with the keyring's signing key. Partner tokens follow
// RFC 9068 (typ at+jwt, client_id) and must name an active client.
func (s *TokenService) Mint(kind Audience, subject, tenant string, scopes []string, ttl time.Duration) (string, error) {
	aud, ok := s.audiences[kind]
	if !ok {
		return "", fmt.Errorf("auth: this issuer does not issue %s tokens", kind)
	}
	if subject == "" {
		return "", errors.New("auth: a token needs a subject")
	}
	if kind == Partner && tenant == "" {
		return "", errors.New("auth: a partner token needs a tenant")
	}
	key, err := s.keys.Signing()
	if err != nil {
		return "", err
	}
	now := s.now()
	c := Claims{RegisteredClaims: jwt.RegisteredClaims{
		Issuer: s.issuer, Audience: jwt.ClaimStrings{aud}, Subject: subject,
		IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		ID: newJTI(),
	}, Scope: strings.Join(normaliseScopes(scopes), " "), Tenant: tenant}
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
	t.Header["kid"] = key.ID
	if kind == Partner {
		c.ClientID = subject
		t.Claims = c
		t.Header["typ"] = "at+jwt"
	}
	return t.SignedString(key.Private)
}

// TTL is the lifetime of partner tokens.
func (s *TokenService) TTL() time.Duration { return s.ttl }

// Clients is the registry the service authenticates against.
func (s *TokenService) Clients() *Clients { return s.clients }

// Keyring holds the signing keys.
func (s *TokenService) Keyring() *Keyring { return s.keys }
