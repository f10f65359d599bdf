package stripe

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/errs"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	"github.com/retailbridge/retailbridge/pkg/money"
)

// webhookClock is when the tests receive their webhooks: a minute after the last recorded event.
var webhookClock = time.Unix(1773653213+60, 0)

func newWebhookClient(tb testing.TB, secrets ...string) *Client {
	tb.Helper()
	c, err := New(Config{BaseURL: "http://stripe.test", SecretKey: "sk_test_x", WebhookSecrets: secrets},
		http.DefaultClient, nil, func() time.Time { return webhookClock })
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// sign is Stripe's documented scheme, written out independently of the sandbox: t, then one v1
// per secret, each the hex HMAC-SHA256 of "{t}.{body}".
func sign(t time.Time, body []byte, secrets ...string) http.Header {
	ts := strconv.FormatInt(t.Unix(), 10)
	v := "t=" + ts
	for _, s := range secrets {
		mac := hmac.New(sha256.New, []byte(s))
		mac.Write([]byte(ts + "."))
		mac.Write(body)
		v += ",v1=" + hex.EncodeToString(mac.Sum(nil))
	}
	h := http.Header{}
	h.Set(HeaderSignature, v)
	return h
}

func readEvent(tb testing.TB, name string) []byte {
	tb.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return body
}

func TestParseWebhookRecordedEvents(t *testing.T) {
	t.Parallel()
	const secret = "whsec_test_recorded"
	refund := func(status canonicalv1.RefundStatus) *canonicalv1.Refund {
		return &canonicalv1.Refund{
			Id: "rf_42", OrderId: "5100042", ReturnId: "ret_42", Amount: money.New(1250, "USD"), Status: status,
			PaymentReference: "pi_3MtwBwLkdIwHu7ix28a3tqPa", GatewayRefundId: "re_3MtwBwLkdIwHu7ix1BnUNJv3",
			IdempotencyKey: "wf_1/refund", CreatedAt: timestamppb.New(time.Unix(1773480413, 0)),
		}
	}
	tests := []struct {
		file       string
		deliveryID string
		created    int64
		want       *canonicalv1.Refund
	}{
		{"event_refund_created.json", "evt_3MtwBwLkdIwHu7ix0qVd8T2c", 1773480413,
			refund(canonicalv1.RefundStatus_REFUND_STATUS_PENDING)},
		{"event_refund_updated.json", "evt_3MtwBwLkdIwHu7ix0Kp7sQ4e", 1773566813,
			refund(canonicalv1.RefundStatus_REFUND_STATUS_SUCCEEDED)},
		{"event_refund_failed.json", "evt_3MtwBwLkdIwHu7ix0Zr2mW9u", 1773653213,
			refund(canonicalv1.RefundStatus_REFUND_STATUS_FAILED)},
		// The older event name; a charge without a payment intent is referenced by the charge,
		// and metadata the connector did not write leaves those ids empty.
		{"event_charge_refund_updated.json", "evt_1Pq4XyLkdIwHu7ixA0b1C2d3", 1773566900, &canonicalv1.Refund{
			OrderId: "5100077", ReturnId: "ret_77", Amount: money.New(990, "EUR"),
			Status:           canonicalv1.RefundStatus_REFUND_STATUS_REQUIRES_ACTION,
			PaymentReference: "py_1Pq4XyLkdIwHu7ixT2sNbE0w", GatewayRefundId: "re_1Pq4XyLkdIwHu7ixQm5Zr8Kt",
			CreatedAt: timestamppb.New(time.Unix(1773480500, 0)),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			body := readEvent(t, tt.file)
			c := newWebhookClient(t, secret)
			id, evs, err := c.ParseWebhook(sign(webhookClock, body, secret), body)
			if err != nil {
				t.Fatalf("ParseWebhook: %v", err)
			}
			if id != tt.deliveryID {
				t.Errorf("delivery id %q; want the Stripe event id %q", id, tt.deliveryID)
			}
			data, err := anypb.New(tt.want)
			if err != nil {
				t.Fatal(err)
			}
			want := []*canonicalv1.Event{{
				Id: EventID(tt.deliveryID, TypeRefundUpdated), Source: Source, Type: TypeRefundUpdated,
				Subject: "refund/" + tt.want.GetGatewayRefundId(), Time: timestamppb.New(time.Unix(tt.created, 0)),
				Data: data, SpecVersion: 1,
				References: &canonicalv1.EventReferences{ReturnId: tt.want.GetReturnId(), OrderId: tt.want.GetOrderId(),
					SystemRecordId: tt.want.GetGatewayRefundId()},
			}}
			if diff := cmp.Diff(want, evs, protocmp.Transform()); diff != "" {
				t.Errorf("events mismatch (-want +got):\n%s", diff)
			}
			// A retry of the event is signed afresh; it must give the very same events.
			again, evs2, err := c.ParseWebhook(sign(webhookClock.Add(-time.Minute), body, secret), bytes.Clone(body))
			if err != nil || again != id {
				t.Fatalf("retry: %q, %v; want %q", again, err, id)
			}
			if diff := cmp.Diff(evs, evs2, protocmp.Transform()); diff != "" {
				t.Errorf("retry gave other events (-first +retry):\n%s", diff)
			}
		})
	}
	// One canonical event type for every refund event, but one id per Stripe event.
	seen := map[string]bool{}
	for _, tt := range tests {
		id := EventID(tt.deliveryID, TypeRefundUpdated)
		if seen[id] {
			t.Errorf("event id %s repeats", id)
		}
		seen[id] = true
	}
}

func TestParseWebhookIgnoredTypes(t *testing.T) {
	t.Parallel()
	c := newWebhookClient(t, "whsec_x")
	for _, tc := range []struct {
		name string
		body []byte
		id   string
	}{
		{"charge.refunded (data.object is the charge)", readEvent(t, "event_charge_refunded.json"), "evt_3MtwBwLkdIwHu7ix0Ym3fH6p"},
		{"payment_intent.succeeded", []byte(`{"id":"evt_pi","object":"event","type":"payment_intent.succeeded","created":1,"data":{"object":{"id":"pi_1","object":"payment_intent"}}}`), "evt_pi"},
		{"refund.something_new", []byte(`{"id":"evt_new","object":"event","type":"refund.something_new","data":{"object":{}}}`), "evt_new"},
	} {
		id, evs, err := c.ParseWebhook(sign(webhookClock, tc.body, "whsec_x"), tc.body)
		if err != nil || id != tc.id || len(evs) != 0 {
			t.Errorf("%s: %q, %d events, %v; want %q ignored", tc.name, id, len(evs), err, tc.id)
		}
	}
}

func TestParseWebhookSignatures(t *testing.T) {
	t.Parallel()
	body := readEvent(t, "event_refund_updated.json")
	tampered := bytes.Replace(body, []byte(`"amount": 1250`), []byte(`"amount": 125000`), 1)
	if bytes.Equal(tampered, body) {
		t.Fatal("could not tamper with the body")
	}
	good := sign(webhookClock, body, "whsec_new").Get(HeaderSignature)
	_, v1, _ := strings.Cut(good, ",")
	raw := func(v string) http.Header { return http.Header{HeaderSignature: {v}} }
	tests := []struct {
		name    string
		secrets []string
		h       http.Header
		body    []byte
		reason  string
	}{
		{"genuine", []string{"whsec_new"}, sign(webhookClock, body, "whsec_new"), body, ""},
		{"Stripe rolling its secret sends two v1", []string{"whsec_new"}, sign(webhookClock, body, "whsec_old", "whsec_new"), body, ""},
		{"we roll: either configured secret", []string{"whsec_new", "whsec_old"}, sign(webhookClock, body, "whsec_old"), body, ""},
		{"a v0 and unknown schemes are ignored", []string{"whsec_new"}, raw(good + ",v0=abc,v9=zz"), body, ""},
		{"at the edge of the tolerance", []string{"whsec_new"}, sign(webhookClock.Add(-DefaultSignatureTolerance), body, "whsec_new"), body, ""},
		{"tampered body", []string{"whsec_new"}, sign(webhookClock, body, "whsec_new"), tampered, "webhook_signature_invalid"},
		{"wrong secret", []string{"whsec_new"}, sign(webhookClock, body, "whsec_someone_else"), body, "webhook_signature_invalid"},
		{"secret rolled away", []string{"whsec_new"}, sign(webhookClock, body, "whsec_old"), body, "webhook_signature_invalid"},
		{"no secret configured", nil, sign(webhookClock, body, "whsec_new"), body, "webhook_signature_invalid"},
		{"missing header", []string{"whsec_new"}, http.Header{}, body, "webhook_signature_invalid"},
		{"stale", []string{"whsec_new"}, sign(webhookClock.Add(-DefaultSignatureTolerance-time.Second), body, "whsec_new"), body, "webhook_timestamp_stale"},
		{"ahead of our clock (Stripe bounds only the age)", []string{"whsec_new"}, sign(webhookClock.Add(DefaultSignatureTolerance+time.Second), body, "whsec_new"), body, ""},
		{"stale and tampered", []string{"whsec_new"}, sign(webhookClock.Add(-time.Hour), tampered, "whsec_new"), body, "webhook_signature_invalid"},
		{"malformed: garbage", []string{"whsec_new"}, raw("garbage"), body, "webhook_signature_invalid"},
		{"malformed: no timestamp", []string{"whsec_new"}, raw(v1), body, "webhook_signature_invalid"},
		{"malformed: timestamp not a number", []string{"whsec_new"}, raw("t=soon," + v1), body, "webhook_signature_invalid"},
		{"repeated t: the last one counts", []string{"whsec_new"}, raw("t=1," + good), body, ""},
		{"repeated t: a later wrong one wins", []string{"whsec_new"}, raw(good + ",t=1"), body, "webhook_signature_invalid"},
		{"unknown elements are ignored", []string{"whsec_new"}, raw(good + ",scheme=x,v2=abc"), body, ""},
		{"a v1 that is not hex is skipped", []string{"whsec_new"}, raw(good + ",v1=zz"), body, ""},
		{"malformed: an element without =", []string{"whsec_new"}, raw(good + ",v0"), body, "webhook_signature_invalid"},
		{"malformed: an element with two =", []string{"whsec_new"}, raw(good + ",v0=a=b"), body, "webhook_signature_invalid"},
		{"malformed: an empty element", []string{"whsec_new"}, raw(good + ","), body, "webhook_signature_invalid"},
		{"malformed: space before v1 makes it another scheme", []string{"whsec_new"}, raw(strings.Replace(good, ",v1=", ", v1=", 1)), body, "webhook_signature_invalid"},
		{"malformed: no v1", []string{"whsec_new"}, raw("t=" + strconv.FormatInt(webhookClock.Unix(), 10)), body, "webhook_signature_invalid"},
		{"malformed: v1 not hex", []string{"whsec_new"}, raw("t=" + strconv.FormatInt(webhookClock.Unix(), 10) + ",v1=zz"), body, "webhook_signature_invalid"},
		{"malformed: v1 truncated", []string{"whsec_new"}, raw(good[:len(good)-2]), body, "webhook_signature_invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newWebhookClient(t, tt.secrets...)
			id, evs, err := c.ParseWebhook(tt.h, tt.body)
			if tt.reason == "" {
				if err != nil || id != "evt_3MtwBwLkdIwHu7ix0Kp7sQ4e" || len(evs) != 1 {
					t.Errorf("ParseWebhook = %q, %d events, %v; want the event accepted", id, len(evs), err)
				}
				return
			}
			e := errs.As(err)
			if e == nil || e.Kind != errs.Unauthenticated || e.Reason != tt.reason {
				t.Errorf("err = %v; want unauthenticated/%s", err, tt.reason)
			}
			if id != "" || len(evs) != 0 {
				t.Errorf("a rejected delivery gave %q and %d events; want nothing", id, len(evs))
			}
			if e != nil && (strings.Contains(e.Message, "whsec_") || strings.Contains(e.Message, "HMAC")) {
				t.Errorf("message %q says more than a caller needs", e.Message)
			}
		})
	}
}

func TestParseWebhookBadPayload(t *testing.T) {
	t.Parallel()
	c := newWebhookClient(t, "whsec_x")
	refundEvent := func(object string) []byte {
		return []byte(`{"id":"evt_1","object":"event","type":"refund.updated","created":1773566813,"data":{"object":` + object + `}}`)
	}
	for name, body := range map[string][]byte{
		"not JSON":                   []byte(`nope`),
		"not an event":               []byte(`{"id":"re_1","object":"refund","status":"succeeded"}`),
		"event without an id":        []byte(`{"object":"event","type":"refund.updated","data":{"object":{}}}`),
		"event without a type":       []byte(`{"id":"evt_1","object":"event","data":{"object":{}}}`),
		"refund event with a charge": refundEvent(`{"id":"ch_1","object":"charge","amount":100,"currency":"usd"}`),
		"refund without an id":       refundEvent(`{"object":"refund","amount":100,"currency":"usd"}`),
		"refund id with a path":      refundEvent(`{"id":"re_1/../x","object":"refund","amount":100,"currency":"usd"}`),
		"refund without a currency":  refundEvent(`{"id":"re_1","object":"refund","amount":100,"currency":""}`),
		"refund amount a string":     refundEvent(`{"id":"re_1","object":"refund","amount":"100","currency":"usd"}`),
		"no data.object":             []byte(`{"id":"evt_1","object":"event","type":"refund.failed","data":{}}`),
	} {
		_, evs, err := c.ParseWebhook(sign(webhookClock, body, "whsec_x"), body)
		if e := errs.As(err); e == nil || e.Kind != errs.Invalid || e.Reason != "webhook_payload_invalid" || len(evs) != 0 {
			t.Errorf("%s: %v; want invalid/webhook_payload_invalid", name, err)
		}
	}
}
