package edi3pl_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/events/eventstest"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	"github.com/retailbridge/retailbridge/pkg/sftpbox"
	"github.com/retailbridge/retailbridge/pkg/testkit"
	"github.com/retailbridge/retailbridge/pkg/x12"
	sandbox "github.com/retailbridge/retailbridge/services/sandbox/edi3pl"
	"github.com/retailbridge/retailbridge/services/system/wms/internal/edi3pl"
)

// rig is a connector trading with the 3PL sandbox over real SFTP, its state in real JetStream.
type rig struct {
	t    *testing.T
	sb   *sandbox.Sandbox
	dir  string
	conn *edi3pl.Client
	cfg  edi3pl.Config

	mu     sync.Mutex
	events []*canonicalv1.Event
	stats  edi3pl.PollStats
}

func newRig(t *testing.T, delays sandbox.Delays, configure ...func(*edi3pl.Config)) *rig {
	t.Helper()
	key, err := sftpbox.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	sb, err := sandbox.Start(ln, sandbox.Options{Dir: dir, AuthorizedKeys: []string{key.Public}, Delays: delays,
		PollInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	_, js := eventstest.Start(t).Connect(t)
	cfg := edi3pl.Config{
		Mailbox: sftpbox.Config{Addr: sb.Addr(), User: sandbox.DefaultUser, PrivateKeyPEM: key.PrivatePEM, HostKey: sb.HostKey(),
			Inbound: sandbox.FromPartner, Outbound: sandbox.ToPartner, Archive: sandbox.Archive, Quarantine: sandbox.Quarantine},
		SenderQualifier: sandbox.Qualifier, SenderID: sandbox.RetailerID, ReceiverQualifier: sandbox.Qualifier, ReceiverID: sandbox.PartnerID,
		LocationID: "dc-east",
	}
	for _, f := range configure {
		f(&cfg)
	}
	c, err := edi3pl.New(cfg, js, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &rig{t: t, sb: sb, dir: dir, conn: c, cfg: cfg}
}

// poll runs one poll, collecting what it published.
func (r *rig) poll() edi3pl.PollStats {
	r.t.Helper()
	st, err := r.conn.Poll(context.Background(), func(_ context.Context, _ string, evs []*canonicalv1.Event) error {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.events = append(r.events, evs...)
		return nil
	})
	if err != nil {
		r.t.Fatalf("Poll: %v", err)
	}
	r.stats.Processed += st.Processed
	r.stats.Duplicates += st.Duplicates
	r.stats.Quarantined += st.Quarantined
	r.stats.Acks += st.Acks
	r.stats.TA1s += st.TA1s
	return st
}

// until polls until cond holds.
func (r *rig) until(what string, cond func() bool) {
	r.t.Helper()
	testkit.Eventually(r.t, 20*time.Second, what, func() bool { r.poll(); return cond() })
}

func (r *rig) count(typ string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.events {
		if e.GetType() == typ {
			n++
		}
	}
	return n
}

func shipment(id string) *canonicalv1.Shipment {
	return &canonicalv1.Shipment{Id: id, OrderId: "order_" + id, FromLocationId: "dc-east",
		ToAddress: &canonicalv1.Address{Name: "Ada Lovelace", Lines: []string{"1 Main St"}, City: "Springfield", CountryCode: "US"},
		Lines:     []*canonicalv1.ShipmentLine{{Sku: "SKU-1", OrderLineId: "l1", Quantity: 2}, {Sku: "SKU-2", Quantity: 1}}}
}

// TestShippingOrder: a 940 goes out once; the 3PL's 997 closes its interchange's pending
// acknowledgement without acknowledging the order; its 945 and 856 ship it: one SHIPPED event,
// the shipment readable and acknowledged, and every inbound interchange answered with our 997.
func TestShippingOrder(t *testing.T) {
	t.Parallel()
	r := newRig(t, sandbox.Delays{Ship: 50 * time.Millisecond})
	r.sb.SetFaults(sandbox.Faults{Send856: true})
	ctx := context.Background()
	id, err := r.conn.CreateShippingOrder(ctx, shipment("s1"), "k1")
	if err != nil || id != "s1" {
		t.Fatalf("CreateShippingOrder: %q, %v", id, err)
	}
	if id, err := r.conn.CreateShippingOrder(ctx, shipment("s1"), "k1"); err != nil || id != "s1" {
		t.Fatalf("CreateShippingOrder again: %q, %v", id, err)
	}
	changed := shipment("s1")
	changed.Lines[0].Quantity = 9
	if _, err := r.conn.CreateShippingOrder(ctx, changed, "k2"); errs.KindOf(err) != errs.AlreadyExists {
		t.Errorf("CreateShippingOrder with other content: got %v, want already_exists", err)
	}
	r.until("the order shipped", func() bool {
		o, err := r.conn.GetShippingOrder(ctx, "s1")
		return err == nil && o.GetShipment() != nil && o.GetAcknowledgedAt() != nil
	})
	r.until("the 856 arrived too", func() bool { return r.stats.Processed >= 3 })
	o, _ := r.conn.GetShippingOrder(ctx, "s1")
	if got := o.GetShipment(); got.GetTrackingNumber() != "1Zs1" || got.GetOrderId() != "order_s1" || len(got.GetLines()) != 2 ||
		got.GetLines()[0].GetQuantity() != 2 || got.GetCarrier() != "UPSN" {
		t.Errorf("shipment: got %v", got)
	}
	if ack, err := r.conn.InterchangeAck(ctx, "940", "s1"); err != nil || ack.Code != x12.AckAccepted || ack.At == nil || ack.ICN == 0 {
		t.Errorf("the 940's interchange: %+v, %v; want accepted by a 997", ack, err)
	}
	if n := r.count(edi3pl.TypeShippingOrderShipped); n != 1 {
		t.Errorf("SHIPPED events: got %d, want 1 (945 and 856 report one shipment)", n)
	}
	if n := len(r.events) - r.count(edi3pl.TypeShippingOrderShipped); n != 0 {
		t.Errorf("other events: got %d, want none (a 997 is not the warehouse's acknowledgement)", n)
	}
	// The 3PL picks our files up on its own schedule: wait for the 940, then our 997s for its
	// 945 and 856.
	testkit.Eventually(t, 10*time.Second, "the 3PL read the 940 and our two 997s", func() bool {
		return r.sb.Stats().Received >= 3 && len(r.sb.Acks()) >= 2
	})
	if o, ok := r.sb.Order("s1"); !ok || len(o.Lines) != 2 {
		t.Errorf("3PL order: %+v", o)
	}
	acks := r.sb.Acks()
	if len(acks) < 2 || acks[0].Code != x12.AckAccepted {
		t.Errorf("our 997s as the 3PL read them: %+v", acks)
	}
}

// TestRejectedOrder: a 997 rejecting the 940 publishes REJECTED, and the order never ships.
func TestRejectedOrder(t *testing.T) {
	t.Parallel()
	r := newRig(t, sandbox.Delays{Ship: 20 * time.Millisecond})
	r.sb.SetFaults(sandbox.Faults{RejectOrders: true})
	ctx := context.Background()
	if _, err := r.conn.CreateShippingOrder(ctx, shipment("bad"), ""); err != nil {
		t.Fatal(err)
	}
	r.until("the rejection arrived", func() bool { return r.count(edi3pl.TypeShippingOrderRejected) == 1 })
	if ack, _ := r.conn.InterchangeAck(ctx, "940", "bad"); ack.Code != x12.AckRejected {
		t.Errorf("the 940's interchange: %+v, want rejected", ack)
	}
	if o, _ := r.conn.GetShippingOrder(ctx, "bad"); o.GetShipment() != nil || o.GetAcknowledgedAt() != nil {
		t.Errorf("rejected order: %v", o)
	}
}

// TestDelayedAcknowledgement: a 3PL that answers the 940 with a 997 but never ships leaves the
// order open and unacknowledged (only its interchange is acknowledged), as does a silent one.
func TestDelayedAcknowledgement(t *testing.T) {
	t.Parallel()
	r := newRig(t, sandbox.Delays{Ship: 20 * time.Millisecond})
	ctx := context.Background()
	r.sb.SetFaults(sandbox.Faults{NoShipAdvice: true})
	if _, err := r.conn.CreateShippingOrder(ctx, shipment("late"), ""); err != nil {
		t.Fatal(err)
	}
	r.until("the 997 arrived", func() bool {
		ack, err := r.conn.InterchangeAck(ctx, "940", "late")
		return err == nil && ack.At != nil
	})
	r.sb.SetFaults(sandbox.Faults{Silent: true})
	if _, err := r.conn.CreateShippingOrder(ctx, shipment("silent"), ""); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, "the 3PL picked the 940 up", func() bool { _, ok := r.sb.Order("silent"); return ok })
	r.poll()
	for _, id := range []string{"late", "silent"} {
		o, err := r.conn.GetShippingOrder(ctx, id)
		if err != nil || o.GetShipment() != nil || o.GetAcknowledgedAt() != nil {
			t.Errorf("%s: got %v, %v; want open and unacknowledged", id, o, err)
		}
	}
	if ack, _ := r.conn.InterchangeAck(ctx, "940", "silent"); ack.At != nil {
		t.Error("silent: the interchange is acknowledged without a 997")
	}
	if n := len(r.events); n != 0 {
		t.Errorf("events: got %d, want 0", n)
	}
}

// TestReturn: a 180 announces the return; the 3PL's 180s receive and inspect it.
func TestReturn(t *testing.T) {
	t.Parallel()
	r := newRig(t, sandbox.Delays{Receive: 20 * time.Millisecond, Inspect: 20 * time.Millisecond})
	ctx := context.Background()
	ret := &canonicalv1.Return{Id: "ret_1", OrderId: "o1", RmaNumber: "RMA1",
		Lines: []*canonicalv1.ReturnLine{{Sku: "SKU-1", OrderLineId: "l1", Quantity: 1}}}
	id, err := r.conn.ExpectReturn(ctx, ret, "dc-east", "")
	if err != nil || id != "ret_1" {
		t.Fatalf("ExpectReturn: %q, %v", id, err)
	}
	r.until("the return was inspected", func() bool { return r.count(edi3pl.TypeReturnInspected) == 1 })
	got, err := r.conn.GetReturnReceipt(ctx, "ret_1")
	if err != nil || got.GetReceivedAt() == nil || got.GetReference() != "ret_1" || len(got.GetLines()) != 1 ||
		got.GetLines()[0].GetCondition() != canonicalv1.ItemCondition_ITEM_CONDITION_RESELLABLE || got.GetLines()[0].GetOrderLineId() != "l1" {
		t.Errorf("receipt: got %v, %v", got, err)
	}
	if n := r.count(edi3pl.TypeReturnReceived); n != 1 {
		t.Errorf("RECEIVED events: got %d, want 1", n)
	}
	for _, ev := range r.events {
		var got canonicalv1.Return
		if ev.GetType() == edi3pl.TypeReturnInspected && (ev.GetData().UnmarshalTo(&got) != nil ||
			got.GetExternalIds()["warehouse_location"] != "dc-east" || got.GetOrderId() != "o1" || ev.GetReferences().GetReturnId() != "ret_1") {
			t.Errorf("inspected event: %v", ev)
		}
	}
	if _, err := r.conn.GetReturnReceipt(ctx, "nope"); errs.KindOf(err) != errs.NotFound {
		t.Errorf("unknown receipt: got %v, want not_found", err)
	}
}

// TestInventoryResentAndMalformed: an 846 sets positions, a 947 moves them; every file sent
// twice is processed once (dedup by interchange control number, the copy archived as dup-…);
// a malformed file is quarantined with its reason and answered with a rejecting 997.
func TestInventoryResentAndMalformed(t *testing.T) {
	t.Parallel()
	r := newRig(t, sandbox.Delays{})
	ctx := context.Background()
	r.sb.SetFaults(sandbox.Faults{Resend: true})
	if err := r.sb.SendInventory(sandbox.Stock{SKU: "SKU-1", Available: 10, Hold: 2}); err != nil {
		t.Fatal(err)
	}
	if err := r.sb.SendAdjustment("ADJ-1", sandbox.Movement{Reason: "01", Quantity: 3, SKU: "SKU-1"}); err != nil {
		t.Fatal(err)
	}
	r.until("both files and their copies were taken", func() bool { return r.stats.Processed == 2 && r.stats.Duplicates == 2 })
	ps, err := r.conn.ListPositions(ctx, []string{"SKU-1"}, nil)
	if err != nil || len(ps) != 1 {
		t.Fatalf("ListPositions: %v, %v", ps, err)
	}
	want := map[canonicalv1.InventoryState]int64{
		canonicalv1.InventoryState_INVENTORY_STATE_ON_HAND:         12, // the sum of the physical states
		canonicalv1.InventoryState_INVENTORY_STATE_SELLABLE:        7,
		canonicalv1.InventoryState_INVENTORY_STATE_QUALITY_CONTROL: 2,
		canonicalv1.InventoryState_INVENTORY_STATE_DAMAGED:         3,
	}
	for _, q := range ps[0].GetQuantities() {
		if want[q.GetState()] != q.GetQuantity() {
			t.Errorf("%v: got %d, want %d", q.GetState(), q.GetQuantity(), want[q.GetState()])
		}
	}
	if n := r.count(edi3pl.TypeInventoryAdjusted); n != 1 {
		t.Errorf("ADJUSTED events: got %d, want 1", n)
	}
	dups, _ := filepath.Glob(filepath.Join(r.dir, "archive", "dup-*"))
	if len(dups) != 2 {
		t.Errorf("archived duplicates: got %v, want 2", dups)
	}

	r.sb.SetFaults(sandbox.Faults{Malformed: 1})
	if err := r.sb.SendInventory(sandbox.Stock{SKU: "SKU-1", Available: 99}); err != nil {
		t.Fatal(err)
	}
	r.until("the malformed file was quarantined", func() bool { return r.stats.Quarantined == 1 })
	reasons, _ := filepath.Glob(filepath.Join(r.dir, "quarantine", "*.reason.txt"))
	if len(reasons) != 1 {
		t.Fatalf("quarantine reasons: got %v", reasons)
	}
	if b, _ := os.ReadFile(reasons[0]); !strings.Contains(string(b), "transaction set segment count mismatch") {
		t.Errorf("reason: %s", b)
	}
	testkit.Eventually(t, 10*time.Second, "the 3PL read our rejecting 997", func() bool {
		for _, a := range r.sb.Acks() {
			if a.Code == x12.AckRejected && len(a.Sets) == 1 && a.Sets[0].Codes[0] == "4" {
				return true
			}
		}
		return false
	})
	ps, _ = r.conn.ListPositions(ctx, []string{"SKU-1"}, nil)
	for _, q := range ps[0].GetQuantities() {
		if q.GetQuantity() == 99 {
			t.Error("the malformed 846 moved stock")
		}
	}
}

// TestHostKeyPinned: a mailbox showing another host key is refused before login.
func TestHostKeyPinned(t *testing.T) {
	t.Parallel()
	r := newRig(t, sandbox.Delays{})
	other, _ := sftpbox.GenerateKey()
	cfg := r.cfg
	cfg.Mailbox.HostKey = other.Public
	_, js := eventstest.Start(t).Connect(t)
	c, err := edi3pl.New(cfg, js, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = c.Ready(context.Background())
	if e := errs.As(err); e == nil || e.Reason != "host_key_mismatch" {
		t.Errorf("Ready with a wrong pinned key: got %v, want host_key_mismatch", err)
	}
	if err := r.conn.Ready(context.Background()); err != nil {
		t.Errorf("Ready: %v", err)
	}
}

// TestOversizedFileQuarantined: a file over the size bound is set aside with its reason instead
// of holding up the files after it.
func TestOversizedFileQuarantined(t *testing.T) {
	t.Parallel()
	r := newRig(t, sandbox.Delays{})
	big := filepath.Join(r.dir, "from-3pl", "000-huge.edi")
	if err := os.WriteFile(big, make([]byte, sftpbox.MaxFileBytes+1), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := r.sb.SendInventory(sandbox.Stock{SKU: "SKU-9", Available: 4}); err != nil {
		t.Fatal(err)
	}
	r.until("both files were taken", func() bool { return r.stats.Quarantined == 1 && r.stats.Processed == 1 })
	if _, err := os.Stat(filepath.Join(r.dir, "quarantine", "000-huge.edi.reason.txt")); err != nil {
		t.Errorf("reason: %v", err)
	}
}
