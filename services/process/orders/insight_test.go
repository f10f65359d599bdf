package orders

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/auth"
	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/events"
	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/store/storetest"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	ordersv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/orders/v1"
)

// entry is one planted history entry: a transition into state, or a call (system set).
type entry struct {
	at, state, system, outcome, correlation string
}

func utc(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.DateTime, s)
	if err != nil {
		t.Fatal(err)
	}
	return v.UTC()
}

// plantOrder stores an order in the order store and, with history, its workflow, as the feed
// and the workflow leave them.
func plantOrder(t testing.TB, db *store.DB, o *canonicalv1.Order, data orderData, hist ...entry) {
	t.Helper()
	ctx := context.Background()
	payload, err := jsonOpts.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	created := o.GetCreatedAt().AsTime()
	err = db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO order_store (order_id, customer_id, source, created_us, updated_us, payload, confirmed_us, changed_us)
			VALUES ($1, $2, $3, $4, $4, $5, $4, $4)`, o.GetId(), o.GetCustomer().GetId(), o.GetSource(), created.UnixMicro(), string(payload)); err != nil {
			return err
		}
		if len(hist) == 0 {
			return nil
		}
		raw, _ := protojson.Marshal(o)
		data.OrderID, data.Order = o.GetId(), string(raw)
		b, _ := json.Marshal(data)
		last := hist[len(hist)-1]
		if _, err := tx.Exec(ctx, `INSERT INTO rb_workflows (id, kind, state, data, version, created_at, updated_at, state_since)
			VALUES ($1, 'order', $2, $3, 1, $4, $5, $5)`, o.GetId(), last.state, string(b), created, utc(t, last.at)); err != nil {
			return err
		}
		for i, h := range hist {
			kind := map[bool]string{true: "call", false: "transition"}[h.system != ""]
			if _, err := tx.Exec(ctx, `INSERT INTO rb_workflow_history (workflow_id, seq, at, state, kind, description, system, correlation_id, outcome)
				VALUES ($1, $2, $3, $4, $5, '', $6, $7, $8)`, o.GetId(), i+1, utc(t, h.at), h.state, kind, h.system, h.correlation, h.outcome); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func plantedOrder(t testing.TB, id, name, customer, email, source, created string) *canonicalv1.Order {
	return &canonicalv1.Order{Id: id, Name: name, Source: source, PaymentReference: "pi_" + id,
		Customer: &canonicalv1.CustomerRef{Id: customer, Email: email}, CreatedAt: timestamppb.New(utc(t, created))}
}

func orderInsightRig(t testing.TB, d store.Dialect) (*Insight, *store.DB) {
	t.Helper()
	db := storetest.Open(t, d, store.Options{})
	ctx := context.Background()
	for _, m := range []func(context.Context, *store.DB) error{events.Migrate, migrateStore} {
		if err := m(ctx, db); err != nil {
			t.Fatal(err)
		}
	}
	plantOrder(t, db, plantedOrder(t, "o1", "#1001", "cus_1", "Ada@Example.com", "web", "2026-06-01 09:00:00"), orderData{SalesOrderID: "SO-9", InvoiceID: "INV-4"},
		entry{at: "2026-06-01 09:00:00", state: StateValidating, correlation: "corr-o1"},
		entry{at: "2026-06-01 09:00:10", state: StateValidating, system: "erp", outcome: "ok"},
		entry{at: "2026-06-01 09:01:00", state: StateFailedTax},
		entry{at: "2026-06-01 09:40:00", state: StateBooking, system: "erp", outcome: "unavailable"},
		entry{at: "2026-06-01 09:45:00", state: StateBooking, system: "erp", outcome: "ok"},
		entry{at: "2026-06-01 11:00:00", state: StateCompleted})
	plantOrder(t, db, plantedOrder(t, "o2", "#1002", "cus_2", "bob@example.com", "pos", "2026-06-01 10:00:00"), orderData{},
		entry{at: "2026-06-01 10:00:00", state: StateValidating},
		entry{at: "2026-06-01 10:30:00", state: StateFailed})
	plantOrder(t, db, plantedOrder(t, "o3", "#1003", "cus_3", "cy@example.com", "edi", "2026-06-01 10:00:00"), orderData{})
	plantOrder(t, db, plantedOrder(t, "o4", "#1004", "cus_4", "di@example.com", "marketplace_x", "2026-06-01 23:30:00"), orderData{},
		entry{at: "2026-06-01 23:30:00", state: StateValidating},
		entry{at: "2026-06-02 00:30:00", state: StateCompleted})
	return NewInsight(db, func() time.Time { return time.Date(2026, 6, 3, 0, 0, 0, 0, time.UTC) }), db
}

var agent = auth.Principal{Audience: auth.Support, Subject: "agent", Scopes: []string{ScopeSupportRead}}

func TestOrderKPIsFromStoredHistory(t *testing.T) {
	for _, d := range storetest.Dialects {
		t.Run(d.String(), func(t *testing.T) {
			in, _ := orderInsightRig(t, d)
			ctx := auth.WithPrincipal(context.Background(), agent)
			resp, err := in.GetOrderKpis(ctx, &ordersv1.GetOrderKpisRequest{Interval: canonicalv1.KpiInterval_KPI_INTERVAL_HOUR,
				Since: timestamppb.New(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range resp.GetPoints() {
				got = append(got, fmt.Sprintf("%s %s %s n=%d sum=%g ok=%d", p.GetKpi(), p.GetBucketStart().AsTime().Format("01-02T15"),
					p.GetChannel(), p.GetCount(), p.GetSumSeconds(), p.GetOk()))
			}
			want := []string{
				"erp_postings 06-01T09 web n=2 sum=0 ok=1",
				"exceptions 06-01T09 web n=1 sum=0 ok=0",
				"order_processing 06-01T10 pos n=1 sum=1800 ok=0",
				"order_processing 06-01T11 web n=1 sum=7200 ok=1",
				"order_processing 06-02T00 other n=1 sum=3600 ok=1",
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("points (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSearchOrdersByBusinessIdentifiers(t *testing.T) {
	for _, d := range storetest.Dialects {
		t.Run(d.String(), func(t *testing.T) {
			in, _ := orderInsightRig(t, d)
			ctx := auth.WithPrincipal(context.Background(), agent)
			for _, tc := range []struct{ q, want string }{
				{"#1001", "o1 order number #1001 ada@example.com completed"},
				{"1001", "o1 order number #1001 ada@example.com completed"},
				{"ADA@example.COM", "o1 customer email #1001 ada@example.com completed"},
				{"pi_o2", "o2 payment reference #1002 bob@example.com failed_needs_attention"},
				{"SO-9", "o1 ERP sales order #1001 ada@example.com completed"},
				{"INV-4", "o1 ERP invoice #1001 ada@example.com completed"},
				{"o3", "o3 order id #1003 cy@example.com "},
				{"cus_4", "o4 customer id #1004 di@example.com completed"},
				{"corr-o1", "o1 correlation id #1001 ada@example.com completed"},
				{"#9999", ""},
			} {
				resp, err := in.SearchOrders(ctx, &ordersv1.SearchOrdersRequest{Q: tc.q})
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, h := range resp.GetHits() {
					got = append(got, strings.Join([]string{h.GetOrderId(), h.GetMatched(), h.GetName(), strings.ToLower(h.GetCustomerEmail()), h.GetState()}, " "))
				}
				if g := strings.Join(got, ", "); g != tc.want {
					t.Errorf("search %q: got %q, want %q", tc.q, g, tc.want)
				}
			}
			partner := auth.WithPrincipal(context.Background(), auth.Principal{Audience: auth.Partner, Subject: "p", Tenant: "t"})
			if _, err := in.SearchOrders(partner, &ordersv1.SearchOrdersRequest{Q: "#1001"}); errs.KindOf(err) != errs.PermissionDenied {
				t.Errorf("partner: got %v, want permission denied", err)
			}
		})
	}
}

// TestOrderSearchUsesTheIndexes reads SQLite's plan for every identifier lookup.
func TestOrderSearchUsesTheIndexes(t *testing.T) {
	in, db := orderInsightRig(t, store.SQLite)
	for _, oi := range orderIdentifiers {
		rows, err := db.Query(context.Background(), `EXPLAIN QUERY PLAN `+in.identifierSQL(oi, "$1", "$2"), "x", 5)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		if p := strings.Join(plan, "; "); !strings.Contains(p, "USING INDEX") {
			t.Errorf("%s: plan %q uses no index", oi.matched, p)
		}
	}
	// The whole search, one statement: no branch scans a table.
	plan := explain(t, db, `EXPLAIN QUERY PLAN `+in.searchSQL(), "x", "x", "#x", 5)
	if branches, n := strings.Count(in.searchSQL(), " UNION ALL ")+1, strings.Count(plan, "SEARCH "); n != branches {
		t.Errorf("the search's %d lookups make %d index searches: %s", branches, n, plan)
	}
	for _, table := range []string{"order_store", "rb_workflows"} {
		if strings.Contains(plan, "SCAN "+table+" ") || strings.HasSuffix(plan, "SCAN "+table) || strings.Contains(plan, "SCAN "+table+";") {
			t.Errorf("the search scans %s: %s", table, plan)
		}
	}
}

func explain(t testing.TB, db *store.DB, q string, args ...any) string {
	t.Helper()
	rows, err := db.Query(context.Background(), q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	return strings.Join(plan, "; ")
}
