package auth

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func testIssuer(t testing.TB) (SigningKey, Issuer) {
	t.Helper()
	k, err := LoadOrCreateKey(filepath.Join(t.TempDir(), "k.pem"))
	if err != nil {
		t.Fatal(err)
	}
	return k, Issuer{Name: "iss", Audience: "aud", Kind: Storefront, Algorithms: []string{"EdDSA"},
		Keys: map[string]crypto.PublicKey{k.ID: k.Public()}}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	k, is := testIssuer(t)
	v, err := NewVerifier(30*time.Second, func() time.Time { return now }, is)
	if err != nil {
		t.Fatal(err)
	}
	good := Claims{RegisteredClaims: jwt.RegisteredClaims{Issuer: "iss", Audience: jwt.ClaimStrings{"aud"}, Subject: "7000001",
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))}, Scope: "orders:read returns:write"}
	_, otherPriv, _ := ed25519.GenerateKey(rand.Reader)
	otherKey := SigningKey{ID: k.ID, Private: otherPriv}

	mutate := func(f func(*Claims)) Claims { c := good; f(&c); return c }
	tests := []struct {
		name   string
		key    SigningKey
		claims Claims
		ok     bool
	}{
		{"valid", k, good, true},
		{"expired beyond leeway", k, mutate(func(c *Claims) { c.ExpiresAt = jwt.NewNumericDate(now.Add(-time.Minute)) }), false},
		{"expired within leeway", k, mutate(func(c *Claims) { c.ExpiresAt = jwt.NewNumericDate(now.Add(-10 * time.Second)) }), true},
		{"no expiry", k, mutate(func(c *Claims) { c.ExpiresAt = nil }), false},
		{"not yet valid", k, mutate(func(c *Claims) { c.NotBefore = jwt.NewNumericDate(now.Add(time.Hour)) }), false},
		{"wrong audience", k, mutate(func(c *Claims) { c.Audience = jwt.ClaimStrings{"other"} }), false},
		{"wrong issuer", k, mutate(func(c *Claims) { c.Issuer = "evil" }), false},
		{"no subject", k, mutate(func(c *Claims) { c.Subject = "" }), false},
		{"forged signature", otherKey, good, false},
		{"unknown kid", SigningKey{ID: "nope", Private: k.Private}, good, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tok, err := tt.key.Mint(tt.claims)
			if err != nil {
				t.Fatal(err)
			}
			p, err := v.Verify(tok)
			if (err == nil) != tt.ok {
				t.Fatalf("Verify err = %v, want ok=%v", err, tt.ok)
			}
			if tt.ok && (p.Subject != "7000001" || !p.HasScope("returns:write") || p.Audience != Storefront) {
				t.Errorf("principal = %+v", p)
			}
		})
	}

	// alg=none and HMAC signed with the public key bytes must be refused.
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, good).SignedString(jwt.UnsafeAllowNoneSignatureType)
	hs := jwt.NewWithClaims(jwt.SigningMethodHS256, good)
	hs.Header["kid"] = k.ID
	hsTok, _ := hs.SignedString([]byte(k.Public()))
	for name, tok := range map[string]string{"none": none, "hmac with public key": hsTok, "garbage": "a.b.c"} {
		if _, err := v.Verify(tok); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestVerifierRefusesSymmetricConfig(t *testing.T) {
	t.Parallel()
	_, is := testIssuer(t)
	is.Algorithms = []string{"HS256"}
	if _, err := NewVerifier(0, nil, is); err == nil {
		t.Error("NewVerifier accepted HS256 for a public-key issuer")
	}
}

func TestVerifiedTokensStillExpire(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	k, is := testIssuer(t)
	v, err := NewVerifier(30*time.Second, func() time.Time { return now }, is)
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := k.Mint(Claims{RegisteredClaims: jwt.RegisteredClaims{Issuer: "iss", Audience: jwt.ClaimStrings{"aud"}, Subject: "c1",
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Minute))}})
	for i := range 3 {
		if _, err := v.Verify(tok); err != nil {
			t.Fatalf("verify %d: %v", i, err)
		}
	}
	now = now.Add(2 * time.Minute)
	if _, err := v.Verify(tok); err == nil {
		t.Error("an expired token was accepted from the verification cache")
	}
}

// TestExplicitTyping is RFC 8725 §3.11: each issuer accepts only the typ headers it is
// configured for, and a token without one is refused.
func TestExplicitTyping(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	k, storefront := testIssuer(t)
	storefront.Types = []string{TypeJWT}
	partner := Issuer{Name: "iss", Audience: "partner-aud", Kind: Partner, Algorithms: []string{"EdDSA"},
		Keys: map[string]crypto.PublicKey{k.ID: k.Public()}, Types: []string{TypeAccessToken}}
	external := Issuer{Name: "idp", Audience: "aud", Kind: Support, Algorithms: []string{"EdDSA"},
		Keys: map[string]crypto.PublicKey{k.ID: k.Public()}} // no types: DefaultTokenTypes
	v, err := NewVerifier(30*time.Second, func() time.Time { return now }, storefront, partner, external)
	if err != nil {
		t.Fatal(err)
	}
	claims := func(iss, aud string) Claims {
		return Claims{RegisteredClaims: jwt.RegisteredClaims{Issuer: iss, Audience: jwt.ClaimStrings{aud}, Subject: "s",
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))}, Tenant: "acme"}
	}
	tests := []struct {
		name     string
		typ      any // nil: no typ header at all
		iss, aud string
		ok       bool
	}{
		{"storefront JWT", "JWT", "iss", "aud", true},
		{"storefront jwt lower case", "jwt", "iss", "aud", true},
		{"storefront application/jwt", "application/jwt", "iss", "aud", true},
		{"storefront without typ", nil, "iss", "aud", false},
		{"storefront empty typ", "", "iss", "aud", false},
		{"storefront at+jwt", "at+jwt", "iss", "aud", false},
		{"storefront logout token", "logout+jwt", "iss", "aud", false},
		{"storefront typ not a string", 1, "iss", "aud", false},
		{"storefront typ with a space", "JWT ", "iss", "aud", false},
		{"storefront typ with parameters", "JWT; charset=utf-8", "iss", "aud", false},
		{"storefront typ other subtype", "application/jwt+json", "iss", "aud", false},
		{"partner at+jwt", "at+jwt", "iss", "partner-aud", true},
		{"partner application/AT+JWT", "application/AT+JWT", "iss", "partner-aud", true},
		{"partner JWT", "JWT", "iss", "partner-aud", false},
		{"partner without typ", nil, "iss", "partner-aud", false},
		{"external default JWT", "JWT", "idp", "aud", true},
		{"external default at+jwt", "at+jwt", "idp", "aud", true},
		{"external ID token type", "id_token+jwt", "idp", "aud", false},
		{"external without typ", nil, "idp", "aud", false},
		{"external JOSE", "JOSE", "idp", "aud", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims(tt.iss, tt.aud))
			tok.Header["kid"] = k.ID
			if tt.typ == nil {
				delete(tok.Header, "typ")
			} else {
				tok.Header["typ"] = tt.typ
			}
			s, err := tok.SignedString(k.Private)
			if err != nil {
				t.Fatal(err)
			}
			_, err = v.Verify(s)
			if (err == nil) != tt.ok {
				t.Errorf("Verify err = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestConfigTypesDefaultToWhatTheLocalIssuerMints(t *testing.T) {
	t.Parallel()
	c := DevConfig("rb", "sf", t.TempDir(), "")
	for _, is := range c.Issuers {
		want := TypeJWT
		if is.Kind == Partner {
			want = TypeAccessToken
		}
		if len(is.Types) != 1 || is.Types[0] != want {
			t.Errorf("%s types = %v, want [%s]", is.Kind, is.Types, want)
		}
	}
	c.Issuers[2].Types = []string{"JWT"}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "issuers[2].types") {
		t.Errorf("a local partner issuer refusing at+jwt validated: %v", err)
	}
}
