package errs

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// ProblemContentType is the RFC 9457 media type.
const ProblemContentType = "application/problem+json"

// ProblemTypePrefix prefixes every problem type; the reason completes it, so each reason has
// one stable type URI.
const ProblemTypePrefix = "urn:retailbridge:problem:"

// Problem is an RFC 9457 problem details document with Retailbridge's extension members.
type Problem struct {
	Type      string           `json:"type"`
	Title     string           `json:"title"`
	Status    int              `json:"status"`
	Detail    string           `json:"detail,omitempty"`
	Instance  string           `json:"instance,omitempty"`
	Reason    string           `json:"reason"`
	RequestID string           `json:"request_id,omitempty"`
	Retryable bool             `json:"retryable"`
	Errors    []FieldViolation `json:"errors,omitempty"`

	retryAfter int
}

var kindHTTP = [...]int{
	Internal: http.StatusInternalServerError, Invalid: http.StatusBadRequest,
	NotFound: http.StatusNotFound, AlreadyExists: http.StatusConflict, Conflict: http.StatusConflict,
	FailedPrecondition: http.StatusUnprocessableEntity, Unauthenticated: http.StatusUnauthorized,
	PermissionDenied: http.StatusForbidden, ResourceExhausted: http.StatusTooManyRequests,
	Unavailable: http.StatusServiceUnavailable, DeadlineExceeded: http.StatusGatewayTimeout,
	Canceled: 499, Unimplemented: http.StatusNotImplemented,
}

var kindTitles = [...]string{
	Internal: "Internal error", Invalid: "Invalid request", NotFound: "Not found",
	AlreadyExists: "Already exists", Conflict: "Conflict", FailedPrecondition: "Not allowed in this state",
	Unauthenticated: "Authentication required", PermissionDenied: "Forbidden",
	ResourceExhausted: "Too many requests", Unavailable: "Service unavailable",
	DeadlineExceeded: "Upstream timeout", Canceled: "Request canceled", Unimplemented: "Not implemented",
}

// HTTPStatus is the HTTP status for kind.
func (k Kind) HTTPStatus() int {
	if int(k) < len(kindHTTP) {
		return kindHTTP[k]
	}
	return http.StatusInternalServerError
}

// ProblemFor builds the problem document for err. Internal errors say nothing about their cause.
func ProblemFor(err error) Problem {
	e := FromError(err)
	p := Problem{
		Status:    e.Kind.HTTPStatus(),
		Title:     kindTitles[min(int(e.Kind), len(kindTitles)-1)],
		Detail:    e.Message,
		Reason:    e.Reason,
		Retryable: e.Retryable,
		Errors:    e.Fields,
	}
	if e.Kind == Internal {
		p.Detail, p.Reason, p.Errors = "", "internal", nil
	}
	if p.Reason == "" {
		p.Reason = e.Kind.String()
	}
	p.Type = ProblemTypePrefix + p.Reason
	if e.RetryAfter > 0 {
		p.retryAfter = retryAfterSeconds(e.RetryAfter)
	} else if e.Kind == Unavailable {
		p.retryAfter = 1
	}
	return p
}

// NewProblem builds a problem the gateway raises itself, such as 413 or 405.
func NewProblem(status int, reason, title, detail string) Problem {
	return Problem{Type: ProblemTypePrefix + reason, Title: title, Status: status, Detail: detail, Reason: reason}
}

// RetryAfter is the Retry-After header value in seconds, 0 when none.
func (p Problem) RetryAfter() int { return p.retryAfter }

// WithRetryAfter sets the Retry-After seconds; a problem that says when to retry is retryable.
func (p Problem) WithRetryAfter(seconds int) Problem {
	p.retryAfter = seconds
	if seconds > 0 {
		p.Retryable = true
	}
	return p
}

// For completes p with the request it answers: the correlation id the request carries and the
// request path as the occurrence's instance, so every problem can be traced, whoever writes it.
func (p Problem) For(requestID, path string) Problem {
	if p.RequestID == "" {
		p.RequestID = requestID
	}
	if p.Instance == "" {
		p.Instance = path
	}
	return p
}

// Write sends p as application/problem+json.
func (p Problem) Write(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", ProblemContentType)
	h.Set("Cache-Control", "no-store")
	if p.retryAfter > 0 {
		// An answer that says when to come back invites a retry: it cannot also say the
		// request is not worth repeating.
		h.Set("Retry-After", strconv.Itoa(p.retryAfter))
		p.Retryable = true
	}
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}
