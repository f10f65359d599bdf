package e2e

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/internal/stack"
	"github.com/retailbridge/retailbridge/pkg/testkit"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
	stripesb "github.com/retailbridge/retailbridge/services/sandbox/stripe"
	warehousesb "github.com/retailbridge/retailbridge/services/sandbox/warehouse"
)

type returnJSON struct {
	Return struct {
		ID          string            `json:"id"`
		OrderID     string            `json:"order_id"`
		State       string            `json:"state"`
		RMANumber   string            `json:"rma_number"`
		Tracking    string            `json:"tracking_number"`
		RefundTotal moneyJSON         `json:"refund_total"`
		ExternalIDs map[string]string `json:"external_ids"`
	} `json:"return"`
	Timeline []struct {
		State       string `json:"state"`
		Description string `json:"description"`
		System      string `json:"system"`
	} `json:"timeline"`
}

func createReturn(orderID, lineID string, qty int) map[string]any {
	return map[string]any{
		"order_id": orderID,
		"method":   "RETURN_METHOD_MAIL",
		"lines":    []map[string]any{{"order_line_id": lineID, "quantity": qty, "reason": "RETURN_REASON_SIZE_OR_FIT"}},
	}
}

// waitState polls the customer's view of a return until it reaches want (or a terminal state).
func (h *harness) waitState(t testing.TB, tok, id, want string) returnJSON {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	var got returnJSON
	for time.Now().Before(deadline) {
		resp := h.do(t, http.MethodGet, "/v1/storefront/returns/"+id, tok, nil)
		if resp.Status != http.StatusOK {
			t.Fatalf("GET return: %d %s", resp.Status, resp.Body)
		}
		resp.JSON(t, &got)
		if got.Return.State == want {
			return got
		}
		switch got.Return.State {
		case "refunded", "denied", "cancelled", "expired", "failed_needs_attention":
			t.Fatalf("return ended %s, want %s; timeline %+v", got.Return.State, want, got.Timeline)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("return stuck in %s, want %s; timeline %+v", got.Return.State, want, got.Timeline)
	return got
}

func withFastVendors(outcomes warehousesb.Outcomes) func(*stack.Options) {
	return func(o *stack.Options) { o.FastVendors, o.InspectionOutcomes = true, &outcomes }
}

// The seed's scenario end to end: request → RMA → platform return and label → parcel moving →
// warehouse receipt and inspection → refund → item receipt and credit memo → storefront refund
// → closed. Every vendor is a sandbox speaking its protocol; webhooks come back through the
// gateway.
func TestReturnToRefundEndToEnd(t *testing.T) {
	t.Parallel()
	h := newStackWith(t, withFastVendors(warehousesb.Outcomes{Resellable: 1}))
	tok := h.token(t, demo.DemoCustomerID)
	o := h.Demo.Scenario(demo.ScenarioMultipleQuantity)
	body := createReturn(o.ID, o.Lines[0].ID, 2)

	first := h.do(t, http.MethodPost, "/v1/storefront/returns", tok, body, "Idempotency-Key", "ret-e2e-1")
	if first.Status != http.StatusOK {
		t.Fatalf("create: %d %s", first.Status, first.Body)
	}
	var created returnJSON
	first.JSON(t, &created)
	if created.Return.State != "requested" || created.Return.RefundTotal.AmountMinor != fmt.Sprint(2*o.Lines[0].UnitPriceMinor) {
		t.Fatalf("created %+v", created.Return)
	}
	// The same request again replays the answer; nothing new is created.
	again := h.do(t, http.MethodPost, "/v1/storefront/returns", tok, body, "Idempotency-Key", "ret-e2e-1")
	if again.Status != http.StatusOK || again.Header.Get("Idempotent-Replayed") != "true" || string(again.Body) != string(first.Body) {
		t.Errorf("replay: %d replayed=%q", again.Status, again.Header.Get("Idempotent-Replayed"))
	}
	// The units are claimed: a second return of more than the rest is refused.
	second := h.do(t, http.MethodPost, "/v1/storefront/returns", tok, createReturn(o.ID, o.Lines[0].ID, 3), "Idempotency-Key", "ret-e2e-2")
	if second.Status != http.StatusUnprocessableEntity {
		t.Errorf("returning claimed units: %d %s, want 422", second.Status, second.Body)
	}

	done := h.waitState(t, tok, created.Return.ID, "refunded")
	if done.Return.RMANumber == "" || done.Return.Tracking == "" {
		t.Errorf("refunded return lacks RMA or tracking: %+v", done.Return)
	}
	st := h.Stripe.Stats()
	if n := st.RefundsPerIntent[stripesb.PaymentIntentID(o.ID)]; n != 1 {
		t.Errorf("Stripe refunds for the order: %d, want 1", n)
	}
	var steps []string
	for _, e := range done.Timeline {
		steps = append(steps, e.Description)
		if e.System != "" {
			t.Errorf("customer timeline names a backend: %+v", e)
		}
	}
	// "Parcel on its way" depends on whether the carrier's scan beats the warehouse's receipt.
	want := []string{"Return requested", "Return approved: send the parcel", "Parcel received",
		"Items inspected", "Refund on its way", "Refunded"}
	if !subsequence(steps, want) {
		t.Errorf("customer timeline %q, want %q in order", steps, want)
	}
	// Another customer cannot see it.
	other := h.do(t, http.MethodGet, "/v1/storefront/returns/"+created.Return.ID, h.token(t, h.Demo.Customers[4].ID), nil)
	if other.Status != http.StatusNotFound {
		t.Errorf("another customer's return: %d", other.Status)
	}
	_ = testkit.Problem{}
}

// subsequence reports whether want appears in got in order.
func subsequence(got, want []string) bool {
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	return i == len(want)
}
