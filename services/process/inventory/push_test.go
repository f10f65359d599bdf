package inventory

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/store/storetest"
	"github.com/retailbridge/retailbridge/pkg/testkit"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
	"github.com/retailbridge/retailbridge/services/sandbox/faults"
	shopifysb "github.com/retailbridge/retailbridge/services/sandbox/shopify"
	"github.com/retailbridge/retailbridge/services/system/commerce"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	commercev1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/commerce/v1"
)

// shopWarehouse is the Shopify sandbox's warehouse location id.
const shopWarehouse = "61000001"

// pushFixture is the inventory service pushing to the real commerce system API over the
// Shopify sandbox, each on its own server.
type pushFixture struct {
	svc *Service
	db  *store.DB
	sb  *shopifysb.Sandbox
	reg *prometheus.Registry
	n   int
}

func newPushFixture(t *testing.T) *pushFixture {
	t.Helper()
	sb := shopifysb.New(demo.Generate(1, start, 2, 2), shopifysb.Options{RestoreRate: 100000})
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	cs, err := commerce.New(commerce.Config{Connection: &commerce.ShopifyConfig{BaseURL: srv.URL, AccessToken: shopifysb.DefaultAccessToken}},
		commerce.Deps{HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	client := commercev1.NewCommerceServiceClient(serve(t, func(s *grpc.Server) { commercev1.RegisterCommerceServiceServer(s, cs) }))
	db := storetest.Open(t, store.SQLite, store.Options{})
	f := &pushFixture{db: db, sb: sb, reg: prometheus.NewRegistry()}
	f.svc, err = New(Config{SnapshotEvery: -1,
		Channels: map[string]Channel{"web": {Locations: []string{"dc-east"}, Buffer: 1}},
		Push: PushConfig{Channel: "web", Locations: map[string]string{"dc-east": shopWarehouse}, Every: 20 * time.Millisecond,
			Settle: time.Second, MaxDelay: 5 * time.Second}},
		Deps{DB: db, Commerce: client, Metrics: f.reg})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// move records one movement of qty units into (positive) or out of (negative) sellable.
func (f *pushFixture) move(t testing.TB, sku string, qty int64) {
	t.Helper()
	f.n++
	id := fmt.Sprintf("MV-%d", f.n)
	a := adjustment(sku, "dc-east", 0, sellable, qty, time.Now(), id)
	if qty < 0 {
		a = adjustment(sku, "dc-east", sellable, canonicalv1.InventoryState_INVENTORY_STATE_DAMAGED, -qty, time.Now(), id)
	}
	ev := event(t, canonicalv1.EventType_EVENT_TYPE_WMS_INVENTORY_ADJUSTED, "ev-"+id, time.Now(), a, "")
	if err := f.db.InTx(context.Background(), func(tx *store.Tx) error { return f.svc.handleEvent(context.Background(), tx, ev) }); err != nil {
		t.Fatal(err)
	}
}

func (f *pushFixture) ats(t testing.TB, sku string) int64 {
	t.Helper()
	n, err := (&pusher{s: f.svc, cfg: f.svc.cfg.Push}).target(context.Background(), pushKey{sku, "dc-east"})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (f *pushFixture) waitStorefront(t testing.TB, sku string, want int64, what string) {
	t.Helper()
	testkit.Eventually(t, 30*time.Second, what, func() bool {
		q, _ := f.sb.Available(sku, shopWarehouse)
		return int64(q) == want
	})
}

func (f *pushFixture) counter(t testing.TB, name string) float64 {
	t.Helper()
	mfs, err := f.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue() + float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return sum
}

// TestPushCoalescesABurst: a thousand movements on one SKU reach the storefront in a handful of
// calls, and the storefront ends at the ledger's available-to-sell for the channel.
func TestPushCoalescesABurst(t *testing.T) {
	f := newPushFixture(t)
	const sku = "PUSH-BURST"
	f.sb.AddInventoryItem(sku)
	runService(t, f.svc)
	before := f.sb.Faults().Requests()
	for i := range 1000 {
		if i%4 == 3 {
			f.move(t, sku, -1)
		} else {
			f.move(t, sku, 2)
		}
	}
	want := f.ats(t, sku)
	if want != 1250-1 {
		t.Fatalf("ledger ATS %d, want 1249", want)
	}
	f.waitStorefront(t, sku, want, "the storefront shows the ledger's available-to-sell")
	calls := f.sb.Faults().Requests() - before
	t.Logf("1,000 movements on one SKU: %d calls to Shopify", calls)
	if calls > 10 {
		t.Errorf("%d calls to Shopify for 1,000 movements on one SKU, want at most 10", calls)
	}
	if f.counter(t, "retailbridge_inventory_push_lag_seconds") == 0 {
		t.Error("no push lag observed")
	}
}

// TestPushResolvesAMerchantsHandChange: the merchant changed the level by hand, so the next set's
// compare value is stale; the push reads the storefront and sets the ledger's figure.
func TestPushResolvesAMerchantsHandChange(t *testing.T) {
	f := newPushFixture(t)
	const sku = "PUSH-HAND"
	f.sb.AddInventoryItem(sku)
	runService(t, f.svc)
	f.move(t, sku, 10)
	f.waitStorefront(t, sku, 9, "the first push")
	f.sb.SetAvailable(sku, shopWarehouse, 40)
	f.move(t, sku, 5)
	f.waitStorefront(t, sku, 14, "the push after the hand change")
	if n := f.counter(t, "retailbridge_inventory_push_conflicts_total"); n < 1 {
		t.Errorf("conflicts %v, want at least 1", n)
	}
}

// TestPushAfterALostAnswer: the storefront applies a set but its answer is lost; the retries (same
// idempotency key) change nothing more, and the figure is confirmed once the answers come back.
func TestPushAfterALostAnswer(t *testing.T) {
	f := newPushFixture(t)
	const sku = "PUSH-LOST"
	f.sb.AddInventoryItem(sku)
	runService(t, f.svc)
	f.move(t, sku, 10)
	f.waitStorefront(t, sku, 9, "the first push")
	changes := f.sb.InventoryChanges()
	f.sb.Faults().Set(faults.Settings{LoseAnswerRate: 1})
	f.move(t, sku, 3)
	f.waitStorefront(t, sku, 12, "the set whose answer is lost applies")
	testkit.Eventually(t, 30*time.Second, "the push retries", func() bool { return f.sb.Faults().Injected() >= 3 })
	f.sb.Faults().Set(faults.Settings{})
	testkit.Eventually(t, 30*time.Second, "the push confirms", func() bool {
		var q int64
		err := f.db.QueryRow(context.Background(), `SELECT pushed_quantity FROM inventory_push_state WHERE sku = $1`, sku).Scan(&q)
		return err == nil && q == 12
	})
	if got := f.sb.InventoryChanges() - changes; got != 1 {
		t.Errorf("the storefront applied %d changes for one movement, want 1", got)
	}
	if q, _ := f.sb.Available(sku, shopWarehouse); q != 12 {
		t.Errorf("storefront %d, want 12", q)
	}
}
