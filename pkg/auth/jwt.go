package auth

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/retailbridge/retailbridge/pkg/cache"
	"github.com/retailbridge/retailbridge/pkg/errs"
)

// Issuer is one trusted token issuer: who it is, the audience its tokens must name, the only
// algorithms accepted from it, and its keys by kid. Keys come from configuration only — never
// from a URL or key carried in a token.
type Issuer struct {
	Name       string
	Audience   string
	Kind       Audience
	Algorithms []string
	Keys       map[string]crypto.PublicKey
}

// Claims are the token claims Retailbridge reads.
type Claims struct {
	jwt.RegisteredClaims
	Scope  string `json:"scope,omitempty"`
	Tenant string `json:"tenant,omitempty"`
}

// Verifier checks bearer tokens against the configured issuers.
type Verifier struct {
	issuers map[string]Issuer
	algs    []string
	parser  *jwt.Parser
	now     func() time.Time
	leeway  time.Duration
	// verified remembers tokens whose signature and claims were checked, keyed by their
	// SHA-256, until they expire: a storefront sends the same token on every page view, and a
	// signature check costs more than the rest of a cached eligibility answer.
	verified *cache.Cache[string, verifiedToken]
}

type verifiedToken struct {
	principal Principal
	expires   time.Time
}

// NewVerifier returns a verifier for issuers with leeway for clock skew on exp and nbf.
func NewVerifier(leeway time.Duration, now func() time.Time, issuers ...Issuer) (*Verifier, error) {
	if now == nil {
		now = time.Now
	}
	v := &Verifier{issuers: map[string]Issuer{}, now: now, leeway: leeway,
		verified: cache.New[string, verifiedToken](5*time.Minute, 100_000, now)}
	for _, is := range issuers {
		if is.Name == "" || is.Audience == "" || len(is.Algorithms) == 0 || len(is.Keys) == 0 {
			return nil, fmt.Errorf("auth: issuer %q needs a name, audience, algorithms and keys", is.Name)
		}
		for _, a := range is.Algorithms {
			if a == "none" || strings.HasPrefix(a, "HS") {
				return nil, fmt.Errorf("auth: issuer %q: algorithm %s not allowed for public-key verification", is.Name, a)
			}
			if !slices.Contains(v.algs, a) {
				v.algs = append(v.algs, a)
			}
		}
		v.issuers[is.Name] = is
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(v.algs),
		jwt.WithLeeway(leeway),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
	}
	opts = append(opts, jwt.WithTimeFunc(now))
	v.parser = jwt.NewParser(opts...)
	return v, nil
}

var errUnauthenticated = errs.E(errs.Unauthenticated, "invalid_token", "the bearer token is missing, malformed, expired or not issued for this API")

// Verify checks token and returns its principal. Every failure is the same Unauthenticated error
// so callers learn nothing about which check failed; the cause is wrapped for logs.
func (v *Verifier) Verify(token string) (Principal, error) {
	sum := sha256.Sum256([]byte(token))
	key := string(sum[:])
	if t, _, ok := v.verified.Peek(key); ok && v.now().Before(t.expires.Add(v.leeway)) {
		return t.principal, nil
	}
	p, exp, err := v.verify(token)
	if err != nil {
		return Principal{}, err
	}
	v.verified.Put(key, verifiedToken{principal: p, expires: exp})
	return p, nil
}

func (v *Verifier) verify(token string) (Principal, time.Time, error) {
	var claims Claims
	var issuer Issuer
	_, err := v.parser.ParseWithClaims(token, &claims, func(t *jwt.Token) (any, error) {
		iss, _ := t.Claims.GetIssuer()
		is, ok := v.issuers[iss]
		if !ok {
			return nil, fmt.Errorf("unknown issuer %q", iss)
		}
		if !slices.Contains(is.Algorithms, t.Method.Alg()) {
			return nil, fmt.Errorf("algorithm %s not accepted from %s", t.Method.Alg(), iss)
		}
		kid, _ := t.Header["kid"].(string)
		key, ok := is.Keys[kid]
		if !ok {
			return nil, fmt.Errorf("unknown kid %q", kid)
		}
		issuer = is
		return key, nil
	})
	if err != nil {
		return Principal{}, time.Time{}, wrapAuth(err)
	}
	if !slices.Contains(claims.Audience, issuer.Audience) {
		return Principal{}, time.Time{}, wrapAuth(errors.New("wrong audience"))
	}
	if claims.Subject == "" {
		return Principal{}, time.Time{}, wrapAuth(errors.New("no subject"))
	}
	p := Principal{Audience: issuer.Kind, Subject: claims.Subject, Tenant: claims.Tenant, Scopes: strings.Fields(claims.Scope)}
	return p, claims.ExpiresAt.Time, nil
}

func wrapAuth(cause error) error {
	e := *errUnauthenticated
	e.Err = cause
	return &e
}

// SigningKey is a private key with its kid, used to mint tokens.
type SigningKey struct {
	ID      string
	Private ed25519.PrivateKey
}

// Public returns the verification key.
func (k SigningKey) Public() ed25519.PublicKey { return k.Private.Public().(ed25519.PublicKey) }

// Mint signs claims with k (EdDSA) and kid in the header.
func (k SigningKey) Mint(c Claims) (string, error) {
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
	t.Header["kid"] = k.ID
	return t.SignedString(k.Private)
}

// LoadOrCreateKey reads an Ed25519 signing key from path (PKCS#8 PEM), creating it with mode 0600
// when absent. The kid is the RFC 7638 thumbprint of the public key.
func LoadOrCreateKey(path string) (SigningKey, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		_, priv, gerr := ed25519.GenerateKey(rand.Reader)
		if gerr != nil {
			return SigningKey{}, gerr
		}
		der, merr := x509.MarshalPKCS8PrivateKey(priv)
		if merr != nil {
			return SigningKey{}, merr
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return SigningKey{}, err
		}
		b = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return SigningKey{}, err
		}
	} else if err != nil {
		return SigningKey{}, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return SigningKey{}, fmt.Errorf("auth: %s holds no PEM block", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return SigningKey{}, fmt.Errorf("auth: %s: %w", path, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return SigningKey{}, fmt.Errorf("auth: %s is not an Ed25519 key", path)
	}
	return SigningKey{ID: Thumbprint(priv.Public().(ed25519.PublicKey)), Private: priv}, nil
}

// Thumbprint is the RFC 7638 JWK thumbprint of an Ed25519 public key.
func Thumbprint(pub ed25519.PublicKey) string {
	x := base64.RawURLEncoding.EncodeToString(pub)
	sum := sha256.Sum256([]byte(`{"crv":"Ed25519","kty":"OKP","x":"` + x + `"}`))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
