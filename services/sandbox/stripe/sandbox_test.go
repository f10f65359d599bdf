package stripe

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/retailbridge/retailbridge/services/sandbox/demo"
)

var testNow = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

func newSandbox(tb testing.TB, opts Options) (*Sandbox, *demo.Dataset) {
	tb.Helper()
	ds := demo.Generate(3, testNow, 3, 20)
	if opts.Now == nil {
		opts.Now = func() time.Time { return testNow }
	}
	return New(ds, opts), ds
}

// answer is one API answer, decoded.
type answer struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

// errorCode is the answer's error type and code, "type/code".
func (a answer) errorCode() string {
	e, _ := a.body["error"].(map[string]any)
	if e == nil {
		return ""
	}
	code, _ := e["code"].(string)
	return e["type"].(string) + "/" + code
}

// call sends one request to h, authenticated with the dev key unless headers say otherwise
// (an "Authorization" of "" sends none).
func call(tb testing.TB, h http.Handler, method, target string, form url.Values, headers map[string]string) answer {
	tb.Helper()
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	r := httptest.NewRequest(method, target, body)
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	r.Header.Set("Authorization", "Bearer "+DevSecretKey)
	for k, v := range headers {
		if v == "" {
			r.Header.Del(k)
			continue
		}
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	a := answer{status: w.Code, header: w.Header(), raw: w.Body.String()}
	if err := json.Unmarshal(w.Body.Bytes(), &a.body); err != nil {
		tb.Fatalf("%s %s: answer is not JSON: %v\n%s", method, target, err, w.Body.String())
	}
	return a
}

func refundForm(ref string, amount string, extra ...string) url.Values {
	f := url.Values{}
	if strings.HasPrefix(ref, "pi_") {
		f.Set("payment_intent", ref)
	} else {
		f.Set("charge", ref)
	}
	if amount != "" {
		f.Set("amount", amount)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		f.Set(extra[i], extra[i+1])
	}
	return f
}

func key(k string) map[string]string { return map[string]string{"Idempotency-Key": k} }

func TestPaymentsFromDemoOrders(t *testing.T) {
	t.Parallel()
	sb, ds := newSandbox(t, Options{})
	for _, o := range ds.Orders {
		var refunded int64
		for _, l := range o.Lines {
			refunded += int64(l.Refunded) * l.UnitPriceMinor
		}
		pi := call(t, sb, "GET", "/v1/payment_intents/"+PaymentIntentID(o.ID), nil, nil)
		want := map[string]any{
			"id": PaymentIntentID(o.ID), "object": "payment_intent", "amount": float64(o.TotalMinor()),
			"amount_received": float64(o.TotalMinor()), "currency": "usd", "status": "succeeded",
			"latest_charge": ChargeID(o.ID),
		}
		for k, v := range want {
			if pi.body[k] != v {
				t.Errorf("order %s: payment intent %s = %v; want %v", o.ID, k, pi.body[k], v)
			}
		}
		expanded := call(t, sb, "GET", "/v1/payment_intents/"+PaymentIntentID(o.ID)+"?expand%5B%5D=latest_charge", nil, nil)
		ch, _ := expanded.body["latest_charge"].(map[string]any)
		if ch == nil || ch["amount_refunded"] != float64(refunded) || ch["amount_captured"] != float64(o.TotalMinor()) {
			t.Errorf("order %s: expanded latest_charge = %v; want %d captured, %d refunded", o.ID, ch, o.TotalMinor(), refunded)
		}
		direct := call(t, sb, "GET", "/v1/charges/"+ChargeID(o.ID), nil, nil)
		if direct.body["payment_intent"] != PaymentIntentID(o.ID) || direct.body["amount_refunded"] != float64(refunded) {
			t.Errorf("order %s: charge = %v", o.ID, direct.raw)
		}
	}
	if st := sb.Stats(); st.RefundsCreated != 0 || len(st.RefundsPerIntent) != 0 {
		t.Errorf("stats = %+v; want the demo orders' refund history left out of the API counters", st)
	}
}

func TestSeedIntents(t *testing.T) {
	t.Parallel()
	sb := New(nil, Options{SeedIntents: 3, SeedAmount: 500})
	if a := call(t, sb, "GET", "/v1/payment_intents/"+SeedIntentID(3), nil, nil); a.status != 200 || a.body["amount_received"] != 500.0 {
		t.Errorf("seed intent 3: %d %s; want 200 with 500 received", a.status, a.raw)
	}
	if a := call(t, sb, "GET", "/v1/charges/"+SeedChargeID(1), nil, nil); a.status != 200 {
		t.Errorf("seed charge 1: %d %s; want 200", a.status, a.raw)
	}
	if a := call(t, sb, "GET", "/v1/payment_intents/"+SeedIntentID(4), nil, nil); a.status != 404 || a.errorCode() != "invalid_request_error/resource_missing" {
		t.Errorf("seed intent 4: %d %s; want 404 resource_missing", a.status, a.raw)
	}
	b := call(t, sb, "GET", "/v1/balance", nil, nil)
	if avail := b.body["available"].([]any); len(avail) != 1 || avail[0].(map[string]any)["amount"] != 1500.0 {
		t.Errorf("balance = %s; want 1500 usd available", b.raw)
	}
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	sb, ds := newSandbox(t, Options{})
	target := "/v1/payment_intents/" + PaymentIntentID(ds.Orders[0].ID)
	tests := []struct {
		name, auth string
		want       int
	}{
		{"bearer", "Bearer " + DevSecretKey, 200},
		{"basic, key as user name", "Basic " + base64.StdEncoding.EncodeToString([]byte(DevSecretKey+":")), 200},
		{"none", "", 401},
		{"wrong key", "Bearer sk_test_someone_elses_key", 401},
		{"wrong scheme", "Token " + DevSecretKey, 401},
	}
	for _, tt := range tests {
		a := call(t, sb, "GET", target, nil, map[string]string{"Authorization": tt.auth})
		if a.status != tt.want {
			t.Errorf("%s: status %d; want %d", tt.name, a.status, tt.want)
		}
		if tt.want == 401 && (a.errorCode() != "invalid_request_error/" || strings.Contains(a.raw, "someone_elses")) {
			t.Errorf("%s: %s; want Stripe's invalid_request_error with the key redacted", tt.name, a.raw)
		}
	}
	if got := sb.Stats().Unauthorized; got != 3 {
		t.Errorf("unauthorized = %d; want 3", got)
	}
}

func TestCreateRefund(t *testing.T) {
	t.Parallel()
	sb, ds := newSandbox(t, Options{})
	o := ds.Scenario(demo.ScenarioEligible)
	a := call(t, sb, "POST", "/v1/refunds", refundForm(PaymentIntentID(o.ID), "1250",
		"currency", "usd", "reason", "requested_by_customer", "metadata[return_id]", "ret_1"), key("k1"))
	if a.status != 200 {
		t.Fatalf("POST /v1/refunds: %d %s", a.status, a.raw)
	}
	id, _ := a.body["id"].(string)
	want := map[string]any{
		"object": "refund", "amount": 1250.0, "currency": "usd", "status": "succeeded", "reason": "requested_by_customer",
		"payment_intent": PaymentIntentID(o.ID), "charge": ChargeID(o.ID), "created": float64(testNow.Unix()),
		"metadata": map[string]any{"return_id": "ret_1"},
	}
	for k, v := range want {
		if diff := cmp.Diff(v, a.body[k]); diff != "" {
			t.Errorf("refund %s mismatch (-want +got):\n%s", k, diff)
		}
	}
	if !strings.HasPrefix(id, "re_") || a.header.Get("Request-Id") == "" || a.header.Get("Idempotency-Key") != "k1" {
		t.Errorf("id %q, headers %v; want a re_ id, a Request-Id and the key echoed", id, a.header)
	}
	got := call(t, sb, "GET", "/v1/refunds/"+id, nil, nil)
	if got.raw != a.raw {
		t.Errorf("GET /v1/refunds/%s = %s; want what POST answered: %s", id, got.raw, a.raw)
	}
	ch := call(t, sb, "GET", "/v1/charges/"+ChargeID(o.ID), nil, nil)
	if ch.body["amount_refunded"] != 1250.0 || ch.body["refunded"] != false {
		t.Errorf("charge after refund = %s; want 1250 refunded, not fully", ch.raw)
	}
	// Without an amount Stripe refunds what is left, by charge as well as by intent.
	rest := call(t, sb, "POST", "/v1/refunds", refundForm(ChargeID(o.ID), ""), key("k2"))
	if rest.status != 200 || rest.body["amount"] != float64(o.TotalMinor()-1250) {
		t.Errorf("refund of the rest: %d %s; want %d", rest.status, rest.raw, o.TotalMinor()-1250)
	}
	if st := sb.Stats(); st.RefundsCreated != 2 || st.RefundsPerIntent[PaymentIntentID(o.ID)] != 2 {
		t.Errorf("stats = %+v; want 2 refunds on %s", st, PaymentIntentID(o.ID))
	}
}

func TestRefundRefusals(t *testing.T) {
	t.Parallel()
	sb, ds := newSandbox(t, Options{})
	paid := ds.Scenario(demo.ScenarioEligible)
	done := ds.Scenario(demo.ScenarioAlreadyRefunded)
	tests := []struct {
		name   string
		form   url.Values
		status int
		code   string
	}{
		{"more than captured", refundForm(PaymentIntentID(paid.ID), "99999999"), 400, "invalid_request_error/amount_too_large"},
		{"already refunded", refundForm(ChargeID(done.ID), "100"), 400, "invalid_request_error/charge_already_refunded"},
		{"no such intent", refundForm("pi_nope", "100"), 400, "invalid_request_error/resource_missing"},
		{"no such charge", refundForm("ch_nope", "100"), 400, "invalid_request_error/resource_missing"},
		{"other currency", refundForm(PaymentIntentID(paid.ID), "100", "currency", "eur"), 400, "invalid_request_error/"},
	}
	for _, tt := range tests {
		a := call(t, sb, "POST", "/v1/refunds", tt.form, key(tt.name))
		if a.status != tt.status || a.errorCode() != tt.code {
			t.Errorf("%s: %d %s; want %d %s", tt.name, a.status, a.raw, tt.status, tt.code)
		}
	}
	if st := sb.Stats(); st.Refused != 2 || st.RefundsCreated != 0 {
		t.Errorf("refused %d, created %d; want 2 and 0", st.Refused, st.RefundsCreated)
	}
}

func TestParameterValidationStoresNothing(t *testing.T) {
	t.Parallel()
	sb, ds := newSandbox(t, Options{})
	pi := PaymentIntentID(ds.Orders[0].ID)
	tests := []struct {
		name string
		form url.Values
		code string
	}{
		{"unknown parameter", refundForm(pi, "100", "refund_everything", "true"), "invalid_request_error/parameter_unknown"},
		{"neither intent nor charge", url.Values{"amount": {"100"}}, "invalid_request_error/parameter_missing"},
		{"both intent and charge", refundForm(pi, "100", "charge", "ch_x"), "invalid_request_error/"},
		{"amount not an integer", refundForm(pi, "1.50"), "invalid_request_error/parameter_invalid_integer"},
		{"amount zero", refundForm(pi, "0"), "invalid_request_error/parameter_invalid_integer"},
		{"unknown reason", refundForm(pi, "100", "reason", "because"), "invalid_request_error/"},
		{"metadata key too long", refundForm(pi, "100", "metadata["+strings.Repeat("k", 41)+"]", "v"), "invalid_request_error/parameter_invalid_string"},
	}
	for _, tt := range tests {
		a := call(t, sb, "POST", "/v1/refunds", tt.form, key("v-"+tt.name))
		if a.status != 400 || a.errorCode() != tt.code {
			t.Errorf("%s: %d %s; want 400 %s", tt.name, a.status, a.raw, tt.code)
		}
		// Nothing was stored under the key: the corrected request executes.
		fixed := call(t, sb, "POST", "/v1/refunds", refundForm(pi, "1"), key("v-"+tt.name))
		if fixed.status != 200 || fixed.header.Get("Idempotent-Replayed") != "" {
			t.Errorf("%s: corrected retry with the same key: %d %s; want a fresh 200", tt.name, fixed.status, fixed.raw)
		}
	}
}

func TestIdempotency(t *testing.T) {
	t.Parallel()
	clock := testNow
	var mu sync.Mutex
	sb, ds := newSandbox(t, Options{Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }})
	advance := func(d time.Duration) { mu.Lock(); clock = clock.Add(d); mu.Unlock() }
	pi := PaymentIntentID(ds.Scenario(demo.ScenarioEligible).ID)

	first := call(t, sb, "POST", "/v1/refunds", refundForm(pi, "100", "metadata[a]", "1"), key("idem-1"))
	again := call(t, sb, "POST", "/v1/refunds", refundForm(pi, "100", "metadata[a]", "1"), key("idem-1"))
	if again.raw != first.raw || again.header.Get("Idempotent-Replayed") != "true" ||
		again.header.Get("Original-Request") != first.header.Get("Request-Id") {
		t.Errorf("replay: %v %s; want the first answer %s, marked replayed, naming the original request", again.header, again.raw, first.raw)
	}
	other := call(t, sb, "POST", "/v1/refunds", refundForm(pi, "101", "metadata[a]", "1"), key("idem-1"))
	if other.status != 400 || other.errorCode() != "idempotency_error/" {
		t.Errorf("same key, other amount: %d %s; want 400 idempotency_error", other.status, other.raw)
	}
	long := call(t, sb, "POST", "/v1/refunds", refundForm(pi, "100"), key(strings.Repeat("k", 256)))
	if long.status != 400 {
		t.Errorf("256-character key: %d; want 400", long.status)
	}
	// Refusals that executed are stored like successes.
	big := call(t, sb, "POST", "/v1/refunds", refundForm(pi, "99999999"), key("idem-big"))
	bigAgain := call(t, sb, "POST", "/v1/refunds", refundForm(pi, "99999999"), key("idem-big"))
	if big.status != 400 || bigAgain.raw != big.raw || bigAgain.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("stored refusal: %d then %v %s; want the 400 replayed", big.status, bigAgain.header, bigAgain.raw)
	}
	// After 24 hours the key is forgotten and the request executes again.
	advance(IdempotencyTTL + time.Minute)
	late := call(t, sb, "POST", "/v1/refunds", refundForm(pi, "100", "metadata[a]", "1"), key("idem-1"))
	if late.status != 200 || late.header.Get("Idempotent-Replayed") != "" || late.body["id"] == first.body["id"] {
		t.Errorf("after 24h: %v %s; want a new refund", late.header, late.raw)
	}
	st := sb.Stats()
	if st.RefundsCreated != 2 || st.Replayed != 2 || st.KeyMismatches != 1 || st.Duplicates != 1 {
		t.Errorf("stats = %+v; want 2 created, 2 replayed, 1 mismatch, 1 duplicate (the one after expiry)", st)
	}
}

func TestStoredServerError(t *testing.T) {
	t.Parallel()
	sb, ds := newSandbox(t, Options{})
	pi := PaymentIntentID(ds.Orders[0].ID)
	sb.SetServerErrorRate(1)
	first := call(t, sb, "POST", "/v1/refunds", refundForm(pi, "100"), key("boom"))
	sb.SetServerErrorRate(0)
	again := call(t, sb, "POST", "/v1/refunds", refundForm(pi, "100"), key("boom"))
	fresh := call(t, sb, "POST", "/v1/refunds", refundForm(pi, "100"), key("boom-2"))
	if first.status != 500 || first.errorCode() != "api_error/" {
		t.Errorf("first: %d %s; want 500 api_error", first.status, first.raw)
	}
	if again.status != 500 || again.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("same key after the fault cleared: %d %v; want the stored 500, replayed", again.status, again.header)
	}
	if fresh.status != 200 {
		t.Errorf("new key: %d %s; want 200", fresh.status, fresh.raw)
	}
	if st := sb.Stats(); st.RefundsCreated != 1 || st.ServerErrors != 1 {
		t.Errorf("stats = %+v; want 1 refund, 1 server error", st)
	}
}

func TestKeyInFlight(t *testing.T) {
	t.Parallel()
	sb, ds := newSandbox(t, Options{})
	pi := PaymentIntentID(ds.Orders[0].ID)
	sb.SetProcessingDelay(200 * time.Millisecond)
	answers := make([]answer, 2)
	var wg sync.WaitGroup
	for i := range answers {
		wg.Go(func() {
			if i == 1 {
				time.Sleep(50 * time.Millisecond)
			}
			answers[i] = call(t, sb, "POST", "/v1/refunds", refundForm(pi, "100"), key("in-flight"))
		})
	}
	wg.Wait()
	if answers[0].status != 200 {
		t.Errorf("first: %d %s; want 200", answers[0].status, answers[0].raw)
	}
	if a := answers[1]; a.status != 409 || a.errorCode() != "idempotency_error/" || a.header.Get("Stripe-Should-Retry") != "true" {
		t.Errorf("second while the first ran: %d %v %s; want 409 idempotency_error, Stripe-Should-Retry: true", a.status, a.header, a.raw)
	}
	sb.SetProcessingDelay(0)
	later := call(t, sb, "POST", "/v1/refunds", refundForm(pi, "100"), key("in-flight"))
	if later.header.Get("Idempotent-Replayed") != "true" || later.body["id"] != answers[0].body["id"] {
		t.Errorf("after the first finished: %v %s; want its answer replayed", later.header, later.raw)
	}
	if st := sb.Stats(); st.RefundsCreated != 1 || st.InFlightConflicts != 1 {
		t.Errorf("stats = %+v; want 1 refund, 1 in-flight conflict", st)
	}
}

func TestLoseResponses(t *testing.T) {
	t.Parallel()
	sb, ds := newSandbox(t, Options{})
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	pi := PaymentIntentID(ds.Orders[0].ID)
	post := func(k string) (*http.Response, error) {
		req, _ := http.NewRequest("POST", srv.URL+"/v1/refunds", strings.NewReader(refundForm(pi, "100").Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Bearer "+DevSecretKey)
		req.Header.Set("Idempotency-Key", k)
		return srv.Client().Do(req)
	}
	sb.SetLoseResponses(1)
	if resp, err := post("lost"); err == nil {
		resp.Body.Close()
		t.Fatalf("POST answered %d; want the connection dropped", resp.StatusCode)
	}
	get := call(t, sb, "GET", "/v1/payment_intents/"+pi, nil, nil)
	if get.status != 200 {
		t.Errorf("GET with lose-responses on: %d; want reads answered", get.status)
	}
	st := sb.Stats()
	if st.RefundsCreated != 1 || st.ResponsesLost < 1 {
		t.Errorf("stats = %+v; want the refund created and its answer lost", st)
	}
	sb.SetLoseResponses(0)
	resp, err := post("lost")
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("retry with the same key: %d %v; want the committed refund replayed", resp.StatusCode, resp.Header)
	}
	if st := sb.Stats(); st.RefundsCreated != 1 || st.Duplicates != 0 {
		t.Errorf("stats = %+v; want still 1 refund and no duplicates", st)
	}
}

func TestSetRefundStatus(t *testing.T) {
	t.Parallel()
	sb, ds := newSandbox(t, Options{})
	o := ds.Scenario(demo.ScenarioEligible)
	refundedNow := func() float64 {
		return call(t, sb, "GET", "/v1/charges/"+ChargeID(o.ID), nil, nil).body["amount_refunded"].(float64)
	}
	sb.SetNewRefundStatus(StatusPending)
	id := call(t, sb, "POST", "/v1/refunds", refundForm(ChargeID(o.ID), "500"), key("s1")).body["id"].(string)
	steps := []struct {
		to       string
		ok       bool
		refunded float64
	}{
		{StatusRequiresAction, true, 500},
		{StatusSucceeded, true, 500},
		{StatusCanceled, false, 500}, // a succeeded refund can only fail
		{StatusFailed, true, 0},
		{StatusSucceeded, false, 0}, // failed is final
		{"refunded", false, 0},
	}
	for _, s := range steps {
		err := sb.SetRefundStatus(id, s.to)
		if (err == nil) != s.ok {
			t.Errorf("to %s: err = %v; want ok=%t", s.to, err, s.ok)
		}
		if got := refundedNow(); got != s.refunded {
			t.Errorf("after %s: refunded %v; want %v", s.to, got, s.refunded)
		}
	}
	r := call(t, sb, "GET", "/v1/refunds/"+id, nil, nil)
	if r.body["status"] != "failed" || r.body["failure_reason"] == nil || r.body["balance_transaction"] != nil {
		t.Errorf("failed refund = %s; want status failed with a failure reason", r.raw)
	}
	if err := sb.SetRefundStatus("re_nope", StatusFailed); err != ErrNoSuchRefund {
		t.Errorf("unknown refund: %v; want ErrNoSuchRefund", err)
	}
}

func TestDuplicateDetector(t *testing.T) {
	t.Parallel()
	sb, ds := newSandbox(t, Options{})
	pi := PaymentIntentID(ds.Scenario(demo.ScenarioEligible).ID)
	call(t, sb, "POST", "/v1/refunds", refundForm(pi, "100", "metadata[return_id]", "r1"), key("d1"))
	call(t, sb, "POST", "/v1/refunds", refundForm(pi, "100", "metadata[return_id]", "r2"), key("d2"))
	call(t, sb, "POST", "/v1/refunds", refundForm(pi, "100", "metadata[return_id]", "r1"), key("d3"))
	if st := sb.Stats(); st.RefundsCreated != 3 || st.Duplicates != 1 {
		t.Errorf("stats = %+v; want 3 refunds, 1 duplicate (r1 under a second key)", st)
	}
}

func TestUnknownRoutesAndParameters(t *testing.T) {
	t.Parallel()
	sb, _ := newSandbox(t, Options{})
	for _, tt := range []struct {
		method, target string
		status         int
	}{
		{"GET", "/v1/customers/cus_1", 404},
		{"DELETE", "/v1/refunds/re_1", 404},
		{"GET", "/v1/refunds/re_nope", 404},
		{"GET", "/v1/balance?limit=3", 400},
	} {
		a := call(t, sb, tt.method, tt.target, nil, nil)
		if a.status != tt.status || !strings.HasPrefix(a.errorCode(), "invalid_request_error/") {
			t.Errorf("%s %s: %d %s; want %d with Stripe's error document", tt.method, tt.target, a.status, a.raw, tt.status)
		}
	}
}

func TestControlAPI(t *testing.T) {
	t.Parallel()
	sb, _ := newSandbox(t, Options{})
	put := httptest.NewRequest("PUT", "/_sandbox/stripe",
		strings.NewReader(`{"lose_responses":0.25,"server_error_rate":0.1,"processing_delay":1000000,"new_refund_status":"pending"}`))
	w := httptest.NewRecorder()
	sb.ServeHTTP(w, put)
	if w.Code != 200 {
		t.Fatalf("PUT /_sandbox/stripe: %d %s", w.Code, w.Body)
	}
	lose, serverErrors, processing, status := sb.knobs()
	if lose != 0.25 || serverErrors != 0.1 || processing != time.Millisecond || status != StatusPending {
		t.Errorf("knobs = %v %v %v %v; want 0.25 0.1 1ms pending", lose, serverErrors, processing, status)
	}
	var c control
	if err := json.Unmarshal(w.Body.Bytes(), &c); err != nil || c.Stats == nil {
		t.Errorf("control answer %s: %v; want settings with stats", w.Body, err)
	}
	bad := httptest.NewRecorder()
	sb.ServeHTTP(bad, httptest.NewRequest("PUT", "/_sandbox/stripe", strings.NewReader(`{"new_refund_status":"refunded"}`)))
	if bad.Code != 400 {
		t.Errorf("unknown status: %d; want 400", bad.Code)
	}
	if n := sb.Stats().Requests; n != 0 {
		t.Errorf("requests = %d; want control calls not counted", n)
	}
}

func TestSignatureHeader(t *testing.T) {
	t.Parallel()
	// Vector computed independently (Python hmac) for these inputs.
	payload := []byte(`{"id":"evt_1","object":"event","type":"refund.updated"}`)
	at := time.Unix(1773480413, 0)
	want := "t=1773480413," +
		"v1=3c91e62a9cc2bf7d079b3f2b1f2676c1ac21bd82560ec54997aae409bd1e6003," +
		"v1=029e0c51ab1284766cb6e3c2724bcb25e7e94c3dff73c315e066992b13592718"
	if got := SignatureHeader(at, payload, "whsec_test_secret", "whsec_rolled"); got != want {
		t.Errorf("SignatureHeader = %s; want %s", got, want)
	}
}
