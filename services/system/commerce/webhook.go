package commerce

import (
	"context"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/propagation"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/events"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	commercev1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/commerce/v1"
	"github.com/retailbridge/retailbridge/pkg/telemetry"
	"github.com/retailbridge/retailbridge/services/system/commerce/internal/webhook"
)

// EventSource is the producer named in the events this service publishes.
const EventSource = "retailbridge/system/commerce"

// EventDomain is the domain of this service's events: subjects "retailbridge.commerce.…", stream
// events.StreamName(EventDomain).
const EventDomain = "commerce"

// MaxWebhookBytes bounds a delivery's body; Shopify's order payloads are far smaller.
const MaxWebhookBytes = 2 << 20

// eventNamespace scopes the event ids derived from vendor delivery ids (RFC 4122 version 5).
var eventNamespace = uuid.MustParse("13938006-a52d-4980-baf9-4029fc019686")

// EventID is the id of the event of type that the vendor's delivery reports: the same for every
// retry or duplicate of the delivery, so JetStream (Nats-Msg-Id) and consumers' inboxes drop the
// copies.
func EventID(vendor, deliveryID, eventType string) string {
	return uuid.NewSHA1(eventNamespace, []byte(vendor+"\x00"+deliveryID+"\x00"+eventType)).String()
}

// IngestWebhook verifies a delivery on its raw body, normalises it into canonical events and
// publishes them with ids derived from the delivery id. Deliveries of topics Retailbridge does
// not use are acknowledged as ignored. The gateway calls it for every delivery, duplicates
// included: a delivery published within the vendor's retry horizon (events.DeliveryMemory) is
// answered with its event ids without publishing again, and concurrent copies publish events
// with the same ids, which the broker drops.
func (s *Service) IngestWebhook(ctx context.Context, req *commercev1.IngestWebhookRequest) (*commercev1.IngestWebhookResponse, error) {
	if len(req.GetBody()) > MaxWebhookBytes {
		return nil, errs.E(errs.Invalid, "webhook_too_large", "the webhook body is too large")
	}
	if s.hooks == nil {
		return nil, errs.E(errs.Unimplemented, "not_implemented", "the configured vendor sends no webhooks")
	}
	d, err := s.hooks.ReceiveWebhook(req.GetHeaders(), req.GetBody())
	if err != nil {
		if e := errs.As(err); e != nil {
			s.log.InfoContext(ctx, "webhook refused", "reason", e.Reason, "err", err)
		}
		return nil, classify(err)
	}
	resp := &commercev1.IngestWebhookResponse{DeliveryId: d.ID}
	if len(d.Facts) == 0 {
		resp.Ignored = true
		return resp, nil
	}
	if s.js == nil {
		return nil, errs.E(errs.Unavailable, "events_unavailable", "events cannot be published: no event bus is configured")
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	evs := make([]*canonicalv1.Event, 0, len(d.Facts))
	for _, f := range d.Facts {
		ev, err := s.envelope(ctx, d, f)
		if err != nil {
			return nil, err
		}
		evs = append(evs, ev)
		resp.EventIds = append(resp.EventIds, ev.GetId())
	}
	// A delivery published within the vendor's retry horizon is answered, not published again
	// (JetStream's own duplicate window lasts minutes; the vendor retries for days).
	seen, err := s.seen.Seen(ctx, s.cfg.Vendor, d.ID)
	if err != nil {
		s.log.WarnContext(ctx, "webhook dedup unavailable", "delivery", d.ID, "err", err)
		return nil, errs.Wrap(err, errs.Unavailable, "webhook_dedup_unavailable", "the webhook could not be checked for duplicates")
	}
	if seen {
		return resp, nil
	}
	for _, ev := range evs {
		if err := s.publish(ctx, ev); err != nil {
			return nil, err
		}
	}
	// Remembered only once published: the vendor's retry after a failure must publish again.
	if err := s.seen.Remember(ctx, s.cfg.Vendor, d.ID); err != nil {
		s.log.WarnContext(ctx, "webhook published but not remembered", "delivery", d.ID, "err", err)
		return nil, errs.Wrap(err, errs.Unavailable, "webhook_dedup_unavailable", "the webhook could not be recorded")
	}
	return resp, nil
}

// envelope wraps a fact in the event envelope.
func (s *Service) envelope(ctx context.Context, d *webhook.Delivery, f webhook.Fact) (*canonicalv1.Event, error) {
	data, err := anypb.New(f.Data)
	if err != nil {
		return nil, errs.Wrap(err, errs.Internal, "encode_failed", "")
	}
	corr := telemetry.CorrelationID(ctx)
	if corr == "" {
		corr = s.cfg.Vendor + "-webhook-" + d.ID
	}
	carrier := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, carrier)
	return &canonicalv1.Event{
		Id:            EventID(s.cfg.Vendor, d.ID, f.Type),
		Source:        EventSource,
		Type:          f.Type,
		Time:          timestamppb.New(f.Time),
		Subject:       f.Subject,
		CorrelationId: corr,
		Traceparent:   carrier[events.HeaderTraceparent],
		Data:          data,
		SpecVersion:   1,
		References:    f.References,
	}, nil
}

// publish sends ev with Nats-Msg-Id = its id (events.Publish), creating the domain's stream with
// the defaults when none captures it yet (a fresh deployment).
func (s *Service) publish(ctx context.Context, ev *canonicalv1.Event) error {
	res, err := events.Publish(ctx, s.js, ev)
	if err != nil {
		s.log.WarnContext(ctx, "publishing a webhook event failed", "event", ev.GetId(), "type", ev.GetType(), "err", err)
		return err
	}
	if res.Duplicates > 0 {
		s.log.DebugContext(ctx, "webhook event already published", "event", ev.GetId(), "type", ev.GetType())
	}
	return nil
}
