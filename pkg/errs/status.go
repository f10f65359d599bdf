package errs

import (
	"context"
	"errors"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Domain is the ErrorInfo domain of every Retailbridge error.
const Domain = "retailbridge"

var kindCodes = [...]codes.Code{
	Internal: codes.Internal, Invalid: codes.InvalidArgument, NotFound: codes.NotFound,
	AlreadyExists: codes.AlreadyExists, Conflict: codes.Aborted,
	FailedPrecondition: codes.FailedPrecondition, Unauthenticated: codes.Unauthenticated,
	PermissionDenied: codes.PermissionDenied, ResourceExhausted: codes.ResourceExhausted,
	Unavailable: codes.Unavailable, DeadlineExceeded: codes.DeadlineExceeded,
	Canceled: codes.Canceled, Unimplemented: codes.Unimplemented,
}

// Code is the gRPC code of kind.
func (k Kind) Code() codes.Code {
	if int(k) < len(kindCodes) {
		return kindCodes[k]
	}
	return codes.Internal
}

// KindFromCode is the kind of a gRPC code.
func KindFromCode(c codes.Code) Kind {
	for k, kc := range kindCodes {
		if kc == c {
			return Kind(k)
		}
	}
	switch c {
	case codes.OutOfRange:
		return Invalid
	case codes.Unknown, codes.DataLoss:
		return Internal
	}
	return Internal
}

// ToStatus converts err into a gRPC status carrying ErrorInfo{Reason}, field violations and a
// retry hint. Internal errors lose their message: detail is logged, never sent.
func ToStatus(err error) *status.Status {
	if err == nil {
		return status.New(codes.OK, "")
	}
	if st, ok := status.FromError(err); ok && As(err) == nil {
		return st // already a status (for example passed through from a downstream call)
	}
	if u := asUnavailable(err); u != nil {
		err = u
	}
	e := As(err)
	if e == nil {
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			e = E(DeadlineExceeded, "deadline_exceeded", "the request deadline passed")
		case errors.Is(err, context.Canceled):
			e = E(Canceled, "canceled", "the request was canceled")
		default:
			e = E(Internal, "internal", "")
		}
	}
	msg := e.Message
	if e.Kind == Internal && msg == "" {
		msg = "internal error"
	}
	st := status.New(e.Kind.Code(), msg)
	reason := e.Reason
	if reason == "" {
		reason = e.Kind.String()
	}
	details := []protoMessage{&errdetails.ErrorInfo{Reason: reason, Domain: Domain,
		Metadata: map[string]string{"retryable": boolString(e.Retryable)}}}
	if len(e.Fields) > 0 {
		br := &errdetails.BadRequest{}
		for _, f := range e.Fields {
			br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{Field: f.Field, Description: f.Description})
		}
		details = append(details, br)
	}
	if e.RetryAfter > 0 {
		details = append(details, &errdetails.RetryInfo{RetryDelay: durationpb.New(e.RetryAfter)})
	}
	if withDetails, derr := st.WithDetails(details...); derr == nil {
		st = withDetails
	}
	return st
}

// FromStatus rebuilds an *Error from a gRPC status, keeping reason, fields and retry hint.
func FromStatus(st *status.Status) *Error {
	e := &Error{Kind: KindFromCode(st.Code()), Message: st.Message()}
	e.Retryable = retryableByDefault(e.Kind)
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			e.Reason = d.GetReason()
			if r, ok := d.GetMetadata()["retryable"]; ok {
				e.Retryable = r == "true"
			}
		case *errdetails.BadRequest:
			for _, v := range d.GetFieldViolations() {
				e.Fields = append(e.Fields, FieldViolation{Field: v.GetField(), Description: v.GetDescription()})
			}
		case *errdetails.RetryInfo:
			e.RetryAfter = d.GetRetryDelay().AsDuration()
		}
	}
	if e.Reason == "" {
		e.Reason = e.Kind.String()
	}
	return e
}

// FromError classifies any error: an unreachable engine as Unavailable, an *Error as is, a gRPC
// status via FromStatus, context errors by kind, anything else as Internal.
func FromError(err error) *Error {
	if u := asUnavailable(err); u != nil {
		return u
	}
	if e := As(err); e != nil {
		return e
	}
	if st, ok := status.FromError(err); ok {
		return FromStatus(st)
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return Wrap(err, DeadlineExceeded, "deadline_exceeded", "the request deadline passed")
	case errors.Is(err, context.Canceled):
		return Wrap(err, Canceled, "canceled", "the request was canceled")
	}
	return Wrap(err, Internal, "internal", "")
}

type protoMessage = protoadapt.MessageV1

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// retryAfterSeconds rounds a retry hint up to whole seconds for Retry-After headers.
func retryAfterSeconds(d time.Duration) int {
	s := int((d + time.Second - 1) / time.Second)
	if s < 1 {
		s = 1
	}
	return s
}
