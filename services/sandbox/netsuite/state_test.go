package netsuite

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/retailbridge/retailbridge/services/sandbox/demo"
)

// TestRestartKeepsTheAccount restarts the account on the same state directory: the RMA and the
// receipt written before, the idempotency key (a retried transform answers with the earlier job,
// not a second RMA) and the id counters survive.
func TestRestartKeepsTheAccount(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ds := demo.Generate(3, testNow, 2, 2)
	opts := Options{Now: func() time.Time { return testNow }, StateDir: dir}
	first, err := Open(ds, opts)
	if err != nil {
		t.Fatal(err)
	}
	rma := openRMA(t, first, ds, key(1))
	receipt := createdRecord(t, outcomeOf(t, first, submit(t, first, http.MethodPost, recordPath+"returnAuthorization/"+rma+"/!transform/itemReceipt",
		`{"location":{"id":"7"},"item":{"items":[{"orderLine":1,"quantity":1,"restock":true}]}}`, key(2))), TypeItemReceipt)
	before := record(t, first, TypeReturnAuthorization, rma)

	second, err := Open(ds, opts)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, record(t, second, TypeReturnAuthorization, rma)); diff != "" {
		t.Errorf("RMA after restart (-before +after):\n%s", diff)
	}
	if got := path(record(t, second, TypeItemReceipt, receipt), "createdFrom", "id"); got != rma {
		t.Errorf("receipt after restart created from %v; want %s", got, rma)
	}
	soID, _ := second.SalesOrderID(ds.Scenario(demo.ScenarioEligible).ID)
	body := `{"orderStatus":{"id":"B"},"item":{"items":[{"orderLine":1,"quantity":1},{"orderLine":2,"quantity":2}]}}`
	wantIdempotencyError(t, submit(t, second, http.MethodPost, recordPath+"salesOrder/"+soID+"/!transform/returnAuthorization", body, key(1)))
	if got := second.Stats().Created[TypeReturnAuthorization]; got != 1 {
		t.Errorf("RMAs after the retried key: %d; want 1", got)
	}
	memo := createdRecord(t, outcomeOf(t, second, submit(t, second, http.MethodPost, recordPath+"returnAuthorization/"+rma+"/!transform/creditMemo",
		`{"item":{"items":[{"orderLine":1,"quantity":1}]}}`, key(3))), TypeCreditMemo)
	if memo == rma || memo == receipt {
		t.Errorf("credit memo after restart has id %s; want one no previous run issued", memo)
	}
}
