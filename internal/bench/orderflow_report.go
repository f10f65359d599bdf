package main

import (
	"errors"
	"fmt"
	"github.com/retailbridge/retailbridge/pkg/store"
	"os"
	"runtime"
	"time"
)

// runOrders runs the order-to-cash figures with the raw SQLite baseline of the same run
// (`go run ./internal/bench orders` under scripts/with-redis.sh; part of `make bench`).
func runOrders() error {
	redisURL := os.Getenv("RB_TEST_REDIS_URL")
	if redisURL == "" {
		return errors.New("RB_TEST_REDIS_URL is not set; run `make bench`")
	}
	work, err := os.MkdirTemp("", "rb-bench-o2c-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	n := envInt("BENCH_O2C_ORDERS", 100)
	conc := envInt("BENCH_O2C_CONCURRENCY", 16)
	customers, ordersN := envInt("BENCH_WF_CUSTOMERS", 200), envInt("BENCH_WF_ORDERS", 2000)
	vendorDelay := envDuration("BENCH_VENDOR_DELAY", 50*time.Millisecond)
	timeout := envDuration("BENCH_O2C_TIMEOUT", 8*time.Minute)
	erpLimit, erpRate := envInt("BENCH_ERP_LIMIT", 3), envInt("BENCH_O2C_ERP_RATE", 50)
	erpLatency := envDuration("BENCH_ERP_LATENCY", 10*time.Millisecond)

	fmt.Fprintln(os.Stderr, "bench: order-to-cash …")
	flow, flowErr := runOrderFlow(work, redisURL, n, conc, customers, ordersN, vendorDelay, timeout)
	sq1, sq1Err := benchSQLite(work+"/sq1", 1, 2*time.Second, store.Options{})
	fmt.Fprintln(os.Stderr, "bench: order burst through an ERP maintenance window …")
	burst, burstErr := runOrderBurst(work, redisURL, 10*conc, erpLimit, erpRate, customers, ordersN, erpLatency, vendorDelay, timeout)
	printOrders(flow, flowErr, sq1, sq1Err, burst, burstErr)
	return errors.Join(flowErr, sq1Err, burstErr)
}

func printOrders(f orderFlowResult, ferr error, sq1 rawSQLiteResult, sqErr error, b orderBurstResult, berr error) {
	fmt.Printf("\n### Order-to-cash (%d cores, %s, load average %s at the start)\n\n", runtime.NumCPU(), runtime.GOARCH, f.load)
	if ferr != nil {
		fmt.Printf("Run error: %v\n\n", ferr)
	}
	fmt.Println("| what | figure | baseline in the same run |")
	fmt.Println("|---|---|---|")
	sqRate := 0.0
	if sqErr == nil {
		sqRate = sq1.commits.rate()
	}
	fmt.Printf("| orders webhook → invoiced (%d orders, %d checkouts at a time; %d completed) | %.2f orders/s over %s | raw SQLite %.0f commits/s, one writer |\n",
		f.n, f.concurrency, len(f.toCompleted), f.rate(), secs(f.elapsed), sqRate)
	fmt.Printf("| write transactions per order (orders database, lower bound) | %.1f | ceiling they imply: %.0f orders/s |\n",
		f.writeTx(), sqRate/max(f.writeTx(), 1))
	fmt.Printf("| webhook → ERP sales order | p50 %s, p99 %s | |\n", ms(pct(f.toSalesOrder, 50)), ms(pct(f.toSalesOrder, 99)))
	fmt.Printf("| webhook → shipped | p50 %s, p99 %s | |\n", ms(pct(f.toShipped, 50)), ms(pct(f.toShipped, 99)))
	fmt.Printf("| webhook → completed (invoiced) | p50 %s, p99 %s | |\n", ms(pct(f.toCompleted, 50)), ms(pct(f.toCompleted, 99)))
	fmt.Printf("| webhook accept (gateway answer to Shopify) | p50 %s, p99 %s, %d of %d 2xx | |\n",
		ms(f.accept.p(50)), ms(f.accept.p(99)), f.accept.ok, f.accept.n)
	if len(f.notCompleted) > 0 {
		fmt.Printf("\nNot completed, by state: %v; step retries %d.\n", f.notCompleted, f.retries)
	}
	fmt.Printf("\n### Order burst through an ERP maintenance window (load average %s at the start)\n\n", b.load)
	if berr != nil {
		fmt.Printf("Run error: %v\n\n", berr)
	}
	expected := float64(b.drainCalls) / max(b.budget(), 1e-9)
	fmt.Println("| what | figure | against |")
	fmt.Println("|---|---|---|")
	fmt.Printf("| burst of orders while NetSuite answers 503 + Retry-After | %d, accept p99 %s, %d of %d 2xx | Shopify's ~5 s webhook timeout |\n",
		b.burst, ms(b.accept.p(99)), b.accept.ok, b.accept.n)
	fmt.Printf("| ERP calls while it was down | %d | %d orders parked |\n", b.windowCalls, b.burst)
	fmt.Printf("| drain: window end → last sales order | %s, %d ERP calls | backlog ÷ budget = %d calls ÷ %.0f/s = %s |\n",
		secs(b.drain), b.drainCalls, b.drainCalls, b.budget(), secs(time.Duration(expected*float64(time.Second))))
	fmt.Printf("| sales orders created | %d | %d orders (duplicates %d) |\n", b.salesOrders, b.burst, max(0, b.salesOrders-int64(b.burst)))
	fmt.Printf("| ERP max in flight (at the sandbox) | %d | limit %d |\n", b.maxInFlight, b.erpLimit)
	fmt.Printf("| ERP peak calls/s over any 1 s (at the sandbox) | %.1f | governor rate %d/s; %d × 429 |\n", b.peakRate, b.erpRate, b.refused)
}

// pct is the q-th percentile of sorted durations.
func pct(sorted []time.Duration, q float64) time.Duration { return result{latencies: sorted}.p(q) }
