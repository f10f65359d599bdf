package payments

import (
	"context"
	"net/http"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/events"
	paymentsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/payments/v1"
	"github.com/retailbridge/retailbridge/pkg/telemetry"
)

// StreamDomain is the events' domain: their types start "retailbridge.payments.", and the
// RETAILBRIDGE_PAYMENTS stream captures them.
const StreamDomain = "payments"

// MaxWebhookBytes bounds a webhook body; Stripe's refund events are a few kilobytes.
const MaxWebhookBytes = 1 << 20

// IngestWebhook verifies a webhook on its raw body and its signature's age, normalises it into
// canonical events and publishes them to JetStream with Nats-Msg-Id = event id. Event ids are
// deterministic (see the connector's ParseWebhook), so a repeated delivery is dropped by the
// broker within its duplicate window and by consumers' inboxes after it, and answers with the
// same event ids. Nothing is published for a delivery that fails verification. A publishing
// failure is errs.Unavailable: the vendor's retry of the same delivery completes the job,
// whichever events made it before.
//
// Stripe refund events (refund.created, refund.updated, refund.failed, charge.refund.updated)
// each become one retailbridge.payments.refund.updated.v1 event carrying the canonical Refund;
// other event types are acknowledged as ignored, so Stripe stops retrying them.
func (s *Service) IngestWebhook(ctx context.Context, req *paymentsv1.IngestWebhookRequest) (*paymentsv1.IngestWebhookResponse, error) {
	if len(req.GetBody()) > MaxWebhookBytes {
		return nil, errs.E(errs.Invalid, "webhook_too_large", "the webhook body is too large")
	}
	deliveryID, evs, err := s.conn.ParseWebhook(toHeader(req.GetHeaders()), req.GetBody())
	if err != nil {
		if e := errs.As(err); e != nil && e.Kind == errs.Unauthenticated {
			s.log.WarnContext(ctx, "payments webhook rejected", "reason", e.Reason, "err", err)
		}
		return nil, err
	}
	resp := &paymentsv1.IngestWebhookResponse{DeliveryId: deliveryID}
	if len(evs) == 0 {
		resp.Ignored = true
		return resp, nil
	}
	if s.js == nil {
		return nil, errs.E(errs.Unavailable, "events_unavailable", "event publishing is not configured")
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	// Everything one delivery causes shares a correlation id: the caller's, or else the delivery id.
	pubCtx := ctx
	if telemetry.CorrelationID(ctx) == "" {
		pubCtx = telemetry.WithCorrelationID(ctx, deliveryID)
	}
	for _, ev := range evs {
		if ev.Time == nil {
			ev.Time = timestamppb.New(s.now())
		}
		res, err := events.Publish(pubCtx, s.js, ev)
		s.published.Add(int64(res.Stored))
		s.duplicates.Add(int64(res.Duplicates))
		if err != nil {
			s.log.WarnContext(ctx, "payments event not published", "event_id", ev.GetId(), "type", ev.GetType(), "err", err)
			return nil, errs.Wrap(err, errs.Unavailable, "event_publish_failed", "the webhook's events could not be published")
		}
		resp.EventIds = append(resp.EventIds, ev.GetId())
	}
	return resp, nil
}

// PublishStats counts what IngestWebhook published.
type PublishStats struct {
	// Published is how many events JetStream stored.
	Published int64
	// Duplicates is how many publishes JetStream acknowledged as repeats of a stored event id.
	Duplicates int64
}

// PublishStats returns the publishing counters.
func (s *Service) PublishStats() PublishStats {
	return PublishStats{Published: s.published.Load(), Duplicates: s.duplicates.Load()}
}

// toHeader rebuilds the request's headers; names are matched case-insensitively from here on.
func toHeader(m map[string]string) http.Header {
	h := make(http.Header, len(m))
	for k, v := range m {
		h.Set(k, v)
	}
	return h
}
