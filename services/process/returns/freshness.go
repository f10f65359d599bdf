package returns

import (
	"context"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/retailbridge/retailbridge/pkg/events"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
)

// keepOrdersFresh drops cached orders when the commerce platform says they changed (order and
// refund webhooks, normalised by the commerce system API). Every replica keeps its own read
// model, so each one reads the stream with its own ephemeral ordered consumer, starting from
// new events; a missed event costs at most OrderTTL of staleness, and return creation always
// re-reads the order.
func (s *Service) keepOrdersFresh(ctx context.Context) error {
	cons, err := s.js.OrderedConsumer(ctx, events.StreamName("commerce"), jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{"retailbridge.commerce.order.>", "retailbridge.commerce.refund.>"},
		DeliverPolicy:  jetstream.DeliverNewPolicy,
	})
	if err != nil {
		return err
	}
	cc, err := cons.Consume(func(m jetstream.Msg) {
		ev, err := events.Decode(m.Data())
		if err != nil {
			return
		}
		if id := orderOf(ev); id != "" {
			s.orders.Invalidate(id)
			s.log.DebugContext(ctx, "order changed; read model entry dropped", "order_id", id, "event", ev.GetType())
		}
	})
	if err != nil {
		return err
	}
	<-ctx.Done()
	cc.Stop()
	return nil
}

// orderOf finds the order an order or refund event is about.
func orderOf(ev *canonicalv1.Event) string {
	if msg, err := ev.GetData().UnmarshalNew(); err == nil {
		switch m := msg.(type) {
		case *canonicalv1.Order:
			return m.GetId()
		case *canonicalv1.Refund:
			return m.GetOrderId()
		}
	}
	if id, ok := strings.CutPrefix(ev.GetSubject(), "order/"); ok {
		return id
	}
	return ""
}
