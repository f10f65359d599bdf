package events

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/errs"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	"github.com/retailbridge/retailbridge/pkg/telemetry"
)

// MaxDeliveryBytes bounds a vendor webhook body; vendors' payloads are a few kilobytes.
const MaxDeliveryBytes = 1 << 20

// Parser verifies one vendor delivery on its raw body (signature and its age) and normalises it
// into canonical events whose ids derive from the vendor's delivery id. A delivery whose topic
// Retailbridge does not use gives no events.
type Parser func(h http.Header, body []byte) (deliveryID string, evs []*canonicalv1.Event, err error)

// Delivery is what one webhook delivery became.
type Delivery struct {
	ID       string   // the vendor's delivery id
	EventIDs []string // canonical events published (or already published) for it
	Ignored  bool     // a topic Retailbridge does not use
	// Repeat says the delivery was published before, within the vendor's retry horizon, and was
	// not published again.
	Repeat bool
}

// DeliveryStats counts what Ingest published.
type DeliveryStats struct {
	// Published is how many events JetStream stored.
	Published int64
	// Duplicates is how many publishes JetStream acknowledged as repeats of a stored event id.
	Duplicates int64
	// Repeats is how many deliveries were answered from the delivery memory without publishing.
	Repeats int64
}

// Deliveries is a system API's webhook intake: it verifies each delivery, publishes its events
// to JetStream with Nats-Msg-Id = event id, remembers the delivery id for the vendor's retry
// horizon (DeliveryMemory), and counts. A delivery seen within the horizon is answered with
// its event ids and not published again, whatever its topic; concurrent copies are left to one
// message by Nats-Msg-Id. Nothing is published for a delivery that fails verification; a
// publishing failure is errs.Unavailable, and the vendor's retry of the same delivery completes
// the job, whichever events made it before.
type Deliveries struct {
	vendor  string
	js      jetstream.JetStream
	memory  *DeliveryMemory
	timeout time.Duration
	now     func() time.Time
	log     *slog.Logger

	published, duplicates, repeats atomic.Int64
}

// VendorSource is the source of an event vendor reported: the kind's source with the vendor's
// name appended ("retailbridge/system/wms/edi3pl"), so that when a kind runs several vendors at
// once (routed by tenant or channel) every event still says which one it came from, and
// consumers that key records by source keep two vendors' record numbers apart.
func VendorSource(source, vendor string) string {
	if vendor == "" || strings.HasSuffix(source, "/"+vendor) {
		return source
	}
	return strings.TrimSuffix(source, "/") + "/" + vendor
}

// NewDeliveries returns the intake of vendor's webhooks (the name in logs and the delivery
// memory, for example "warehouse"). js may be nil: then every delivery with events is refused
// as unavailable. timeout bounds publishing one delivery.
func NewDeliveries(vendor string, js jetstream.JetStream, timeout time.Duration, now func() time.Time, log *slog.Logger) *Deliveries {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &Deliveries{vendor: vendor, js: js, timeout: timeout, now: now, log: log}
	if js != nil {
		d.memory = NewDeliveryMemory(js)
	}
	return d
}

// Ingest verifies and publishes one delivery exactly as received.
func (d *Deliveries) Ingest(ctx context.Context, headers map[string]string, body []byte, parse Parser) (Delivery, error) {
	if len(body) > MaxDeliveryBytes {
		return Delivery{}, errs.E(errs.Invalid, "webhook_too_large", "the webhook body is too large")
	}
	h := make(http.Header, len(headers)) // names match case-insensitively from here on
	for k, v := range headers {
		h.Set(k, v)
	}
	id, evs, err := parse(h, body)
	if err != nil {
		if e := errs.As(err); e != nil && e.Kind == errs.Unauthenticated {
			d.log.WarnContext(ctx, d.vendor+" webhook rejected", "reason", e.Reason, "err", err)
		}
		return Delivery{}, err
	}
	return d.Accept(ctx, id, evs)
}

// Accept publishes a verified, normalised delivery once: id is the vendor's delivery id (or a
// file's interchange control number, a poll's cursor), evs its canonical events with ids
// derived from it. Webhooks, pollers and file readers all end here (pkg/intake).
func (d *Deliveries) Accept(ctx context.Context, id string, evs []*canonicalv1.Event) (Delivery, error) {
	out := Delivery{ID: id}
	if len(evs) == 0 {
		out.Ignored = true
		return out, nil
	}
	if d.js == nil {
		return Delivery{}, errs.E(errs.Unavailable, "events_unavailable", "event publishing is not configured")
	}
	if d.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.timeout)
		defer cancel()
	}
	seen, err := d.memory.Seen(ctx, d.vendor, id)
	if err != nil {
		d.log.WarnContext(ctx, d.vendor+" webhook dedup unavailable", "delivery_id", id, "err", err)
		return Delivery{}, errs.Wrap(err, errs.Unavailable, "webhook_dedup_unavailable", "the webhook could not be checked for duplicates")
	}
	for _, ev := range evs {
		ev.Source = VendorSource(ev.GetSource(), d.vendor)
		out.EventIDs = append(out.EventIDs, ev.GetId())
	}
	if seen {
		d.repeats.Add(1)
		out.Repeat = true
		return out, nil
	}
	if err := d.publish(ctx, id, evs); err != nil {
		return Delivery{}, err
	}
	// Only now: a mark before publishing would answer the vendor's retry "seen" for events that
	// never left. Without the mark the vendor retries, and the broker drops the copies.
	if err := d.memory.Remember(ctx, d.vendor, id); err != nil {
		d.log.WarnContext(ctx, d.vendor+" webhook published but not remembered", "delivery_id", id, "err", err)
		return Delivery{}, errs.Wrap(err, errs.Unavailable, "webhook_dedup_unavailable", "the webhook could not be recorded")
	}
	return out, nil
}

// publish publishes one delivery's events in order.
func (d *Deliveries) publish(ctx context.Context, id string, evs []*canonicalv1.Event) error {
	// Everything one delivery causes shares a correlation id: the caller's, or else the delivery id.
	pubCtx := ctx
	if telemetry.CorrelationID(ctx) == "" {
		pubCtx = telemetry.WithCorrelationID(ctx, id)
	}
	for _, ev := range evs {
		if ev.Time == nil {
			ev.Time = timestamppb.New(d.now())
		}
		res, err := Publish(pubCtx, d.js, ev)
		d.published.Add(int64(res.Stored))
		d.duplicates.Add(int64(res.Duplicates))
		if err != nil {
			d.log.WarnContext(ctx, d.vendor+" event not published", "event_id", ev.GetId(), "type", ev.GetType(), "err", err)
			return errs.Wrap(err, errs.Unavailable, "event_publish_failed", "the webhook's events could not be published")
		}
	}
	return nil
}

// Stats returns the publishing counters.
func (d *Deliveries) Stats() DeliveryStats {
	return DeliveryStats{Published: d.published.Load(), Duplicates: d.duplicates.Load(), Repeats: d.repeats.Load()}
}
