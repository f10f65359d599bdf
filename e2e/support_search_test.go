package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// searchHitsJSON is the support search's answer, orders or returns.
type searchHitsJSON struct {
	Hits []struct {
		OrderID       string `json:"order_id"`
		Name          string `json:"name"`
		CustomerEmail string `json:"customer_email"`
		Matched       string `json:"matched"`
		State         string `json:"state"`
		Return        struct {
			ID string `json:"id"`
		} `json:"return"`
	} `json:"hits"`
}

// supportSearch searches orders through the support API the way a customer-service tool does:
// by order number (with and without "#"), and by payment reference; a token without
// support:read is refused, and a missing query is a 400 problem.
func supportSearch(t *testing.T, h *harness, id string) {
	t.Helper()
	tok := h.supportToken(t, "cs-tool", "support:read")
	for q, want := range map[string]string{"#" + id: "order number", id: "order id", "pi_" + id: "payment reference"} {
		resp := h.do(t, http.MethodGet, "/v1/support/search/orders?q="+url.QueryEscape(q), tok, nil)
		if resp.Status != http.StatusOK {
			t.Fatalf("search %q: %d %s", q, resp.Status, resp.Body)
		}
		var got searchHitsJSON
		resp.JSON(t, &got)
		if len(got.Hits) != 1 || got.Hits[0].OrderID != id || got.Hits[0].Matched != want || got.Hits[0].Name != "#"+id {
			t.Errorf("search %q: %+v, want %s matched by %s", q, got.Hits, id, want)
		}
	}
	if resp := h.do(t, http.MethodGet, "/v1/support/search/orders?q=x", h.supportToken(t, "cs-tool", "support:write"), nil); resp.Status != http.StatusForbidden {
		t.Errorf("search without support:read: %d %s", resp.Status, resp.Body)
	}
	resp := h.do(t, http.MethodGet, "/v1/support/search/orders", tok, nil)
	if resp.Status != http.StatusBadRequest || !strings.Contains(resp.Header.Get("Content-Type"), "problem+json") {
		t.Errorf("search without q: %d %s %s", resp.Status, resp.Header.Get("Content-Type"), resp.Body)
	}
	returns := h.do(t, http.MethodGet, "/v1/support/search/returns?q="+url.QueryEscape("no-such-rma"), tok, nil)
	if returns.Status != http.StatusOK || strings.Contains(string(returns.Body), `"return"`) {
		t.Errorf("return search for an unknown RMA: %d %s", returns.Status, returns.Body)
	}
}
