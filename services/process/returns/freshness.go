package returns

import (
	"context"

	"github.com/retailbridge/retailbridge/pkg/events"
)

// keepOrdersFresh drops cached orders when the commerce platform says they changed (order and
// refund webhooks, normalised by the commerce system API). Every replica keeps its own read
// model and watches the stream itself; a missed event costs at most OrderTTL of staleness, and
// return creation always re-reads the order.
func (s *Service) keepOrdersFresh(ctx context.Context) error {
	return events.WatchOrders(ctx, s.js, s.orders.Invalidate)
}
