package returns

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/auth"
	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/events"
	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/store/storetest"
	"github.com/retailbridge/retailbridge/pkg/workflow"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	returnsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/returns/v1"
)

// step is one planted history entry: a transition into State, or a call (System set).
type step struct {
	at                     string // "2006-01-02 15:04:05" UTC
	state, system, outcome string
	correlation            string
}

func at(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.DateTime, s)
	if err != nil {
		t.Fatal(err)
	}
	return v.UTC()
}

// plantReturn stores a return as the workflow would have: its index row, its instance and its
// history, so the insight API reads exactly what a run leaves behind.
func plantReturn(t testing.TB, db *store.DB, d returnData, created string, steps ...step) {
	t.Helper()
	ctx := context.Background()
	d.CreatedAt = at(t, created)
	data, _ := json.Marshal(d)
	last := steps[len(steps)-1]
	err := db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO returns (id, order_id, customer_id, request_key, requested_by, tenant, created_at)
			VALUES ($1, $2, $3, $4, 'test', '', $5)`, d.ReturnID, d.OrderID, d.CustomerID, d.ReturnID, d.CreatedAt); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO rb_workflows (id, kind, state, data, version, created_at, updated_at, state_since)
			VALUES ($1, 'return', $2, $3, 1, $4, $5, $5)`, d.ReturnID, last.state, string(data), d.CreatedAt, at(t, last.at)); err != nil {
			return err
		}
		for i, s := range steps {
			kind := "transition"
			if s.system != "" {
				kind = "call"
			}
			if _, err := tx.Exec(ctx, `INSERT INTO rb_workflow_history (workflow_id, seq, at, state, kind, description, system, correlation_id, outcome)
				VALUES ($1, $2, $3, $4, $5, '', $6, $7, $8)`, d.ReturnID, i+1, at(t, s.at), s.state, kind, s.system, s.correlation, s.outcome); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func insightRig(t testing.TB, d store.Dialect) (*insight, *store.DB) {
	t.Helper()
	db := storetest.Open(t, d, store.Options{})
	ctx := context.Background()
	for _, m := range []func(context.Context, *store.DB) error{events.Migrate, workflow.Migrate, migrate} {
		if err := m(ctx, db); err != nil {
			t.Fatal(err)
		}
	}
	now := func() time.Time { return time.Date(2026, 6, 3, 0, 0, 0, 0, time.UTC) }
	s := &Service{db: db, now: now, engine: workflow.New(db, events.NewOutbox(now), workflow.Options{Now: now})}
	plantScenario(t, db)
	return &insight{s: s}, db
}

// plantScenario: three returns in the window and one created before it.
func plantScenario(t testing.TB, db *store.DB) {
	plantReturn(t, db, returnData{ReturnID: "ret_1", OrderID: "ord_1", CustomerID: "cus_1", Method: "mail", RMANumber: "RMA-1001",
		TrackingNumber: "1Z999AA10123456784", PlatformReturnID: "loop_77", RMAID: "ns_rma_5"}, "2026-06-01 10:00:00",
		step{at: "2026-06-01 10:00:00", state: StateRequested, correlation: "corr-ret-1"},
		step{at: "2026-06-01 10:00:20", state: StateRequested, system: "erp", outcome: "ok"},
		step{at: "2026-06-01 10:00:30", state: StateRegistering},
		step{at: "2026-06-01 12:30:00", state: StateReceivingERP, system: "erp", outcome: "unavailable"},
		step{at: "2026-06-01 12:40:00", state: StateRefunding, system: "payments", outcome: "ok"},
		step{at: "2026-06-01 13:00:00", state: StateCrediting, system: "erp", outcome: "ok"},
		step{at: "2026-06-01 14:00:00", state: StateRefunded})
	plantReturn(t, db, returnData{ReturnID: "ret_2", OrderID: "ord_1", CustomerID: "cus_1", Method: "mail"}, "2026-06-01 10:10:00",
		step{at: "2026-06-01 10:10:00", state: StateRequested},
		step{at: "2026-06-01 10:11:30", state: StateRegistering},
		step{at: "2026-06-01 11:00:00", state: StateException})
	plantReturn(t, db, returnData{ReturnID: "ret_3", OrderID: "ord_3", CustomerID: "cus_3", Method: "in_store", SettledOutside: true},
		"2026-06-01 23:00:00",
		step{at: "2026-06-01 23:00:00", state: StateRequested},
		step{at: "2026-06-01 23:00:10", state: StateRegistering},
		step{at: "2026-06-02 01:00:00", state: StateRefunded})
	plantReturn(t, db, returnData{ReturnID: "ret_0", OrderID: "ord_0", CustomerID: "cus_0", Method: "mail"}, "2026-05-31 00:00:00",
		step{at: "2026-05-31 00:00:00", state: StateRequested},
		step{at: "2026-05-31 00:01:00", state: StateRegistering},
		step{at: "2026-06-01 12:00:00", state: StateRefunded})
}

var supportAgent = auth.Principal{Audience: auth.Support, Subject: "agent", Scopes: []string{"support:read"}}

func pointLines(ps []*canonicalv1.KpiPoint) []string {
	var out []string
	for _, p := range ps {
		out = append(out, fmt.Sprintf("%s %s %s n=%d sum=%g max=%g ok=%d", p.GetKpi(), p.GetBucketStart().AsTime().Format("01-02T15"),
			p.GetChannel(), p.GetCount(), p.GetSumSeconds(), p.GetMaxSeconds(), p.GetOk()))
	}
	return out
}

func TestReturnKPIsFromStoredHistory(t *testing.T) {
	for _, d := range storetest.Dialects {
		t.Run(d.String(), func(t *testing.T) {
			in, _ := insightRig(t, d)
			ctx := auth.WithPrincipal(context.Background(), supportAgent)
			for _, tc := range []struct {
				name     string
				interval canonicalv1.KpiInterval
				want     []string
			}{
				{"hourly", canonicalv1.KpiInterval_KPI_INTERVAL_HOUR, []string{
					"erp_postings 06-01T10 mail n=1 sum=0 max=0 ok=1",
					"erp_postings 06-01T12 mail n=1 sum=0 max=0 ok=0",
					"erp_postings 06-01T13 mail n=1 sum=0 max=0 ok=1",
					"exceptions 06-01T11 mail n=1 sum=0 max=0 ok=0",
					"refund_cycle 06-01T12 mail n=1 sum=129600 max=129600 ok=1",
					"refund_cycle 06-01T14 mail n=1 sum=14400 max=14400 ok=1",
					"refund_cycle 06-02T01 in_store n=1 sum=7200 max=7200 ok=0",
					"return_authorisation 06-01T10 mail n=2 sum=120 max=90 ok=2",
					"return_authorisation 06-01T23 in_store n=1 sum=10 max=10 ok=1",
				}},
				{"daily", canonicalv1.KpiInterval_KPI_INTERVAL_DAY, []string{
					"erp_postings 06-01T00 mail n=3 sum=0 max=0 ok=2",
					"exceptions 06-01T00 mail n=1 sum=0 max=0 ok=0",
					"refund_cycle 06-01T00 mail n=2 sum=144000 max=129600 ok=2",
					"refund_cycle 06-02T00 in_store n=1 sum=7200 max=7200 ok=0",
					"return_authorisation 06-01T00 in_store n=1 sum=10 max=10 ok=1",
					"return_authorisation 06-01T00 mail n=2 sum=120 max=90 ok=2",
				}},
			} {
				resp, err := in.GetReturnKpis(ctx, &returnsv1.GetReturnKpisRequest{Interval: tc.interval,
					Since: timestamppb.New(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)), Until: timestamppb.New(time.Date(2026, 6, 3, 0, 0, 0, 0, time.UTC))})
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tc.want, pointLines(resp.GetPoints())); diff != "" {
					t.Errorf("%s points (-want +got):\n%s", tc.name, diff)
				}
			}
		})
	}
}

func TestReturnKPIsRefuseWhatIsNotSupport(t *testing.T) {
	in, _ := insightRig(t, store.SQLite)
	customer := auth.WithPrincipal(context.Background(), auth.Principal{Audience: auth.Storefront, Subject: "cus_1"})
	if _, err := in.GetReturnKpis(customer, &returnsv1.GetReturnKpisRequest{}); errs.KindOf(err) != errs.PermissionDenied {
		t.Errorf("customer: got %v, want permission denied", err)
	}
	ctx := auth.WithPrincipal(context.Background(), supportAgent)
	_, err := in.GetReturnKpis(ctx, &returnsv1.GetReturnKpisRequest{Since: timestamppb.New(time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC))})
	if errs.KindOf(err) != errs.Invalid {
		t.Errorf("six years of hours: got %v, want invalid", err)
	}
}

func TestSearchReturnsByBusinessIdentifiers(t *testing.T) {
	for _, d := range storetest.Dialects {
		t.Run(d.String(), func(t *testing.T) {
			in, _ := insightRig(t, d)
			ctx := auth.WithPrincipal(context.Background(), supportAgent)
			for _, tc := range []struct{ q, want string }{
				{"rma-1001", "ret_1 RMA"},
				{"1z999aa10123456784", "ret_1 tracking number"},
				{"loop_77", "ret_1 returns platform reference"},
				{"ns_rma_5", "ret_1 ERP reference"},
				{"ret_3", "ret_3 return id"},
				{"ord_1", "ret_2 order id, ret_1 order id"},
				{"cus_3", "ret_3 customer id"},
				{"corr-ret-1", "ret_1 correlation id"},
				{"RMA-9999", ""},
			} {
				resp, err := in.SearchReturns(ctx, &returnsv1.SearchReturnsRequest{Q: tc.q})
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, h := range resp.GetHits() {
					got = append(got, h.GetReturn().GetId()+" "+h.GetMatched())
				}
				if g := strings.Join(got, ", "); g != tc.want {
					t.Errorf("search %q: got %q, want %q", tc.q, g, tc.want)
				}
			}
		})
	}
}

// TestReturnSearchUsesTheIndexes reads SQLite's plan for every identifier lookup: each is
// served by its expression index, never a scan of every workflow.
func TestReturnSearchUsesTheIndexes(t *testing.T) {
	_, db := insightRig(t, store.SQLite)
	for _, ri := range returnIdentifiers {
		rows, err := db.Query(context.Background(), `EXPLAIN QUERY PLAN SELECT id FROM rb_workflows WHERE kind = 'return' AND `+
			dataExpr(store.SQLite, ri.path, ri.fold)+` = $1 ORDER BY created_at DESC LIMIT $2`, "x", 5)
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
		if p := strings.Join(plan, "; "); !strings.Contains(p, "USING INDEX rb_workflows_return_") {
			t.Errorf("%s: plan %q uses no identifier index", ri.matched, p)
		}
	}
	// The whole search, one statement: every branch is an index search, none scans a table.
	rows, err := db.Query(context.Background(), `EXPLAIN QUERY PLAN `+searchSQL(store.SQLite), "x", "x", 5)
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
	p := strings.Join(plan, "; ")
	if branches, n := strings.Count(searchSQL(store.SQLite), " UNION ALL ")+1, strings.Count(p, "SEARCH "); n != branches {
		t.Errorf("the search's %d lookups make %d index searches: %s", branches, n, p)
	}
}
