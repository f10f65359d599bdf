package edi3pl_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/pkg/testkit"
	sandbox "github.com/retailbridge/retailbridge/services/sandbox/edi3pl"
)

// TestCancelOver940: the cancellation goes out as a 940 with W05-01 "F" naming the order, once
// however often it is asked; the 3PL reads it, never ships the order, and our cancel record's
// interchange is closed by its 997.
func TestCancelOver940(t *testing.T) {
	t.Parallel()
	r := newRig(t, sandbox.Delays{Ship: -1}) // the 3PL ships only when told
	ctx := context.Background()
	if _, err := r.conn.CreateShippingOrder(ctx, shipment("c1"), "k1"); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, "the 3PL picked the 940 up", func() bool { _, ok := r.sb.Order("c1"); return ok })
	for _, key := range []string{"x1", "x2"} {
		if err := r.conn.CancelShippingOrder(ctx, "c1", "c1", "order cancelled", key); err != nil {
			t.Fatalf("cancel (%s): %v", key, err)
		}
	}
	testkit.Eventually(t, 10*time.Second, "the 3PL read the cancellation", func() bool { o, _ := r.sb.Order("c1"); return o.Cancelled })
	if err := r.sb.Ship("c1"); err != nil {
		t.Fatal(err)
	}
	r.poll()
	if o, err := r.conn.GetShippingOrder(ctx, "c1"); err != nil || o.GetShipment() != nil {
		t.Errorf("cancelled order = %v, %v; want not shipped", o, err)
	}
	var cancels int
	_ = filepath.Walk(r.dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return nil
		}
		b, _ := os.ReadFile(path)
		if strings.Contains(string(b), "W05*F*c1*") {
			cancels++
		}
		return nil
	})
	if cancels != 1 {
		t.Errorf("cancelling 940s with W05*F*c1: %d, want 1", cancels)
	}
}
