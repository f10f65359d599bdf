package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/auth"
	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/events"
	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/services/process/inventory"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	inventoryv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/inventory/v1"
)

// inventoryRow is one engine's inventory figures.
type inventoryRow struct {
	engine                string
	commits               rawSQLiteResult // SQLite only: the store's raw commit rate
	movements             int
	movementsElapsed      time.Duration
	reserveN, granted     int64
	reserveElapsed        time.Duration
	reserveLat            []time.Duration
	concurrency, replicas int
}

// runInventory measures the inventory ledger on SQLite, and on PostgreSQL when
// RB_TEST_DATABASE_URL is set (scripts/with-postgres.sh): movements ingested per second next to
// the store's raw commit rate, and reservation throughput and latency with every request on one
// hot SKU through two replicas sharing the store.
func runInventory() error {
	work, err := os.MkdirTemp("", "rb-bench-inv-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	if os.Getenv("BENCH_INV_ONLY") == "push-volume" { // just the push under volume (its own comparison runs)
		volume, err := benchPushVolume(work)
		printPushVolume(volume)
		return err
	}
	conc := envInt("BENCH_INV_CONCURRENCY", 64)
	d := envDuration("BENCH_INV_DURATION", 5*time.Second)
	moves := envInt("BENCH_INV_MOVEMENTS", 2000)
	urls := map[string]string{"sqlite": "sqlite:" + filepath.Join(work, "inventory.db")}
	if pg := os.Getenv("RB_TEST_DATABASE_URL"); pg != "" {
		urls["postgres"] = pg
	}
	var rows []inventoryRow
	var errsAll error
	for _, engine := range []string{"sqlite", "postgres"} {
		u, ok := urls[engine]
		if !ok {
			continue
		}
		fmt.Fprintf(os.Stderr, "bench: inventory on %s …\n", engine)
		row, err := benchInventory(engine, u, conc, d, moves)
		if engine == "sqlite" {
			row.commits, _ = benchSQLite(filepath.Join(work, "raw"), conc, 2*time.Second, store.Options{})
		}
		errsAll = errors.Join(errsAll, err)
		rows = append(rows, row)
	}
	printInventory(rows)
	fmt.Fprintf(os.Stderr, "bench: storefront push …\n")
	push, err := benchPush(work)
	if err == nil {
		printPush(push)
	}
	volume, verr := benchPushVolume(work)
	if len(volume) > 0 {
		printPushVolume(volume)
	}
	return errors.Join(errsAll, err, verr)
}

func benchInventory(engine, url string, conc int, d time.Duration, moves int) (inventoryRow, error) {
	row := inventoryRow{engine: engine, concurrency: conc, replicas: 2}
	ctx := context.Background()
	var svcs []*inventory.Service
	for range row.replicas {
		db, err := store.Open(ctx, url, store.Options{})
		if err != nil {
			return row, err
		}
		defer db.Close()
		svc, err := inventory.New(inventory.Config{}, inventory.Deps{DB: db})
		if err != nil {
			return row, err
		}
		svcs = append(svcs, svc)
	}
	// Movements: receipts of one unit each, one transaction per event (the consumer's shape).
	start := time.Now()
	for i := range moves {
		if err := svcs[i%2].ApplyEvent(ctx, receiptEvent(engine, i)); err != nil {
			return row, err
		}
	}
	row.movements, row.movementsElapsed = moves, time.Since(start)
	// Stock the hot SKU with more units than the run can take, then hold one unit per request.
	if err := svcs[0].ApplyEvent(ctx, stockEvent(engine, 10_000_000)); err != nil {
		return row, err
	}
	pctx := auth.WithPrincipal(ctx, auth.Principal{Audience: auth.Support, Subject: "bench"})
	var next, granted atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	deadline := time.Now().Add(d)
	start = time.Now()
	var firstErr error
	for w := range conc {
		wg.Go(func() {
			var lat []time.Duration
			for time.Now().Before(deadline) {
				i := next.Add(1)
				t := time.Now()
				_, err := svcs[w%2].Reserve(pctx, &inventoryv1.ReserveRequest{OrderId: fmt.Sprintf("B-%d", i), Sku: "HOT",
					Quantity: 1, IdempotencyKey: fmt.Sprintf("%s-%d", engine, i), LocationId: "dc-east"})
				lat = append(lat, time.Since(t))
				if err == nil {
					granted.Add(1)
				} else if e := errs.FromError(err); e.Reason != "insufficient_stock" {
					mu.Lock()
					firstErr = errors.Join(firstErr, err)
					mu.Unlock()
					return
				}
			}
			mu.Lock()
			row.reserveLat = append(row.reserveLat, lat...)
			mu.Unlock()
		})
	}
	wg.Wait()
	row.reserveElapsed = time.Since(start)
	row.reserveN, row.granted = int64(len(row.reserveLat)), granted.Load()
	sort.Slice(row.reserveLat, func(i, j int) bool { return row.reserveLat[i] < row.reserveLat[j] })
	return row, firstErr
}

func receiptEvent(engine string, i int) *canonicalv1.Event {
	sku := fmt.Sprintf("SKU-%03d", i%200)
	return warehouseEvent(fmt.Sprintf("%s-mv-%d", engine, i), &canonicalv1.InventoryAdjustment{Sku: sku, LocationId: "dc-east",
		ToState: canonicalv1.InventoryState_INVENTORY_STATE_SELLABLE, Quantity: 1, SourceRecordId: fmt.Sprintf("MV-%d", i),
		OccurredAt: timestamppb.Now()})
}

func stockEvent(engine string, n int64) *canonicalv1.Event {
	return warehouseEvent(engine+"-hot", &canonicalv1.InventoryAdjustment{Sku: "HOT", LocationId: "dc-east",
		ToState: canonicalv1.InventoryState_INVENTORY_STATE_SELLABLE, Quantity: n, SourceRecordId: "HOT-STOCK", OccurredAt: timestamppb.Now()})
}

func warehouseEvent(id string, adj *canonicalv1.InventoryAdjustment) *canonicalv1.Event {
	data, _ := anypb.New(adj)
	return &canonicalv1.Event{Id: id, Source: "retailbridge/system/wms", SpecVersion: 1, Time: timestamppb.Now(), Data: data,
		Type: events.TypeName(canonicalv1.EventType_EVENT_TYPE_WMS_INVENTORY_RECEIVED)}
}

func printInventory(rows []inventoryRow) {
	fmt.Printf("\n## Inventory ledger (%s, %d CPUs, %s)\n\n", cpuModel(), runtime.NumCPU(), runtime.Version())
	fmt.Println("| engine | run | count | elapsed | rate | p50 | p99 |")
	fmt.Println("|---|---|---:|---:|---:|---:|---:|")
	for _, r := range rows {
		if c := r.commits.commits; c.n > 0 {
			fmt.Printf("| %s | raw commits (baseline: one-row insert transactions, %d writers) | %d | %s | %.0f/s | %s | %s |\n",
				r.engine, r.commits.writers, c.n, secs(c.elapsed), c.rate(), ms(c.p(50)), ms(c.p(99)))
		}
		fmt.Printf("| %s | movements ingested (one receipt per transaction, 2 replicas, sequential) | %d | %s | %.0f/s | | |\n",
			r.engine, r.movements, secs(r.movementsElapsed), float64(r.movements)/r.movementsElapsed.Seconds())
		p := func(q float64) time.Duration {
			if len(r.reserveLat) == 0 {
				return 0
			}
			return r.reserveLat[min(len(r.reserveLat)-1, int(q/100*float64(len(r.reserveLat))))]
		}
		fmt.Printf("| %s | Reserve on one hot SKU (%d concurrent, 2 replicas, %d granted) | %d | %s | %.0f/s | %s | %s |\n",
			r.engine, r.concurrency, r.granted, r.reserveN, secs(r.reserveElapsed), float64(r.reserveN)/r.reserveElapsed.Seconds(), ms(p(50)), ms(p(99)))
	}
}
