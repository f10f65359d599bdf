package governor

import (
	"context"
	"sync"
)

// Slots is a counting semaphore with the two lanes: a free slot goes to the oldest interactive
// waiter before any bulk one. A connector that caps its own concurrency (a vendor account's
// limit) takes its slots here rather than from a first-come semaphore, which would let a bulk
// backlog queued in front of it hold back customer-facing calls before they ever reach the
// governor's lanes. It is safe for concurrent use.
type Slots struct {
	mu      sync.Mutex
	size    int
	inUse   int
	maxUsed int
	waiting [2][]chan struct{} // per lane, FIFO
}

// NewSlots returns n slots (at least one).
func NewSlots(n int) *Slots { return &Slots{size: max(1, n)} }

// Acquire takes a slot in ctx's lane (PriorityOf), waiting behind every waiter of its own lane
// and, for bulk work, of the interactive lane; it fails with ctx's error if ctx ends first.
func (s *Slots) Acquire(ctx context.Context) error {
	lane := PriorityOf(ctx)
	s.mu.Lock()
	if s.inUse < s.size && len(s.waiting[Interactive]) == 0 && (lane == Interactive || len(s.waiting[Bulk]) == 0) {
		s.takeLocked()
		s.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	s.waiting[lane] = append(s.waiting[lane], ch)
	s.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		defer s.mu.Unlock()
		for i, w := range s.waiting[lane] {
			if w == ch {
				s.waiting[lane] = append(s.waiting[lane][:i], s.waiting[lane][i+1:]...)
				return ctx.Err()
			}
		}
		// Granted just as ctx ended: give the slot back.
		s.inUse--
		s.wakeLocked()
		return ctx.Err()
	}
}

// Release gives a slot back to the next waiter.
func (s *Slots) Release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inUse--
	s.wakeLocked()
}

// Size is how many slots there are.
func (s *Slots) Size() int { return s.size }

// Free is how many slots a new caller would take without waiting: those neither held nor
// promised to a caller already waiting.
func (s *Slots) Free() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return max(0, s.size-s.inUse-len(s.waiting[Interactive])-len(s.waiting[Bulk]))
}

// MaxInUse is the most slots ever held at once.
func (s *Slots) MaxInUse() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxUsed
}

// queued is how many wait in lane (tests).
func (s *Slots) queued(lane Priority) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.waiting[lane])
}

func (s *Slots) takeLocked() {
	s.inUse++
	s.maxUsed = max(s.maxUsed, s.inUse)
}

// wakeLocked hands free slots to waiters, interactive lane first.
func (s *Slots) wakeLocked() {
	for s.inUse < s.size {
		var ch chan struct{}
		switch {
		case len(s.waiting[Interactive]) > 0:
			ch, s.waiting[Interactive] = s.waiting[Interactive][0], s.waiting[Interactive][1:]
		case len(s.waiting[Bulk]) > 0:
			ch, s.waiting[Bulk] = s.waiting[Bulk][0], s.waiting[Bulk][1:]
		default:
			return
		}
		s.takeLocked()
		close(ch)
	}
}
