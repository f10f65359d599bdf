package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"github.com/retailbridge/retailbridge/services/sandbox/handles"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/retailbridge/retailbridge/internal/stack"
	"github.com/retailbridge/retailbridge/pkg/auth"
	"github.com/retailbridge/retailbridge/pkg/config"
	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/store/storetest"
	"github.com/retailbridge/retailbridge/pkg/testkit"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
)

// identityAuthConfig is the development identity with a fast key poll, so rotation and
// retirement show within a test's patience.
const identityAuthConfig = `
local:
  issuer: retailbridge-dev
  key_poll: 100ms
  storefront_audience: retailbridge-storefront
  support_audience: retailbridge-support
  partner_audience: retailbridge-partner
issuers:
  - {name: retailbridge-dev, audience: retailbridge-storefront, kind: storefront, algorithms: [EdDSA], local: true}
  - {name: retailbridge-dev, audience: retailbridge-support, kind: support, algorithms: [EdDSA], local: true}
  - {name: retailbridge-dev, audience: retailbridge-partner, kind: partner, algorithms: [EdDSA], local: true}
`

// withAuthConfig writes the identity configuration into the data directory.
func withAuthConfig(t testing.TB, yaml string) stackOption {
	return func(c *config.Config) { writeFile(t, c.DataDir, "auth.yaml", yaml) }
}

func newIdentityStack(t testing.TB) *harness {
	t.Helper()
	return newStack(t, withAuthConfig(t, identityAuthConfig))
}

// cheapArgon2 keeps client creation fast where the hash cost is not the point.
var cheapArgon2 = auth.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}

// identityStore is the identity store as `retailbridge clients|keys …` open it: another handle
// on the database the running gateway uses.
func (h *harness) identityStore(t testing.TB) *auth.IdentityStore {
	t.Helper()
	ctx := context.Background()
	db, err := stack.OpenIdentityDB(ctx, h.Config())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	st, err := auth.OpenIdentityStore(ctx, db, auth.IdentityStoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// operatorClients is the client registry as `retailbridge clients …` opens it.
func (h *harness) operatorClients(t testing.TB, argon auth.Argon2Params) *auth.Clients {
	t.Helper()
	c, err := auth.NewClients(h.identityStore(t), auth.ClientsOptions{Argon2: argon})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// operatorKeys is the keyring as `retailbridge keys …` opens it.
func (h *harness) operatorKeys(t testing.TB) *auth.Keyring {
	t.Helper()
	k, err := auth.NewStoreKeyring(h.identityStore(t), auth.KeyringOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func (h *harness) newClient(t testing.TB, tenant string, scopes ...string) auth.NewClient {
	t.Helper()
	nc, err := h.operatorClients(t, cheapArgon2).Create(context.Background(), tenant, scopes, "")
	if err != nil {
		t.Fatal(err)
	}
	return nc
}

// tokenRequest posts a form to the token endpoint, with HTTP Basic credentials when given.
func (h *harness) tokenRequest(t testing.TB, form url.Values, basic ...string) testkit.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.GatewayURL+"/oauth/token", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if len(basic) == 2 {
		req.SetBasicAuth(url.QueryEscape(basic[0]), url.QueryEscape(basic[1]))
	}
	resp, err := h.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return testkit.Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// clientToken gets a partner access token, failing the test unless it is issued.
func (h *harness) clientToken(t testing.TB, nc auth.NewClient, scope string) auth.AccessToken {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}}
	if scope != "" {
		form.Set("scope", scope)
	}
	resp := h.tokenRequest(t, form, nc.ID, nc.Secret)
	if resp.Status != http.StatusOK {
		t.Fatalf("token request: %d %s", resp.Status, resp.Body)
	}
	var tok auth.AccessToken
	resp.JSON(t, &tok)
	return tok
}

func headerOf(t testing.TB, token string) map[string]any {
	t.Helper()
	seg, _, _ := strings.Cut(token, ".")
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *harness) jwks(t testing.TB) auth.JWKS {
	t.Helper()
	resp := h.do(t, http.MethodGet, "/.well-known/jwks.json", "", nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("jwks: %d %s", resp.Status, resp.Body)
	}
	var set auth.JWKS
	resp.JSON(t, &set)
	return set
}

func kidsOf(set auth.JWKS) []string {
	var kids []string
	for _, k := range set.Keys {
		kids = append(kids, k.Kid)
	}
	return kids
}

// eventually polls cond until it holds or a minute passes (generous: the suite shares two cores).
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	testkit.Eventually(t, time.Minute, what, cond)
}

func TestClientCredentialsGrant(t *testing.T) {
	t.Parallel()
	h := newIdentityStack(t)
	// The happy path uses a client hashed at the production cost: the gateway checks what the
	// CLI stored. The error matrix uses a cheap one, to spare the CPU other tests share.
	nc, err := h.operatorClients(t, auth.DefaultArgon2).Create(context.Background(), "acme", []string{"orders:read", "returns:write"}, "ACME")
	if err != nil {
		t.Fatal(err)
	}
	cheap := h.newClient(t, "acme", "orders:read", "returns:write")
	cc := url.Values{"grant_type": {"client_credentials"}}

	t.Run("happy path", func(t *testing.T) {
		resp := h.tokenRequest(t, cc, nc.ID, nc.Secret)
		if resp.Status != http.StatusOK || resp.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("%d %v %s", resp.Status, resp.Header, resp.Body)
		}
		var tok auth.AccessToken
		resp.JSON(t, &tok)
		if tok.TokenType != "Bearer" || tok.ExpiresIn != 900 || tok.Scope != "orders:read returns:write" {
			t.Errorf("token response %+v", tok)
		}
		var claims auth.Claims
		parsed, _, err := jwt.NewParser().ParseUnverified(tok.AccessToken, &claims)
		if err != nil {
			t.Fatal(err)
		}
		if parsed.Header["typ"] != "at+jwt" || claims.Tenant != "acme" || claims.Subject != nc.ID || claims.ID == "" ||
			claims.Audience[0] != "retailbridge-partner" || claims.ExpiresAt.Sub(claims.IssuedAt.Time) != 15*time.Minute {
			t.Errorf("header %v claims %+v", parsed.Header, claims)
		}
		who := h.do(t, http.MethodGet, "/v1/identity/partner", tok.AccessToken, nil)
		if who.Status != http.StatusOK || !strings.Contains(string(who.Body), `"tenant":"acme"`) {
			t.Errorf("partner whoami: %d %s", who.Status, who.Body)
		}
		if sf := h.do(t, http.MethodGet, "/v1/storefront/orders", tok.AccessToken, nil); sf.Status != http.StatusForbidden {
			t.Errorf("a partner token on a storefront route: %d", sf.Status)
		}
	})
	t.Run("client_secret_post and a scope subset", func(t *testing.T) {
		resp := h.tokenRequest(t, url.Values{"grant_type": {"client_credentials"}, "client_id": {cheap.ID},
			"client_secret": {cheap.Secret}, "scope": {"returns:write"}})
		var tok auth.AccessToken
		resp.JSON(t, &tok)
		if resp.Status != http.StatusOK || tok.Scope != "returns:write" {
			t.Errorf("%d %+v", resp.Status, tok)
		}
	})

	errorsTests := []struct {
		name       string
		form       url.Values
		basic      []string
		wantStatus int
		wantError  string
	}{
		{"no client authentication", cc, nil, 401, "invalid_client"},
		{"wrong secret", cc, []string{cheap.ID, cheap.Secret + "x"}, 401, "invalid_client"},
		{"unknown client", cc, []string{"rbc_0123456789abcdef01234567", cheap.Secret}, 401, "invalid_client"},
		{"two authentication methods", url.Values{"grant_type": {"client_credentials"}, "client_secret": {cheap.Secret}}, []string{cheap.ID, cheap.Secret}, 400, "invalid_request"},
		{"no grant_type", url.Values{}, []string{cheap.ID, cheap.Secret}, 400, "invalid_request"},
		{"authorization_code grant", url.Values{"grant_type": {"authorization_code"}, "code": {"x"}}, []string{cheap.ID, cheap.Secret}, 400, "unsupported_grant_type"},
		{"scope not granted", url.Values{"grant_type": {"client_credentials"}, "scope": {"orders:read operator"}}, []string{cheap.ID, cheap.Secret}, 400, "invalid_scope"},
	}
	for _, tt := range errorsTests {
		t.Run(tt.name, func(t *testing.T) {
			resp := h.tokenRequest(t, tt.form, tt.basic...)
			var e struct {
				Error       string `json:"error"`
				Description string `json:"error_description"`
			}
			resp.JSON(t, &e)
			if resp.Status != tt.wantStatus || e.Error != tt.wantError {
				t.Fatalf("got %d %q, want %d %q (%s)", resp.Status, e.Error, tt.wantStatus, tt.wantError, e.Description)
			}
			if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") || resp.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("headers %v", resp.Header)
			}
			if tt.wantStatus == 401 && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic ") {
				t.Errorf("401 without a Basic challenge: %v", resp.Header)
			}
		})
	}
	t.Run("JSON body", func(t *testing.T) {
		resp := h.do(t, http.MethodPost, "/oauth/token", "", map[string]string{"grant_type": "client_credentials"})
		if resp.Status != http.StatusBadRequest || !strings.Contains(string(resp.Body), `"invalid_request"`) {
			t.Errorf("%d %s", resp.Status, resp.Body)
		}
	})
	t.Run("GET is 405 problem", func(t *testing.T) {
		resp := h.do(t, http.MethodGet, "/oauth/token", "", nil)
		if resp.Status != http.StatusMethodNotAllowed {
			t.Fatalf("%d", resp.Status)
		}
		resp.Problem(t)
	})
}

// TestRevokedClientIsRefusedWithinThePollBound: a revocation made in the identity store (by
// the CLI, or another gateway) refuses the client's token requests and the tokens it holds
// within the key poll interval (100 ms here, 2 s by default).
func TestRevokedClientIsRefusedWithinThePollBound(t *testing.T) {
	t.Parallel()
	h := newIdentityStack(t)
	nc := h.newClient(t, "globex", "orders:read")
	tok := h.clientToken(t, nc, "")
	if r := h.do(t, http.MethodGet, "/v1/identity/partner", tok.AccessToken, nil); r.Status != http.StatusOK {
		t.Fatalf("before revocation: %d %s", r.Status, r.Body)
	}
	if err := h.operatorClients(t, cheapArgon2).Revoke(context.Background(), nc.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the revoked client's outstanding token is refused", func() bool {
		return h.do(t, http.MethodGet, "/v1/identity/partner", tok.AccessToken, nil).Status == http.StatusUnauthorized
	})
	resp := h.tokenRequest(t, url.Values{"grant_type": {"client_credentials"}}, nc.ID, nc.Secret)
	if resp.Status != http.StatusBadRequest || !strings.Contains(string(resp.Body), `"invalid_grant"`) {
		t.Errorf("new token for a revoked client: %d %s", resp.Status, resp.Body)
	}
	wrong := h.tokenRequest(t, url.Values{"grant_type": {"client_credentials"}}, nc.ID, "rbs_guess")
	if wrong.Status != http.StatusUnauthorized {
		t.Errorf("a revoked client with a wrong secret: %d (must not reveal the revocation)", wrong.Status)
	}
}

func TestSigningKeyRotationWithoutRestart(t *testing.T) {
	t.Parallel()
	h := newIdentityStack(t)
	nc := h.newClient(t, "initech", "orders:read")
	k1 := h.SigningKey.ID
	if got := kidsOf(h.jwks(t)); !slices.Equal(got, []string{k1}) {
		t.Fatalf("JWKS kids at start = %v, want [%s]", got, k1)
	}
	oldPartner := h.clientToken(t, nc, "").AccessToken
	oldCustomer := h.token(t, demo.DemoCustomerID)
	if kid := headerOf(t, oldPartner)["kid"]; kid != k1 {
		t.Fatalf("partner token kid = %v, want %s", kid, k1)
	}

	k2, err := h.operatorKeys(t).Rotate()
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the JWKS publishes the new key", func() bool { return slices.Equal(kidsOf(h.jwks(t)), []string{k2.ID, k1}) })
	newPartner := h.clientToken(t, nc, "").AccessToken
	if kid := headerOf(t, newPartner)["kid"]; kid != k2.ID {
		t.Errorf("new tokens are signed with %v, want the new key %s", kid, k2.ID)
	}
	for name, tc := range map[string][2]string{
		"old partner token during the overlap":  {"/v1/identity/partner", oldPartner},
		"old customer token during the overlap": {"/v1/storefront/orders?page_size=1", oldCustomer},
		"new partner token":                     {"/v1/identity/partner", newPartner},
	} {
		if r := h.do(t, http.MethodGet, tc[0], tc[1], nil); r.Status != http.StatusOK {
			t.Errorf("%s: %d %s", name, r.Status, r.Body)
		}
	}

	if err := h.operatorKeys(t).Retire(k1); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the JWKS drops the retired key", func() bool { return slices.Equal(kidsOf(h.jwks(t)), []string{k2.ID}) })
	for name, tc := range map[string][2]string{
		"retired key's partner token":  {"/v1/identity/partner", oldPartner},
		"retired key's customer token": {"/v1/storefront/orders?page_size=1", oldCustomer},
	} {
		if r := h.do(t, http.MethodGet, tc[0], tc[1], nil); r.Status != http.StatusUnauthorized {
			t.Errorf("%s: %d, want 401", name, r.Status)
		}
	}
	if r := h.do(t, http.MethodGet, "/v1/identity/partner", newPartner, nil); r.Status != http.StatusOK {
		t.Errorf("the new key's token after retirement: %d", r.Status)
	}
}

func TestJWKSDocument(t *testing.T) {
	t.Parallel()
	h := newIdentityStack(t)
	resp := h.do(t, http.MethodGet, "/.well-known/jwks.json", "", nil)
	if resp.Status != http.StatusOK || resp.Header.Get("Content-Type") != "application/jwk-set+json" ||
		!strings.Contains(resp.Header.Get("Cache-Control"), "max-age=60") {
		t.Fatalf("%d %v", resp.Status, resp.Header)
	}
	var raw struct {
		Keys []map[string]string `json:"keys"`
	}
	resp.JSON(t, &raw)
	if len(raw.Keys) != 1 {
		t.Fatalf("keys = %v", raw.Keys)
	}
	k := raw.Keys[0]
	x, err := base64.RawURLEncoding.DecodeString(k["x"])
	if err != nil || len(x) != ed25519.PublicKeySize {
		t.Fatalf("x = %q", k["x"])
	}
	want := map[string]string{"kty": "OKP", "crv": "Ed25519", "use": "sig", "alg": "EdDSA", "kid": auth.Thumbprint(x), "x": k["x"]}
	if fmt.Sprint(k) != fmt.Sprint(want) {
		t.Errorf("JWK = %v, want exactly %v (no private members)", k, want)
	}
	if k["kid"] != h.SigningKey.ID {
		t.Errorf("published kid %s is not the signing key %s", k["kid"], h.SigningKey.ID)
	}
}

// attack is one forged or misused token and where it is tried.
type attack struct {
	name  string
	token string
	paths []string
}

// The routes every forged token is tried on: one per audience, and a storefront data route.
var (
	storefrontPaths = []string{"/v1/identity/storefront", "/v1/storefront/orders?page_size=1"}
	supportPaths    = []string{"/v1/identity/support"}
	partnerPaths    = []string{"/v1/identity/partner"}
	allPaths        = slices.Concat(storefrontPaths, supportPaths, partnerPaths)
)

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// raw signs header and payload exactly as given.
func raw(t testing.TB, m jwt.SigningMethod, key any, header, payload string) string {
	t.Helper()
	signing := b64([]byte(header)) + "." + b64([]byte(payload))
	sig, err := m.Sign(signing, key)
	if err != nil {
		t.Fatal(err)
	}
	return signing + "." + b64(sig)
}

func js(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestJWTAttackBattery (SEC-1) sends forged, mutated and misused tokens of every kind to the
// running gateway and counts how many it accepted. It also runs an attacker's server that
// every key URL in the forged headers points at, and counts the requests it received.
func TestJWTAttackBattery(t *testing.T) {
	t.Parallel()
	h := newIdentityStack(t)
	var attackerHits atomic.Int64
	attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		attackerHits.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(attacker.Close)

	real := h.SigningKey
	kid := real.ID
	now := time.Now()
	client := h.newClient(t, "tenant-a", "orders:read")
	revoked := h.newClient(t, "tenant-b", "orders:read")
	revokedTok := h.clientToken(t, revoked, "").AccessToken
	if err := h.operatorClients(t, cheapArgon2).Revoke(context.Background(), revoked.ID); err != nil {
		t.Fatal(err)
	}

	claims := func(mut ...func(map[string]any)) string {
		c := map[string]any{"iss": "retailbridge-dev", "aud": "retailbridge-storefront", "sub": demo.DemoCustomerID,
			"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "scope": "orders:read returns:read"}
		for _, m := range mut {
			m(c)
		}
		return js(t, c)
	}
	set := func(k string, v any) func(map[string]any) { return func(c map[string]any) { c[k] = v } }
	del := func(k string) func(map[string]any) { return func(c map[string]any) { delete(c, k) } }
	hdr := func(kv ...any) string {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return js(t, m)
	}
	ed := jwt.SigningMethodEdDSA
	good := raw(t, ed, real.Private, hdr("alg", "EdDSA", "kid", kid, "typ", "JWT"), claims())
	other := raw(t, ed, real.Private, hdr("alg", "EdDSA", "kid", kid, "typ", "JWT"), claims(set("sub", h.Demo.Customers[7].ID)))
	support := raw(t, ed, real.Private, hdr("alg", "EdDSA", "kid", kid, "typ", "JWT"), claims(set("aud", "retailbridge-support"), set("sub", "agent-1"), set("scope", "support:read operator")))
	partner := h.clientToken(t, client, "").AccessToken

	// The battery means something only if the genuine tokens pass where they belong.
	for _, c := range []attack{{"genuine customer", good, storefrontPaths}, {"genuine agent", support, supportPaths}, {"genuine partner", partner, partnerPaths}} {
		for _, p := range c.paths {
			if r := h.do(t, http.MethodGet, p, c.token, nil); r.Status != http.StatusOK {
				t.Fatalf("%s on %s: %d %s", c.name, p, r.Status, r.Body)
			}
		}
	}

	var attacks []attack
	add := func(name, token string, paths ...[]string) {
		ps := allPaths
		if len(paths) > 0 {
			ps = slices.Concat(paths...)
		}
		attacks = append(attacks, attack{name: name, token: token, paths: ps})
	}
	sigOf := func(tok string) string { return tok[strings.LastIndex(tok, ".")+1:] }
	signingInput := func(tok string) string { return tok[:strings.LastIndex(tok, ".")] }
	segs := strings.Split(good, ".")

	// alg none, every spelling, with no signature, the genuine signature, and no kid.
	for _, alg := range []string{"none", "None", "NONE", "nOnE", "NoNe", " none", "none "} {
		in := b64([]byte(hdr("alg", alg, "kid", kid, "typ", "JWT"))) + "." + segs[1]
		add("alg "+alg+", empty signature", in+".")
		add("alg "+alg+", genuine signature", in+"."+segs[2])
		add("alg "+alg+", no kid", b64([]byte(hdr("alg", alg)))+"."+segs[1]+".")
	}

	// HMAC signed with the public key in every form an attacker can fetch it in.
	pub := real.Public()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	jwksBody := h.do(t, http.MethodGet, "/.well-known/jwks.json", "", nil).Body
	jwkJSON := js(t, auth.Ed25519JWK(kid, pub))
	keyForms := map[string][]byte{
		"raw":           pub,
		"PEM":           pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}),
		"PEM, trimmed":  []byte(strings.TrimSpace(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})))),
		"DER":           der,
		"JWK JSON":      []byte(jwkJSON),
		"JWKS document": jwksBody,
		"x as text":     []byte(b64(pub)),
		"kid as text":   []byte(kid),
	}
	for form, key := range keyForms {
		for _, m := range []jwt.SigningMethod{jwt.SigningMethodHS256, jwt.SigningMethodHS384, jwt.SigningMethodHS512} {
			add(m.Alg()+" keyed with the public key ("+form+")", raw(t, m, key, hdr("alg", m.Alg(), "kid", kid, "typ", "JWT"), claims()))
		}
	}

	// Signatures by keys the attacker holds, under our kid and under their own.
	_, evilEd, _ := ed25519.GenerateKey(rand.Reader)
	evilEC, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	evilEC384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	evilRSA, _ := rsa.GenerateKey(rand.Reader, 2048)
	evilKid := auth.Thumbprint(evilEd.Public().(ed25519.PublicKey))
	for _, s := range []struct {
		m   jwt.SigningMethod
		key any
	}{{ed, evilEd}, {jwt.SigningMethodES256, evilEC}, {jwt.SigningMethodES384, evilEC384}, {jwt.SigningMethodRS256, evilRSA}, {jwt.SigningMethodPS256, evilRSA}} {
		add(s.m.Alg()+" by an attacker key with our kid", raw(t, s.m, s.key, hdr("alg", s.m.Alg(), "kid", kid), claims()))
		add(s.m.Alg()+" by an attacker key with its own kid", raw(t, s.m, s.key, hdr("alg", s.m.Alg(), "kid", evilKid), claims()))
	}
	add("our kid, EdDSA header, RS256 signature", signingInput(good)+"."+sigOf(raw(t, jwt.SigningMethodRS256, evilRSA, hdr("alg", "EdDSA", "kid", kid), claims())))

	// kids that are not ours, signed with the genuine key: only the configured key set counts.
	for name, k := range map[string]any{
		"no kid": nil, "empty kid": "", "unknown kid": "nope", "attacker's kid": evilKid,
		"path traversal": "../../keys/storefront", "path to /etc/passwd": "../../../../../../etc/passwd", "absolute path": "/dev/null",
		"key file name": "storefront.pem", "kid.pem": kid + ".pem", "SQL injection": "' OR '1'='1", "SQL statement": "1; DROP TABLE keys;--",
		"kid with NUL": kid + "\x00", "kid upper-cased": strings.ToUpper(kid), "kid with a space": kid + " ", "kid as a number": 0,
		"kid as an array": []string{kid}, "kid as null": json.RawMessage("null"), "kid as an object": map[string]string{"kid": kid},
		"kid of 4 KiB": strings.Repeat("k", 4096), "URL as kid": attacker.URL + "/key", "retired-looking kid": kid + ".retired",
	} {
		hd := map[string]any{"alg": "EdDSA", "typ": "JWT"}
		if k != nil {
			hd["kid"] = k
		}
		add(name+" (genuine key)", raw(t, ed, real.Private, js(t, hd), claims()))
	}

	// Headers that carry or point at keys: refused, and never fetched.
	evilJWK := auth.Ed25519JWK(evilKid, evilEd.Public().(ed25519.PublicKey))
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "retailbridge"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour)}
	certDER, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, evilEd.Public(), evilEd)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{kid, evilKid} {
		add("jku to the attacker, kid "+k[:6], raw(t, ed, evilEd, hdr("alg", "EdDSA", "kid", k, "jku", attacker.URL+"/jwks.json"), claims()))
		add("x5u to the attacker, kid "+k[:6], raw(t, ed, evilEd, hdr("alg", "EdDSA", "kid", k, "x5u", attacker.URL+"/cert.pem"), claims()))
		add("embedded jwk, kid "+k[:6], raw(t, ed, evilEd, hdr("alg", "EdDSA", "kid", k, "jwk", evilJWK), claims()))
		add("embedded x5c, kid "+k[:6], raw(t, ed, evilEd, hdr("alg", "EdDSA", "kid", k, "x5c", []string{base64.StdEncoding.EncodeToString(certDER)}), claims()))
	}
	add("jku only, no kid", raw(t, ed, evilEd, hdr("alg", "EdDSA", "jku", attacker.URL+"/jwks.json"), claims()))
	add("jku to our own JWKS with the attacker's key", raw(t, ed, evilEd, hdr("alg", "EdDSA", "kid", evilKid, "jku", h.GatewayURL+"/.well-known/jwks.json"), claims()))
	add("crit header", raw(t, ed, real.Private, hdr("alg", "EdDSA", "kid", kid, "crit", []string{"exp"}, "exp", 1), claims()))
	add("iss as an attacker URL", raw(t, ed, evilEd, hdr("alg", "EdDSA", "kid", evilKid), claims(set("iss", attacker.URL))))

	// Explicit typing (RFC 8725 §3.11), signed with the genuine key: a token whose typ is
	// missing or names another kind of JWT is refused.
	partnerClaims := claims(set("aud", "retailbridge-partner"), set("sub", client.ID), set("tenant", "tenant-a"), set("scope", "orders:read"))
	for name, typ := range map[string]any{"no typ": nil, "empty typ": "", "typ at+jwt on a storefront token": "at+jwt",
		"typ logout+jwt": "logout+jwt", "typ JOSE": "JOSE", "typ as a number": 1, "typ secevent+jwt": "secevent+jwt"} {
		hd := map[string]any{"alg": "EdDSA", "kid": kid}
		if typ != nil {
			hd["typ"] = typ
		}
		add(name, raw(t, ed, real.Private, js(t, hd), claims()))
	}
	add("partner token typed JWT", raw(t, ed, real.Private, hdr("alg", "EdDSA", "kid", kid, "typ", "JWT"), partnerClaims), partnerPaths)
	add("partner token without typ", raw(t, ed, real.Private, hdr("alg", "EdDSA", "kid", kid), partnerClaims), partnerPaths)
	if r := h.do(t, http.MethodGet, partnerPaths[0], raw(t, ed, real.Private, hdr("alg", "EdDSA", "kid", kid, "typ", "at+jwt"), partnerClaims), nil); r.Status != http.StatusOK {
		t.Errorf("a partner token typed at+jwt: %d %s", r.Status, r.Body)
	}

	// Claims, signed with the genuine key.
	realHdr := hdr("alg", "EdDSA", "kid", kid, "typ", "JWT")
	for name, mut := range map[string][]func(map[string]any){
		"expired an hour ago":               {set("exp", now.Add(-time.Hour).Unix())},
		"expired beyond the leeway":         {set("exp", now.Add(-2*time.Minute).Unix())},
		"no exp":                            {del("exp")},
		"exp zero":                          {set("exp", 0)},
		"exp as a string":                   {set("exp", fmt.Sprint(now.Add(time.Hour).Unix()))},
		"exp far in the past, iat too":      {set("exp", 1), set("iat", 0)},
		"nbf in an hour":                    {set("nbf", now.Add(time.Hour).Unix())},
		"nbf beyond the leeway":             {set("nbf", now.Add(2*time.Minute).Unix())},
		"iat in an hour":                    {set("iat", now.Add(time.Hour).Unix())},
		"iat beyond the leeway":             {set("iat", now.Add(2*time.Minute).Unix())},
		"wrong iss":                         {set("iss", "evil")},
		"no iss":                            {del("iss")},
		"iss with a trailing space":         {set("iss", "retailbridge-dev ")},
		"iss in another case":               {set("iss", "Retailbridge-Dev")},
		"wrong aud":                         {set("aud", "retailbridge-admin")},
		"no aud":                            {del("aud")},
		"aud array without ours":            {set("aud", []string{"a", "b"})},
		"aud naming two of our audiences":   {set("aud", []string{"retailbridge-storefront", "retailbridge-partner"}), set("tenant", "tenant-a")},
		"aud with a trailing space":         {set("aud", "retailbridge-storefront ")},
		"no sub":                            {del("sub")},
		"empty sub":                         {set("sub", "")},
		"sub as a number":                   {set("sub", 7000001)},
		"partner, unknown client":           {set("aud", "retailbridge-partner"), set("sub", "rbc_0123456789abcdef01234567"), set("tenant", "tenant-a")},
		"partner, no tenant":                {set("aud", "retailbridge-partner"), set("sub", client.ID)},
		"partner, revoked client":           {set("aud", "retailbridge-partner"), set("sub", revoked.ID), set("tenant", "tenant-b")},
		"partner, another tenant":           {set("aud", "retailbridge-partner"), set("sub", client.ID), set("tenant", "tenant-b")},
		"partner, a scope beyond its grant": {set("aud", "retailbridge-partner"), set("sub", client.ID), set("tenant", "tenant-a"), set("scope", "orders:read operator")},
		"storefront aud, support audience":  {set("aud", "retailbridge-support "), set("sub", "agent-1")},
	} {
		add(name, raw(t, ed, real.Private, realHdr, claims(mut...)))
	}
	add("revoked client's issued token", revokedTok, partnerPaths)

	// Genuine tokens on another audience's routes.
	add("customer token on partner and support routes", good, partnerPaths, supportPaths)
	add("partner token on storefront and support routes", partner, storefrontPaths, supportPaths)
	add("agent token on storefront and partner routes", support, storefrontPaths, partnerPaths)

	// Structure.
	psegs := strings.Split(partner, ".")
	otherSegs := strings.Split(other, ".")
	mod := func(seg string, f func(map[string]any)) string {
		b, _ := base64.RawURLEncoding.DecodeString(seg)
		m := map[string]any{}
		_ = json.Unmarshal(b, &m)
		f(m)
		return b64([]byte(js(t, m)))
	}
	for name, tok := range map[string]string{
		"two segments":                     segs[0] + "." + segs[1],
		"four segments":                    good + ".x",
		"trailing dot":                     good + ".",
		"leading dot":                      "." + good,
		"signature stripped":               segs[0] + "." + segs[1] + ".",
		"empty segments":                   "..",
		"empty":                            ".",
		"another token's signature":        segs[0] + "." + segs[1] + "." + otherSegs[2],
		"another token's payload":          segs[0] + "." + otherSegs[1] + "." + segs[2],
		"partner payload, customer header": segs[0] + "." + psegs[1] + "." + segs[2],
		"sub changed after signing":        segs[0] + "." + mod(segs[1], set("sub", h.Demo.Customers[7].ID)) + "." + segs[2],
		"scope raised after signing":       segs[0] + "." + mod(segs[1], set("scope", "operator")) + "." + segs[2],
		"exp extended after signing":       segs[0] + "." + mod(segs[1], set("exp", now.Add(48*time.Hour).Unix())) + "." + segs[2],
		"tenant changed after signing":     psegs[0] + "." + mod(psegs[1], set("tenant", "tenant-b")) + "." + psegs[2],
		"header changed after signing":     mod(segs[0], set("typ", "at+jwt")) + "." + segs[1] + "." + segs[2],
		"padded header":                    segs[0] + "=." + segs[1] + "." + segs[2],
		"padded payload":                   segs[0] + "." + segs[1] + "==." + segs[2],
		"padded signature":                 good + "==",
		"standard base64 signature":        segs[0] + "." + segs[1] + "." + base64.StdEncoding.EncodeToString(mustDecode(t, segs[2])),
		"signature trailing bits":          segs[0] + "." + segs[1] + "." + flipTrailingBits(segs[2]),
		"percent-encoded dots":             strings.ReplaceAll(good, ".", "%2E"),
		"percent-encoded payload":          segs[0] + "." + url.QueryEscape(segs[1]+"=") + "." + segs[2],
		"space inside":                     segs[0] + ". " + segs[1] + "." + segs[2],
		"tab inside":                       segs[0] + "." + segs[1] + "\t." + segs[2],
		"signature bit flipped":            segs[0] + "." + segs[1] + "." + flipFirstBit(segs[2]),
		"signature truncated":              segs[0] + "." + segs[1] + "." + segs[2][:len(segs[2])-4],
		"signature doubled":                good + segs[2],
		"header is JSON text, not base64":  `{"alg":"EdDSA"}.` + segs[1] + "." + segs[2],
		"payload not an object":            raw(t, ed, real.Private, realHdr, `"sub"`),
		"payload with trailing data":       raw(t, ed, real.Private, realHdr, claims()+"{}"),
		"payload is JSON with a BOM":       raw(t, ed, real.Private, realHdr, "\ufeff"+claims()),
		"9 KiB genuine token":              raw(t, ed, real.Private, realHdr, claims(set("pad", strings.Repeat("p", 9<<10)))),
		"40 KiB token":                     good + strings.Repeat("A", 40<<10),
		"genuine token plus 9 KiB":         good + strings.Repeat("A", 9<<10),
	} {
		add(name, tok)
	}

	// Duplicate members: a strict reader and a lenient one would disagree on who this is.
	victim := h.Demo.Customers[7].ID
	exp := fmt.Sprint(now.Add(time.Hour).Unix())
	base := `"iss":"retailbridge-dev","aud":"retailbridge-storefront","exp":` + exp
	for name, payload := range map[string]string{
		"duplicate sub":       `{` + base + `,"sub":"` + demo.DemoCustomerID + `","sub":"` + victim + `"}`,
		"sub and SUB":         `{` + base + `,"sub":"` + demo.DemoCustomerID + `","SUB":"` + victim + `"}`,
		"duplicate aud":       `{"iss":"retailbridge-dev","aud":"x","aud":"retailbridge-storefront","exp":` + exp + `,"sub":"` + victim + `"}`,
		"duplicate exp":       `{` + base + `,"exp":1,"sub":"` + victim + `"}`,
		"duplicate iss":       `{"iss":"evil",` + base + `,"sub":"` + victim + `"}`,
		"duplicate scope":     `{` + base + `,"sub":"` + victim + `","scope":"orders:read","scope":"operator"}`,
		"duplicate tenant":    `{"iss":"retailbridge-dev","aud":"retailbridge-partner","exp":` + exp + `,"sub":"` + client.ID + `","tenant":"tenant-a","tenant":"tenant-b"}`,
		"Exp in another case": `{` + base + `,"Exp":1,"sub":"` + victim + `"}`,
	} {
		add(name+" (genuine key)", raw(t, ed, real.Private, realHdr, payload))
		add(name+" (attacker key)", raw(t, ed, evilEd, realHdr, payload))
	}
	add("duplicate alg in the header", raw(t, ed, real.Private, `{"alg":"EdDSA","alg":"none","kid":"`+kid+`"}`, claims()))
	add("duplicate kid in the header", raw(t, ed, real.Private, `{"alg":"EdDSA","kid":"nope","kid":"`+kid+`"}`, claims()))

	tried, accepted := 0, 0
	for _, a := range attacks {
		for _, p := range a.paths {
			tried++
			status := h.send(t, p, a.token)
			switch {
			case status >= 200 && status < 300:
				accepted++
				t.Errorf("ACCEPTED %s on %s: %d", a.name, p, status)
			case status != http.StatusUnauthorized && status != http.StatusForbidden && status != http.StatusRequestHeaderFieldsTooLarge:
				t.Errorf("%s on %s: status %d, want 401, 403 or 431", a.name, p, status)
			}
		}
	}
	if n := attackerHits.Load(); n != 0 {
		t.Errorf("the attacker's server received %d requests: a token drove an outbound fetch", n)
	}
	t.Logf("SEC-1 JWT attack battery: %d forged or misused tokens, %d requests, %d accepted, %d attacker fetches",
		len(attacks), tried, accepted, attackerHits.Load())
}

// send presents token on path and returns the status; the token goes into the header verbatim.
func (h *harness) send(t testing.TB, path, token string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, h.GatewayURL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header["Authorization"] = []string{"Bearer " + token}
	resp, err := h.client.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

func mustDecode(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const b64alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// flipTrailingBits changes only the unused low bits of the last character: a lenient decoder
// yields the same signature.
func flipTrailingBits(s string) string {
	i := strings.IndexByte(b64alphabet, s[len(s)-1])
	return s[:len(s)-1] + string(b64alphabet[i^1])
}

func flipFirstBit(s string) string {
	i := strings.IndexByte(b64alphabet, s[0])
	return string(b64alphabet[i^32]) + s[1:]
}

// supportHTTPRoutes is every /v1/support binding of configs/http/gateway.yaml plus the gateway's
// hand-written support-token routes, each with its path variables filled in.
func supportHTTPRoutes(t testing.TB) [][2]string {
	t.Helper()
	b, err := os.ReadFile("../configs/http/gateway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// Every binding is one "- get: /path" or "post: /path" line; reading lines keeps this test
	// independent of the YAML's nesting.
	var out [][2]string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), "- "))
		if len(f) != 2 || !strings.HasPrefix(f[1], "/v1/support/") {
			continue
		}
		method := strings.ToUpper(strings.TrimSuffix(f[0], ":"))
		path := regexp.MustCompile(`\{[a-z_]+\}`).ReplaceAllString(f[1], "ret_0000000000000000")
		out = append(out, [2]string{method, path})
	}
	if len(out) < 12 {
		t.Fatalf("found only %d support routes in the HTTP rules", len(out))
	}
	return append(out, [2]string{http.MethodGet, "/v1/operations/audit"}, [2]string{http.MethodGet, "/v1/operations/audit/verify"})
}

// TestEverySupportRouteNeedsItsScope: a support token without the route's scope gets 403 on
// every support and operations route, reads included; with it the scope check lets it through.
func TestEverySupportRouteNeedsItsScope(t *testing.T) {
	t.Parallel()
	h := newStack(t)
	none := h.supportToken(t, "agent-0", "profile")
	all := h.supportToken(t, "agent-1", "support:read support:write refunds:override operator")
	routes := supportHTTPRoutes(t)
	forbidden := 0
	for _, r := range routes {
		var body any
		if r[0] == http.MethodPost {
			body = map[string]any{}
		}
		resp := h.do(t, r[0], r[1], none, body, "Idempotency-Key", "scope-"+r[1])
		if resp.Status != http.StatusForbidden || !strings.Contains(string(resp.Body), "insufficient_scope") {
			t.Errorf("%s %s without its scope: %d %s", r[0], r[1], resp.Status, resp.Body)
		} else {
			forbidden++
		}
		if resp := h.do(t, r[0], r[1], all, body, "Idempotency-Key", "scope-all-"+r[1]); resp.Status == http.StatusForbidden {
			t.Errorf("%s %s with every support scope: %d %s", r[0], r[1], resp.Status, resp.Body)
		}
	}
	t.Logf("%d support and operations routes, %d refused without their scope", len(routes), forbidden)
}

// devStackOn starts a stack the way `make run` does — embedded Redis, NATS and SQLite — on the
// data directory dir, with run as its Idempotency-Key suffix, so a second call plays a restart.
func devStackOn(t testing.TB, dir, run string) *harness {
	t.Helper()
	env := map[string]string{
		"RB_DATA_DIR":        dir,
		"RB_RATE_LIMITS":     writeFile(t, dir, "rate-limits.yaml", generousLimits),
		"RB_REQUEST_TIMEOUT": "2s",
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	clk := newClock()
	s, err := stack.Start(context.Background(), stack.Options{Config: cfg, Components: stack.All, Ephemeral: true,
		GatewayAddr: "127.0.0.1:0", Now: clk.Now, FastVendors: true, ManualParcels: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return &harness{Stack: s, Set: handles.Of(s), client: contractClient(t, s.GatewayURL), clock: clk, run: run}
}

// TestDevStackKeepsAuditAndIdempotencyAcrossRestart: restarting a development stack on the same
// data directory keeps the audit log (chain intact) and the gateway's idempotency records, and
// the signing key, so old tokens still verify.
func TestDevStackKeepsAuditAndIdempotencyAcrossRestart(t *testing.T) {
	t.Parallel()
	dir, run := t.TempDir(), "restart"
	h := devStackOn(t, dir, run)
	o := h.Demo.Scenario(demo.ScenarioEligible)
	customer := h.token(t, demo.DemoCustomerID)
	body := createReturn(o.ID, o.Lines[0].ID, 1)
	first := h.do(t, http.MethodPost, "/v1/storefront/returns", customer, body, "Idempotency-Key", "restart-1")
	if first.Status != http.StatusCreated && first.Status != http.StatusOK {
		t.Fatalf("create: %d %s", first.Status, first.Body)
	}
	var r returnJSON
	first.JSON(t, &r)
	agent := h.supportToken(t, "agent-r", "support:read support:write")
	h.waitAny(t, agent, "/v1/support/returns/"+r.Return.ID, "awaiting_parcel")
	if resp := h.do(t, http.MethodPost, "/v1/support/returns/"+r.Return.ID+":cancel", agent, map[string]string{"note": "duplicate"},
		"Idempotency-Key", "restart-cancel", "X-Request-Id", "req-restart-1"); resp.Status != http.StatusOK {
		t.Fatalf("cancel: %d %s", resp.Status, resp.Body)
	}
	operator := h.supportToken(t, "ops-1", "support:read operator")
	before := h.do(t, http.MethodGet, "/v1/operations/audit", operator, nil)
	h.Close()

	h = devStackOn(t, dir, run)
	replay := h.do(t, http.MethodPost, "/v1/storefront/returns", customer, body, "Idempotency-Key", "restart-1")
	if replay.Status != first.Status || replay.Header.Get("Idempotent-Replayed") != "true" || string(replay.Body) != string(first.Body) {
		t.Errorf("replay after a restart: %d replayed=%q %s; want %d replayed and the first body",
			replay.Status, replay.Header.Get("Idempotent-Replayed"), replay.Body, first.Status)
	}
	after := h.do(t, http.MethodGet, "/v1/operations/audit", operator, nil)
	if after.Status != http.StatusOK || string(after.Body) != string(before.Body) || !strings.Contains(string(after.Body), "req-restart-1") {
		t.Errorf("audit log after a restart:\n%s\nbefore:\n%s", after.Body, before.Body)
	}
	var report struct {
		Entries int64 `json:"entries"`
		Intact  bool  `json:"intact"`
	}
	h.do(t, http.MethodGet, "/v1/operations/audit/verify", operator, nil).JSON(t, &report)
	if !report.Intact || report.Entries < 1 {
		t.Errorf("audit chain after a restart: %+v", report)
	}
	t.Logf("after the restart: replay %d Idempotent-Replayed=%s, %d audit entries, chain intact=%v",
		replay.Status, replay.Header.Get("Idempotent-Replayed"), report.Entries, report.Intact)
}

// secondGateway starts another gateway, in a stack of its own, on h's configuration: the same
// identity database (and Redis), as a second replica behind a load balancer would be.
func (h *harness) secondGateway(t testing.TB) *harness {
	t.Helper()
	cfg := h.Config()
	cfg.NATSURL = h.NATSURL // never a second embedded server on the first one's store
	s, err := stack.Start(context.Background(), stack.Options{Config: cfg, Components: []stack.Component{stack.Gateway},
		Ephemeral: true, GatewayAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return &harness{Stack: s, Set: handles.Of(s), client: contractClient(t, s.GatewayURL), clock: h.clock, run: h.run}
}

// TestTwoGatewaysShareKeysAndClients: gateway 2 verifies the tokens gateway 1 signs and issues,
// and a key retired or a client revoked through the CLI is refused by both within the poll bound
// — on SQLite (the dev data directory) and PostgreSQL (DATABASE_URL).
func TestTwoGatewaysShareKeysAndClients(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects {
		t.Run(d.String(), func(t *testing.T) {
			t.Parallel()
			opts := []stackOption{withAuthConfig(t, identityAuthConfig)}
			if d == store.Postgres {
				url := storetest.URL(t, store.Postgres)
				opts = append(opts, func(c *config.Config) { c.DatabaseURL = url })
			}
			g1 := newStack(t, opts...)
			g2 := g1.secondGateway(t)
			if g2.SigningKey.ID != g1.SigningKey.ID {
				t.Fatalf("the gateways sign with %s and %s", g1.SigningKey.ID, g2.SigningKey.ID)
			}
			agent := g1.supportToken(t, "agent-1", "support:read")
			nc := g1.newClient(t, "acme", "orders:read")
			partner := g1.clientToken(t, nc, "").AccessToken
			for _, c := range []struct{ path, token string }{{"/v1/identity/support", agent}, {"/v1/identity/partner", partner}} {
				if r := g2.do(t, http.MethodGet, c.path, c.token, nil); r.Status != http.StatusOK {
					t.Fatalf("gateway 2 on gateway 1's token (%s): %d %s", c.path, r.Status, r.Body)
				}
			}
			fromG2 := g2.clientToken(t, nc, "").AccessToken
			if r := g1.do(t, http.MethodGet, "/v1/identity/partner", fromG2, nil); r.Status != http.StatusOK {
				t.Fatalf("gateway 1 on a token gateway 2 issued: %d %s", r.Status, r.Body)
			}

			// Rotate and retire through the CLI's view of the store: both gateways refuse the old
			// key's tokens and accept the new key's.
			keys := g1.operatorKeys(t)
			fresh, err := keys.Rotate()
			if err != nil {
				t.Fatal(err)
			}
			if err := keys.Retire(g1.SigningKey.ID); err != nil {
				t.Fatal(err)
			}
			for i, g := range []*harness{g1, g2} {
				eventually(t, fmt.Sprintf("gateway %d refuses the retired key's token", i+1), func() bool {
					return g.do(t, http.MethodGet, "/v1/identity/support", agent, nil).Status == http.StatusUnauthorized
				})
			}
			newToken := g2.clientToken(t, nc, "").AccessToken
			if kid := headerOf(t, newToken)["kid"]; kid != fresh.ID {
				t.Errorf("gateway 2 signs with %v after the rotation, want %s", kid, fresh.ID)
			}
			if err := g2.operatorClients(t, cheapArgon2).Revoke(context.Background(), nc.ID); err != nil {
				t.Fatal(err)
			}
			for i, g := range []*harness{g1, g2} {
				eventually(t, fmt.Sprintf("gateway %d refuses the revoked client's token", i+1), func() bool {
					return g.do(t, http.MethodGet, "/v1/identity/partner", newToken, nil).Status == http.StatusUnauthorized
				})
			}
		})
	}
}
