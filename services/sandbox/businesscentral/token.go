package businesscentral

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"sync"
	"time"
)

// tokenStore remembers the access tokens issued and when each expires.
type tokenStore struct {
	mu     sync.Mutex
	now    func() time.Time
	issued map[string]time.Time
}

func newTokenStore(now func() time.Time) *tokenStore {
	return &tokenStore{now: now, issued: map[string]time.Time{}}
}

func (t *tokenStore) issue(ttl time.Duration) string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	tok := hex.EncodeToString(b)
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	for k, exp := range t.issued {
		if now.After(exp) {
			delete(t.issued, k)
		}
	}
	t.issued[tok] = now.Add(ttl)
	return tok
}

func (t *tokenStore) valid(tok string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	exp, ok := t.issued[tok]
	return ok && t.now().Before(exp)
}

// ExpireTokens makes every issued token invalid, as their hour running out would.
func (s *Sandbox) ExpireTokens() {
	s.tokens.mu.Lock()
	defer s.tokens.mu.Unlock()
	clear(s.tokens.issued)
}

// serveToken is the client-credentials grant of the Microsoft identity platform's v2.0 token
// endpoint: form-encoded client_id, client_secret (or HTTP Basic), grant_type and a scope
// ending in /.default.
func (s *Sandbox) serveToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		tokenError(w, http.StatusMethodNotAllowed, "invalid_request", "AADSTS900561: The endpoint only accepts POST requests.")
		return
	}
	if err := r.ParseForm(); err != nil {
		tokenError(w, http.StatusBadRequest, "invalid_request", "AADSTS900144: The request body must be form-encoded.")
		return
	}
	id, secret, basic := r.BasicAuth()
	if !basic {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	switch {
	case r.PostForm.Get("grant_type") != "client_credentials":
		tokenError(w, http.StatusBadRequest, "unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type.")
	case id != s.opts.ClientID:
		tokenError(w, http.StatusBadRequest, "unauthorized_client", "AADSTS700016: Application not found in the directory.")
	case subtle.ConstantTimeCompare([]byte(secret), []byte(s.opts.ClientSecret)) != 1:
		tokenError(w, http.StatusUnauthorized, "invalid_client", "AADSTS7000215: Invalid client secret provided.")
	case r.PostForm.Get("scope") != "https://api.businesscentral.dynamics.com/.default":
		tokenError(w, http.StatusBadRequest, "invalid_scope", "AADSTS70011: The provided value for the input parameter 'scope' is not valid.")
	default:
		s.tokensIssued.Add(1)
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"token_type": "Bearer", "expires_in": int(s.opts.TokenTTL.Seconds()), "ext_expires_in": int(s.opts.TokenTTL.Seconds()),
			"access_token": s.tokens.issue(s.opts.TokenTTL),
		})
	}
}

func tokenError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": code, "error_description": desc})
}

// writeError writes Business Central's OData error document.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json; odata.metadata=minimal; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg}})
}
