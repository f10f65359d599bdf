package stripe

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/events"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	"github.com/retailbridge/retailbridge/pkg/signature"
	"github.com/retailbridge/retailbridge/pkg/vendorhttp"
)

// HeaderSignature carries a webhook's signatures: "t=<unix seconds>,v1=<hex HMAC-SHA256 keyed
// with the endpoint secret over "<t>.<raw body>">", with one v1 per secret while the endpoint's
// secret is rolled. It is parsed as Stripe's libraries parse it (see pkg/signature).
const HeaderSignature = "Stripe-Signature"

// DefaultSignatureTolerance is how far a signature's timestamp may be from now: Stripe's
// libraries' default, which bounds how long a captured delivery can be replayed.
const DefaultSignatureTolerance = 300 * time.Second

// Source is the producer of every event this connector makes.
const Source = "retailbridge/system/payments"

// TypeRefundUpdated is the one event refund webhooks become: the refund as the gateway reports it
// now (a canonical Refund), whatever Stripe called the change. Consumers act on its status.
var TypeRefundUpdated = events.TypeName(canonicalv1.EventType_EVENT_TYPE_PAYMENTS_REFUND_UPDATED)

// refundEventTypes are the Stripe events whose data.object is a Refund and that Retailbridge
// uses. charge.refund.updated is the older name for refund.updated on charge refunds, which
// Stripe may still send an endpoint that subscribed to it.
var refundEventTypes = map[string]bool{
	"refund.created":        true,
	"refund.updated":        true,
	"refund.failed":         true,
	"charge.refund.updated": true,
}

// eventDoc is the part of Stripe's Event object the connector reads; data.object is decoded by
// type.
type eventDoc struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Type    string `json:"type"`
	Created int64  `json:"created"`
	Data    struct {
		Object json.RawMessage `json:"object"`
	} `json:"data"`
}

// ParseWebhook verifies a Stripe webhook on its raw body and normalises it into canonical events.
//
// The delivery id is the Stripe event id, which the signature covers and every retry of the
// event repeats. A refund event (refund.created, refund.updated, refund.failed,
// charge.refund.updated) becomes one TypeRefundUpdated event on subject "refund/<re_…>" whose id
// derives from the Stripe event id and whose time is the event's created time; its data is the
// canonical Refund read from data.object as GetRefund reads a refund (status, amount, payment
// reference, ids from metadata). Other event types give no events.
//
// A missing, malformed or non-matching signature is errs.Unauthenticated
// "webhook_signature_invalid"; a matching one whose timestamp is further from now than the
// tolerance, either way, errs.Unauthenticated "webhook_timestamp_stale"; a verified body that is
// not a Stripe event, or a refund event without a readable refund, errs.Invalid
// "webhook_payload_invalid".
func (c *Client) ParseWebhook(h http.Header, body []byte) (string, []*canonicalv1.Event, error) {
	if err := c.verify(strings.Join(h.Values(HeaderSignature), ","), body); err != nil {
		return "", nil, toErr(err)
	}
	invalid := func(cause error) (string, []*canonicalv1.Event, error) {
		return "", nil, toErr(&webhookError{payload: true, cause: cause})
	}
	var doc eventDoc
	if err := json.Unmarshal(body, &doc); err != nil {
		return invalid(err)
	}
	if doc.Object != "event" || doc.ID == "" || doc.Type == "" {
		return invalid(fmt.Errorf("not an event object (object %q, id %q, type %q)", doc.Object, doc.ID, doc.Type))
	}
	if !refundEventTypes[doc.Type] {
		return doc.ID, nil, nil
	}
	var obj refundObject
	if err := json.Unmarshal(doc.Data.Object, &obj); err != nil {
		return invalid(fmt.Errorf("%s: data.object: %w", doc.Type, err))
	}
	if obj.Object != "refund" || checkID(obj.ID) != nil {
		return invalid(fmt.Errorf("%s: data.object is not a refund (object %q, id %q)", doc.Type, obj.Object, obj.ID))
	}
	r, err := toRefund(obj)
	if err != nil {
		return invalid(fmt.Errorf("%s: %w", doc.Type, err))
	}
	data, err := anypb.New(r)
	if err != nil {
		return "", nil, errs.Wrap(err, errs.Internal, "event_encode_failed", "")
	}
	ev := &canonicalv1.Event{
		Id: EventID(doc.ID, TypeRefundUpdated), Source: Source, Type: TypeRefundUpdated,
		Subject: "refund/" + obj.ID, Data: data, SpecVersion: 1,
		// The return and order ids come from the refund's metadata, which Retailbridge set when
		// it asked for the refund; a refund made elsewhere has none.
		References: &canonicalv1.EventReferences{ReturnId: r.GetReturnId(), OrderId: r.GetOrderId(), SystemRecordId: r.GetGatewayRefundId()},
	}
	if doc.Created > 0 {
		ev.Time = timestamppb.New(time.Unix(doc.Created, 0).UTC())
	}
	return doc.ID, []*canonicalv1.Event{ev}, nil
}

// verify checks a Stripe-Signature value against every configured secret, then the signature's
// age, by stripe-go's rules (pkg/signature.VerifyTimestamped): it accepts exactly what stripe-go's
// ValidatePayloadWithTolerance accepts for any one of the secrets, which a differential test
// holds it to.
func (c *Client) verify(header string, body []byte) error {
	err := signature.VerifyTimestamped(HeaderSignature, header, body, c.webhookSecrets, c.now(), c.tolerance)
	if err != nil {
		return &webhookError{stale: errors.Is(err, signature.ErrStale), cause: err}
	}
	return nil
}

// EventID is the deterministic event id for parts, under the payment gateway's own namespace.
func EventID(parts ...string) string { return vendorhttp.EventID("stripe", parts...) }
