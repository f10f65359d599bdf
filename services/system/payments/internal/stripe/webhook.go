package stripe

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/errs"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
)

// HeaderSignature carries a webhook's signatures: "t=<unix seconds>,v1=<hex HMAC-SHA256 keyed
// with the endpoint secret over "<t>.<raw body>">", with one v1 per secret while the endpoint's
// secret is rolled. It is parsed as Stripe's libraries parse it (see parseSignatureHeader).
const HeaderSignature = "Stripe-Signature"

// DefaultSignatureTolerance is how far a signature's timestamp may be from now: Stripe's
// libraries' default, which bounds how long a captured delivery can be replayed.
const DefaultSignatureTolerance = 300 * time.Second

// Source is the producer of every event this connector makes.
const Source = "retailbridge/system/payments"

// TypeRefundUpdated is the one event refund webhooks become: the refund as the gateway reports it
// now (a canonical Refund), whatever Stripe called the change. Consumers act on its status.
const TypeRefundUpdated = "retailbridge.payments.refund.updated.v1"

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
	}
	if doc.Created > 0 {
		ev.Time = timestamppb.New(time.Unix(doc.Created, 0).UTC())
	}
	return doc.ID, []*canonicalv1.Event{ev}, nil
}

// signedHeader is a parsed Stripe-Signature value.
type signedHeader struct {
	hasT bool
	secs int64    // the last t element; the MAC covers it as a decimal number, as stripe-go signs it
	v1   [][]byte // every v1 element that is hex
}

// parseSignatureHeader reads a Stripe-Signature value by the rules of Stripe's own library
// (stripe-go v85, webhook/client.go parseSignatureHeader): elements are separated by ",", each
// must be exactly one "key=value" (otherwise the header is invalid); t must be an integer and
// a later t replaces an earlier one; v1 values that are not hex are skipped; elements of any
// other scheme (v0, sent in test mode, or future ones) are ignored, with no trimming of
// whitespace; at least one v1 is needed. A header without t cannot verify: stripe-go takes its
// time as the zero time, which is always past the tolerance.
func parseSignatureHeader(header string) (signedHeader, error) {
	var sh signedHeader
	if header == "" {
		return sh, errors.New("no " + HeaderSignature + " header")
	}
	for _, pair := range strings.Split(header, ",") {
		parts := strings.Split(pair, "=")
		if len(parts) != 2 {
			return sh, errors.New(HeaderSignature + " is malformed: each element is one key=value")
		}
		switch parts[0] {
		case "t":
			secs, err := strconv.ParseInt(parts[1], 10, 64)
			if err != nil {
				return sh, errors.New(HeaderSignature + " is malformed: t is not a number")
			}
			sh.hasT, sh.secs = true, secs
		case "v1":
			if b, err := hex.DecodeString(parts[1]); err == nil {
				sh.v1 = append(sh.v1, b)
			}
		}
	}
	if len(sh.v1) == 0 {
		return sh, errors.New(HeaderSignature + " has no v1 signature")
	}
	if !sh.hasT {
		return sh, errors.New(HeaderSignature + " has no timestamp")
	}
	return sh, nil
}

// verify checks a Stripe-Signature value against every configured secret in constant time, then
// the timestamp's age. Every MAC is computed and compared with every v1 whatever matches first,
// so timing says nothing about which secret or signature, if any, was right; and the signature
// is checked before the time, so "stale" means a genuine delivery replayed late. What is
// accepted is exactly what stripe-go's ValidatePayloadWithTolerance accepts for any one of the
// secrets (a differential test holds it to that): in particular a timestamp ahead of our clock is
// not refused, only one older than the tolerance.
func (c *Client) verify(header string, body []byte) error {
	sh, err := parseSignatureHeader(header)
	if err != nil {
		return &webhookError{cause: err}
	}
	if len(c.webhookSecrets) == 0 {
		return &webhookError{cause: errors.New("no webhook signing secret is configured")}
	}
	ok := false
	for _, secret := range c.webhookSecrets {
		mac := hmac.New(sha256.New, secret)
		mac.Write([]byte(strconv.FormatInt(sh.secs, 10)))
		mac.Write([]byte("."))
		mac.Write(body)
		want := mac.Sum(nil)
		for _, sig := range sh.v1 {
			ok = hmac.Equal(sig, want) || ok
		}
	}
	if !ok {
		return &webhookError{cause: errors.New(HeaderSignature + " does not match the body under any configured secret")}
	}
	if age := c.now().Sub(time.Unix(sh.secs, 0)); age > c.tolerance {
		return &webhookError{stale: true, cause: fmt.Errorf("signed at %s, %v before now; the tolerance is %v",
			time.Unix(sh.secs, 0).UTC().Format(time.RFC3339), age.Round(time.Second), c.tolerance)}
	}
	return nil
}

// EventID is the deterministic event id for parts: 32 hex digits of their SHA-256, the shape of
// Retailbridge's random ids.
func EventID(parts ...string) string {
	h := sha256.New()
	h.Write([]byte("stripe"))
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}
