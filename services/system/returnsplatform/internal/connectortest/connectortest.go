// Package connectortest is the conformance suite every returns platform connector passes against
// its vendor's sandbox, in the manner of go-cloud's drivertest: the suite owns the scenarios and
// the expectations, a vendor package supplies a Start function that boots its sandbox (with
// auto-progress off, so the suite moves parcels itself) and connects.
package connectortest

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/retailbridge/retailbridge/pkg/errs"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	returnsplatformv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/returnsplatform/v1"
	"github.com/retailbridge/retailbridge/pkg/money"
	"github.com/retailbridge/retailbridge/services/system/returnsplatform"
)

// Sandbox is a running vendor sandbox with the knobs the suite turns. Its parcels move only when
// the suite says so.
type Sandbox interface {
	// Connect returns a connector to this sandbox.
	Connect(tb testing.TB, o Options) returnsplatform.Connector
	// Advance moves the return's parcel one carrier status on (new, pre_transit, in_transit,
	// out_for_delivery, delivered) and sends the webhook that announces it.
	Advance(tb testing.TB, platformReturnID string)
	// SetLatency delays every answer.
	SetLatency(d time.Duration)
	// SetDown makes the vendor unreachable.
	SetDown(on bool)
	// SetErrorStatus answers every request with status (0 turns it off).
	SetErrorStatus(status int)
	// SetRateLimit allows perMinute requests a minute in bursts of burst.
	SetRateLimit(perMinute, burst int)
	// Stats counts what the sandbox saw and did.
	Stats() Stats
	// Webhooks waits until at least n webhooks arrived at the sandbox's receiver and returns
	// every one so far, in the order they were raised, each exactly as delivered.
	Webhooks(tb testing.TB, n int) []Webhook
	// SignatureHeader names the header that carries the webhook signature.
	SignatureHeader() string
}

// Options shape the connector a scenario asks for.
type Options struct {
	// WrongKey makes the connector send an API key the sandbox does not know.
	WrongKey bool
	// WrongWebhookSecret makes the connector verify webhooks with a secret the sandbox does not
	// sign with.
	WrongWebhookSecret bool
}

// Stats is what the sandbox counted.
type Stats struct {
	// Requests is how many API requests arrived.
	Requests int64
	// ReturnsCreated and LabelsCreated count side effects, not requests.
	ReturnsCreated, LabelsCreated int64
	// RateLimited is how many requests were refused with 429.
	RateLimited int64
}

// Webhook is one delivery as the receiver got it.
type Webhook struct {
	Header http.Header
	Body   []byte
}

// Start boots a sandbox until tb ends.
type Start func(tb testing.TB) Sandbox

// Run runs every scenario against sandboxes from start.
func Run(t *testing.T, start Start) {
	t.Run("Lifecycle", func(t *testing.T) { t.Parallel(); testLifecycle(t, start) })
	t.Run("VoidUnusedLabel", func(t *testing.T) { t.Parallel(); testVoidUnused(t, start) })
	t.Run("IdempotentCreate", func(t *testing.T) { t.Parallel(); testIdempotentCreate(t, start) })
	t.Run("NotFound", func(t *testing.T) { t.Parallel(); testNotFound(t, start) })
	t.Run("WrongKey", func(t *testing.T) { t.Parallel(); testWrongKey(t, start) })
	t.Run("VendorFailures", func(t *testing.T) { t.Parallel(); testVendorFailures(t, start) })
	t.Run("RateLimited", func(t *testing.T) { t.Parallel(); testRateLimited(t, start) })
	t.Run("Webhooks", func(t *testing.T) { t.Parallel(); testWebhooks(t, start) })
	t.Run("WebhookAuthenticity", func(t *testing.T) { t.Parallel(); testWebhookAuthenticity(t, start) })
}

// SampleReturn is a canonical return of two lines for order 5001.
func SampleReturn(id string) *canonicalv1.Return {
	return &canonicalv1.Return{
		Id: id, OrderId: "5001", CustomerId: "7000001", Method: canonicalv1.ReturnMethod_RETURN_METHOD_MAIL,
		RefundTotal: money.New(8997, "USD"),
		Lines: []*canonicalv1.ReturnLine{
			{OrderLineId: "9001", Sku: "APP-001", Quantity: 2, Reason: canonicalv1.ReturnReason_RETURN_REASON_SIZE_OR_FIT},
			{OrderLineId: "9002", Sku: "FTW-002", Quantity: 1, Reason: canonicalv1.ReturnReason_RETURN_REASON_DEFECTIVE, Note: "sole came off"},
		},
	}
}

func testLifecycle(t *testing.T, start Start) {
	sb := start(t)
	c := sb.Connect(t, Options{})
	ctx := ctxFor(t, 10*time.Second)
	ret := SampleReturn("ret_lifecycle")
	id := createReturn(t, c, ret, "create-1")
	got, err := c.GetReturn(ctx, id)
	if err != nil {
		t.Fatalf("GetReturn: %v", err)
	}
	if got.GetState() != "open" || got.GetShipment() != nil {
		t.Errorf("new return: state %q, shipment %v; want open without a parcel", got.GetState(), got.GetShipment())
	}

	label, err := c.CreateLabel(ctx, id, "label-1")
	if err != nil {
		t.Fatalf("CreateLabel: %v", err)
	}
	if label.GetLabelId() == "" || label.GetTrackingNumber() == "" {
		t.Errorf("label %v; want an id and a tracking number", label)
	}
	if u, err := url.Parse(label.GetLabelUrl()); err != nil || !u.IsAbs() {
		t.Errorf("label URL %q; want an absolute URL", label.GetLabelUrl())
	}
	again, err := c.CreateLabel(ctx, id, "label-1")
	if err != nil || !proto.Equal(again, label) {
		t.Errorf("CreateLabel repeated = %v, %v; want the same label %v", again, err, label)
	}
	_, err = c.CreateLabel(ctx, id, "label-2")
	WantErr(t, err, errs.AlreadyExists, "label_exists")
	if st := sb.Stats(); st.LabelsCreated != 1 {
		t.Errorf("sandbox created %d labels; want 1", st.LabelsCreated)
	}

	parcel := func(status canonicalv1.ShipmentStatus) *canonicalv1.Shipment {
		return &canonicalv1.Shipment{Id: label.GetLabelId(), OrderId: ret.GetOrderId(), TrackingNumber: label.GetTrackingNumber(),
			Status: status, Lines: []*canonicalv1.ShipmentLine{
				{Sku: "APP-001", OrderLineId: "9001", Quantity: 2}, {Sku: "FTW-002", OrderLineId: "9002", Quantity: 1},
			}}
	}
	steps := []canonicalv1.ShipmentStatus{
		canonicalv1.ShipmentStatus_SHIPMENT_STATUS_LABEL_CREATED, // new
		canonicalv1.ShipmentStatus_SHIPMENT_STATUS_LABEL_CREATED, // pre_transit
		canonicalv1.ShipmentStatus_SHIPMENT_STATUS_IN_TRANSIT,
		canonicalv1.ShipmentStatus_SHIPMENT_STATUS_OUT_FOR_DELIVERY,
		canonicalv1.ShipmentStatus_SHIPMENT_STATUS_DELIVERED,
	}
	for i, want := range steps {
		if i > 0 {
			sb.Advance(t, id)
		}
		got, err := c.GetReturn(ctx, id)
		if err != nil {
			t.Fatalf("GetReturn: %v", err)
		}
		if diff := cmp.Diff(parcel(want), got.GetShipment(), protocmp.Transform(),
			protocmp.IgnoreFields(&canonicalv1.Shipment{}, "carrier", "shipped_at", "delivered_at")); diff != "" {
			t.Errorf("step %d parcel mismatch (-want +got):\n%s", i, diff)
		}
		if got.GetShipment().GetCarrier() == "" {
			t.Errorf("step %d: parcel without a carrier", i)
		}
		if want == canonicalv1.ShipmentStatus_SHIPMENT_STATUS_DELIVERED && got.GetShipment().GetDeliveredAt() == nil {
			t.Errorf("delivered parcel without delivered_at")
		}
		if want == canonicalv1.ShipmentStatus_SHIPMENT_STATUS_IN_TRANSIT {
			WantErr(t, c.VoidLabel(ctx, label.GetLabelId()), errs.FailedPrecondition, "label_in_use")
		}
	}

	if err := c.CloseReturn(ctx, id); err != nil {
		t.Fatalf("CloseReturn: %v", err)
	}
	if err := c.CloseReturn(ctx, id); err != nil {
		t.Errorf("CloseReturn again: %v; want nil", err)
	}
	if got, err := c.GetReturn(ctx, id); err != nil || got.GetState() != "closed" {
		t.Errorf("after close: %v, %v; want state closed", got, err)
	}
	_, err = c.CreateReturn(ctx, SampleReturn("ret_other"), "label-1") // keys are per operation
	if err != nil {
		t.Errorf("CreateReturn with a key used for a label: %v; want a new return", err)
	}
}

func testVoidUnused(t *testing.T, start Start) {
	sb := start(t)
	c := sb.Connect(t, Options{})
	ctx := ctxFor(t, 10*time.Second)
	id := createReturn(t, c, SampleReturn("ret_void"), "create-1")
	label := createLabel(t, c, id, "label-1")
	sb.Advance(t, id) // pre_transit: not scanned yet, still voidable
	for range 2 {
		if err := c.VoidLabel(ctx, label.GetLabelId()); err != nil {
			t.Fatalf("VoidLabel: %v", err)
		}
	}
	got := getReturn(t, c, id)
	if s := got.GetShipment(); s.GetStatus() != canonicalv1.ShipmentStatus_SHIPMENT_STATUS_VOIDED || s.GetId() != label.GetLabelId() {
		t.Errorf("after void: parcel %v; want label %s voided", s, label.GetLabelId())
	}
	next, err := c.CreateLabel(ctx, id, "label-2")
	if err != nil {
		t.Fatalf("CreateLabel after void: %v", err)
	}
	if next.GetLabelId() == label.GetLabelId() || next.GetTrackingNumber() == label.GetTrackingNumber() {
		t.Errorf("new label %v; want a different label than %v", next, label)
	}
}

func testIdempotentCreate(t *testing.T, start Start) {
	sb := start(t)
	c := sb.Connect(t, Options{})
	ctx := ctxFor(t, 10*time.Second)
	const n = 20
	ids := make([]string, n)
	errsSeen := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { ids[i], errsSeen[i] = c.CreateReturn(ctx, SampleReturn("ret_dup"), "create-dup") })
	}
	wg.Wait()
	for i := range n {
		if errsSeen[i] != nil || ids[i] != ids[0] {
			t.Fatalf("concurrent CreateReturn %d = %q, %v; want %q", i, ids[i], errsSeen[i], ids[0])
		}
	}
	if got := sb.Stats().ReturnsCreated; got != 1 {
		t.Errorf("sandbox created %d returns for one key; want 1", got)
	}
	_, err := c.CreateReturn(ctx, SampleReturn("ret_different"), "create-dup")
	WantErr(t, err, errs.Invalid, "idempotency_key_reused")
	if got := sb.Stats().ReturnsCreated; got != 1 {
		t.Errorf("sandbox created %d returns; want still 1", got)
	}
}

func testNotFound(t *testing.T, start Start) {
	c := start(t).Connect(t, Options{})
	ctx := ctxFor(t, 10*time.Second)
	_, err := c.GetReturn(ctx, "999999999")
	WantErr(t, err, errs.NotFound, "return_not_found")
	WantErr(t, c.CloseReturn(ctx, "999999999"), errs.NotFound, "return_not_found")
	_, err = c.CreateLabel(ctx, "999999999", "k")
	WantErr(t, err, errs.NotFound, "return_not_found")
	WantErr(t, c.VoidLabel(ctx, "999999999"), errs.NotFound, "label_not_found")
	if err := c.Ready(ctx); err != nil {
		t.Errorf("Ready: %v; want nil", err)
	}
}

func testWrongKey(t *testing.T, start Start) {
	c := start(t).Connect(t, Options{WrongKey: true})
	ctx := ctxFor(t, 10*time.Second)
	_, err := c.CreateReturn(ctx, SampleReturn("ret_1"), "k")
	e := WantErr(t, err, errs.Unavailable, "vendor_auth_failed")
	if e != nil && e.Retryable {
		t.Errorf("auth failure is retryable; want not")
	}
	WantErr(t, c.Ready(ctx), errs.Unavailable, "vendor_auth_failed")
}

func testVendorFailures(t *testing.T, start Start) {
	t.Run("deadline", func(t *testing.T) {
		t.Parallel()
		sb := start(t)
		c := sb.Connect(t, Options{})
		sb.SetLatency(3 * time.Second)
		const deadline = 150 * time.Millisecond
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		defer cancel()
		began := time.Now()
		_, err := c.GetReturn(ctx, "1")
		WantErr(t, err, errs.DeadlineExceeded, "vendor_timeout")
		if took := time.Since(began); took > deadline+time.Second {
			t.Errorf("GetReturn returned after %v; want soon after the %v deadline", took, deadline)
		}
	})
	t.Run("down", func(t *testing.T) {
		t.Parallel()
		sb := start(t)
		c := sb.Connect(t, Options{})
		sb.SetDown(true)
		_, err := c.CreateLabel(ctxFor(t, 5*time.Second), "1", "k")
		WantErr(t, err, errs.Unavailable, "vendor_unavailable")
	})
	t.Run("server error", func(t *testing.T) {
		t.Parallel()
		sb := start(t)
		c := sb.Connect(t, Options{})
		sb.SetErrorStatus(http.StatusInternalServerError)
		e := WantErr(t, c.CloseReturn(ctxFor(t, 5*time.Second), "1"), errs.Unavailable, "vendor_unavailable")
		if e != nil && !e.Retryable {
			t.Errorf("a 500 is not retryable; want retryable")
		}
	})
}

func testRateLimited(t *testing.T, start Start) {
	sb := start(t)
	c := sb.Connect(t, Options{})
	ctx := ctxFor(t, 10*time.Second)
	id := createReturn(t, c, SampleReturn("ret_rl"), "create-1")
	sb.SetRateLimit(600, 1) // one request every 100ms, announced as Retry-After: 1
	for i := range 2 {
		if _, err := c.GetReturn(ctx, id); err != nil {
			t.Fatalf("GetReturn %d under the rate limit: %v; want the connector to wait its turn", i, err)
		}
	}
	st := sb.Stats()
	t.Logf("sandbox refused %d of %d requests with 429", st.RateLimited, st.Requests)
	if st.RateLimited == 0 {
		t.Errorf("sandbox refused nothing; want 429s from a limit of one request per 100ms")
	}
	short, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, _ = c.GetReturn(short, id) // spend the token
	_, err := c.GetReturn(short, id)
	if k := errs.KindOf(err); k != errs.ResourceExhausted && k != errs.DeadlineExceeded {
		t.Errorf("GetReturn with no time to wait: %v; want resource_exhausted or deadline_exceeded", err)
	}
}

// webhookView is what the suite checks of a parsed delivery.
type webhookView struct {
	Types []string
}

func testWebhooks(t *testing.T, start Start) {
	sb := start(t)
	c := sb.Connect(t, Options{})
	ctx := ctxFor(t, 10*time.Second)
	ret := SampleReturn("ret_hooks")
	id := createReturn(t, c, ret, "create-1")
	label := createLabel(t, c, id, "label-1")
	for range 4 {
		sb.Advance(t, id)
	}
	if err := c.CloseReturn(ctx, id); err != nil {
		t.Fatalf("CloseReturn: %v", err)
	}
	hooks := sb.Webhooks(t, 7)
	if len(hooks) != 7 {
		t.Fatalf("got %d webhooks; want 7: created, label, four moves, closed", len(hooks))
	}

	const p = "retailbridge.returnsplatform."
	want := [][]string{
		{p + "return.created.v1"},
		{p + "return.updated.v1", p + "parcel.label_created.v1"},
		{p + "return.updated.v1", p + "parcel.label_created.v1"},
		{p + "return.updated.v1", p + "parcel.in_transit.v1"},
		{p + "return.updated.v1", p + "parcel.out_for_delivery.v1"},
		{p + "return.updated.v1", p + "parcel.delivered.v1"},
		{p + "return.closed.v1"},
	}
	seen := map[string]string{} // event id → type
	deliveries := map[string]bool{}
	for i, h := range hooks {
		deliveryID, evs, err := c.ParseWebhook(h.Header, h.Body)
		if err != nil {
			t.Fatalf("webhook %d: %v", i, err)
		}
		if deliveryID == "" || deliveries[deliveryID] {
			t.Errorf("webhook %d: delivery id %q; want a new, non-empty one", i, deliveryID)
		}
		deliveries[deliveryID] = true
		var types []string
		for _, ev := range evs {
			types = append(types, ev.GetType())
			checkEnvelope(t, ev, ret, label.GetTrackingNumber())
			if prev, ok := seen[ev.GetId()]; ok && !(ev.GetType() == p+"parcel.label_created.v1" && prev == ev.GetType()) {
				t.Errorf("webhook %d: event id %s repeats a %s event; only one parcel fact may repeat", i, ev.GetId(), prev)
			}
			seen[ev.GetId()] = ev.GetType()
		}
		if diff := cmp.Diff(webhookView{Types: want[i]}, webhookView{Types: types}); diff != "" {
			t.Errorf("webhook %d events mismatch (-want +got):\n%s", i, diff)
		}

		// The same delivery parsed again gives the same events, id for id.
		again, evs2, err := c.ParseWebhook(h.Header.Clone(), bytes.Clone(h.Body))
		if err != nil || again != deliveryID {
			t.Fatalf("webhook %d reparsed: %q, %v; want %q", i, again, err, deliveryID)
		}
		if diff := cmp.Diff(evs, evs2, protocmp.Transform()); diff != "" {
			t.Errorf("webhook %d reparsed events differ (-first +second):\n%s", i, diff)
		}
	}
}

// checkEnvelope checks what every event must carry.
func checkEnvelope(tb testing.TB, ev *canonicalv1.Event, ret *canonicalv1.Return, tracking string) {
	tb.Helper()
	if ev.GetId() == "" || ev.GetSource() == "" || ev.GetTime() == nil || ev.GetSpecVersion() != 1 ||
		ev.GetSubject() != "return/"+ret.GetId() {
		tb.Errorf("event %v; want id, source, time, spec version 1 and subject return/%s", ev, ret.GetId())
	}
	msg, err := ev.GetData().UnmarshalNew()
	if err != nil {
		tb.Fatalf("event %s data: %v", ev.GetType(), err)
	}
	switch d := msg.(type) {
	case *canonicalv1.Return:
		want := proto.Clone(ret).(*canonicalv1.Return)
		if diff := cmp.Diff(want, d, protocmp.Transform(),
			protocmp.IgnoreFields(&canonicalv1.Return{}, "state", "tracking_number", "created_at", "updated_at", "external_ids")); diff != "" {
			tb.Errorf("event %s return mismatch (-want +got):\n%s", ev.GetType(), diff)
		}
		if d.GetState() == "" || len(d.GetExternalIds()) == 0 {
			tb.Errorf("event %s return %v; want the platform's state and its ids", ev.GetType(), d)
		}
	case *canonicalv1.Shipment:
		if d.GetTrackingNumber() != tracking || d.GetOrderId() != ret.GetOrderId() || len(d.GetLines()) != len(ret.GetLines()) {
			tb.Errorf("event %s parcel %v; want tracking %s, order %s and the return's lines", ev.GetType(), d, tracking, ret.GetOrderId())
		}
	default:
		tb.Errorf("event %s carries %T; want a Return or a Shipment", ev.GetType(), msg)
	}
}

func testWebhookAuthenticity(t *testing.T, start Start) {
	sb := start(t)
	c := sb.Connect(t, Options{})
	wrong := sb.Connect(t, Options{WrongWebhookSecret: true})
	createReturn(t, c, SampleReturn("ret_auth"), "create-1")
	h := sb.Webhooks(t, 1)[0]
	if _, _, err := c.ParseWebhook(h.Header, h.Body); err != nil {
		t.Fatalf("genuine webhook: %v", err)
	}
	tampered := bytes.Replace(h.Body, []byte(`"ret_auth"`), []byte(`"ret_evil"`), 1)
	if bytes.Equal(tampered, h.Body) {
		t.Fatal("could not tamper with the body")
	}
	noSig := h.Header.Clone()
	noSig.Del(sb.SignatureHeader())
	badSig := h.Header.Clone()
	badSig.Set(sb.SignatureHeader(), "bm90IGEgc2lnbmF0dXJl")
	garbled := h.Header.Clone()
	garbled.Set(sb.SignatureHeader(), "%%%")
	cases := []struct {
		name string
		conn returnsplatform.Connector
		h    http.Header
		body []byte
	}{
		{"tampered body", c, h.Header, tampered},
		{"wrong secret", wrong, h.Header, h.Body},
		{"missing signature", c, noSig, h.Body},
		{"other signature", c, badSig, h.Body},
		{"signature not base64", c, garbled, h.Body},
		{"empty body", c, h.Header, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, evs, err := tc.conn.ParseWebhook(tc.h, tc.body)
			WantErr(t, err, errs.Unauthenticated, "webhook_signature_invalid")
			if len(evs) != 0 {
				t.Errorf("got %d events from a rejected webhook; want none", len(evs))
			}
		})
	}
}

// WantErr fails tb unless err is an *errs.Error of kind and reason, and returns it.
func WantErr(tb testing.TB, err error, kind errs.Kind, reason string) *errs.Error {
	tb.Helper()
	e := errs.As(err)
	if e == nil {
		tb.Errorf("got error %v; want *errs.Error %s/%s", err, kind, reason)
		return nil
	}
	if e.Kind != kind || e.Reason != reason {
		tb.Errorf("got %s/%s (%v); want %s/%s", e.Kind, e.Reason, err, kind, reason)
	}
	return e
}

func createReturn(tb testing.TB, c returnsplatform.Connector, ret *canonicalv1.Return, key string) string {
	tb.Helper()
	id, err := c.CreateReturn(ctxFor(tb, 10*time.Second), ret, key)
	if err != nil {
		tb.Fatalf("CreateReturn(%s): %v", ret.GetId(), err)
	}
	return id
}

func createLabel(tb testing.TB, c returnsplatform.Connector, id, key string) *returnsplatformv1.CreateLabelResponse {
	tb.Helper()
	l, err := c.CreateLabel(ctxFor(tb, 10*time.Second), id, key)
	if err != nil {
		tb.Fatalf("CreateLabel(%s): %v", id, err)
	}
	return l
}

func getReturn(tb testing.TB, c returnsplatform.Connector, id string) *returnsplatformv1.GetReturnResponse {
	tb.Helper()
	r, err := c.GetReturn(ctxFor(tb, 10*time.Second), id)
	if err != nil {
		tb.Fatalf("GetReturn(%s): %v", id, err)
	}
	return r
}

func ctxFor(tb testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	tb.Cleanup(cancel)
	return ctx
}
