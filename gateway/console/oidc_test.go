package console

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/retailbridge/retailbridge/pkg/audit"
	returnsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/returns/v1"
	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/store/storetest"
	"github.com/retailbridge/retailbridge/pkg/testkit"
)

// provider is an in-process OpenID Connect provider: discovery, JWKS, an authorization
// endpoint that signs in "ann" at once, and a token endpoint that checks the PKCE verifier
// against the S256 challenge. Knobs make it misbehave the way a hostile or broken provider would.
type provider struct {
	srv      *httptest.Server
	key      *rsa.PrivateKey
	otherKey *rsa.PrivateKey

	mu sync.Mutex
	// codes maps an issued code to its request's challenge, nonce and client.
	codes map[string]url.Values
	// knobs
	wrongNonce, wrongAudience, foreignKey bool
	scopes                                any
}

func newProvider(t *testing.T) *provider {
	t.Helper()
	p := &provider{codes: map[string]url.Values{}, scopes: "support:read operator ignored:scope"}
	var err error
	if p.key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	if p.otherKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"issuer": p.srv.URL, "authorization_endpoint": p.srv.URL + "/authorize",
			"token_endpoint": p.srv.URL + "/token", "jwks_uri": p.srv.URL + "/jwks", "id_token_signing_alg_values_supported": []string{"RS256"},
			"response_types_supported": []string{"code"}, "subject_types_supported": []string{"public"}})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, _ *http.Request) {
		b64 := func(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{{"kty": "RSA", "kid": "k1", "alg": "RS256", "use": "sig",
			"n": b64(p.key.N.Bytes()), "e": b64(big.NewInt(int64(p.key.E)).Bytes())}}})
	})
	mux.HandleFunc("GET /authorize", p.authorize)
	mux.HandleFunc("POST /token", p.token)
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

func (p *provider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("nonce") == "" {
		http.Error(w, "authorization code with PKCE S256 and a nonce required", http.StatusBadRequest)
		return
	}
	code := randomToken()
	p.mu.Lock()
	p.codes[code] = q
	p.mu.Unlock()
	http.Redirect(w, r, q.Get("redirect_uri")+"?"+url.Values{"code": {code}, "state": {q.Get("state")}}.Encode(), http.StatusFound)
}

func (p *provider) token(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	req, ok := p.codes[r.PostFormValue("code")]
	delete(p.codes, r.PostFormValue("code")) // one use
	p.mu.Unlock()
	sum := sha256.Sum256([]byte(r.PostFormValue("code_verifier")))
	if !ok || base64.RawURLEncoding.EncodeToString(sum[:]) != req.Get("code_challenge") {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":"invalid_grant"}`))
		return
	}
	claims := jwt.MapClaims{"iss": p.srv.URL, "sub": "u-1", "aud": req.Get("client_id"), "exp": time.Now().Add(time.Hour).Unix(),
		"iat": time.Now().Unix(), "nonce": req.Get("nonce"), "preferred_username": "ann", "retailbridge_scopes": p.scopes}
	if p.wrongNonce {
		claims["nonce"] = "another"
	}
	if p.wrongAudience {
		claims["aud"] = "another-client"
	}
	key := p.key
	if p.foreignKey {
		key = p.otherKey
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = "k1"
	signed, _ := tok.SignedString(key)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "at", "token_type": "Bearer", "expires_in": 3600, "id_token": signed})
}

// consoleUnderTest serves a console configured for p, with real Redis and SQLite.
func consoleUnderTest(t *testing.T, p *provider) (*httptest.Server, *audit.Log) {
	t.Helper()
	ropts, err := redis.ParseURL(testkit.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(ropts)
	t.Cleanup(func() { _ = rdb.Close() })
	db := storetest.Open(t, store.SQLite, store.Options{})
	log, err := audit.Open(context.Background(), db, nil)
	if err != nil {
		t.Fatal(err)
	}
	// No returns service: sign-in never calls it.
	conn, err := grpc.NewClient("127.0.0.1:1", grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	srv := httptest.NewUnstartedServer(nil)
	c, err := New(context.Background(), Config{InsecureCookies: true, OIDC: OIDCConfig{Issuer: p.srv.URL, ClientID: "console",
		RedirectURL: "http://" + srv.Listener.Addr().String() + "/console/callback"}},
		Deps{Redis: rdb, Returns: returnsv1.NewReturnsServiceClient(conn), Audit: log, DB: db})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = c
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, log
}

// The OpenID Connect sign-in: authorization code with PKCE (the provider checks the verifier),
// state and nonce checked, the ID token verified; the agent's name and known scopes come from
// the token; a broken or hostile answer signs nobody in.
func TestOIDCSignIn(t *testing.T) {
	tests := []struct {
		name       string
		knob       func(*provider)
		wantStatus int
		wantScopes string
	}{
		{"signs in with the token's scopes, unknown ones dropped", func(*provider) {}, http.StatusOK, "support:read operator"},
		{"scopes as an array", func(p *provider) { p.scopes = []string{"support:read", "support:write"} }, http.StatusOK, "support:read support:write"},
		{"no console scope", func(p *provider) { p.scopes = "profile" }, http.StatusForbidden, ""},
		{"nonce replayed from another sign-in", func(p *provider) { p.wrongNonce = true }, http.StatusUnauthorized, ""},
		{"token for another client", func(p *provider) { p.wrongAudience = true }, http.StatusUnauthorized, ""},
		{"token signed by an unknown key", func(p *provider) { p.foreignKey = true }, http.StatusUnauthorized, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := newProvider(t)
			tt.knob(p)
			srv, log := consoleUnderTest(t, p)
			jar, _ := cookiejar.New(nil)
			client := &http.Client{Jar: jar}
			resp, err := client.Get(srv.URL + "/console/login/oidc")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			// After sign-in the console lands on /console/ (the returns service is absent here,
			// so that page fails); the operator's KPI page needs no backend.
			if resp.StatusCode == http.StatusServiceUnavailable || resp.Request.URL.Path == "/console/" {
				resp, err = client.Get(srv.URL + "/console/kpis")
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
			}
			entries, _ := log.Query(context.Background(), audit.Filter{})
			signedIn := len(entries) == 1 && strings.HasSuffix(entries[0].Action, "with scopes "+tt.wantScopes) && entries[0].Actor == "support:ann"
			switch {
			case tt.wantStatus == http.StatusOK && !signedIn:
				t.Errorf("not signed in with %q: status %d at %s, audit %+v", tt.wantScopes, resp.StatusCode, resp.Request.URL, entries)
			case tt.wantStatus != http.StatusOK && (len(entries) != 0 || resp.StatusCode != tt.wantStatus):
				t.Errorf("status %d, audit %+v; want %d and nobody signed in", resp.StatusCode, entries, tt.wantStatus)
			}
		})
	}
}

// A callback that does not match this browser's pending sign-in (another state, or none at
// all) signs nobody in.
func TestOIDCCallbackStateMismatch(t *testing.T) {
	p := newProvider(t)
	srv, log := consoleUnderTest(t, p)
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, CheckRedirect: func(r *http.Request, _ []*http.Request) error {
		if strings.HasPrefix(r.URL.String(), srv.URL+"/console/callback") {
			return http.ErrUseLastResponse // stop before the console sees the real callback
		}
		return nil
	}}
	resp, err := client.Get(srv.URL + "/console/login/oidc")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cb, _ := url.Parse(resp.Header.Get("Location"))
	q := cb.Query()
	q.Set("state", "attacker-state")
	for name, u := range map[string]string{"forged state": srv.URL + "/console/callback?" + q.Encode()} {
		resp, err := client.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: %d, want 401", name, resp.StatusCode)
		}
	}
	fresh := &http.Client{}
	resp, err = fresh.Get(srv.URL + "/console/callback?" + cb.RawQuery)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a callback in a browser with no sign-in in progress: %d, want 400", resp.StatusCode)
	}
	if entries, _ := log.Query(context.Background(), audit.Filter{}); len(entries) != 0 {
		t.Errorf("signed in: %+v", entries)
	}
}
