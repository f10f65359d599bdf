package auth

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"path/filepath"
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
