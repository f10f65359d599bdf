package shopify_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/retailbridge/retailbridge/services/sandbox/demo"
	"github.com/retailbridge/retailbridge/services/sandbox/shopify"

	"github.com/retailbridge/retailbridge/pkg/testkit"
)

const restartOrderQuery = `query($id: ID!) { order(id: $id) {
  displayFinancialStatus
  lineItems(first: 10) { nodes { id currentQuantity } }
  fulfillments { fulfillmentLineItems(first: 10) { nodes { id } } }
  refunds { id }
  returns(first: 5) { nodes { id status } }
} }`

const restartRefund = `mutation($input: RefundInput!, $key: String!) { refundCreate(input: $input) @idempotent(key: $key) {
  refund { id } userErrors { field message } } }`

const restartReturn = `mutation($input: ReturnInput!) { returnCreate(returnInput: $input) {
  return { id } userErrors { field message } } }`

// TestRestartKeepsTheShop restarts the shop on the same state directory: the return and refund
// a mutation made, the @idempotent key (a retry returns the first refund rather than refunding
// the unit again, the double refund D17 found) and the id counter survive.
func TestRestartKeepsTheShop(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	o := dataset().Scenario(demo.ScenarioEligible)
	gid := "gid://shopify/Order/" + o.ID
	first, err := shopify.Open(dataset(), shopify.Options{Now: (&clock{t: now}).Now, StateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	before := call(t, first, "2026-07", shopify.DefaultAccessToken, restartOrderQuery, map[string]any{"id": gid})
	line := path(before.body, "data", "order", "lineItems", "nodes", 1, "id").(string)
	fli := path(before.body, "data", "order", "fulfillments", 0, "fulfillmentLineItems", "nodes", 1, "id")
	ret := call(t, first, "2026-07", shopify.DefaultAccessToken, restartReturn, map[string]any{"input": map[string]any{
		"orderId": gid, "returnLineItems": []any{map[string]any{"fulfillmentLineItemId": fli, "quantity": 1}}}})
	input := refundInput(o, line, 1, formatMinor(o.Lines[1].UnitPriceMinor))
	refund := call(t, first, "2026-07", shopify.DefaultAccessToken, restartRefund, map[string]any{"input": input, "key": "rb-rf-1"})
	refundID := path(refund.body, "data", "refundCreate", "refund", "id")
	if refundID == nil || path(ret.body, "data", "returnCreate", "return", "id") == nil {
		t.Fatalf("mutations before the restart: %s / %s", ret.raw, refund.raw)
	}
	kept := call(t, first, "2026-07", shopify.DefaultAccessToken, restartOrderQuery, map[string]any{"id": gid}).body

	second, err := shopify.Open(dataset(), shopify.Options{Now: (&clock{t: now}).Now, StateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	after := call(t, second, "2026-07", shopify.DefaultAccessToken, restartOrderQuery, map[string]any{"id": gid}).body
	if diff := cmp.Diff(kept["data"], after["data"]); diff != "" {
		t.Errorf("order after restart (-before +after):\n%s", diff)
	}
	again := call(t, second, "2026-07", shopify.DefaultAccessToken, restartRefund, map[string]any{"input": input, "key": "rb-rf-1"})
	if got := path(again.body, "data", "refundCreate", "refund", "id"); got != refundID {
		t.Errorf("retried refundCreate after restart: refund %v; want the first, %v (%s)", got, refundID, again.raw)
	}
	if n := len(path(call(t, second, "2026-07", shopify.DefaultAccessToken, restartOrderQuery, map[string]any{"id": gid}).body,
		"data", "order", "refunds").([]any)); n != len(path(kept, "data", "order", "refunds").([]any)) {
		t.Errorf("refunds after the retry: %d; want no new one", n)
	}
	other := call(t, second, "2026-07", shopify.DefaultAccessToken, restartRefund, map[string]any{
		"input": refundInput(o, path(after, "data", "order", "lineItems", "nodes", 0, "id").(string), 1, "1.00"), "key": "rb-rf-2"})
	if id := path(other.body, "data", "refundCreate", "refund", "id"); id == nil || id == refundID {
		t.Errorf("new refund after restart: %v; want a new id after %v (%s)", id, refundID, other.raw)
	}
}

// A webhook the receiver had not taken when the shop stopped is delivered by the restarted shop,
// under the same X-Shopify-Webhook-Id and signed over the same body; one the receiver took is not
// delivered again.
func TestRestartDeliversOwedWebhooks(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var mu sync.Mutex
	release := make(chan struct{})
	held := map[string]string{} // webhook id → topic, as the stopped receiver saw them
	stuck := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		held[r.Header.Get("X-Shopify-Webhook-Id")] = r.Header.Get("X-Shopify-Topic")
		mu.Unlock()
		select { // never answers: the shop stops with the delivery under way
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(stuck.Close)
	t.Cleanup(func() { close(release) })
	first, err := shopify.Open(dataset(), shopify.Options{Now: (&clock{t: now}).Now, StateDir: dir,
		Webhooks: shopify.WebhookConfig{URL: stuck.URL, Secret: "whsec"}, WebhookClient: &http.Client{}})
	if err != nil {
		t.Fatal(err)
	}
	o := dataset().Scenario(demo.ScenarioEligible)
	line := path(orderState(t, first, o.ID), "lineItems", "nodes", 0, "id").(string)
	a := call(t, first, "2026-07", shopify.DefaultAccessToken, restartRefund,
		map[string]any{"input": refundInput(o, line, 1, formatMinor(o.Lines[0].UnitPriceMinor)), "key": "wh-restart"})
	if path(a.body, "data", "refundCreate", "refund", "id") == nil {
		t.Fatalf("refundCreate: %s", a.raw)
	}
	waitFor(t, "both webhooks under way", func() bool { mu.Lock(); defer mu.Unlock(); return len(held) == 2 })
	first.Close()

	var got []delivery
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, delivery{r.Header.Clone(), body})
		mu.Unlock()
	}))
	t.Cleanup(receiver.Close)
	second, err := shopify.Open(dataset(), shopify.Options{Now: (&clock{t: now}).Now, StateDir: dir,
		Webhooks: shopify.WebhookConfig{URL: receiver.URL, Secret: "whsec"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(second.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := second.DrainWebhooks(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != len(held) {
		t.Errorf("delivered after the restart: %d webhooks; want the %d owed", len(got), len(held))
	}
	for _, d := range got {
		id := d.header.Get("X-Shopify-Webhook-Id")
		if held[id] == "" || held[id] != d.header.Get("X-Shopify-Topic") {
			t.Errorf("delivered %s %s after the restart; not one owed before it (%v)", d.header.Get("X-Shopify-Topic"), id, held)
		}
		mac := hmac.New(sha256.New, []byte("whsec"))
		mac.Write(d.body)
		if d.header.Get("X-Shopify-Hmac-Sha256") != base64.StdEncoding.EncodeToString(mac.Sum(nil)) {
			t.Errorf("%s: signature does not match the body", id)
		}
	}

	// Taken once, they are no longer owed: a third shop delivers nothing.
	third, err := shopify.Open(dataset(), shopify.Options{Now: (&clock{t: now}).Now, StateDir: dir,
		Webhooks: shopify.WebhookConfig{URL: receiver.URL, Secret: "whsec"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(third.Close)
	if err := third.DrainWebhooks(ctx); err != nil {
		t.Fatal(err)
	}
	if st := third.WebhookStats(); st.Attempts != 0 {
		t.Errorf("third shop made %d delivery attempts; want none, the receiver took every webhook", st.Attempts)
	}
}

// waitFor polls cond until it holds, failing the test after ten seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testkit.Eventually(t, 10*time.Second, what, cond)
}
