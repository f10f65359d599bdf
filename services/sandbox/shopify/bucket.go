package shopify

import (
	"math"
	"sync"
	"time"
)

// throttleStatus is Shopify's extensions.cost.throttleStatus.
type throttleStatus struct {
	MaximumAvailable   float64 `json:"maximumAvailable"`
	CurrentlyAvailable float64 `json:"currentlyAvailable"`
	RestoreRate        float64 `json:"restoreRate"`
}

// bucket is Shopify's leaky bucket: it holds up to size points and restores rate points per
// second. A query takes its requested cost up front and gets back what it did not use.
type bucket struct {
	mu    sync.Mutex
	now   func() time.Time
	size  float64
	rate  float64
	avail float64
	at    time.Time
}

func newBucket(size, rate float64, now func() time.Time) *bucket {
	return &bucket{now: now, size: size, rate: rate, avail: size, at: now()}
}

// refill brings avail up to date; the caller holds mu.
func (b *bucket) refill() {
	now := b.now()
	if dt := now.Sub(b.at).Seconds(); dt > 0 {
		b.avail = math.Min(b.size, b.avail+dt*b.rate)
	}
	b.at = now
}

func (b *bucket) statusLocked() throttleStatus {
	return throttleStatus{MaximumAvailable: b.size, CurrentlyAvailable: math.Floor(b.avail), RestoreRate: b.rate}
}

// take removes cost points if the bucket holds them.
func (b *bucket) take(cost float64) (throttleStatus, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill()
	if cost > b.avail {
		return b.statusLocked(), false
	}
	b.avail -= cost
	return b.statusLocked(), true
}

// give returns unused points.
func (b *bucket) give(points float64) throttleStatus {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill()
	b.avail = math.Min(b.size, b.avail+points)
	return b.statusLocked()
}

func (b *bucket) status() throttleStatus {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill()
	return b.statusLocked()
}

// reset changes the plan and fills the bucket.
func (b *bucket) reset(size, rate float64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.size, b.rate, b.avail, b.at = size, rate, size, b.now()
}
