package stripe

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/retailbridge/retailbridge/services/sandbox/demo"
)

// PaymentIntentID is the payment intent that paid the demo order orderID.
func PaymentIntentID(orderID string) string { return demo.Order{ID: orderID}.PaymentIntentID() }

// ChargeID is the charge of the demo order orderID's payment intent.
func ChargeID(orderID string) string { return "ch_" + orderID }

// SeedIntentID is the n-th extra payment intent (n from 1) that Options.SeedIntents adds.
func SeedIntentID(n int) string { return fmt.Sprintf("pi_seed_%06d", n) }

// SeedChargeID is the charge of SeedIntentID(n).
func SeedChargeID(n int) string { return fmt.Sprintf("ch_seed_%06d", n) }

// payment is a captured payment intent with its one charge, which is how a card payment looks
// on Stripe since charges stopped being listed on the intent.
type payment struct {
	intentID, chargeID string
	currency           string // lower case, as Stripe writes it
	captured           int64
	// authorized is what a manual-capture intent holds uncaptured (requires_capture); zero once
	// captured, as Stripe releases what a partial capture leaves.
	authorized int64
	refunded   int64 // refunds that are not failed or canceled
	created    int64
	metadata   map[string]string
	apiRefunds int // refunds created through the API (seeded history excluded)
}

// seed opens one payment per demo order, with the order's refunded lines as an earlier refund,
// and the extra seeded intents.
func (s *Sandbox) seed(ds *demo.Dataset) {
	if ds != nil {
		for _, o := range ds.Orders {
			p := &payment{
				intentID: PaymentIntentID(o.ID), chargeID: ChargeID(o.ID), currency: strings.ToLower(o.Currency),
				captured: o.TotalMinor(), created: o.CreatedAt.Unix(),
				metadata: map[string]string{"order_id": o.ID, "order_name": o.Name},
			}
			s.add(p)
			var refunded int64
			for _, l := range o.Lines {
				refunded += int64(l.Refunded) * l.UnitPriceMinor
			}
			if refunded > 0 {
				at := o.CreatedAt
				if o.DeliveredAt != nil {
					at = *o.DeliveredAt
				}
				s.addRefund(p, &refund{
					id: "re_seed_" + o.ID, amount: refunded, status: StatusSucceeded, reason: "requested_by_customer",
					created: at.Add(24 * time.Hour).Unix(), metadata: map[string]string{"order_id": o.ID},
				})
			}
		}
	}
	created := s.opts.Now().Add(-24 * time.Hour).Unix()
	if ds != nil {
		created = ds.Now.Add(-24 * time.Hour).Unix()
	}
	for n := 1; n <= s.opts.SeedIntents; n++ {
		s.add(&payment{
			intentID: SeedIntentID(n), chargeID: SeedChargeID(n), currency: "usd",
			captured: s.opts.SeedAmount, created: created, metadata: map[string]string{},
		})
	}
}

func (s *Sandbox) add(p *payment) {
	s.payments[p.intentID] = p
	s.charges[p.chargeID] = p
}

// paymentIntentObject is a PaymentIntent as Stripe renders it (the fields anyone reads).
type paymentIntentObject struct {
	ID                 string            `json:"id"`
	Object             string            `json:"object"`
	Amount             int64             `json:"amount"`
	AmountCapturable   int64             `json:"amount_capturable"`
	AmountReceived     int64             `json:"amount_received"`
	CaptureMethod      string            `json:"capture_method"`
	ClientSecret       string            `json:"client_secret"`
	ConfirmationMethod string            `json:"confirmation_method"`
	Created            int64             `json:"created"`
	Currency           string            `json:"currency"`
	LatestCharge       any               `json:"latest_charge"` // id, or the charge when expanded
	Livemode           bool              `json:"livemode"`
	Metadata           map[string]string `json:"metadata"`
	PaymentMethodTypes []string          `json:"payment_method_types"`
	Status             string            `json:"status"`
}

// chargeObject is a Charge as Stripe renders it.
type chargeObject struct {
	ID             string            `json:"id"`
	Object         string            `json:"object"`
	Amount         int64             `json:"amount"`
	AmountCaptured int64             `json:"amount_captured"`
	AmountRefunded int64             `json:"amount_refunded"`
	Captured       bool              `json:"captured"`
	Created        int64             `json:"created"`
	Currency       string            `json:"currency"`
	Livemode       bool              `json:"livemode"`
	Metadata       map[string]string `json:"metadata"`
	Paid           bool              `json:"paid"`
	PaymentIntent  any               `json:"payment_intent"`
	Refunded       bool              `json:"refunded"`
	Status         string            `json:"status"`
}

// balanceObject is the account Balance.
type balanceObject struct {
	Object    string          `json:"object"`
	Available []balanceAmount `json:"available"`
	Livemode  bool            `json:"livemode"`
	Pending   []balanceAmount `json:"pending"`
}

type balanceAmount struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

// toIntent renders p; the caller holds mu.
func toIntent(p *payment, expand []string) paymentIntentObject {
	var latest any = p.chargeID
	if slices.Contains(expand, "latest_charge") {
		latest = toCharge(p, nil)
	}
	obj := paymentIntentObject{
		ID: p.intentID, Object: "payment_intent", Amount: p.captured, AmountReceived: p.captured,
		CaptureMethod: "automatic", ClientSecret: p.intentID + "_secret_sandbox", ConfirmationMethod: "automatic",
		Created: p.created, Currency: p.currency, LatestCharge: latest, Metadata: copyMetadata(p.metadata),
		PaymentMethodTypes: []string{"card"}, Status: "succeeded",
	}
	if p.authorized > 0 {
		obj.Amount, obj.AmountCapturable, obj.CaptureMethod, obj.Status = p.authorized, p.authorized, "manual", "requires_capture"
	}
	return obj
}

// toCharge renders p's charge; the caller holds mu.
func toCharge(p *payment, expand []string) chargeObject {
	var intent any = p.intentID
	if slices.Contains(expand, "payment_intent") {
		intent = toIntent(p, nil)
	}
	return chargeObject{
		ID: p.chargeID, Object: "charge", Amount: p.captured, AmountCaptured: p.captured, AmountRefunded: p.refunded,
		Captured: true, Created: p.created, Currency: p.currency, Metadata: copyMetadata(p.metadata), Paid: true,
		PaymentIntent: intent, Refunded: p.refunded >= p.captured, Status: "succeeded",
	}
}

func (s *Sandbox) getPaymentIntent(id string, expand []string) result {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.payments[id]
	if !ok {
		return apiError(http.StatusNotFound, typeInvalidRequest, "resource_missing",
			"No such payment_intent: '"+id+"'", "intent")
	}
	return jsonResult(http.StatusOK, toIntent(p, expand))
}

func (s *Sandbox) getCharge(id string, expand []string) result {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.charges[id]
	if !ok {
		return apiError(http.StatusNotFound, typeInvalidRequest, "resource_missing", "No such charge: '"+id+"'", "charge")
	}
	return jsonResult(http.StatusOK, toCharge(p, expand))
}

// balance is what the account holds: everything captured less everything refunded, available
// at once (the sandbox has no payout schedule).
func (s *Sandbox) balance() result {
	s.mu.Lock()
	byCurrency := map[string]int64{}
	for _, p := range s.payments {
		byCurrency[p.currency] += p.captured - p.refunded
	}
	s.mu.Unlock()
	b := balanceObject{Object: "balance", Available: []balanceAmount{}, Pending: []balanceAmount{}}
	for _, c := range slices.Sorted(maps.Keys(byCurrency)) {
		b.Available = append(b.Available, balanceAmount{Amount: byCurrency[c], Currency: c})
		b.Pending = append(b.Pending, balanceAmount{Currency: c})
	}
	return jsonResult(http.StatusOK, b)
}

// copyMetadata never returns nil: Stripe renders empty metadata as {}.
func copyMetadata(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return maps.Clone(m)
}
