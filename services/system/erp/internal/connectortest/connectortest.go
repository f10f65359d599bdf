// Package connectortest is the conformance suite every ERP connector passes against its vendor's
// sandbox, in the manner of go-cloud's drivertest: the suite owns the scenarios and the
// expectations, a vendor package supplies a Start function that boots its sandbox and connects.
// Read scenarios map and look up items; write scenarios walk a return from authorisation to
// credit memo, repeat every write (in a row, at once, after a lost answer) expecting one record
// per key, and put the vendor into maintenance in the middle of a burst.
package connectortest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/errs"
	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
	"github.com/retailbridge/retailbridge/pkg/money"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
	"github.com/retailbridge/retailbridge/services/system/erp"
)

// Sandbox is a running vendor sandbox serving a demo catalogue, with the knobs the suite turns.
// Its items carry prices in USD and were last modified at the dataset's Now, to the second.
type Sandbox interface {
	// Connect returns a connector to this sandbox.
	Connect(tb testing.TB, o Options) erp.Connector
	// SetLatency delays every answer.
	SetLatency(d time.Duration)
	// SetMaintenance starts or ends a maintenance window announced with retryAfter.
	SetMaintenance(on bool, retryAfter time.Duration)
	// SetConcurrencyLimit sets how many requests the vendor account serves at once.
	SetConcurrencyLimit(n int)
	// SetAsyncDelay makes the vendor take d to complete each asynchronous write.
	SetAsyncDelay(d time.Duration)
	// Stage is where the record of kind (Record…) with the vendor id is; StageUnknown when the
	// vendor has no such record.
	Stage(kind, id string) Stage
	// Stats counts what the sandbox saw.
	Stats() Stats
	// SetOnHand makes the vendor book quantity units of sku at location, as an adjustment keyed
	// in the ERP by hand would.
	SetOnHand(sku, location string, quantity int64)
	// LocationID is the vendor's own id of a demo (ledger) location: the sandbox books stock
	// under its own location ids, which the connector returns as they are.
	LocationID(location string) string
}

// Options shape the connector a scenario asks for.
type Options struct {
	// MaxConcurrency is the connector's cap on requests in flight (its default when zero).
	MaxConcurrency int
	// WrongSecret makes the connector sign with a secret the sandbox does not know.
	WrongSecret bool
}

// Stats is what the sandbox counted.
type Stats struct {
	// Requests is how many vendor API requests arrived.
	Requests int64
	// Refused is how many the account's concurrency limit turned away.
	Refused int64
	// MaxInFlight is the most requests in progress at once, counting the ones refused.
	MaxInFlight int64
	// Maintenance is how many requests were answered with a maintenance window's 503.
	Maintenance int64
	// Created counts the records writes created, by kind (Record…).
	Created map[string]int64
}

// Start boots a sandbox serving ds until tb ends.
type Start func(tb testing.TB, ds *demo.Dataset) Sandbox

// catalogueSize is enough items for the fan-out scenarios to ask for 60 distinct SKUs.
const catalogueSize = 64

// Now is the dataset clock the suite uses.
var Now = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

// Catalogue returns the demo dataset, its catalogue extended to catalogueSize items.
func Catalogue(tb testing.TB) *demo.Dataset {
	tb.Helper()
	ds := demo.Generate(7, Now, 3, 3)
	base := len(ds.Items)
	for i := 0; len(ds.Items) < catalogueSize; i++ {
		it := ds.Items[i%base]
		it.SKU = fmt.Sprintf("XTR-%03d", i)
		it.ERPID = fmt.Sprintf("%d", 3000+len(ds.Items))
		ds.Items = append(ds.Items, it)
	}
	return ds
}

// Run runs every scenario against sandboxes from start.
func Run(t *testing.T, start Start) {
	t.Run("ReadOnly", func(t *testing.T) {
		t.Parallel()
		ds := Catalogue(t)
		sb := start(t, ds)
		runReadOnly(t, ds, sb.Connect(t, Options{}))
	})
	t.Run("Balances", func(t *testing.T) { t.Parallel(); testBalances(t, start) })
	t.Run("WrongSecret", func(t *testing.T) { t.Parallel(); testWrongSecret(t, start) })
	t.Run("Maintenance", func(t *testing.T) { t.Parallel(); testMaintenance(t, start) })
	t.Run("Deadline", func(t *testing.T) { t.Parallel(); testDeadline(t, start) })
	t.Run("ConcurrencyWithinLimit", func(t *testing.T) { t.Parallel(); testConcurrencyWithinLimit(t, start) })
	t.Run("ConcurrencyOverLimit", func(t *testing.T) { t.Parallel(); testConcurrencyOverLimit(t, start) })
	runWrites(t, start)
}

// runReadOnly checks mapping and lookups; the scenarios share one sandbox.
func runReadOnly(t *testing.T, ds *demo.Dataset, c erp.Connector) {
	kinds := []struct {
		name string
		pick func(demo.Item) bool
	}{
		{"plain returnable", func(it demo.Item) bool {
			return it.Returnable && !it.FinalSale && it.WindowDays == 0 && it.Category == "apparel"
		}},
		{"final sale", func(it demo.Item) bool { return it.FinalSale }},
		{"non-returnable category", func(it demo.Item) bool { return !it.Returnable && it.Category == "beauty" }},
		{"gift card", func(it demo.Item) bool { return it.Category == "gift_card" }},
		{"custom return window", func(it demo.Item) bool { return it.WindowDays > 0 }},
	}
	for _, k := range kinds {
		t.Run("Maps "+k.name, func(t *testing.T) {
			t.Parallel()
			it := pick(t, ds, k.pick)
			found, missing := getItems(t, c, it.SKU)
			if len(missing) != 0 {
				t.Errorf("missing = %v; want none", missing)
			}
			if diff := cmp.Diff([]*erpv1.Item{WantItem(ds, it)}, found, protocmp.Transform()); diff != "" {
				t.Errorf("GetItems(%s) mismatch (-want +got):\n%s", it.SKU, diff)
			}
		})
	}
	t.Run("Maps every demo item", func(t *testing.T) {
		t.Parallel()
		skus := make([]string, 0, len(ds.Items))
		want := make([]*erpv1.Item, 0, len(ds.Items))
		for _, it := range ds.Items {
			skus = append(skus, it.SKU)
			want = append(want, WantItem(ds, it))
		}
		found, missing := getItems(t, c, skus...)
		if len(missing) != 0 {
			t.Errorf("missing = %v; want none", missing)
		}
		sortBySKU(found)
		sortBySKU(want)
		if diff := cmp.Diff(want, found, protocmp.Transform()); diff != "" {
			t.Errorf("GetItems(all) mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("Unknown SKU is missing", func(t *testing.T) {
		t.Parallel()
		a, b := ds.Items[0], ds.Items[1]
		found, missing := getItems(t, c, a.SKU, "NOPE-404", b.SKU)
		if diff := cmp.Diff([]string{"NOPE-404"}, missing); diff != "" {
			t.Errorf("missing mismatch (-want +got):\n%s", diff)
		}
		sortBySKU(found)
		want := []*erpv1.Item{WantItem(ds, a), WantItem(ds, b)}
		sortBySKU(want)
		if diff := cmp.Diff(want, found, protocmp.Transform()); diff != "" {
			t.Errorf("found mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("Only unknown SKUs", func(t *testing.T) {
		t.Parallel()
		found, missing := getItems(t, c, "NOPE-1", "NOPE-2")
		if len(found) != 0 {
			t.Errorf("found %d items; want none", len(found))
		}
		slices.Sort(missing)
		if diff := cmp.Diff([]string{"NOPE-1", "NOPE-2"}, missing); diff != "" {
			t.Errorf("missing mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("No SKUs", func(t *testing.T) {
		t.Parallel()
		found, missing := getItems(t, c)
		if len(found) != 0 || len(missing) != 0 {
			t.Errorf("got %d found, %d missing; want nothing", len(found), len(missing))
		}
	})
	t.Run("Ready", func(t *testing.T) {
		t.Parallel()
		if err := c.Ready(ctxFor(t, 5*time.Second)); err != nil {
			t.Errorf("Ready: %v; want nil", err)
		}
	})
}

func testWrongSecret(t *testing.T, start Start) {
	ds := Catalogue(t)
	c := start(t, ds).Connect(t, Options{WrongSecret: true})
	_, _, err := c.GetItems(ctxFor(t, 5*time.Second), []string{ds.Items[0].SKU})
	WantErr(t, err, errs.Unavailable, "vendor_auth_failed")
	WantErr(t, c.Ready(ctxFor(t, 5*time.Second)), errs.Unavailable, "vendor_auth_failed")
}

func testMaintenance(t *testing.T, start Start) {
	const maxConcurrency = 4
	ds := Catalogue(t)
	sb := start(t, ds)
	c := sb.Connect(t, Options{MaxConcurrency: maxConcurrency})
	sb.SetMaintenance(true, 30*time.Second)
	skus := skusOf(ds, 20)

	_, _, err := c.GetItems(ctxFor(t, 5*time.Second), skus)
	e := WantErr(t, err, errs.Unavailable, "erp_maintenance")
	if e != nil && (e.RetryAfter < 29*time.Second || e.RetryAfter > 30*time.Second) {
		t.Errorf("RetryAfter = %v; want the announced 30s", e.RetryAfter)
	}
	// Lookups cancelled by the first failure may still be arriving at the sandbox.
	first := settledRequests(sb)
	if first > maxConcurrency {
		t.Errorf("sandbox saw %d requests for one call in maintenance; want at most %d (fail fast)", first, maxConcurrency)
	}

	// Within the announced window the connector does not call the vendor again.
	_, _, err = c.GetItems(ctxFor(t, 5*time.Second), skus)
	e = WantErr(t, err, errs.Unavailable, "erp_maintenance")
	if e != nil && (e.RetryAfter <= 0 || e.RetryAfter > 30*time.Second) {
		t.Errorf("second call RetryAfter = %v; want what is left of 30s", e.RetryAfter)
	}
	if got := settledRequests(sb); got != first {
		t.Errorf("sandbox saw %d more requests during the announced window; want none", got-first)
	}
}

func testDeadline(t *testing.T, start Start) {
	ds := Catalogue(t)
	sb := start(t, ds)
	c := sb.Connect(t, Options{})
	sb.SetLatency(3 * time.Second)
	const deadline = 150 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	began := time.Now()
	_, _, err := c.GetItems(ctx, skusOf(ds, 3))
	took := time.Since(began)
	WantErr(t, err, errs.DeadlineExceeded, "vendor_timeout")
	if took > deadline+time.Second {
		t.Errorf("GetItems returned after %v; want soon after the %v deadline", took, deadline)
	}
}

func testConcurrencyWithinLimit(t *testing.T, start Start) {
	ds := Catalogue(t)
	sb := start(t, ds)
	sb.SetConcurrencyLimit(5)
	sb.SetLatency(20 * time.Millisecond)
	c := sb.Connect(t, Options{MaxConcurrency: 5})
	skus := skusOf(ds, 60)

	found, missing := getItems(t, c, skus...)
	if len(found) != len(skus) || len(missing) != 0 {
		t.Errorf("got %d found, %d missing; want all %d found", len(found), len(missing), len(skus))
	}
	st := sb.Stats()
	t.Logf("sandbox: %d requests, max %d in flight, %d refused", st.Requests, st.MaxInFlight, st.Refused)
	if st.MaxInFlight > 5 {
		t.Errorf("sandbox saw %d requests in flight; want at most the connector's 5", st.MaxInFlight)
	}
	if st.MaxInFlight < 2 {
		t.Errorf("sandbox saw at most %d request in flight; want lookups fanned out", st.MaxInFlight)
	}
	if st.Refused != 0 {
		t.Errorf("sandbox refused %d requests; want none when the connector stays under the limit", st.Refused)
	}
}

func testConcurrencyOverLimit(t *testing.T, start Start) {
	ds := Catalogue(t)
	sb := start(t, ds)
	sb.SetConcurrencyLimit(3)
	sb.SetLatency(20 * time.Millisecond)
	c := sb.Connect(t, Options{MaxConcurrency: 8})
	skus := skusOf(ds, 60)

	found, missing := getItems(t, c, skus...)
	if len(found) != len(skus) || len(missing) != 0 {
		t.Errorf("got %d found, %d missing; want all %d found", len(found), len(missing), len(skus))
	}
	st := sb.Stats()
	msg := fmt.Sprintf("sandbox: %d requests for %d SKUs, max %d in flight, %d refused with 429",
		st.Requests, len(skus), st.MaxInFlight, st.Refused)
	if r, ok := c.(interface{ Retries() int64 }); ok {
		msg += fmt.Sprintf("; connector retried %d times", r.Retries())
	}
	t.Log(msg)
	if st.Refused == 0 {
		t.Errorf("sandbox refused nothing; want 429s from a limit of 3 under 8 concurrent lookups")
	}
	if got, want := st.Requests, int64(len(skus))+st.Refused; got != want {
		t.Errorf("sandbox saw %d requests; want one per SKU plus one retry per refusal = %d", got, want)
	}
}

// WantItem is the canonical item a connector must return for a demo item.
func WantItem(ds *demo.Dataset, it demo.Item) *erpv1.Item {
	return &erpv1.Item{
		Sku:              it.SKU,
		ErpId:            it.ERPID,
		DisplayName:      it.Title,
		Category:         it.Category,
		Returnable:       it.Returnable,
		ReturnWindowDays: int32(it.WindowDays),
		FinalSale:        it.FinalSale,
		BasePrice:        money.New(it.PriceMinor, "USD"),
		UpdatedAt:        timestamppb.New(ds.Now.UTC().Truncate(time.Second)),
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

func getItems(tb testing.TB, c erp.Connector, skus ...string) ([]*erpv1.Item, []string) {
	tb.Helper()
	found, missing, err := c.GetItems(ctxFor(tb, 10*time.Second), skus)
	if err != nil {
		tb.Fatalf("GetItems(%d SKUs): %v", len(skus), err)
	}
	return found, missing
}

func ctxFor(tb testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	tb.Cleanup(cancel)
	return ctx
}

func pick(tb testing.TB, ds *demo.Dataset, pred func(demo.Item) bool) demo.Item {
	tb.Helper()
	for _, it := range ds.Items {
		if pred(it) {
			return it
		}
	}
	tb.Fatalf("the demo catalogue has no such item")
	return demo.Item{}
}

func skusOf(ds *demo.Dataset, n int) []string {
	skus := make([]string, n)
	for i := range skus {
		skus[i] = ds.Items[i].SKU
	}
	return skus
}

// settledRequests waits until the sandbox's request count stops moving and returns it.
func settledRequests(sb Sandbox) int64 {
	n := sb.Stats().Requests
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
		m := sb.Stats().Requests
		if m == n {
			break
		}
		n = m
	}
	return n
}

func sortBySKU(items []*erpv1.Item) {
	slices.SortFunc(items, func(a, b *erpv1.Item) int { return strings.Compare(a.GetSku(), b.GetSku()) })
}
