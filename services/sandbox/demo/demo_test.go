package demo

import (
	"testing"
	"time"
)

func TestGenerateIsDeterministic(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	a, b := Generate(42, now, 40, 400), Generate(42, now, 40, 400)
	if len(a.Orders) != 400 || len(a.Customers) != 40 {
		t.Fatalf("got %d orders, %d customers; want 400, 40", len(a.Orders), len(a.Customers))
	}
	for i := range a.Orders {
		if a.Orders[i].ID != b.Orders[i].ID || a.Orders[i].TotalMinor() != b.Orders[i].TotalMinor() {
			t.Fatalf("order %d differs between runs with the same seed", i)
		}
	}
	var pickup, undelivered, refunded int
	for _, o := range a.Orders {
		if o.FulfillmentModel == PickUpInStore {
			pickup++
		}
		if o.DeliveredAt == nil {
			undelivered++
		}
		if o.FinancialStatus != "PAID" {
			refunded++
		}
		for _, l := range o.Lines {
			if _, ok := a.Item(l.SKU); !ok {
				t.Fatalf("order %s line %s: sku %s not in catalogue", o.ID, l.ID, l.SKU)
			}
		}
	}
	if pickup == 0 || undelivered == 0 || refunded == 0 {
		t.Errorf("got pickup=%d undelivered=%d refunded=%d; want variety in each", pickup, undelivered, refunded)
	}
	if got := a.Scenario(ScenarioFinalSale).CustomerID; got != DemoCustomerID {
		t.Errorf("final sale scenario customer = %s, want %s", got, DemoCustomerID)
	}
}
