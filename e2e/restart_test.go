package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/retailbridge/retailbridge/services/sandbox/handles"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/internal/stack"
	"github.com/retailbridge/retailbridge/pkg/config"
	"github.com/retailbridge/retailbridge/pkg/testkit"
	"github.com/retailbridge/retailbridge/services/process/returns"
	stripesb "github.com/retailbridge/retailbridge/services/sandbox/stripe"
	warehousesb "github.com/retailbridge/retailbridge/services/sandbox/warehouse"
)

// startOn starts a stack on the data directory dir, as `make run` does on its own: a second
// stack on the same dir is the first one restarted — SQLite, embedded NATS, keys and the
// sandboxes' worlds are all kept there. clk is the business clock, shared across restarts so
// that time does not run backwards.
func startOn(t testing.TB, dir string, clk *clock, so func(*stack.Options)) *harness {
	t.Helper()
	env := map[string]string{
		"REDIS_URL":             testkit.RedisURL(t),
		"RB_DATA_DIR":           dir,
		"RB_RATE_LIMITS":        writeFile(t, t.TempDir(), "rate-limits.yaml", generousLimits),
		"RB_REQUEST_TIMEOUT":    "2s",
		"RB_TRACE_SAMPLE_RATIO": "1",
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	opts := stack.Options{Config: cfg, Components: stack.All, Ephemeral: true, GatewayAddr: "127.0.0.1:0", Now: clk.Now}
	if so != nil {
		so(&opts)
	}
	s, err := stack.Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close) // Close is idempotent: a test that restarts closes the first stack itself
	return &harness{Stack: s, Set: handles.Of(s), client: contractClient(t, s.GatewayURL), clock: clk, run: strconv.FormatInt(time.Now().UnixNano(), 36)}
}

// supportReturn is the customer-service view of a return: its lines' conditions and the full
// timeline.
type supportReturn struct {
	Return struct {
		ID    string `json:"id"`
		State string `json:"state"`
		Lines []struct {
			OrderLineID string `json:"order_line_id"`
			Condition   string `json:"condition"`
		} `json:"lines"`
		ExternalIDs map[string]string `json:"external_ids"`
	} `json:"return"`
	Timeline []struct {
		State       string `json:"state"`
		Description string `json:"description"`
	} `json:"timeline"`
}

func (h *harness) supportView(t testing.TB, id string) supportReturn {
	t.Helper()
	resp := h.do(t, http.MethodGet, "/v1/support/returns/"+id, h.supportToken(t, "ops", "support:read"), nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("support GET %s: %d %s", id, resp.Status, resp.Body)
	}
	var r supportReturn
	resp.JSON(t, &r)
	return r
}

// shopifyRefunds counts an order's refunds at the Shopify sandbox, asking its Admin API.
func (h *harness) shopifyRefunds(t testing.TB, orderID string) int {
	t.Helper()
	cfg := h.SandboxConfig()
	resp := testkit.Do(t, h.client, http.MethodPost, cfg["SHOPIFY_ADMIN_URL"]+"/admin/api/2026-07/graphql.json", "",
		map[string]any{"query": `query($id: ID!) { order(id: $id) { refunds { id } } }`,
			"variables": map[string]any{"id": "gid://shopify/Order/" + orderID}},
		"X-Shopify-Access-Token", cfg["SHOPIFY_ACCESS_TOKEN"])
	var got struct {
		Data struct {
			Order struct {
				Refunds []struct{ ID string } `json:"refunds"`
			} `json:"order"`
		} `json:"data"`
	}
	if err := json.Unmarshal(resp.Body, &got); err != nil || resp.Status != http.StatusOK {
		t.Fatalf("Shopify order %s: %d %s", orderID, resp.Status, resp.Body)
	}
	return len(got.Data.Order.Refunds)
}

// D17: restarting the stack restarts the same world. Returns are cut off at every point of their
// flight — parcels waiting, moving, inspected with the refund under way — by closing the stack;
// a new stack on the same data directory finishes every one of them: each refunded exactly once
// at Stripe and at Shopify (a refund retried after the restart replays, it is not made again
// under a new key), and each with its own inspection results.
func TestRestartFinishesReturnsInFlight(t *testing.T) {
	t.Parallel()
	needWarehouseSandbox(t)
	dir, clk := t.TempDir(), newClock()
	outcomes := warehousesb.Outcomes{Resellable: 0.5, Damaged: 0.5} // both refund; a misapplied result shows
	first := startOn(t, dir, clk, func(o *stack.Options) {
		o.ManualParcels, o.SandboxSettings = true, map[string]any{"warehouse": outcomes}
	})
	lines := first.eligibleLines(t, 8)
	ids := make([]string, len(lines))
	for i, l := range lines {
		resp := first.do(t, http.MethodPost, "/v1/storefront/returns", first.token(t, l.customer), createReturn(l.order, l.line, 1),
			"Idempotency-Key", fmt.Sprintf("restart-%d", i))
		var r returnJSON
		resp.JSON(t, &r)
		if resp.Status != http.StatusOK {
			t.Fatalf("create: %d %s", resp.Status, resp.Body)
		}
		ids[i] = r.Return.ID
	}
	agent := first.supportToken(t, "ops", "support:read")
	receipts := make([]string, len(ids))
	for i, id := range ids {
		r := first.waitAny(t, agent, "/v1/support/returns/"+id, "awaiting_parcel")
		receipts[i] = r.Return.ExternalIDs["wms"]
		switch {
		case i < 4: // at the warehouse and inspected: the refund gets under way
			if err := handles.Of(first).Warehouse.Receive(receipts[i]); err != nil {
				t.Fatal(err)
			}
			if err := handles.Of(first).Warehouse.Inspect(receipts[i], nil); err != nil {
				t.Fatal(err)
			}
		case i < 6: // with the carrier
			if _, err := handles.Of(first).Loop.Advance(r.Return.ExternalIDs["returnsplatform"]); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Cut the stack off while refunds are being made: once the first one exists at Stripe.
	eventually(t, "a refund under way before the restart", func() bool {
		return len(handles.Of(first).Stripe.Stats().RefundsPerIntent) > 0
	})
	atCut := len(handles.Of(first).Stripe.Stats().RefundsPerIntent)
	first.Close()

	second := startOn(t, dir, clk, func(o *stack.Options) {
		o.FastVendors, o.SandboxSettings = true, map[string]any{"warehouse": outcomes}
		o.ReturnTimings = returns.Timings{Reconcile: 300 * time.Millisecond}
	})
	agent = second.supportToken(t, "ops", "support:read")
	for i, id := range ids {
		got := second.waitAny(t, agent, "/v1/support/returns/"+id, "refunded", "denied", "cancelled", "expired", "failed_needs_attention")
		if got.Return.State != "refunded" {
			t.Errorf("return %d (%s) ended %s after the restart, want refunded; timeline %+v", i, id, got.Return.State, got.Timeline)
		}
	}
	st := handles.Of(second).Stripe.Stats()
	for i, l := range lines {
		if n := st.RefundsPerIntent[stripesb.PaymentIntentID(l.order)]; n != 1 {
			t.Errorf("return %d: %d Stripe refunds for order %s, want exactly 1", i, n, l.order)
		}
		if n := second.shopifyRefunds(t, l.order); n != 1 {
			t.Errorf("return %d: %d Shopify refunds for order %s, want exactly 1", i, n, l.order)
		}
		view := second.supportView(t, ids[i])
		want := "ITEM_CONDITION_" + strings.ToUpper(handles.Of(second).Warehouse.OutcomeFor(ids[i], 1))
		if len(view.Return.Lines) != 1 || view.Return.Lines[0].Condition != want {
			t.Errorf("return %d (%s) has inspection %+v, want its own warehouse result %s", i, ids[i], view.Return.Lines, want)
		}
	}
	if st.Duplicates != 0 {
		t.Errorf("Stripe saw %d refunds repeating an earlier one (a retry under a new key) after the restart, want 0", st.Duplicates)
	}
	t.Logf("%d returns cut off mid-flight (%d already refunded at Stripe at the cut), all refunded after the restart; Stripe refunds per order %v",
		len(ids), atCut, st.RefundsPerIntent)
}

// D17: a return whose warehouse receipt vanished — the warehouse restarted without its records and
// now gives the same receipt id to another return — is never given the other return's inspection;
// it is reported missing and, past its SLA, handed to customer service in failed_needs_attention
// with the reason, instead of waiting forever. The other return is unaffected.
func TestVanishedReceiptEscalatesPastSLA(t *testing.T) {
	t.Parallel()
	needWarehouseSandbox(t)
	c := collideAfterVendorForgets(t, "warehouse.json", "wms", "vanished")
	second, agent, lost, other, receipt := c.second, c.agent, c.lost, c.other, c.record
	if err := handles.Of(second).Warehouse.Receive(receipt); err != nil {
		t.Fatal(err)
	}
	if err := handles.Of(second).Warehouse.Inspect(receipt, map[int]string{1: warehousesb.ConditionDamaged}); err != nil {
		t.Fatal(err)
	}
	second.waitAny(t, agent, "/v1/support/returns/"+other, "refunded")
	// Reconciliation has found the receipt is another return's; once the SLA has passed, the
	// durable timer hands the lost return to customer service.
	eventually(t, "the lost receipt reported missing", func() bool {
		for _, e := range second.supportView(t, lost).Timeline {
			if strings.Contains(e.Description, "is gone") {
				return true
			}
		}
		return false
	})
	second.clock.Advance(2 * time.Hour)
	got := second.waitAny(t, agent, "/v1/support/returns/"+lost, "failed_needs_attention", "refunded", "expired")
	if got.Return.State != "failed_needs_attention" {
		t.Fatalf("lost return ended %s, want failed_needs_attention; timeline %+v", got.Return.State, got.Timeline)
	}
	view := second.supportView(t, lost)
	reason := view.Timeline[len(view.Timeline)-1].Description
	if !strings.Contains(reason, "receipt "+receipt) || !strings.Contains(reason, "SLA") {
		t.Errorf("escalation reason %q, want it to name the receipt and the SLA", reason)
	}
	for _, l := range view.Return.Lines {
		if l.Condition != "" && l.Condition != "ITEM_CONDITION_UNSPECIFIED" {
			t.Errorf("the lost return took an inspection result (%s) from another return's receipt", l.Condition)
		}
	}
}

// TestVanishedPlatformReturnEscalatesPastSLA is TestVanishedReceiptEscalatesPastSLA at the
// returns platform: the platform loses its records between runs and gives the lost return's
// platform id to another return. Reconciliation matches the platform's return by the reference
// Retailbridge registered it under, finds it another return's, and the lost return escalates past
// its SLA naming the platform's record.
func TestVanishedPlatformReturnEscalatesPastSLA(t *testing.T) {
	t.Parallel()
	c := collideAfterVendorForgets(t, "loop.json", "returnsplatform", "vanished-platform")
	second, agent, lost, other, lostPlatform := c.second, c.agent, c.lost, c.other, c.record
	eventually(t, "the lost platform return reported missing", func() bool {
		for _, e := range second.supportView(t, lost).Timeline {
			if strings.Contains(e.Description, "returns platform record return "+lostPlatform+" is gone") {
				return true
			}
		}
		return false
	})
	if got := second.supportView(t, other).Return.State; got != "awaiting_parcel" {
		t.Errorf("the return that holds the platform id now is %s; want it left waiting for its parcel", got)
	}
	second.clock.Advance(2 * time.Hour)
	got := second.waitAny(t, agent, "/v1/support/returns/"+lost, "failed_needs_attention", "refunded", "expired")
	if got.Return.State != "failed_needs_attention" {
		t.Fatalf("lost return ended %s, want failed_needs_attention; timeline %+v", got.Return.State, got.Timeline)
	}
	view := second.supportView(t, lost)
	reason := view.Timeline[len(view.Timeline)-1].Description
	if !strings.Contains(reason, "returns platform") || !strings.Contains(reason, "return "+lostPlatform) || !strings.Contains(reason, "SLA") {
		t.Errorf("escalation reason %q, want it to name the platform's return and the SLA", reason)
	}
}

// collision is a vendor that lost its records between two runs and gave the record it had made
// for one return (lost) to another return (other) of the second run.
type collision struct {
	second      *harness
	agent       string
	lost, other string
	record      string // the vendor's id both returns were given
}

// collideAfterVendorForgets starts a stack, creates a return and waits until the vendor system
// holds its record, then restarts on the same data directory with that vendor's state file
// removed, and creates a second return, which the forgetful vendor gives the same record id.
func collideAfterVendorForgets(t *testing.T, stateFile, system, keyPrefix string) collision {
	t.Helper()
	dir, clk := t.TempDir(), newClock()
	manual := func(o *stack.Options) {
		o.ManualParcels = true
		o.ReturnTimings = returns.Timings{Reconcile: 200 * time.Millisecond, VendorRecordSLA: time.Hour}
	}
	create := func(h *harness, l eligibleLine, key string) string {
		resp := h.do(t, http.MethodPost, "/v1/storefront/returns", h.token(t, l.customer), createReturn(l.order, l.line, 1), "Idempotency-Key", key)
		var r returnJSON
		resp.JSON(t, &r)
		if resp.Status != http.StatusOK {
			t.Fatalf("create: %d %s", resp.Status, resp.Body)
		}
		return r.Return.ID
	}
	first := startOn(t, dir, clk, manual)
	lines := first.eligibleLines(t, 2)
	lost := create(first, lines[0], keyPrefix+"-1")
	agent := first.supportToken(t, "ops", "support:read")
	lostRecord := first.waitAny(t, agent, "/v1/support/returns/"+lost, "awaiting_parcel").Return.ExternalIDs[system]
	first.Close()
	// The vendor loses its records: it starts again from an empty world and id 1.
	if err := os.Remove(filepath.Join(dir, "sandboxes", stateFile)); err != nil {
		t.Fatal(err)
	}
	second := startOn(t, dir, clk, manual)
	agent = second.supportToken(t, "ops", "support:read")
	other := create(second, lines[1], keyPrefix+"-2")
	otherRecord := second.waitAny(t, agent, "/v1/support/returns/"+other, "awaiting_parcel").Return.ExternalIDs[system]
	if otherRecord != lostRecord {
		t.Fatalf("the new %s gave %s, the lost one was %s: the collision this test is about did not happen", system, otherRecord, lostRecord)
	}
	return collision{second: second, agent: agent, lost: lost, other: other, record: lostRecord}
}
