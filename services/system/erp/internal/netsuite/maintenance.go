package netsuite

import (
	"context"
	"net/http"
	"time"

	"github.com/retailbridge/retailbridge/pkg/vendorhttp"
)

// window is what the connector knows about a maintenance window NetSuite announced (503 with
// Retry-After): vendorhttp.Window, the mechanism every connector shares (fail fast while it
// lasts, then one probe), with NetSuite's error classification.
type window struct {
	vendorhttp.Window
}

// closed returns the maintenance error while an announced window lasts, without sending anything.
func (w *window) closed() error {
	if left := w.Left(); left > 0 {
		return maintenanceErr(left)
	}
	return nil
}

// admit says whether a request may be sent, and whether it is the probe.
func (w *window) admit(ctx context.Context) (probe bool, err error) {
	probe, wait, err := w.Admit(ctx)
	if err != nil {
		return false, err
	}
	if wait > 0 {
		return false, maintenanceErr(wait)
	}
	return probe, nil
}

// settle records how an admitted request went.
func (w *window) settle(ctx context.Context, probe bool, maintenance time.Duration, serving bool) {
	w.Settle(ctx, probe, maintenance, serving)
}

// maintenanceErr is the error callers get while a window lasts.
func maintenanceErr(left time.Duration) error {
	return toErr(&vendorError{status: http.StatusServiceUnavailable, retryAfter: left,
		detail: "maintenance window announced earlier"})
}
