// Package intake is the one inbound path of every system API: a vendor's deliveries — webhooks
// the gateway forwards over retailbridge.system.intake.v1.IntakeService, pages a poller
// fetches, files a reader takes from an SFTP drop — are verified and normalised by the vendor's
// vendors.Inbound and published once (events.Deliveries). Each system service serves one
// Intake per vendor it connects to, so the gateway routes /webhooks/{vendor} without knowing
// the vendor's kind.
package intake

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/events"
	intakev1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/intake/v1"
	"github.com/retailbridge/retailbridge/pkg/vendors"
)

// Intake takes one vendor's deliveries.
type Intake struct {
	intakev1.UnimplementedIntakeServiceServer

	vendor     string
	in         vendors.Inbound
	deliveries *events.Deliveries
	log        *slog.Logger
}

var _ intakev1.IntakeServiceServer = (*Intake)(nil)

// New returns the intake of vendor's deliveries: in verifies and normalises them, deliveries
// publishes them once. log may be nil.
func New(vendor string, in vendors.Inbound, deliveries *events.Deliveries, log *slog.Logger) *Intake {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Intake{vendor: vendor, in: in, deliveries: deliveries, log: log}
}

// Vendor is the vendor whose deliveries this intake takes.
func (i *Intake) Vendor() string { return i.vendor }

// Accept verifies, normalises and publishes one delivery; a repeat of a delivery published
// within the vendor's retry horizon is answered with its event ids and not published again. A
// delivery of another vendor is errs.NotFound "unknown_webhook_vendor".
func (i *Intake) Accept(ctx context.Context, d vendors.Delivery) (events.Delivery, error) {
	out, _, err := i.accept(ctx, d)
	return out, err
}

// accept is Accept that also returns the reply the vendor's protocol requires, if any.
func (i *Intake) accept(ctx context.Context, d vendors.Delivery) (events.Delivery, vendors.Normalised, error) {
	if d.Vendor != i.vendor {
		return events.Delivery{}, vendors.Normalised{}, errs.E(errs.NotFound, "unknown_webhook_vendor", "this service takes no deliveries from "+d.Vendor)
	}
	if len(d.Body) > events.MaxDeliveryBytes {
		return events.Delivery{}, vendors.Normalised{}, errs.E(errs.Invalid, "webhook_too_large", "the webhook body is too large")
	}
	n, err := i.in.Normalise(ctx, d)
	if err != nil {
		if e := errs.As(err); e != nil && e.Kind == errs.Unauthenticated {
			i.log.WarnContext(ctx, i.vendor+" delivery rejected", "channel", string(d.Channel), "reason", e.Reason, "err", err)
		}
		return events.Delivery{}, n, err
	}
	if n.Reply != nil { // a protocol exchange (a handshake), not a report
		return events.Delivery{ID: n.ID, Ignored: true}, n, nil
	}
	out, err := i.deliveries.Accept(ctx, n.ID, n.Events)
	return out, n, err
}

// Deliver takes a webhook exactly as the gateway received it.
func (i *Intake) Deliver(ctx context.Context, req *intakev1.DeliverRequest) (*intakev1.DeliverResponse, error) {
	query := url.Values{}
	for k, v := range req.GetQuery() {
		query.Set(k, v)
	}
	out, n, err := i.accept(ctx, vendors.Delivery{Vendor: req.GetVendor(), Channel: vendors.Webhook,
		Headers: Headers(req.GetHeaders()), Body: req.GetBody(), Query: query})
	if err != nil {
		return nil, err
	}
	return &intakev1.DeliverResponse{DeliveryId: out.ID, EventIds: out.EventIDs, Ignored: out.Ignored,
		Reply: n.Reply, ReplyContentType: n.ReplyContentType}, nil
}

// Headers turns a delivery's header map into an http.Header, so names match case-insensitively.
func Headers(m map[string]string) http.Header {
	h := make(http.Header, len(m))
	for k, v := range m {
		h.Set(k, v)
	}
	return h
}
