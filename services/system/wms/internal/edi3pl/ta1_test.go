package edi3pl_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/pkg/testkit"
	"github.com/retailbridge/retailbridge/pkg/x12"
	sandbox "github.com/retailbridge/retailbridge/services/sandbox/edi3pl"
	"github.com/retailbridge/retailbridge/services/system/wms/internal/edi3pl"
)

// waitTA1 waits until the 3PL has read a TA1 of ours with code and note.
func waitTA1(t *testing.T, sb *sandbox.Sandbox, what, code, note string) {
	t.Helper()
	testkit.Eventually(t, 10*time.Second, what, func() bool {
		for _, a := range sb.TA1s() {
			if a.Code == code && a.Note == note {
				return true
			}
		}
		return false
	})
}

// TestTA1ForReceivedInterchanges: an interchange that asks for a TA1 is answered accepted once
// processed and, re-sent, rejected as a duplicate (025) and not processed again; an envelope
// error is answered with a rejecting TA1 naming it (001, IEA02 is not ISA13) though no TA1 was
// asked for, and the file is quarantined with nothing applied.
func TestTA1ForReceivedInterchanges(t *testing.T) {
	t.Parallel()
	r := newRig(t, sandbox.Delays{Ship: -1, Receive: -1, Inspect: -1})
	r.sb.SetFaults(sandbox.Faults{AskTA1: true, Resend: true})
	if err := r.sb.SendInventory(sandbox.Stock{SKU: "SKU-1", Available: 10}); err != nil {
		t.Fatal(err)
	}
	r.until("the 846 and its re-sent copy were taken", func() bool { return r.stats.Processed == 1 && r.stats.Duplicates == 1 })
	waitTA1(t, r.sb, "the 3PL read our accepting TA1", x12.TA1Accepted, x12.NoteNoError)
	waitTA1(t, r.sb, "the 3PL read our duplicate TA1", x12.TA1Rejected, x12.NoteDuplicate)

	r.sb.SetFaults(sandbox.Faults{BrokenEnvelope: 1})
	if err := r.sb.SendInventory(sandbox.Stock{SKU: "SKU-1", Available: 77}); err != nil {
		t.Fatal(err)
	}
	r.until("the broken interchange was quarantined", func() bool { return r.stats.Quarantined == 1 })
	waitTA1(t, r.sb, "the 3PL read our rejecting TA1", x12.TA1Rejected, x12.NoteControlMismatch)
	reasons, _ := filepath.Glob(filepath.Join(r.dir, "quarantine", "*.reason.txt"))
	if b, _ := os.ReadFile(reasons[0]); len(reasons) != 1 || !strings.Contains(string(b), "interchange control number mismatch") {
		t.Errorf("quarantine reasons %v: %s", reasons, b)
	}
	ps, err := r.conn.ListPositions(context.Background(), []string{"SKU-1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range ps[0].GetQuantities() {
		if q.GetQuantity() == 77 {
			t.Error("the rejected interchange's 846 moved stock")
		}
	}
	if r.stats.TA1s != 3 {
		t.Errorf("TA1s sent: %d, want 3 (accepted, duplicate, envelope error)", r.stats.TA1s)
	}
}

// TestTA1ForSentInterchanges: our interchanges ask for TA1s (Config.AckRequested); an accepting
// one is recorded on the document; a rejecting one is recorded and, for a 940, publishes
// WMS_SHIPPING_ORDER_REJECTED once — the 3PL processed nothing in it.
func TestTA1ForSentInterchanges(t *testing.T) {
	t.Parallel()
	r := newRig(t, sandbox.Delays{Ship: -1, Receive: -1, Inspect: -1}, func(c *edi3pl.Config) { c.AckRequested = true })
	ctx := context.Background()
	if _, err := r.conn.CreateShippingOrder(ctx, shipment("s1"), "k1"); err != nil {
		t.Fatal(err)
	}
	r.until("the 3PL's TA1 for s1 was reconciled", func() bool {
		a, err := r.conn.InterchangeAck(ctx, "940", "s1")
		return err == nil && a.TA1Code == x12.TA1Accepted && a.TA1Note == x12.NoteNoError
	})
	r.sb.SetFaults(sandbox.Faults{RejectInterchanges: true, Resend: true})
	if _, err := r.conn.CreateShippingOrder(ctx, shipment("s2"), "k2"); err != nil {
		t.Fatal(err)
	}
	r.until("the 3PL's rejecting TA1 for s2 was reconciled", func() bool {
		a, err := r.conn.InterchangeAck(ctx, "940", "s2")
		return err == nil && a.TA1Code == x12.TA1Rejected && a.TA1Note == x12.NoteUnknownReceiver
	})
	if n := r.count(edi3pl.TypeShippingOrderRejected); n != 1 {
		t.Errorf("SHIPPING_ORDER_REJECTED events: %d, want 1 (the TA1 was re-sent)", n)
	}
	if _, ok := r.sb.Order("s2"); ok {
		t.Error("the 3PL took the order of the interchange it rejected")
	}
}
