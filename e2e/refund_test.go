package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	stripesb "github.com/retailbridge/retailbridge/services/sandbox/stripe"
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

	lines := h.eligibleLines(t, 4)
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

	// A: the gateway settles the refund.
	if err := h.Stripe.SetRefundStatus(refunds[0], "succeeded"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "A's refund recorded as succeeded", func() bool {
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
	eventually(t, "B reopened for customer service", func() bool {
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

	// Customer service resolves B: a new refund through the gateway (the failed one moved no
	// money). Without refunds:override it may not; a refund that did not fail cannot be resolved.
	path := "/v1/support/returns/" + ids[1] + ":resolve-refund"
	retry := map[string]any{"resolution": "REFUND_RESOLUTION_RETRY", "note": "card refund bounced; customer confirmed the card"}
	if resp := h.do(t, http.MethodPost, path, h.supportToken(t, "agent-9", "support:write"), retry, "Idempotency-Key", "resolve-b-0"); resp.Status != http.StatusForbidden {
		t.Errorf("resolve without refunds:override: %d %s", resp.Status, resp.Body)
	}
	lead := h.supportToken(t, "lead-1", "support:read refunds:override")
	if resp := h.do(t, http.MethodPost, "/v1/support/returns/"+ids[0]+":resolve-refund", lead, retry, "Idempotency-Key", "resolve-a"); resp.Status != http.StatusUnprocessableEntity {
		t.Errorf("resolving A, whose refund succeeded: %d %s", resp.Status, resp.Body)
	}
	if resp := h.do(t, http.MethodPost, path, lead, map[string]any{"resolution": "REFUND_RESOLUTION_RETRY"}, "Idempotency-Key", "resolve-b-1"); resp.Status != http.StatusBadRequest {
		t.Errorf("resolve without a note: %d %s", resp.Status, resp.Body)
	}
	h.Stripe.SetNewRefundStatus("succeeded")
	if resp := h.do(t, http.MethodPost, path, lead, retry, "Idempotency-Key", "resolve-b-2"); resp.Status != http.StatusOK {
		t.Fatalf("retry B's refund: %d %s", resp.Status, resp.Body)
	}
	b := h.waitAny(t, agent, "/v1/support/returns/"+ids[1], "refunded")
	if b.Return.ExternalIDs["payments"] == refunds[1] || !strings.Contains(fmt.Sprint(b.Timeline), "(by support:lead-1)") {
		t.Errorf("B after the retry: refund %s (the failed one was %s); timeline %v", b.Return.ExternalIDs["payments"], refunds[1], b.Timeline)
	}
	h.Stripe.SetNewRefundStatus("pending")

	// D: failed too, and paid another way: customer service closes it.
	if err := h.Stripe.SetRefundStatus(refunds[3], "failed"); err != nil {
		t.Fatal(err)
	}
	h.waitAny(t, agent, "/v1/support/returns/"+ids[3], "failed_needs_attention")
	settle := map[string]any{"resolution": "REFUND_RESOLUTION_SETTLED_OUTSIDE", "note": "paid by bank transfer, ref BT-2211"}
	if resp := h.do(t, http.MethodPost, "/v1/support/returns/"+ids[3]+":resolve-refund", lead, settle, "Idempotency-Key", "resolve-d"); resp.Status != http.StatusOK {
		t.Fatalf("settle D outside: %d %s", resp.Status, resp.Body)
	}
	if r, tl := timeline(ids[3]); r.Return.State != "refunded" || !strings.Contains(tl, "settled outside the payment gateway: paid by bank transfer") {
		t.Errorf("D after settling outside: %s %s", r.Return.State, tl)
	}

	// C: still pending past the escalation delay, then settled by the gateway.
	h.clock.Advance(4 * 24 * time.Hour)
	eventually(t, "C escalated", func() bool {
		r, tl := timeline(ids[2])
		return r.Return.State == "failed_needs_attention" && strings.Contains(tl, "still pending at the payment gateway")
	})
	if r, _ := timeline(ids[0]); r.Return.State != "refunded" {
		t.Errorf("A escalated although its refund succeeded: %s", r.Return.State)
	}
	if err := h.Stripe.SetRefundStatus(refunds[2], "succeeded"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "C settled", func() bool {
		r, tl := timeline(ids[2])
		return r.Return.State == "refunded" && strings.Contains(tl, "settled at the payment gateway")
	})

	// One refund per return, and B's second after its first failed: no customer paid twice.
	st := h.Stripe.Stats()
	if st.RefundsCreated != 5 || st.Duplicates != 0 {
		t.Errorf("Stripe saw %d refunds (%d duplicates), want 5 and 0", st.RefundsCreated, st.Duplicates)
	}
	for i, l := range lines {
		want := 1
		if i == 1 {
			want = 2
		}
		if n := st.RefundsPerIntent[stripesb.PaymentIntentID(l.order)]; n != want {
			t.Errorf("return %d: %d refunds of its payment, want %d", i, n, want)
		}
	}
}
