package vendorhttp

import (
	"context"
	"errors"
	"net"

	"github.com/retailbridge/retailbridge/pkg/errs"
)

// NoAnswer classifies a failure in which no vendor answer came: the caller's deadline or a
// transport timeout (vendor_timeout), the caller's cancellation, and anything else — refused
// or reset connections, TLS, DNS, an answer lost part way — as the vendor being unavailable.
// vendor names the vendor in the caller-safe message, as "the ERP". What a vendor's answers
// mean stays in each connector's own classification, which calls this for what is left.
func NoAnswer(err error, vendor string) *errs.Error {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return errs.Wrap(err, errs.DeadlineExceeded, "vendor_timeout", vendor+" did not answer in time")
	case errors.Is(err, context.Canceled):
		return errs.Wrap(err, errs.Canceled, "canceled", "the request was canceled")
	default:
		return errs.Wrap(err, errs.Unavailable, "vendor_unavailable", vendor+" is unavailable")
	}
}
