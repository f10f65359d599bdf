package e2e

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
)

// settlementRunJSON is POST /v1/support/settlement:run.
type settlementRunJSON struct {
	Payouts       int `json:"payouts"`
	Lines         int `json:"lines"`
	NewMismatches int `json:"new_mismatches"`
}

// Settlement through the gateway: a charge no order holds is paid out by the Stripe sandbox;
// support runs settlement on demand and reads the payout (not reconciled) and the no_order
// mismatch; a customer and a read-only agent are refused.
func TestSettlementThroughTheStack(t *testing.T) {
	t.Parallel()
	h := newStack(t)
	agent := h.supportToken(t, "agent-7", "support:read support:write")
	reader := h.supportToken(t, "agent-8", "support:read")
	customer := h.token(t, h.Demo.Customers[0].ID)

	pi := h.Stripe.Charge("no-such-order", 1234, "usd")
	payouts := h.Stripe.Payout()
	if len(payouts) == 0 {
		t.Fatal("the sandbox paid nothing out")
	}
	for _, tc := range []struct{ method, path, token string }{
		{http.MethodPost, "/v1/support/settlement:run", customer},
		{http.MethodGet, "/v1/support/settlement/payouts", customer},
		{http.MethodGet, "/v1/support/settlement/mismatches", customer},
		{http.MethodPost, "/v1/support/settlement:run", reader},
	} {
		if resp := h.do(t, tc.method, tc.path, tc.token, nil, "Idempotency-Key", "settle-refused-"+tc.token[len(tc.token)-8:]); resp.Status != http.StatusForbidden && resp.Status != http.StatusNotFound {
			t.Errorf("%s %s as %s: %d %s, want refused", tc.method, tc.path, tc.token[:8], resp.Status, resp.Body)
		}
	}
	resp := h.do(t, http.MethodPost, "/v1/support/settlement:run", agent, nil, "Idempotency-Key", "settle-run-1")
	if resp.Status != http.StatusOK {
		t.Fatalf("run: %d %s", resp.Status, resp.Body)
	}
	var run settlementRunJSON
	if err := json.Unmarshal(resp.Body, &run); err != nil {
		t.Fatal(err)
	}
	if run.Payouts < 1 || run.Lines < 1 {
		t.Errorf("run read %+v, want at least the planted payout and its line", run)
	}

	var page struct {
		Payouts []struct {
			PayoutID   string `json:"payout_id"`
			Reconciled bool   `json:"reconciled"`
			Mismatches int    `json:"mismatches"`
		} `json:"payouts"`
	}
	resp = h.do(t, http.MethodGet, "/v1/support/settlement/payouts?page_size=500", reader, nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("payouts: %d %s", resp.Status, resp.Body)
	}
	if err := json.Unmarshal(resp.Body, &page); err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(page.Payouts, func(p struct {
		PayoutID   string `json:"payout_id"`
		Reconciled bool   `json:"reconciled"`
		Mismatches int    `json:"mismatches"`
	}) bool {
		return slices.Contains(payouts, p.PayoutID)
	})
	if i < 0 {
		t.Fatalf("payouts %s do not list %v", resp.Body, payouts)
	}
	if p := page.Payouts[i]; p.Reconciled || p.Mismatches < 1 {
		t.Errorf("payout %+v carries an unknown charge, want not reconciled", p)
	}

	var mm struct {
		Mismatches []struct {
			Kind     string `json:"kind"`
			PayoutID string `json:"payout_id"`
			Detail   string `json:"detail"`
		} `json:"mismatches"`
	}
	resp = h.do(t, http.MethodGet, "/v1/support/settlement/mismatches?kind=no_order&page_size=500", reader, nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("mismatches: %d %s", resp.Status, resp.Body)
	}
	if err := json.Unmarshal(resp.Body, &mm); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, m := range mm.Mismatches {
		found = found || (m.Kind == "no_order" && slices.Contains(payouts, m.PayoutID))
	}
	if !found {
		t.Errorf("mismatches %s name no no_order in %v (charge %s)", resp.Body, payouts, pi)
	}
	for _, kind := range []string{"no_deposit", "payout_no_deposit", "payment_no_charge", "deposit_fee_mismatch"} {
		if resp := h.do(t, http.MethodGet, "/v1/support/settlement/mismatches?kind="+kind, reader, nil); resp.Status != http.StatusOK {
			t.Errorf("mismatches of the ERP side's kind %s: %d %s, want 200", kind, resp.Status, resp.Body)
		}
	}
	for _, path := range []string{"/v1/support/settlement/mismatches?kind=nonsense", "/v1/support/settlement/payouts?page_size=501",
		"/v1/support/settlement/payouts?page_token=x"} {
		if resp := h.do(t, http.MethodGet, path, reader, nil); resp.Status != http.StatusBadRequest {
			t.Errorf("GET %s: %d %s, want 400", path, resp.Status, resp.Body)
		}
	}
}
