package testkit

import (
	"testing"
	"time"
)

// Eventually polls cond until it holds, failing the test with what once timeout has passed.
// Tests wait for the state they expect with it, never sleep for something to happen. The poll
// interval grows from 5 ms to 50 ms, so a quick condition is seen at once and a slow one costs
// little.
func Eventually(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	interval := 5 * time.Millisecond
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %v waiting until %s", timeout, what)
		}
		time.Sleep(interval)
		interval = min(2*interval, 50*time.Millisecond)
	}
}
