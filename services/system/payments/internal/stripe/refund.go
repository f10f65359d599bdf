package stripe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/errs"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	paymentsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/payments/v1"
)

// Metadata keys the connector reads back into the canonical refund. MetadataIdempotencyKey is
// written by the connector itself, so a refund found later (by id, webhook or search) still
// says which workflow step's key created it.
const (
	MetadataRefundID       = "refund_id"
	MetadataOrderID        = "order_id"
	MetadataReturnID       = "return_id"
	MetadataIdempotencyKey = "idempotency_key"
)

// refundReason is what Retailbridge refunds are: returns the customer asked for.
const refundReason = "requested_by_customer"

// refundObject is the part of Stripe's Refund the connector reads.
type refundObject struct {
	ID            string            `json:"id"`
	Object        string            `json:"object"`
	Amount        int64             `json:"amount"`
	Currency      string            `json:"currency"`
	Status        string            `json:"status"`
	Charge        expandable        `json:"charge"`
	PaymentIntent expandable        `json:"payment_intent"`
	Metadata      map[string]string `json:"metadata"`
	Created       int64             `json:"created"`
}

// expandable is a reference Stripe renders as an id, or as the object when expanded.
type expandable string

// UnmarshalJSON takes null, "id" or {"id": …}.
func (e *expandable) UnmarshalJSON(b []byte) error {
	switch {
	case string(b) == "null":
		*e = ""
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*e = expandable(s)
		return nil
	}
	var o struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(b, &o); err != nil {
		return err
	}
	*e = expandable(o.ID)
	return nil
}

// CreateRefund refunds req.Amount of the payment req.PaymentReference (a payment intent pi_… or
// a charge ch_…/py_…) to its original payment method. req.IdempotencyKey is sent unchanged as
// the Idempotency-Key of every attempt; the connector never makes up a key.
func (c *Client) CreateRefund(ctx context.Context, req *paymentsv1.CreateRefundRequest) (*canonicalv1.Refund, error) {
	key := req.GetIdempotencyKey()
	if key == "" || len(key) > MaxIdempotencyKeyLen {
		return nil, errs.E(errs.Invalid, "invalid_request", "an idempotency key of 1 to 255 characters is required").
			WithFields(errs.FieldViolation{Field: "idempotency_key", Description: "must be 1 to 255 characters"})
	}
	form, err := refundForm(req)
	if err != nil {
		return nil, err
	}
	var obj refundObject
	if err := c.send(ctx, request{method: http.MethodPost, path: "v1/refunds", form: form, key: key, resource: "payment"}, &obj); err != nil {
		return nil, err
	}
	r, err := toRefund(obj)
	if err != nil {
		return nil, toErr(badPayload(err))
	}
	r.IdempotencyKey = key
	return r, nil
}

// refundForm is the form-encoded body of POST /v1/refunds.
func refundForm(req *paymentsv1.CreateRefundRequest) (url.Values, error) {
	ref := req.GetPaymentReference()
	form := url.Values{}
	switch {
	case checkID(ref) != nil:
		return nil, badReference()
	case isPaymentIntent(ref):
		form.Set("payment_intent", ref)
	case isCharge(ref):
		form.Set("charge", ref)
	default:
		return nil, badReference()
	}
	amount, currency, err := toStripeAmount(req.GetAmount())
	if err != nil {
		return nil, err
	}
	form.Set("amount", fmt.Sprint(amount))
	form.Set("currency", currency)
	form.Set("reason", refundReason)
	for _, k := range slices.Sorted(maps.Keys(req.GetMetadata())) {
		form.Set("metadata["+k+"]", req.GetMetadata()[k])
	}
	form.Set("metadata["+MetadataIdempotencyKey+"]", req.GetIdempotencyKey())
	return form, nil
}

func badReference() error {
	return errs.E(errs.Invalid, "invalid_request", "the payment reference is not a Stripe payment intent or charge").
		WithFields(errs.FieldViolation{Field: "payment_reference", Description: "must be a payment intent (pi_…) or charge (ch_…, py_…) id"})
}

// GetRefund reads a refund by its Stripe id.
func (c *Client) GetRefund(ctx context.Context, id string) (*canonicalv1.Refund, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	var obj refundObject
	if err := c.send(ctx, request{method: http.MethodGet, path: "v1/refunds/" + id, resource: "refund"}, &obj); err != nil {
		return nil, err
	}
	r, err := toRefund(obj)
	if err != nil {
		return nil, toErr(badPayload(err))
	}
	return r, nil
}

// toRefund converts a Stripe refund. The payment reference is the payment intent when the
// refund has one, else the charge; order, return and Retailbridge refund ids come from metadata.
func toRefund(o refundObject) (*canonicalv1.Refund, error) {
	if o.ID == "" {
		return nil, errors.New("stripe: refund without an id")
	}
	amount, err := fromStripeAmount(o.Amount, o.Currency)
	if err != nil {
		return nil, err
	}
	ref := string(o.PaymentIntent)
	if ref == "" {
		ref = string(o.Charge)
	}
	return &canonicalv1.Refund{
		Id:               o.Metadata[MetadataRefundID],
		OrderId:          o.Metadata[MetadataOrderID],
		ReturnId:         o.Metadata[MetadataReturnID],
		Amount:           amount,
		Status:           toStatus(o.Status),
		PaymentReference: ref,
		GatewayRefundId:  o.ID,
		IdempotencyKey:   o.Metadata[MetadataIdempotencyKey],
		CreatedAt:        timestamppb.New(time.Unix(o.Created, 0).UTC()),
	}, nil
}

// toStatus maps Stripe's refund status; anything new to us is unspecified rather than guessed.
func toStatus(s string) canonicalv1.RefundStatus {
	switch s {
	case "pending":
		return canonicalv1.RefundStatus_REFUND_STATUS_PENDING
	case "requires_action":
		return canonicalv1.RefundStatus_REFUND_STATUS_REQUIRES_ACTION
	case "succeeded":
		return canonicalv1.RefundStatus_REFUND_STATUS_SUCCEEDED
	case "failed":
		return canonicalv1.RefundStatus_REFUND_STATUS_FAILED
	case "canceled":
		return canonicalv1.RefundStatus_REFUND_STATUS_CANCELED
	}
	return canonicalv1.RefundStatus_REFUND_STATUS_UNSPECIFIED
}
