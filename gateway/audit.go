package gateway

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/retailbridge/retailbridge/pkg/audit"
	"github.com/retailbridge/retailbridge/pkg/auth"
	"github.com/retailbridge/retailbridge/pkg/errs"
)

// The audit log of privileged actions is every mutating request of a support agent or a
// partner (cancellations, exception decisions, refund overrides, returns created on a
// customer's behalf), whatever its outcome, in the durable SQL store (pkg/audit): append-only,
// hash-chained, shared by every gateway, and never lost with a cache. Each return's own timeline
// also records the agent on its steps, and dead-letter replays are audited in the service
// database.

// AuditEntry is one privileged action as the HTTP API shows it.
type AuditEntry struct {
	// ID is the entry's position in the chain (seq), as a string; pass it as `before`.
	ID            string `json:"id"`
	At            string `json:"at"`
	Actor         string `json:"actor"`
	Tenant        string `json:"tenant,omitempty"`
	Action        string `json:"action"`
	Outcome       int    `json:"outcome"`
	Origin        string `json:"origin"`
	CorrelationID string `json:"correlation_id"`
	PrevHash      string `json:"prev_hash"`
	Hash          string `json:"hash"`
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
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 5*time.Second)
		defer cancel()
		_, err := g.deps.Audit.Append(ctx, audit.Entry{Actor: string(p.Audience) + ":" + p.Subject, Tenant: p.Tenant,
			Action: r.Method + " " + r.URL.Path, Outcome: c.Writer.Status(), Origin: c.ClientIP(), CorrelationID: correlation(c.Request.Context())})
		if err != nil {
			// The action already happened; the return's timeline still names the actor.
			g.deps.Logger.ErrorContext(r.Context(), "audit record not written", "error", err.Error(), "action", r.Method+" "+r.URL.Path)
		}
	}
}

// auditLog lists privileged actions, newest first:
// GET /v1/operations/audit?limit=N&before=ID&actor=A&tenant=T&action=M&since=RFC3339&until=RFC3339.
// It needs the operator scope.
func (g *Gateway) auditLog(c *gin.Context) {
	f, bad := auditFilter(c)
	if len(bad) > 0 {
		g.problem(c, errs.ProblemFor(errs.E(errs.Invalid, "invalid_query", "the audit query has invalid parameters").WithFields(bad...)))
		return
	}
	entries, err := g.deps.Audit.Query(c.Request.Context(), f)
	if err != nil {
		g.problem(c, errs.ProblemFor(errs.Wrap(err, errs.Unavailable, "audit_unavailable", "the audit log cannot be read now")))
		return
	}
	out := make([]AuditEntry, 0, len(entries))
	for _, e := range entries {
		out = append(out, AuditEntry{ID: strconv.FormatInt(e.Seq, 10), At: e.At.Format(time.RFC3339Nano), Actor: e.Actor, Tenant: e.Tenant,
			Action: e.Action, Outcome: e.Outcome, Origin: e.Origin, CorrelationID: e.CorrelationID, PrevHash: e.PrevHash, Hash: e.Hash})
	}
	c.JSON(http.StatusOK, gin.H{"entries": out})
}

// auditFilter reads the audit query, naming every bad parameter.
func auditFilter(c *gin.Context) (audit.Filter, []errs.FieldViolation) {
	f := audit.Filter{Limit: 100, Actor: c.Query("actor"), Tenant: c.Query("tenant"), Action: c.Query("action")}
	var bad []errs.FieldViolation
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			bad = append(bad, errs.FieldViolation{Field: "limit", Description: "must be a whole number between 1 and 1000"})
		}
		f.Limit = n
	}
	if v := c.Query("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			bad = append(bad, errs.FieldViolation{Field: "before", Description: "must be the id of an audit entry"})
		}
		f.Before = n
	}
	for _, tv := range []struct {
		name string
		dst  *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if v := c.Query(tv.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				bad = append(bad, errs.FieldViolation{Field: tv.name, Description: "must be an RFC 3339 time, e.g. 2026-12-07T10:00:00Z"})
			}
			*tv.dst = t
		}
	}
	return f, bad
}

// auditVerify walks the whole chain: GET /v1/operations/audit/verify answers how many entries
// it checked, the head hash (record it elsewhere to detect a truncated tail later) and the first
// broken link, if any. It needs the operator scope.
func (g *Gateway) auditVerify(c *gin.Context) {
	r, err := g.deps.Audit.Verify(c.Request.Context())
	if err != nil {
		g.problem(c, errs.ProblemFor(errs.Wrap(err, errs.Unavailable, "audit_unavailable", "the audit log cannot be read now")))
		return
	}
	c.JSON(http.StatusOK, auditReport{Report: r, Intact: r.Broken == nil})
}

// auditReport is what /v1/operations/audit/verify answers.
type auditReport struct {
	audit.Report
	// Intact is true when every link holds.
	Intact bool `json:"intact"`
}
