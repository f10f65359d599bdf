// Package connectortest is the conformance suite every WMS connector passes against its vendor's
// sandbox, in the manner of go-cloud's drivertest: the suite owns the scenarios and the
// expectations, a vendor package supplies a rig (a Start function) that boots its sandbox (with
// auto-progress off, so the suite drives receipts, inspections and orders itself), connects, and
// collects the canonical events the vendor's inbound path makes — webhooks parsed by the
// connector, or files polled by it. Scenarios assert on canonical outcomes only (events and the
// connector's answers), so the same scenarios run unchanged for every vendor; what only some
// vendors have (signed webhooks, a separate acknowledgement step) is a Capability the
// rig declares, and the scenarios for it run for exactly the rigs that declare it.
package connectortest

import (
	"bytes"
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/retailbridge/retailbridge/pkg/errs"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	wmsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/wms/v1"
	"github.com/retailbridge/retailbridge/services/system/wms"
)

// Capabilities are what a vendor has beyond the common contract.
type Capabilities struct {
	// SignedWebhooks: inbound events arrive as signed webhooks (Webhooks, SignatureHeader,
	// Sign, Options.WrongWebhookSecret).
	SignedWebhooks bool
	// Acknowledgement: the warehouse acknowledges a shipping order in a step of its own before
	// shipping it (Acknowledge). Without it the shipment itself is the acknowledgement.
	Acknowledgement bool
	// ReturnsMoveStock: announcing, receiving and inspecting a return moves the positions
	// (in transit → awaiting inspection → graded). Without it positions change only when the
	// warehouse counts or adjusts stock.
	ReturnsMoveStock bool
	// HTTPFaults: SetLatency and SetErrorStatus work (the vendor answers requests).
	HTTPFaults bool
}

// Sandbox is a running vendor sandbox with the knobs the suite turns. Nothing progresses unless
// the suite says so.
type Sandbox interface {
	// Capabilities are what this vendor has beyond the common contract.
	Capabilities() Capabilities
	// Events waits until the inbound path (webhooks parsed by c, or files polled by c) has
	// produced at least n canonical events and returns them all, in the order raised.
	Events(tb testing.TB, c wms.Connector, n int) []*canonicalv1.Event
	// Connect returns a connector to this sandbox.
	Connect(tb testing.TB, o Options) wms.Connector
	// Locations are the warehouse's locations; the demo catalogue (APP-000 and FTW-100 among
	// it) is stocked at each.
	Locations() []string
	// Receive records an expected return's arrival and sends its webhook.
	Receive(tb testing.TB, receiptID string)
	// Inspect grades a received return, line by line in order, and sends its webhook.
	Inspect(tb testing.TB, receiptID string, conditions []canonicalv1.ItemCondition)
	// Acknowledge (with Capabilities.Acknowledgement) and Ship move a shipping order on and
	// send their webhooks or files.
	Acknowledge(tb testing.TB, orderID string)
	Ship(tb testing.TB, orderID string)
	// SetLatency delays every answer.
	SetLatency(d time.Duration)
	// SetDown makes the vendor unreachable.
	SetDown(on bool)
	// SetErrorStatus answers every request with status (0 turns it off).
	SetErrorStatus(status int)
	// Stats counts what the sandbox did.
	Stats() Stats
	// Webhooks waits until at least n webhooks arrived at the sandbox's receiver and returns
	// every one so far, in the order they were raised, each exactly as delivered.
	Webhooks(tb testing.TB, n int) []Webhook
	// SignatureHeader names the header that carries the webhook signature.
	SignatureHeader() string
	// Sign is the signature header value the vendor would send for body at t.
	Sign(body []byte, t time.Time) string
}

// Options shape the connector a scenario asks for.
type Options struct {
	// WrongKey makes the connector authenticate with a credential the sandbox does not know
	// (an API key, an SSH key): every vendor refuses it as vendor_auth_failed, not retryable.
	WrongKey bool
	// WrongWebhookSecret makes the connector verify webhooks with a secret the sandbox does not
	// sign with.
	WrongWebhookSecret bool
}

// Stats is what the sandbox counted.
type Stats struct {
	// ReceiptsCreated and OrdersCreated count side effects, not requests.
	ReceiptsCreated, OrdersCreated int64
}

// Webhook is one delivery as the receiver got it.
type Webhook struct {
	Header http.Header
	Body   []byte
}

// Start boots a sandbox until tb ends.
type Start func(tb testing.TB) Sandbox

// Run runs every scenario against sandboxes from start: the common ones always, the others for
// the capabilities caps declares (the same the rig's Capabilities report).
func Run(t *testing.T, caps Capabilities, start Start) {
	t.Run("ReturnLifecycle", func(t *testing.T) { t.Parallel(); testReturnLifecycle(t, start) })
	t.Run("ReferenceConflict", func(t *testing.T) { t.Parallel(); testReferenceConflict(t, start) })
	t.Run("ShippingOrder", func(t *testing.T) { t.Parallel(); testShippingOrder(t, start) })
	t.Run("CancelShippingOrder", func(t *testing.T) { t.Parallel(); testCancelShippingOrder(t, start) })
	t.Run("Positions", func(t *testing.T) { t.Parallel(); testPositions(t, start) })
	t.Run("NotFound", func(t *testing.T) { t.Parallel(); testNotFound(t, start) })
	t.Run("VendorFailures", func(t *testing.T) { t.Parallel(); testVendorFailures(t, caps, start) })
	t.Run("Events", func(t *testing.T) { t.Parallel(); testEvents(t, start) })
	if caps.SignedWebhooks {
		t.Run("WebhookRedelivery", func(t *testing.T) { t.Parallel(); testWebhookRedelivery(t, start) })
		t.Run("WebhookAuthenticity", func(t *testing.T) { t.Parallel(); testWebhookAuthenticity(t, start) })
	}
}

// SampleReturn is a canonical return of two lines.
func SampleReturn(id string, skus ...string) *canonicalv1.Return {
	if len(skus) < 2 {
		skus = []string{"APP-000", "FTW-100"}
	}
	return &canonicalv1.Return{
		Id: id, OrderId: "5001", RmaNumber: "RMA-" + id,
		Lines: []*canonicalv1.ReturnLine{
			{OrderLineId: "9001", Sku: skus[0], Quantity: 2},
			{OrderLineId: "9002", Sku: skus[1], Quantity: 1},
		},
	}
}

// SampleShipment is a canonical shipment of one line from location.
func SampleShipment(id, location, sku string) *canonicalv1.Shipment {
	return &canonicalv1.Shipment{
		Id: id, OrderId: "5001", FromLocationId: location,
		ToAddress: &canonicalv1.Address{Name: "Jane Doe", Lines: []string{"1 Main St", "Apt 2"}, City: "Springfield",
			Region: "US-IL", PostalCode: "62701", CountryCode: "US", Phone: "+12175550100"},
		Lines: []*canonicalv1.ShipmentLine{{Sku: sku, OrderLineId: "9001", Quantity: 2}},
	}
}

var (
	resellable = canonicalv1.ItemCondition_ITEM_CONDITION_RESELLABLE
	damaged    = canonicalv1.ItemCondition_ITEM_CONDITION_DAMAGED
	wrong      = canonicalv1.ItemCondition_ITEM_CONDITION_WRONG_OR_MISSING
)

func testReturnLifecycle(t *testing.T, start Start) {
	sb := start(t)
	c := sb.Connect(t, Options{})
	ctx := ctxFor(t, 10*time.Second)
	loc := sb.Locations()[0]
	ret := SampleReturn("ret_lifecycle")
	skus := []string{"APP-000", "FTW-100"}
	before := quantities(t, c, skus, loc)

	id, err := c.ExpectReturn(ctx, ret, loc, "expect-1")
	if err != nil {
		t.Fatalf("ExpectReturn: %v", err)
	}
	for _, key := range []string{"expect-1", "", "expect-2"} {
		again, err := c.ExpectReturn(ctx, ret, loc, key)
		if err != nil || again != id {
			t.Errorf("ExpectReturn again (key %q) = %q, %v; want %q", key, again, err, id)
		}
	}
	if st := sb.Stats(); st.ReceiptsCreated != 1 {
		t.Errorf("sandbox created %d receipts; want 1", st.ReceiptsCreated)
	}
	lines := func(conds ...canonicalv1.ItemCondition) []*canonicalv1.ReturnLine {
		out := []*canonicalv1.ReturnLine{
			{OrderLineId: "9001", Sku: "APP-000", Quantity: 2}, {OrderLineId: "9002", Sku: "FTW-100", Quantity: 1}}
		for i, c := range conds {
			out[i].Condition = c
		}
		return out
	}
	got := getReceipt(t, c, id)
	if got.GetReceivedAt() != nil {
		t.Errorf("expected return has received_at %v; want none", got.GetReceivedAt())
	}
	if diff := cmp.Diff(lines(), got.GetLines(), protocmp.Transform()); diff != "" {
		t.Errorf("expected lines mismatch (-want +got):\n%s", diff)
	}
	moves := sb.Capabilities().ReturnsMoveStock
	afterExpect := quantities(t, c, skus, loc)
	wantDelta(t, "announced", before, afterExpect, deltaIf(moves, map[string]map[canonicalv1.InventoryState]int64{
		"APP-000": {inTransit: 2}, "FTW-100": {inTransit: 1}}))

	sb.Receive(t, id)
	got = getReceipt(t, c, id)
	if got.GetReceivedAt() == nil {
		t.Errorf("received return without received_at")
	}
	afterReceipt := quantities(t, c, skus, loc)
	wantDelta(t, "received", afterExpect, afterReceipt, deltaIf(moves, map[string]map[canonicalv1.InventoryState]int64{
		"APP-000": {inTransit: -2, awaiting: 2, onHandState: 2}, "FTW-100": {inTransit: -1, awaiting: 1, onHandState: 1}}))

	sb.Inspect(t, id, []canonicalv1.ItemCondition{damaged, resellable})
	got = getReceipt(t, c, id)
	if diff := cmp.Diff(lines(damaged, resellable), got.GetLines(), protocmp.Transform()); diff != "" {
		t.Errorf("inspected lines mismatch (-want +got):\n%s", diff)
	}
	wantDelta(t, "inspected", afterReceipt, quantities(t, c, skus, loc), deltaIf(moves, map[string]map[canonicalv1.InventoryState]int64{
		"APP-000": {awaiting: -2, damagedState: 2}, "FTW-100": {awaiting: -1, sellable: 1}}))
}

// deltaIf is delta when the vendor's positions move with returns, and no change otherwise.
func deltaIf(moves bool, delta map[string]map[canonicalv1.InventoryState]int64) map[string]map[canonicalv1.InventoryState]int64 {
	if moves {
		return delta
	}
	return nil
}

func testReferenceConflict(t *testing.T, start Start) {
	sb := start(t)
	c := sb.Connect(t, Options{})
	ctx := ctxFor(t, 10*time.Second)
	loc := sb.Locations()[0]
	ids := concurrentExpect(t, c, SampleReturn("ret_conflict"), loc, 20)
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("concurrent announcements gave receipts %v; want one", ids)
		}
	}
	changed := SampleReturn("ret_conflict")
	changed.Lines[0].Quantity = 5
	_, err := c.ExpectReturn(ctx, changed, loc, "")
	WantErr(t, err, errs.AlreadyExists, "reference_conflict")
	_, err = c.ExpectReturn(ctx, SampleReturn("ret_conflict"), sb.Locations()[len(sb.Locations())-1], "")
	if len(sb.Locations()) > 1 {
		WantErr(t, err, errs.AlreadyExists, "reference_conflict")
	}
	if st := sb.Stats(); st.ReceiptsCreated != 1 {
		t.Errorf("sandbox created %d receipts; want 1", st.ReceiptsCreated)
	}
}

func testShippingOrder(t *testing.T, start Start) {
	sb := start(t)
	c := sb.Connect(t, Options{})
	ctx := ctxFor(t, 10*time.Second)
	loc := sb.Locations()[0]
	want := SampleShipment("shp_1", loc, "APP-000")
	id, err := c.CreateShippingOrder(ctx, want, "ship-1")
	if err != nil {
		t.Fatalf("CreateShippingOrder: %v", err)
	}
	if again, err := c.CreateShippingOrder(ctx, want, ""); err != nil || again != id {
		t.Errorf("CreateShippingOrder again = %q, %v; want %q", again, err, id)
	}
	if st := sb.Stats(); st.OrdersCreated != 1 {
		t.Errorf("sandbox created %d orders; want 1", st.OrdersCreated)
	}
	got, err := c.GetShippingOrder(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if got.GetAcknowledgedAt() != nil || got.GetShipment() != nil {
		t.Errorf("new order %v; want neither acknowledged nor shipped", got)
	}
	if sb.Capabilities().Acknowledgement {
		sb.Acknowledge(t, id)
		if got, _ = c.GetShippingOrder(ctx, id); got.GetAcknowledgedAt() == nil || got.GetShipment() != nil {
			t.Errorf("acknowledged order %v; want acknowledged_at and no shipment yet", got)
		}
	}
	sb.Ship(t, id)
	got, err = c.GetShippingOrder(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	want.Status = canonicalv1.ShipmentStatus_SHIPMENT_STATUS_IN_TRANSIT
	if diff := cmp.Diff(want, got.GetShipment(), protocmp.Transform(),
		protocmp.IgnoreFields(&canonicalv1.Shipment{}, "carrier", "tracking_number", "shipped_at")); diff != "" {
		t.Errorf("shipment mismatch (-want +got):\n%s", diff)
	}
	if s := got.GetShipment(); s.GetCarrier() == "" || s.GetTrackingNumber() == "" || s.GetShippedAt() == nil {
		t.Errorf("shipment %v; want carrier, tracking number and shipped_at", s)
	}
	if got.GetAcknowledgedAt() == nil {
		t.Errorf("shipped order without acknowledged_at; a shipment acknowledges the order")
	}
}

func testPositions(t *testing.T, start Start) {
	sb := start(t)
	c := sb.Connect(t, Options{})
	ctx := ctxFor(t, 10*time.Second)
	all, err := c.ListPositions(ctx, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) == 0 {
		t.Fatal("no positions; want the stocked catalogue")
	}
	locs := map[string]bool{}
	for _, p := range all {
		locs[p.GetLocationId()] = true
		if p.GetAsOf() == nil || p.GetVersion() == 0 || p.GetSku() == "" {
			t.Errorf("position %v; want sku, as_of and version", p)
		}
		var onHand, sum int64
		for i, q := range p.GetQuantities() {
			switch {
			case q.GetState() == onHandState:
				if i != 0 {
					t.Errorf("position %s@%s lists on hand at %d; want it first", p.GetSku(), p.GetLocationId(), i)
				}
				onHand = q.GetQuantity()
			case q.GetState() != inTransit:
				sum += q.GetQuantity()
			}
		}
		if onHand != sum {
			t.Errorf("position %s@%s on hand %d; want the sum of physical states %d", p.GetSku(), p.GetLocationId(), onHand, sum)
		}
	}
	if len(locs) != len(sb.Locations()) {
		t.Errorf("positions at %d locations; want %d", len(locs), len(sb.Locations()))
	}
	some, err := c.ListPositions(ctx, []string{all[0].GetSku(), "NOPE-1"}, []string{all[0].GetLocationId()})
	if err != nil {
		t.Fatal(err)
	}
	if len(some) != 1 || !proto.Equal(some[0], all[0]) {
		t.Errorf("filtered positions %v; want just %v", some, all[0])
	}
}

func testNotFound(t *testing.T, start Start) {
	c := start(t).Connect(t, Options{})
	ctx := ctxFor(t, 10*time.Second)
	_, err := c.GetReturnReceipt(ctx, "RCV-404")
	WantErr(t, err, errs.NotFound, "receipt_not_found")
	_, err = c.GetShippingOrder(ctx, "SO-404")
	WantErr(t, err, errs.NotFound, "order_not_found")
	if err := c.Ready(ctx); err != nil {
		t.Errorf("Ready: %v; want nil", err)
	}
}

func testVendorFailures(t *testing.T, caps Capabilities, start Start) {
	t.Run("down", func(t *testing.T) {
		t.Parallel()
		sb := start(t)
		c := sb.Connect(t, Options{})
		sb.SetDown(true)
		_, err := c.ExpectReturn(ctxFor(t, 5*time.Second), SampleReturn("r"), sb.Locations()[0], "")
		WantErr(t, err, errs.Unavailable, "vendor_unavailable")
	})
	testWrongKey(t, start)
	if caps.HTTPFaults {
		testHTTPFaults(t, start)
	}
}

func testWrongKey(t *testing.T, start Start) {
	t.Run("wrong key", func(t *testing.T) {
		t.Parallel()
		c := start(t).Connect(t, Options{WrongKey: true})
		e := WantErr(t, c.Ready(ctxFor(t, 5*time.Second)), errs.Unavailable, "vendor_auth_failed")
		if e != nil && e.Retryable {
			t.Errorf("auth failure is retryable; want not")
		}
	})
}

func testHTTPFaults(t *testing.T, start Start) {
	t.Run("deadline", func(t *testing.T) {
		t.Parallel()
		sb := start(t)
		c := sb.Connect(t, Options{})
		sb.SetLatency(3 * time.Second)
		const deadline = 150 * time.Millisecond
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		defer cancel()
		began := time.Now()
		_, err := c.ListPositions(ctx, nil, nil)
		WantErr(t, err, errs.DeadlineExceeded, "vendor_timeout")
		if took := time.Since(began); took > deadline+time.Second {
			t.Errorf("returned after %v; want soon after the %v deadline", took, deadline)
		}
	})
	t.Run("server error", func(t *testing.T) {
		t.Parallel()
		sb := start(t)
		c := sb.Connect(t, Options{})
		sb.SetErrorStatus(http.StatusBadGateway)
		_, err := c.GetShippingOrder(ctxFor(t, 5*time.Second), "SO-1")
		WantErr(t, err, errs.Unavailable, "vendor_unavailable")
	})
}

// testEvents drives a return and a shipping order through the warehouse and checks the
// canonical events its inbound path (webhooks or files) produced.
func testEvents(t *testing.T, start Start) {
	sb := start(t)
	c := sb.Connect(t, Options{})
	ctx := ctxFor(t, 10*time.Second)
	loc := sb.Locations()[0]
	ret := SampleReturn("ret_hooks")
	rid, err := c.ExpectReturn(ctx, ret, loc, "")
	if err != nil {
		t.Fatal(err)
	}
	sb.Receive(t, rid)
	sb.Inspect(t, rid, []canonicalv1.ItemCondition{wrong, resellable})
	oid, err := c.CreateShippingOrder(ctx, SampleShipment("shp_hooks", loc, "APP-000"), "")
	if err != nil {
		t.Fatal(err)
	}
	const p = "retailbridge.wms."
	wantTypes := []string{p + "return.received.v1", p + "return.inspected.v1"}
	if sb.Capabilities().Acknowledgement {
		sb.Acknowledge(t, oid)
		wantTypes = append(wantTypes, p+"shipping_order.acknowledged.v1")
	}
	sb.Ship(t, oid)
	wantTypes = append(wantTypes, p+"shipping_order.shipped.v1")
	evs := sb.Events(t, c, len(wantTypes))
	if len(evs) != len(wantTypes) {
		t.Fatalf("got %d events; want %d", len(evs), len(wantTypes))
	}
	seen := map[string]bool{}
	for i, ev := range evs {
		if ev.GetType() != wantTypes[i] || ev.GetId() == "" || seen[ev.GetId()] || ev.GetSource() == "" ||
			ev.GetTime() == nil || ev.GetSpecVersion() != 1 {
			t.Errorf("event %d: %v; want a new %s event with source, time and spec version", i, ev, wantTypes[i])
		}
		seen[ev.GetId()] = true
		msg, err := ev.GetData().UnmarshalNew()
		if err != nil {
			t.Fatal(err)
		}
		switch r := msg.(type) {
		case *canonicalv1.Return:
			conds := []canonicalv1.ItemCondition{0, 0}
			if i == 1 {
				conds = []canonicalv1.ItemCondition{wrong, resellable}
			}
			if r.GetId() != ret.GetId() || ev.GetSubject() != "return/"+ret.GetId() || len(r.GetLines()) != 2 ||
				r.GetLines()[0].GetCondition() != conds[0] || r.GetLines()[1].GetCondition() != conds[1] ||
				r.GetLines()[0].GetQuantity() != 2 || r.GetLines()[0].GetOrderLineId() != "9001" {
				t.Errorf("event %d: data %v on %s; want return %s with conditions %v", i, msg, ev.GetSubject(), ret.GetId(), conds)
			}
		case *canonicalv1.Shipment:
			shipped := ev.GetType() == p+"shipping_order.shipped.v1"
			if r.GetId() != "shp_hooks" || ev.GetSubject() != "shipment/shp_hooks" || shipped != (r.GetTrackingNumber() != "") {
				t.Errorf("event %d: data %v on %s; want shipment shp_hooks, tracked once shipped", i, msg, ev.GetSubject())
			}
		default:
			t.Errorf("event %d: data %T; want a return or a shipment", i, msg)
		}
	}
}

// testWebhookRedelivery: a webhook delivered again parses to the same delivery id and events,
// so the delivery memory drops it.
func testWebhookRedelivery(t *testing.T, start Start) {
	sb := start(t)
	c := sb.Connect(t, Options{})
	rid, err := c.ExpectReturn(ctxFor(t, 10*time.Second), SampleReturn("ret_redeliver"), sb.Locations()[0], "")
	if err != nil {
		t.Fatal(err)
	}
	sb.Receive(t, rid)
	h := sb.Webhooks(t, 1)[0]
	deliveryID, evs, err := c.ParseWebhook(h.Header, h.Body)
	if err != nil || len(evs) != 1 {
		t.Fatalf("webhook: %d events, %v; want 1", len(evs), err)
	}
	again, evs2, err := c.ParseWebhook(h.Header.Clone(), bytes.Clone(h.Body))
	if err != nil || again != deliveryID {
		t.Fatalf("webhook reparsed: %q, %v; want %q", again, err, deliveryID)
	}
	if diff := cmp.Diff(evs, evs2, protocmp.Transform()); diff != "" {
		t.Errorf("reparsed events differ (-first +second):\n%s", diff)
	}
}

func testWebhookAuthenticity(t *testing.T, start Start) {
	sb := start(t)
	c := sb.Connect(t, Options{})
	wrongSecret := sb.Connect(t, Options{WrongWebhookSecret: true})
	ctx := ctxFor(t, 10*time.Second)
	rid, err := c.ExpectReturn(ctx, SampleReturn("ret_auth"), sb.Locations()[0], "")
	if err != nil {
		t.Fatal(err)
	}
	sb.Receive(t, rid)
	h := sb.Webhooks(t, 1)[0]
	if _, _, err := c.ParseWebhook(h.Header, h.Body); err != nil {
		t.Fatalf("genuine webhook: %v", err)
	}
	with := func(value string) http.Header {
		hh := h.Header.Clone()
		if value == "" {
			hh.Del(sb.SignatureHeader())
		} else {
			hh.Set(sb.SignatureHeader(), value)
		}
		return hh
	}
	tampered := bytes.Replace(h.Body, []byte(`"ret_auth"`), []byte(`"ret_evil"`), 1)
	if bytes.Equal(tampered, h.Body) {
		t.Fatal("could not tamper with the body")
	}
	now := time.Now()
	cases := []struct {
		name   string
		conn   wms.Connector
		h      http.Header
		body   []byte
		reason string
	}{
		{"tampered body", c, h.Header, tampered, "webhook_signature_invalid"},
		{"wrong secret", wrongSecret, h.Header, h.Body, "webhook_signature_invalid"},
		{"missing signature", c, with(""), h.Body, "webhook_signature_invalid"},
		{"malformed signature", c, with("garbage"), h.Body, "webhook_signature_invalid"},
		{"signature of the tampered body, old timestamp", c, with(sb.Sign(tampered, now.Add(-time.Hour))), h.Body, "webhook_signature_invalid"},
		{"stale timestamp", c, with(sb.Sign(h.Body, now.Add(-10*time.Minute))), h.Body, "webhook_timestamp_stale"},
		{"an element that is not key=value", c, with(sb.Sign(h.Body, now) + ",v0"), h.Body, "webhook_signature_invalid"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, evs, err := tc.conn.ParseWebhook(tc.h, tc.body)
			WantErr(t, err, errs.Unauthenticated, tc.reason)
			if len(evs) != 0 {
				t.Errorf("got %d events from a rejected webhook; want none", len(evs))
			}
		})
	}
	if _, _, err := c.ParseWebhook(with(sb.Sign(h.Body, now.Add(-time.Minute))), h.Body); err != nil {
		t.Errorf("re-signed a minute ago: %v; want accepted within the tolerance", err)
	}
	// The scheme is Stripe's and is read by Stripe's library's rules: unknown schemes and an
	// earlier t are ignored, and only the age is bounded (a clock ahead of ours is not refused).
	for name, v := range map[string]string{
		"unknown schemes beside v1":    sb.Sign(h.Body, now) + ",v0=abc,v9=x",
		"an earlier t before the last": "t=1," + sb.Sign(h.Body, now),
		"signed ahead of our clock":    sb.Sign(h.Body, now.Add(10*time.Minute)),
	} {
		if _, _, err := c.ParseWebhook(with(v), h.Body); err != nil {
			t.Errorf("%s: %v; want accepted", name, err)
		}
	}
}

var (
	onHandState  = canonicalv1.InventoryState_INVENTORY_STATE_ON_HAND
	inTransit    = canonicalv1.InventoryState_INVENTORY_STATE_IN_TRANSIT
	awaiting     = canonicalv1.InventoryState_INVENTORY_STATE_RETURNED_AWAITING_INSPECTION
	sellable     = canonicalv1.InventoryState_INVENTORY_STATE_SELLABLE
	damagedState = canonicalv1.InventoryState_INVENTORY_STATE_DAMAGED
)

// quantities reads skus at loc as sku → state → quantity.
func quantities(tb testing.TB, c wms.Connector, skus []string, loc string) map[string]map[canonicalv1.InventoryState]int64 {
	tb.Helper()
	ps, err := c.ListPositions(ctxFor(tb, 10*time.Second), skus, []string{loc})
	if err != nil {
		tb.Fatalf("ListPositions: %v", err)
	}
	out := map[string]map[canonicalv1.InventoryState]int64{}
	for _, p := range ps {
		m := map[canonicalv1.InventoryState]int64{}
		for _, q := range p.GetQuantities() {
			m[q.GetState()] = q.GetQuantity()
		}
		out[p.GetSku()] = m
	}
	return out
}

// wantDelta checks that exactly the listed quantities changed, by the listed amounts. A state
// missing from a position counts as zero.
func wantDelta(tb testing.TB, step string, before, after, delta map[string]map[canonicalv1.InventoryState]int64) {
	tb.Helper()
	type key struct {
		sku   string
		state canonicalv1.InventoryState
	}
	all := map[key]bool{}
	for _, m := range []map[string]map[canonicalv1.InventoryState]int64{before, after, delta} {
		for sku, states := range m {
			for st := range states {
				all[key{sku, st}] = true
			}
		}
	}
	for k := range all {
		if got, want := after[k.sku][k.state]-before[k.sku][k.state], delta[k.sku][k.state]; got != want {
			tb.Errorf("%s: %s %s changed by %d; want %d", step, k.sku, k.state, got, want)
		}
	}
}

func getReceipt(tb testing.TB, c wms.Connector, id string) *wmsv1.GetReturnReceiptResponse {
	tb.Helper()
	r, err := c.GetReturnReceipt(ctxFor(tb, 10*time.Second), id)
	if err != nil {
		tb.Fatalf("GetReturnReceipt(%s): %v", id, err)
	}
	return r
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

func ctxFor(tb testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	tb.Cleanup(cancel)
	return ctx
}

// concurrentExpect announces one return from n goroutines at once and returns the receipt ids.
func concurrentExpect(tb testing.TB, c wms.Connector, ret *canonicalv1.Return, loc string, n int) []string {
	tb.Helper()
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			id, err := c.ExpectReturn(ctxFor(tb, 10*time.Second), ret, loc, "")
			if err != nil {
				tb.Errorf("ExpectReturn: %v", err)
			}
			ids[i] = id
		})
	}
	wg.Wait()
	return ids
}
