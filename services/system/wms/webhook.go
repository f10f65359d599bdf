package wms

import (
	"context"
	"github.com/retailbridge/retailbridge/pkg/intake"
	"github.com/retailbridge/retailbridge/pkg/vendors"

	"github.com/retailbridge/retailbridge/pkg/events"
	wmsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/wms/v1"
)

// StreamDomain is the events' domain: their types start "retailbridge.wms.", and the
// RETAILBRIDGE_WMS stream captures them.
const StreamDomain = "wms"

// MaxWebhookBytes bounds a webhook body; receipts and orders are a few kilobytes.
const MaxWebhookBytes = events.MaxDeliveryBytes

// IngestWebhook verifies a webhook on its raw body and its signature's age, normalises it into
// canonical events (the connector's ParseWebhook: ids derived from the delivery id) and publishes
// them; a repeated delivery answers with the same event ids and has one effect (see
// events.Deliveries).
func (s *Service) IngestWebhook(ctx context.Context, req *wmsv1.IngestWebhookRequest) (*wmsv1.IngestWebhookResponse, error) {
	d, err := s.intake.Accept(ctx, vendors.Delivery{Vendor: s.intake.Vendor(), Channel: vendors.Webhook,
		Headers: intake.Headers(req.GetHeaders()), Body: req.GetBody()})
	if err != nil {
		return nil, err
	}
	return &wmsv1.IngestWebhookResponse{DeliveryId: d.ID, EventIds: d.EventIDs, Ignored: d.Ignored}, nil
}

// PublishStats counts what IngestWebhook published.
type PublishStats = events.DeliveryStats

// PublishStats returns the publishing counters.
func (s *Service) PublishStats() PublishStats { return s.deliveries.Stats() }

// Intake is the service's side of retailbridge.system.intake.v1.IntakeService: the connector's
// webhook parser is the vendor's Inbound, and IngestWebhook (deprecated) takes the same path.
func (s *Service) Intake() *intake.Intake { return s.intake }
