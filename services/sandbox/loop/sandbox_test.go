package loop

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// receiver is a webhook endpoint that records what it got and answers with status.
type receiver struct {
	srv *httptest.Server

	mu     sync.Mutex
	got    []received
	status []int // answers to give in turn; 200 once they run out
}

type received struct {
	header http.Header
	body   []byte
}

func newReceiver(tb testing.TB, status ...int) *receiver {
	tb.Helper()
	rc := &receiver{status: status}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, received{header: r.Header.Clone(), body: body})
		code := http.StatusOK
		if len(rc.status) > 0 {
			code, rc.status = rc.status[0], rc.status[1:]
		}
		rc.mu.Unlock()
		w.WriteHeader(code)
	}))
	tb.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) all() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.got)
}

// triggers lists the triggers received, with the label status each showed.
func (rc *receiver) triggers(tb testing.TB) []string {
	tb.Helper()
	var out []string
	for _, g := range rc.all() {
		var d returnDoc
		if err := json.Unmarshal(g.body, &d); err != nil {
			tb.Fatalf("webhook body %s: %v", g.body, err)
		}
		s := d.Trigger + " " + d.State
		if d.Label != nil {
			s += " " + d.Label.Status
		}
		out = append(out, s)
	}
	return out
}

type env struct {
	sb  *Sandbox
	srv *httptest.Server
	rc  *receiver
}

func newEnv(tb testing.TB, opts Options, status ...int) *env {
	tb.Helper()
	e := &env{rc: newReceiver(tb, status...)}
	if opts.WebhookURL == "" {
		opts.WebhookURL = e.rc.srv.URL
	}
	if opts.Delivery.RetryBackoff == 0 {
		opts.Delivery.RetryBackoff = 5 * time.Millisecond
	}
	e.sb = New(opts)
	e.srv = httptest.NewServer(e.sb)
	tb.Cleanup(func() {
		e.srv.Close()
		e.sb.Close()
	})
	return e
}

// call sends an authenticated request and decodes a JSON answer into out (when not nil).
func (e *env) call(tb testing.TB, method, path, key string, body any, out any) *http.Response {
	tb.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			tb.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set(HeaderAPIKey, DevAPIKey)
	if key != "" {
		req.Header.Set(HeaderIdempotencyKey, key)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			tb.Fatalf("%s %s: %v (body %s)", method, path, err, raw)
		}
	}
	if out, ok := out.(*errorDoc); ok && resp.StatusCode >= 300 {
		_ = json.Unmarshal(raw, out)
	}
	return resp
}

func sampleReturn(ext string) createReturnRequest {
	return createReturnRequest{
		ExternalID: ext, ProviderOrderID: "5001", OrderName: "#1001", CustomerID: "7000001",
		Currency: "USD", Total: "59.98", ReturnMethod: MethodMail,
		LineItems: []lineItemRequest{{ProviderLineItemID: "9001", SKU: "APP-001", Quantity: 2, Reason: "size_or_fit"}},
	}
}

func (e *env) create(tb testing.TB, key string, req createReturnRequest) returnDoc {
	tb.Helper()
	var d returnDoc
	if resp := e.call(tb, http.MethodPost, "/api/v1/returns", key, req, &d); resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		tb.Fatalf("create return: status %d", resp.StatusCode)
	}
	return d
}

func ctxFor(tb testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	tb.Cleanup(cancel)
	return ctx
}

func waitIdle(tb testing.TB, sb *Sandbox) {
	tb.Helper()
	if err := sb.WaitIdle(ctxFor(tb, 10*time.Second)); err != nil {
		tb.Fatalf("webhooks still in flight: %v", err)
	}
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Manual: true})
	for _, key := range []string{"", "wrong"} {
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/api/v1/warehouse/return/list", nil)
		if key != "" {
			req.Header.Set(HeaderAPIKey, key)
		}
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("key %q: status %d; want 401", key, resp.StatusCode)
		}
	}
	if got := e.sb.Stats().Unauthorized; got != 2 {
		t.Errorf("Unauthorized = %d; want 2", got)
	}
}

func TestCreateReturnIdempotent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Manual: true})
	first := e.create(t, "key-1", sampleReturn("ret_1"))
	if first.State != StateOpen || first.ID == 0 || len(first.LineItems) != 1 || first.Label != nil {
		t.Fatalf("created %+v; want an open return with one line and no label", first)
	}

	var again returnDoc
	resp := e.call(t, http.MethodPost, "/api/v1/returns", "key-1", sampleReturn("ret_1"), &again)
	if resp.StatusCode != http.StatusCreated || resp.Header.Get(HeaderReplayed) != "true" {
		t.Errorf("replay: status %d, %s %q; want the stored 201, replayed", resp.StatusCode, HeaderReplayed, resp.Header.Get(HeaderReplayed))
	}
	if diff := cmp.Diff(first, again); diff != "" {
		t.Errorf("replay mismatch (-first +again):\n%s", diff)
	}

	var ed errorDoc
	other := sampleReturn("ret_2")
	if resp := e.call(t, http.MethodPost, "/api/v1/returns", "key-1", other, &ed); resp.StatusCode != http.StatusConflict || ed.Code != "idempotency_key_reused" {
		t.Errorf("same key, other body: %d %q; want 409 idempotency_key_reused", resp.StatusCode, ed.Code)
	}

	// Concurrent repeats of one key create one return.
	var wg sync.WaitGroup
	ids := make([]int64, 20)
	for i := range ids {
		wg.Go(func() { ids[i] = e.create(t, "key-2", sampleReturn("ret_3")).ID })
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("concurrent creates gave ids %v; want one", ids)
		}
	}
	if got := e.sb.Stats().ReturnsCreated; got != 2 {
		t.Errorf("ReturnsCreated = %d; want 2", got)
	}
}

func TestCreateReturnValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Manual: true})
	bad := createReturnRequest{ReturnMethod: "pigeon", Currency: "usd", Total: "x",
		LineItems: []lineItemRequest{{SKU: "", Quantity: 0}}}
	var ed errorDoc
	resp := e.call(t, http.MethodPost, "/api/v1/returns", "", bad, &ed)
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("status %d; want 422", resp.StatusCode)
	}
	var fields []string
	for f := range ed.Errors {
		fields = append(fields, f)
	}
	slices.Sort(fields)
	want := []string{"currency", "line_items.0.quantity", "line_items.0.sku", "provider_order_id", "return_method", "total"}
	if diff := cmp.Diff(want, fields); diff != "" {
		t.Errorf("fields mismatch (-want +got):\n%s", diff)
	}
	if n := e.sb.Stats().ReturnsCreated; n != 0 {
		t.Errorf("ReturnsCreated = %d; want 0", n)
	}
}

func TestLabelLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Manual: true})
	ret := e.create(t, "", sampleReturn("ret_1"))
	id := fmt.Sprint(ret.ID)

	var l labelDoc
	if resp := e.call(t, http.MethodPost, "/api/v1/returns/"+id+"/label", "lbl-1", nil, &l); resp.StatusCode != http.StatusCreated {
		t.Fatalf("create label: status %d", resp.StatusCode)
	}
	if l.Status != LabelNew || len(l.TrackingNumber) != 22 || !strings.HasSuffix(l.LabelURL, ".pdf") || l.Carrier != Carrier {
		t.Errorf("label %+v; want a new USPS label with a 22-digit tracking number and a PDF URL", l)
	}
	var again labelDoc
	e.call(t, http.MethodPost, "/api/v1/returns/"+id+"/label", "lbl-1", nil, &again)
	if again != l {
		t.Errorf("replayed label %+v; want %+v", again, l)
	}
	var ed errorDoc
	if resp := e.call(t, http.MethodPost, "/api/v1/returns/"+id+"/label", "lbl-2", nil, &ed); resp.StatusCode != http.StatusConflict || ed.Code != "label_exists" {
		t.Errorf("second label: %d %q; want 409 label_exists", resp.StatusCode, ed.Code)
	}

	for _, want := range []string{LabelPreTransit, LabelInTransit} {
		got, err := e.sb.Advance(id)
		if err != nil || got != want {
			t.Fatalf("Advance = %q, %v; want %q", got, err, want)
		}
	}
	if resp := e.call(t, http.MethodPost, fmt.Sprintf("/api/v1/labels/%d/void", l.ID), "", nil, &ed); resp.StatusCode != http.StatusConflict || ed.Code != "label_in_use" {
		t.Errorf("void in transit: %d %q; want 409 label_in_use", resp.StatusCode, ed.Code)
	}
	for _, want := range []string{LabelOutForDelivery, LabelDelivered} {
		if got, err := e.sb.Advance(id); err != nil || got != want {
			t.Fatalf("Advance = %q, %v; want %q", got, err, want)
		}
	}
	if _, err := e.sb.Advance(id); err == nil {
		t.Errorf("Advance past delivered: nil error; want one")
	}

	var closed returnDoc
	if resp := e.call(t, http.MethodPost, "/api/v1/warehouse/return/"+id+"/close", "", nil, &closed); resp.StatusCode != http.StatusOK || closed.State != StateClosed {
		t.Fatalf("close: %d %q; want 200 closed", resp.StatusCode, closed.State)
	}
	if resp := e.call(t, http.MethodPost, "/api/v1/warehouse/return/"+id+"/close", "", nil, &closed); resp.StatusCode != http.StatusOK {
		t.Errorf("close again: %d; want 200", resp.StatusCode)
	}
	if resp := e.call(t, http.MethodPost, "/api/v1/warehouse/return/"+id+"/cancel", "", nil, &ed); resp.StatusCode != http.StatusConflict || ed.Code != "invalid_state" {
		t.Errorf("cancel closed: %d %q; want 409 invalid_state", resp.StatusCode, ed.Code)
	}

	waitIdle(t, e.sb)
	want := []string{
		"return.created open", "return.updated open new", "return.updated open pre_transit",
		"return.updated open in_transit", "return.updated open out_for_delivery",
		"return.updated open delivered", "return.closed closed delivered",
	}
	if diff := cmp.Diff(want, raised(t, e.sb)); diff != "" {
		t.Errorf("webhooks raised mismatch (-want +got):\n%s", diff)
	}
	// Copies travel concurrently, so they may arrive in any order.
	got := e.rc.triggers(t)
	slices.Sort(got)
	slices.Sort(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("webhooks received mismatch (-want +got):\n%s", diff)
	}
}

// raised lists the webhooks the sandbox raised, in order, as "trigger state [label status]".
func raised(tb testing.TB, sb *Sandbox) []string {
	tb.Helper()
	var out []string
	for _, d := range sb.Webhooks() {
		var doc returnDoc
		if err := json.Unmarshal(d.Body, &doc); err != nil {
			tb.Fatal(err)
		}
		s := doc.Trigger + " " + doc.State
		if doc.Label != nil {
			s += " " + doc.Label.Status
		}
		out = append(out, s)
	}
	return out
}

func TestVoidAndCancel(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Manual: true})
	ret := e.create(t, "", sampleReturn("ret_1"))
	id := fmt.Sprint(ret.ID)
	var l labelDoc
	e.call(t, http.MethodPost, "/api/v1/returns/"+id+"/label", "", nil, &l)
	for range 2 {
		var v labelDoc
		if resp := e.call(t, http.MethodPost, fmt.Sprintf("/api/v1/labels/%d/void", l.ID), "", nil, &v); resp.StatusCode != http.StatusOK || v.Status != LabelCancelled {
			t.Fatalf("void: %d %q; want 200 cancelled", resp.StatusCode, v.Status)
		}
	}
	var l2 labelDoc
	if resp := e.call(t, http.MethodPost, "/api/v1/returns/"+id+"/label", "", nil, &l2); resp.StatusCode != http.StatusCreated || l2.TrackingNumber == l.TrackingNumber {
		t.Fatalf("label after void: %d %+v; want a new label", resp.StatusCode, l2)
	}
	var c returnDoc
	if resp := e.call(t, http.MethodPost, "/api/v1/warehouse/return/"+id+"/cancel", "", nil, &c); resp.StatusCode != http.StatusOK || c.State != StateCancelled || c.Label.Status != LabelCancelled {
		t.Fatalf("cancel: %d %+v; want cancelled with the unused label voided", resp.StatusCode, c)
	}
	var ed errorDoc
	if resp := e.call(t, http.MethodPost, "/api/v1/returns/"+id+"/label", "", nil, &ed); resp.StatusCode != http.StatusConflict || ed.Code != "invalid_state" {
		t.Errorf("label for cancelled return: %d %q; want 409 invalid_state", resp.StatusCode, ed.Code)
	}
	for _, path := range []string{"/api/v1/labels/999/void", "/api/v1/warehouse/return/999/close"} {
		if resp := e.call(t, http.MethodPost, path, "", nil, &ed); resp.StatusCode != http.StatusNotFound {
			t.Errorf("POST %s: %d; want 404", path, resp.StatusCode)
		}
	}
}

func TestWebhookSignature(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Manual: true, WebhookSecret: "s3cret"})
	ret := e.create(t, "", sampleReturn("ret_1"))
	waitIdle(t, e.sb)
	got := e.rc.all()
	if len(got) != 1 {
		t.Fatalf("received %d webhooks; want 1", len(got))
	}
	h, body := got[0].header, got[0].body
	if sig := h.Get(HeaderSignature); sig != Sign("s3cret", body) || sig == Sign(DevWebhookSecret, body) {
		t.Errorf("%s = %q; want base64 HMAC-SHA256 of the body with the configured secret", HeaderSignature, sig)
	}
	var d returnDoc
	if err := json.Unmarshal(body, &d); err != nil {
		t.Fatal(err)
	}
	if d.WebhookID == "" || d.WebhookID != h.Get(HeaderWebhookID) || h.Get(HeaderTrigger) != TriggerReturnCreated ||
		h.Get(HeaderTopic) != TopicReturn || d.Topic != TopicReturn || d.ID != ret.ID {
		t.Errorf("webhook %+v with headers %v; want topic, trigger and webhook id in both", d, h)
	}

	e.sb.SetWebhookSecret("rotated")
	if err := e.sb.Redeliver(d.WebhookID); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, e.sb)
	got = e.rc.all()
	if len(got) != 2 || !bytes.Equal(got[1].body, body) || got[1].header.Get(HeaderSignature) != Sign("rotated", body) {
		t.Errorf("redelivery: want the same body signed with the new secret")
	}
}

func TestAutoProgress(t *testing.T) {
	t.Parallel()
	fast := Delays{PreTransit: 10 * time.Millisecond, InTransit: 10 * time.Millisecond,
		OutForDelivery: 10 * time.Millisecond, Delivered: 10 * time.Millisecond}
	e := newEnv(t, Options{Delays: fast})
	ret := e.create(t, "", sampleReturn("ret_1"))
	id := fmt.Sprint(ret.ID)
	e.call(t, http.MethodPost, "/api/v1/returns/"+id+"/label", "", nil, nil)
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, _ := e.sb.Return(id)
		if st.LabelStatus == LabelDelivered {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("label is %q after 5s; want delivered", st.LabelStatus)
		}
		time.Sleep(5 * time.Millisecond)
	}
	waitIdle(t, e.sb)
	var order []string
	for _, d := range e.sb.Webhooks() {
		order = append(order, d.Trigger)
	}
	if len(order) != 6 {
		t.Errorf("webhooks %v; want created, then updated for the label and each of its four moves", order)
	}
}

func TestAutoExpiry(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Delays: Delays{Expire: 20 * time.Millisecond, PreTransit: -1}})
	ret := e.create(t, "", sampleReturn("ret_1"))
	id := fmt.Sprint(ret.ID)
	deadline := time.Now().Add(5 * time.Second)
	for st, _ := e.sb.Return(id); st.State != StateExpired; st, _ = e.sb.Return(id) {
		if time.Now().After(deadline) {
			t.Fatalf("state %q after 5s; want expired", st.State)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestDeliveryKnobs(t *testing.T) {
	t.Parallel()
	t.Run("duplicates", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, Options{Manual: true, Delivery: DeliverySettings{MinCopies: 2, MaxCopies: 5, Reorder: 5 * time.Millisecond}})
		for i := range 10 {
			e.create(t, "", sampleReturn(fmt.Sprint("ret_", i)))
		}
		waitIdle(t, e.sb)
		perID := map[string]int{}
		bodies := map[string][]byte{}
		for _, g := range e.rc.all() {
			id := g.header.Get(HeaderWebhookID)
			perID[id]++
			if b, ok := bodies[id]; ok && !bytes.Equal(b, g.body) {
				t.Errorf("copies of %s differ", id)
			}
			bodies[id] = g.body
		}
		if len(perID) != 10 {
			t.Errorf("received %d distinct webhooks; want 10", len(perID))
		}
		for id, n := range perID {
			if n < 2 || n > 5 {
				t.Errorf("webhook %s arrived %d times; want 2–5", id, n)
			}
		}
	})
	t.Run("drop and redeliver", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, Options{Manual: true, Delivery: DeliverySettings{DropRate: 1}})
		e.create(t, "", sampleReturn("ret_1"))
		waitIdle(t, e.sb)
		if n := len(e.rc.all()); n != 0 {
			t.Fatalf("received %d webhooks; want all dropped", n)
		}
		hooks := e.sb.Webhooks()
		if len(hooks) != 1 || !hooks[0].Dropped || e.sb.Stats().Dropped != 1 {
			t.Fatalf("webhooks %+v; want one, dropped", hooks)
		}
		if err := e.sb.Redeliver(hooks[0].ID); err != nil {
			t.Fatal(err)
		}
		waitIdle(t, e.sb)
		if n := len(e.rc.all()); n != 1 {
			t.Errorf("received %d after redelivery; want 1", n)
		}
	})
	t.Run("retried on failure", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, Options{Manual: true}, http.StatusInternalServerError, http.StatusServiceUnavailable)
		e.create(t, "", sampleReturn("ret_1"))
		waitIdle(t, e.sb)
		hooks := e.sb.Webhooks()
		if len(hooks) != 1 || hooks[0].Attempts != 3 || hooks[0].Acknowledged != 1 || hooks[0].LastStatus != http.StatusOK {
			t.Errorf("delivery %+v; want acknowledged on the third attempt", hooks)
		}
	})
	t.Run("gives up", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, Options{Manual: true, Delivery: DeliverySettings{MaxAttempts: 2}},
			http.StatusInternalServerError, http.StatusInternalServerError, http.StatusInternalServerError)
		e.create(t, "", sampleReturn("ret_1"))
		waitIdle(t, e.sb)
		if h := e.sb.Webhooks(); len(h) != 1 || h[0].Attempts != 2 || h[0].GaveUp != 1 {
			t.Errorf("delivery %+v; want given up after 2 attempts", h)
		}
	})
	t.Run("flushed", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, Options{Manual: true, Delivery: DeliverySettings{LateRate: 1, LateBy: time.Hour}})
		ret := e.create(t, "", sampleReturn("ret_1"))
		id, err := e.sb.Notify(fmt.Sprint(ret.ID))
		if err != nil || id == "" {
			t.Fatalf("Notify = %q, %v", id, err)
		}
		time.Sleep(20 * time.Millisecond)
		if n := len(e.rc.all()); n != 0 {
			t.Fatalf("received %d before the flush; want the copies held back an hour", n)
		}
		e.sb.FlushWebhooks()
		waitIdle(t, e.sb)
		if got := e.rc.triggers(t); len(got) != 2 {
			t.Errorf("received %v after the flush; want created and the notification", got)
		}
	})
	t.Run("late", func(t *testing.T) {
		t.Parallel()
		const lateBy = 150 * time.Millisecond
		e := newEnv(t, Options{Manual: true, Delivery: DeliverySettings{LateRate: 1, LateBy: lateBy}})
		began := time.Now()
		e.create(t, "", sampleReturn("ret_1"))
		waitIdle(t, e.sb)
		if took := time.Since(began); took < lateBy {
			t.Errorf("delivered after %v; want at least %v", took, lateBy)
		}
		if n := len(e.rc.all()); n != 1 {
			t.Errorf("received %d; want 1", n)
		}
	})
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Manual: true, RateLimit: 60, RateBurst: 2})
	var codes []int
	for range 3 {
		resp := e.call(t, http.MethodGet, "/api/v1/warehouse/return/list", "", nil, nil)
		codes = append(codes, resp.StatusCode)
		if resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") != "1" {
			t.Errorf("Retry-After = %q; want 1", resp.Header.Get("Retry-After"))
		}
	}
	if diff := cmp.Diff([]int{200, 200, 429}, codes); diff != "" {
		t.Errorf("statuses mismatch (-want +got):\n%s", diff)
	}
}

func TestControlAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Manual: true})
	ret := e.create(t, "", sampleReturn("ret_1"))
	id := fmt.Sprint(ret.ID)
	e.call(t, http.MethodPost, "/api/v1/returns/"+id+"/label", "", nil, nil)

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
	var st ReturnState
	if code := do(http.MethodPost, "/_sandbox/loop/returns/"+id+"/advance", nil, &st); code != 200 || st.LabelStatus != LabelPreTransit {
		t.Errorf("advance: %d %+v; want pre_transit", code, st)
	}
	if code := do(http.MethodPost, "/_sandbox/loop/returns/"+id+"/review", nil, &st); code != 200 || st.State != StateReview {
		t.Errorf("review: %d %+v; want review", code, st)
	}
	var set Settings
	if code := do(http.MethodPut, "/_sandbox/loop/settings", Settings{WebhookURL: e.rc.srv.URL,
		Delivery: DeliverySettings{MinCopies: 3, MaxCopies: 3}}, &set); code != 200 || set.Manual || set.Delivery.MaxCopies != 3 {
		t.Errorf("settings: %d %+v", code, set)
	}
	var hooks []Delivery
	do(http.MethodGet, "/_sandbox/loop/webhooks", nil, &hooks)
	if len(hooks) != 4 {
		t.Fatalf("webhooks: %d; want 4", len(hooks))
	}
	if code := do(http.MethodPost, "/_sandbox/loop/webhooks/"+hooks[0].ID+"/redeliver", nil, nil); code != http.StatusAccepted {
		t.Errorf("redeliver: %d; want 202", code)
	}
	if code := do(http.MethodPost, "/_sandbox/loop/webhooks/nope/redeliver", nil, nil); code != http.StatusNotFound {
		t.Errorf("redeliver unknown: %d; want 404", code)
	}
	var stats Stats
	if code := do(http.MethodGet, "/_sandbox/loop/stats", nil, &stats); code != 200 || stats.ReturnsCreated != 1 || stats.LabelsCreated != 1 {
		t.Errorf("stats: %d %+v", code, stats)
	}
}

// Under a sustained load of fresh keys the platform remembers only the latest IdempotencyKeys:
// its memory stays bounded, recent keys still replay, and a forgotten key creates again (as it
// would after the vendor's retention).
func TestIdempotencyKeysStayBounded(t *testing.T) {
	t.Parallel()
	const keep, records = 50, 600
	e := newEnv(t, Options{Manual: true, RateLimit: -1, IdempotencyKeys: keep})
	var first returnDoc
	for i := range records {
		d := e.create(t, fmt.Sprintf("key-%d", i), sampleReturn(fmt.Sprintf("ret_%d", i)))
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
	last := fmt.Sprintf("key-%d", records-1)
	var again returnDoc
	if resp := e.call(t, http.MethodPost, "/api/v1/returns", last, sampleReturn(fmt.Sprintf("ret_%d", records-1)), &again); resp.Header.Get(HeaderReplayed) != "true" {
		t.Errorf("the latest key was not replayed")
	}
	if d := e.create(t, "key-0", sampleReturn("ret_0")); d.ID == first.ID {
		t.Errorf("the oldest key still replays return %d; want it forgotten", first.ID)
	}
	if got, want := e.sb.Stats().ReturnsCreated, int64(records+1); got != want {
		t.Errorf("ReturnsCreated = %d; want %d", got, want)
	}
}
