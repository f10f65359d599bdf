package shopify_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/retailbridge/retailbridge/services/sandbox/demo"
	"github.com/retailbridge/retailbridge/services/sandbox/shopify"
)

const fulfillmentQuery = `query($id: ID!) { order(id: $id) {
  displayFinancialStatus
  lineItems(first: 10) { nodes { id currentQuantity refundableQuantity } }
  fulfillments { fulfillmentLineItems(first: 10) { nodes { id quantity lineItem { id } } } }
  refunds { id totalRefundedSet { shopMoney { amount } } refundLineItems(first: 10) { nodes { quantity restockType } } }
  returns(first: 5) { nodes { id status returnLineItems(first: 5) { nodes { quantity ... on ReturnLineItem { returnReason returnReasonNote } } } } }
} }`

func orderState(tb testing.TB, h http.Handler, id string) any {
	tb.Helper()
	a := call(tb, h, "2026-07", shopify.DefaultAccessToken, fulfillmentQuery, map[string]any{"id": "gid://shopify/Order/" + id})
	o := path(a.body, "data", "order")
	if o == nil {
		tb.Fatalf("order %s: %s", id, a.raw)
	}
	return o
}

const returnCreate = `mutation($input: ReturnInput!) { returnCreate(returnInput: $input) {
  return { id name status returnLineItems(first: 5) { nodes { quantity } } }
  userErrors { code field message } } }`

const returnClose = `mutation($id: ID!) { returnClose(id: $id) { return { id status closedAt } userErrors { code field message } } }`

const refundCreate = `mutation($input: RefundInput!, $key: String!) { refundCreate(input: $input) @idempotent(key: $key) {
  refund { id totalRefundedSet { shopMoney { amount } } }
  order { id displayFinancialStatus }
  userErrors { field message } } }`

func TestReturnCreateAndClose(t *testing.T) {
	t.Parallel()
	s, _ := newSandbox(t, shopify.Options{})
	o := dataset().Scenario(demo.ScenarioMultipleQuantity) // one line of four units, a declined return
	fli := path(orderState(t, s, o.ID), "fulfillments", 0, "fulfillmentLineItems", "nodes", 0, "id")
	input := func(q int) map[string]any {
		return map[string]any{"input": map[string]any{"orderId": "gid://shopify/Order/" + o.ID,
			"returnLineItems": []any{map[string]any{"fulfillmentLineItemId": fli, "quantity": q, "returnReason": "SIZE_TOO_SMALL", "returnReasonNote": "ref rb-1"}}}}
	}
	a := call(t, s, "2026-07", shopify.DefaultAccessToken, returnCreate, input(3))
	ret := path(a.body, "data", "returnCreate", "return")
	if ret == nil || path(ret, "status") != "OPEN" || path(ret, "returnLineItems", "nodes", 0, "quantity") != 3.0 {
		t.Fatalf("returnCreate: %s", a.raw)
	}
	if cost := path(a.body, "extensions", "cost", "requestedQueryCost"); cost != 10.0 {
		t.Errorf("mutation cost %v; want 10", cost)
	}
	returns := path(orderState(t, s, o.ID), "returns", "nodes").([]any)
	if len(returns) != 2 || path(returns[1], "returnLineItems", "nodes", 0, "returnReason") != "SIZE_TOO_SMALL" ||
		path(returns[1], "returnLineItems", "nodes", 0, "returnReasonNote") != "ref rb-1" {
		t.Errorf("order's returns after returnCreate: %v", returns)
	}

	// One unit is left to return; the declined return does not count.
	a = call(t, s, "2026-07", shopify.DefaultAccessToken, returnCreate, input(2))
	if path(a.body, "data", "returnCreate", "userErrors", 0, "code") != "GREATER_THAN" || path(a.body, "data", "returnCreate", "return") != nil {
		t.Errorf("returning more than is left: %s", a.raw)
	}

	id := path(ret, "id")
	a = call(t, s, "2026-07", shopify.DefaultAccessToken, returnClose, map[string]any{"id": id})
	if path(a.body, "data", "returnClose", "return", "status") != "CLOSED" || path(a.body, "data", "returnClose", "return", "closedAt") == nil {
		t.Errorf("returnClose: %s", a.raw)
	}
	a = call(t, s, "2026-07", shopify.DefaultAccessToken, returnClose, map[string]any{"id": id})
	if path(a.body, "data", "returnClose", "userErrors", 0, "code") != "INVALID_STATE" {
		t.Errorf("closing a closed return: %s", a.raw)
	}
	a = call(t, s, "2026-07", shopify.DefaultAccessToken, returnClose, map[string]any{"id": "gid://shopify/Return/1"})
	if path(a.body, "data", "returnClose", "userErrors", 0, "code") != "NOT_FOUND" {
		t.Errorf("closing an unknown return: %s", a.raw)
	}
	a = call(t, s, "2026-07", shopify.DefaultAccessToken, `query($id: ID!) { return(id: $id) { status } }`, map[string]any{"id": id})
	if path(a.body, "data", "return", "status") != "CLOSED" {
		t.Errorf("return query: %s", a.raw)
	}
	if st := s.Stats(); st.Mutations != 5 {
		t.Errorf("mutations %d; want 5", st.Mutations)
	}
}

func refundInput(o demo.Order, line string, qty int, amount string) map[string]any {
	return map[string]any{"orderId": "gid://shopify/Order/" + o.ID,
		"refundLineItems": []any{map[string]any{"lineItemId": line, "quantity": qty, "restockType": "RETURN"}},
		"transactions":    []any{map[string]any{"orderId": "gid://shopify/Order/" + o.ID, "kind": "REFUND", "gateway": "manual", "amount": amount}},
		"note":            "Retailbridge refund"}
}

func TestRefundCreateIsIdempotent(t *testing.T) {
	t.Parallel()
	s, _ := newSandbox(t, shopify.Options{})
	o := dataset().Scenario(demo.ScenarioEligible) // lines of one and two units
	line := path(orderState(t, s, o.ID), "lineItems", "nodes", 1, "id")
	price := func(minor int64) string { return strings.TrimSuffix(strings.TrimSuffix(formatMinor(minor), "0"), ".0") }
	first := refundInput(o, line.(string), 1, price(o.Lines[1].UnitPriceMinor))

	a := call(t, s, "2026-07", shopify.DefaultAccessToken, refundCreate, map[string]any{"input": first, "key": "rf-1"})
	refundID := path(a.body, "data", "refundCreate", "refund", "id")
	if refundID == nil || path(a.body, "data", "refundCreate", "order", "displayFinancialStatus") != "PARTIALLY_REFUNDED" {
		t.Fatalf("refundCreate: %s", a.raw)
	}
	for range 3 {
		a = call(t, s, "2026-07", shopify.DefaultAccessToken, refundCreate, map[string]any{"input": first, "key": "rf-1"})
		if got := path(a.body, "data", "refundCreate", "refund", "id"); got != refundID {
			t.Errorf("repeat with the key: refund %v; want the first, %v", got, refundID)
		}
	}
	state := orderState(t, s, o.ID)
	if n := len(path(state, "refunds").([]any)); n != 1 {
		t.Errorf("refunds after repeats: %d; want 1", n)
	}
	if got := path(state, "lineItems", "nodes", 1, "currentQuantity"); got != float64(o.Lines[1].Quantity-1) {
		t.Errorf("current quantity %v; want %d", got, o.Lines[1].Quantity-1)
	}

	other := refundInput(o, line.(string), 1, "1.00")
	a = call(t, s, "2026-07", shopify.DefaultAccessToken, refundCreate, map[string]any{"input": other, "key": "rf-1"})
	// RefundCreatePayload's UserError has no code: the conflict is a top-level error.
	if path(a.body, "errors", 0, "extensions", "code") != "IDEMPOTENCY_KEY_PARAMETER_MISMATCH" {
		t.Errorf("same key, other input: %s", a.raw)
	}

	noKey := `mutation($input: RefundInput!) { refundCreate(input: $input) { refund { id } userErrors { message } } }`
	a = call(t, s, "2026-04", shopify.DefaultAccessToken, noKey, map[string]any{"input": other})
	if msg, _ := path(a.body, "errors", 0, "message").(string); !strings.Contains(msg, "@idempotent") || path(a.body, "data") != nil {
		t.Errorf("no key on 2026-04: %s", a.raw)
	}
	a = call(t, s, "2026-01", shopify.DefaultAccessToken, noKey, map[string]any{"input": other})
	if path(a.body, "data", "refundCreate", "refund", "id") == nil {
		t.Errorf("no key on 2026-01 (optional there): %s", a.raw)
	}

	tooMuch := refundInput(o, path(state, "lineItems", "nodes", 0, "id").(string), 1, formatMinor(o.TotalMinor()))
	a = call(t, s, "2026-07", shopify.DefaultAccessToken, refundCreate, map[string]any{"input": tooMuch, "key": "rf-2"})
	if msg, _ := path(a.body, "data", "refundCreate", "userErrors", 0, "message").(string); !strings.Contains(msg, "greater than") {
		t.Errorf("refunding more than is left: %s", a.raw)
	}
	rest := o.TotalMinor() - o.Lines[1].UnitPriceMinor - 100
	last := map[string]any{"orderId": "gid://shopify/Order/" + o.ID, "transactions": []any{map[string]any{
		"orderId": "gid://shopify/Order/" + o.ID, "kind": "REFUND", "gateway": "manual", "amount": formatMinor(rest)}}}
	a = call(t, s, "2026-07", shopify.DefaultAccessToken, refundCreate, map[string]any{"input": last, "key": "rf-3"})
	if path(a.body, "data", "refundCreate", "order", "displayFinancialStatus") != "REFUNDED" {
		t.Errorf("refunding the rest: %s", a.raw)
	}
}

func formatMinor(minor int64) string {
	s := strings.Repeat("0", max(0, 3-len(itoa(minor)))) + itoa(minor)
	return s[:len(s)-2] + "." + s[len(s)-2:]
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

// delivery is one webhook POST as the receiver saw it.
type delivery struct {
	header http.Header
	body   []byte
}

func TestWebhooks(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []delivery
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, delivery{r.Header.Clone(), body})
		mu.Unlock()
	}))
	t.Cleanup(receiver.Close)
	s, _ := newSandbox(t, shopify.Options{Webhooks: shopify.WebhookConfig{URL: receiver.URL, Secret: "whsec"}})
	s.SetWebhookFaults(shopify.WebhookFaults{Copies: 3, Jitter: 20 * time.Millisecond})
	o := dataset().Scenario(demo.ScenarioEligible)
	line := path(orderState(t, s, o.ID), "lineItems", "nodes", 0, "id").(string)
	a := call(t, s, "2026-07", shopify.DefaultAccessToken, refundCreate,
		map[string]any{"input": refundInput(o, line, 1, formatMinor(o.Lines[0].UnitPriceMinor)), "key": "wh-1"})
	rid, ok := path(a.body, "data", "refundCreate", "refund", "id").(string)
	if !ok {
		t.Fatalf("refundCreate: %s", a.raw)
	}
	refundID := strings.TrimPrefix(rid, "gid://shopify/Refund/")
	// A replay changes nothing and announces nothing.
	call(t, s, "2026-07", shopify.DefaultAccessToken, refundCreate,
		map[string]any{"input": refundInput(o, line, 1, formatMinor(o.Lines[0].UnitPriceMinor)), "key": "wh-1"})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.DrainWebhooks(ctx); err != nil {
		t.Fatal(err)
	}
	if st := s.WebhookStats(); st != (shopify.WebhookStats{Events: 2, Attempts: 6, Delivered: 6}) {
		t.Errorf("webhook stats %+v; want 2 events delivered 3 times each", st)
	}
	byTopic := map[string][]delivery{}
	for _, d := range got {
		byTopic[d.header.Get("X-Shopify-Topic")] = append(byTopic[d.header.Get("X-Shopify-Topic")], d)
		mac := hmac.New(sha256.New, []byte("whsec"))
		mac.Write(d.body)
		if d.header.Get("X-Shopify-Hmac-Sha256") != base64.StdEncoding.EncodeToString(mac.Sum(nil)) {
			t.Errorf("%s: signature does not match the body", d.header.Get("X-Shopify-Topic"))
		}
		for _, h := range []string{"X-Shopify-Webhook-Id", "X-Shopify-Event-Id", "X-Shopify-Triggered-At"} {
			if d.header.Get(h) == "" {
				t.Errorf("%s: no %s", d.header.Get("X-Shopify-Topic"), h)
			}
		}
		if d.header.Get("X-Shopify-Shop-Domain") != shopify.ShopDomain || d.header.Get("X-Shopify-API-Version") != "2026-10" {
			t.Errorf("headers %v", d.header)
		}
	}
	for topic, ds := range byTopic {
		if len(ds) != 3 {
			t.Errorf("%s delivered %d times; want 3", topic, len(ds))
			continue
		}
		for _, d := range ds[1:] {
			if d.header.Get("X-Shopify-Webhook-Id") != ds[0].header.Get("X-Shopify-Webhook-Id") || string(d.body) != string(ds[0].body) {
				t.Errorf("%s: copies differ in webhook id or body", topic)
			}
		}
	}
	var refund struct {
		ID              int64 `json:"id"`
		OrderID         int64 `json:"order_id"`
		RefundLineItems []struct {
			LineItemID  int64  `json:"line_item_id"`
			Quantity    int    `json:"quantity"`
			RestockType string `json:"restock_type"`
		} `json:"refund_line_items"`
		Transactions []struct {
			Kind, Status, Amount string
		} `json:"transactions"`
	}
	if len(byTopic[shopify.TopicRefundsCreate]) > 0 {
		if err := json.Unmarshal(byTopic[shopify.TopicRefundsCreate][0].body, &refund); err != nil {
			t.Fatal(err)
		}
	}
	want := `{"id":` + refundID + `,"order_id":` + o.ID + `,"refund_line_items":[{"line_item_id":` + o.Lines[0].ID +
		`,"quantity":1,"restock_type":"return"}],"transactions":[{"Kind":"refund","Status":"success","Amount":"` + formatMinor(o.Lines[0].UnitPriceMinor) + `"}]}`
	if b, _ := json.Marshal(refund); string(b) != want {
		t.Errorf("refunds/create payload:\n got %s\nwant %s", b, want)
	}
	var order map[string]any
	if len(byTopic[shopify.TopicOrdersUpdated]) > 0 {
		_ = json.Unmarshal(byTopic[shopify.TopicOrdersUpdated][0].body, &order)
	}
	if diff := cmp.Diff([]any{"partially_refunded", 1.0}, []any{order["financial_status"], path(order, "refunds", 0, "refund_line_items", 0, "quantity")}); diff != "" {
		t.Errorf("orders/updated payload mismatch (-want +got):\n%s", diff)
	}

	s.SetWebhookFaults(shopify.WebhookFaults{DropRate: 1})
	call(t, s, "2026-07", shopify.DefaultAccessToken, returnClose, map[string]any{"id": "gid://shopify/Return/1"}) // fails: no event
	line2 := path(orderState(t, s, o.ID), "lineItems", "nodes", 1, "id").(string)
	call(t, s, "2026-07", shopify.DefaultAccessToken, refundCreate,
		map[string]any{"input": refundInput(o, line2, 1, "1.00"), "key": "wh-2"})
	_ = s.DrainWebhooks(ctx)
	if st := s.WebhookStats(); st.Events != 4 || st.Dropped != 2 || st.Delivered != 6 {
		t.Errorf("after dropping: %+v; want 2 more events, both dropped", st)
	}
}
