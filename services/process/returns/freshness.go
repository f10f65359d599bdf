package returns

import (
	"context"

	"github.com/retailbridge/retailbridge/pkg/events"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
)

// keepOrdersFresh drops cached orders when the commerce platform says they changed (order and
// refund webhooks, normalised by the commerce system API). Every replica keeps its own read
// model and watches the stream itself; a missed event costs at most OrderTTL of staleness, and
// return creation always re-reads the order.
func (s *Service) keepOrdersFresh(ctx context.Context) error {
	return events.Watch(ctx, s.js, "commerce", []string{"retailbridge.commerce.order.>", "retailbridge.commerce.refund.>"},
		func(ev *canonicalv1.Event) {
			if id := events.OrderID(ev); id != "" {
				s.orders.Invalidate(id)
			}
		})
}
