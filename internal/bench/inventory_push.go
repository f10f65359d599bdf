package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http/httptest"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/grpcx"
	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/services/process/inventory"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
	shopifysb "github.com/retailbridge/retailbridge/services/sandbox/shopify"
	"github.com/retailbridge/retailbridge/services/system/commerce"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	commercev1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/commerce/v1"
)

// pushRow is the storefront push's figures for one burst on one SKU.
type pushRow struct {
	movements      int
	calls          int64
	burst          time.Duration // ingesting the movements
	settle         time.Duration // last movement → the storefront shows the final figure
	lagN           uint64
	lagMean        float64
	lagP50, lagP99 float64 // upper bounds of the histogram buckets holding them
}

// benchPush ingests BENCH_INV_PUSH_MOVEMENTS (1,000) movements on one SKU on SQLite while the
// pusher runs against the real commerce system API over the Shopify sandbox (gRPC between), and
// counts the calls Shopify received and the push lag the pusher observed.
func benchPush(work string) (pushRow, error) {
	row := pushRow{movements: envInt("BENCH_INV_PUSH_MOVEMENTS", 1000)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sb := shopifysb.New(demo.Generate(1, time.Now(), 2, 2), shopifysb.Options{})
	srv := httptest.NewServer(sb)
	defer srv.Close()
	cs, err := commerce.New(commerce.Config{Connection: &commerce.ShopifyConfig{BaseURL: srv.URL, AccessToken: shopifysb.DefaultAccessToken}},
		commerce.Deps{HTTPClient: srv.Client()})
	if err != nil {
		return row, err
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return row, err
	}
	gs := grpcx.NewServer(grpcx.ServerDeps{Logger: slog.New(slog.DiscardHandler)})
	commercev1.RegisterCommerceServiceServer(gs.Server, cs)
	go func() { _ = gs.Serve(ctx, lis) }()
	conn, err := grpcx.Dial(lis.Addr().String(), grpcx.DialDeps{})
	if err != nil {
		return row, err
	}
	defer conn.Close()
	db, err := store.Open(ctx, "sqlite:"+filepath.Join(work, "push.db"), store.Options{})
	if err != nil {
		return row, err
	}
	defer db.Close()
	reg := prometheus.NewRegistry()
	svc, err := inventory.New(inventory.Config{SnapshotEvery: -1, Push: inventory.PushConfig{Locations: map[string]string{"dc-east": "61000001"}}},
		inventory.Deps{DB: db, Commerce: commercev1.NewCommerceServiceClient(conn), Metrics: reg})
	if err != nil {
		return row, err
	}
	sb.AddInventoryItem("PUSHED")
	go func() { _ = svc.Run(ctx) }()
	before := sb.Faults().Requests()
	start := time.Now()
	for i := range row.movements {
		ev := warehouseEvent(fmt.Sprintf("push-%d", i), &canonicalv1.InventoryAdjustment{Sku: "PUSHED", LocationId: "dc-east",
			ToState: canonicalv1.InventoryState_INVENTORY_STATE_SELLABLE, Quantity: 1, SourceRecordId: fmt.Sprintf("P-%d", i),
			OccurredAt: timestamppb.Now()})
		if err := svc.ApplyEvent(ctx, ev); err != nil {
			return row, err
		}
	}
	row.burst = time.Since(start)
	last := time.Now()
	for q, _ := sb.Available("PUSHED", "61000001"); q != row.movements; q, _ = sb.Available("PUSHED", "61000001") {
		if time.Since(last) > time.Minute {
			return row, fmt.Errorf("the storefront shows %d after a minute, want %d", q, row.movements)
		}
		time.Sleep(5 * time.Millisecond) // polling the sandbox: the figure is the pusher's to change
	}
	row.settle = time.Since(last)
	row.calls = sb.Faults().Requests() - before
	row.lagN, row.lagMean, row.lagP50, row.lagP99 = histogramFigures(reg, "retailbridge_inventory_push_lag_seconds")
	return row, nil
}

// histogramFigures reads a histogram's count, mean and the bucket bounds holding p50 and p99.
func histogramFigures(reg *prometheus.Registry, name string) (n uint64, mean, p50, p99 float64) {
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() != name || len(mf.GetMetric()) == 0 {
			continue
		}
		h := mf.GetMetric()[0].GetHistogram()
		n = h.GetSampleCount()
		if n == 0 {
			return
		}
		mean = h.GetSampleSum() / float64(n)
		for _, b := range h.GetBucket() {
			if p50 == 0 && float64(b.GetCumulativeCount()) >= 0.5*float64(n) {
				p50 = b.GetUpperBound()
			}
			if p99 == 0 && float64(b.GetCumulativeCount()) >= 0.99*float64(n) {
				p99 = b.GetUpperBound()
			}
		}
	}
	return
}

func printPush(r pushRow) {
	fmt.Printf("\n## Storefront push (SQLite, Shopify sandbox through the commerce system API)\n\n")
	fmt.Println("| movements on one SKU | ingest | calls to Shopify | last movement → storefront | pushes | push lag mean | p50 ≤ | p99 ≤ |")
	fmt.Println("|---:|---:|---:|---:|---:|---:|---:|---:|")
	fmt.Printf("| %d | %s | %d | %s | %d | %.2f s | %.2f s | %.2f s |\n", r.movements, secs(r.burst), r.calls, secs(r.settle),
		r.lagN, r.lagMean, r.lagP50, r.lagP99)
}
