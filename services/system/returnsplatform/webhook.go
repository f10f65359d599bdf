package returnsplatform

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/propagation"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/events"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	returnsplatformv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/returnsplatform/v1"
	"github.com/retailbridge/retailbridge/pkg/telemetry"
)

// StreamDomain is the events' domain: their types start "retailbridge.returnsplatform.", and the
// RETAILBRIDGE_RETURNSPLATFORM stream captures them.
const StreamDomain = "returnsplatform"

// MaxWebhookBytes bounds a webhook body; Loop's return payloads are a few kilobytes.
const MaxWebhookBytes = 1 << 20

// IngestWebhook verifies a webhook on its raw body, normalises it into canonical events and
// publishes them to JetStream with Nats-Msg-Id = event id. Event ids are deterministic (see the
// connector's ParseWebhook), so a repeated delivery is dropped by the broker within its duplicate
// window and by consumers' inboxes after it, and answers with the same event ids. Nothing is
// published for a delivery that fails verification. A publishing failure is errs.Unavailable:
// the vendor's retry of the same delivery completes the job, whichever events made it before.
func (s *Service) IngestWebhook(ctx context.Context, req *returnsplatformv1.IngestWebhookRequest) (*returnsplatformv1.IngestWebhookResponse, error) {
	if len(req.GetBody()) > MaxWebhookBytes {
		return nil, errs.E(errs.Invalid, "webhook_too_large", "the webhook body is too large")
	}
	deliveryID, evs, err := s.conn.ParseWebhook(toHeader(req.GetHeaders()), req.GetBody())
	if err != nil {
		if e := errs.As(err); e != nil && e.Kind == errs.Unauthenticated {
			s.log.WarnContext(ctx, "returnsplatform webhook rejected", "reason", e.Reason, "err", err)
		}
		return nil, err
	}
	resp := &returnsplatformv1.IngestWebhookResponse{DeliveryId: deliveryID}
	if len(evs) == 0 {
		resp.Ignored = true
		return resp, nil
	}
	if s.pub == nil {
		return nil, errs.E(errs.Unavailable, "events_unavailable", "event publishing is not configured")
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	for _, ev := range evs {
		if err := s.pub.publish(ctx, ev, deliveryID); err != nil {
			s.log.WarnContext(ctx, "returnsplatform event not published", "event_id", ev.GetId(), "type", ev.GetType(), "err", err)
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
	if s.pub == nil {
		return PublishStats{}
	}
	return PublishStats{Published: s.pub.published.Load(), Duplicates: s.pub.duplicates.Load()}
}

// toHeader rebuilds the request's headers; names are matched case-insensitively from here on.
func toHeader(m map[string]string) http.Header {
	h := make(http.Header, len(m))
	for k, v := range m {
		h.Set(k, v)
	}
	return h
}

// publisher publishes events on JetStream with the same headers as the events package's relay,
// creating the domain's stream the first time if nobody has. (The WMS service has the same; it
// belongs in pkg/events once that package exports a publish helper.)
type publisher struct {
	js     jetstream.JetStream
	domain string
	now    func() time.Time

	mu    sync.Mutex
	ready bool

	published, duplicates atomic.Int64
}

func (p *publisher) ensureStream(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ready {
		return nil
	}
	// Leave a stream someone configured alone; create it with the defaults only if it is missing.
	_, err := p.js.Stream(ctx, events.StreamName(p.domain))
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		_, err = events.EnsureStream(ctx, p.js, p.domain, events.StreamOptions{})
	}
	if err != nil {
		return err
	}
	p.ready = true
	return nil
}

// publish completes ev's envelope and publishes it with Nats-Msg-Id = its id.
func (p *publisher) publish(ctx context.Context, ev *canonicalv1.Event, deliveryID string) error {
	if err := p.ensureStream(ctx); err != nil {
		return err
	}
	if ev.Time == nil {
		ev.Time = timestamppb.New(p.now())
	}
	if ev.CorrelationId == "" {
		ev.CorrelationId = telemetry.CorrelationID(ctx)
	}
	if ev.CorrelationId == "" {
		ev.CorrelationId = deliveryID // everything one delivery causes shares it
	}
	if ev.Traceparent == "" {
		c := propagation.MapCarrier{}
		propagation.TraceContext{}.Inject(ctx, c)
		ev.Traceparent = c[events.HeaderTraceparent]
	}
	data, err := events.Encode(ev)
	if err != nil {
		return err
	}
	m := nats.NewMsg(ev.GetType())
	m.Data = data
	m.Header.Set(events.HeaderMsgID, ev.GetId())
	m.Header.Set(events.HeaderContentType, events.ContentType)
	m.Header.Set(events.HeaderEventType, ev.GetType())
	m.Header.Set(events.HeaderCorrelationID, ev.GetCorrelationId())
	if ev.GetTraceparent() != "" {
		m.Header.Set(events.HeaderTraceparent, ev.GetTraceparent())
	}
	ack, err := p.js.PublishMsg(ctx, m)
	if err != nil {
		return err
	}
	if ack.Duplicate {
		p.duplicates.Add(1)
	} else {
		p.published.Add(1)
	}
	return nil
}
