package events

import (
	"context"
	"errors"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
)

// Watch calls fn for every new event on subjects of a domain's stream until ctx ends. It reads
// with an ephemeral ordered consumer of its own, so every replica sees every event — the right
// shape for keeping a replica's in-memory read model fresh, and the wrong one for work that must
// happen once (use a Consumer with an inbox for that). Events that do not decode are skipped.
func Watch(ctx context.Context, js jetstream.JetStream, domain string, subjects []string, fn func(*canonicalv1.Event)) error {
	// The watcher may start before anything was published: create the stream if it is missing
	// (never reconfigure an existing one).
	if _, err := js.Stream(ctx, StreamName(domain)); errors.Is(err, jetstream.ErrStreamNotFound) {
		if _, err := EnsureStream(ctx, js, domain, StreamOptions{}); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	cons, err := js.OrderedConsumer(ctx, StreamName(domain), jetstream.OrderedConsumerConfig{
		FilterSubjects: subjects,
		DeliverPolicy:  jetstream.DeliverNewPolicy,
	})
	if err != nil {
		return err
	}
	cc, err := cons.Consume(func(m jetstream.Msg) {
		if ev, err := Decode(m.Data()); err == nil {
			fn(ev)
		}
	})
	if err != nil {
		return err
	}
	<-ctx.Done()
	cc.Stop()
	return nil
}

// WatchOrders calls changed with the id of every order the commerce platform reports changed
// (order updates and refunds) until ctx ends: the one place read models learn of order changes.
func WatchOrders(ctx context.Context, js jetstream.JetStream, changed func(orderID string)) error {
	return Watch(ctx, js, "commerce", []string{SubjectPrefix + "commerce.order.>", SubjectPrefix + "commerce.refund.>"},
		func(ev *canonicalv1.Event) {
			if id := OrderID(ev); id != "" {
				changed(id)
			}
		})
}

// OrderID finds the order a commerce order or refund event is about: the canonical Order's id,
// the Refund's order id, or an "order/<id>" subject; "" otherwise.
func OrderID(ev *canonicalv1.Event) string {
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
