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

// A new order the repair poll finds (its orders/create webhook never came) is a new order, not
// just a version for the store: the commerce stream gets the orders/create event the webhook
// would have published, so the order workflow accepts it through the same consumer, under the
// same workflow id (the order id). Whoever comes second — the late webhook, a poll that finds
// it again, a replica's poll — finds the workflow and is absorbed: one workflow, one sales
// order. The event's id derives from the order and its creation time, so polls that find it
// again publish the same id (JetStream drops the copy). Only an order created since the
// listing's lower bound is new: an older order the store never held (one from before the store
// existed, say) is history, and starting its workflow would book and ship it again.

// pollCreated is the version of a polled order that is not cancelled; one no event brought
// (unknown to the store, or known only from reading the platform: a customer looked at it
// first), created since the poll's lower bound, is published as orders/create first.
func (s *Service) pollCreated(ctx context.Context, o *canonicalv1.Order, v version, res *PollResult) (version, error) {
	created := o.GetCreatedAt().AsTime()
	if res.since.IsZero() || o.GetCreatedAt() == nil || created.Before(res.since) {
		return v, nil
	}
	fed, err := s.store.fedByEvent(ctx, o.GetId())
	if err != nil || fed {
		return v, err // the webhook (or an earlier poll) brought it: its workflow started from it
	}
	ev, err := pollCreateEvent(o)
	if err != nil {
		return v, err
	}
	if s.js == nil {
		return v, fmt.Errorf("orders: a new order found by the poll cannot be published without JetStream")
	}
	if _, err := events.Publish(ctx, s.js, ev); err != nil {
		return v, fmt.Errorf("orders: publishing the creation of %s found by the poll: %w", o.GetId(), err)
	}
	// Recorded after the publish: a crash in between publishes the same id again (absorbed).
	if err := s.store.pollCreated(ctx, o.GetId(), ev.GetId()); err != nil {
		return v, err
	}
	v.kind, v.eventID = kindCreated, ev.GetId()
	res.Started++
	s.log.InfoContext(ctx, "the repair poll found a new order no webhook brought; its workflow starts from the poll", "order_id", o.GetId())
	return v, nil
}

// startUnfed publishes orders/create for an order the poll only confirms (the store holds its
// version, read from the platform) when no event ever brought it.
func (s *Service) startUnfed(ctx context.Context, id string, res *PollResult) error {
	if res.since.IsZero() {
		return nil
	}
	so, ok, err := s.store.get(ctx, id)
	if err != nil || !ok || so.cancelledAt != nil {
		return err
	}
	_, err = s.pollCreated(ctx, so.order, version{}, res)
	return err
}

// pollCreateEvent is the orders/create event of a new order the poll found.
func pollCreateEvent(o *canonicalv1.Order) (*canonicalv1.Event, error) {
	data, err := anypb.New(o)
	if err != nil {
		return nil, err
	}
	at := o.GetCreatedAt().AsTime()
	return &canonicalv1.Event{Id: vendorhttp.EventID("orders-poll", "orders/create", o.GetId(), at.UTC().Format(time.RFC3339Nano)),
		Source: "retailbridge/process/orders/poller", Type: events.TypeName(canonicalv1.EventType_EVENT_TYPE_COMMERCE_ORDER_CREATED),
		Time: timestamppb.New(at), Subject: "order/" + o.GetId(), Data: data, SpecVersion: 1,
		References: &canonicalv1.EventReferences{OrderId: o.GetId(), SystemRecordId: o.GetId()}}, nil
}
