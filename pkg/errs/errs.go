// Package errs is Retailbridge's one error vocabulary: a small set of kinds mirroring gRPC codes,
// a stable machine-readable reason, and a retryable bit. Errors cross gRPC as status with
// ErrorInfo and leave the gateway as RFC 9457 problem documents; internal detail never leaves.
package errs

import (
	"errors"
	"fmt"
	"time"
)

// Kind classifies an error. The set mirrors gRPC codes so mapping is lossless.
type Kind uint8

// Kinds, in the order of their gRPC codes.
const (
	Internal           Kind = iota // a bug or an unexpected failure; details are logged, never returned
	Invalid                        // the request is malformed or violates a rule
	NotFound                       // the object does not exist, or the caller may not know it does
	AlreadyExists                  // a create collided with an existing object
	Conflict                       // concurrent modification or an in-flight duplicate
	FailedPrecondition             // the object is not in a state that allows the operation
	Unauthenticated                // no valid credentials
	PermissionDenied               // credentials valid, action not allowed
	ResourceExhausted              // a rate limit or quota was hit
	Unavailable                    // a dependency is down or in maintenance; try again later
	DeadlineExceeded               // the deadline passed before an answer came
	Canceled                       // the caller went away
	Unimplemented                  // the operation exists in the contract but not yet in this service
)

var kindNames = [...]string{"internal", "invalid", "not_found", "already_exists", "conflict",
	"failed_precondition", "unauthenticated", "permission_denied", "resource_exhausted",
	"unavailable", "deadline_exceeded", "canceled", "unimplemented"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// FieldViolation names one bad field of a request.
type FieldViolation struct {
	Field       string `json:"field"`
	Description string `json:"description"`
}

// Error is a classified error.
type Error struct {
	Kind Kind
	// Reason is a stable snake_case code clients may switch on, for example "order_not_found".
	Reason string
	// Message is safe to show to the caller.
	Message string
	// Retryable says whether repeating the same request may succeed.
	Retryable bool
	// RetryAfter, when set, is how long the caller should wait before retrying.
	RetryAfter time.Duration
	// Fields lists bad request fields for Invalid errors.
	Fields []FieldViolation
	// Err is the underlying cause; logged, never returned to callers.
	Err error
}

func (e *Error) Error() string {
	msg := e.Kind.String()
	if e.Reason != "" {
		msg += " (" + e.Reason + ")"
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// E builds an error of kind with a reason and a caller-safe message.
// Unavailable, DeadlineExceeded, ResourceExhausted and Conflict are retryable by default.
func E(kind Kind, reason, message string) *Error {
	return &Error{Kind: kind, Reason: reason, Message: message, Retryable: retryableByDefault(kind)}
}

// Wrap classifies cause; cause stays internal.
func Wrap(cause error, kind Kind, reason, message string) *Error {
	e := E(kind, reason, message)
	e.Err = cause
	return e
}

// WithRetryAfter sets a retry hint and returns e.
func (e *Error) WithRetryAfter(d time.Duration) *Error {
	e.RetryAfter = d
	return e
}

// WithFields adds field violations and returns e.
func (e *Error) WithFields(f ...FieldViolation) *Error {
	e.Fields = append(e.Fields, f...)
	return e
}

func retryableByDefault(k Kind) bool {
	switch k {
	case Unavailable, DeadlineExceeded, ResourceExhausted, Conflict:
		return true
	}
	return false
}

// As returns err's *Error, or nil.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// KindOf returns err's kind: Canceled and DeadlineExceeded for context errors, Unavailable for
// an unreachable engine (EngineUnavailable), Internal for anything else unclassified.
func KindOf(err error) Kind {
	if asUnavailable(err) != nil {
		return Unavailable
	}
	if e := As(err); e != nil {
		return e.Kind
	}
	switch {
	case errors.Is(err, errDeadline):
		return DeadlineExceeded
	case errors.Is(err, errCanceled):
		return Canceled
	}
	return Internal
}

// IsRetryable reports whether repeating the operation may succeed.
func IsRetryable(err error) bool {
	if asUnavailable(err) != nil {
		return true
	}
	if e := As(err); e != nil {
		return e.Retryable
	}
	return retryableByDefault(KindOf(err))
}
