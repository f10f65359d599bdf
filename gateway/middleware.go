package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/retailbridge/retailbridge/pkg/auth"
	"github.com/retailbridge/retailbridge/pkg/errs"
)

// RequestIDHeader carries the request id, accepted from the client or generated, and echoed.
const RequestIDHeader = "X-Request-Id"

// problem writes p with the request id and aborts the chain.
func (g *Gateway) problem(c *gin.Context, p errs.Problem) {
	p.RequestID = correlation(c.Request.Context())
	p.Instance = c.Request.URL.Path
	p.Write(c.Writer)
	c.Abort()
}

func (g *Gateway) recovery() gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if rec := recover(); rec != nil {
				if err, ok := rec.(error); ok && errors.Is(err, http.ErrAbortHandler) {
					panic(rec)
				}
				g.deps.Logger.ErrorContext(c.Request.Context(), "panic in gateway", "panic", fmt.Sprint(rec), "stack", string(debug.Stack()))
				g.problem(c, errs.ProblemFor(errs.E(errs.Internal, "internal", "")))
			}
		}()
		c.Next()
	}
}

// validRequestID says whether a client's X-Request-Id can be taken as the correlation id of
// everything the request causes downstream (observe.go); otherwise one is generated.
func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.:", r)) {
			return false
		}
	}
	return true
}

// securityHeaders are set on every response. The value slices are built once and shared by
// every response: Header.Set replaces a slice and Header.Add appends to a full one (a copy), so
// none is ever written to.
func (g *Gateway) securityHeaders() gin.HandlerFunc {
	headers := []struct {
		name  string // canonical
		value []string
	}{
		{"X-Content-Type-Options", []string{"nosniff"}},
		{"X-Frame-Options", []string{"DENY"}},
		{"Referrer-Policy", []string{"no-referrer"}},
		{"Content-Security-Policy", []string{"default-src 'none'; frame-ancestors 'none'"}},
		{"Cache-Control", []string{"no-store"}},
	}
	return func(c *gin.Context) {
		h := c.Writer.Header()
		for _, kv := range headers {
			h[kv.name] = kv.value
		}
		c.Next()
	}
}

// statusClasses are the status label values, built once instead of formatted per request.
var statusClasses = [...]string{"0xx", "1xx", "2xx", "3xx", "4xx", "5xx"}

func statusClass(s int) string {
	if c := s / 100; c >= 0 && c < len(statusClasses) {
		return statusClasses[c]
	}
	return strconv.Itoa(s/100) + "xx"
}

// timeout bounds downstream work; the deadline crosses every gRPC hop.
func (g *Gateway) timeout() gin.HandlerFunc {
	return func(c *gin.Context) {
		ctx, cancel := context.WithTimeout(c.Request.Context(), g.cfg.RequestTimeout)
		defer cancel()
		c.Request = c.Request.WithContext(ctx)
		c.Next()
	}
}

// bodyLimit refuses bodies over the limit with 413 and bodies that are not JSON with 415,
// before anything downstream runs.
func (g *Gateway) bodyLimit() gin.HandlerFunc {
	return func(c *gin.Context) {
		r := c.Request
		if r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == http.MethodDelete {
			c.Next()
			return
		}
		if r.ContentLength > g.cfg.BodyLimit {
			g.problem(c, tooLarge(g.cfg.BodyLimit))
			return
		}
		if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/json") {
			g.problem(c, errs.NewProblem(http.StatusUnsupportedMediaType, "unsupported_media_type", "Unsupported media type",
				"send the body as application/json"))
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, g.cfg.BodyLimit+1))
		if err != nil {
			g.problem(c, errs.NewProblem(http.StatusBadRequest, "body_unreadable", "Invalid request", "the request body could not be read"))
			return
		}
		if int64(len(body)) > g.cfg.BodyLimit {
			g.problem(c, tooLarge(g.cfg.BodyLimit))
			return
		}
		if containsCardData(body) {
			g.problem(c, errs.NewProblem(http.StatusBadRequest, "card_data_not_accepted", "Invalid request",
				"card numbers and security codes are never accepted; refunds go back to the original payment method"))
			return
		}
		r.Body = newHeldBody(body)
		c.Next()
	}
}

func tooLarge(limit int64) errs.Problem {
	return errs.NewProblem(http.StatusRequestEntityTooLarge, "body_too_large", "Request body too large",
		fmt.Sprintf("the request body exceeds %d bytes", limit))
}

// authenticate verifies the bearer token and requires audience; the principal travels in the
// request context to the gRPC client, which forwards it as metadata. The raw token goes no further.
func (g *Gateway) authenticate(want auth.Audience) gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.GetHeader("Authorization")
		scheme, token, ok := strings.Cut(h, " ")
		var p auth.Principal
		var err error
		if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
			err = errs.E(errs.Unauthenticated, "missing_token", "send a bearer token in the Authorization header")
		} else if p, err = g.deps.Verifier.Verify(strings.TrimSpace(token)); err == nil && p.Audience != want {
			err = errs.E(errs.PermissionDenied, "wrong_audience", "this token is not valid for "+string(want)+" routes")
		}
		if err != nil {
			if e := errs.As(err); e != nil && e.Err != nil {
				g.deps.Logger.InfoContext(c.Request.Context(), "token rejected", "cause", e.Err.Error())
			}
			if errs.KindOf(err) == errs.Unauthenticated {
				c.Header("WWW-Authenticate", `Bearer realm="retailbridge", error="invalid_token"`)
			}
			g.problem(c, errs.ProblemFor(err))
			return
		}
		if field, ok := metadataSafe(p); !ok {
			// gRPC metadata values are printable ASCII; a signed token whose subject (or tenant,
			// or scope) holds anything else names nobody this API knows, so it is refused like
			// any other token it cannot accept, instead of failing in the gRPC transport.
			g.deps.Logger.InfoContext(c.Request.Context(), "token rejected", "cause", "claim "+field+" is not printable ASCII")
			c.Header("WWW-Authenticate", `Bearer realm="retailbridge", error="invalid_token"`)
			g.problem(c, errs.ProblemFor(errs.E(errs.Unauthenticated, "invalid_token",
				"the token's "+field+" claim must be printable ASCII")))
			return
		}
		c.Request.Header.Del("Authorization")
		c.Request = c.Request.WithContext(auth.WithPrincipal(c.Request.Context(), p))
		c.Next()
	}
}

// metadataSafe reports whether every claim that travels to the process services as gRPC
// metadata is printable ASCII (what HTTP/2 header values, and so gRPC metadata, may carry), and
// otherwise which claim is not.
func metadataSafe(p auth.Principal) (string, bool) {
	if !printableASCII(p.Subject) {
		return "sub", false
	}
	if !printableASCII(p.Tenant) {
		return "tenant", false
	}
	for _, s := range p.Scopes {
		if !printableASCII(s) {
			return "scope", false
		}
	}
	return "", true
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// wellFormedURL refuses, with a 400 naming the parameter, a path or query that is not valid
// UTF-8 or not a well-formed query string. Protobuf strings must be UTF-8, so such a value would
// otherwise fail inside the gRPC client as an internal error.
func (g *Gateway) wellFormedURL() gin.HandlerFunc {
	return func(c *gin.Context) {
		if v, ok := g.urlViolation(c.Request); !ok {
			g.problem(c, errs.ProblemFor(errs.E(errs.Invalid, reasonInvalidRequest, "the request has invalid fields").WithFields(v)))
			return
		}
		c.Next()
	}
}

func (g *Gateway) urlViolation(r *http.Request) (errs.FieldViolation, bool) {
	if !utf8.ValidString(r.URL.Path) {
		field := "path"
		if _, params, err := g.contract.router.FindRoute(r); err == nil {
			for name, v := range params {
				if !utf8.ValidString(v) {
					field = name
				}
			}
		}
		return errs.FieldViolation{Field: field, Description: "must be valid UTF-8"}, false
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return errs.FieldViolation{Field: "query", Description: "is not a well-formed query string"}, false
	}
	for _, name := range sortedQueryKeys(q) {
		if !utf8.ValidString(name) {
			return errs.FieldViolation{Field: "query", Description: "parameter names must be valid UTF-8"}, false
		}
		for _, v := range q[name] {
			if !utf8.ValidString(v) {
				return errs.FieldViolation{Field: plainField(name), Description: "must be valid UTF-8"}, false
			}
		}
	}
	return errs.FieldViolation{}, true
}
