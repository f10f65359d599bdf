package console

import (
	"net/http"
	"strings"
)

// devRoles are the development login's roles: the scopes an agent of each kind has.
var devRoles = map[string][]string{
	"viewer":     {ScopeRead},
	"agent":      {ScopeRead, ScopeWrite},
	"supervisor": {ScopeRead, ScopeWrite, ScopeRefunds, ScopeOperator},
}

type loginData struct {
	DevLogin bool
	OIDC     bool
	CSRF     string
	Roles    []string
}

// loginPage offers the configured sign-ins. Its form carries the anonymous session's CSRF
// token, so no other site can sign a browser in (login CSRF).
func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	s, err := c.sessions.anonymous(w, r)
	if err != nil {
		c.fail(w, r, nil, http.StatusServiceUnavailable, "Sessions are unavailable; try again shortly.")
		return
	}
	if s.signedIn() {
		http.Redirect(w, r, "/console/", http.StatusFound)
		return
	}
	c.render(w, r, s, http.StatusOK, "login", loginData{DevLogin: c.cfg.DevLogin, OIDC: c.oidc != nil, CSRF: s.CSRF,
		Roles: []string{"supervisor", "agent", "viewer"}})
}

// devLogin signs in with a chosen name and role: `retailbridge dev` only.
func (c *Console) devLogin(w http.ResponseWriter, r *http.Request) {
	if !c.cfg.DevLogin {
		http.NotFound(w, r)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	s, err := c.sessions.load(r)
	if err != nil || !validCSRF(s, r) {
		c.fail(w, r, nil, http.StatusForbidden, "The sign-in form's security token is missing or out of date. Reload the sign-in page.")
		return
	}
	agent := strings.TrimSpace(r.PostFormValue("agent"))
	scopes, ok := devRoles[r.PostFormValue("role")]
	if agent == "" || len(agent) > 64 || strings.ContainsAny(agent, " :\t\r\n") || !ok {
		c.fail(w, r, s, http.StatusBadRequest, "Give a name (no spaces or colons, at most 64 characters) and a role.")
		return
	}
	c.signIn(w, r, s, agent, scopes, "dev")
}

// signIn rotates the session to the agent and audits the sign-in.
func (c *Console) signIn(w http.ResponseWriter, r *http.Request, old *session, agent string, scopes []string, via string) {
	s, err := c.sessions.rotate(r.Context(), w, old, agent, scopes, via)
	if err != nil {
		c.fail(w, r, nil, http.StatusServiceUnavailable, "Sessions are unavailable; try again shortly.")
		return
	}
	c.audit(r, s, "sign-in via "+via+" with scopes "+strings.Join(scopes, " "), http.StatusOK)
	http.Redirect(w, r, "/console/", http.StatusSeeOther)
}

// oidcStart sends the browser to the identity provider.
func (c *Console) oidcStart(w http.ResponseWriter, r *http.Request) {
	if c.oidc == nil {
		http.NotFound(w, r)
		return
	}
	s, err := c.sessions.anonymous(w, r)
	if err != nil {
		c.fail(w, r, nil, http.StatusServiceUnavailable, "Sessions are unavailable; try again shortly.")
		return
	}
	u, pl, err := c.oidc.start(r.Context())
	if err != nil {
		c.deps.Logger.WarnContext(r.Context(), "console OIDC start failed", "error", err.Error())
		c.fail(w, r, nil, http.StatusBadGateway, "The identity provider cannot be reached; try again shortly.")
		return
	}
	s.OIDC = pl
	if err := c.sessions.save(r.Context(), w, s); err != nil {
		c.fail(w, r, nil, http.StatusServiceUnavailable, "Sessions are unavailable; try again shortly.")
		return
	}
	http.Redirect(w, r, u, http.StatusFound)
}

// oidcCallback finishes the provider's sign-in.
func (c *Console) oidcCallback(w http.ResponseWriter, r *http.Request) {
	if c.oidc == nil {
		http.NotFound(w, r)
		return
	}
	s, err := c.sessions.load(r)
	if err != nil || s == nil || s.OIDC == nil {
		c.fail(w, r, nil, http.StatusBadRequest, "No sign-in is in progress in this browser. Start again from the sign-in page.")
		return
	}
	id, err := c.oidc.finish(r.Context(), s.OIDC, r)
	if err != nil {
		c.deps.Logger.WarnContext(r.Context(), "console OIDC sign-in refused", "error", err.Error())
		c.fail(w, r, nil, http.StatusUnauthorized, "Sign-in failed: "+err.Error())
		return
	}
	if len(id.Scopes) == 0 {
		c.fail(w, r, nil, http.StatusForbidden, "Your account has no Retailbridge console scopes. Ask your administrator.")
		return
	}
	c.signIn(w, r, s, id.Agent, id.Scopes, "oidc")
}

// logout ends the session (CSRF-checked: no other site can sign an agent out).
func (c *Console) logout(w http.ResponseWriter, r *http.Request) {
	s, err := c.sessions.load(r)
	if err != nil || !validCSRF(s, r) {
		c.fail(w, r, nil, http.StatusForbidden, "The form's security token is missing or out of date.")
		return
	}
	if s.signedIn() {
		c.audit(r, s, "sign-out", http.StatusOK)
	}
	_ = c.sessions.destroy(r.Context(), w, s)
	http.Redirect(w, r, "/console/login", http.StatusSeeOther)
}
