package commerce

import (
	"context"
	"github.com/retailbridge/retailbridge/pkg/intake"
	"github.com/retailbridge/retailbridge/pkg/vendors"

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

// MaxWebhookBytes bounds a delivery's body (the intake's bound); Shopify's order payloads
// are far smaller.
const MaxWebhookBytes = events.MaxDeliveryBytes

// eventNamespace scopes the event ids derived from vendor delivery ids (RFC 4122 version 5).
var eventNamespace = uuid.MustParse("13938006-a52d-4980-baf9-4029fc019686")

// EventID is the id of the event of type that the vendor's delivery reports: the same for every
// retry or duplicate of the delivery, so JetStream (Nats-Msg-Id) and consumers' inboxes drop the
// copies.
func EventID(vendor, deliveryID, eventType string) string {
	return uuid.NewSHA1(eventNamespace, []byte(vendor+"\x00"+deliveryID+"\x00"+eventType)).String()
}

// IngestWebhook verifies a delivery on its raw body, normalises it into canonical events and
// publishes them with ids derived from the delivery id, through the service's intake (the same
// path as IntakeService.Deliver). Deliveries of topics Retailbridge does not use are
// acknowledged as ignored. A delivery published within the vendor's retry horizon
// (events.DeliveryMemory) is answered with its event ids without publishing again, and
// concurrent copies publish events with the same ids, which the broker drops.
//
// Deprecated: the gateway delivers through IntakeService.Deliver (Intake).
func (s *Service) IngestWebhook(ctx context.Context, req *commercev1.IngestWebhookRequest) (*commercev1.IngestWebhookResponse, error) {
	if s.intake == nil {
		return nil, errs.E(errs.Unimplemented, "not_implemented", "the configured vendor sends no webhooks")
	}
	d, err := s.intake.Accept(ctx, vendors.Delivery{Vendor: s.vendor, Channel: vendors.Webhook,
		Headers: intake.Headers(req.GetHeaders()), Body: req.GetBody()})
	if err != nil {
		return nil, err
	}
	return &commercev1.IngestWebhookResponse{DeliveryId: d.ID, EventIds: d.EventIDs, Ignored: d.Ignored}, nil
}

// Intake is the service's side of retailbridge.system.intake.v1.IntakeService; nil when the
// vendor sends no webhooks.
func (s *Service) Intake() *intake.Intake { return s.intake }

// normalise is the vendor's Inbound: the connector verifies the delivery and reads its facts,
// each becomes a canonical event with an id derived from the delivery id.
func (s *Service) normalise(ctx context.Context, d vendors.Delivery) (vendors.Normalised, error) {
	headers := make(map[string]string, len(d.Headers))
	for k := range d.Headers {
		headers[k] = d.Headers.Get(k)
	}
	del, err := s.hooks.ReceiveWebhook(headers, d.Body)
	if err != nil {
		if e := errs.As(err); e != nil {
			s.log.InfoContext(ctx, "webhook refused", "reason", e.Reason, "err", err)
		}
		return vendors.Normalised{}, classify(err)
	}
	out := vendors.Normalised{ID: del.ID}
	for _, f := range del.Facts {
		ev, err := s.envelope(ctx, del, f)
		if err != nil {
			return vendors.Normalised{}, err
		}
		out.Events = append(out.Events, ev)
	}
	return out, nil
}

// envelope wraps a fact in the event envelope.
func (s *Service) envelope(ctx context.Context, d *webhook.Delivery, f webhook.Fact) (*canonicalv1.Event, error) {
	data, err := anypb.New(f.Data)
	if err != nil {
		return nil, errs.Wrap(err, errs.Internal, "encode_failed", "")
	}
	corr := telemetry.CorrelationID(ctx)
	if corr == "" {
		corr = s.vendor + "-webhook-" + d.ID
	}
	carrier := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, carrier)
	return &canonicalv1.Event{
		Id:            EventID(s.vendor, d.ID, f.Type),
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
