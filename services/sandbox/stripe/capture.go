package stripe

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Authorize adds a manual-capture payment intent for orderID holding amount (minor units)
// uncaptured, status requires_capture: an order authorised at checkout and captured later.
// Tests and the dev console use it; the demo orders are all captured.
func (s *Sandbox) Authorize(orderID string, amount int64, currency string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := &payment{intentID: PaymentIntentID(orderID), chargeID: ChargeID(orderID), currency: strings.ToLower(currency),
		authorized: amount, created: s.opts.Now().Unix(), metadata: map[string]string{"order_id": orderID}}
	s.add(p)
	return p.intentID
}

// Captures counts the payment intents captured through the API.
func (s *Sandbox) Captures() int64 { return s.captures.Load() }

// capture is POST /v1/payment_intents/{id}/capture: amount_to_capture (default: all of it) of
// a requires_capture intent; anything else is payment_intent_unexpected_state, as at Stripe.
func (s *Sandbox) capture(id string, form url.Values) result {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.payments[id]
	if !ok {
		return apiError(http.StatusNotFound, typeInvalidRequest, "resource_missing", "No such payment_intent: '"+id+"'", "intent").stored()
	}
	if p.authorized == 0 {
		return apiError(http.StatusBadRequest, typeInvalidRequest, "payment_intent_unexpected_state",
			"This PaymentIntent could not be captured because it has a status of succeeded.", "").stored()
	}
	amount := p.authorized
	if v := form.Get("amount_to_capture"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 || n > p.authorized {
			return apiError(http.StatusBadRequest, typeInvalidRequest, "amount_too_large",
				fmt.Sprintf("The amount to capture must be between 1 and the %d capturable.", p.authorized), "amount_to_capture").stored()
		}
		amount = n
	}
	p.captured, p.authorized = amount, 0
	s.captures.Add(1)
	return jsonResult(http.StatusOK, toIntent(p, nil)).stored()
}
