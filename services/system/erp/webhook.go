package erp

import (
	"context"
	"net/http"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/events"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
)

// WebhookIntake is what a connector adds when its ERP pushes change notifications (Business
// Central's webhook subscriptions; NetSuite sends none).
type WebhookIntake interface {
	// Handshake is the answer to a subscription handshake (the validation token, as plain text),
	// or ok false when query is not one.
	Handshake(query map[string]string) (reply []byte, contentType string, ok bool)
	// ParseWebhook checks one delivery's shared secret and reads it into canonical events,
	// reading the changed records back from the ERP.
	ParseWebhook(ctx context.Context, h http.Header, body []byte) (deliveryID string, evs []*canonicalv1.Event, err error)
}

// IngestWebhook answers a handshake, or verifies a delivery and publishes its events with
// deterministic ids (pkg/events: a repeated delivery has one effect).
func (s *Service) IngestWebhook(ctx context.Context, req *erpv1.IngestWebhookRequest) (*erpv1.IngestWebhookResponse, error) {
	in, ok := s.conn.(WebhookIntake)
	if !ok || s.deliveries == nil {
		return nil, errs.E(errs.NotFound, "webhooks_not_supported", "this ERP sends no webhooks")
	}
	if reply, ct, ok := in.Handshake(req.GetQuery()); ok {
		return &erpv1.IngestWebhookResponse{Reply: reply, ReplyContentType: ct, Ignored: true}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	d, err := s.deliveries.Ingest(ctx, req.GetHeaders(), req.GetBody(), func(h http.Header, body []byte) (string, []*canonicalv1.Event, error) {
		return in.ParseWebhook(ctx, h, body)
	})
	if err != nil {
		return nil, s.failed(ctx, "IngestWebhook", err)
	}
	return &erpv1.IngestWebhookResponse{DeliveryId: d.ID, EventIds: d.EventIDs, Ignored: d.Ignored}, nil
}

// PublishStats returns what IngestWebhook published.
func (s *Service) PublishStats() events.DeliveryStats {
	if s.deliveries == nil {
		return events.DeliveryStats{}
	}
	return s.deliveries.Stats()
}
