package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// signRaw signs header and payload JSON exactly as given, so tests can forge what the JWT
// library would never produce (duplicate members, odd headers).
func signRaw(t testing.TB, method jwt.SigningMethod, key any, header, payload string) string {
	t.Helper()
	enc := base64.RawURLEncoding.EncodeToString
	signing := enc([]byte(header)) + "." + enc([]byte(payload))
	sig, err := method.Sign(signing, key)
	if err != nil {
		t.Fatal(err)
	}
	return signing + "." + enc(sig)
}

func claimsJSON(t testing.TB, c Claims) string {
	t.Helper()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestVerifyExternalIssuers(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	dir := t.TempDir()
	jwksPath := filepath.Join(dir, "jwks.json")
	if err := writeFileAtomic(jwksPath, mustJSON(t, JWKS{Keys: []JWK{ecJWK(t, "ec1", ec), rsaJWK("rsa1", rk)}})); err != nil {
		t.Fatal(err)
	}
	cfg, err := ParseConfig([]byte(`
issuers:
  - {name: https://shop.example, audience: storefront-api, kind: storefront, algorithms: [ES256], jwks_file: `+jwksPath+`}
  - {name: https://login.example, audience: support-api, kind: support, algorithms: [RS256], jwks_file: `+jwksPath+`}
`), dir)
	if err != nil {
		t.Fatal(err)
	}
	a, err := NewAuthority(cfg, AuthorityDeps{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if a.Tokens != nil {
		t.Error("a configuration without local issues tokens")
	}
	claims := func(iss, aud string) Claims {
		return Claims{RegisteredClaims: jwt.RegisteredClaims{Issuer: iss, Audience: jwt.ClaimStrings{aud}, Subject: "s1",
			ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))}, Tenant: "smuggled"}
	}
	sign := func(m jwt.SigningMethod, kid string, key crypto.Signer, c Claims) string {
		tk := jwt.NewWithClaims(m, c)
		tk.Header["kid"] = kid
		s, err := tk.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	ok := []string{
		sign(jwt.SigningMethodES256, "ec1", ec, claims("https://shop.example", "storefront-api")),
		sign(jwt.SigningMethodRS256, "rsa1", rk, claims("https://login.example", "support-api")),
	}
	for i, tok := range ok {
		p, err := a.Verifier.Verify(tok)
		if err != nil {
			t.Fatalf("token %d: %v", i, err)
		}
		if p.Tenant != "" {
			t.Errorf("a %s issuer vouched for tenant %q", p.Audience, p.Tenant)
		}
	}
	bad := map[string]string{
		// The support issuer pins RS256: the storefront issuer's ES256 key is not its key.
		"ES256 to an RS256 issuer": sign(jwt.SigningMethodES256, "ec1", ec, claims("https://login.example", "support-api")),
		// The RSA key in the same set is pinned to RS256 by its JWK alg.
		"PS256 with an RS256 key": sign(jwt.SigningMethodPS256, "rsa1", rk, claims("https://login.example", "support-api")),
		"kid of the wrong type":   sign(jwt.SigningMethodES256, "rsa1", ec, claims("https://shop.example", "storefront-api")),
	}
	for name, tok := range bad {
		if _, err := a.Verifier.Verify(tok); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestVerifyRefusesForgedStructures(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	k, is := testIssuer(t)
	other := is
	other.Audience = "aud2"
	other.Kind = Partner
	v, err := NewVerifier(30*time.Second, func() time.Time { return now }, is, other)
	if err != nil {
		t.Fatal(err)
	}
	good := Claims{RegisteredClaims: jwt.RegisteredClaims{Issuer: "iss", Audience: jwt.ClaimStrings{"aud"}, Subject: "c1",
		ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))}}
	payload := claimsJSON(t, good)
	hdr := `{"alg":"EdDSA","kid":"` + k.ID + `","typ":"JWT"}`
	if _, err := v.Verify(signRaw(t, jwt.SigningMethodEdDSA, k.Private, hdr, payload)); err != nil {
		t.Fatalf("the well-formed raw token: %v", err)
	}
	exp := `"exp":` + jsonNum(now.Add(time.Hour).Unix())
	tests := map[string][2]string{
		"duplicate sub":              {hdr, `{"iss":"iss","aud":"aud","sub":"c1","sub":"c2",` + exp + `}`},
		"sub in another case":        {hdr, `{"iss":"iss","aud":"aud","sub":"c1","SUB":"c2",` + exp + `}`},
		"duplicate aud":              {hdr, `{"iss":"iss","aud":"other","aud":"aud",` + `"sub":"c1",` + exp + `}`},
		"duplicate alg":              {`{"alg":"EdDSA","alg":"none","kid":"` + k.ID + `"}`, payload},
		"jku header":                 {`{"alg":"EdDSA","kid":"` + k.ID + `","jku":"https://evil.example/jwks"}`, payload},
		"x5u header":                 {`{"alg":"EdDSA","kid":"` + k.ID + `","x5u":"https://evil.example/cert"}`, payload},
		"jwk header":                 {`{"alg":"EdDSA","kid":"` + k.ID + `","jwk":{"kty":"OKP"}}`, payload},
		"x5c header":                 {`{"alg":"EdDSA","kid":"` + k.ID + `","x5c":["MII"]}`, payload},
		"crit header":                {`{"alg":"EdDSA","kid":"` + k.ID + `","crit":["exp"]}`, payload},
		"kid not a string":           {`{"alg":"EdDSA","kid":1}`, payload},
		"payload not an object":      {hdr, `["iss"]`},
		"trailing data":              {hdr, payload + `{}`},
		"aud naming two of ours":     {hdr, `{"iss":"iss","aud":["aud","aud2"],"sub":"c1","tenant":"t",` + exp + `}`},
		"partner token, no tenant":   {hdr, `{"iss":"iss","aud":"aud2","sub":"c1",` + exp + `}`},
		"kid with a path":            {`{"alg":"EdDSA","kid":"../../keys/first.pem"}`, payload},
		"kid with a control char":    {`{"alg":"EdDSA","kid":"a\u0000b"}`, payload},
		"iat in the future":          {hdr, `{"iss":"iss","aud":"aud","sub":"c1","iat":` + jsonNum(now.Add(time.Hour).Unix()) + `,` + exp + `}`},
		"nbf beyond leeway":          {hdr, `{"iss":"iss","aud":"aud","sub":"c1","nbf":` + jsonNum(now.Add(time.Minute).Unix()) + `,` + exp + `}`},
		"exp as a string":            {hdr, `{"iss":"iss","aud":"aud","sub":"c1","exp":"` + jsonNum(now.Add(time.Hour).Unix()) + `"}`},
		"Ed25519 alg name":           {`{"alg":"Ed25519","kid":"` + k.ID + `"}`, payload},
		"empty subject":              {hdr, `{"iss":"iss","aud":"aud","sub":"",` + exp + `}`},
		"issuer with trailing slash": {hdr, `{"iss":"iss/","aud":"aud","sub":"c1",` + exp + `}`},
	}
	for name, tc := range tests {
		tok := signRaw(t, jwt.SigningMethodEdDSA, k.Private, tc[0], tc[1])
		if _, err := v.Verify(tok); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	valid := signRaw(t, jwt.SigningMethodEdDSA, k.Private, hdr, payload)
	parts := strings.Split(valid, ".")
	for name, tok := range map[string]string{
		"padded signature":    valid + "==",
		"std base64":          parts[0] + "." + parts[1] + "." + strings.NewReplacer("-", "+", "_", "/").Replace(parts[2]) + "+/",
		"four segments":       valid + ".x",
		"stripped signature":  parts[0] + "." + parts[1] + ".",
		"too long":            valid + strings.Repeat("A", MaxTokenBytes),
		"trailing bits":       parts[0] + "." + parts[1] + "." + flipLastBits(parts[2]),
		"whitespace inside":   parts[0] + ". " + parts[1] + "." + parts[2],
		"percent-encoded dot": parts[0] + "%2E" + parts[1] + "." + parts[2],
	} {
		if _, err := v.Verify(tok); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// flipLastBits changes the unused low bits of the last base64url character: the decoded
// signature stays the same unless decoding is strict.
func flipLastBits(s string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.IndexByte(alphabet, s[len(s)-1])
	return s[:len(s)-1] + string(alphabet[i^1])
}

func jsonNum(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestVerifyCachedTokenRefusedOnceItsKeyIsRetired(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	a := newTestAuthority(t, func() time.Time { return now })
	old, err := a.Tokens.Mint(Support, "agent-1", "", []string{"support:read"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Verifier.Verify(old); err != nil {
		t.Fatal(err)
	}
	oldKey, _ := a.Keyring.Signing()
	if _, err := a.Keyring.Rotate(); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Verifier.Verify(old); err != nil {
		t.Fatalf("a token of the previous key during the overlap: %v", err)
	}
	fresh, _ := a.Tokens.Mint(Support, "agent-1", "", nil, time.Hour)
	if _, err := a.Verifier.Verify(fresh); err != nil {
		t.Fatal(err)
	}
	if err := a.Keyring.Retire(oldKey.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Verifier.Verify(old); err == nil {
		t.Error("a cached token of a retired key was accepted")
	}
	if _, err := a.Verifier.Verify(fresh); err != nil {
		t.Errorf("the new key's token: %v", err)
	}
}

func TestConfigValidateNamesEveryBadField(t *testing.T) {
	t.Parallel()
	_, err := ParseConfig([]byte(`
leeway: 1h
local: {issuer: "", token_ttl: 3h}
issuers:
  - {name: a, audience: x, kind: admin, algorithms: [none]}
  - {name: b, audience: y, kind: partner, algorithms: [HS256], jwks_url: http://idp.example/jwks, jwks_file: f}
  - {name: c, audience: z, kind: support, algorithms: [RS256], local: true}
`), t.TempDir())
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{"leeway", "local.issuer", "local.token_ttl", "issuers[0].kind", `"none"`, "issuers[0]: set exactly one",
		`"HS256"`, "issuers[1]: set exactly one", "issuers[1].jwks_url", "issuers[2].algorithms", "issuers[2].name"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s:\n%v", want, err)
		}
	}
	if _, err := ParseConfig([]byte("issuers: []\nsurprise: 1\n"), ""); err == nil {
		t.Error("an unknown field was accepted")
	}
}

func TestMintRefusesWhatItDoesNotIssue(t *testing.T) {
	t.Parallel()
	a := newTestAuthority(t, nil)
	if _, err := a.Tokens.Mint(Partner, "c1", "", nil, time.Minute); err == nil {
		t.Error("minted a partner token without a tenant")
	}
	if _, err := a.Tokens.Mint(Support, "", "", nil, time.Minute); err == nil {
		t.Error("minted a token without a subject")
	}
	// A partner token for a client that does not exist never verifies.
	tok, err := a.Tokens.Mint(Partner, "rbc_000000000000000000000000", "acme", nil, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Verifier.Verify(tok); err == nil {
		t.Error("a partner token for an unknown client was accepted")
	}
}

func TestVerifyCachedTokenRefusedWhenItsKidChangesKey(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	k, is := testIssuer(t)
	keys := StaticKeys{k.ID: {Key: k.Public()}}
	is.Keys, is.KeySet = nil, keys
	v, err := NewVerifier(30*time.Second, func() time.Time { return now }, is)
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := k.Mint(Claims{RegisteredClaims: jwt.RegisteredClaims{Issuer: "iss", Audience: jwt.ClaimStrings{"aud"}, Subject: "c1",
		ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))}})
	if _, err := v.Verify(tok); err != nil {
		t.Fatal(err)
	}
	other, _ := LoadOrCreateKey(filepath.Join(t.TempDir(), "other.pem"))
	keys[k.ID] = PublicKey{Key: other.Public()}
	if _, err := v.Verify(tok); err == nil {
		t.Error("a cached token was accepted after its kid was republished with another key")
	}
}
