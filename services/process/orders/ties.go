package orders

import "context"

// tieQueue bounds the orders waiting for a tie read; past it a read is dropped (counted) and the
// repair poll, which reads the platform's state, settles the order within its bound.
const tieQueue = 1024

// rereadTied queues a read of the platform for an order whose webhook tied with the version the
// store holds (same updated_at, other content: see applied.tied). Until that read the store may
// hold the earlier of two changes made within one second, such as a return closed and then
// refunded, and every reader (eligibility, the storefront) would see it until the repair poll.
// An order already queued is not queued twice.
func (s *Service) rereadTied(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tiesDue[id] {
		return
	}
	select {
	case s.ties <- id:
		s.tiesDue[id] = true
	default:
		s.metrics.ties.WithLabelValues("dropped").Inc()
	}
}

// readTies reads the queued orders from the platform, one at a time, until ctx ends.
func (s *Service) readTies(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case id := <-s.ties:
			// Unmark first: a tie found while this read runs may be newer than what it reads.
			s.mu.Lock()
			delete(s.tiesDue, id)
			s.mu.Unlock()
			s.readTie(ctx, id)
		}
	}
}

// readTie stores the platform's version of id: at the tied updated_at a read replaces what a
// webhook left (upsert), so the store holds the platform's state.
func (s *Service) readTie(ctx context.Context, id string) {
	_, changed, err := s.storeRead(ctx, id, "tie")
	if err != nil {
		s.metrics.ties.WithLabelValues("error").Inc()
		if ctx.Err() == nil {
			s.log.Warn("order store: tie read failed; the repair poll settles the order", "order_id", id, "error", err)
		}
		return
	}
	s.metrics.ties.WithLabelValues(appliedLabel(changed)).Inc()
	if changed {
		s.orders.Invalidate(id)
	}
}
