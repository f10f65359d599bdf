package warehouse

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/retailbridge/retailbridge/services/sandbox/demo"

	"github.com/retailbridge/retailbridge/pkg/testkit"
)

var testNow = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

type received struct {
	header http.Header
	body   []byte
}

type env struct {
	sb  *Sandbox
	srv *httptest.Server
	ds  *demo.Dataset

	mu  sync.Mutex
	got []received
}

func newEnv(tb testing.TB, opts Options) *env {
	tb.Helper()
	e := &env{ds: demo.Generate(3, testNow, 2, 2)}
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		e.mu.Lock()
		e.got = append(e.got, received{header: r.Header.Clone(), body: body})
		e.mu.Unlock()
	}))
	tb.Cleanup(rcv.Close)
	if opts.WebhookURL == "" {
		opts.WebhookURL = rcv.URL
	}
	if opts.Delivery.RetryBackoff == 0 {
		opts.Delivery.RetryBackoff = 5 * time.Millisecond
	}
	e.sb = New(e.ds, opts)
	e.srv = httptest.NewServer(e.sb)
	tb.Cleanup(func() {
		e.srv.Close()
		e.sb.Close()
	})
	return e
}

func (e *env) received() []received {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.got)
}

func (e *env) call(tb testing.TB, method, path, key string, body, out any) *http.Response {
	tb.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			tb.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, rd)
	req.Header.Set("Authorization", "Bearer "+DevAPIKey)
	if key != "" {
		req.Header.Set(HeaderIdempotencyKey, key)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			tb.Fatalf("%s %s: %v (%s)", method, path, err, raw)
		}
	}
	return resp
}

func (e *env) waitIdle(tb testing.TB) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.sb.WaitIdle(ctx); err != nil {
		tb.Fatal(err)
	}
}

func sampleExpect(ref string) expectReturnRequest {
	return expectReturnRequest{Reference: ref, OrderID: "5001", RMANumber: "RMA-1", LocationID: "dc-east",
		Lines: []expectLine{{OrderLineID: "9001", SKU: "APP-000", Quantity: 2}, {OrderLineID: "9002", SKU: "FTW-100", Quantity: 1}}}
}

func sampleOrder(ref string) shippingOrderRequest {
	return shippingOrderRequest{Reference: ref, OrderID: "5001", LocationID: "dc-west",
		ShipTo: address{Name: "Jane Doe", AddressLines: []string{"1 Main St"}, City: "Springfield", CountryCode: "US"},
		Lines:  []orderLine{{OrderLineID: "9001", SKU: "APP-000", Quantity: 3}}}
}

func waitUntil(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	testkit.Eventually(tb, 5*time.Second, what, cond)
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Manual: true})
	for _, h := range []string{"", "Bearer wrong", DevAPIKey} {
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/v1/inventory", nil)
		if h != "" {
			req.Header.Set("Authorization", h)
		}
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("Authorization %q: %d; want 401", h, resp.StatusCode)
		}
	}
}

func TestExpectReturnIdempotent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Manual: true})
	before := e.sb.Position("dc-east", "APP-000")
	var first receiptDoc
	if resp := e.call(t, http.MethodPost, "/v1/inbound/returns", "k1", sampleExpect("ret_1"), &first); resp.StatusCode != http.StatusCreated {
		t.Fatalf("expect: %d", resp.StatusCode)
	}
	if first.Status != ReceiptExpected || len(first.Lines) != 2 || first.Lines[0].LineNumber != 1 {
		t.Errorf("receipt %+v; want expected with two numbered lines", first)
	}
	for _, key := range []string{"k1", "", "k2"} {
		var again receiptDoc
		resp := e.call(t, http.MethodPost, "/v1/inbound/returns", key, sampleExpect("ret_1"), &again)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("repeat with key %q: %d; want 200 replayed", key, resp.StatusCode)
		}
		if diff := cmp.Diff(first, again); diff != "" {
			t.Errorf("repeat mismatch (-first +again):\n%s", diff)
		}
	}
	other := sampleExpect("ret_1")
	other.Lines[0].Quantity = 5
	var ed errorDoc
	if resp := e.call(t, http.MethodPost, "/v1/inbound/returns", "", other, &ed); resp.StatusCode != http.StatusConflict || ed.Error.Code != "reference_conflict" {
		t.Errorf("same reference, other content: %d %q; want 409 reference_conflict", resp.StatusCode, ed.Error.Code)
	}
	if resp := e.call(t, http.MethodPost, "/v1/inbound/returns", "k1", sampleExpect("ret_2"), &ed); resp.StatusCode != http.StatusConflict || ed.Error.Code != "idempotency_key_reused" {
		t.Errorf("same key, other reference: %d %q; want 409 idempotency_key_reused", resp.StatusCode, ed.Error.Code)
	}
	if n := e.sb.Stats().ReceiptsCreated; n != 1 {
		t.Errorf("ReceiptsCreated = %d; want 1", n)
	}
	after := e.sb.Position("dc-east", "APP-000")
	if after[StateIncoming]-before[StateIncoming] != 2 {
		t.Errorf("incoming went %d → %d; want +2 once", before[StateIncoming], after[StateIncoming])
	}
}

func TestExpectReturnValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Manual: true})
	var ed errorDoc
	resp := e.call(t, http.MethodPost, "/v1/inbound/returns", "",
		expectReturnRequest{LocationID: "moon", Lines: []expectLine{{Quantity: 0}}}, &ed)
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("status %d; want 422", resp.StatusCode)
	}
	var fields []string
	for _, d := range ed.Error.Details {
		fields = append(fields, d.Field)
	}
	if diff := cmp.Diff([]string{"reference", "location_id", "lines[0].sku", "lines[0].quantity"}, fields); diff != "" {
		t.Errorf("fields mismatch (-want +got):\n%s", diff)
	}
	resp = e.call(t, http.MethodPost, "/v1/inbound/returns", "", map[string]any{"reference": "r", "bogus": 1}, nil)
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("unknown field: %d; want 400", resp.StatusCode)
	}
}

// verifySig checks a webhook's signature the way a receiver must.
func verifySig(tb testing.TB, secret string, r received) {
	tb.Helper()
	sig := r.header.Get(HeaderSignature)
	ts, _, _ := strings.Cut(strings.TrimPrefix(sig, "t="), ",")
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		tb.Fatalf("signature %q has no timestamp", sig)
	}
	if want := Sign(secret, time.Unix(secs, 0), r.body); sig != want {
		tb.Errorf("signature %q; want %q", sig, want)
	}
	if d := time.Since(time.Unix(secs, 0)); d < -time.Minute || d > time.Minute {
		tb.Errorf("signature timestamp %v from now; want the sending time", d)
	}
}

func TestReceiveAndInspectByHand(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Manual: true, WebhookSecret: "s3cret"})
	var rc receiptDoc
	e.call(t, http.MethodPost, "/v1/inbound/returns", "", sampleExpect("ret_1"), &rc)
	pos := func() map[string]int64 { return e.sb.Position("dc-east", "FTW-100") }
	start := pos()

	if err := e.sb.Inspect(rc.ID, nil); err == nil {
		t.Errorf("Inspect before receipt: nil error; want one")
	}
	if err := e.sb.Receive(rc.ID); err != nil {
		t.Fatal(err)
	}
	if p := pos(); p[StateQualityControl] != start[StateQualityControl]+1 {
		t.Errorf("after receipt: %v; want one more unit in quality control", p)
	}
	if err := e.sb.Inspect(rc.ID, map[int]string{1: ConditionDamaged, 2: ConditionResellable}); err != nil {
		t.Fatal(err)
	}
	if p := pos(); p[StateQualityControl] != start[StateQualityControl] || p[StateAvailable] != start[StateAvailable]+1 {
		t.Errorf("after inspection: %v (was %v); want the unit moved from quality control to available", p, start)
	}
	var got receiptDoc
	e.call(t, http.MethodGet, "/v1/inbound/returns/"+rc.ID, "", nil, &got)
	if got.Status != ReceiptInspected || got.Lines[0].Condition != ConditionDamaged || got.Lines[1].Condition != ConditionResellable ||
		got.Lines[0].ReceivedQuantity != 2 || got.ReceivedAt == "" || got.InspectedAt == "" {
		t.Errorf("receipt %+v; want inspected with the forced conditions", got)
	}

	e.waitIdle(t)
	hooks := e.received()
	if len(hooks) != 2 {
		t.Fatalf("received %d webhooks; want receipt.created and inspection.completed", len(hooks))
	}
	for i, topic := range []string{TopicReceiptCreated, TopicInspectionCompleted} {
		h := hooks[slices.IndexFunc(hooks, func(r received) bool { return r.header.Get(HeaderTopic) == topic })]
		verifySig(t, "s3cret", h)
		var doc struct {
			ID    string     `json:"id"`
			Topic string     `json:"topic"`
			Data  receiptDoc `json:"data"`
		}
		if err := json.Unmarshal(h.body, &doc); err != nil {
			t.Fatal(err)
		}
		if doc.ID != h.header.Get(HeaderDeliveryID) || doc.Topic != topic || doc.Data.ID != rc.ID {
			t.Errorf("webhook %d: %+v; want id, topic and the receipt", i, doc)
		}
	}
}

func TestAutoProgressReturns(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Delays: Delays{Receive: 10 * time.Millisecond, Inspect: 10 * time.Millisecond}, Seed: 42})
	var ids []string
	for i := range 5 {
		var rc receiptDoc
		e.call(t, http.MethodPost, "/v1/inbound/returns", "", sampleExpect(fmt.Sprint("ret_", i)), &rc)
		ids = append(ids, rc.ID)
	}
	for i, id := range ids {
		waitUntil(t, id+" inspected", func() bool { st, _ := e.sb.Receipt(id); return st.Status == ReceiptInspected })
		st, _ := e.sb.Receipt(id)
		want := []string{e.sb.OutcomeFor(fmt.Sprint("ret_", i), 1), e.sb.OutcomeFor(fmt.Sprint("ret_", i), 2)}
		if diff := cmp.Diff(want, st.Conditions); diff != "" {
			t.Errorf("%s conditions mismatch (-rules +got):\n%s", id, diff)
		}
	}
	e.waitIdle(t)
	if n := len(e.received()); n != 10 {
		t.Errorf("received %d webhooks; want 10 (a receipt and an inspection per return)", n)
	}
}

func TestOutcomeRules(t *testing.T) {
	t.Parallel()
	a := New(nil, Options{Manual: true, Seed: 7, Outcomes: Outcomes{Resellable: 0.6, Damaged: 0.3, WrongOrMissing: 0.1}})
	b := New(nil, Options{Manual: true, Seed: 7, Outcomes: Outcomes{Resellable: 0.6, Damaged: 0.3, WrongOrMissing: 0.1}})
	c := New(nil, Options{Manual: true, Seed: 8, Outcomes: Outcomes{Resellable: 0.6, Damaged: 0.3, WrongOrMissing: 0.1}})
	for _, sb := range []*Sandbox{a, b, c} {
		t.Cleanup(sb.Close)
	}
	const n = 4000
	counts := map[string]int{}
	differ := 0
	for i := range n {
		ref := fmt.Sprint("ret_", i)
		got := a.OutcomeFor(ref, 1)
		if got != b.OutcomeFor(ref, 1) {
			t.Fatalf("the same seed gave different outcomes for %s", ref)
		}
		if got != c.OutcomeFor(ref, 1) {
			differ++
		}
		counts[got]++
	}
	for cond, share := range map[string]float64{ConditionResellable: 0.6, ConditionDamaged: 0.3, ConditionWrongOrMissing: 0.1} {
		if got := float64(counts[cond]) / n; math.Abs(got-share) > 0.03 {
			t.Errorf("%s share %.3f; want %.2f ± 0.03", cond, got, share)
		}
	}
	if differ == 0 {
		t.Errorf("another seed gave the same outcomes; want different ones")
	}
}

func TestShippingOrders(t *testing.T) {
	t.Parallel()
	t.Run("acknowledged after the delay, then shipped", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, Options{Delays: Delays{Acknowledge: 80 * time.Millisecond, Ship: 20 * time.Millisecond}})
		start := e.sb.Position("dc-west", "APP-000")
		var o orderDoc
		if resp := e.call(t, http.MethodPost, "/v1/outbound/orders", "", sampleOrder("shp_1"), &o); resp.StatusCode != http.StatusCreated {
			t.Fatalf("create order: %d", resp.StatusCode)
		}
		if st, _ := e.sb.OrderStatus(o.ID); st != OrderOpen {
			t.Errorf("status %q right after creation; want open until the acknowledgement delay passes", st)
		}
		waitUntil(t, "shipped", func() bool { st, _ := e.sb.OrderStatus(o.ID); return st == OrderShipped })
		var got orderDoc
		e.call(t, http.MethodGet, "/v1/outbound/orders/"+o.ID, "", nil, &got)
		if got.AcknowledgedAt == "" || got.TrackingNumber == "" || got.Carrier != DefaultCarrier || got.Lines[0].ShippedQuantity != 3 {
			t.Errorf("order %+v; want acknowledged, shipped in full with a tracking number", got)
		}
		end := e.sb.Position("dc-west", "APP-000")
		if end[StateAvailable] != start[StateAvailable]-3 || end[StateReserved] != start[StateReserved] {
			t.Errorf("stock %v → %v; want three units gone from available", start, end)
		}
		e.waitIdle(t)
		var topics []string
		for _, d := range e.sb.Webhooks() {
			topics = append(topics, d.Topic)
		}
		if diff := cmp.Diff([]string{TopicShipmentAcknowledged, TopicShipmentShipped}, topics); diff != "" {
			t.Errorf("webhooks mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("never acknowledged by itself", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, Options{Delays: Delays{Acknowledge: -1, Ship: -1}})
		var o orderDoc
		e.call(t, http.MethodPost, "/v1/outbound/orders", "", sampleOrder("shp_2"), &o)
		time.Sleep(100 * time.Millisecond)
		if st, _ := e.sb.OrderStatus(o.ID); st != OrderOpen || len(e.sb.Webhooks()) != 0 {
			t.Fatalf("status %q with %d webhooks; want open and silent", st, len(e.sb.Webhooks()))
		}
		if err := e.sb.Ship(o.ID); err == nil {
			t.Errorf("Ship before acknowledgement: nil error; want one")
		}
		if err := e.sb.Acknowledge(o.ID); err != nil {
			t.Fatal(err)
		}
		if err := e.sb.Ship(o.ID); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("idempotent by reference", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, Options{Manual: true})
		var a, b orderDoc
		e.call(t, http.MethodPost, "/v1/outbound/orders", "", sampleOrder("shp_3"), &a)
		if resp := e.call(t, http.MethodPost, "/v1/outbound/orders", "", sampleOrder("shp_3"), &b); resp.StatusCode != http.StatusOK || a.ID != b.ID {
			t.Errorf("repeat: %d, %s; want 200 and %s", resp.StatusCode, b.ID, a.ID)
		}
		var ed errorDoc
		bad := sampleOrder("shp_4")
		bad.ShipTo = address{CountryCode: "usa"}
		e.call(t, http.MethodPost, "/v1/outbound/orders", "", bad, &ed)
		var fields []string
		for _, d := range ed.Error.Details {
			fields = append(fields, d.Field)
		}
		if diff := cmp.Diff([]string{"ship_to.name", "ship_to.address_lines", "ship_to.city", "ship_to.country_code"}, fields); diff != "" {
			t.Errorf("fields mismatch (-want +got):\n%s", diff)
		}
	})
}

func TestInventory(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Manual: true})
	var all []positionDoc
	token := ""
	for pages := 0; ; pages++ {
		var page inventoryPage
		e.call(t, http.MethodGet, "/v1/inventory?page_size=7&page_token="+token, "", nil, &page)
		all = append(all, page.Positions...)
		if page.NextPageToken == "" {
			break
		}
		token = page.NextPageToken
		if pages > 100 {
			t.Fatal("pagination does not end")
		}
	}
	stocked := 0
	for _, it := range e.ds.Items {
		if it.Category != "gift_card" {
			stocked++
		}
	}
	if len(all) != stocked*len(DefaultLocations) {
		t.Errorf("listed %d positions; want %d", len(all), stocked*len(DefaultLocations))
	}
	var filtered inventoryPage
	e.call(t, http.MethodGet, "/v1/inventory?sku=APP-000&sku=FTW-100&location_id=dc-west", "", nil, &filtered)
	if len(filtered.Positions) != 2 || filtered.Positions[0].LocationID != "dc-west" || filtered.Positions[0].Quantities[StateAvailable] == 0 {
		t.Errorf("filtered %+v; want two dc-west positions with stock", filtered.Positions)
	}
	for _, q := range []string{"page_size=0", "page_size=501", "page_token=zzz"} {
		if resp := e.call(t, http.MethodGet, "/v1/inventory?"+q, "", nil, nil); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d; want 400", q, resp.StatusCode)
		}
	}
}

func TestDeliveryKnobs(t *testing.T) {
	t.Parallel()
	t.Run("duplicates", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, Options{Manual: true, Delivery: DeliverySettings{MinCopies: 2, MaxCopies: 5, Reorder: 5 * time.Millisecond}})
		var rc receiptDoc
		e.call(t, http.MethodPost, "/v1/inbound/returns", "", sampleExpect("ret_1"), &rc)
		_ = e.sb.Receive(rc.ID)
		_ = e.sb.Inspect(rc.ID, nil)
		e.waitIdle(t)
		perID := map[string]int{}
		for _, r := range e.received() {
			perID[r.header.Get(HeaderDeliveryID)]++
		}
		if len(perID) != 2 {
			t.Errorf("distinct deliveries %d; want 2", len(perID))
		}
		for id, n := range perID {
			if n < 2 || n > 5 {
				t.Errorf("delivery %s arrived %d times; want 2–5", id, n)
			}
		}
	})
	t.Run("flushed", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, Options{Manual: true, Delivery: DeliverySettings{LateRate: 1, LateBy: time.Hour}})
		var rc receiptDoc
		e.call(t, http.MethodPost, "/v1/inbound/returns", "", sampleExpect("ret_1"), &rc)
		_ = e.sb.Receive(rc.ID)
		time.Sleep(20 * time.Millisecond)
		if n := len(e.received()); n != 0 {
			t.Fatalf("received %d before the flush; want the copy held back an hour", n)
		}
		e.sb.FlushWebhooks()
		e.waitIdle(t)
		if n := len(e.received()); n != 1 {
			t.Errorf("received %d after the flush; want 1", n)
		}
	})
	t.Run("drop then redeliver", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, Options{Manual: true, Delivery: DeliverySettings{DropRate: 1}})
		var rc receiptDoc
		e.call(t, http.MethodPost, "/v1/inbound/returns", "", sampleExpect("ret_1"), &rc)
		_ = e.sb.Receive(rc.ID)
		e.waitIdle(t)
		if n := len(e.received()); n != 0 || e.sb.Stats().Dropped != 1 {
			t.Fatalf("received %d; want the webhook dropped", n)
		}
		if err := e.sb.Redeliver(e.sb.Webhooks()[0].ID); err != nil {
			t.Fatal(err)
		}
		e.waitIdle(t)
		if n := len(e.received()); n != 1 {
			t.Errorf("received %d after redelivery; want 1", n)
		}
	})
}

func TestControlAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Manual: true})
	var rc receiptDoc
	e.call(t, http.MethodPost, "/v1/inbound/returns", "", sampleExpect("ret_1"), &rc)
	do := func(method, path string, body any, out any) int {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, e.srv.URL+path, rd)
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if out != nil {
			_ = json.NewDecoder(resp.Body).Decode(out)
		}
		return resp.StatusCode
	}
	var st ReceiptStatus
	if code := do(http.MethodPost, "/_sandbox/warehouse/receipts/"+rc.ID+"/inspect", nil, nil); code != http.StatusConflict {
		t.Errorf("inspect before receipt: %d; want 409", code)
	}
	if code := do(http.MethodPost, "/_sandbox/warehouse/receipts/"+rc.ID+"/receive", nil, &st); code != 200 || st.Status != ReceiptReceived {
		t.Errorf("receive: %d %+v", code, st)
	}
	body := map[string]any{"conditions": map[string]string{"1": ConditionWrongOrMissing, "2": ConditionDamaged}}
	if code := do(http.MethodPost, "/_sandbox/warehouse/receipts/"+rc.ID+"/inspect", body, &st); code != 200 ||
		!slices.Equal(st.Conditions, []string{ConditionWrongOrMissing, ConditionDamaged}) {
		t.Errorf("inspect: %d %+v", code, st)
	}
	if code := do(http.MethodPost, "/_sandbox/warehouse/orders/SO-999/acknowledge", nil, nil); code != http.StatusNotFound {
		t.Errorf("unknown order: %d; want 404", code)
	}
	var set Settings
	if code := do(http.MethodPut, "/_sandbox/warehouse/settings", Settings{Delays: Delays{Acknowledge: -1},
		Outcomes: Outcomes{Damaged: 1}}, &set); code != 200 || set.Manual || set.Delays.Acknowledge != -1 || set.Outcomes.Damaged != 1 {
		t.Errorf("settings: %d %+v", code, set)
	}
	var hooks []Delivery
	do(http.MethodGet, "/_sandbox/warehouse/webhooks", nil, &hooks)
	if len(hooks) != 2 {
		t.Fatalf("webhooks %d; want 2", len(hooks))
	}
	if code := do(http.MethodPost, "/_sandbox/warehouse/webhooks/"+hooks[1].ID+"/redeliver", nil, nil); code != http.StatusAccepted {
		t.Errorf("redeliver: %d; want 202", code)
	}
	var stats Stats
	if code := do(http.MethodGet, "/_sandbox/warehouse/stats", nil, &stats); code != 200 || stats.ReceiptsCreated != 1 || stats.Webhooks != 2 {
		t.Errorf("stats: %d %+v", code, stats)
	}
}

// Under a sustained load of fresh keys the warehouse remembers only the latest IdempotencyKeys:
// its memory for keys stays bounded, and a create repeated under a forgotten key is still
// answered with the receipt it created (matched by its reference), never a second receipt.
func TestIdempotencyKeysStayBounded(t *testing.T) {
	t.Parallel()
	const keep, records = 40, 500
	e := newEnv(t, Options{Manual: true, IdempotencyKeys: keep})
	var first receiptDoc
	for i := range records {
		var d receiptDoc
		if resp := e.call(t, http.MethodPost, "/v1/inbound/returns", fmt.Sprintf("k%d", i), sampleExpect(fmt.Sprintf("ret_%d", i)), &d); resp.StatusCode != http.StatusCreated {
			t.Fatalf("expect %d: %d", i, resp.StatusCode)
		}
		if i == 0 {
			first = d
		}
		e.sb.mu.Lock()
		held := e.sb.idem.Len()
		e.sb.mu.Unlock()
		if held > keep {
			t.Fatalf("after %d creates: %d keys held; want at most %d", i+1, held, keep)
		}
	}
	var again receiptDoc
	if resp := e.call(t, http.MethodPost, "/v1/inbound/returns", "k0", sampleExpect("ret_0"), &again); resp.StatusCode != http.StatusOK || again.ID != first.ID {
		t.Errorf("repeat under a forgotten key: %d, receipt %q; want 200 and the first receipt %q", resp.StatusCode, again.ID, first.ID)
	}
	if n := e.sb.Stats().ReceiptsCreated; n != records {
		t.Errorf("ReceiptsCreated = %d; want %d", n, records)
	}
}
