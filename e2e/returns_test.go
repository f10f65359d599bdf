package e2e

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/retailbridge/retailbridge/internal/stack"
	"github.com/retailbridge/retailbridge/pkg/auth"
	"github.com/retailbridge/retailbridge/pkg/testkit"
	bcsb "github.com/retailbridge/retailbridge/services/sandbox/businesscentral"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
	"github.com/retailbridge/retailbridge/services/sandbox/faults"
	loopsb "github.com/retailbridge/retailbridge/services/sandbox/loop"
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
	return func(o *stack.Options) {
		o.FastVendors, o.SandboxSettings = true, map[string]any{"warehouse": outcomes, "edi3pl": outcomes}
	}
}

// The seed's scenario end to end: request → RMA → platform return and label → parcel moving →
// warehouse receipt and inspection → refund → item receipt and credit memo → storefront refund
// → closed. Every vendor is a sandbox speaking its protocol; webhooks come back through the
// gateway.
func TestReturnToRefundEndToEnd(t *testing.T) {
	t.Parallel()
	testReturnToRefund(t)
}

// The same scenario with the warehouse a 3PL trading EDI X12 files over SFTP (RB_WMS_VENDOR=edi3pl):
// the return is announced with a 180, and the 3PL's 180s receive and inspect it.
func TestReturnToRefundEndToEndOverEDI(t *testing.T) {
	t.Parallel()
	h := testReturnToRefund(t, withVendorSetting("RB_WMS_VENDOR", "edi3pl"))
	sb := h.EDI3PL
	if sb == nil || h.Warehouse != nil {
		t.Fatalf("sandboxes: edi3pl %v, warehouse %v; want only the EDI 3PL", sb, h.Warehouse)
	}
	// The 180 went out and our 997s came back for its 180s (received, inspected) and the 846.
	if st := sb.Stats(); st.Received < 3 {
		t.Errorf("interchanges the 3PL received: %d, want at least the 180 and two 997s", st.Received)
	}
}

// The same scenario with Business Central as the ERP (OData, client credentials, $batch): the
// process layer does not change, the ERP's records are Business Central's.
func TestReturnToRefundEndToEndBusinessCentral(t *testing.T) {
	t.Parallel()
	h := testReturnToRefund(t, withVendorSetting("RB_ERP_VENDOR", "businesscentral"))
	bc := h.BusinessCentral
	if bc == nil {
		t.Fatal("no Business Central sandbox runs: RB_ERP_VENDOR=businesscentral did not select it")
	}
	st := bc.Stats()
	t.Logf("Business Central: %d API requests, %d tokens, %d batches, documents created %v", st.Requests, st.Tokens, st.Batches, st.Created)
	if st.Created[bcsb.SetReturnOrders] != 1 || st.Created[bcsb.SetReturnReceipts] != 1 || st.Created[bcsb.SetSalesCreditMemos] != 1 {
		t.Errorf("Business Central documents %v; want one return order, one receipt, one credit memo", st.Created)
	}
	if h.NetSuite != nil {
		t.Errorf("the NetSuite sandbox runs too; want only the selected ERP's")
	}
}

func testReturnToRefund(t *testing.T, opts ...stackOption) *harness {
	h := newStackWith(t, withFastVendors(warehousesb.Outcomes{Resellable: 1}), opts...)
	tok := h.token(t, demo.DemoCustomerID)
	o := h.Demo.Scenario(demo.ScenarioMultipleQuantity)
	body := createReturn(o.ID, o.Lines[0].ID, 2)

	// Warm the read models: this order is now cached by the returns and the orders services.
	if resp := h.do(t, http.MethodPost, "/v1/storefront/returns/eligibility", tok, eligibility(o.ID)); resp.Status != http.StatusOK {
		t.Fatalf("eligibility: %d", resp.Status)
	}
	if resp := h.do(t, http.MethodGet, "/v1/storefront/orders/"+o.ID, tok, nil); resp.Status != http.StatusOK {
		t.Fatalf("order: %d", resp.Status)
	}
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
	support := h.do(t, http.MethodGet, "/v1/support/returns/"+created.Return.ID, h.supportToken(t, "ops", "support:read"), nil)
	var full returnJSON
	support.JSON(t, &full)
	for _, system := range []string{"erp", "commerce", "returnsplatform", "wms", "payments", "erp_credit_memo", "commerce_refund"} {
		if full.Return.ExternalIDs[system] == "" {
			t.Errorf("the refunded return has no %s record: %v", system, full.Return.ExternalIDs)
		}
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
	// The storefront's refund webhook reaches the returns service and drops the cached order:
	// the refunded units are gone from the next answer (the return's claim no longer counts them).
	wantReturnable := o.Lines[0].Quantity - 2
	returnable := -1
	testkit.Eventually(t, 10*time.Second, fmt.Sprintf("%d units returnable after the refund (the order read model refreshed)", wantReturnable), func() bool {
		var e eligibilityJSON
		h.do(t, http.MethodPost, "/v1/storefront/returns/eligibility", tok, eligibility(o.ID)).JSON(t, &e)
		returnable = e.Lines[0].ReturnableQuantity
		return returnable == wantReturnable
	})
	refunded := ""
	testkit.Eventually(t, 10*time.Second, "the orders service showing 2 units refunded after the refund webhook", func() bool {
		var got struct {
			Order struct {
				Lines []struct {
					RefundedQuantity int `json:"refunded_quantity"`
				} `json:"lines"`
				FinancialStatus string `json:"financial_status"`
			} `json:"order"`
		}
		h.do(t, http.MethodGet, "/v1/storefront/orders/"+o.ID, tok, nil).JSON(t, &got)
		refunded = fmt.Sprint(got.Order.Lines[0].RefundedQuantity, " ", got.Order.FinancialStatus)
		return strings.HasPrefix(refunded, "2 ")
	})
	// Another customer cannot see it.
	other := h.do(t, http.MethodGet, "/v1/storefront/returns/"+created.Return.ID, h.token(t, h.Demo.Customers[4].ID), nil)
	if other.Status != http.StatusNotFound {
		t.Errorf("another customer's return: %d", other.Status)
	}
	return h
}

// erpFaults are the fault knobs of whichever ERP sandbox the stack runs.
func (h *harness) erpFaults() *faults.Faults {
	if h.BusinessCentral != nil {
		return h.BusinessCentral.Faults()
	}
	return h.NetSuite.Faults()
}

// rmaStatus is the status of the return authorisation rma in whichever ERP the stack runs.
func (h *harness) rmaStatus(rma string) string {
	if h.BusinessCentral != nil {
		st, _ := h.BusinessCentral.ReturnOrderStatus(rma)
		return st
	}
	st, _ := h.NetSuite.Status("returnAuthorization", rma)
	return st
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

// supportToken mints a customer-service agent's token.
func (h *harness) supportToken(t testing.TB, agent, scope string) string {
	t.Helper()
	now := time.Now()
	tok, err := h.SigningKey.Mint(auth.Claims{RegisteredClaims: jwt.RegisteredClaims{
		Issuer: "retailbridge-dev", Audience: jwt.ClaimStrings{"retailbridge-support"}, Subject: agent,
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)),
	}, Scope: scope})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// waitAny polls until the return is in one of states.
func (h *harness) waitAny(t testing.TB, tok, path string, states ...string) returnJSON {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var got returnJSON
	var last testkit.Response
	for time.Now().Before(deadline) {
		resp := h.do(t, http.MethodGet, path, tok, nil)
		if resp.Status != http.StatusOK {
			last = resp // a busy machine can time a poll out; keep polling
			time.Sleep(100 * time.Millisecond)
			continue
		}
		resp.JSON(t, &got)
		for _, s := range states {
			if got.Return.State == s {
				return got
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("return in %q, want one of %v; last failed poll %d %s; timeline %+v", got.Return.State, states, last.Status, last.Body, got.Timeline)
	return got
}

// Customer service cancels before receipt: the label is voided, the platform return and the
// ERP RMA are closed, newest first, and the timeline names the agent.
func TestSupportCancelCompensates(t *testing.T) {
	t.Parallel()
	h := newStackWith(t, func(o *stack.Options) { o.FastVendors, o.ManualParcels = true, true })
	tok := h.token(t, demo.DemoCustomerID)
	o := h.Demo.Scenario(demo.ScenarioEligible)
	resp := h.do(t, http.MethodPost, "/v1/storefront/returns", tok, createReturn(o.ID, o.Lines[0].ID, 1), "Idempotency-Key", "cancel-1")
	var r returnJSON
	resp.JSON(t, &r)
	agent := h.supportToken(t, "agent-7", "support:read support:write")
	path := "/v1/support/returns/" + r.Return.ID
	h.waitAny(t, agent, path, "awaiting_parcel")

	// A customer-service call without the write scope is refused; with it, the cancel applies.
	if resp := h.do(t, http.MethodPost, path+":cancel", h.supportToken(t, "agent-8", "support:read"), map[string]string{"note": "x"},
		"Idempotency-Key", "cancel-try"); resp.Status != http.StatusForbidden {
		t.Errorf("cancel without support:write: %d %s", resp.Status, resp.Body)
	}
	if resp := h.do(t, http.MethodPost, path+":cancel", agent, map[string]string{"note": "customer changed their mind"},
		"Idempotency-Key", "cancel-go"); resp.Status != http.StatusOK {
		t.Fatalf("cancel: %d %s", resp.Status, resp.Body)
	}
	done := h.waitAny(t, agent, path, "cancelled")
	rma, platform := done.Return.ExternalIDs["erp"], done.Return.ExternalIDs["returnsplatform"]
	if st := h.rmaStatus(rma); st != "Closed" {
		t.Errorf("RMA %s status %q, want Closed", rma, st)
	}
	if st, ok := h.Loop.Return(platform); !ok || st.LabelStatus != "cancelled" {
		t.Errorf("platform return %s: %+v, want its label voided", platform, st)
	}
	var compensations, byAgent int
	for _, e := range done.Timeline {
		if strings.HasPrefix(e.Description, "compensated") {
			compensations++
		}
		if strings.Contains(e.Description, "support:agent-7") {
			byAgent++
		}
	}
	if compensations != 3 || byAgent == 0 {
		t.Errorf("timeline has %d compensations (want 3: label, platform return, RMA) and %d entries by the agent: %+v", compensations, byAgent, done.Timeline)
	}
	if n := h.Stripe.Stats().RefundsPerIntent[stripesb.PaymentIntentID(o.ID)]; n != 0 {
		t.Errorf("a cancelled return refunded %d times", n)
	}
}

// A wrong item found at inspection waits for customer service, who approves it.
func TestWrongItemWaitsForCustomerService(t *testing.T) {
	t.Parallel()
	h := newStackWith(t, withFastVendors(warehousesb.Outcomes{WrongOrMissing: 1}))
	tok := h.token(t, demo.DemoCustomerID)
	o := h.Demo.Scenario(demo.ScenarioPickUpInStore)
	resp := h.do(t, http.MethodPost, "/v1/storefront/returns", tok, createReturn(o.ID, o.Lines[0].ID, 1), "Idempotency-Key", "wrong-1")
	var r returnJSON
	resp.JSON(t, &r)
	agent := h.supportToken(t, "agent-9", "support:read support:write refunds:override")
	path := "/v1/support/returns/" + r.Return.ID
	h.waitAny(t, agent, path, "exception")
	// The queue view finds it.
	list := h.do(t, http.MethodGet, "/v1/support/returns?state=exception", agent, nil)
	if list.Status != http.StatusOK || !strings.Contains(string(list.Body), r.Return.ID) {
		t.Errorf("exception queue: %d %s", list.Status, list.Body)
	}
	// The customer cannot resolve their own exception.
	if resp := h.do(t, http.MethodPost, "/v1/storefront/returns/"+r.Return.ID+":resolve", tok, map[string]any{"approve": true},
		"Idempotency-Key", "self-approve"); resp.Status != http.StatusNotFound && resp.Status != http.StatusMethodNotAllowed {
		t.Errorf("customer resolving: %d", resp.Status)
	}
	half := o.Lines[0].UnitPriceMinor / 2
	if resp := h.do(t, http.MethodPost, path+":override-refund", agent, map[string]any{"amount": map[string]any{"amount_minor": strconv.FormatInt(int64(half), 10), "currency_code": "USD"}, "note": "goodwill half"},
		"Idempotency-Key", "override-1"); resp.Status != http.StatusOK {
		t.Fatalf("override: %d %s", resp.Status, resp.Body)
	}
	if resp := h.do(t, http.MethodPost, path+":resolve", agent, map[string]any{"approve": true, "note": "customer sent photos"},
		"Idempotency-Key", "approve-1"); resp.Status != http.StatusOK {
		t.Fatalf("approve: %d %s", resp.Status, resp.Body)
	}
	done := h.waitAny(t, agent, path, "refunded")
	if !strings.Contains(fmt.Sprint(done.Timeline), "refund overridden to") || !strings.Contains(fmt.Sprint(done.Timeline), "by support:agent-9") {
		t.Errorf("the override and its agent are not in the timeline: %+v", done.Timeline)
	}
	if done.Return.RefundTotal.AmountMinor != fmt.Sprint(half) {
		t.Errorf("refund total %s, want the override %d", done.Return.RefundTotal.AmountMinor, half)
	}
	if n := h.Stripe.Stats().RefundsPerIntent[stripesb.PaymentIntentID(o.ID)]; n != 1 {
		t.Errorf("Stripe refunds %d, want 1", n)
	}
}

// SEC-7: privileged actions land in the append-only audit log, readable by operators only.
func TestPrivilegedActionsAreAudited(t *testing.T) {
	t.Parallel()
	h := newStackWith(t, func(o *stack.Options) { o.FastVendors, o.ManualParcels = true, true })
	o := h.Demo.Scenario(demo.ScenarioEligible)
	resp := h.do(t, http.MethodPost, "/v1/storefront/returns", h.token(t, demo.DemoCustomerID), createReturn(o.ID, o.Lines[0].ID, 1), "Idempotency-Key", "audit-1")
	var r returnJSON
	resp.JSON(t, &r)
	agent := h.supportToken(t, "agent-11", "support:read support:write")
	h.waitAny(t, agent, "/v1/support/returns/"+r.Return.ID, "awaiting_parcel")
	if resp := h.do(t, http.MethodPost, "/v1/support/returns/"+r.Return.ID+":cancel", agent, map[string]string{"note": "duplicate"},
		"Idempotency-Key", "audit-cancel", "X-Request-Id", "req-audit-1"); resp.Status != http.StatusOK {
		t.Fatalf("cancel: %d %s", resp.Status, resp.Body)
	}
	if resp := h.do(t, http.MethodGet, "/v1/operations/audit", agent, nil); resp.Status != http.StatusForbidden {
		t.Errorf("audit log without the operator scope: %d", resp.Status)
	}
	resp = h.do(t, http.MethodGet, "/v1/operations/audit?limit=1000", h.supportToken(t, "ops-1", "support:read operator"), nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("audit log: %d %s", resp.Status, resp.Body)
	}
	var log struct {
		Entries []struct {
			Actor         string `json:"actor"`
			Action        string `json:"action"`
			CorrelationID string `json:"correlation_id"`
			Outcome       int    `json:"outcome"`
		} `json:"entries"`
	}
	resp.JSON(t, &log)
	found := false
	for _, e := range log.Entries {
		if e.CorrelationID == "req-audit-1" {
			found = e.Actor == "support:agent-11" && e.Outcome == http.StatusOK && strings.HasSuffix(e.Action, ":cancel")
		}
	}
	if !found {
		t.Errorf("the cancellation is not in the audit log: %s", resp.Body)
	}
}

// A customer who starts the return on the returns platform itself: its return.created webhook
// (delivered three times) makes Retailbridge adopt it once — eligibility re-checked — and drive
// it to the refund like any other.
func TestReturnStartedOnThePlatform(t *testing.T) {
	t.Parallel()
	h := newStackWith(t, withFastVendors(warehousesb.Outcomes{Resellable: 1}))
	h.Loop.SetDelivery(loopsb.DeliverySettings{MinCopies: 3, MaxCopies: 3})
	o := h.Demo.Scenario(demo.ScenarioPickUpInStore)
	body := fmt.Sprintf(`{"provider_order_id":%q,"customer_id":%q,"currency":"USD","return_method":"mail",
		"line_items":[{"provider_line_item_id":%q,"sku":%q,"quantity":1,"reason":"RETURN_REASON_CHANGED_MIND"}]}`,
		o.ID, o.CustomerID, o.Lines[0].ID, o.Lines[0].SKU)
	resp := testkit.Do(t, h.client, http.MethodPost, h.LoopURL+"/api/v1/returns", "", body,
		"X-Authorization", h.SandboxConfig()["LOOP_API_KEY"], "Idempotency-Key", "portal-1")
	if resp.Status >= 300 {
		t.Fatalf("creating the return on the platform: %d %s", resp.Status, resp.Body)
	}
	agent := h.supportToken(t, "ops", "support:read")
	var list struct {
		Returns []struct {
			ID string `json:"id"`
		} `json:"returns"`
	}
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline) && len(list.Returns) == 0; time.Sleep(100 * time.Millisecond) {
		h.do(t, http.MethodGet, "/v1/support/returns?order_id="+o.ID, agent, nil).JSON(t, &list)
	}
	if len(list.Returns) != 1 {
		t.Fatalf("returns for the order: %d, want the platform's return adopted once", len(list.Returns))
	}
	done := h.waitAny(t, agent, "/v1/support/returns/"+list.Returns[0].ID, "refunded")
	if n := h.Stripe.Stats().RefundsPerIntent[stripesb.PaymentIntentID(o.ID)]; n != 1 {
		t.Errorf("Stripe refunds %d, want 1", n)
	}
	if done.Return.ExternalIDs["returnsplatform"] == "" {
		t.Errorf("the adopted return lost its platform id: %+v", done.Return)
	}
	time.Sleep(500 * time.Millisecond) // late copies of the webhook change nothing
	h.do(t, http.MethodGet, "/v1/support/returns?order_id="+o.ID, agent, nil).JSON(t, &list)
	if len(list.Returns) != 1 {
		t.Errorf("returns for the order after the duplicates: %d, want 1", len(list.Returns))
	}
}

// EV-7 on the workflow: no parcel arrives; the durable timers send one reminder after 14 days and
// expire the return after 30, compensating what was done (label, storefront and platform
// returns, RMA).
func TestReturnWithoutParcelIsRemindedThenExpires(t *testing.T) {
	t.Parallel()
	h := newStackWith(t, func(o *stack.Options) { o.FastVendors, o.ManualParcels = true, true })
	o := h.Demo.Scenario(demo.ScenarioEligible)
	resp := h.do(t, http.MethodPost, "/v1/storefront/returns", h.token(t, demo.DemoCustomerID), createReturn(o.ID, o.Lines[0].ID, 1), "Idempotency-Key", "expire-1")
	var r returnJSON
	resp.JSON(t, &r)
	agent := h.supportToken(t, "ops", "support:read")
	path := "/v1/support/returns/" + r.Return.ID
	h.waitAny(t, agent, path, "awaiting_parcel")
	h.clock.Advance(15 * 24 * time.Hour)
	reminded := false
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && !reminded; time.Sleep(100 * time.Millisecond) {
		var got returnJSON
		h.do(t, http.MethodGet, path, agent, nil).JSON(t, &got)
		reminded = strings.Contains(fmt.Sprint(got.Timeline), "receipt reminder sent")
	}
	if !reminded {
		t.Fatal("no receipt reminder after 15 days")
	}
	h.clock.Advance(16 * 24 * time.Hour)
	done := h.waitAny(t, agent, path, "expired")
	reminders, compensations := 0, 0
	for _, e := range done.Timeline {
		if strings.Contains(e.Description, "receipt reminder sent") {
			reminders++
		}
		if strings.HasPrefix(e.Description, "compensated") {
			compensations++
		}
	}
	if reminders != 1 || compensations != 3 {
		t.Errorf("%d reminders and %d compensations, want 1 and 3: %+v", reminders, compensations, done.Timeline)
	}
}
