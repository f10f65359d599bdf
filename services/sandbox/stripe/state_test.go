package stripe

import (
	"testing"

	"github.com/retailbridge/retailbridge/services/sandbox/demo"
)

// TestRestartKeepsTheAccount restarts the sandbox on the same state directory: refunds, the
// idempotency record that makes a retry replay rather than refund again, and the id counters
// are all still there.
func TestRestartKeepsTheAccount(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	opts := Options{StateDir: dir}
	first, ds := newSandbox(t, opts)
	intent := PaymentIntentID(ds.Orders[0].ID)
	created := call(t, first, "POST", "/v1/refunds", refundForm(intent, "100"), key("rma-1"))
	if created.status != 200 {
		t.Fatalf("refund: %d %s", created.status, created.raw)
	}
	first.Close()

	// The restarted sandbox gets another dataset on purpose: the stored world wins over it.
	second, err := Open(demo.Generate(99, testNow, 3, 20), Options{StateDir: dir, Now: first.opts.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(second.Close)
	if got := call(t, second, "GET", "/v1/refunds/"+created.body["id"].(string), nil, nil); got.status != 200 || got.body["amount"] != float64(100) {
		t.Errorf("refund after restart: %d %s; want it kept", got.status, got.raw)
	}
	replay := call(t, second, "POST", "/v1/refunds", refundForm(intent, "100"), key("rma-1"))
	if replay.header.Get("Idempotent-Replayed") != "true" || replay.body["id"] != created.body["id"] {
		t.Errorf("retry after restart: replayed %q, id %v; want the stored answer, id %v",
			replay.header.Get("Idempotent-Replayed"), replay.body["id"], created.body["id"])
	}
	next := call(t, second, "POST", "/v1/refunds", refundForm(intent, "50"), key("rma-2"))
	if next.status != 200 || next.body["id"] == created.body["id"] {
		t.Errorf("new refund after restart: %d id %v; want a new id after %v", next.status, next.body["id"], created.body["id"])
	}
	if got := second.Stats().RefundsPerIntent[intent]; got != 2 {
		t.Errorf("refunds of %s = %d; want 2 (one per key, across the restart)", intent, got)
	}
	ch := call(t, second, "GET", "/v1/charges/"+ChargeID(ds.Orders[0].ID), nil, nil)
	var seeded int64
	for _, l := range ds.Orders[0].Lines {
		seeded += int64(l.Refunded) * l.UnitPriceMinor
	}
	if ch.body["amount_refunded"] != float64(seeded+150) {
		t.Errorf("charge refunded %v; want %d", ch.body["amount_refunded"], seeded+150)
	}
}
