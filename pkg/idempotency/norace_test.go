//go:build !race

package idempotency

// raceEnabled reports whether the race detector is on; it slows HTTP round trips about threefold.
const raceEnabled = false
