package payments

import (
	"context"
	"github.com/retailbridge/retailbridge/pkg/intake"
	"github.com/retailbridge/retailbridge/pkg/vendors"

	"github.com/retailbridge/retailbridge/pkg/events"
	paymentsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/payments/v1"
)

// StreamDomain is the events' domain: their types start "retailbridge.payments.", and the
// RETAILBRIDGE_PAYMENTS stream captures them.
const StreamDomain = "payments"

// MaxWebhookBytes bounds a webhook body; Stripe's refund events are a few kilobytes.
const MaxWebhookBytes = events.MaxDeliveryBytes

// IngestWebhook verifies a webhook on its raw body and its signature's age, normalises it into
// canonical events (the connector's ParseWebhook: ids derived from the delivery id) and publishes
// them; a repeated delivery answers with the same event ids and has one effect (see
// events.Deliveries).
//
// Stripe refund events (refund.created, refund.updated, refund.failed, charge.refund.updated)
// each become one retailbridge.payments.refund.updated.v1 event carrying the canonical Refund;
// other event types are acknowledged as ignored, so Stripe stops retrying them.
func (s *Service) IngestWebhook(ctx context.Context, req *paymentsv1.IngestWebhookRequest) (*paymentsv1.IngestWebhookResponse, error) {
	d, err := s.intake.Accept(ctx, vendors.Delivery{Vendor: s.intake.Vendor(), Channel: vendors.Webhook,
		Headers: intake.Headers(req.GetHeaders()), Body: req.GetBody()})
	if err != nil {
		return nil, err
	}
	return &paymentsv1.IngestWebhookResponse{DeliveryId: d.ID, EventIds: d.EventIDs, Ignored: d.Ignored}, nil
}

// PublishStats counts what IngestWebhook published.
type PublishStats = events.DeliveryStats

// PublishStats returns the publishing counters.
func (s *Service) PublishStats() PublishStats { return s.deliveries.Stats() }

// Intake is the service's side of retailbridge.system.intake.v1.IntakeService: the connector's
// webhook parser is the vendor's Inbound, and IngestWebhook (deprecated) takes the same path.
func (s *Service) Intake() *intake.Intake { return s.intake }
