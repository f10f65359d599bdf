package e2e

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/pkg/testkit"
)

// settlementRunJSON is a settlement run's resource.
type settlementRunJSON struct {
	RunID         string `json:"run_id"`
	State         string `json:"state"`
	Reason        string `json:"reason"`
	Payouts       int    `json:"payouts"`
	Lines         int    `json:"lines"`
	NewMismatches int    `json:"new_mismatches"`
}

// Settlement through the gateway: a charge no order holds is paid out by the Stripe sandbox;
// support triggers a run (202 with the run's Location, as it works in the background), waits
// on the run's state, and reads the payout (not reconciled) and the no_order mismatch, on the
// run and in the list; a customer and a read-only agent are refused.
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
	if resp.Status != http.StatusAccepted {
		t.Fatalf("run: %d %s, want 202", resp.Status, resp.Body)
	}
	var started struct {
		Run     settlementRunJSON `json:"run"`
		Started bool              `json:"started"`
	}
	resp.JSON(t, &started)
	location := resp.Header.Get("Location")
	if location != "/v1/support/settlement/runs/"+started.Run.RunID || started.Run.RunID == "" {
		t.Fatalf("run %s at Location %q; want its resource", resp.Body, location)
	}
	var run struct {
		Run        settlementRunJSON `json:"run"`
		Mismatches []struct {
			Kind     string `json:"kind"`
			PayoutID string `json:"payout_id"`
		} `json:"mismatches"`
	}
	testkit.Eventually(t, 2*time.Minute, "the settlement run finished", func() bool {
		resp := h.do(t, http.MethodGet, location, reader, nil)
		if resp.Status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", location, resp.Status, resp.Body)
		}
		resp.JSON(t, &run)
		return run.Run.State != "running"
	})
	if run.Run.State != "succeeded" || run.Run.Payouts < 1 || run.Run.Lines < 1 {
		t.Fatalf("run %+v; want succeeded, having read at least the planted payout and its line", run.Run)
	}
	if !slices.ContainsFunc(run.Mismatches, func(m struct {
		Kind     string `json:"kind"`
		PayoutID string `json:"payout_id"`
	}) bool {
		return m.Kind == "no_order" && slices.Contains(payouts, m.PayoutID)
	}) {
		t.Errorf("run's mismatches %+v name no no_order in %v", run.Mismatches, payouts)
	}
	if resp := h.do(t, http.MethodGet, "/v1/support/settlement/runs/no-such-run", reader, nil); resp.Status != http.StatusNotFound {
		t.Errorf("GET an unknown run: %d %s, want 404", resp.Status, resp.Body)
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
