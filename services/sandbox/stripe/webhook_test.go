package stripe

import (
	"context"
	"crypto/hmac"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/retailbridge/retailbridge/services/sandbox/demo"
)

// receiver is a webhook endpoint that records every request and refuses the first few.
type receiver struct {
	srv *httptest.Server

	mu     sync.Mutex
	got    []received
	refuse int // answer 503 to this many requests first
}

type received struct {
	header http.Header
	body   []byte
}

func newReceiver(tb testing.TB, refuse int) *receiver {
	tb.Helper()
	rc := &receiver{refuse: refuse}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, received{header: r.Header.Clone(), body: body})
		refused := rc.refuse > 0
		rc.refuse--
		rc.mu.Unlock()
		if refused {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	tb.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

// byEvent returns the first request received for each event id.
func (rc *receiver) byEvent(tb testing.TB) map[string]received {
	tb.Helper()
	out := map[string]received{}
	for _, r := range rc.requests() {
		var ev struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(r.body, &ev); err != nil {
			tb.Fatalf("webhook body is not JSON: %v\n%s", err, r.body)
		}
		if _, ok := out[ev.ID]; !ok {
			out[ev.ID] = r
		}
	}
	return out
}

// newWebhookSandbox is a sandbox on the real clock (signatures are checked against it) whose
// webhooks go to rc and are retried after 10ms.
func newWebhookSandbox(tb testing.TB, rc *receiver, opts Options) (*Sandbox, *demo.Dataset) {
	tb.Helper()
	ds := demo.Generate(3, testNow, 3, 20)
	opts.WebhookURL = rc.srv.URL
	if opts.Delivery.RetryBackoff == 0 {
		opts.Delivery.RetryBackoff = 10 * time.Millisecond
	}
	sb := New(ds, opts)
	tb.Cleanup(sb.Close)
	return sb, ds
}

func waitIdle(tb testing.TB, sb *Sandbox) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := sb.WaitIdle(ctx); err != nil {
		tb.Fatalf("webhooks still in flight: %v", err)
	}
}

// verify checks a Stripe-Signature the way Stripe documents it, independently of
// SignatureHeader: t is recent, and some v1 is the hex HMAC-SHA256 of "{t}.{body}" under secret.
func verify(tb testing.TB, header string, body []byte, secret string) {
	tb.Helper()
	var ts string
	var sigs []string
	for part := range strings.SplitSeq(header, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		tb.Fatalf("Stripe-Signature %q: want t=…,v1=…", header)
	}
	if age := time.Since(time.Unix(secs, 0)); age < -time.Second || age > time.Minute {
		tb.Errorf("Stripe-Signature t is %v old; want the time of the attempt", age)
	}
	want := ComputeSignature(time.Unix(secs, 0), body, secret)
	for _, sig := range sigs {
		got, _ := hex.DecodeString(sig)
		w, _ := hex.DecodeString(want)
		if hmac.Equal(got, w) {
			return
		}
	}
	tb.Errorf("no v1 in %q verifies with %q", header, secret)
}

func TestWebhooksOffWithoutEndpoint(t *testing.T) {
	t.Parallel()
	sb, ds := newSandbox(t, Options{})
	sb.SetNewRefundStatus(StatusPending)
	a := call(t, sb, "POST", "/v1/refunds", refundForm(PaymentIntentID(ds.Orders[0].ID), "100"), key("off"))
	if err := sb.SetRefundStatus(a.body["id"].(string), StatusSucceeded); err != nil {
		t.Fatal(err)
	}
	if n := len(sb.Webhooks()); n != 0 {
		t.Errorf("%d webhooks without an endpoint; want none", n)
	}
	if st := sb.Stats(); st.Webhooks != 0 || st.WebhookAttempts != 0 {
		t.Errorf("stats = %+v; want no webhooks", st)
	}
}

// TestRefundWebhooks follows a refund from creation through settling and failing: one event per
// change, each an Event object carrying the refund exactly as the API shows it then, signed.
func TestRefundWebhooks(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, 0)
	sb, ds := newWebhookSandbox(t, rc, Options{})
	o := ds.Scenario(demo.ScenarioEligible)
	sb.SetNewRefundStatus(StatusPending)

	created := call(t, sb, "POST", "/v1/refunds", refundForm(PaymentIntentID(o.ID), "1250",
		"metadata[return_id]", "ret_1", "metadata[order_id]", o.ID), key("wh-1"))
	id := created.body["id"].(string)
	// A replay of the answer is no new refund and raises nothing.
	call(t, sb, "POST", "/v1/refunds", refundForm(PaymentIntentID(o.ID), "1250",
		"metadata[return_id]", "ret_1", "metadata[order_id]", o.ID), key("wh-1"))
	objects := []string{created.raw}
	if err := sb.SetRefundStatus(id, StatusSucceeded); err != nil {
		t.Fatal(err)
	}
	objects = append(objects, call(t, sb, "GET", "/v1/refunds/"+id, nil, nil).raw)
	if err := sb.SetRefundStatus(id, StatusSucceeded); err != nil { // no change, no event
		t.Fatal(err)
	}
	if err := sb.SetRefundStatus(id, StatusFailed); err != nil {
		t.Fatal(err)
	}
	failed := call(t, sb, "GET", "/v1/refunds/"+id, nil, nil).raw
	objects = append(objects, failed, failed)
	waitIdle(t, sb)

	deliveries := sb.Webhooks()
	wantTypes := []string{EventRefundCreated, EventRefundUpdated, EventRefundUpdated, EventRefundFailed}
	if len(deliveries) != len(wantTypes) {
		t.Fatalf("%d webhooks; want %d: %v", len(deliveries), len(wantTypes), deliveries)
	}
	got := rc.byEvent(t)
	wantPrevious := []map[string]any{
		nil,
		{"status": "pending"},
		{"status": "succeeded", "balance_transaction": "txn_" + strings.TrimPrefix(id, "re_"), "failure_reason": nil},
		nil,
	}
	for i, d := range deliveries {
		r, ok := got[d.ID]
		if !ok {
			t.Fatalf("webhook %d (%s) never reached the endpoint", i, d.ID)
		}
		if string(r.body) != string(d.Body) || d.Topic != wantTypes[i] || d.Subject != id || d.Acknowledged != 1 {
			t.Errorf("webhook %d: delivery record %+v; want %s about %s, sent as recorded, acknowledged", i, d, wantTypes[i], id)
		}
		verify(t, r.header.Get(SignatureHeaderName), r.body, DevWebhookSecret)
		if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("webhook %d: Content-Type %q; want JSON", i, ct)
		}
		var ev struct {
			ID              string `json:"id"`
			Object          string `json:"object"`
			APIVersion      string `json:"api_version"`
			Created         int64  `json:"created"`
			Livemode        *bool  `json:"livemode"`
			PendingWebhooks int    `json:"pending_webhooks"`
			Type            string `json:"type"`
			Request         struct {
				ID             *string `json:"id"`
				IdempotencyKey *string `json:"idempotency_key"`
			} `json:"request"`
			Data struct {
				Object             map[string]any `json:"object"`
				PreviousAttributes map[string]any `json:"previous_attributes"`
			} `json:"data"`
		}
		if err := json.Unmarshal(r.body, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.ID != d.ID || !strings.HasPrefix(ev.ID, "evt_") || ev.Object != "event" || ev.APIVersion != APIVersion ||
			time.Since(time.Unix(ev.Created, 0)) > time.Minute || ev.Livemode == nil || *ev.Livemode || ev.PendingWebhooks != 1 || ev.Type != wantTypes[i] {
			t.Errorf("webhook %d: event envelope %s", i, r.body)
		}
		var want map[string]any
		if err := json.Unmarshal([]byte(objects[i]), &want); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, ev.Data.Object); diff != "" {
			t.Errorf("webhook %d: data.object differs from GET /v1/refunds/%s then (-want +got):\n%s", i, id, diff)
		}
		if diff := cmp.Diff(wantPrevious[i], ev.Data.PreviousAttributes); diff != "" {
			t.Errorf("webhook %d: previous_attributes mismatch (-want +got):\n%s", i, diff)
		}
		if i == 0 {
			if ev.Request.ID == nil || *ev.Request.ID != created.header.Get("Request-Id") ||
				ev.Request.IdempotencyKey == nil || *ev.Request.IdempotencyKey != "wh-1" {
				t.Errorf("refund.created request = %s; want the creating request's id and key", r.body)
			}
		} else if ev.Request.ID != nil || ev.Request.IdempotencyKey != nil {
			t.Errorf("webhook %d: request = %v, %v; want null for a change no request made", i, ev.Request.ID, ev.Request.IdempotencyKey)
		}
	}
	st := sb.Stats()
	if st.Webhooks != 4 || st.WebhookAttempts != 4 || st.WebhooksAcknowledged != 4 || st.WebhooksDropped != 0 {
		t.Errorf("stats = %+v; want 4 webhooks, each sent and acknowledged once", st)
	}
}

// TestWebhookRetriesAndCopies: an endpoint that refuses gets the same event again, with the same
// id and body, signed at each attempt; the copies knob delivers one event several times.
func TestWebhookRetriesAndCopies(t *testing.T) {
	t.Parallel()
	t.Run("retried until acknowledged", func(t *testing.T) {
		t.Parallel()
		rc := newReceiver(t, 2)
		sb, ds := newWebhookSandbox(t, rc, Options{})
		call(t, sb, "POST", "/v1/refunds", refundForm(PaymentIntentID(ds.Orders[0].ID), "100"), key("retry"))
		waitIdle(t, sb)
		reqs := rc.requests()
		if len(reqs) != 3 {
			t.Fatalf("%d attempts; want 2 refused and 1 acknowledged", len(reqs))
		}
		for i, r := range reqs {
			if string(r.body) != string(reqs[0].body) {
				t.Errorf("attempt %d sent another body; want the event's exact bytes every time", i)
			}
			verify(t, r.header.Get(SignatureHeaderName), r.body, DevWebhookSecret)
		}
		d := sb.Webhooks()[0]
		if d.Attempts != 3 || d.Acknowledged != 1 || d.LastStatus != http.StatusOK {
			t.Errorf("delivery = %+v; want 3 attempts ending in an acknowledgement", d)
		}
		if st := sb.Stats(); st.WebhookAttempts != 3 || st.WebhooksAcknowledged != 1 {
			t.Errorf("stats = %+v; want 3 attempts, 1 acknowledged", st)
		}
	})
	t.Run("duplicated", func(t *testing.T) {
		t.Parallel()
		rc := newReceiver(t, 0)
		sb, ds := newWebhookSandbox(t, rc, Options{Delivery: DeliverySettings{MinCopies: 3, MaxCopies: 3}})
		call(t, sb, "POST", "/v1/refunds", refundForm(PaymentIntentID(ds.Orders[0].ID), "100"), key("dup"))
		waitIdle(t, sb)
		reqs := rc.requests()
		if len(reqs) != 3 || len(rc.byEvent(t)) != 1 {
			t.Fatalf("%d requests for %d events; want 3 copies of one event", len(reqs), len(rc.byEvent(t)))
		}
		if st := sb.Stats(); st.Webhooks != 1 || st.WebhooksAcknowledged != 3 {
			t.Errorf("stats = %+v; want 1 event acknowledged 3 times", st)
		}
	})
	t.Run("dropped", func(t *testing.T) {
		t.Parallel()
		rc := newReceiver(t, 0)
		sb, ds := newWebhookSandbox(t, rc, Options{Delivery: DeliverySettings{DropRate: 1}})
		call(t, sb, "POST", "/v1/refunds", refundForm(PaymentIntentID(ds.Orders[0].ID), "100"), key("drop"))
		waitIdle(t, sb)
		if n := len(rc.requests()); n != 0 {
			t.Errorf("%d requests; want the event lost", n)
		}
		if st := sb.Stats(); st.Webhooks != 1 || st.WebhooksDropped != 1 {
			t.Errorf("stats = %+v; want 1 event, dropped", st)
		}
		// Redelivering it is how a test recovers a lost event, as the Dashboard's resend is.
		if err := sb.RedeliverWebhook(sb.Webhooks()[0].ID); err != nil {
			t.Fatal(err)
		}
		waitIdle(t, sb)
		if n := len(rc.requests()); n != 1 {
			t.Errorf("%d requests after redelivery; want 1", n)
		}
		if err := sb.RedeliverWebhook("evt_nope"); err != ErrNoSuchWebhook {
			t.Errorf("RedeliverWebhook(evt_nope) = %v; want ErrNoSuchWebhook", err)
		}
	})
}

// TestWebhookSecretRolling: while a secret is rolled Stripe signs with both, one v1 each, and a
// receiver holding either secret accepts the delivery.
func TestWebhookSecretRolling(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, 0)
	sb, ds := newWebhookSandbox(t, rc, Options{WebhookSecrets: []string{"whsec_old"}})
	pi := PaymentIntentID(ds.Orders[0].ID)
	call(t, sb, "POST", "/v1/refunds", refundForm(pi, "100"), key("roll-1"))
	waitIdle(t, sb)
	sb.SetWebhooks(rc.srv.URL, "whsec_old", "whsec_new")
	call(t, sb, "POST", "/v1/refunds", refundForm(pi, "100"), key("roll-2"))
	waitIdle(t, sb)
	reqs := rc.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests; want 2", len(reqs))
	}
	if h := reqs[0].header.Get(SignatureHeaderName); strings.Count(h, "v1=") != 1 {
		t.Errorf("before rolling: %q; want one v1", h)
	} else {
		verify(t, h, reqs[0].body, "whsec_old")
	}
	h := reqs[1].header.Get(SignatureHeaderName)
	if strings.Count(h, "v1=") != 2 {
		t.Errorf("while rolling: %q; want two v1", h)
	}
	verify(t, h, reqs[1].body, "whsec_old")
	verify(t, h, reqs[1].body, "whsec_new")
}

func TestWebhookControlAPI(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, 0)
	ds := demo.Generate(3, testNow, 3, 20)
	sb := New(ds, Options{})
	t.Cleanup(sb.Close)
	do := func(method, path, body string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		sb.ServeHTTP(w, httptest.NewRequest(method, path, strings.NewReader(body)))
		return w
	}
	if w := do("PUT", "/_sandbox/stripe/webhooks",
		`{"url":"`+rc.srv.URL+`","secrets":["whsec_ctl"],"delivery":{"retry_backoff":10000000}}`); w.Code != 200 {
		t.Fatalf("PUT: %d %s", w.Code, w.Body)
	}
	call(t, sb, "POST", "/v1/refunds", refundForm(PaymentIntentID(ds.Orders[0].ID), "100"), key("ctl"))
	waitIdle(t, sb)
	w := do("GET", "/_sandbox/stripe/webhooks", "")
	var c webhookControl
	if err := json.Unmarshal(w.Body.Bytes(), &c); err != nil || w.Code != 200 {
		t.Fatalf("GET: %d %s", w.Code, w.Body)
	}
	if c.URL != rc.srv.URL || c.Delivery.RetryBackoff != 10*time.Millisecond || len(c.Deliveries) != 1 ||
		c.Deliveries[0].Topic != EventRefundCreated || len(c.Secrets) != 0 {
		t.Errorf("GET = %s; want the endpoint, knobs and one refund.created, secrets not shown", w.Body)
	}
	verify(t, rc.requests()[0].header.Get(SignatureHeaderName), rc.requests()[0].body, "whsec_ctl")
	if w := do("POST", "/_sandbox/stripe/webhooks/"+c.Deliveries[0].ID+"/redeliver", ""); w.Code != http.StatusAccepted {
		t.Errorf("redeliver: %d; want 202", w.Code)
	}
	if w := do("POST", "/_sandbox/stripe/webhooks/evt_nope/redeliver", ""); w.Code != http.StatusNotFound {
		t.Errorf("redeliver unknown: %d; want 404", w.Code)
	}
	if w := do("POST", "/_sandbox/stripe/webhooks/flush", ""); w.Code != http.StatusAccepted {
		t.Errorf("flush: %d; want 202", w.Code)
	}
	if w := do("DELETE", "/_sandbox/stripe/webhooks", ""); w.Code != http.StatusMethodNotAllowed {
		t.Errorf("DELETE: %d; want 405", w.Code)
	}
	waitIdle(t, sb)
	if n := len(rc.requests()); n != 2 {
		t.Errorf("%d requests; want the event and its redelivery", n)
	}
	if w := do("PUT", "/_sandbox/stripe/webhooks", `{"url":""}`); w.Code != 200 {
		t.Fatalf("PUT off: %d", w.Code)
	}
	call(t, sb, "POST", "/v1/refunds", refundForm(PaymentIntentID(ds.Orders[0].ID), "100"), key("ctl-off"))
	if n := len(sb.Webhooks()); n != 1 {
		t.Errorf("%d webhooks after turning them off and refunding; want still 1", n)
	}
	if n := sb.Stats().Requests; n != 2 {
		t.Errorf("requests = %d; want only the 2 API calls counted", n)
	}
}
