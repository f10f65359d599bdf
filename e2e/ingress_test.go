package e2e

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/retailbridge/retailbridge/internal/stack"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
)

// Idempotency keys on a real mutating route, through the gateway (the mechanism's ID-1…ID-7
// figures are in pkg/idempotency): missing key, a different body with a used key, concurrent
// duplicates, and keys scoped per caller.
func TestReturnCreationIdempotency(t *testing.T) {
	t.Parallel()
	h := newStackWith(t, func(o *stack.Options) { o.FastVendors, o.ManualParcels = true, true })
	tok := h.token(t, demo.DemoCustomerID)
	o := h.Demo.Scenario(demo.ScenarioMultipleQuantity)
	body := createReturn(o.ID, o.Lines[0].ID, 1)

	if resp := h.do(t, http.MethodPost, "/v1/storefront/returns", tok, body); resp.Status != http.StatusBadRequest ||
		resp.Problem(t).Reason != "idempotency_key_missing" {
		t.Errorf("no Idempotency-Key: %d %s", resp.Status, resp.Body)
	}
	if resp := h.do(t, http.MethodPost, "/v1/storefront/returns", tok, body, "Idempotency-Key", strings.Repeat("k", 256)); resp.Status != http.StatusBadRequest {
		t.Errorf("over-long key: %d", resp.Status)
	}

	// 20 concurrent requests with one key: one return, the others 409 (or the replay once done).
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	ids := map[string]bool{}
	for range 20 {
		wg.Go(func() {
			resp := h.do(t, http.MethodPost, "/v1/storefront/returns", tok, body, "Idempotency-Key", "conc-1")
			var r returnJSON
			if resp.Status == http.StatusOK {
				resp.JSON(t, &r)
			}
			mu.Lock()
			statuses[resp.Status]++
			if r.Return.ID != "" {
				ids[r.Return.ID] = true
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	t.Logf("20 concurrent creates with one key: statuses %v, distinct returns %d", statuses, len(ids))
	if len(ids) != 1 || statuses[http.StatusOK]+statuses[http.StatusConflict] != 20 {
		t.Errorf("statuses %v, returns %d: want one return, the rest 409 or replays", statuses, len(ids))
	}

	// The same key with another body: 422, and the original stays.
	other := createReturn(o.ID, o.Lines[0].ID, 2)
	if resp := h.do(t, http.MethodPost, "/v1/storefront/returns", tok, other, "Idempotency-Key", "conc-1"); resp.Status != http.StatusUnprocessableEntity ||
		resp.Problem(t).Reason != "idempotency_key_reused" {
		t.Errorf("same key, other body: %d %s", resp.Status, resp.Body)
	}
	// Another customer using the same key value gets their own answer (here: not their order).
	if resp := h.do(t, http.MethodPost, "/v1/storefront/returns", h.token(t, h.Demo.Customers[6].ID), body, "Idempotency-Key", "conc-1"); resp.Status != http.StatusNotFound {
		t.Errorf("another caller, same key: %d %s (must not see the first caller's response)", resp.Status, resp.Body)
	}
}

// Amounts, conditions and approvers are decided by policy, inspection and customer service —
// never by the client (mass assignment) — and card data is refused at the door.
func TestReturnCreationRefusesWhatTheClientMayNotDecide(t *testing.T) {
	t.Parallel()
	h := newStack(t)
	tok := h.token(t, demo.DemoCustomerID)
	o := h.Demo.Scenario(demo.ScenarioEligible)
	line := func(extra map[string]any) map[string]any {
		l := map[string]any{"order_line_id": o.Lines[0].ID, "quantity": 1, "reason": "RETURN_REASON_SIZE_OR_FIT"}
		for k, v := range extra {
			l[k] = v
		}
		return map[string]any{"order_id": o.ID, "method": "RETURN_METHOD_MAIL", "lines": []any{l}}
	}
	for name, body := range map[string]any{
		"refund amount": line(map[string]any{"refund_amount": map[string]any{"amount_minor": "999999", "currency_code": "USD"}}),
		"condition":     line(map[string]any{"condition": "ITEM_CONDITION_RESELLABLE"}),
		"disposition":   line(map[string]any{"disposition": "DISPOSITION_RESTOCK"}),
		"state":         map[string]any{"order_id": o.ID, "method": "RETURN_METHOD_MAIL", "state": "refunded", "lines": line(nil)["lines"]},
	} {
		resp := h.do(t, http.MethodPost, "/v1/storefront/returns", tok, body, "Idempotency-Key", "mass-"+name)
		if resp.Status != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", name, resp.Status, resp.Body)
		}
	}
	card := line(map[string]any{"note": "please refund to 4111 1111 1111 1111"})
	if resp := h.do(t, http.MethodPost, "/v1/storefront/returns", tok, card, "Idempotency-Key", "card-1"); resp.Status != http.StatusBadRequest ||
		resp.Problem(t).Reason != "card_data_not_accepted" {
		t.Errorf("card number in a note: %d %s", resp.Status, resp.Body)
	}
}
