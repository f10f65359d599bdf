package vendorhttp

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff is capped exponential backoff with full jitter, for resending a request a vendor
// refused for now (a rate or concurrency limit, a lost answer).
type Backoff struct {
	// First is the base wait; Cap bounds every wait.
	First, Cap time.Duration
	// Attempts bounds the tries, the first included, where the connector bounds them by count
	// and not only by the caller's deadline; zero leaves the count to the caller.
	Attempts int
}

// Delay is the wait after the attempt-th refusal: uniform in [First/2, min(Cap, First·2^attempt)),
// so requests refused together do not come back together. A doubling past Cap (or past what a
// Duration holds) is Cap.
func (b Backoff) Delay(attempt int) time.Duration {
	ceil := b.Cap
	if attempt >= 0 && attempt < 62 && b.First <= b.Cap>>attempt {
		ceil = b.First << attempt
	}
	floor := b.First / 2
	return floor + rand.N(max(ceil-floor, 1))
}

// Fits reports whether a wait of d ends before ctx's deadline: a wait that outlasts it only
// turns the vendor's refusal into a timeout.
func Fits(ctx context.Context, d time.Duration) bool {
	deadline, ok := ctx.Deadline()
	return !ok || time.Until(deadline) >= d
}

// Sleep waits d, or until ctx ends, when it returns ctx's error.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
