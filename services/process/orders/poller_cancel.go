package orders

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/events"
	"github.com/retailbridge/retailbridge/pkg/vendorhttp"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
)

// A cancellation the repair poll finds (the orders/cancelled webhook never came) is a
// cancellation, not just an update: it is stored as one, and the commerce stream gets the
// orders/cancelled event the webhook would have published, so the order workflow compensates
// exactly as for the webhook. The event's id derives from the order and its cancellation time:
// polls that find it again publish the same id (JetStream drops the copy; consumers' inboxes
// absorb a late one). It is published before the version is stored, so a crash in between is
// repaired by the next poll, which reads the order again.

// pollVersion is the version a polled order is stored as; a cancellation the store did not hold
// is published first.
func (s *Service) pollVersion(ctx context.Context, o *canonicalv1.Order, res *PollResult) (version, error) {
	v := version{orderID: o.GetId(), order: o, kind: kindUpdated, via: viaPoll, updatedAt: o.GetUpdatedAt().AsTime(), eventID: "poll"}
	if o.GetCancelledAt() == nil {
		return s.pollCreated(ctx, o, v, res)
	}
	v.kind = kindCancelled
	held, ok, err := s.store.get(ctx, o.GetId())
	if err != nil {
		return v, err
	}
	if ok && held.cancelledAt != nil {
		return v, nil // the webhook (or an earlier poll) brought it
	}
	ev, err := pollCancelEvent(o)
	if err != nil {
		return v, err
	}
	if s.js == nil {
		return v, fmt.Errorf("orders: a cancellation found by the poll cannot be published without JetStream")
	}
	if _, err := events.Publish(ctx, s.js, ev); err != nil {
		return v, fmt.Errorf("orders: publishing the cancellation of %s found by the poll: %w", o.GetId(), err)
	}
	v.eventID = ev.GetId()
	s.log.InfoContext(ctx, "the repair poll found a cancellation no webhook brought", "order_id", o.GetId())
	return v, nil
}

// pollCancelEvent is the orders/cancelled event of a cancellation the poll found.
func pollCancelEvent(o *canonicalv1.Order) (*canonicalv1.Event, error) {
	data, err := anypb.New(o)
	if err != nil {
		return nil, err
	}
	at := o.GetCancelledAt().AsTime()
	return &canonicalv1.Event{Id: vendorhttp.EventID("orders-poll", "orders/cancelled", o.GetId(), at.UTC().Format(time.RFC3339Nano)),
		Source: "retailbridge/process/orders/poller", Type: events.TypeName(canonicalv1.EventType_EVENT_TYPE_COMMERCE_ORDER_CANCELLED),
		Time: timestamppb.New(at), Subject: "order/" + o.GetId(), Data: data, SpecVersion: 1,
		References: &canonicalv1.EventReferences{OrderId: o.GetId()}}, nil
}
