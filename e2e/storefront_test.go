package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/retailbridge/retailbridge/pkg/auth"
	"github.com/retailbridge/retailbridge/pkg/config"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
	"github.com/retailbridge/retailbridge/services/sandbox/faults"
)

type moneyJSON struct {
	AmountMinor  string `json:"amount_minor"`
	CurrencyCode string `json:"currency_code"`
}

type lineEligibility struct {
	OrderLineID        string   `json:"order_line_id"`
	SKU                string   `json:"sku"`
	RequestedQuantity  int      `json:"requested_quantity"`
	ReturnableQuantity int      `json:"returnable_quantity"`
	Eligible           bool     `json:"eligible"`
	Reason             string   `json:"reason"`
	ReturnDeadline     string   `json:"return_deadline"`
	Methods            []string `json:"methods"`
	RefundEstimate     struct {
		Gross         moneyJSON `json:"gross"`
		RestockingFee moneyJSON `json:"restocking_fee"`
		Refund        moneyJSON `json:"refund"`
	} `json:"refund_estimate"`
}

type eligibilityJSON struct {
	OrderID             string            `json:"order_id"`
	Lines               []lineEligibility `json:"lines"`
	RefundEstimateTotal moneyJSON         `json:"refund_estimate_total"`
}

type ordersJSON struct {
	Orders []struct {
		ID       string `json:"id"`
		Customer struct {
			ID string `json:"id"`
		} `json:"customer"`
		Lines []struct {
			ID string `json:"id"`
		} `json:"lines"`
	} `json:"orders"`
	NextPageToken string `json:"next_page_token"`
}

type selection struct {
	OrderLineID string `json:"order_line_id"`
	Quantity    int    `json:"quantity,omitempty"`
}

// eligibility is a check of orderID, of every line when none are named: the list is left out
// then, as a strict client does (the document types it as an array, and null is none).
func eligibility(orderID string, lines ...selection) map[string]any {
	if len(lines) == 0 {
		return map[string]any{"order_id": orderID}
	}
	return map[string]any{"order_id": orderID, "lines": lines}
}

func TestStorefrontListsOnlyTheCustomersOrders(t *testing.T) {
	t.Parallel()
	h := newStack(t)
	for _, customer := range []string{demo.DemoCustomerID, h.Demo.Customers[7].ID} {
		tok := h.token(t, customer)
		seen := map[string]bool{}
		path := "/v1/storefront/orders?page_size=5"
		for pages := 0; ; pages++ {
			if pages > 50 {
				t.Fatal("pagination does not end")
			}
			resp := h.do(t, http.MethodGet, path, tok, nil)
			if resp.Status != http.StatusOK {
				t.Fatalf("GET %s = %d %s", path, resp.Status, resp.Body)
			}
			var page ordersJSON
			resp.JSON(t, &page)
			for _, o := range page.Orders {
				if o.Customer.ID != customer {
					t.Errorf("customer %s sees order %s of customer %s", customer, o.ID, o.Customer.ID)
				}
				if seen[o.ID] {
					t.Errorf("order %s listed twice", o.ID)
				}
				seen[o.ID] = true
			}
			if page.NextPageToken == "" {
				break
			}
			path = "/v1/storefront/orders?page_size=5&page_token=" + page.NextPageToken
		}
		if want := len(h.Demo.OrdersOf(customer)); len(seen) != want {
			t.Errorf("customer %s: listed %d orders, want %d", customer, len(seen), want)
		}
	}
	// Asking for someone else's orders by query parameter changes nothing.
	resp := h.do(t, http.MethodGet, "/v1/storefront/orders?customer_id="+h.Demo.Customers[3].ID, h.token(t, demo.DemoCustomerID), nil)
	var page ordersJSON
	resp.JSON(t, &page)
	for _, o := range page.Orders {
		if o.Customer.ID != demo.DemoCustomerID {
			t.Fatalf("customer_id query parameter exposed order %s of %s", o.ID, o.Customer.ID)
		}
	}
}

func TestEligibilityReasonCodes(t *testing.T) {
	t.Parallel()
	h := newStack(t)
	tok := h.token(t, demo.DemoCustomerID)
	tests := []struct {
		scenario    string
		wantReasons []string // per order line, in order
		wantMethods []string
	}{
		{demo.ScenarioEligible, []string{"REASON_UNSPECIFIED", "REASON_UNSPECIFIED"}, []string{"RETURN_METHOD_MAIL"}},
		{demo.ScenarioPickUpInStore, []string{"REASON_UNSPECIFIED"}, []string{"RETURN_METHOD_MAIL", "RETURN_METHOD_IN_STORE"}},
		{demo.ScenarioFinalSale, []string{"REASON_FINAL_SALE"}, nil},
		{demo.ScenarioNonReturnable, []string{"REASON_NON_RETURNABLE_CATEGORY"}, nil},
		{demo.ScenarioOutsideWindow, []string{"REASON_OUTSIDE_WINDOW"}, nil},
		{demo.ScenarioLastDayOfWindow, []string{"REASON_UNSPECIFIED"}, []string{"RETURN_METHOD_MAIL"}},
		{demo.ScenarioNotDelivered, []string{"REASON_NOT_DELIVERED"}, nil},
		{demo.ScenarioUnfulfilled, []string{"REASON_NOT_DELIVERED"}, nil},
		{demo.ScenarioAlreadyReturned, []string{"REASON_ALREADY_RETURNED"}, nil},
		{demo.ScenarioAlreadyRefunded, []string{"REASON_ALREADY_REFUNDED"}, nil},
		{demo.ScenarioPartialRefund, []string{"REASON_UNSPECIFIED", "REASON_UNSPECIFIED"}, nil},
		{demo.ScenarioMixed, []string{"REASON_UNSPECIFIED", "REASON_FINAL_SALE", "REASON_NON_RETURNABLE_CATEGORY"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.scenario, func(t *testing.T) {
			t.Parallel()
			o := h.Demo.Scenario(tt.scenario)
			resp := h.do(t, http.MethodPost, "/v1/storefront/returns/eligibility", tok, eligibility(o.ID))
			if resp.Status != http.StatusOK {
				t.Fatalf("status %d: %s", resp.Status, resp.Body)
			}
			var got eligibilityJSON
			resp.JSON(t, &got)
			if len(got.Lines) != len(tt.wantReasons) {
				t.Fatalf("got %d lines, want %d: %s", len(got.Lines), len(tt.wantReasons), resp.Body)
			}
			for i, l := range got.Lines {
				if l.Reason != tt.wantReasons[i] || l.Eligible != (tt.wantReasons[i] == "REASON_UNSPECIFIED") {
					t.Errorf("line %s: got eligible=%v reason=%s, want %s", l.OrderLineID, l.Eligible, l.Reason, tt.wantReasons[i])
				}
				if l.Eligible && tt.wantMethods != nil && strings.Join(l.Methods, ",") != strings.Join(tt.wantMethods, ",") {
					t.Errorf("line %s: methods %v, want %v", l.OrderLineID, l.Methods, tt.wantMethods)
				}
				if l.Eligible {
					if _, err := time.Parse(time.RFC3339, l.ReturnDeadline); err != nil {
						t.Errorf("line %s: deadline %q: %v", l.OrderLineID, l.ReturnDeadline, err)
					}
					if l.RefundEstimate.Refund.CurrencyCode != "USD" || l.RefundEstimate.Refund.AmountMinor == "0" {
						t.Errorf("line %s: refund estimate %+v", l.OrderLineID, l.RefundEstimate)
					}
				}
			}
		})
	}
}

func TestEligibilityQuantitiesAndFees(t *testing.T) {
	t.Parallel()
	h := newStack(t)
	tok := h.token(t, demo.DemoCustomerID)

	// 3 bought, 1 refunded: 2 returnable; asking for 3 exceeds.
	pr := h.Demo.Scenario(demo.ScenarioPartialRefund)
	var got eligibilityJSON
	resp := h.do(t, http.MethodPost, "/v1/storefront/returns/eligibility", tok, eligibility(pr.ID, selection{pr.Lines[0].ID, 3}))
	resp.JSON(t, &got)
	if l := got.Lines[0]; l.Eligible || l.Reason != "REASON_QUANTITY_EXCEEDS_PURCHASED" || l.ReturnableQuantity != 2 {
		t.Errorf("3 of 2 returnable: got %+v", l)
	}
	resp = h.do(t, http.MethodPost, "/v1/storefront/returns/eligibility", tok, eligibility(pr.ID, selection{pr.Lines[0].ID, 2}))
	resp.JSON(t, &got)
	want := fmt.Sprint(2 * pr.Lines[0].UnitPriceMinor)
	if l := got.Lines[0]; !l.Eligible || l.RefundEstimate.Refund.AmountMinor != want {
		t.Errorf("2 of 2 returnable: got %+v, want refund %s", l, want)
	}

	// Electronics carry a restocking fee: refund = gross − fee, fee > 0.
	rf := h.Demo.Scenario(demo.ScenarioRestockingFee)
	resp = h.do(t, http.MethodPost, "/v1/storefront/returns/eligibility", tok, eligibility(rf.ID))
	resp.JSON(t, &got)
	l := got.Lines[0]
	if !l.Eligible || l.RefundEstimate.RestockingFee.AmountMinor == "0" {
		t.Fatalf("restocking fee scenario: %+v", l)
	}
	var gross, fee, refund int64
	fmt.Sscan(l.RefundEstimate.Gross.AmountMinor, &gross)
	fmt.Sscan(l.RefundEstimate.RestockingFee.AmountMinor, &fee)
	fmt.Sscan(l.RefundEstimate.Refund.AmountMinor, &refund)
	if gross != rf.Lines[0].UnitPriceMinor || refund != gross-fee {
		t.Errorf("gross %d fee %d refund %d for price %d", gross, fee, refund, rf.Lines[0].UnitPriceMinor)
	}
}

func TestAnotherCustomersOrderIsNotFound(t *testing.T) {
	t.Parallel()
	h := newStack(t)
	other := h.token(t, h.Demo.Customers[5].ID)
	mine := h.Demo.Scenario(demo.ScenarioEligible)

	foreign := h.do(t, http.MethodPost, "/v1/storefront/returns/eligibility", other, eligibility(mine.ID))
	unknown := h.do(t, http.MethodPost, "/v1/storefront/returns/eligibility", other, eligibility("9999999"))
	pf, pu := foreign.Problem(t), unknown.Problem(t)
	if foreign.Status != http.StatusNotFound || pf.Reason != pu.Reason || pf.Detail != pu.Detail {
		t.Errorf("another customer's order: %d %+v; unknown order: %d %+v — must be indistinguishable 404s", foreign.Status, pf, unknown.Status, pu)
	}
	if resp := h.do(t, http.MethodGet, "/v1/storefront/orders/"+mine.ID, other, nil); resp.Status != http.StatusNotFound {
		t.Errorf("GET another customer's order = %d, want 404", resp.Status)
	}
}

func TestBadInputGetsProblems(t *testing.T) {
	t.Parallel()
	h := newStack(t)
	tok := h.token(t, demo.DemoCustomerID)
	order := h.Demo.Scenario(demo.ScenarioEligible)
	huge := `{"order_id":"` + strings.Repeat("x", 70<<10) + `"}`
	tests := []struct {
		name       string
		method     string
		path       string
		token      string
		body       any
		headers    []string
		wantStatus int
	}{
		{"malformed json", "POST", "/v1/storefront/returns/eligibility", tok, `{"order_id": `, nil, 400},
		{"wrong type", "POST", "/v1/storefront/returns/eligibility", tok, `{"order_id": 5}`, nil, 400},
		{"unknown field", "POST", "/v1/storefront/returns/eligibility", tok, `{"order": "1"}`, nil, 400},
		{"missing order id", "POST", "/v1/storefront/returns/eligibility", tok, `{}`, nil, 400},
		{"negative quantity", "POST", "/v1/storefront/returns/eligibility", tok, eligibility(order.ID, selection{order.Lines[0].ID, -1}), nil, 400},
		{"unknown order", "POST", "/v1/storefront/returns/eligibility", tok, eligibility("5999999"), nil, 404},
		{"oversized body", "POST", "/v1/storefront/returns/eligibility", tok, huge, nil, 413},
		{"not json", "POST", "/v1/storefront/returns/eligibility", tok, "order=1", []string{"Content-Type", "text/plain"}, 415},
		{"no token", "POST", "/v1/storefront/returns/eligibility", "", eligibility(order.ID), nil, 401},
		{"garbage token", "GET", "/v1/storefront/orders", "not.a.jwt", nil, nil, 401},
		{"expired token", "GET", "/v1/storefront/orders", h.token(t, demo.DemoCustomerID, expired), nil, nil, 401},
		{"wrong method", "DELETE", "/v1/storefront/returns/eligibility", tok, nil, nil, 405},
		{"unknown route", "GET", "/v1/storefront/nothing-here", tok, nil, nil, 404},
		{"unknown top-level route", "GET", "/nothing", "", nil, nil, 404},
		{"page size too large", "GET", "/v1/storefront/orders?page_size=1000", tok, nil, nil, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp := h.do(t, tt.method, tt.path, tt.token, tt.body, tt.headers...)
			if resp.Status != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", resp.Status, tt.wantStatus, resp.Body)
			}
			p := resp.Problem(t)
			if p.Reason == "" || p.RequestID == "" || p.Detail == "" {
				t.Errorf("problem lacks reason, request id or detail: %+v", p)
			}
			if strings.Contains(string(resp.Body), "goroutine") || strings.Contains(string(resp.Body), ".go:") {
				t.Errorf("problem leaks internals: %s", resp.Body)
			}
		})
	}
}

func TestSlowOrDownVendorAnswersInTime(t *testing.T) {
	t.Parallel()
	h := newStack(t, func(c *config.Config) { c.RequestTimeout = 2 * time.Second })
	tok := h.token(t, demo.DemoCustomerID)
	orders := h.Demo.OrdersOf(demo.DemoCustomerID)
	check := func(t *testing.T, orderID string, wantStatus int) {
		t.Helper()
		start := time.Now()
		resp := h.do(t, http.MethodPost, "/v1/storefront/returns/eligibility", tok, eligibility(orderID))
		elapsed := time.Since(start)
		if resp.Status != wantStatus {
			t.Fatalf("status %d, want %d: %s", resp.Status, wantStatus, resp.Body)
		}
		p := resp.Problem(t)
		if strings.Contains(p.Detail, "127.0.0.1") || strings.Contains(p.Detail, "dial") {
			t.Errorf("problem leaks internals: %+v", p)
		}
		// The 2 s request deadline must bound the answer: no hang.
		if elapsed > 4*time.Second {
			t.Errorf("answered after %v; the 2s deadline was not honoured", elapsed)
		}
		if wantStatus == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == "" {
			t.Error("503 without Retry-After")
		}
	}
	t.Run("down", func(t *testing.T) {
		h.Shopify.Faults().Set(faults.Settings{Down: true})
		defer h.Shopify.Faults().Set(faults.Settings{})
		check(t, orders[0].ID, http.StatusServiceUnavailable)
	})
	t.Run("answers 503", func(t *testing.T) {
		h.erpFaults().Set(faults.Settings{ErrorRate: 1, ErrorStatus: 503})
		defer h.erpFaults().Set(faults.Settings{})
		check(t, orders[1].ID, http.StatusServiceUnavailable)
	})
	t.Run("slower than the deadline", func(t *testing.T) {
		h.Shopify.Faults().Set(faults.Settings{Latency: 10 * time.Second})
		defer h.Shopify.Faults().Set(faults.Settings{})
		check(t, orders[2].ID, http.StatusGatewayTimeout)
	})
	// Once the vendor is back, the same orders are answered.
	resp := h.do(t, http.MethodPost, "/v1/storefront/returns/eligibility", tok, eligibility(orders[0].ID))
	if resp.Status != http.StatusOK {
		t.Errorf("after recovery: %d %s", resp.Status, resp.Body)
	}
}

func TestRepeatedChecksCostNoVendorRoundTrip(t *testing.T) {
	t.Parallel()
	h := newStack(t)
	tok := h.token(t, demo.DemoCustomerID)
	o := h.Demo.Scenario(demo.ScenarioMixed)
	first := h.do(t, http.MethodPost, "/v1/storefront/returns/eligibility", tok, eligibility(o.ID))
	if first.Status != http.StatusOK {
		t.Fatalf("first check: %d %s", first.Status, first.Body)
	}
	shop, ns := h.Shopify.Faults().Requests(), h.erpFaults().Requests()
	for range 100 {
		if resp := h.do(t, http.MethodPost, "/v1/storefront/returns/eligibility", tok, eligibility(o.ID)); resp.Status != http.StatusOK {
			t.Fatalf("repeat check: %d", resp.Status)
		}
	}
	if d := h.Shopify.Faults().Requests() - shop; d != 0 {
		t.Errorf("100 repeated checks cost %d Shopify requests, want 0", d)
	}
	if d := h.erpFaults().Requests() - ns; d != 0 {
		t.Errorf("100 repeated checks cost %d NetSuite requests, want 0", d)
	}
}

func TestColdBurstObeysShopifyThrottle(t *testing.T) {
	t.Parallel()
	h := newStack(t, func(c *config.Config) { c.RequestTimeout = 30 * time.Second })
	// A 1000-point bucket restoring 1000 points/s: ten cold orders (377 requested points each)
	// need three times the bucket, so the connector must wait for restored points.
	h.Shopify.SetThrottle(1000, 1000)
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	h.client.Timeout = 60 * time.Second
	for _, c := range h.Demo.Customers[:5] {
		tok := h.token(t, c.ID)
		for _, o := range h.Demo.OrdersOf(c.ID)[:2] {
			wg.Go(func() {
				resp := h.do(t, http.MethodPost, "/v1/storefront/returns/eligibility", tok, eligibility(o.ID))
				mu.Lock()
				statuses[resp.Status]++
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	st := h.Shopify.Stats()
	t.Logf("cold burst of 10 distinct orders: statuses %v; Shopify queries %d, throttled answers %d", statuses, st.Queries, st.Throttled)
	if statuses[http.StatusOK] != 10 {
		t.Errorf("statuses %v, want 10 × 200", statuses)
	}
	if st.Throttled > 2 {
		t.Errorf("Shopify answered THROTTLED %d times: the connector hammers instead of waiting", st.Throttled)
	}
}

func expired(c *auth.Claims) {
	c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-time.Hour))
	c.IssuedAt = jwt.NewNumericDate(time.Now().Add(-2 * time.Hour))
}
