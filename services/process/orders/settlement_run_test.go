package orders

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/pkg/auth"
	ordersv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/orders/v1"
	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/store/storetest"
	"github.com/retailbridge/retailbridge/pkg/testkit"
	"github.com/retailbridge/retailbridge/services/sandbox/faults"
	stripesb "github.com/retailbridge/retailbridge/services/sandbox/stripe"
)

func TestSettlementRuns(t *testing.T) {
	for _, d := range storetest.Dialects {
		t.Run(d.String(), func(t *testing.T) { testSettlementRuns(t, d) })
	}
}

// testSettlementRuns: a trigger answers while the run works (the payment platform answers
// slowly), a second trigger and another replica's get the same run, the run succeeds with the
// mismatch it found; with the platform refusing, a run fails with the cause recorded; a run
// whose replica stopped renewing is failed once its lease lapses and cannot then be finished
// as succeeded by that replica.
func testSettlementRuns(t *testing.T, d store.Dialect) {
	ctx := context.Background()
	sb := stripesb.New(nil, stripesb.Options{})
	srv := httptest.NewServer(sb)
	t.Cleanup(func() { srv.Close(); sb.Close() })
	db := storetest.Open(t, d, store.Options{})
	source := servePayments(t, srv.URL)
	replica := func(now func() time.Time) *SettlementAPI {
		st, err := NewSettler(db, source, nil, SettlementConfig{Fees: FeeSchedule{BasisPoints: 290, Fixed: 30},
			PayoutGrace: 72 * time.Hour, Lookback: 30 * 24 * time.Hour, RunLease: time.Minute}, now, nil)
		if err != nil {
			t.Fatal(err)
		}
		return &SettlementAPI{Settler: st}
	}
	a, b := replica(nil), replica(nil)
	agent := auth.WithPrincipal(ctx, auth.Principal{Audience: auth.Support, Subject: "agent-1",
		Scopes: []string{ScopeSupportRead, ScopeSupportWrite}})
	trigger := func(api *SettlementAPI) *ordersv1.RunSettlementResponse {
		t.Helper()
		resp, err := api.RunSettlement(agent, &ordersv1.RunSettlementRequest{})
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	get := func(api *SettlementAPI, id string) *ordersv1.GetSettlementRunResponse {
		t.Helper()
		resp, err := api.GetSettlementRun(agent, &ordersv1.GetSettlementRunRequest{RunId: id})
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	finished := func(api *SettlementAPI, id string) *ordersv1.GetSettlementRunResponse {
		t.Helper()
		var resp *ordersv1.GetSettlementRunResponse
		testkit.Eventually(t, time.Minute, "run "+id+" finished", func() bool {
			resp = get(api, id)
			return resp.GetRun().GetState() != RunRunning
		})
		return resp
	}

	sb.Charge("no-such-order", 700, "usd")
	sb.Payout()
	sb.Faults().Set(faults.Settings{Latency: time.Second}) // each platform call takes a second
	first := trigger(a)
	id := first.GetRun().GetRunId()
	if !first.GetStarted() || first.GetRun().GetState() != RunRunning {
		t.Fatalf("trigger = %v; want a run started and running", first)
	}
	for name, api := range map[string]*SettlementAPI{"the same replica": a, "another replica": b} {
		if again := trigger(api); again.GetStarted() || again.GetRun().GetRunId() != id {
			t.Errorf("a second trigger on %s during run %s = %v; want that run, not started", name, id, again)
		}
	}
	done := finished(b, id)
	if r := done.GetRun(); r.GetState() != RunSucceeded || r.GetPayouts() != 1 || r.GetNewMismatches() != 1 || r.GetFinishedAt() == nil {
		t.Errorf("run = %v; want succeeded, 1 payout, 1 new mismatch, a finish time", r)
	}
	if ms := done.GetMismatches(); len(ms) != 1 || ms[0].GetKind() != MismatchNoOrder {
		t.Errorf("run's mismatches = %v; want the no_order", ms)
	}

	sb.Faults().Set(faults.Settings{ErrorRate: 1, ErrorStatus: 401})
	failing := trigger(a)
	if !failing.GetStarted() || failing.GetRun().GetRunId() == id {
		t.Fatalf("trigger after the run finished = %v; want a new run", failing)
	}
	if r := finished(a, failing.GetRun().GetRunId()).GetRun(); r.GetState() != RunFailed || !strings.Contains(r.GetReason(), "listing payouts") {
		t.Errorf("run against a refusing platform = %v; want failed, with the cause", r)
	}

	sb.Faults().Set(faults.Settings{Latency: time.Second})
	stalled := trigger(a).GetRun().GetRunId()
	later := replica(func() time.Time { return time.Now().Add(2 * time.Minute) }) // past a's lease
	took := trigger(later)
	if !took.GetStarted() || took.GetRun().GetRunId() == stalled {
		t.Errorf("trigger after run %s's lease lapsed = %v; want a new run", stalled, took)
	}
	a.Settler.wait(ctx, stalled)
	if r := get(a, stalled).GetRun(); r.GetState() != RunFailed || r.GetReason() != reasonLapsed {
		t.Errorf("run whose lease lapsed = %v; want failed as %s, kept so after its replica finished", r, reasonLapsed)
	}
	finished(later, took.GetRun().GetRunId())
}
