package vendorhttp

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// ProbeWait is the retry hint a Window gives callers turned away while a probe is out and their
// context would not let them wait for its answer.
const ProbeWait = 500 * time.Millisecond

// Window is what a connector knows about a maintenance window its vendor announced (503 with
// Retry-After). While it lasts no request is sent: callers fail fast with the time left, so
// callers that retry on their own cannot turn the window into a request storm. When it should
// have ended, one request goes out as a probe; the others wait for its answer (or give up with
// ProbeWait when their deadline is near). A probe answered normally ends the window; one
// answered 503 again starts the next. The zero value is not usable: set Now.
type Window struct {
	Now func() time.Time
	// Log receives the window's start and end; discarded when nil.
	Log *slog.Logger

	mu      sync.Mutex
	until   time.Time     // end of the announced window; zero when none is known
	probing chan struct{} // non-nil while a probe is out; closed when it is answered
}

// Left is how long the announced window still lasts; zero when none is on.
func (w *Window) Left() time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.until.IsZero() {
		return 0
	}
	return max(w.until.Sub(w.Now()), 0)
}

// Admit says whether a request may be sent, and whether it is the probe; wait > 0 says it may
// not, and the caller should say so with that retry hint. It waits, within ctx, for a probe
// that is out.
func (w *Window) Admit(ctx context.Context) (probe bool, wait time.Duration, err error) {
	for {
		w.mu.Lock()
		if w.until.IsZero() {
			w.mu.Unlock()
			return false, 0, nil
		}
		if left := w.until.Sub(w.Now()); left > 0 {
			w.mu.Unlock()
			return false, left, nil
		}
		if w.probing == nil {
			w.probing = make(chan struct{})
			w.mu.Unlock()
			return true, 0, nil
		}
		ch := w.probing
		w.mu.Unlock()
		if !Fits(ctx, ProbeWait) {
			return false, ProbeWait, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return false, 0, ctx.Err()
		}
	}
}

// Settle records how an admitted request went: maintenance is the Retry-After of a 503 in an
// announced window (zero otherwise), serving says the vendor answered as a working service does.
func (w *Window) Settle(ctx context.Context, probe bool, maintenance time.Duration, serving bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	log := w.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if maintenance > 0 {
		if until := w.Now().Add(maintenance); until.After(w.until) {
			if w.until.IsZero() || !w.until.After(w.Now()) {
				log.WarnContext(ctx, "vendor maintenance window; pausing calls", "retry_after", maintenance)
			}
			w.until = until
		}
	} else if probe && serving {
		log.InfoContext(ctx, "vendor maintenance window over; resuming calls")
		w.until = time.Time{}
	}
	if probe {
		close(w.probing)
		w.probing = nil
	}
}
