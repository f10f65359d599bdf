package console

import (
	"context"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/retailbridge/retailbridge/pkg/audit"
	"github.com/retailbridge/retailbridge/pkg/auth"
	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/telemetry"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
)

// view renders a page: the template's name and its data.
type view func(r *http.Request, s *session) (page string, data any, err error)

// act performs an action and says where to go next, what to tell the agent and what to audit.
type act func(r *http.Request, s *session) result

// result is what an action did.
type result struct {
	// Redirect is where the browser goes next (303).
	Redirect string
	// Flash is the message shown there.
	Flash string
	// Audit describes the action for the audit log ("resolve-exception ret_1 approve").
	Audit string
	// Err is the failure; its kind sets the audited outcome.
	Err error
}

// pageData is what every template receives.
type pageData struct {
	S     *session
	Title string
	Flash string
	Error string
	Data  any
	Now   time.Time
}

// page serves a view to a signed-in agent holding scope.
func (c *Console) page(scope string, v view) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, err := c.sessions.load(r)
		if err != nil {
			c.fail(w, r, s, http.StatusServiceUnavailable, "Sessions are unavailable; try again shortly.")
			return
		}
		if !s.signedIn() {
			http.Redirect(w, r, "/console/login", http.StatusFound)
			return
		}
		if !s.has(scope) {
			c.fail(w, r, s, http.StatusForbidden, "This page needs the "+scope+" scope, which you do not have.")
			return
		}
		ctx := auth.WithPrincipal(r.Context(), s.principal())
		name, data, err := v(r.WithContext(ctx), s)
		if err != nil {
			p := errs.ProblemFor(err)
			c.fail(w, r, s, p.Status, p.Title+": "+p.Detail)
			return
		}
		c.render(w, r, s, http.StatusOK, name, data)
	}
}

// action serves a state-changing form: a signed-in agent, the session's CSRF token, scope;
// then the action, audited with the agent's name whatever its outcome.
func (c *Console) action(scope string, a act) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		s, err := c.sessions.load(r)
		if err != nil {
			c.fail(w, r, s, http.StatusServiceUnavailable, "Sessions are unavailable; try again shortly.")
			return
		}
		if !s.signedIn() {
			c.fail(w, r, nil, http.StatusUnauthorized, "Sign in first.")
			return
		}
		what := r.Method + " " + r.URL.Path
		if !validCSRF(s, r) {
			c.audit(r, s, "refused "+what+" (CSRF token missing or wrong)", http.StatusForbidden)
			c.fail(w, r, s, http.StatusForbidden, "The form's security token is missing or out of date. Reload the page and try again.")
			return
		}
		if !s.has(scope) {
			c.audit(r, s, "refused "+what+" (needs "+scope+")", http.StatusForbidden)
			c.fail(w, r, s, http.StatusForbidden, "This action needs the "+scope+" scope, which you do not have.")
			return
		}
		ctx := auth.WithPrincipal(r.Context(), s.principal())
		res := a(r.WithContext(ctx), s)
		status, flash := http.StatusOK, res.Flash
		if res.Err != nil {
			p := errs.ProblemFor(res.Err)
			status, flash = p.Status, p.Title+": "+p.Detail
		}
		c.audit(r, s, res.Audit, status)
		s.Flash = flash
		if err := c.sessions.save(r.Context(), w, s); err != nil {
			c.deps.Logger.WarnContext(r.Context(), "console flash not saved", "error", err.Error())
		}
		http.Redirect(w, r, res.Redirect, http.StatusSeeOther)
	}
}

// audit appends what the agent did to the audit log.
func (c *Console) audit(r *http.Request, s *session, what string, outcome int) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 5*time.Second)
	defer cancel()
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	_, err = c.deps.Audit.Append(ctx, audit.Entry{Actor: string(auth.Support) + ":" + s.Agent, Action: "console " + what,
		Outcome: outcome, Origin: host, CorrelationID: telemetry.CorrelationID(r.Context())})
	if err != nil {
		c.deps.Logger.ErrorContext(ctx, "console audit record not written", "error", err.Error(), "action", what)
	}
}

// fail renders an error page with status.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, s *session, status int, msg string) {
	c.renderPage(w, r, s, status, "error", pageData{Title: http.StatusText(status), Error: msg})
}

func (c *Console) render(w http.ResponseWriter, r *http.Request, s *session, status int, name string, data any) {
	pd := pageData{Data: data, Title: titles[name]}
	if s != nil && s.Flash != "" {
		pd.Flash = s.Flash
		s.Flash = ""
		_ = c.sessions.save(r.Context(), w, s)
	}
	c.renderPage(w, r, s, status, name, pd)
}

func (c *Console) renderPage(w http.ResponseWriter, r *http.Request, s *session, status int, name string, pd pageData) {
	pd.S, pd.Now = s, c.deps.Now()
	var b strings.Builder
	if err := c.pages[name].ExecuteTemplate(&b, "layout", pd); err != nil {
		c.deps.Logger.ErrorContext(r.Context(), "console template failed", "page", name, "error", err.Error())
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(b.String()))
}

// titles are the pages' titles.
var titles = map[string]string{
	"home": "Overview", "queue": "Queue", "exceptions": "Exceptions by channel", "search": "Search", "return": "Return",
	"deadletters": "Dead letters", "deadletter": "Dead letter", "kpis": "KPIs", "audit": "Audit log", "login": "Sign in", "runbook": "Runbook",
	"orderqueue": "Order queue", "order": "Order", "owners": "Who owns what",
}

var pageNames = []string{"home", "queue", "exceptions", "search", "return", "deadletters", "deadletter", "kpis", "audit", "login", "error", "runbook", "orderqueue", "order", "owners"}

var funcs = template.FuncMap{
	"has": func(s *session, scope string) bool { return s != nil && s.has(scope) },
	"when": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04:05")
	},
	"money": func(m *canonicalv1.Money) string {
		if m == nil {
			return ""
		}
		return fmt.Sprintf("%d.%02d %s", m.GetAmountMinor()/100, abs(m.GetAmountMinor()%100), m.GetCurrencyCode())
	},
	"method": func(m canonicalv1.ReturnMethod) string { return channelName(m) },
	"ago": func(now, t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return now.Sub(t).Round(time.Second).String()
	},
	"contains":    slices.Contains[[]string],
	"orderQueues": func() []orderQueue { return orderQueues },
	"rowsArg":     func(rows []row, now time.Time) rowsArg { return rowsArg{Rows: rows, Now: now} },
}

// rowsArg is what the shared "rows" template takes.
type rowsArg struct {
	Rows []row
	Now  time.Time
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

// channelName is the console's name for a return method: the return's channel.
func channelName(m canonicalv1.ReturnMethod) string {
	switch m {
	case canonicalv1.ReturnMethod_RETURN_METHOD_MAIL:
		return "mail"
	case canonicalv1.ReturnMethod_RETURN_METHOD_IN_STORE:
		return "in_store"
	}
	return "unknown"
}

func parsePages() (map[string]*template.Template, error) {
	out := map[string]*template.Template{}
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("console: template %s: %w", name, err)
		}
		out[name] = t
	}
	return out, nil
}
