package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	warehousesb "github.com/retailbridge/retailbridge/services/sandbox/warehouse"
)

// The payment gateway's word on a refund after the workflow asked for it: Stripe answers a card
// refund "pending" and settles it later through webhooks (refund.updated / refund.failed), signed
// and delivered to /webhooks/stripe. A success is recorded; a failure reopens the return into
// failed_needs_attention (the customer has not been paid); a refund still pending past the
// escalation delay goes there too and is settled by the gateway's later success. No refund is
// ever made twice.
func TestRefundOutcomeComesFromTheGateway(t *testing.T) {
	t.Parallel()
	h := newStackWith(t, withFastVendors(warehousesb.Outcomes{Resellable: 1}))
	h.Stripe.SetNewRefundStatus("pending")
	agent := h.supportToken(t, "ops", "support:read")

	lines := h.eligibleLines(t, 3)
	ids := make([]string, len(lines))
	for i, l := range lines {
		resp := h.do(t, http.MethodPost, "/v1/storefront/returns", h.token(t, l.customer), createReturn(l.order, l.line, 1),
			"Idempotency-Key", fmt.Sprintf("refund-outcome-%d", i))
		var r returnJSON
		resp.JSON(t, &r)
		if resp.Status != http.StatusOK {
			t.Fatalf("create: %d %s", resp.Status, resp.Body)
		}
		ids[i] = r.Return.ID
	}
	refunds := make([]string, len(ids))
	for i, id := range ids {
		r := h.waitAny(t, agent, "/v1/support/returns/"+id, "refunded")
		if refunds[i] = r.Return.ExternalIDs["payments"]; refunds[i] == "" {
			t.Fatalf("return %s has no refund id: %+v", id, r.Return)
		}
	}
	timeline := func(id string) (returnJSON, string) {
		var r returnJSON
		h.do(t, http.MethodGet, "/v1/support/returns/"+id, agent, nil).JSON(t, &r)
		return r, fmt.Sprint(r.Timeline)
	}
	until := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if cond() {
				return
			}
		}
		t.Fatalf("timed out waiting for %s", what)
	}

	// A: the gateway settles the refund.
	if err := h.Stripe.SetRefundStatus(refunds[0], "succeeded"); err != nil {
		t.Fatal(err)
	}
	until("A's refund recorded as succeeded", func() bool {
		_, tl := timeline(ids[0])
		return strings.Contains(tl, "refund "+refunds[0]+" succeeded at the payment gateway")
	})
	if r, _ := timeline(ids[0]); r.Return.State != "refunded" {
		t.Errorf("A after success: %s", r.Return.State)
	}

	// B: the gateway fails the refund after the return closed.
	if err := h.Stripe.SetRefundStatus(refunds[1], "failed"); err != nil {
		t.Fatal(err)
	}
	until("B reopened for customer service", func() bool {
		r, tl := timeline(ids[1])
		return r.Return.State == "failed_needs_attention" && strings.Contains(tl, "customer has not been paid")
	})
	var queue struct {
		Returns []struct {
			ID string `json:"id"`
		} `json:"returns"`
	}
	h.do(t, http.MethodGet, "/v1/support/returns?state=failed_needs_attention", agent, nil).JSON(t, &queue)
	if len(queue.Returns) != 1 || queue.Returns[0].ID != ids[1] {
		t.Errorf("customer service's queue: %+v, want exactly B", queue.Returns)
	}

	// C: still pending past the escalation delay, then settled by the gateway.
	h.clock.Advance(4 * 24 * time.Hour)
	until("C escalated", func() bool {
		r, tl := timeline(ids[2])
		return r.Return.State == "failed_needs_attention" && strings.Contains(tl, "still pending at the payment gateway")
	})
	if r, _ := timeline(ids[0]); r.Return.State != "refunded" {
		t.Errorf("A escalated although its refund succeeded: %s", r.Return.State)
	}
	if err := h.Stripe.SetRefundStatus(refunds[2], "succeeded"); err != nil {
		t.Fatal(err)
	}
	until("C settled", func() bool {
		r, tl := timeline(ids[2])
		return r.Return.State == "refunded" && strings.Contains(tl, "settled at the payment gateway")
	})

	if st := h.Stripe.Stats(); st.RefundsCreated != 3 || st.Duplicates != 0 {
		t.Errorf("Stripe saw %d refunds (%d duplicates), want 3 and 0", st.RefundsCreated, st.Duplicates)
	}
}
