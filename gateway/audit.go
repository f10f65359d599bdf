package gateway

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"

	"github.com/retailbridge/retailbridge/pkg/auth"
	"github.com/retailbridge/retailbridge/pkg/errs"
)

// auditStream is the append-only log of privileged actions: every mutating request of a support
// agent or a partner (cancellations, exception decisions, refund overrides, returns created on a
// customer's behalf). Entries are only ever added (XADD); the stream is capped at
// auditMaxEntries, oldest first. Each return's own timeline also records the agent on its steps,
// and dead-letter replays are audited in the service database.
const (
	auditStream     = "rb:audit"
	auditMaxEntries = 1_000_000
)

// AuditEntry is one privileged action.
type AuditEntry struct {
	ID            string `json:"id"`
	At            string `json:"at"`
	Actor         string `json:"actor"`
	Tenant        string `json:"tenant,omitempty"`
	Action        string `json:"action"`
	Outcome       int    `json:"outcome"`
	Origin        string `json:"origin"`
	CorrelationID string `json:"correlation_id"`
}

// audit records the mutating requests of privileged callers after they ran.
func (g *Gateway) audit() gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Next()
		r := c.Request
		if r.Method == http.MethodGet || r.Method == http.MethodHead || routeClass(r) == ClassEligibility {
			return
		}
		p, ok := auth.FromContext(r.Context())
		if !ok {
			return
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), time.Second)
		defer cancel()
		err := g.deps.Redis.XAdd(ctx, &redis.XAddArgs{Stream: auditStream, MaxLen: auditMaxEntries, Approx: true, Values: map[string]any{
			"at": time.Now().UTC().Format(time.RFC3339Nano), "actor": string(p.Audience) + ":" + p.Subject, "tenant": p.Tenant,
			"action": r.Method + " " + r.URL.Path, "outcome": c.Writer.Status(), "origin": c.ClientIP(),
			"correlation_id": c.GetString(requestIDKey),
		}}).Err()
		if err != nil {
			// The action already happened; the return's timeline still names the actor.
			g.deps.Logger.ErrorContext(r.Context(), "audit record not written", "error", err.Error(), "action", r.Method+" "+r.URL.Path)
		}
	}
}

// auditLog lists privileged actions, newest first: GET /v1/operations/audit?limit=N&before=ID.
// It needs the operator scope.
func (g *Gateway) auditLog(c *gin.Context) {
	limit := 100
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			g.problem(c, errs.ProblemFor(errs.E(errs.Invalid, "page_size_out_of_range", "limit must be between 1 and 1000").
				WithFields(errs.FieldViolation{Field: "limit", Description: "between 1 and 1000"})))
			return
		}
		limit = n
	}
	end := "+"
	if b := c.Query("before"); b != "" {
		end = "(" + b
	}
	msgs, err := g.deps.Redis.XRevRangeN(c.Request.Context(), auditStream, end, "-", int64(limit)).Result()
	if err != nil {
		g.problem(c, errs.ProblemFor(errs.Wrap(err, errs.Unavailable, "audit_unavailable", "the audit log cannot be read now")))
		return
	}
	out := make([]AuditEntry, 0, len(msgs))
	for _, m := range msgs {
		str := func(k string) string { s, _ := m.Values[k].(string); return s }
		outcome, _ := strconv.Atoi(str("outcome"))
		out = append(out, AuditEntry{ID: m.ID, At: str("at"), Actor: str("actor"), Tenant: str("tenant"), Action: str("action"),
			Outcome: outcome, Origin: str("origin"), CorrelationID: str("correlation_id")})
	}
	c.JSON(http.StatusOK, gin.H{"entries": out})
}
