package gateway

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/go-cmp/cmp"

	"github.com/retailbridge/retailbridge/pkg/auth"
)

// identityGateway is a gateway holding only the identity routes, plus a support route that
// needs a scope, over a development identity in a temporary directory.
func identityGateway(t testing.TB) (*Gateway, *auth.Authority) {
	t.Helper()
	dir := t.TempDir()
	a, err := auth.NewAuthority(
		auth.DevConfig("rb-test", "rb-storefront", filepath.Join(dir, "keys"), filepath.Join(dir, "clients.json")),
		auth.AuthorityDeps{Bootstrap: filepath.Join(dir, "keys", "first.pem"), Argon2: auth.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	gin.SetMode(gin.ReleaseMode)
	g := &Gateway{cfg: Config{RequestTimeout: 5 * time.Second, BodyLimit: 64 << 10},
		deps: Deps{Logger: slog.New(slog.DiscardHandler), Verifier: a.Verifier}, engine: gin.New()}
	g.engine.Use(g.observe(), g.securityHeaders())
	g.identityRoutes(g.engine)
	g.engine.GET("/test/support/write", g.authenticate(auth.Support), g.requireScopes("support:write"), func(c *gin.Context) {
		c.Status(http.StatusNoContent)
	})
	return g, a
}

type tokenReq struct {
	form    url.Values
	basic   [2]string
	ctype   string
	rawBody string
	query   string
}

func (g *Gateway) postToken(t testing.TB, r tokenReq) *httptest.ResponseRecorder {
	t.Helper()
	body := r.form.Encode()
	if r.rawBody != "" {
		body = r.rawBody
	}
	req := httptest.NewRequest(http.MethodPost, "/oauth/token"+r.query, strings.NewReader(body))
	ct := "application/x-www-form-urlencoded"
	if r.ctype != "" {
		ct = r.ctype
	}
	req.Header.Set("Content-Type", ct)
	if r.basic[0] != "" {
		req.SetBasicAuth(url.QueryEscape(r.basic[0]), url.QueryEscape(r.basic[1]))
	}
	w := httptest.NewRecorder()
	g.engine.ServeHTTP(w, req)
	return w
}

func TestTokenEndpoint(t *testing.T) {
	t.Parallel()
	g, a := identityGateway(t)
	nc, err := a.Clients.Create(context.Background(), "acme", []string{"orders:read", "returns:write"}, "")
	if err != nil {
		t.Fatal(err)
	}
	cc := url.Values{"grant_type": {"client_credentials"}}
	with := func(kv ...string) url.Values {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Add(kv[i], kv[i+1])
		}
		return v
	}
	creds := [2]string{nc.ID, nc.Secret}
	tests := []struct {
		name       string
		req        tokenReq
		wantStatus int
		wantError  string
	}{
		{"basic", tokenReq{form: cc, basic: creds}, 200, ""},
		{"post", tokenReq{form: with("grant_type", "client_credentials", "client_id", nc.ID, "client_secret", nc.Secret)}, 200, ""},
		{"scope subset", tokenReq{form: with("grant_type", "client_credentials", "scope", "orders:read"), basic: creds}, 200, ""},
		{"no client authentication", tokenReq{form: cc}, 401, "invalid_client"},
		{"wrong secret", tokenReq{form: cc, basic: [2]string{nc.ID, "rbs_wrong"}}, 401, "invalid_client"},
		{"unknown client", tokenReq{form: cc, basic: [2]string{"rbc_000000000000000000000000", nc.Secret}}, 401, "invalid_client"},
		{"public client", tokenReq{form: with("grant_type", "client_credentials", "client_id", nc.ID)}, 401, "invalid_client"},
		{"two methods", tokenReq{form: with("grant_type", "client_credentials", "client_id", nc.ID, "client_secret", nc.Secret), basic: creds}, 400, "invalid_request"},
		{"no grant type", tokenReq{form: url.Values{}, basic: creds}, 400, "invalid_request"},
		{"password grant", tokenReq{form: with("grant_type", "password"), basic: creds}, 400, "unsupported_grant_type"},
		{"scope beyond the client's", tokenReq{form: with("grant_type", "client_credentials", "scope", "orders:read operator"), basic: creds}, 400, "invalid_scope"},
		{"JSON body", tokenReq{rawBody: `{"grant_type":"client_credentials"}`, ctype: "application/json", basic: creds}, 400, "invalid_request"},
		{"parameter twice", tokenReq{form: with("grant_type", "client_credentials", "grant_type", "client_credentials"), basic: creds}, 400, "invalid_request"},
		{"secret in the URL", tokenReq{form: cc, query: "?client_secret=" + url.QueryEscape(nc.Secret), basic: creds}, 400, "invalid_request"},
		{"oversized body", tokenReq{rawBody: "grant_type=client_credentials&x=" + strings.Repeat("a", tokenRequestLimit), basic: creds}, 400, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := g.postToken(t, tt.req)
			if w.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d: %s", w.Code, tt.wantStatus, w.Body)
			}
			if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control = %q", cc)
			}
			if !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
				t.Errorf("Content-Type = %q", w.Header().Get("Content-Type"))
			}
			if tt.wantError == "" {
				var tok auth.AccessToken
				if err := json.Unmarshal(w.Body.Bytes(), &tok); err != nil {
					t.Fatal(err)
				}
				p, err := a.Verifier.Verify(tok.AccessToken)
				if err != nil || p.Tenant != "acme" || p.Audience != auth.Partner || tok.TokenType != "Bearer" || tok.ExpiresIn != 900 {
					t.Errorf("token %+v → %+v, %v", tok, p, err)
				}
				return
			}
			var e map[string]string
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil {
				t.Fatal(err)
			}
			if e["error"] != tt.wantError {
				t.Errorf("error = %q, want %q (%s)", e["error"], tt.wantError, e["error_description"])
			}
			if wa := w.Header().Get("WWW-Authenticate"); (tt.wantStatus == 401) != strings.HasPrefix(wa, "Basic ") {
				t.Errorf("WWW-Authenticate = %q on %d", wa, tt.wantStatus)
			}
		})
	}
}

func TestJWKSEndpoint(t *testing.T) {
	t.Parallel()
	g, a := identityGateway(t)
	first, _ := a.Keyring.Signing()
	second, err := a.Keyring.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	g.engine.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/.well-known/jwks.json", nil))
	if w.Code != 200 || w.Header().Get("Cache-Control") != jwksMaxAge || w.Header().Get("Content-Type") != "application/jwk-set+json" {
		t.Fatalf("%d %v", w.Code, w.Header())
	}
	var set auth.JWKS
	if err := json.Unmarshal(w.Body.Bytes(), &set); err != nil {
		t.Fatal(err)
	}
	want := auth.JWKS{Keys: []auth.JWK{auth.Ed25519JWK(second.ID, second.Public), auth.Ed25519JWK(first.ID, first.Public())}}
	if diff := cmp.Diff(want, set); diff != "" {
		t.Errorf("JWKS (-want +got):\n%s", diff)
	}
	for _, k := range set.Keys {
		x, _ := base64.RawURLEncoding.DecodeString(k.X)
		if auth.Thumbprint(x) != k.Kid {
			t.Errorf("kid %s is not the thumbprint of its key", k.Kid)
		}
	}
}

func TestIdentityRoutesPerAudience(t *testing.T) {
	t.Parallel()
	g, a := identityGateway(t)
	mint := func(kind auth.Audience, sub string, scopes ...string) string {
		tok, err := a.Tokens.Mint(kind, sub, "", scopes, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	get := func(path, tok string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		w := httptest.NewRecorder()
		g.engine.ServeHTTP(w, req)
		return w
	}
	sf := mint(auth.Storefront, "7000001", "orders:read")
	agent := mint(auth.Support, "agent-1", "support:read")
	writer := mint(auth.Support, "agent-2", "support:read", "support:write")
	tests := []struct {
		name, path, token string
		want              int
	}{
		{"storefront whoami", "/v1/identity/storefront", sf, 200},
		{"support whoami", "/v1/identity/support", agent, 200},
		{"storefront token on support", "/v1/identity/support", sf, 403},
		{"support token on storefront", "/v1/identity/storefront", agent, 403},
		{"storefront token on partner", "/v1/identity/partner", sf, 403},
		{"no token", "/v1/identity/partner", "", 401},
		{"scope missing", "/test/support/write", agent, 403},
		{"scope held", "/test/support/write", writer, 204},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := get(tt.path, tt.token)
			if w.Code != tt.want {
				t.Fatalf("status = %d, want %d: %s", w.Code, tt.want, w.Body)
			}
			if tt.want == 403 && strings.HasPrefix(tt.path, "/test") && !strings.Contains(w.Header().Get("WWW-Authenticate"), `error="insufficient_scope"`) {
				t.Errorf("WWW-Authenticate = %q", w.Header().Get("WWW-Authenticate"))
			}
		})
	}
	var who whoamiResponse
	if err := json.Unmarshal(get("/v1/identity/support", writer).Body.Bytes(), &who); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(whoamiResponse{Audience: auth.Support, Subject: "agent-2", Scopes: []string{"support:read", "support:write"}}, who); diff != "" {
		t.Errorf("whoami (-want +got):\n%s", diff)
	}
}
