package main

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"google.golang.org/protobuf/types/known/timestamppb"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
)

// pushVolumeRow is the storefront push under one movement rate across many SKUs.
type pushVolumeRow struct {
	factor, skus, movements int
	rate                    float64       // movements per second achieved
	asked                   float64       // movements per second the row is for
	feeders                 int           // events applied at once, like the consumer's concurrency
	applyMean               time.Duration // mean time one event's transaction took
	calls                   int64
	lagN                    uint64
	lagP50, lagP99          float64 // upper bounds of the histogram buckets holding them
	drain                   time.Duration
	costMax, costSize       float64
	throttled               int64
}

// benchPushVolume runs the push at the normal movement rate (BENCH_INV_PUSH_RATE, 50/s) and at
// ten times it, each for BENCH_INV_PUSH_SECONDS (20 s) spread over BENCH_INV_PUSH_SKUS (200)
// SKUs at one location, against a Shopify sandbox enforcing Shopify's cost bucket (1,000 points,
// 100 restored per second): calls per 1,000 movements, push lag p50/p99, the most of the bucket
// ever in use and THROTTLED answers (the connector must keep them at 0).
func benchPushVolume(work string) ([]pushVolumeRow, error) {
	var rows []pushVolumeRow
	for _, factor := range []int{1, 10} {
		fmt.Fprintf(os.Stderr, "bench: storefront push at %d× …\n", factor)
		row, err := benchPushAt(work, factor)
		if err != nil {
			return rows, err
		}
		rows = append(rows, row)
	}
	return rows, nil
}

func benchPushAt(work string, factor int) (pushVolumeRow, error) {
	row := pushVolumeRow{factor: factor, skus: envInt("BENCH_INV_PUSH_SKUS", 200)}
	rate := float64(envInt("BENCH_INV_PUSH_RATE", 50) * factor)
	d := time.Duration(envInt("BENCH_INV_PUSH_SECONDS", 20)) * time.Second
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rig, err := newPushRig(ctx, work, fmt.Sprintf("push-%dx", factor))
	if err != nil {
		return row, err
	}
	defer rig.close()
	skus := make([]string, row.skus)
	for i := range skus {
		skus[i] = fmt.Sprintf("VOL-%04d", i)
		rig.sb.AddInventoryItem(skus[i])
	}
	go func() { _ = rig.svc.Run(ctx) }()
	before := rig.sb.Faults().Requests()
	want, err := feedAt(ctx, rig, &row, skus, rate, d)
	if err != nil {
		return row, err
	}
	last := time.Now()
	if err := waitStorefront(rig, want, 5*time.Minute); err != nil {
		return row, err
	}
	row.drain = time.Since(last)
	if err := rig.waitRecorded(ctx, time.Minute); err != nil {
		return row, err
	}
	row.calls = rig.sb.Faults().Requests() - before
	row.lagN, _, row.lagP50, row.lagP99 = histogramFigures(rig.reg, "retailbridge_inventory_push_lag_seconds")
	cs := rig.sb.CostStats()
	row.costMax, row.costSize, row.throttled = cs.MaxUsed, cs.Size, cs.Throttled
	return row, nil
}

// feedAt paces one-unit receipts over skus at rate for d, each applied the way the warehouse
// consumer applies an event (one transaction), by BENCH_INV_PUSH_FEEDERS (default 4, the
// consumer's concurrency) feeders at once. One feeder cannot pass 1/(commit latency): on the
// loaded two-core machine that was about 210 a second, so the 10× row (250/s) fed only 8.4× and
// measured the feeder, not the push. A pacer that falls behind sends the due events at once
// (it never skips one), so the achieved rate says whether ingest kept up.
func feedAt(ctx context.Context, rig *pushRig, row *pushVolumeRow, skus []string, rate float64, d time.Duration) (map[string]int, error) {
	row.asked, row.feeders = rate, envInt("BENCH_INV_PUSH_FEEDERS", 4)
	jobs := make(chan *canonicalv1.Event, 4*row.feeders)
	g, gctx := errgroup.WithContext(ctx)
	var busy atomic.Int64
	for range row.feeders {
		g.Go(func() error {
			for ev := range jobs {
				t0 := time.Now()
				if err := rig.svc.ApplyEvent(gctx, ev); err != nil {
					return err
				}
				busy.Add(int64(time.Since(t0)))
			}
			return nil
		})
	}
	want := make(map[string]int, len(skus))
	start := time.Now()
	for i := 0; time.Since(start) < d && gctx.Err() == nil; i++ {
		due := start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
		time.Sleep(time.Until(due)) // pacing the feed at the rate under test
		sku := skus[(i*7919)%len(skus)]
		jobs <- warehouseEvent(fmt.Sprintf("vol-%d-%d", row.factor, i), &canonicalv1.InventoryAdjustment{Sku: sku, LocationId: "dc-east",
			ToState: canonicalv1.InventoryState_INVENTORY_STATE_SELLABLE, Quantity: 1, SourceRecordId: fmt.Sprintf("V-%d-%d", row.factor, i),
			OccurredAt: timestamppb.Now()})
		want[sku]++
		row.movements++
	}
	close(jobs)
	if err := g.Wait(); err != nil {
		return nil, err
	}
	row.rate = float64(row.movements) / time.Since(start).Seconds()
	row.applyMean = time.Duration(busy.Load() / int64(max(row.movements, 1)))
	return want, nil
}

// waitStorefront polls the sandbox until every SKU shows the units received (the channel has no
// buffer here).
func waitStorefront(rig *pushRig, want map[string]int, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		behind := 0
		for sku, n := range want {
			if q, _ := rig.sb.Available(sku, "61000001"); q != n {
				behind++
			}
		}
		if behind == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d SKUs still behind on the storefront after %s", behind, limit)
		}
		time.Sleep(20 * time.Millisecond) // polling the sandbox: the figures are the pusher's to change
	}
}

func printPushVolume(rows []pushVolumeRow) {
	fmt.Printf("\n## Storefront push under volume (SQLite, many SKUs, Shopify sandbox enforcing the cost bucket)\n\n")
	fmt.Println("| volume | SKUs | movements | movements/s (asked) | feeders | apply mean | calls to Shopify | calls per 1,000 movements | push lag p50 ≤ | p99 ≤ | drain after the last movement | max cost in use / bucket | THROTTLED |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range rows {
		fmt.Printf("| %d× | %d | %d | %.0f (%.0f) | %d | %s | %d | %.1f | %.2f s | %.2f s | %s | %.0f / %.0f | %d |\n", r.factor, r.skus, r.movements, r.rate,
			r.asked, r.feeders, secs(r.applyMean), r.calls, float64(r.calls)*1000/float64(max(r.movements, 1)), r.lagP50, r.lagP99, secs(r.drain), r.costMax, r.costSize, r.throttled)
	}
}
