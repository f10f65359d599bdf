package orders

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/errs"
	ordersv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/orders/v1"
	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/store/storetest"
	"github.com/retailbridge/retailbridge/pkg/testkit"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
)

func TestOrderStore(t *testing.T) {
	for _, d := range storetest.Dialects {
		t.Run(d.String(), func(t *testing.T) {
			t.Run("DuplicatesAndUpdatedBeforeCreated", func(t *testing.T) { testDuplicatesAndOrder(t, d) })
			t.Run("PollerFindsMissedWebhook", func(t *testing.T) { testPollerFindsMissed(t, d) })
			t.Run("ReadsMakeNoVendorCalls", func(t *testing.T) { testReadsMakeNoVendorCalls(t, d) })
			t.Run("UnknownOrderReadOnce", func(t *testing.T) { testUnknownOrderReadOnce(t, d) })
			t.Run("ChangeFeed", func(t *testing.T) { testChangeFeed(t, d) })
			t.Run("WebhookKeepsReturnedQuantities", func(t *testing.T) { testWebhookKeepsReturned(t, d) })
			t.Run("ListingReadWholeOnce", func(t *testing.T) { testListingReadWholeOnce(t, d) })
			t.Run("TiedWebhooksSettleByARead", func(t *testing.T) { testTiedWebhooksSettle(t, d) })
		})
	}
}

var someLines = []demo.Line{{SKU: "SKU-STORE-1", Title: "Store test tee", Quantity: 2, UnitPriceMinor: 2500}}

func firstCustomer() string { return rigDataset().Customers[0].ID }

// storedVersion reads what the store holds for id, failing when it holds nothing.
func (r *storeRig) stored(id string) storedOrder {
	r.t.Helper()
	so, ok, err := r.svc.store.get(context.Background(), id)
	if err != nil || !ok {
		r.t.Fatalf("store get %s: ok=%v err=%v", id, ok, err)
	}
	return so
}

func (r *storeRig) historyOf(id string) []historyRow {
	r.t.Helper()
	h, err := r.svc.store.history(context.Background(), id)
	if err != nil {
		r.t.Fatal(err)
	}
	return h
}

// testDuplicatesAndOrder: create, update, cancel of one order are held; the update is delivered
// first, then the create (older: kept in history, not applied), then every delivery five times
// concurrently, then all again later. One version per vendor updated_at, the newest in force.
func testDuplicatesAndOrder(t *testing.T, d store.Dialect) {
	rig := newStoreRig(t, d, StoreConfig{})
	rig.holdWebhooks(true)
	id, err := rig.sb.PlaceOrder(firstCustomer(), someLines)
	if err != nil {
		t.Fatal(err)
	}
	if err := rig.sb.UpdateOrder(id); err != nil {
		t.Fatal(err)
	}
	if err := rig.sb.CancelOrder(id); err != nil {
		t.Fatal(err)
	}
	held := rig.takeHeld(4) // orders/create, orders/updated, orders/cancelled, orders/updated
	topics := []string{held[0].topic, held[1].topic, held[2].topic, held[3].topic}
	if want := []string{"orders/create", "orders/updated", "orders/cancelled", "orders/updated"}; !slices.Equal(topics, want) {
		t.Fatalf("topics = %v, want %v", topics, want)
	}
	calls := rig.vendorCalls()

	if err := rig.ingest(held[1]); err != nil { // updated before created
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, "the update is stored", func() bool {
		_, ok, _ := rig.svc.store.get(context.Background(), id)
		return ok
	})
	updatedAt := rig.stored(id).order.GetUpdatedAt().AsTime()
	if err := rig.ingest(held[0]); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, "the late create is in history", func() bool { return len(rig.historyOf(id)) == 2 })
	if got := rig.stored(id).order.GetUpdatedAt().AsTime(); !got.Equal(updatedAt) {
		t.Fatalf("after the late create the store holds updated_at %v, want the newer %v", got, updatedAt)
	}

	var wg sync.WaitGroup
	for range 5 {
		for _, d := range held {
			wg.Go(func() {
				if err := rig.ingest(d); err != nil {
					t.Errorf("ingest: %v", err)
				}
			})
		}
	}
	wg.Wait()
	for _, d := range held { // and again, later
		if err := rig.ingest(d); err != nil {
			t.Fatal(err)
		}
	}
	testkit.Eventually(t, 10*time.Second, "the cancellation is stored", func() bool { return rig.stored(id).cancelledAt != nil })
	testkit.Eventually(t, 10*time.Second, "four versions in history", func() bool { return len(rig.historyOf(id)) == 4 })
	h := rig.historyOf(id)
	var kinds []string
	applied := 0
	for _, row := range h {
		kinds = append(kinds, row.Kind)
		if row.Applied {
			applied++
		}
	}
	t.Logf("history of %s after 1+1+20+4 deliveries: %v (applied %d)", id, kinds, applied)
	slices.Sort(kinds) // the cancellation and its orders/updated share an updated_at
	if want := []string{kindCancelled, kindCreated, kindUpdated, kindUpdated}; !slices.Equal(kinds, want) {
		t.Errorf("history kinds = %v, want %v", kinds, want)
	}
	if h[0].Applied {
		t.Errorf("the late create became the version in force")
	}
	resp, err := rig.svc.GetOrder(supportCtx(), &ordersv1.GetOrderRequest{OrderId: id})
	if err != nil {
		t.Fatal(err)
	}
	if !resp.GetOrder().GetUpdatedAt().AsTime().After(updatedAt) || resp.GetAsOf() == nil {
		t.Errorf("GetOrder = updated_at %v as_of %v, want the cancellation's version (after %v) with as_of",
			resp.GetOrder().GetUpdatedAt().AsTime(), resp.GetAsOf(), updatedAt)
	}
	if got := rig.vendorCalls() - calls; got != 0 {
		t.Errorf("vendor calls while applying webhooks and reading = %d, want 0", got)
	}
}

// testPollerFindsMissedWebhook: the first poll sweeps the shop (backfill); a change whose
// webhook is lost is found by the next poll, within PollInterval of happening.
func testPollerFindsMissed(t *testing.T, d store.Dialect) {
	rig := newStoreRig(t, d, StoreConfig{PollPageSize: 7, Backfill: true})
	ctx := context.Background()
	res, err := rig.svc.PollOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Seen != len(rigDataset().Orders) || res.Applied != res.Seen {
		t.Fatalf("backfill poll = %+v, want all %d dataset orders applied", res, len(rigDataset().Orders))
	}
	rig.holdWebhooks(true) // the webhooks of what follows never arrive
	id, err := rig.sb.PlaceOrder(firstCustomer(), someLines)
	if err != nil {
		t.Fatal(err)
	}
	rig.takeHeld(1)
	if _, ok, _ := rig.svc.store.get(ctx, id); ok {
		t.Fatal("the order is stored though its webhook was lost")
	}
	res, err = rig.svc.PollOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("repair poll after one lost orders/create: %+v", res)
	if res.Started != 1 {
		t.Errorf("repair poll published %d orders/create, want 1 (the missed order)", res.Started)
	}
	so := rig.stored(id)
	// The poll publishes the orders/create the webhook would have (poller_create.go): the store's
	// own consumer may apply it before the poll stores its version (then the poll's copy is the
	// same version, absorbed). Either way the one version is the poll's event.
	ev, err := pollCreateEvent(so.order)
	if err != nil {
		t.Fatal(err)
	}
	var applied []historyRow
	for _, r := range rig.historyOf(id) {
		if r.Applied {
			applied = append(applied, r)
		}
	}
	if len(applied) != 1 || applied[0].EventID != ev.GetId() {
		t.Errorf("history = %+v, want one version, from the poll's orders/create %s", rig.historyOf(id), ev.GetId())
	}
	if so.order.GetCustomer().GetId() != firstCustomer() {
		t.Errorf("stored order's customer = %q", so.order.GetCustomer().GetId())
	}
	res, err = rig.svc.PollOnce(ctx) // nothing new: the overlap lists again, reads nothing
	if err != nil || res.Applied != 0 || res.Read != 0 {
		t.Errorf("third poll = %+v, %v; want nothing read or applied", res, err)
	}

	// A version a webhook delivered is read in full by the next poll once (its updated_at may tie
	// with a later change in the same second; the read also brings what the REST payload lacks),
	// then only confirmed.
	rig.holdWebhooks(false)
	id2, err := rig.sb.PlaceOrder(firstCustomer(), someLines)
	if err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, "the webhook's version is stored", func() bool {
		_, ok, _ := rig.svc.store.get(ctx, id2)
		return ok
	})
	first, err := rig.svc.PollOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	second, err := rig.svc.PollOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("polls after a delivered orders/create: %+v then %+v", first, second)
	if first.Read != 1 || second.Read != 0 || second.Applied != 0 {
		t.Errorf("polls = %+v then %+v; want the webhook's version read once, then nothing read", first, second)
	}
}

// testReadsMakeNoVendorCalls: once swept, every listing (any page size, paged to the end) and
// every single order of every customer are answered with no vendor call.
func testReadsMakeNoVendorCalls(t *testing.T, d store.Dialect) {
	rig := newStoreRig(t, d, StoreConfig{Backfill: true})
	if _, err := rig.svc.PollOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{}
	for _, o := range rigDataset().Orders {
		want[o.CustomerID] = append(want[o.CustomerID], o.ID)
	}
	calls := rig.vendorCalls()
	reads := 0
	for _, c := range rigDataset().Customers {
		for _, size := range []int32{1, 3, 7, 20, 100} {
			var got []string
			token := ""
			for {
				resp, err := rig.svc.ListOrders(customerCtx(c.ID), &ordersv1.ListOrdersRequest{PageSize: size, PageToken: token})
				if err != nil {
					t.Fatalf("ListOrders(%s, %d): %v", c.ID, size, err)
				}
				reads++
				if resp.GetAsOf() == nil {
					t.Fatal("ListOrders without as_of")
				}
				for _, o := range resp.GetOrders() {
					got = append(got, o.GetId())
					if _, err := rig.svc.GetOrder(customerCtx(c.ID), &ordersv1.GetOrderRequest{OrderId: o.GetId()}); err != nil {
						t.Fatalf("GetOrder(%s): %v", o.GetId(), err)
					}
					reads++
				}
				if token = resp.GetNextPageToken(); token == "" {
					break
				}
			}
			if !slices.Equal(got, want[c.ID]) {
				t.Errorf("customer %s page size %d listed %v, want %v (newest first)", c.ID, size, got, want[c.ID])
			}
		}
	}
	got := rig.vendorCalls() - calls
	t.Logf("%d reads (lists and single orders, page sizes 1, 3, 7, 20, 100): %d vendor calls", reads, got)
	if got != 0 {
		t.Errorf("vendor calls on reads of known orders = %d, want 0", got)
	}
	other := rigDataset().Customers[1].ID
	if _, err := rig.svc.GetOrder(customerCtx(other), &ordersv1.GetOrderRequest{OrderId: want[firstCustomer()][0]}); errs.KindOf(err) != errs.NotFound {
		t.Errorf("another customer's order: err = %v, want NotFound", err)
	}
}

// testUnknownOrderReadOnce: an order the store does not hold is read from the platform once,
// however many ask at once, and kept; one caller's lookups are bounded.
func testUnknownOrderReadOnce(t *testing.T, d store.Dialect) {
	rig := newStoreRig(t, d, StoreConfig{FallbackPerTenant: 2})
	id := rigDataset().Orders[0].ID
	customer := rigDataset().Orders[0].CustomerID
	before := rig.sb.Stats().Queries
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			_, err := rig.svc.GetOrder(supportCtx(), &ordersv1.GetOrderRequest{OrderId: id})
			if err != nil && errs.KindOf(err) != errs.ResourceExhausted {
				t.Errorf("GetOrder: %v", err)
			}
		})
	}
	wg.Wait()
	first := rig.sb.Stats().Queries - before
	if _, err := rig.svc.GetOrder(customerCtx(customer), &ordersv1.GetOrderRequest{OrderId: id}); err != nil {
		t.Fatal(err)
	}
	second := rig.sb.Stats().Queries - before - first
	t.Logf("10 concurrent reads of an unknown order: %d vendor queries; the next read: %d", first, second)
	if first < 1 || first > 2 || second != 0 { // one order read (a large order is read again, larger)
		t.Errorf("vendor queries = %d then %d, want one read then 0", first, second)
	}
	if h := rig.historyOf(id); len(h) != 1 || h[0].Via != viaRead {
		t.Errorf("history = %+v, want one version from the read", h)
	}

	// One caller with unknown ids in flight is held to FallbackPerTenant; another is not.
	rig.sb.Faults().Set(faultsLatency(300 * time.Millisecond))
	var refused, other int
	var mu sync.Mutex
	for i := range 6 {
		wg.Go(func() {
			_, err := rig.svc.GetOrder(customerCtx("9999999"), &ordersv1.GetOrderRequest{OrderId: rigDataset().Orders[1+i].ID})
			if errs.KindOf(err) == errs.ResourceExhausted {
				mu.Lock()
				refused++
				mu.Unlock()
			}
		})
	}
	wg.Go(func() {
		testkit.Eventually(t, 5*time.Second, "the first caller's lookups are in flight", func() bool {
			rig.svc.mu.Lock()
			defer rig.svc.mu.Unlock()
			return rig.svc.inFlight["customer:9999999"] == 2
		})
		o := rigDataset().Orders[20]
		if _, err := rig.svc.GetOrder(customerCtx(o.CustomerID), &ordersv1.GetOrderRequest{OrderId: o.ID}); err != nil {
			t.Errorf("another customer's lookup while the first is at its bound: %v", err)
			return
		}
		mu.Lock()
		other++
		mu.Unlock()
	})
	wg.Wait()
	t.Logf("6 concurrent lookups of unknown orders by one customer (bound 2): %d refused; another customer's: %d answered", refused, other)
	if refused < 1 || other != 1 {
		t.Errorf("refused %d, other answered %d; want some refused and the other answered", refused, other)
	}
}

// testChangeFeed: changed_since lists what changed, oldest change first, pages with any size,
// and returns a token that resumes after the last change.
func testChangeFeed(t *testing.T, d store.Dialect) {
	rig := newStoreRig(t, d, StoreConfig{FeedSettle: time.Millisecond, Backfill: true})
	if _, err := rig.svc.PollOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	mark := time.Now()
	var placed []string
	for range 5 {
		id, err := rig.sb.PlaceOrder(firstCustomer(), someLines)
		if err != nil {
			t.Fatal(err)
		}
		placed = append(placed, id)
		testkit.Eventually(t, 10*time.Second, "order "+id+" stored", func() bool {
			_, ok, _ := rig.svc.store.get(context.Background(), id)
			return ok
		})
	}
	for _, size := range []int32{1, 2, 100} {
		var got []string
		token := ""
		for range 20 {
			resp, err := rig.svc.ListOrders(supportCtx(), &ordersv1.ListOrdersRequest{CustomerId: firstCustomer(),
				ChangedSince: timestamppb.New(mark), PageSize: size, PageToken: token})
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range resp.GetOrders() {
				got = append(got, o.GetId())
			}
			token = resp.GetNextPageToken()
			if len(resp.GetOrders()) == 0 {
				break
			}
		}
		if !slices.Equal(got, placed) {
			t.Errorf("page size %d: feed = %v, want %v", size, got, placed)
		}
		if token == "" {
			t.Errorf("page size %d: the feed's last page has no resume token", size)
		}
		// The token resumes: a change after it is the next answer.
		if err := rig.sb.UpdateOrder(placed[0]); err != nil {
			t.Fatal(err)
		}
		testkit.Eventually(t, 10*time.Second, "the update is in the feed", func() bool {
			resp, err := rig.svc.ListOrders(supportCtx(), &ordersv1.ListOrdersRequest{CustomerId: firstCustomer(),
				ChangedSince: timestamppb.New(mark), PageSize: size, PageToken: token})
			return err == nil && len(resp.GetOrders()) == 1 && resp.GetOrders()[0].GetId() == placed[0]
		})
		placed = append(placed[1:], placed[0])
	}
}

// testWebhookKeepsReturned: an orders/updated (whose REST payload carries no returns) after a
// poll that stored returned quantities leaves them as they were.
func testWebhookKeepsReturned(t *testing.T, d store.Dialect) {
	rig := newStoreRig(t, d, StoreConfig{Backfill: true})
	if _, err := rig.svc.PollOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	var id string
	for _, o := range rigDataset().Orders {
		for _, l := range o.Lines {
			if l.Returned > 0 && id == "" {
				id = o.ID
			}
		}
	}
	if id == "" {
		t.Fatal("the dataset has no returned line")
	}
	returned := func() (n int32) {
		for _, l := range rig.stored(id).order.GetLines() {
			n += l.GetReturnedQuantity()
		}
		return n
	}
	before, updated := returned(), rig.stored(id).order.GetUpdatedAt().AsTime()
	if before == 0 {
		t.Fatalf("order %s stored with no returned units after the poll", id)
	}
	if err := rig.sb.UpdateOrder(id); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, "the orders/updated is stored", func() bool {
		return rig.stored(id).order.GetUpdatedAt().AsTime().After(updated)
	})
	if got := returned(); got != before {
		t.Errorf("returned units after orders/updated = %d, want %d as the poll stored", got, before)
	}
}

// testListingReadWholeOnce: without a backfill sweep, a customer's first listing is answered by
// the platform while the store reads the listing whole once; every later listing, at any page size, and a new order arriving by
// webhook, cost no vendor call.
func testListingReadWholeOnce(t *testing.T, d store.Dialect) {
	rig := newStoreRig(t, d, StoreConfig{})
	if res, err := rig.svc.PollOnce(context.Background()); err != nil || res.Seen != 0 {
		t.Fatalf("first poll without backfill = %+v, %v; want nothing read (changes from now on)", res, err)
	}
	c := firstCustomer()
	var want []string
	for _, o := range rigDataset().Orders {
		if o.CustomerID == c {
			want = append(want, o.ID)
		}
	}
	list := func(size int32) []string {
		var got []string
		token := ""
		for {
			resp, err := rig.svc.ListOrders(customerCtx(c), &ordersv1.ListOrdersRequest{PageSize: size, PageToken: token})
			if err != nil {
				t.Fatalf("ListOrders: %v", err)
			}
			for _, o := range resp.GetOrders() {
				got = append(got, o.GetId())
			}
			if token = resp.GetNextPageToken(); token == "" {
				return got
			}
		}
	}
	before := rig.vendorCalls()
	if got := list(2); !slices.Equal(got, want) { // from the platform, while the store reads it whole
		t.Fatalf("first listing = %v, want %v", got, want)
	}
	testkit.Eventually(t, 10*time.Second, "the listing is held whole", func() bool {
		whole, err := rig.svc.listingWhole(customerCtx(c), c, nil)
		return err == nil && whole
	})
	first := rig.vendorCalls() - before
	id, err := rig.sb.PlaceOrder(c, someLines)
	if err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, "the new order is stored", func() bool {
		_, ok, _ := rig.svc.store.get(context.Background(), id)
		return ok
	})
	want = append([]string{id}, want...)
	mid := rig.vendorCalls()
	for _, size := range []int32{1, 5, 100} {
		if got := list(size); !slices.Equal(got, want) {
			t.Errorf("listing at page size %d = %v, want %v", size, got, want)
		}
	}
	later := rig.vendorCalls() - mid
	t.Logf("first listing of %d orders: %d vendor calls; 3 later listings (page sizes 1, 5, 100) after a new order: %d", len(want)-1, first, later)
	if first == 0 || later != 0 {
		t.Errorf("vendor calls: first listing %d, later %d; want some, then 0", first, later)
	}
}
