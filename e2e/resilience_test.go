package e2e

import (
	"context"
	"fmt"
	"github.com/retailbridge/retailbridge/services/sandbox/handles"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/retailbridge/retailbridge/internal/stack"
	"github.com/retailbridge/retailbridge/pkg/config"
	"github.com/retailbridge/retailbridge/pkg/events"
	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/store/storetest"
	"github.com/retailbridge/retailbridge/pkg/testkit"
	"github.com/retailbridge/retailbridge/services/process/returns"
	stripesb "github.com/retailbridge/retailbridge/services/sandbox/stripe"
	warehousesb "github.com/retailbridge/retailbridge/services/sandbox/warehouse"
)

// eligibleLine is an order line a customer can return now.
type eligibleLine struct{ customer, order, line string }

// eligibleLines finds n returnable lines of distinct orders, asking the eligibility API.
func (h *harness) eligibleLines(t testing.TB, n int) []eligibleLine {
	t.Helper()
	var out []eligibleLine
	for _, o := range h.Demo.Orders {
		if len(out) == n {
			break
		}
		if o.DeliveredAt == nil || o.FinancialStatus != "PAID" {
			continue
		}
		resp := h.do(t, http.MethodPost, "/v1/storefront/returns/eligibility", h.token(t, o.CustomerID), eligibility(o.ID))
		var e eligibilityJSON
		resp.JSON(t, &e)
		for _, l := range e.Lines {
			if l.Eligible && l.ReturnableQuantity > 0 {
				out = append(out, eligibleLine{o.CustomerID, o.ID, l.OrderLineID})
				break
			}
		}
	}
	if len(out) < n {
		t.Fatalf("found %d returnable lines, want %d", len(out), n)
	}
	return out
}

// FM-3: an ERP maintenance window in the middle of a burst of returns. Every return is
// accepted at once; during the window the workflow parks (the connector fails fast and the
// workflow waits out Retry-After) instead of burning retries against the ERP; afterwards the
// backlog drains with exactly one RMA and one credit memo per return and the account's
// concurrency limit never exceeded.
func TestERPMaintenanceWindowParksAndDrains(t *testing.T) {
	t.Parallel()
	// The account allows 5 requests at once, and the connector is configured with that limit, as
	// a deployment sets NETSUITE_MAX_CONCURRENCY to its share of the account: the assertion below
	// is that the connector never exceeds what it is configured with. (Left at its default of
	// 10, the 8 workflow workers could reach the account's limit and be refused with a 429 by
	// timing alone.)
	h := newStackWith(t, withFastVendors(warehousesb.Outcomes{Resellable: 1}), withVendorSetting("RB_ERP_VENDOR", "netsuite"),
		withVendorSetting("NETSUITE_MAX_CONCURRENCY", "5"))
	lines := h.eligibleLines(t, 12)
	h.NetSuite.SetConcurrencyLimit(5)
	window := 3 * time.Second
	h.NetSuite.SetMaintenance(true, window)
	before := h.NetSuite.Stats()

	start := time.Now()
	ids := make([]string, len(lines))
	var slowest time.Duration
	for i, l := range lines {
		t0 := time.Now()
		resp := h.do(t, http.MethodPost, "/v1/storefront/returns", h.token(t, l.customer), createReturn(l.order, l.line, 1),
			"Idempotency-Key", fmt.Sprintf("fm3-%d", i))
		slowest = max(slowest, time.Since(t0))
		if resp.Status != http.StatusOK {
			t.Fatalf("create during maintenance: %d %s", resp.Status, resp.Body)
		}
		var r returnJSON
		resp.JSON(t, &r)
		ids[i] = r.Return.ID
	}
	time.Sleep(window - time.Since(start))
	during := h.NetSuite.Stats()
	h.NetSuite.SetMaintenance(false, 0)
	windowCalls := during.Requests - before.Requests
	t.Logf("FM-3: %d returns accepted during the window (slowest accept %v); NetSuite saw %d requests in the %v window (%d answered 503)",
		len(ids), slowest.Round(time.Millisecond), windowCalls, window, during.Maintenance-before.Maintenance)
	if windowCalls > 10 {
		t.Errorf("%d ERP calls during the window: the workflow retries against a closed ERP instead of parking", windowCalls)
	}
	drainStart := time.Now()
	for _, id := range ids {
		h.waitAny(t, h.supportToken(t, "ops", "support:read"), "/v1/support/returns/"+id, "refunded")
	}
	after := h.NetSuite.Stats()
	t.Logf("FM-3: drained %d returns in %v after the window; RMAs %d, credit memos %d, max in flight %d (limit 5), refused %d",
		len(ids), time.Since(drainStart).Round(time.Millisecond), after.Created["returnAuthorization"], after.Created["creditMemo"],
		after.MaxInFlight, after.Refused)
	if after.Created["returnAuthorization"] != int64(len(ids)) || after.Created["creditMemo"] != int64(len(ids)) {
		t.Errorf("RMAs %d, credit memos %d, want %d each", after.Created["returnAuthorization"], after.Created["creditMemo"], len(ids))
	}
	t.Logf("FM-3: the NetSuite governor: %+v", h.Governor("netsuite").Stats())
	if after.MaxInFlight > 5 {
		t.Errorf("NetSuite saw %d requests in flight, limit 5", after.MaxInFlight)
	}
}

// EV-5 on the real workflow: the services are killed again and again while returns are in
// flight (the vendors keep running and keep sending webhooks); every restart resumes, and each
// return ends refunded exactly once: one Stripe refund, one RMA and one credit memo.
// Both state engines: SQLite (one process's files) and PostgreSQL (the production shape; the
// relay claims with SKIP LOCKED, order rows lock with FOR UPDATE).
func TestReturnsSurviveKilledServices(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects {
		t.Run(d.String(), func(t *testing.T) {
			t.Parallel()
			testReturnsSurviveKilledServices(t, d)
		})
	}
}

func testReturnsSurviveKilledServices(t *testing.T, dialect store.Dialect) {
	vendors, err := stack.Start(context.Background(), stack.Options{
		Config: mustConfig(t, map[string]string{"RB_DATA_DIR": t.TempDir()}), Components: []stack.Component{stack.Sandboxes},
		Ephemeral: true, FastVendors: true, SandboxSettings: map[string]any{"warehouse": warehousesb.Outcomes{Resellable: 1}},
		Now: newClock().Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(vendors.Close)
	dataDir := t.TempDir()
	env := vendors.SandboxConfig()
	env["REDIS_URL"] = testkit.RedisURL(t)
	env["RB_DATA_DIR"] = dataDir
	env["RB_RATE_LIMITS"] = writeFile(t, dataDir, "limits.yaml", generousLimits)
	dbURL := "sqlite:" + filepath.Join(dataDir, "returns.db")
	if dialect == store.Postgres {
		dbURL = storetest.URL(t, store.Postgres)
		env["DATABASE_URL"] = dbURL
	}
	cfg := mustConfig(t, env)
	clk := newClock()
	run := strconv.FormatInt(time.Now().UnixNano(), 36) // one across restarts: the same keys
	services := []stack.Component{stack.Commerce, stack.ERP, stack.Payments, stack.ReturnsPlatform, stack.WMS, stack.Orders, stack.Returns, stack.Gateway}
	start := func() *harness {
		s, err := stack.Start(context.Background(), stack.Options{Config: cfg, Components: services, Ephemeral: true,
			GatewayAddr: "127.0.0.1:0", Now: clk.Now, ReturnTimings: returns.Timings{Reconcile: 500 * time.Millisecond}})
		if err != nil {
			t.Fatal(err)
		}
		vendors.PointWebhooksAt(s.GatewayURL)
		return &harness{Stack: s, Set: handles.Of(s), client: contractClient(t, s.GatewayURL), clock: clk, run: run}
	}
	h := start()
	h.Demo = vendors.Demo
	lines := h.eligibleLines(t, 6)
	ids := make([]string, len(lines))
	for i, l := range lines {
		resp := h.do(t, http.MethodPost, "/v1/storefront/returns", h.token(t, l.customer), createReturn(l.order, l.line, 1),
			"Idempotency-Key", fmt.Sprintf("ev5-%d", i))
		if resp.Status != http.StatusOK {
			t.Fatalf("create: %d %s", resp.Status, resp.Body)
		}
		var r returnJSON
		resp.JSON(t, &r)
		ids[i] = r.Return.ID
	}
	kills := 0
	for ; kills < 8; kills++ {
		time.Sleep(time.Duration(80+40*kills) * time.Millisecond)
		h.Close()                // the process dies, wherever its steps are
		clk.Advance(time.Minute) // a dead runner's claims expire after the workflow lease
		h = start()
		h.Demo = vendors.Demo
		if allDone(t, h, ids) {
			break
		}
	}
	t.Cleanup(func() { h.Close() })
	for _, id := range ids {
		h.waitAny(t, h.supportToken(t, "ops", "support:read"), "/v1/support/returns/"+id, "refunded")
	}
	st, ns := handles.Of(vendors).Stripe.Stats(), handles.Of(vendors).NetSuite.Stats()
	t.Logf("EV-5: %d returns, services killed %d times; Stripe refunds %d, RMAs %d, credit memos %d, NetSuite idempotent repeats %d",
		len(ids), kills+1, st.RefundsCreated, ns.Created["returnAuthorization"], ns.Created["creditMemo"], ns.IdempotentRepeats)
	for _, l := range lines {
		if n := st.RefundsPerIntent[stripesb.PaymentIntentID(l.order)]; n != 1 {
			t.Errorf("order %s refunded %d times, want 1", l.order, n)
		}
	}
	if ns.Created["returnAuthorization"] != int64(len(ids)) || ns.Created["creditMemo"] != int64(len(ids)) {
		t.Errorf("RMAs %d, credit memos %d, want %d each", ns.Created["returnAuthorization"], ns.Created["creditMemo"], len(ids))
	}

	// EV-1 on the workflow: every committed transition's event reached the bus exactly once
	// (the outbox is empty; one "refunded" event per return, duplicates from republishing after
	// a kill dropped by Nats-Msg-Id).
	ctx := context.Background()
	db, err := store.Open(ctx, dbURL, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var pending int
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM rb_outbox WHERE published_at IS NULL`).Scan(&pending); err != nil {
			t.Fatal(err)
		}
		if pending == 0 || time.Now().After(deadline) {
			break
		}
	}
	nc, err := nats.Connect(h.NATSURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	stream, err := js.Stream(ctx, events.StreamName("returns"))
	if err != nil {
		t.Fatal(err)
	}
	const refundedType = "retailbridge.returns.return.refunded.v1"
	info, err := stream.Info(ctx, jetstream.WithSubjectFilter(refundedType))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("EV-1: outbox rows unpublished %d; %q messages %d for %d returns", pending, refundedType, info.State.Subjects[refundedType], len(ids))
	if pending != 0 || info.State.Subjects[refundedType] != uint64(len(ids)) {
		t.Errorf("outbox unpublished %d, refunded events %d; want 0 and %d (lost 0, phantom 0)", pending, info.State.Subjects[refundedType], len(ids))
	}
}

func allDone(t testing.TB, h *harness, ids []string) bool {
	t.Helper()
	tok := h.supportToken(t, "ops", "support:read")
	for _, id := range ids {
		resp := h.do(t, http.MethodGet, "/v1/support/returns/"+id, tok, nil)
		if !strings.Contains(string(resp.Body), `"state":"refunded"`) {
			return false
		}
	}
	return true
}

func mustConfig(t testing.TB, env map[string]string) config.Config {
	t.Helper()
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// Webhooks that never arrive (the warehouse drops every delivery) are repaired by the
// reconciliation pass, which asks the warehouse about returns waiting too long.
func TestMissedWebhooksAreRepaired(t *testing.T) {
	t.Parallel()
	needWarehouseSandbox(t)
	h := newStackWith(t, func(o *stack.Options) {
		o.FastVendors, o.SandboxSettings = true, map[string]any{"warehouse": warehousesb.Outcomes{Resellable: 1}}
		o.ReturnTimings = returns.Timings{Reconcile: 300 * time.Millisecond}
	})
	h.Warehouse.SetDelivery(warehousesb.DeliverySettings{DropRate: 1})
	l := h.eligibleLines(t, 1)[0]
	resp := h.do(t, http.MethodPost, "/v1/storefront/returns", h.token(t, l.customer), createReturn(l.order, l.line, 1), "Idempotency-Key", "missed-1")
	var r returnJSON
	resp.JSON(t, &r)
	done := h.waitAny(t, h.supportToken(t, "ops", "support:read"), "/v1/support/returns/"+r.Return.ID, "refunded")
	st := h.Warehouse.Stats()
	t.Logf("warehouse webhooks: %+v; the return was refunded by reconciliation", st)
	if !strings.Contains(fmt.Sprint(done.Timeline), "inspected") {
		t.Errorf("timeline lacks the inspection: %+v", done.Timeline)
	}
}
