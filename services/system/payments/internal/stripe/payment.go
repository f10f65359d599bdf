package stripe

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"

	paymentsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/payments/v1"
)

// intentObject is the part of Stripe's PaymentIntent the connector reads.
type intentObject struct {
	ID             string `json:"id"`
	AmountReceived int64  `json:"amount_received"`
	Currency       string `json:"currency"`
	// LatestCharge is the charge's id, or the charge when expanded; null before one exists.
	LatestCharge json.RawMessage `json:"latest_charge"`
}

// chargeObject is the part of Stripe's Charge the connector reads.
type chargeObject struct {
	ID             string `json:"id"`
	AmountCaptured int64  `json:"amount_captured"`
	AmountRefunded int64  `json:"amount_refunded"`
	Currency       string `json:"currency"`
}

// GetPayment reads what was captured and refunded: for a payment intent, its amount received and
// its latest charge's refunds (the intent's one successful charge; Stripe stopped listing charges
// on intents in API version 2022-11-15); for a charge, the charge itself.
func (c *Client) GetPayment(ctx context.Context, ref string) (*paymentsv1.GetPaymentResponse, error) {
	if checkID(ref) != nil || !(isPaymentIntent(ref) || isCharge(ref)) {
		return nil, badReference()
	}
	var captured, refunded int64
	var currency string
	if isCharge(ref) {
		ch, err := c.getCharge(ctx, ref)
		if err != nil {
			return nil, err
		}
		captured, refunded, currency = ch.AmountCaptured, ch.AmountRefunded, ch.Currency
	} else {
		var pi intentObject
		q := url.Values{"expand[]": {"latest_charge"}}
		if err := c.send(ctx, request{method: http.MethodGet, path: "v1/payment_intents/" + ref, query: q, resource: "payment"}, &pi); err != nil {
			return nil, err
		}
		captured, currency = pi.AmountReceived, pi.Currency
		switch ch, id, err := latestCharge(pi.LatestCharge); {
		case err != nil:
			return nil, toErr(badPayload(err))
		case ch != nil:
			refunded = ch.AmountRefunded
		case id != "": // the expansion was not honoured
			ch, err := c.getCharge(ctx, id)
			if err != nil {
				return nil, err
			}
			refunded = ch.AmountRefunded
		}
	}
	capturedMoney, err := fromStripeAmount(captured, currency)
	if err != nil {
		return nil, toErr(badPayload(err))
	}
	refundedMoney, err := fromStripeAmount(refunded, currency)
	if err != nil {
		return nil, toErr(badPayload(err))
	}
	return &paymentsv1.GetPaymentResponse{Captured: capturedMoney, Refunded: refundedMoney}, nil
}

func (c *Client) getCharge(ctx context.Context, id string) (*chargeObject, error) {
	if err := checkID(id); err != nil {
		return nil, toErr(badPayload(err))
	}
	var ch chargeObject
	if err := c.send(ctx, request{method: http.MethodGet, path: "v1/charges/" + id, resource: "payment"}, &ch); err != nil {
		return nil, err
	}
	return &ch, nil
}

// latestCharge reads latest_charge: the charge when expanded, else its id; neither when null.
func latestCharge(raw json.RawMessage) (*chargeObject, string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, "", nil
	}
	if raw[0] == '"' {
		var id string
		err := json.Unmarshal(raw, &id)
		return nil, id, err
	}
	var ch chargeObject
	if err := json.Unmarshal(raw, &ch); err != nil {
		return nil, "", err
	}
	return &ch, "", nil
}
