package returnsplatform

import (
	"context"

	"github.com/retailbridge/retailbridge/pkg/events"
	returnsplatformv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/returnsplatform/v1"
)

// StreamDomain is the events' domain: their types start "retailbridge.returnsplatform.", and the
// RETAILBRIDGE_RETURNSPLATFORM stream captures them.
const StreamDomain = "returnsplatform"

// MaxWebhookBytes bounds a webhook body; Loop's return payloads are a few kilobytes.
const MaxWebhookBytes = events.MaxDeliveryBytes

// IngestWebhook verifies a webhook on its raw body and its signature's age, normalises it into
// canonical events (the connector's ParseWebhook: ids derived from the delivery id) and publishes
// them; a repeated delivery answers with the same event ids and has one effect (see
// events.Deliveries).
func (s *Service) IngestWebhook(ctx context.Context, req *returnsplatformv1.IngestWebhookRequest) (*returnsplatformv1.IngestWebhookResponse, error) {
	d, err := s.deliveries.Ingest(ctx, req.GetHeaders(), req.GetBody(), s.conn.ParseWebhook)
	if err != nil {
		return nil, err
	}
	return &returnsplatformv1.IngestWebhookResponse{DeliveryId: d.ID, EventIds: d.EventIDs, Ignored: d.Ignored}, nil
}

// PublishStats counts what IngestWebhook published.
type PublishStats = events.DeliveryStats

// PublishStats returns the publishing counters.
func (s *Service) PublishStats() PublishStats { return s.deliveries.Stats() }
