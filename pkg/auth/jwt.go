package auth

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/retailbridge/retailbridge/pkg/cache"
	"github.com/retailbridge/retailbridge/pkg/errs"
)

// Issuer is one trusted token issuer for one audience: who it is (iss), the audience its tokens
// must name, the kind of caller they identify, the only algorithms accepted from it, and where
// its keys come from. Keys come from configuration only — never from a URL or key carried in a
// token. Several issuers may share a name when one identity provider serves several audiences.
type Issuer struct {
	Name       string
	Audience   string
	Kind       Audience
	Algorithms []string
	// Keys is a fixed key set by kid; KeySet takes precedence when both are set.
	Keys   map[string]crypto.PublicKey
	KeySet KeySet
	// Clients, when set, must hold the token's subject as an active client: revoking a partner
	// client refuses the tokens it already holds.
	Clients ClientChecker
	// Types are the accepted values of the JOSE `typ` header (RFC 8725 §3.11 explicit typing),
	// compared as media types: case-insensitively, with or without the "application/" prefix.
	// A token without typ, or with another one, is refused. Empty means DefaultTokenTypes.
	Types []string
}

// Token types (JOSE typ header values).
const (
	// TypeJWT is the generic type golang-jwt and most identity providers put on access tokens.
	TypeJWT = "JWT"
	// TypeAccessToken is the RFC 9068 type of OAuth 2.0 JWT access tokens.
	TypeAccessToken = "at+jwt"
)

// DefaultTokenTypes is what an issuer without configured types accepts: access tokens typed
// either way, never an ID token, logout token or other JWT whose typ says it is something else.
var DefaultTokenTypes = []string{TypeJWT, TypeAccessToken}

// normaliseType is RFC 7515 §4.1.9: typ is a media type, compared case-insensitively, and
// "application/" may be left out.
func normaliseType(t string) string {
	return strings.TrimPrefix(strings.ToLower(t), "application/")
}

// acceptsType reports whether typ is one of is's token types.
func (is *Issuer) acceptsType(typ any) bool {
	s, ok := typ.(string)
	if !ok || s == "" {
		return false
	}
	for _, want := range is.Types {
		if normaliseType(want) == normaliseType(s) {
			return true
		}
	}
	return false
}

// ClientChecker admits a verified principal only while its client may still call as it.
type ClientChecker interface {
	Admit(ctx context.Context, p Principal) error
}

// Claims are the token claims Retailbridge reads.
type Claims struct {
	jwt.RegisteredClaims
	Scope    string `json:"scope,omitempty"`
	Tenant   string `json:"tenant,omitempty"`
	ClientID string `json:"client_id,omitempty"`
}

// Verifier checks bearer tokens against the configured issuers.
type Verifier struct {
	issuers map[string][]*Issuer
	parser  *jwt.Parser
	now     func() time.Time
	leeway  time.Duration
	// verified remembers tokens whose signature and claims were checked, keyed by their
	// SHA-256, until they expire: a storefront sends the same token on every page view, and a
	// signature check costs more than the rest of a cached eligibility answer. A hit is
	// re-checked against the things that can change before expiry: the key still published,
	// the client not revoked.
	verified *cache.Cache[string, verifiedToken]
	// authority is what built the verifier, when an Authority did (see Authority).
	authority *Authority
}

type verifiedToken struct {
	principal Principal
	expires   time.Time
	issuer    *Issuer
	kid       string
	key       crypto.PublicKey
}

// sameKey reports whether a and b are the same public key (a kid republished with other key
// material is another key).
func sameKey(a, b crypto.PublicKey) bool {
	eq, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(b)
}

// MaxTokenBytes bounds a bearer token; longer ones are refused before parsing.
const MaxTokenBytes = 8 << 10

// NewVerifier returns a verifier for issuers with leeway for clock skew on exp, nbf and iat.
func NewVerifier(leeway time.Duration, now func() time.Time, issuers ...Issuer) (*Verifier, error) {
	if now == nil {
		now = time.Now
	}
	v := &Verifier{issuers: map[string][]*Issuer{}, now: now, leeway: leeway,
		verified: cache.New[string, verifiedToken](5*time.Minute, 100_000, now)}
	var algs []string
	for _, is := range issuers {
		if is.KeySet == nil && len(is.Keys) > 0 {
			is.KeySet = staticFromMap(is.Keys)
		}
		if is.Name == "" || is.Audience == "" || len(is.Algorithms) == 0 || is.KeySet == nil {
			return nil, fmt.Errorf("auth: issuer %q needs a name, audience, algorithms and keys", is.Name)
		}
		switch is.Kind {
		case Storefront, Support, Partner:
		default:
			return nil, fmt.Errorf("auth: issuer %q: kind %q is not storefront, support or partner", is.Name, is.Kind)
		}
		for _, a := range is.Algorithms {
			if !slices.Contains(publicKeyAlgorithms, a) {
				return nil, fmt.Errorf("auth: issuer %q: algorithm %s not allowed for public-key verification", is.Name, a)
			}
			if !slices.Contains(algs, a) {
				algs = append(algs, a)
			}
		}
		if len(is.Types) == 0 {
			is.Types = DefaultTokenTypes
		}
		for _, other := range v.issuers[is.Name] {
			if other.Audience == is.Audience {
				return nil, fmt.Errorf("auth: issuer %q is configured twice for audience %q", is.Name, is.Audience)
			}
		}
		v.issuers[is.Name] = append(v.issuers[is.Name], &is)
	}
	v.parser = jwt.NewParser(
		jwt.WithValidMethods(algs),
		jwt.WithLeeway(leeway),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithStrictDecoding(),
		jwt.WithTimeFunc(now),
	)
	return v, nil
}

var errUnauthenticated = errs.E(errs.Unauthenticated, "invalid_token", "the bearer token is missing, malformed, expired or not issued for this API")

// Authority returns the Authority that built v, or nil for a verifier made by NewVerifier alone.
func (v *Verifier) Authority() *Authority { return v.authority }

// Verify checks token and returns its principal. Every failure is the same Unauthenticated error
// so callers learn nothing about which check failed; the cause is wrapped for logs.
func (v *Verifier) Verify(token string) (Principal, error) {
	return v.VerifyContext(context.Background(), token)
}

// VerifyContext is Verify with a context for the client checks.
func (v *Verifier) VerifyContext(ctx context.Context, token string) (Principal, error) {
	if len(token) > MaxTokenBytes {
		return Principal{}, wrapAuth(errors.New("token too long"))
	}
	sum := sha256.Sum256([]byte(token))
	key := string(sum[:])
	if t, _, ok := v.verified.Peek(key); ok && v.now().Before(t.expires.Add(v.leeway)) {
		if k, ok := t.issuer.KeySet.Key(t.kid); !ok || !sameKey(k.Key, t.key) {
			v.verified.Invalidate(key)
			return Principal{}, wrapAuth(fmt.Errorf("key %q is no longer published", t.kid))
		}
		if err := v.checkClient(ctx, t.issuer, t.principal); err != nil {
			return Principal{}, err
		}
		return t.principal, nil
	}
	t, err := v.verify(ctx, token)
	if err != nil {
		return Principal{}, err
	}
	v.verified.Put(key, t)
	return t.principal, nil
}

func (v *Verifier) checkClient(ctx context.Context, is *Issuer, p Principal) error {
	if is.Clients == nil {
		return nil
	}
	if err := is.Clients.Admit(ctx, p); err != nil {
		return wrapAuth(fmt.Errorf("client %q: %w", p.Subject, err))
	}
	return nil
}

func (v *Verifier) verify(ctx context.Context, token string) (verifiedToken, error) {
	if err := precheck(token); err != nil {
		return verifiedToken{}, wrapAuth(err)
	}
	var claims Claims
	var issuer *Issuer
	var kid string
	var verifyKey crypto.PublicKey
	_, err := v.parser.ParseWithClaims(token, &claims, func(t *jwt.Token) (any, error) {
		is, err := v.issuerFor(&claims)
		if err != nil {
			return nil, err
		}
		alg := t.Method.Alg()
		if !slices.Contains(is.Algorithms, alg) {
			return nil, fmt.Errorf("algorithm %s not accepted from %s", alg, is.Name)
		}
		if !is.acceptsType(t.Header["typ"]) {
			return nil, fmt.Errorf("token type %.32q not accepted for %s (want %s)", t.Header["typ"], is.Audience, strings.Join(is.Types, " or "))
		}
		kid, _ = t.Header["kid"].(string)
		if !plausibleKid(kid) {
			return nil, errors.New("missing or malformed kid")
		}
		key, ok := is.KeySet.Key(kid)
		if !ok && is.KeySet.Missed(kid) {
			key, ok = is.KeySet.Key(kid)
		}
		if !ok {
			return nil, fmt.Errorf("unknown kid %q", kid)
		}
		if (key.Alg != "" && key.Alg != alg) || !algFitsKey(alg, key.Key) {
			return nil, fmt.Errorf("algorithm %s does not fit key %q", alg, kid)
		}
		issuer, verifyKey = is, key.Key
		return key.Key, nil
	})
	if err != nil {
		return verifiedToken{}, wrapAuth(err)
	}
	if claims.Subject == "" {
		return verifiedToken{}, wrapAuth(errors.New("no subject"))
	}
	if issuer.Kind == Partner && claims.Tenant == "" {
		return verifiedToken{}, wrapAuth(errors.New("partner token without a tenant"))
	}
	p := Principal{Audience: issuer.Kind, Subject: claims.Subject, Tenant: claims.Tenant, Scopes: strings.Fields(claims.Scope)}
	if issuer.Kind != Partner {
		p.Tenant = "" // only partner issuers vouch for tenants
	}
	if err := v.checkClient(ctx, issuer, p); err != nil {
		return verifiedToken{}, err
	}
	return verifiedToken{principal: p, expires: claims.ExpiresAt.Time, issuer: issuer, kid: kid, key: verifyKey}, nil
}

// issuerFor picks the one configured issuer matching the token's iss and naming exactly one of
// that issuer's audiences; a token naming two of our audiences is ambiguous and refused.
func (v *Verifier) issuerFor(c *Claims) (*Issuer, error) {
	candidates, ok := v.issuers[c.Issuer]
	if !ok {
		return nil, fmt.Errorf("unknown issuer %.64q", c.Issuer)
	}
	var found *Issuer
	for _, is := range candidates {
		if slices.Contains(c.Audience, is.Audience) {
			if found != nil {
				return nil, errors.New("token names several of our audiences")
			}
			found = is
		}
	}
	if found == nil {
		return nil, errors.New("wrong audience")
	}
	return found, nil
}

// plausibleKid refuses kids no configured key could have before any lookup or reload happens.
func plausibleKid(kid string) bool {
	if kid == "" || len(kid) > 128 {
		return false
	}
	for i := 0; i < len(kid); i++ {
		if kid[i] < 0x21 || kid[i] > 0x7E {
			return false
		}
	}
	return true
}

// Header members that carry or point at keys, or demand extensions we do not implement. They
// are refused outright rather than ignored: no token ever chooses its own key.
var refusedHeaders = []string{"jku", "jwk", "x5u", "x5c", "crit"}

// precheck refuses tokens the JWT library would read differently from a strict reader: not
// three segments, header or payload not a single JSON object, duplicate member names (compared
// case-insensitively, as encoding/json matches struct fields), or key-carrying headers.
func precheck(token string) error {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return errors.New("not three segments")
	}
	for i, part := range parts[:2] {
		b, err := base64.RawURLEncoding.Strict().DecodeString(part)
		if err != nil {
			return fmt.Errorf("segment %d is not base64url: %w", i, err)
		}
		members, err := objectMembers(b)
		if err != nil {
			return fmt.Errorf("segment %d: %w", i, err)
		}
		if i == 0 {
			for _, h := range refusedHeaders {
				if _, ok := members[h]; ok {
					return fmt.Errorf("header %q refused", h)
				}
			}
			continue
		}
		// RFC 7519 §2: NumericDate is a JSON number; encoding/json would also read "123".
		for _, c := range []string{"exp", "nbf", "iat"} {
			if v, ok := members[c]; ok && (len(v) == 0 || v[0] != '-' && (v[0] < '0' || v[0] > '9')) {
				return fmt.Errorf("claim %s is not a number", c)
			}
		}
	}
	return nil
}

// objectMembers returns the members of a JSON object by lower-cased name, refusing duplicates
// and trailing data.
func objectMembers(b []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	members := map[string]json.RawMessage{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		name, ok := t.(string)
		if !ok {
			return nil, errors.New("bad member name")
		}
		name = strings.ToLower(name)
		if _, dup := members[name]; dup {
			return nil, fmt.Errorf("duplicate member %q", name)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		members[name] = v
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after the JSON object")
	}
	return members, nil
}

func wrapAuth(cause error) error {
	e := *errUnauthenticated
	e.Err = cause
	return &e
}

func newJTI() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
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
