package e2e

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/pkg/testkit"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
)

// storeOrdersJSON is a listing with its freshness.
type storeOrdersJSON struct {
	Orders []struct {
		ID string `json:"id"`
	} `json:"orders"`
	NextPageToken string `json:"next_page_token"`
	AsOf          string `json:"as_of"`
}

// listAll pages through path (which has a query string) and returns the order ids.
func (h *harness) listAll(t testing.TB, path, tok string) ([]string, []string) {
	t.Helper()
	var ids, asOf []string
	token := ""
	for pages := 0; pages < 200; pages++ {
		p := path
		if token != "" {
			p += "&page_token=" + url.QueryEscape(token)
		}
		resp := h.do(t, http.MethodGet, p, tok, nil)
		if resp.Status != http.StatusOK {
			t.Fatalf("GET %s = %d %s", p, resp.Status, resp.Body)
		}
		var page storeOrdersJSON
		resp.JSON(t, &page)
		for _, o := range page.Orders {
			ids = append(ids, o.ID)
		}
		asOf = append(asOf, page.AsOf)
		if token = page.NextPageToken; token == "" || len(page.Orders) == 0 {
			return ids, asOf
		}
	}
	t.Fatal("pagination does not end")
	return nil, nil
}

// TestOrderStoreServesReadsWithoutVendorCalls: through the gateway, once a customer's listing is
// held whole, listings at any page size, every single order and return eligibility cost no
// Shopify request; an order placed in the shop arrives by signed webhook and is listed, and
// support's change feed (changed_since) shows it, with no Shopify request either.
func TestOrderStoreServesReadsWithoutVendorCalls(t *testing.T) {
	t.Parallel()
	h := newStack(t)
	customer := demo.DemoCustomerID
	tok := h.token(t, customer)
	var want []string
	for _, o := range h.Demo.OrdersOf(customer) {
		want = append(want, o.ID)
	}
	// The first listing is answered by Shopify while the store reads it whole. Each round asks
	// with a page size not asked before, so a page cached from Shopify cannot pass for the store.
	size := 8
	testkit.Eventually(t, 60*time.Second, "a whole listing at a new page size costs no Shopify request", func() bool {
		size++
		before := h.Shopify.Faults().Requests()
		ids, _ := h.listAll(t, "/v1/storefront/orders?page_size="+strconv.Itoa(size), tok)
		return slices.Equal(ids, want) && h.Shopify.Faults().Requests() == before
	})

	before := h.Shopify.Faults().Requests()
	reads := 0
	for _, size := range []int{1, 3, 7, 25, 100} {
		ids, asOf := h.listAll(t, "/v1/storefront/orders?page_size="+strconv.Itoa(size), tok)
		reads += len(asOf)
		if !slices.Equal(ids, want) {
			t.Errorf("page size %d listed %v, want %v", size, ids, want)
		}
		if slices.Contains(asOf, "") {
			t.Errorf("page size %d: a page without as_of", size)
		}
	}
	for _, id := range want {
		resp := h.do(t, http.MethodGet, "/v1/storefront/orders/"+id, tok, nil)
		reads++
		var one struct {
			AsOf string `json:"as_of"`
		}
		resp.JSON(t, &one)
		if resp.Status != http.StatusOK || one.AsOf == "" {
			t.Errorf("GET order %s = %d %s", id, resp.Status, resp.Body)
		}
	}
	o := h.Demo.Scenario(demo.ScenarioMixed)
	if resp := h.do(t, http.MethodPost, "/v1/storefront/returns/eligibility", tok, eligibility(o.ID)); resp.Status != http.StatusOK {
		t.Errorf("eligibility = %d %s", resp.Status, resp.Body)
	}
	reads++
	got := h.Shopify.Faults().Requests() - before
	t.Logf("%d reads through the gateway (lists at page sizes 1, 3, 7, 25, 100; %d single orders; eligibility): %d Shopify requests",
		reads, len(want), got)
	if got != 0 {
		t.Errorf("Shopify requests on reads of known orders = %d, want 0", got)
	}

	// A checkout in the shop: the signed orders/create reaches the store through the gateway.
	since := h.clock.Now().Add(-time.Second).UTC().Format(time.RFC3339Nano) // the stack's business clock
	id, err := h.Shopify.PlaceOrder(customer, []demo.Line{{SKU: o.Lines[0].SKU, Title: o.Lines[0].Title, Quantity: 1, UnitPriceMinor: 1200}})
	if err != nil {
		t.Fatal(err)
	}
	want = append([]string{id}, want...)
	testkit.Eventually(t, 30*time.Second, "the new order is listed", func() bool {
		ids, _ := h.listAll(t, "/v1/storefront/orders?page_size=50", tok)
		return slices.Equal(ids, want)
	})
	sup := h.supportToken(t, "agent-7", "support:read")
	var feed []string
	testkit.Eventually(t, 30*time.Second, "the new order is in the change feed", func() bool {
		feed, _ = h.listAll(t, "/v1/support/orders?customer_id="+customer+"&changed_since="+url.QueryEscape(since), sup)
		return slices.Contains(feed, id)
	})
	if got := h.Shopify.Faults().Requests() - before; got != 0 {
		t.Errorf("Shopify requests including the new order's arrival = %d, want 0", got)
	}
	if bad := h.do(t, http.MethodGet, "/v1/support/orders?customer_id="+customer+"&changed_since=yesterday", sup, nil); bad.Status != http.StatusBadRequest {
		t.Errorf("changed_since=yesterday = %d %s, want 400", bad.Status, bad.Body)
	}
}
