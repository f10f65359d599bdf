package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/retailbridge/retailbridge/pkg/auth"
)

// cookieName is the session cookie. It carries only a random id; the session lives in Redis
// (shared by every gateway replica) under the id's SHA-256, so a leaked Redis dump holds no
// usable cookie.
const cookieName = "rb_console"

// session is one browser's state: anonymous until login (it then holds only the CSRF token and
// a pending OpenID Connect login), an agent afterwards.
type session struct {
	id string
	// Agent is the signed-in agent's name; empty before login.
	Agent  string   `json:"agent,omitempty"`
	Scopes []string `json:"scopes,omitempty"`
	// Via is how the agent signed in: "oidc" or "dev".
	Via string `json:"via,omitempty"`
	// CSRF is the synchroniser token every state-changing form carries.
	CSRF string `json:"csrf"`
	// OIDC holds a login in progress: state, PKCE verifier and nonce.
	OIDC *pendingLogin `json:"oidc,omitempty"`
	// Flash is a message for the next page (an action's outcome).
	Flash string `json:"flash,omitempty"`
	// BulkDryRun is the dead-letter filter last dry-run in bulk; a bulk replay needs it.
	BulkDryRun string `json:"bulk_dry_run,omitempty"`
	// OrderBulk is the last dry run of a bulk action on held orders; the real run needs it.
	OrderBulk *bulkPlan `json:"order_bulk,omitempty"`
}

type pendingLogin struct {
	State    string `json:"state"`
	Verifier string `json:"verifier"`
	Nonce    string `json:"nonce"`
}

// signedIn reports whether the session belongs to an agent.
func (s *session) signedIn() bool { return s != nil && s.Agent != "" }

// principal is the agent as the process services know callers.
func (s *session) principal() auth.Principal {
	return auth.Principal{Audience: auth.Support, Subject: s.Agent, Scopes: s.Scopes}
}

func (s *session) has(scope string) bool { return s.principal().HasScope(scope) }

// sessions keeps sessions in Redis.
type sessions struct {
	rdb    *redis.Client
	ttl    time.Duration
	secure bool
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func redisKey(id string) string {
	sum := sha256.Sum256([]byte(id))
	return "rb:console:session:" + hex.EncodeToString(sum[:])
}

// load returns the request's session, nil when it has none (or an unknown or expired id).
func (st *sessions) load(r *http.Request) (*session, error) {
	c, err := r.Cookie(cookieName)
	if err != nil || len(c.Value) != 43 {
		return nil, nil
	}
	raw, err := st.rdb.Get(r.Context(), redisKey(c.Value)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	s := &session{id: c.Value}
	if err := json.Unmarshal(raw, s); err != nil {
		return nil, nil
	}
	return s, nil
}

// save stores s (sliding its expiry) and sets its cookie.
func (st *sessions) save(ctx context.Context, w http.ResponseWriter, s *session) error {
	raw, _ := json.Marshal(s)
	if err := st.rdb.Set(ctx, redisKey(s.id), raw, st.ttl).Err(); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: s.id, Path: "/console", HttpOnly: true, Secure: st.secure,
		SameSite: http.SameSiteStrictMode, MaxAge: int(st.ttl / time.Second)})
	return nil
}

// anonymous returns the request's session or a new anonymous one (saved).
func (st *sessions) anonymous(w http.ResponseWriter, r *http.Request) (*session, error) {
	s, err := st.load(r)
	if err != nil || s != nil {
		return s, err
	}
	s = &session{id: randomToken(), CSRF: randomToken()}
	return s, st.save(r.Context(), w, s)
}

// rotate signs agent in on a new session id and a new CSRF token, deleting the old session: an
// id planted in the browser before login (session fixation) is worthless afterwards.
func (st *sessions) rotate(ctx context.Context, w http.ResponseWriter, old *session, agent string, scopes []string, via string) (*session, error) {
	if old != nil {
		if err := st.rdb.Del(ctx, redisKey(old.id)).Err(); err != nil {
			return nil, err
		}
	}
	s := &session{id: randomToken(), CSRF: randomToken(), Agent: agent, Scopes: scopes, Via: via}
	return s, st.save(ctx, w, s)
}

// destroy ends s and clears the cookie.
func (st *sessions) destroy(ctx context.Context, w http.ResponseWriter, s *session) error {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/console", HttpOnly: true, Secure: st.secure,
		SameSite: http.SameSiteStrictMode, MaxAge: -1})
	if s == nil {
		return nil
	}
	return st.rdb.Del(ctx, redisKey(s.id)).Err()
}

// validCSRF reports whether the form's token is the session's, compared in constant time.
func validCSRF(s *session, r *http.Request) bool {
	got := r.PostFormValue("csrf")
	return s != nil && s.CSRF != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.CSRF)) == 1
}
