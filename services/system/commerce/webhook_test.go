package commerce_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/events"
	"github.com/retailbridge/retailbridge/pkg/events/deliverytest"
	"github.com/retailbridge/retailbridge/pkg/events/eventstest"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	commercev1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/commerce/v1"
	"github.com/retailbridge/retailbridge/pkg/money"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
	sandbox "github.com/retailbridge/retailbridge/services/sandbox/shopify"
	"github.com/retailbridge/retailbridge/services/system/commerce"
)

const webhookSecret = "whsec_test"

// ingested is what the gateway stand-in saw of one delivery.
type ingested struct {
	webhookID string
	resp      *commercev1.IngestWebhookResponse
	err       error
}

// webhookRig is a sandbox whose webhooks go, through a stand-in for the gateway's webhook route,
// to a service publishing to an embedded JetStream.
type webhookRig struct {
	svc *commerce.Service
	sb  *sandbox.Sandbox
	js  jetstream.JetStream

	mu   sync.Mutex
	seen []ingested
}

func newWebhookRig(tb testing.TB) *webhookRig {
	tb.Helper()
	_, js := eventstest.Start(tb).Connect(tb)
	rig := &webhookRig{js: js}
	gateway := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		headers := map[string]string{}
		for k := range r.Header {
			headers[k] = r.Header.Get(k)
		}
		resp, err := rig.svc.IngestWebhook(r.Context(), &commercev1.IngestWebhookRequest{Headers: headers, Body: body})
		rig.mu.Lock()
		rig.seen = append(rig.seen, ingested{r.Header.Get("X-Shopify-Webhook-Id"), resp, err})
		rig.mu.Unlock()
		if err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	tb.Cleanup(gateway.Close)
	rig.sb = sandbox.New(dataset(), sandbox.Options{RestoreRate: 100000,
		Webhooks: sandbox.WebhookConfig{URL: gateway.URL, Secret: webhookSecret}})
	shop := httptest.NewServer(rig.sb)
	tb.Cleanup(shop.Close)
	svc, err := commerce.New(commerce.Config{Connection: &commerce.ShopifyConfig{BaseURL: shop.URL,
		AccessToken: sandbox.DefaultAccessToken, WebhookSecret: webhookSecret}}, commerce.Deps{HTTPClient: shop.Client(), JetStream: js})
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	rig.svc = svc
	return rig
}

// streamed returns the events in the commerce stream, keyed by Nats-Msg-Id.
func (rig *webhookRig) streamed(tb testing.TB) map[string]*canonicalv1.Event {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out := map[string]*canonicalv1.Event{}
	stream, err := rig.js.Stream(ctx, events.StreamName(commerce.EventDomain))
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return out
	}
	if err != nil {
		tb.Fatal(err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := stream.GetMsg(ctx, seq)
		if err != nil {
			tb.Fatal(err)
		}
		ev, err := events.Decode(m.Data)
		if err != nil {
			tb.Fatal(err)
		}
		if id := m.Header.Get(events.HeaderMsgID); id != ev.GetId() {
			tb.Errorf("Nats-Msg-Id %q; want the event id %q", id, ev.GetId())
		}
		out[ev.GetId()] = ev
	}
	return out
}

// TestDuplicateWebhooksPublishOnce has the shop deliver every webhook four times, late and out
// of order, while a refund and a return happen: every copy of a delivery gets the same event ids,
// and the stream holds one message per delivery.
func TestDuplicateWebhooksPublishOnce(t *testing.T) {
	t.Parallel()
	rig := newWebhookRig(t)
	rig.sb.SetWebhookFaults(sandbox.WebhookFaults{Copies: 4, Delay: 20 * time.Millisecond, Jitter: 80 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	o := dataset().Scenario(demo.ScenarioEligible)

	refund := &commercev1.RecordRefundRequest{OrderId: o.ID, IdempotencyKey: "wf-9/refund", GatewayRefundId: "re_9",
		Lines:  []*commercev1.RefundLine{{OrderLineId: o.Lines[1].ID, Quantity: 1, Restock: true}},
		Amount: money.New(o.Lines[1].UnitPriceMinor, "USD")}
	if _, err := rig.svc.RecordRefund(ctx, refund); err != nil {
		t.Fatalf("RecordRefund: %v", err)
	}
	ret := &canonicalv1.Return{OrderId: o.ID, Lines: []*canonicalv1.ReturnLine{{OrderLineId: o.Lines[0].ID, Sku: o.Lines[0].SKU, Quantity: 1}}}
	created, err := rig.svc.CreateReturn(ctx, &commercev1.CreateReturnRequest{Return: ret, IdempotencyKey: "wf-9/return"})
	if err != nil {
		t.Fatalf("CreateReturn: %v", err)
	}
	if _, err := rig.svc.CloseReturn(ctx, &commercev1.CloseReturnRequest{PlatformReturnId: created.GetPlatformReturnId()}); err != nil {
		t.Fatalf("CloseReturn: %v", err)
	}
	if err := rig.sb.DrainWebhooks(ctx); err != nil {
		t.Fatal(err)
	}

	st := rig.sb.WebhookStats()
	byDelivery := map[string]map[string]bool{}
	rig.mu.Lock()
	for _, in := range rig.seen {
		if in.err != nil {
			t.Errorf("delivery %s: %v", in.webhookID, in.err)
			continue
		}
		if in.resp.GetDeliveryId() != in.webhookID || in.resp.GetIgnored() || len(in.resp.GetEventIds()) != 1 {
			t.Errorf("delivery %s answered %v; want its id and one event", in.webhookID, in.resp)
			continue
		}
		if byDelivery[in.webhookID] == nil {
			byDelivery[in.webhookID] = map[string]bool{}
		}
		byDelivery[in.webhookID][in.resp.GetEventIds()[0]] = true
	}
	copies := len(rig.seen)
	rig.mu.Unlock()
	for id, evs := range byDelivery {
		if len(evs) != 1 {
			t.Errorf("delivery %s became events %v; want one, the same for every copy", id, evs)
		}
	}
	streamed := rig.streamed(t)
	t.Logf("FM-1: %d events delivered %d times (%d copies ingested); %d deliveries → %d stream messages",
		st.Events, st.Delivered, copies, len(byDelivery), len(streamed))
	if st.Events != 4 || st.Delivered != 16 || len(byDelivery) != 4 {
		t.Errorf("webhook stats %+v, %d deliveries; want 4 events (refunds/create, 3× orders/updated) delivered 4 times", st, len(byDelivery))
	}
	if len(streamed) != len(byDelivery) {
		t.Errorf("stream holds %d messages; want one per delivery, %d", len(streamed), len(byDelivery))
	}

	var refunds, updates int
	for _, ev := range streamed {
		if ev.GetSource() != events.VendorSource(commerce.EventSource, "shopify") || ev.GetSpecVersion() != 1 || ev.GetCorrelationId() == "" || ev.GetTime() == nil {
			t.Errorf("envelope %v", ev)
		}
		switch ev.GetType() {
		case "retailbridge.commerce.refund.created.v1":
			refunds++
			var r canonicalv1.Refund
			if err := ev.GetData().UnmarshalTo(&r); err != nil {
				t.Fatal(err)
			}
			if r.GetOrderId() != o.ID || r.GetAmount().GetAmountMinor() != o.Lines[1].UnitPriceMinor || r.GetGatewayRefundId() != "re_9" ||
				ev.GetSubject() != "refund/"+r.GetId() {
				t.Errorf("refund event %v: %v", ev.GetSubject(), &r)
			}
		case "retailbridge.commerce.order.updated.v1":
			updates++
			var ord canonicalv1.Order
			if err := ev.GetData().UnmarshalTo(&ord); err != nil {
				t.Fatal(err)
			}
			if ord.GetId() != o.ID || ord.GetFinancialStatus() != canonicalv1.FinancialStatus_FINANCIAL_STATUS_PARTIALLY_REFUNDED ||
				ord.GetLines()[1].GetRefundedQuantity() != 1 || ev.GetSubject() != "order/"+o.ID {
				t.Errorf("order event %v: %v", ev.GetSubject(), &ord)
			}
		default:
			t.Errorf("unexpected event type %s", ev.GetType())
		}
	}
	if refunds != 1 || updates != 3 {
		t.Errorf("%d refund and %d order events; want 1 and 3", refunds, updates)
	}

	// The webhook tells what the next read shows.
	got, err := rig.svc.GetOrder(ctx, &commercev1.GetOrderRequest{OrderId: o.ID})
	if err != nil {
		t.Fatal(err)
	}
	if l := got.GetOrder().GetLines(); l[1].GetRefundedQuantity() != 1 || l[0].GetReturnedQuantity() != 1 {
		t.Errorf("GetOrder after the writes: refunded %d, returned %d; want 1 and 1", l[1].GetRefundedQuantity(), l[0].GetReturnedQuantity())
	}
}

func signed(topic, id string, body []byte, secret string) map[string]string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return map[string]string{"X-Shopify-Topic": topic, "X-Shopify-Webhook-Id": id, "X-Shopify-Shop-Domain": sandbox.ShopDomain, "X-Shopify-API-Version": "2026-07",
		"X-Shopify-Hmac-Sha256": base64.StdEncoding.EncodeToString(mac.Sum(nil))}
}

const refundBody = `{"id":9100000123,"order_id":5100001,"created_at":"2026-03-01T10:00:00+00:00","note":null,` +
	`"refund_line_items":[],"transactions":[{"kind":"refund","status":"success","amount":"10.00","currency":"USD"}]}`

// TestWebhookAuthenticity: deliveries that fail verification are refused and publish nothing.
func TestWebhookAuthenticity(t *testing.T) {
	t.Parallel()
	rig := newWebhookRig(t)
	ctx := context.Background()
	body := []byte(refundBody)
	tampered := []byte(refundBody[:len(refundBody)-3] + `1"}]}`)
	noSig := signed(sandbox.TopicRefundsCreate, "d-3", body, webhookSecret)
	delete(noSig, "X-Shopify-Hmac-Sha256")
	tests := []struct {
		name    string
		headers map[string]string
		body    []byte
	}{
		{"tampered body", signed(sandbox.TopicRefundsCreate, "d-1", body, webhookSecret), tampered},
		{"wrong secret", signed(sandbox.TopicRefundsCreate, "d-2", body, "whsec_other"), body},
		{"missing signature", noSig, body},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := rig.svc.IngestWebhook(ctx, &commercev1.IngestWebhookRequest{Headers: tt.headers, Body: tt.body})
			if e := errs.As(err); e == nil || e.Kind != errs.Unauthenticated || e.Reason != "webhook_signature_invalid" {
				t.Errorf("got %v; want Unauthenticated webhook_signature_invalid", err)
			}
		})
	}
	if n := len(rig.streamed(t)); n != 0 {
		t.Errorf("refused deliveries published %d events; want none", n)
	}

	resp, err := rig.svc.IngestWebhook(ctx, &commercev1.IngestWebhookRequest{
		Headers: signed("products/update", "d-4", []byte(`{"id":1}`), webhookSecret), Body: []byte(`{"id":1}`)})
	if err != nil || !resp.GetIgnored() || resp.GetDeliveryId() != "d-4" || len(resp.GetEventIds()) != 0 {
		t.Errorf("unknown topic: %v, %v; want ignored", resp, err)
	}
	first, err := rig.svc.IngestWebhook(ctx, &commercev1.IngestWebhookRequest{Headers: signed(sandbox.TopicRefundsCreate, "d-5", body, webhookSecret), Body: body})
	if err != nil {
		t.Fatal(err)
	}
	again, err := rig.svc.IngestWebhook(ctx, &commercev1.IngestWebhookRequest{Headers: signed(sandbox.TopicRefundsCreate, "d-5", body, webhookSecret), Body: body})
	if err != nil || len(again.GetEventIds()) != 1 || again.GetEventIds()[0] != first.GetEventIds()[0] ||
		again.GetEventIds()[0] != commerce.EventID("shopify", "d-5", "retailbridge.commerce.refund.created.v1") {
		t.Errorf("repeated delivery: %v, %v; want the event id %v again", again, err, first.GetEventIds())
	}
	if n := len(rig.streamed(t)); n != 1 {
		t.Errorf("stream holds %d events; want 1", n)
	}
}

func TestWebhookWithoutBusOrSecret(t *testing.T) {
	t.Parallel()
	body := []byte(refundBody)
	req := &commercev1.IngestWebhookRequest{Headers: signed(sandbox.TopicRefundsCreate, "d-1", body, webhookSecret), Body: body}
	noBus, _ := newService(t, func(c *commerce.Config) { shopifyOf(c).WebhookSecret = webhookSecret })
	_, err := noBus.IngestWebhook(context.Background(), req)
	if e := errs.As(err); e == nil || e.Kind != errs.Unavailable || e.Reason != "events_unavailable" {
		t.Errorf("without JetStream: %v; want Unavailable events_unavailable", err)
	}
	noSecret, _ := newService(t, nil)
	_, err = noSecret.IngestWebhook(context.Background(), req)
	if e := errs.As(err); e == nil || e.Kind != errs.Unavailable || e.Reason != "webhook_secret_not_configured" {
		t.Errorf("without a secret: %v; want Unavailable webhook_secret_not_configured", err)
	}
}

// C15: Shopify's copies of one delivery, together and after JetStream's duplicate window
// (Shopify retries for hours), publish its events once.
func TestWebhookPublishedOnceForTheRetryHorizon(t *testing.T) {
	t.Parallel()
	rig := newWebhookRig(t)
	body := []byte(refundBody)
	n := deliverytest.CheckOnePublishPerDelivery(t, rig.js, commerce.EventDomain, func(ctx context.Context) error {
		_, err := rig.svc.IngestWebhook(ctx, &commercev1.IngestWebhookRequest{
			Headers: signed(sandbox.TopicRefundsCreate, "d-c15", body, webhookSecret), Body: body})
		return err
	})
	if n == 0 {
		t.Error("the refund delivery published nothing")
	}
}
