package netsuite

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/retailbridge/retailbridge/services/sandbox/demo"
)

const sandboxURL = "http://sandbox.test"

// submit sends a write asynchronously with an idempotency key ("" for none).
func submit(tb testing.TB, s *Sandbox, method, path, body, key string) *httptest.ResponseRecorder {
	tb.Helper()
	r := signedRequest(tb, method, sandboxURL+path, body, auth{})
	r.Header.Set("Prefer", "respond-async")
	if key != "" {
		r.Header.Set("X-NetSuite-Idempotency-Key", key)
	}
	return serve(s, r)
}

// getJSON reads a resource and decodes it.
func getJSON(tb testing.TB, s *Sandbox, target string) map[string]any {
	tb.Helper()
	w := serve(s, signed(tb, target, auth{}))
	if w.Code != http.StatusOK {
		tb.Fatalf("GET %s: status %d (%s)", target, w.Code, w.Body)
	}
	var doc map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil {
		tb.Fatal(err)
	}
	return doc
}

// outcomeOf follows an accepted job to its task's result, as a client does.
func outcomeOf(tb testing.TB, s *Sandbox, accepted *httptest.ResponseRecorder) *httptest.ResponseRecorder {
	tb.Helper()
	if accepted.Code != http.StatusAccepted || accepted.Header().Get("Preference-Applied") != "respond-async" {
		tb.Fatalf("write: status %d (%s); want 202 with Preference-Applied", accepted.Code, accepted.Body)
	}
	jobURL := accepted.Header().Get("Location")
	if doc := getJSON(tb, s, jobURL); doc["completed"] != true {
		tb.Fatalf("job %s: %v; want completed", jobURL, doc)
	}
	tasks := getJSON(tb, s, jobURL+"/task")
	items, _ := tasks["items"].([]any)
	if len(items) != 1 {
		tb.Fatalf("tasks of %s: %v; want one", jobURL, tasks)
	}
	taskID := items[0].(map[string]any)["id"].(string)
	return serve(s, signed(tb, jobURL+"/task/"+taskID+"/result", auth{}))
}

// createdRecord returns the id of the record a successful result points at.
func createdRecord(tb testing.TB, result *httptest.ResponseRecorder, recordType string) string {
	tb.Helper()
	loc := result.Header().Get("Location")
	prefix := sandboxURL + recordPath + recordType + "/"
	if result.Code != http.StatusNoContent || !strings.HasPrefix(loc, prefix) {
		tb.Fatalf("result: status %d, Location %q (%s); want 204 and a %s", result.Code, loc, result.Body, recordType)
	}
	return strings.TrimPrefix(loc, prefix)
}

func record(tb testing.TB, s *Sandbox, recordType, id string) map[string]any {
	tb.Helper()
	return getJSON(tb, s, sandboxURL+recordPath+recordType+"/"+id+"?expandSubResources=true")
}

func statusOf(doc map[string]any) any { return path(doc, "status", "refName") }

func path(v any, keys ...any) any {
	for _, k := range keys {
		switch k := k.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			l, _ := v.([]any)
			if k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

// wantIdempotencyError checks NetSuite's answer to a repeated key: 400 titled Conflict.
func wantIdempotencyError(tb testing.TB, w *httptest.ResponseRecorder) {
	tb.Helper()
	var body errorBody
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || w.Code != http.StatusBadRequest || body.Title != "Conflict" ||
		len(body.Details) != 1 || body.Details[0].Code != "IDEMPOTENCY_ERROR" {
		tb.Errorf("got %d %s; want 400 Conflict IDEMPOTENCY_ERROR", w.Code, w.Body)
	}
}

func key(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }

// openRMA returns an RMA for every unit of the eligible scenario order (lines of 1 and 2 units).
func openRMA(tb testing.TB, s *Sandbox, ds *demo.Dataset, k string) string {
	tb.Helper()
	soID, ok := s.SalesOrderID(ds.Scenario(demo.ScenarioEligible).ID)
	if !ok {
		tb.Fatal("no sales order for the eligible scenario")
	}
	body := `{"orderStatus":{"id":"B"},"item":{"items":[{"orderLine":1,"quantity":1},{"orderLine":2,"quantity":2}]}}`
	res := outcomeOf(tb, s, submit(tb, s, http.MethodPost, recordPath+"salesOrder/"+soID+"/!transform/returnAuthorization", body, k))
	return createdRecord(tb, res, TypeReturnAuthorization)
}

// TestReturnToRefund walks an RMA through partial and full receipt and credit, checking the
// status NetSuite shows after each step.
func TestReturnToRefund(t *testing.T) {
	t.Parallel()
	s, ds := newSandbox(t, Options{})
	rma := openRMA(t, s, ds, key(1))
	doc := record(t, s, TypeReturnAuthorization, rma)
	o := ds.Scenario(demo.ScenarioEligible)
	if statusOf(doc) != "Pending Receipt" || !strings.HasPrefix(doc["tranId"].(string), "RMA") ||
		path(doc, "item", "items", 1, "item", "refName") != o.Lines[1].SKU || path(doc, "item", "items", 1, "quantity") != 2.0 {
		t.Fatalf("new RMA: %v", doc)
	}
	steps := []struct {
		name, transform, body, status string
	}{
		{"receive part", "itemReceipt",
			`{"location":{"id":"7"},"item":{"items":[{"orderLine":2,"itemReceive":true,"quantity":1,"restock":true}]}}`,
			"Pending Refund/Partially Received"},
		{"credit what came", "creditMemo", `{"item":{"items":[{"orderLine":2,"quantity":1,"amount":12.50}]}}`, "Partially Received"},
		{"receive the rest", "itemReceipt",
			`{"location":{"id":"7"},"item":{"items":[{"orderLine":1,"quantity":1,"restock":false,"custcol_rb_condition":"damaged"},{"orderLine":2,"quantity":1,"restock":true}]}}`,
			"Pending Refund"},
		{"credit one line", "creditMemo", `{"item":{"items":[{"orderLine":1,"quantity":1}]}}`, "Pending Refund"},
		{"credit the rest", "creditMemo", `{"item":{"items":[{"orderLine":2,"quantity":1}]}}`, "Refunded"},
	}
	for i, st := range steps {
		res := outcomeOf(t, s, submit(t, s, http.MethodPost, recordPath+"returnAuthorization/"+rma+"/!transform/"+st.transform, st.body, key(100+i)))
		id := createdRecord(t, res, st.transform)
		created := record(t, s, st.transform, id)
		if path(created, "createdFrom", "id") != rma {
			t.Errorf("%s: createdFrom %v; want %s", st.name, path(created, "createdFrom"), rma)
		}
		if got := statusOf(record(t, s, TypeReturnAuthorization, rma)); got != st.status {
			t.Errorf("after %s: RMA status %v; want %s", st.name, got, st.status)
		}
	}
	// The first credit memo kept the amount it was given; the later one the line's rate.
	memos := s.Stats().Created[TypeCreditMemo]
	if want := map[string]int64{TypeReturnAuthorization: 1, TypeItemReceipt: 2, TypeCreditMemo: 3}; !cmp.Equal(want, s.Stats().Created) {
		t.Errorf("created %v; want %v", s.Stats().Created, want)
	}
	if memos != 3 {
		t.Errorf("credit memos %d; want 3", memos)
	}
	// A refunded RMA takes no more receipts or credits.
	res := outcomeOf(t, s, submit(t, s, http.MethodPost, recordPath+"returnAuthorization/"+rma+"/!transform/creditMemo",
		`{"item":{"items":[{"orderLine":1,"quantity":1}]}}`, key(200)))
	wantError(t, res, http.StatusBadRequest, "USER_ERROR")
}

func TestCreditMemoAmounts(t *testing.T) {
	t.Parallel()
	s, ds := newSandbox(t, Options{})
	rma := openRMA(t, s, ds, key(1))
	o := ds.Scenario(demo.ScenarioEligible)
	res := outcomeOf(t, s, submit(t, s, http.MethodPost, recordPath+"returnAuthorization/"+rma+"/!transform/creditMemo",
		`{"item":{"items":[{"orderLine":1,"quantity":1,"amount":"10.05"},{"orderLine":2,"quantity":2}]}}`, key(2)))
	cm := record(t, s, TypeCreditMemo, createdRecord(t, res, TypeCreditMemo))
	want := fmt.Sprintf("%.2f", float64(1005+2*o.Lines[1].UnitPriceMinor)/100)
	if got := fmt.Sprint(cm["total"]); got != want || statusOf(cm) != "Open" {
		t.Errorf("credit memo total %s status %v; want %s Open", got, statusOf(cm), want)
	}
}

func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	s, ds := newSandbox(t, Options{})
	soID, _ := s.SalesOrderID(ds.Scenario(demo.ScenarioEligible).ID)
	target := recordPath + "salesOrder/" + soID + "/!transform/returnAuthorization"
	body := `{"item":{"items":[{"orderLine":1,"quantity":1}]}}`

	first := submit(t, s, http.MethodPost, target, body, key(7))
	rma := createdRecord(t, outcomeOf(t, s, first), TypeReturnAuthorization)

	// The same request again, with the body's keys in another order: the earlier job, nothing new.
	again := submit(t, s, http.MethodPost, target, `{"item": {"items": [{"quantity": 1, "orderLine": 1}]}}`, key(7))
	wantIdempotencyError(t, again)
	if got, want := again.Header().Get("Location"), first.Header().Get("Location"); got != want {
		t.Errorf("repeat Location %q; want the earlier job %q", got, want)
	}
	// The earlier job still answers with the same record.
	if got := createdRecord(t, outcomeOf(t, s, first), TypeReturnAuthorization); got != rma {
		t.Errorf("earlier job's record %s; want %s", got, rma)
	}

	// Another request with the same key: refused, and no job to mistake for its own.
	other := submit(t, s, http.MethodPost, target, `{"item":{"items":[{"orderLine":2,"quantity":1}]}}`, key(7))
	wantIdempotencyError(t, other)
	if loc := other.Header().Get("Location"); loc != "" {
		t.Errorf("different request: Location %q; want none", loc)
	}

	// Concurrent first attempts with one key: one record.
	var wg sync.WaitGroup
	codes := make([]int, 8)
	for i := range codes {
		wg.Go(func() { codes[i] = submit(t, s, http.MethodPost, target, body, key(8)).Code })
	}
	wg.Wait()
	accepted := 0
	for _, c := range codes {
		if c == http.StatusAccepted {
			accepted++
		}
	}
	if accepted != 1 {
		t.Errorf("concurrent attempts: %v; want exactly one 202", codes)
	}
	st := s.Stats()
	if st.Created[TypeReturnAuthorization] != 2 || st.IdempotentRepeats != 2+7 {
		t.Errorf("stats %+v; want 2 RMAs and 9 repeats", st)
	}

	// Synchronous writes ignore the key, as NetSuite does.
	for range 2 {
		r := signedRequest(t, http.MethodPost, sandboxURL+target, body, auth{})
		r.Header.Set("X-NetSuite-Idempotency-Key", key(9))
		if w := serve(s, r); w.Code != http.StatusNoContent {
			t.Fatalf("synchronous write: %d %s", w.Code, w.Body)
		}
	}
	if got := s.Stats().Created[TypeReturnAuthorization]; got != 4 {
		t.Errorf("RMAs after two synchronous writes %d; want 4", got)
	}

	wantError(t, submit(t, s, http.MethodPost, target, body, "not-a-uuid"), http.StatusBadRequest, "INVALID_HEADER")
}

func TestAsyncDelay(t *testing.T) {
	t.Parallel()
	s, ds := newSandbox(t, Options{AsyncDelay: 150 * time.Millisecond})
	soID, _ := s.SalesOrderID(ds.Scenario(demo.ScenarioEligible).ID)
	accepted := submit(t, s, http.MethodPost, recordPath+"salesOrder/"+soID+"/!transform/returnAuthorization",
		`{"item":{"items":[{"orderLine":1,"quantity":1}]}}`, key(1))
	jobURL := accepted.Header().Get("Location")
	if doc := getJSON(t, s, jobURL); doc["completed"] != false || doc["progress"] != "pending" {
		t.Fatalf("job at once: %v; want pending", doc)
	}
	wantError(t, serve(s, signed(t, jobURL+"/task/"+path(getJSON(t, s, jobURL+"/task"), "items", 0, "id").(string)+"/result", auth{})),
		http.StatusNotFound, "NONEXISTENT_ID")
	time.Sleep(200 * time.Millisecond)
	if doc := getJSON(t, s, jobURL); doc["completed"] != true || doc["progress"] != "succeeded" {
		t.Fatalf("job later: %v; want succeeded", doc)
	}
	createdRecord(t, outcomeOf(t, s, accepted), TypeReturnAuthorization)
}

func TestWriteFailures(t *testing.T) {
	t.Parallel()
	s, ds := newSandbox(t, Options{})
	rma := openRMA(t, s, ds, key(1))
	soID, _ := s.SalesOrderID(ds.Scenario(demo.ScenarioEligible).ID)
	tests := []struct {
		name, method, path, body string
		status                   int
		code                     string
	}{
		{"unknown sales order", http.MethodPost, "salesOrder/999/!transform/returnAuthorization",
			`{"item":{"items":[{"orderLine":1,"quantity":1}]}}`, 404, "NONEXISTENT_ID"},
		{"no such order line", http.MethodPost, "salesOrder/" + soID + "/!transform/returnAuthorization",
			`{"item":{"items":[{"orderLine":9,"quantity":1}]}}`, 400, "USER_ERROR"},
		{"returning more than sold", http.MethodPost, "salesOrder/" + soID + "/!transform/returnAuthorization",
			`{"item":{"items":[{"orderLine":1,"quantity":5}]}}`, 400, "USER_ERROR"},
		{"fractional quantity", http.MethodPost, "returnAuthorization/" + rma + "/!transform/itemReceipt",
			`{"location":{"id":"7"},"item":{"items":[{"orderLine":1,"quantity":0.5}]}}`, 400, "USER_ERROR"},
		{"receipt without location", http.MethodPost, "returnAuthorization/" + rma + "/!transform/itemReceipt",
			`{"item":{"items":[{"orderLine":1,"quantity":1}]}}`, 400, "USER_ERROR"},
		{"receiving more than expected", http.MethodPost, "returnAuthorization/" + rma + "/!transform/itemReceipt",
			`{"location":{"id":"7"},"item":{"items":[{"orderLine":2,"quantity":2},{"orderLine":2,"quantity":1}]}}`, 400, "USER_ERROR"},
		{"sub-cent credit", http.MethodPost, "returnAuthorization/" + rma + "/!transform/creditMemo",
			`{"item":{"items":[{"orderLine":1,"quantity":1,"amount":1.005}]}}`, 400, "USER_ERROR"},
		{"unknown transform", http.MethodPost, "returnAuthorization/" + rma + "/!transform/invoice",
			`{}`, 400, "INVALID_RCRD_TRANSFORM"},
		{"unknown item on an adjustment", http.MethodPost, "inventoryAdjustment",
			`{"adjLocation":{"id":"7"},"inventory":{"items":[{"item":{"id":"1"},"adjustQtyBy":-1}]}}`, 400, "INVALID_KEY_OR_REF"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := outcomeOf(t, s, submit(t, s, tt.method, recordPath+tt.path, tt.body, key(10+i)))
			wantError(t, res, tt.status, tt.code)
			if doc := getJSON(t, s, submit(t, s, tt.method, recordPath+tt.path, tt.body, key(10+i)).Header().Get("Location")); doc["progress"] != "failed" {
				t.Errorf("job progress %v; want failed", doc["progress"])
			}
		})
	}
	if got := s.Stats().Created; !cmp.Equal(got, map[string]int64{TypeReturnAuthorization: 1}) {
		t.Errorf("created %v; want only the first RMA", got)
	}
	if got := statusOf(record(t, s, TypeReturnAuthorization, rma)); got != "Pending Receipt" {
		t.Errorf("RMA status after failed writes %v; want Pending Receipt", got)
	}
}

func TestCloseReturnAuthorization(t *testing.T) {
	t.Parallel()
	s, ds := newSandbox(t, Options{})
	rma := openRMA(t, s, ds, key(1))
	patch := `{"item":{"items":[{"line":1,"isClosed":true},{"line":2,"isClosed":true}]}}`
	res := outcomeOf(t, s, submit(t, s, http.MethodPatch, recordPath+"returnAuthorization/"+rma, patch, key(2)))
	if got := createdRecord(t, res, TypeReturnAuthorization); got != rma {
		t.Errorf("PATCH result points at %s; want %s", got, rma)
	}
	if got, _ := s.Status(TypeReturnAuthorization, rma); got != "Closed" {
		t.Errorf("status %q; want Closed", got)
	}
	res = outcomeOf(t, s, submit(t, s, http.MethodPost, recordPath+"returnAuthorization/"+rma+"/!transform/itemReceipt",
		`{"location":{"id":"7"},"item":{"items":[{"orderLine":1,"quantity":1}]}}`, key(3)))
	wantError(t, res, http.StatusBadRequest, "USER_ERROR")
	if got := s.Stats().Created[TypeReturnAuthorization]; got != 1 {
		t.Errorf("RMAs %d; want 1 (a PATCH creates nothing)", got)
	}
}

func TestSalesOrdersAndAdjustments(t *testing.T) {
	t.Parallel()
	s, ds := newSandbox(t, Options{})
	o := ds.Scenario(demo.ScenarioEligible)
	so := getJSON(t, s, sandboxURL+recordPath+"salesOrder/eid:"+o.ID+"?expandSubResources=true")
	if so["externalId"] != o.ID || statusOf(so) != "Billed" || path(so, "item", "items", 0, "custcol_rb_order_line_id") != o.Lines[0].ID {
		t.Errorf("booked sales order: %v", so)
	}
	if _, expanded := path(getJSON(t, s, sandboxURL+recordPath+"salesOrder/eid:"+o.ID), "item").(map[string]any)["items"]; expanded {
		t.Errorf("sublist expanded without expandSubResources")
	}
	it := ds.Items[0]
	res := outcomeOf(t, s, submit(t, s, http.MethodPost, recordPath+"salesOrder",
		fmt.Sprintf(`{"externalId":"9000001","entity":{"externalId":"7000001"},"item":{"items":[{"item":{"id":%q},"quantity":2}]}}`, it.ERPID), key(1)))
	id := createdRecord(t, res, TypeSalesOrder)
	if got, _ := s.Status(TypeSalesOrder, id); got != "Pending Fulfillment" {
		t.Errorf("new sales order status %q; want Pending Fulfillment", got)
	}
	res = outcomeOf(t, s, submit(t, s, http.MethodPost, recordPath+"salesOrder",
		`{"externalId":"9000001","entity":{"externalId":"7000001"},"item":{"items":[{"item":{"id":"3000"},"quantity":1}]}}`, key(2)))
	wantError(t, res, http.StatusBadRequest, "USER_ERROR")

	res = outcomeOf(t, s, submit(t, s, http.MethodPost, recordPath+"inventoryAdjustment",
		fmt.Sprintf(`{"adjLocation":{"id":"7"},"memo":"return write-off","custbody_rb_disposition":"write_off","custbody_rb_value":49.99,"inventory":{"items":[{"item":{"id":%q},"adjustQtyBy":-1}]}}`, it.ERPID), key(3)))
	adj := record(t, s, TypeInventoryAdjustment, createdRecord(t, res, TypeInventoryAdjustment))
	if path(adj, "inventory", "items", 0, "adjustQtyBy") != -1.0 || adj["custbody_rb_disposition"] != "write_off" || fmt.Sprint(adj["custbody_rb_value"]) != "49.99" {
		t.Errorf("adjustment: %v", adj)
	}
	if got := s.Stats().Created; !cmp.Equal(got, map[string]int64{TypeSalesOrder: 1, TypeInventoryAdjustment: 1}) {
		t.Errorf("created %v", got)
	}
}

// TestWritesDuringMaintenance: the account takes no writes and creates nothing in a window.
func TestWritesDuringMaintenance(t *testing.T) {
	t.Parallel()
	s, ds := newSandbox(t, Options{})
	soID, _ := s.SalesOrderID(ds.Scenario(demo.ScenarioEligible).ID)
	s.SetMaintenance(true, time.Second)
	w := submit(t, s, http.MethodPost, recordPath+"salesOrder/"+soID+"/!transform/returnAuthorization",
		`{"item":{"items":[{"orderLine":1,"quantity":1}]}}`, key(1))
	wantError(t, w, http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE")
	if w.Header().Get("Retry-After") != "1" || len(s.Stats().Created) != 0 {
		t.Errorf("Retry-After %q, created %v; want 1 and nothing", w.Header().Get("Retry-After"), s.Stats().Created)
	}
	s.SetMaintenance(false, 0)
	createdRecord(t, outcomeOf(t, s, submit(t, s, http.MethodPost, recordPath+"salesOrder/"+soID+"/!transform/returnAuthorization",
		`{"item":{"items":[{"orderLine":1,"quantity":1}]}}`, key(1))), TypeReturnAuthorization)
}
