package stripe

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/retailbridge/retailbridge/pkg/money"
)

// Stripe's metadata limits.
const (
	maxMetadataKeys     = 50
	maxMetadataKeyLen   = 40
	maxMetadataValueLen = 500
)

// refundReasons are the reasons a refund may give.
var refundReasons = []string{"duplicate", "fraudulent", "requested_by_customer"}

// refundParams are the other parameters POST /v1/refunds takes.
var refundParams = []string{"payment_intent", "charge", "amount", "currency", "reason", "customer",
	"instructions_email", "origin", "refund_application_fee", "reverse_transfer"}

// refund is a refund of a payment's charge.
type refund struct {
	id            string
	intentID      string
	chargeID      string
	amount        int64
	currency      string
	status        string
	reason        string
	failureReason string
	created       int64
	metadata      map[string]string
}

// counts says whether r holds money back from the charge: failed and canceled refunds give it back.
func (r *refund) counts() bool { return r.status != StatusFailed && r.status != StatusCanceled }

// refundObject is a Refund as Stripe renders it.
type refundObject struct {
	ID                 string            `json:"id"`
	Object             string            `json:"object"`
	Amount             int64             `json:"amount"`
	BalanceTransaction *string           `json:"balance_transaction"`
	Charge             string            `json:"charge"`
	Created            int64             `json:"created"`
	Currency           string            `json:"currency"`
	FailureReason      string            `json:"failure_reason,omitempty"`
	Metadata           map[string]string `json:"metadata"`
	PaymentIntent      string            `json:"payment_intent"`
	Reason             *string           `json:"reason"`
	ReceiptNumber      *string           `json:"receipt_number"`
	Status             string            `json:"status"`
}

func toRefund(r *refund) refundObject {
	o := refundObject{
		ID: r.id, Object: "refund", Amount: r.amount, Charge: r.chargeID, Created: r.created, Currency: r.currency,
		FailureReason: r.failureReason, Metadata: copyMetadata(r.metadata), PaymentIntent: r.intentID, Status: r.status,
	}
	if r.counts() {
		txn := "txn_" + strings.TrimPrefix(r.id, "re_")
		o.BalanceTransaction = &txn
	}
	if r.reason != "" {
		o.Reason = &r.reason
	}
	return o
}

// refundRequest is a validated POST /v1/refunds.
type refundRequest struct {
	intentID, chargeID string
	amount             int64 // 0: whatever is left
	currency           string
	reason             string
	metadata           map[string]string
}

// parseRefund validates the parameters as Stripe does before executing anything; a failure
// here is not stored under the idempotency key.
func parseRefund(form url.Values) (refundRequest, *result) {
	bad := func(code, message, param string) (refundRequest, *result) {
		res := apiError(http.StatusBadRequest, typeInvalidRequest, code, message, param)
		return refundRequest{}, &res
	}
	req := refundRequest{metadata: map[string]string{}}
	for k, vs := range form {
		switch {
		case slices.Contains(refundParams, k):
		case isIndexed(k, "metadata"):
			name := k[len("metadata[") : len(k)-1]
			if name == "" || len(name) > maxMetadataKeyLen {
				return bad("parameter_invalid_string", fmt.Sprintf("Metadata keys must be 1 to %d characters long.", maxMetadataKeyLen), "metadata")
			}
			if len(vs[0]) > maxMetadataValueLen {
				return bad("parameter_invalid_string", fmt.Sprintf("Metadata values can have up to %d characters, but you passed in a value that is %d characters long.", maxMetadataValueLen, len(vs[0])), k)
			}
			req.metadata[name] = vs[0]
		case isIndexed(k, "expand"):
		default:
			return bad("parameter_unknown", "Received unknown parameter: "+k, k)
		}
	}
	if len(req.metadata) > maxMetadataKeys {
		return bad("parameter_invalid_string", fmt.Sprintf("Metadata can have up to %d keys.", maxMetadataKeys), "metadata")
	}
	req.intentID, req.chargeID = form.Get("payment_intent"), form.Get("charge")
	switch {
	case req.intentID == "" && req.chargeID == "":
		return bad("parameter_missing", "One of the following params should be provided for this request: payment_intent or charge.", "")
	case req.intentID != "" && req.chargeID != "":
		return bad("", "You may only specify one of these parameters: charge, payment_intent.", "")
	}
	if form.Has("amount") {
		v := form.Get("amount")
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return bad("parameter_invalid_integer", "Invalid positive integer", "amount")
		}
		req.amount = n
	}
	if form.Has("currency") {
		v := form.Get("currency")
		if len(v) != 3 || strings.Trim(strings.ToLower(v), "abcdefghijklmnopqrstuvwxyz") != "" {
			return bad("", "Invalid currency: "+v+". Stripe currently supports these currencies: usd, eur, gbp, …", "currency")
		}
		req.currency = strings.ToLower(v)
	}
	if form.Has("reason") {
		v := form.Get("reason")
		if !slices.Contains(refundReasons, v) {
			return bad("", "Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer", "reason")
		}
		req.reason = v
	}
	return req, nil
}

// createRefund serves POST /v1/refunds and raises refund.created for the new refund. A replay
// of its answer never gets here, so it raises nothing.
func (s *Sandbox) createRefund(o origin, form url.Values) result {
	req, invalid := parseRefund(form)
	if invalid != nil {
		return *invalid
	}
	_, serverErrors, _, status := s.knobs()

	s.mu.Lock()
	defer s.mu.Unlock()
	var p *payment
	if req.intentID != "" {
		if p = s.payments[req.intentID]; p == nil {
			return apiError(http.StatusBadRequest, typeInvalidRequest, "resource_missing",
				"No such payment_intent: '"+req.intentID+"'", "payment_intent").stored()
		}
	} else if p = s.charges[req.chargeID]; p == nil {
		return apiError(http.StatusBadRequest, typeInvalidRequest, "resource_missing",
			"No such charge: '"+req.chargeID+"'", "charge").stored()
	}
	if s.roll(serverErrors) {
		s.serverErrorCount.Add(1)
		return apiError(http.StatusInternalServerError, typeAPI, "",
			"An unknown error occurred while processing your request.", "").stored()
	}
	if req.currency != "" && req.currency != p.currency {
		return apiError(http.StatusBadRequest, typeInvalidRequest, "",
			fmt.Sprintf("The refund currency (%s) must match the currency of the charge (%s).", req.currency, p.currency),
			"currency").stored()
	}
	left := p.captured - p.refunded
	if left <= 0 {
		s.refused.Add(1)
		return apiError(http.StatusBadRequest, typeInvalidRequest, "charge_already_refunded",
			"Charge "+p.chargeID+" has already been refunded.", "charge").stored()
	}
	if req.amount == 0 {
		req.amount = left
	}
	if req.amount > left {
		s.refused.Add(1)
		return apiError(http.StatusBadRequest, typeInvalidRequest, "amount_too_large",
			fmt.Sprintf("Refund amount (%s) is greater than unrefunded amount on charge (%s)",
				display(req.amount, p.currency), display(left, p.currency)), "amount").stored()
	}
	s.seq++
	r := &refund{
		id: fmt.Sprintf("re_sbx%018d", s.seq), amount: req.amount, status: status, reason: req.reason,
		created: s.opts.Now().Unix(), metadata: req.metadata,
	}
	if status == StatusFailed {
		r.failureReason = "unknown"
	}
	s.addRefund(p, r)
	p.apiRefunds++
	s.refundsCreated.Add(1)
	s.emitLocked(EventRefundCreated, r, nil, o)
	return jsonResult(http.StatusOK, toRefund(r)).stored()
}

// addRefund books r against p and feeds the duplicate detector; the caller holds mu.
func (s *Sandbox) addRefund(p *payment, r *refund) {
	r.intentID, r.chargeID, r.currency = p.intentID, p.chargeID, p.currency
	s.refunds[r.id] = r
	if r.counts() {
		p.refunded += r.amount
	}
	fp := fingerprint(r)
	s.seen[fp]++
	if s.seen[fp] > 1 {
		s.duplicates.Add(1)
	}
}

// fingerprint identifies what a refund does: which charge, how much, and the caller's metadata
// (which names the return or workflow step behind it).
func fingerprint(r *refund) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s|%d", r.chargeID, r.amount)
	for _, k := range slices.Sorted(maps.Keys(r.metadata)) {
		fmt.Fprintf(&b, "|%q=%q", k, r.metadata[k])
	}
	return b.String()
}

// display renders an amount as Stripe's messages do, for example $12.50.
func display(minor int64, currency string) string {
	amount := money.FormatDecimal(minor, currency)
	if currency == "usd" {
		return "$" + amount
	}
	return amount + " " + strings.ToUpper(currency)
}

func (s *Sandbox) getRefund(id string) result {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.refunds[id]
	if !ok {
		return apiError(http.StatusNotFound, typeInvalidRequest, "resource_missing", "No such refund: '"+id+"'", "id")
	}
	return jsonResult(http.StatusOK, toRefund(r))
}

// ErrNoSuchRefund is returned for a refund id the account does not have.
var ErrNoSuchRefund = errors.New("stripe sandbox: no such refund")

// SetRefundStatus moves a refund along Stripe's lifecycle, as the card network would: pending
// and requires_action may become anything; succeeded may still fail; failed and canceled are
// final. A refund that fails or is canceled gives its amount back to the charge.
//
// Every change raises refund.updated, with the changed fields' earlier values in
// data.previous_attributes, and a move to failed raises refund.failed after it. No API request
// caused them, so their request id and idempotency key are null. Setting the status a refund
// already has changes nothing and raises nothing.
func (s *Sandbox) SetRefundStatus(id, status string) error {
	if err := s.setRefundStatus(id, status); err != nil {
		return err
	}
	return s.persist()
}

func (s *Sandbox) setRefundStatus(id, status string) error {
	if !validStatus(status) {
		return fmt.Errorf("stripe sandbox: unknown refund status %q", status)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.refunds[id]
	if !ok {
		return ErrNoSuchRefund
	}
	switch {
	case r.status == status:
		return nil
	case !r.counts(), r.status == StatusSucceeded && status != StatusFailed:
		return fmt.Errorf("stripe sandbox: refund %s cannot go from %s to %s", id, r.status, status)
	}
	p := s.payments[r.intentID]
	was, counted := toRefund(r), r.counts()
	r.status = status
	if status == StatusFailed {
		r.failureReason = "expired_or_canceled_card"
	}
	if counted && !r.counts() {
		p.refunded -= r.amount
	}
	s.emitLocked(EventRefundUpdated, r, previousAttributes(was, toRefund(r)), origin{})
	if status == StatusFailed {
		s.emitLocked(EventRefundFailed, r, nil, origin{})
	}
	return nil
}

func validStatus(status string) bool {
	switch status {
	case StatusPending, StatusRequiresAction, StatusSucceeded, StatusFailed, StatusCanceled:
		return true
	}
	return false
}
