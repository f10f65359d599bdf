package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
)

// pushVolumeRow is the storefront push under one movement rate across many SKUs.
type pushVolumeRow struct {
	factor, skus, movements int
	rate                    float64 // movements per second achieved
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
	want := make(map[string]int, len(skus))
	start := time.Now()
	for i := 0; time.Since(start) < d; i++ {
		due := start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
		time.Sleep(time.Until(due)) // pacing the feed at the rate under test
		sku := skus[(i*7919)%len(skus)]
		ev := warehouseEvent(fmt.Sprintf("vol-%d-%d", factor, i), &canonicalv1.InventoryAdjustment{Sku: sku, LocationId: "dc-east",
			ToState: canonicalv1.InventoryState_INVENTORY_STATE_SELLABLE, Quantity: 1, SourceRecordId: fmt.Sprintf("V-%d-%d", factor, i),
			OccurredAt: timestamppb.Now()})
		if err := rig.svc.ApplyEvent(ctx, ev); err != nil {
			return row, err
		}
		want[sku]++
		row.movements++
	}
	row.rate = float64(row.movements) / time.Since(start).Seconds()
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
	fmt.Println("| volume | SKUs | movements | movements/s | calls to Shopify | calls per 1,000 movements | push lag p50 ≤ | p99 ≤ | drain after the last movement | max cost in use / bucket | THROTTLED |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range rows {
		fmt.Printf("| %d× | %d | %d | %.0f | %d | %.1f | %.2f s | %.2f s | %s | %.0f / %.0f | %d |\n", r.factor, r.skus, r.movements, r.rate,
			r.calls, float64(r.calls)*1000/float64(max(r.movements, 1)), r.lagP50, r.lagP99, secs(r.drain), r.costMax, r.costSize, r.throttled)
	}
}
