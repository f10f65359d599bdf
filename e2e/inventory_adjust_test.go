package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

type adjustJSON struct {
	MovementID string `json:"movement_id"`
	Delta      string `json:"delta"`
	Quantity   string `json:"quantity"`
	Replayed   bool   `json:"replayed"`
}

// TestInventoryManualAdjustmentThroughTheStack adjusts stock by hand through the support route:
// the ledger line carries the agent as its actor; the same Idempotency-Key changes nothing twice;
// bad input and an adjustment below zero are RFC 9457 problems; support:read alone is refused;
// the operator's audit log lists the request.
func TestInventoryManualAdjustmentThroughTheStack(t *testing.T) {
	t.Parallel()
	h := newStack(t)
	agent := h.supportToken(t, "agent-adj", "support:read support:write")
	const sku, loc = "ADJ-E2E-1", "dc-east"
	body := map[string]any{"sku": sku, "location_id": loc, "state": "INVENTORY_STATE_SELLABLE", "delta": "6",
		"reason_code": "found", "note": "found behind the shelf"}
	first := h.do(t, http.MethodPost, "/v1/support/inventory/adjustments", agent, body, "Idempotency-Key", "adj-1")
	if first.Status != http.StatusOK {
		t.Fatalf("adjust: %d %s", first.Status, first.Body)
	}
	var a adjustJSON
	first.JSON(t, &a)
	if a.MovementID == "" || a.Delta != "6" || a.Quantity != "6" {
		t.Errorf("adjustment answer = %+v; want +6 to 6 with a movement id", a)
	}
	again := h.do(t, http.MethodPost, "/v1/support/inventory/adjustments", agent, body, "Idempotency-Key", "adj-1")
	if again.Status != http.StatusOK {
		t.Errorf("repeat: %d %s", again.Status, again.Body)
	}
	q := url.Values{"sku": {sku}, "location_id": {loc}, "state": {"INVENTORY_STATE_SELLABLE"}}
	resp := h.do(t, http.MethodGet, "/v1/support/inventory/movements?"+q.Encode(), agent, nil)
	var ms struct {
		Movements []struct {
			Delta string `json:"delta"`
			Cause string `json:"cause"`
			Actor string `json:"actor"`
		} `json:"movements"`
		Quantity string `json:"quantity"`
	}
	resp.JSON(t, &ms)
	if len(ms.Movements) != 1 || ms.Movements[0].Cause != "manual_adjustment" || ms.Movements[0].Actor != "support:agent-adj" || ms.Quantity != "6" {
		t.Errorf("movements after the adjustment and its repeat = %+v (quantity %s); want one manual line by support:agent-adj, 6", ms.Movements, ms.Quantity)
	}
	for _, c := range []struct {
		name   string
		body   map[string]any
		token  string
		status int
	}{
		{"reserved state", map[string]any{"sku": sku, "location_id": loc, "state": "INVENTORY_STATE_RESERVED", "delta": "1", "reason_code": "found"}, agent, http.StatusBadRequest},
		{"no change", map[string]any{"sku": sku, "location_id": loc, "state": "INVENTORY_STATE_SELLABLE", "reason_code": "found"}, agent, http.StatusBadRequest},
		{"unknown reason", map[string]any{"sku": sku, "location_id": loc, "state": "INVENTORY_STATE_SELLABLE", "delta": "1", "reason_code": "whim"}, agent, http.StatusBadRequest},
		{"below zero", map[string]any{"sku": sku, "location_id": loc, "state": "INVENTORY_STATE_SELLABLE", "delta": "-7", "reason_code": "lost"}, agent, http.StatusUnprocessableEntity},
		{"read scope only", body, h.supportToken(t, "agent-ro", "support:read"), http.StatusForbidden},
	} {
		resp := h.do(t, http.MethodPost, "/v1/support/inventory/adjustments", c.token, c.body, "Idempotency-Key", "adj-"+strings.ReplaceAll(c.name, " ", "-"))
		if resp.Status != c.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") {
			t.Errorf("%s: %d %s %s; want %d problem+json", c.name, resp.Status, resp.Header.Get("Content-Type"), resp.Body, c.status)
		}
	}
	operator := h.supportToken(t, "ops-1", "support:read operator")
	audit := h.do(t, http.MethodGet, "/v1/operations/audit?actor=support:agent-adj", operator, nil)
	if audit.Status != http.StatusOK || !strings.Contains(string(audit.Body), "POST /v1/support/inventory/adjustments") {
		t.Errorf("audit log for agent-adj: %d %s; want the adjustment", audit.Status, audit.Body)
	}
}
