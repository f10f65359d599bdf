package businesscentral_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
	"github.com/retailbridge/retailbridge/pkg/money"
	"github.com/retailbridge/retailbridge/pkg/testkit"
	"github.com/retailbridge/retailbridge/services/system/erp/internal/businesscentral"
	"github.com/retailbridge/retailbridge/services/system/erp/internal/connectortest"
)

// clock is a settable clock both sides read.
type clock struct{ t atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.t.Store(time.Now().UnixNano())
	return c
}

func (c *clock) now() time.Time          { return time.Unix(0, c.t.Load()) }
func (c *clock) advance(d time.Duration) { c.t.Add(int64(d)) }

// received collects the events the intake publishes.
type received struct {
	mu  sync.Mutex
	evs []*canonicalv1.Event
}

func (r *received) publish(_ context.Context, evs []*canonicalv1.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.evs = append(r.evs, evs...)
	return nil
}

func (r *received) orders() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, ev := range r.evs {
		out = append(out, ev.GetReferences().GetOrderId())
	}
	slices.Sort(out)
	return slices.Compact(out)
}

type webhookRig struct {
	h     *harness
	c     *businesscentral.Client
	sub   *businesscentral.Subscriber
	got   *received
	clock *clock
	url   string
}

const clientState = "a-shared-secret-of-reasonable-length"

func newWebhookRig(t *testing.T, threshold int, delay time.Duration) *webhookRig {
	ds := connectortest.Catalogue(t)
	clk := newClock()
	opts := creds
	opts.Now, opts.NotificationDelay, opts.CollectionThreshold = clk.now, delay, threshold
	h := start(t, ds, opts)
	c, err := businesscentral.New(h.config(connectortest.Options{}), h.srv.Client(), nil, clk.now)
	if err != nil {
		t.Fatal(err)
	}
	got := &received{}
	intake := httptest.NewServer(c.Intake(clientState, got.publish))
	t.Cleanup(intake.Close)
	return &webhookRig{h: h, c: c, got: got, clock: clk, url: intake.URL + "/webhooks/businesscentral",
		sub: c.Subscriber(businesscentral.SubscriptionConfig{NotificationURL: intake.URL + "/webhooks/businesscentral", ClientState: clientState})}
}

func (w *webhookRig) book(t *testing.T, id string) {
	t.Helper()
	order := &canonicalv1.Order{Id: id, Customer: &canonicalv1.CustomerRef{Id: "cust-" + id}, Total: money.New(1000, "USD"),
		Lines: []*canonicalv1.OrderLine{{Id: id + "-1", Sku: "XTR-001", Quantity: 1, UnitPrice: money.New(1000, "USD")}}}
	if _, err := w.c.CreateSalesOrder(ctxFor(t, 5*time.Second), &erpv1.CreateSalesOrderRequest{Order: order, IdempotencyKey: id}); err != nil {
		t.Fatalf("CreateSalesOrder(%s): %v", id, err)
	}
}

func TestSubscriptionNotifications(t *testing.T) {
	t.Parallel()
	w := newWebhookRig(t, 1000, 20*time.Millisecond)
	subs, err := w.sub.Ensure(ctxFor(t, 5*time.Second))
	if err != nil || len(subs) != 1 {
		t.Fatalf("Ensure = %v, %v; want one subscription", subs, err)
	}
	if n := w.h.sb.Handshakes(); n != 1 {
		t.Errorf("%d handshakes; want 1", n)
	}
	if left := subs[0].Expires.Sub(w.clock.now()); left < 71*time.Hour || left > 72*time.Hour {
		t.Errorf("subscription lives %v; want Business Central's three days", left)
	}
	w.book(t, "8800001")
	testkit.Eventually(t, 5*time.Second, "a sales-order event for 8800001", func() bool { return slices.Equal(w.got.orders(), []string{"8800001"}) })
	w.got.mu.Lock()
	ev := w.got.evs[0]
	w.got.mu.Unlock()
	if ev.GetType() != "retailbridge.erp.sales_order.updated.v1" || ev.GetReferences().GetSystemRecordId() == "" {
		t.Errorf("event = %v; want an ERP sales order update naming the sales order", ev)
	}
	var o canonicalv1.Order
	if err := ev.GetData().UnmarshalTo(&o); err != nil || o.GetId() != "8800001" || o.GetTotal().GetAmountMinor() != 1000 {
		t.Errorf("event data = %v, %v; want order 8800001 of 10.00", &o, err)
	}
	if o.GetErpStatus() == "" || o.GetErpClosed() {
		t.Errorf("event data = %v; want the sales order's status, not closed (the workflow follows it)", &o)
	}
}

// More changes within the gathering delay than the threshold arrive as one "collection"
// notification; the intake reads what its filter selects.
func TestCollectionNotification(t *testing.T) {
	t.Parallel()
	w := newWebhookRig(t, 2, time.Hour) // delivered when the test flushes
	if _, err := w.sub.Ensure(ctxFor(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	ids := []string{"8800011", "8800012", "8800013", "8800014"}
	for _, id := range ids {
		w.book(t, id)
	}
	w.h.sb.FlushNotifications()
	if n := w.h.sb.Collections(); n != 1 {
		t.Errorf("%d collection notifications; want 1 for 4 changes over a threshold of 2", n)
	}
	testkit.Eventually(t, 5*time.Second, "events for the four orders", func() bool { return slices.Equal(w.got.orders(), ids) })
}

func TestNotificationWithWrongClientState(t *testing.T) {
	t.Parallel()
	w := newWebhookRig(t, 1000, 20*time.Millisecond)
	body := []byte(`{"value":[{"subscriptionId":"x","clientState":"guess","resource":"api/v2.0/companies(` + creds.CompanyID +
		`)/salesOrders(00000001-0000-4000-8000-000000000001)","changeType":"updated","lastModifiedDateTime":"2026-03-14T09:26:53.000Z"}]}`)
	resp, err := http.Post(w.url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || len(w.got.orders()) != 0 {
		t.Errorf("forged notification answered %d with %d events; want 401 and none", resp.StatusCode, len(w.got.orders()))
	}
}

// A subscription is renewed (same id, a fresh handshake, three more days) once its expiry is
// within a day; one that expired meanwhile is created again, and notifications resume.
func TestSubscriptionRenewedAndRecreated(t *testing.T) {
	t.Parallel()
	w := newWebhookRig(t, 1000, 20*time.Millisecond)
	first, err := w.sub.Ensure(ctxFor(t, 5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	w.clock.advance(30 * time.Hour) // 42 h left: nothing to do
	if again, err := w.sub.Ensure(ctxFor(t, 5*time.Second)); err != nil || again[0].Expires != first[0].Expires {
		t.Fatalf("Ensure with 42 h left = %v, %v; want the subscription unchanged", again, err)
	}
	w.clock.advance(20 * time.Hour) // 22 h left: renew
	renewed, err := w.sub.Ensure(ctxFor(t, 5*time.Second))
	if err != nil || renewed[0].ID != first[0].ID || !renewed[0].Expires.After(first[0].Expires) {
		t.Fatalf("Ensure with 22 h left = %v, %v; want %s renewed", renewed, err, first[0].ID)
	}
	if n := w.h.sb.Handshakes(); n != 2 {
		t.Errorf("%d handshakes; want 2 (create, renew)", n)
	}
	w.clock.advance(80 * time.Hour) // Retailbridge was down past the expiry
	recreated, err := w.sub.Ensure(ctxFor(t, 5*time.Second))
	if err != nil || recreated[0].ID == first[0].ID {
		t.Fatalf("Ensure after expiry = %v, %v; want a new subscription", recreated, err)
	}
	w.book(t, "8800021")
	testkit.Eventually(t, 5*time.Second, "an event through the new subscription", func() bool {
		return slices.Equal(w.got.orders(), []string{"8800021"})
	})
}
