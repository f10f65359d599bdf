package netsuite

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/retailbridge/retailbridge/pkg/vendorhttp"
)

// probeWait is the retry hint given to callers turned away while a probe is out and their
// context would not let them wait for its answer.
const probeWait = 500 * time.Millisecond

// window is what the connector knows about a maintenance window NetSuite announced (503 with
// Retry-After). While it lasts no request is sent: callers fail fast with erp_maintenance and the
// time left, so callers that retry on their own cannot turn the window into a request storm.
// When it should have ended, one request goes out as a probe; the others wait for its answer
// (or give up with a retry hint when their deadline is near). A probe answered normally ends the
// window; one answered 503 again starts the next.
type window struct {
	now func() time.Time
	log *slog.Logger

	mu      sync.Mutex
	until   time.Time     // end of the announced window; zero when none is known
	probing chan struct{} // non-nil while a probe is out; closed when it is answered
}

// closed returns the maintenance error while an announced window lasts, without sending anything.
func (w *window) closed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if left := w.until.Sub(w.now()); !w.until.IsZero() && left > 0 {
		return maintenanceErr(left)
	}
	return nil
}

// admit says whether a request may be sent, and whether it is the probe. It waits for a probe
// that is out, within ctx.
func (w *window) admit(ctx context.Context) (probe bool, err error) {
	for {
		w.mu.Lock()
		if w.until.IsZero() {
			w.mu.Unlock()
			return false, nil
		}
		if left := w.until.Sub(w.now()); left > 0 {
			w.mu.Unlock()
			return false, maintenanceErr(left)
		}
		if w.probing == nil {
			w.probing = make(chan struct{})
			w.mu.Unlock()
			return true, nil
		}
		wait := w.probing
		w.mu.Unlock()
		if !vendorhttp.Fits(ctx, probeWait) {
			return false, maintenanceErr(probeWait)
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
}

// settle records how an admitted request went: maintenance is the Retry-After of a 503 in an
// announced window (zero otherwise), serving says NetSuite answered as a working account does.
func (w *window) settle(ctx context.Context, probe bool, maintenance time.Duration, serving bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if maintenance > 0 {
		if until := w.now().Add(maintenance); until.After(w.until) {
			if w.until.IsZero() || !w.until.After(w.now()) {
				w.log.WarnContext(ctx, "netsuite maintenance window; pausing calls", "retry_after", maintenance)
			}
			w.until = until
		}
	} else if probe && serving {
		w.log.InfoContext(ctx, "netsuite maintenance window over; resuming calls")
		w.until = time.Time{}
	}
	if probe {
		close(w.probing)
		w.probing = nil
	}
}

// maintenanceErr is the error callers get while a window lasts.
func maintenanceErr(left time.Duration) error {
	return toErr(&vendorError{status: http.StatusServiceUnavailable, retryAfter: left,
		detail: "maintenance window announced earlier"})
}
