package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/retailbridge/retailbridge/pkg/store"
)

// runWorkflows runs PF-2 with its raw baselines and PF-3, and prints their tables.
func runWorkflows() error {
	redisURL := os.Getenv("RB_TEST_REDIS_URL")
	if redisURL == "" {
		return errors.New("RB_TEST_REDIS_URL is not set; run `make bench`")
	}
	work, err := os.MkdirTemp("", "rb-bench-wf-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	n := envInt("BENCH_WF_RETURNS", 200)
	conc := envInt("BENCH_WF_CONCURRENCY", 16)
	customers, orders := envInt("BENCH_WF_CUSTOMERS", 200), envInt("BENCH_WF_ORDERS", 2000)
	vendorDelay := envDuration("BENCH_VENDOR_DELAY", 50*time.Millisecond)
	timeout := envDuration("BENCH_WF_TIMEOUT", 60*time.Second)
	erpLimit := envInt("BENCH_ERP_LIMIT", 3)
	erpLatency := envDuration("BENCH_ERP_LATENCY", 10*time.Millisecond)
	shopifyPlus := os.Getenv("BENCH_PF3_SHOPIFY_PLUS") == "1"

	fmt.Fprintln(os.Stderr, "bench: PF-2 …")
	pf2, pf2Err := runPF2(work, redisURL, "", n, conc, customers, orders, vendorDelay, timeout)
	fmt.Fprintln(os.Stderr, "bench: raw JetStream and SQLite …")
	js, jsErr := benchJetStream(work+"/js", 5000, 1000, 100)
	sq1, sq1Err := benchSQLite(work+"/sq1", 1, 2*time.Second, store.Options{})
	sq, sqErr := benchSQLite(work+"/sq8", 8, 2*time.Second, store.Options{})
	sqSerial, sqSerialErr := benchSQLite(work+"/sq8s", 8, 2*time.Second, store.Options{SerialCommits: true})
	fmt.Fprintln(os.Stderr, "bench: PF-3 …")
	pf3, pf3Err := runPF3(work, redisURL, 10*conc, erpLimit, customers, orders, erpLatency, vendorDelay, 2*timeout, shopifyPlus)

	printPF2(pf2, pf2Err, js, jsErr, sq1, sq1Err, sq, sqErr)
	sqRow(sqSerial, sqSerialErr, "the same with the group commit off (store.Options.SerialCommits): one COMMIT and fsync per transaction")
	printPF2Goal("SQLite", pf2, pf2Err, sq1, sq1Err)
	if pf2Err == nil && pf2.cpuCores > 0 {
		// The machine is shared: a run that got a smaller share of it is slower for that alone.
		fmt.Printf("\n**PF-2 per CPU**: %.2f workflows per CPU-second of this process (%.1f workflows/s on %.2f cores).\n",
			pf2.rate()/pf2.cpuCores, pf2.rate(), pf2.cpuCores)
	}
	pgErr := runPF2Postgres(work, redisURL, n, conc, customers, orders, vendorDelay, timeout)
	printPF3(pf3, pf3Err, conc)
	return errors.Join(pf2Err, jsErr, sq1Err, sqErr, sqSerialErr, pgErr, pf3Err)
}

// runPF2Postgres runs PF-2 with every service's state on the PostgreSQL of
// RB_TEST_DATABASE_URL (scripts/with-postgres.sh), next to that server's own commit rate, when
// it is set and BENCH_WF_POSTGRES is not 0.
func runPF2Postgres(work, redisURL string, n, conc, customers, orders int, vendorDelay, timeout time.Duration) error {
	base := os.Getenv("RB_TEST_DATABASE_URL")
	if base == "" || os.Getenv("BENCH_WF_POSTGRES") == "0" {
		return nil
	}
	u, drop, err := pgSchema(base, "rbbench_pf2")
	if err != nil {
		return err
	}
	defer drop()
	fmt.Fprintln(os.Stderr, "bench: PF-2 on PostgreSQL …")
	pf2, pf2Err := runPF2(work, redisURL, u, n, conc, customers, orders, vendorDelay, timeout)
	raw := func(writers int) (rawSQLiteResult, error) {
		ru, rdrop, err := pgSchema(base, "rbbench_raw")
		if err != nil {
			return rawSQLiteResult{writers: writers}, err
		}
		defer rdrop()
		return benchStore(ru, writers, 2*time.Second, store.Options{})
	}
	pg1, pg1Err := raw(1)
	pg8, pg8Err := raw(8)
	fmt.Printf("\n## PF-2 on PostgreSQL (every service's state on one PostgreSQL 15, load average %s at the start)\n\n", pf2.load)
	if pf2Err != nil {
		fmt.Printf("PF-2 on PostgreSQL did not complete: %v\n\n", pf2Err)
	}
	fmt.Println("| run | count | elapsed | rate | p50 | p99 | what bounds it |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---|")
	if len(pf2.completion) > 0 {
		fmt.Printf("| PF-2 return → refunded on PostgreSQL | %d | %s | %.1f workflows/s | %s | %s | %s |\n",
			len(pf2.completion), secs(pf2.elapsed), pf2.rate(), secs(pf2.p(50)), secs(pf2.p(99)), blockedLine(pf2.ev.blocked, pf2.elapsed))
	}
	sqRow(pg1, pg1Err, "one commit at a time: a WAL flush each")
	sqRow(pg8, pg8Err, "eight connections: PostgreSQL's own WAL flushes cover several commits")
	printPF2Goal("PostgreSQL", pf2, pf2Err, pg1, pg1Err)
	return errors.Join(pf2Err, pg1Err, pg8Err)
}

// printPF2Goal states PF-2's goal figure: workflows/s against the store's single-writer commit
// rate ÷ the write transactions one workflow costs, all measured in this run.
func printPF2Goal(engine string, r pf2Result, rerr error, raw rawSQLiteResult, rawErr error) {
	done := len(r.completion)
	if rerr != nil || rawErr != nil || done == 0 {
		return
	}
	ev := r.ev
	txPer := float64(ev.txs) / float64(done)
	ceiling := raw.commits.rate() / max(txPer, 1e-9)
	fmt.Printf("\n**PF-2 goal, %s**: %.1f write transactions per workflow (measured by the store: create, steps, inbox, relay marks, "+
		"timers) in %.1f database commits per workflow (%.2f transactions per commit), %.1f JetStream messages per workflow; "+
		"ceiling %.0f commits/s ÷ %.1f = %.1f workflows/s; measured %.1f workflows/s = **%.0f %% of the ceiling** (goal ≥ 50 %%).\n",
		engine, txPer, float64(ev.commits)/float64(done), float64(ev.txs)/max(float64(ev.commits), 1),
		float64(ev.jsMsgs)/float64(done), raw.commits.rate(), txPer, ceiling, r.rate(), 100*r.rate()/ceiling)
}

// returnsWorkers is the returns runner's worker count in the stack: the engine's default under
// admission (workflow.Options.Admission), which the stack gives it.
const returnsWorkers = 32

func secs(d time.Duration) string {
	if d < time.Second {
		return ms(d)
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

func printPF2(r pf2Result, rerr error, js rawJetStreamResult, jsErr error, sq1 rawSQLiteResult, sq1Err error, sq rawSQLiteResult, sqErr error) {
	fmt.Printf("\n## PF-2 return-to-refund workflows (%s, %d CPUs, %s, load average %s at the start; %d returns at concurrency %d, vendor delays %s)\n\n",
		cpuModel(), runtime.NumCPU(), runtime.Version(), r.load, r.n, r.concurrency, r.vendorDelay)
	if rerr != nil {
		fmt.Printf("PF-2 did not complete: %v\n\n", rerr)
	}
	ev := r.ev
	done := max(len(r.completion), 1)
	fmt.Println("| run | count | elapsed | rate | p50 | p99 | what bounds it |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---|")
	if len(r.completion) > 0 {
		pct := func(k string) float64 { return 100 * ev.blocked[k].Seconds() / r.elapsed.Seconds() }
		fmt.Printf("| PF-2 return → refunded, end to end (request → `refunded`, per return) | %d | %s | %.1f workflows/s | %s | %s | "+
			"the returns service's workflow runner (%d workers, each vendor's steps admitted by its governor's free slots; %d steps per return, %.1f ms each): its workers spent %.0f%% of the run "+
			"(summed over workers) waiting on system API calls, %.0f%% waiting for the single SQLite write connection and the rest running its own transactions "+
			"(fsyncs included), with nothing due %.0f%%; the process used %.2f of %d cores |\n",
			len(r.completion), secs(r.elapsed), r.rate(), secs(r.p(50)), secs(r.p(99)), returnsWorkers,
			ev.stepAttempts/done, float64(ev.runnerBusy.Microseconds())/1000/float64(max(ev.stepAttempts, 1)),
			pct(runnerRPC), pct(runnerSQL), pct(runnerIdle), r.cpuCores, runtime.NumCPU())
		fmt.Printf("| PF-2 accept: POST /v1/storefront/returns → 200, same run | %d | %s | %.1f req/s | %s | %s | "+
			"each creation re-reads its order from Shopify and commits in one SQLite write transaction, queueing for the one write "+
			"connection behind the runner and the event consumers (%s waited in all) |\n",
			r.accept.n, secs(r.accept.elapsed), r.accept.rps(), ms(r.accept.p(50)), ms(r.accept.p(99)), secs(ev.blocked[createSQL]))
	}
	if jsErr == nil {
		fmt.Printf("| raw JetStream publish, async (≤100 unacknowledged, the relay's batch, %d-byte events, Nats-Msg-Id) | %d | %s | %.0f msgs/s | | | "+
			"the server fsyncs every message before acknowledging it (SyncAlways): the window overlaps round trips, not fsyncs |\n",
			js.msgBytes, js.publishAsync.n, secs(js.publishAsync.elapsed), js.publishAsync.rate())
		fmt.Printf("| raw JetStream publish, one at a time (wait for each ack) | %d | %s | %.0f msgs/s | %s | %s | "+
			"one loopback round trip and one fsync per message, nothing overlapped |\n",
			js.publishSync.n, secs(js.publishSync.elapsed), js.publishSync.rate(), ms(js.publishSync.p(50)), ms(js.publishSync.p(99)))
		fmt.Printf("| raw JetStream consume, durable pull consumer, explicit ack | %d | %s | %.0f msgs/s | | | "+
			"no fsync per message on this path: delivery and fire-and-forget acks are bounded by the server's and client's CPU |\n",
			js.consume.n, secs(js.consume.elapsed), js.consume.rate())
	} else {
		fmt.Printf("| raw JetStream | | | failed: %v | | | |\n", jsErr)
	}
	sqRow(sq1, sq1Err, "one commit at a time: a WAL append and an fsync each")
	sqRow(sq, sqErr, "the one write connection runs them one after another; the group commit lets those queued share a COMMIT")
	if len(r.completion) == 0 {
		return
	}
	writeTx := int(ev.txs) // measured by the store over the run
	fmt.Printf("\nPer return, from the stack's own records: %d workflow steps (%.1f ms each on average), "+
		"%.1f events consumed through the inbox, %.1f outbox events, %.1f JetStream messages stored, "+
		"%.1f write transactions on the returns database (counted by pkg/store over the run, relay marks included) in %.1f database commits, "+
		"%.1f NetSuite requests, %.0f Shopify cost points, %.1f Loop requests; %d vendor signals ignored (arrived in a state that does not expect them: %v), %d step retries.\n",
		ev.stepAttempts/done, float64(ev.runnerBusy.Microseconds())/1000/float64(max(ev.stepAttempts, 1)),
		float64(ev.inbox)/float64(done), float64(ev.outbox)/float64(done), float64(ev.jsMsgs)/float64(done),
		float64(writeTx)/float64(done), float64(ev.commits)/float64(done), float64(ev.nsRequests)/float64(done), float64(ev.shopifyPoints)/float64(done),
		float64(ev.loopReqs)/float64(done), ev.ignored, ev.ignoredBy, ev.retries)
	if sq1Err == nil && jsErr == nil {
		fmt.Printf("Ceilings these imply: SQLite %.0f workflows/s (raw single-writer commit rate ÷ write transactions per return), "+
			"JetStream %.0f workflows/s (raw async publish rate ÷ messages per return), the runner %.0f workflows/s (%d workers: "+
			"workers × returns ÷ Σ step time); measured %.1f.\n",
			sq1.commits.rate()*float64(done)/float64(max(writeTx, 1)), js.publishAsync.rate()*float64(done)/float64(max(ev.jsMsgs, 1)),
			returnsWorkers*float64(done)/max(ev.runnerBusy.Seconds(), 1e-9), returnsWorkers, r.rate())
	}
	fmt.Printf("Blocked time over the %s run (block profile of this process, summed over goroutines, so shares above 100%% mean "+
		"several workers waited at once): %s.\n", secs(r.elapsed), blockedLine(ev.blocked, r.elapsed))
	fmt.Printf("Vendor ceilings lifted for this run: Loop's 300 requests/min would allow %.1f returns/s, the demo shop's Shopify Plus "+
		"restore of 1,000 points/s %.0f returns/s.\n", 300.0/60/max(float64(ev.loopReqs)/float64(done), 0.01),
		1000/max(float64(ev.shopifyPoints)/float64(done), 0.01))
	fmt.Printf("Where a return's time went, by state (mean per return, share): %s. The median return took %.0f%% of the whole run: "+
		"the runner takes due steps oldest first, so each return's next step queues behind every other return's and they finish together.\n",
		stateBreakdown(ev, done), 100*r.p(50).Seconds()/r.elapsed.Seconds())
	fmt.Printf("Where the runner's time went, by step (mean per return, share): %s.\n", breakdown(ev.stepTime, done))
	if len(r.notRefunded) > 0 || r.refused > 0 {
		fmt.Printf("Not refunded: %v (%d of them among the %d returns whose lines repeat a SKU); creations refused: %d.\n",
			r.notRefunded, r.failedRepeats, r.repeats, r.refused)
	}
}

func printPF3(r pf3Result, rerr error, conc int) {
	fmt.Printf("\n## PF-3 burst against a governed ERP (%d return creations at once = 10× PF-2's concurrency %d; "+
		"NetSuite account limit %d concurrent requests, connector share %d, %s added to every NetSuite request; %s; load average %s at the start)\n\n",
		r.burst, conc, r.erpLimit, r.erpLimit, r.erpLatency,
		map[bool]string{true: "Shopify Plus cost budget", false: "Shopify cost budget lifted"}[r.shopifyPlus], r.load)
	if rerr != nil {
		fmt.Printf("PF-3 did not complete: %v\n\n", rerr)
	}
	if r.accept.n == 0 {
		return
	}
	fmt.Println("| measure | value | against |")
	fmt.Println("|---|---:|---|")
	fmt.Printf("| accepted (200) / refused | %d / %d | %d sent at once |\n", r.accept.ok, r.refused, r.burst)
	fmt.Printf("| accept latency p50 / p99 / max | %s / %s / %s | |\n", ms(r.accept.p(50)), ms(r.accept.p(99)),
		ms(r.accept.latencies[len(r.accept.latencies)-1]))
	fmt.Printf("| drain: burst start → last return refunded | %s | %d of %d refunded, %.1f workflows/s |\n",
		secs(r.drain), r.refunded, r.accept.ok, r.drainRateWorkflows)
	fmt.Printf("| ERP max in-flight requests (sandbox, whole run) | %d | limit %d |\n", r.erpMaxInFlight, r.erpLimit)
	fmt.Printf("| ERP call rate during the drain, mean / peak 1 s window | %.1f / %.1f calls/s | budget %.0f calls/s (limit %d ÷ %s per call) |\n",
		r.erpRate(), r.erpPeakWindowRate, r.erpBudget(), r.erpLimit, r.erpLatency)
	fmt.Printf("| ERP slot occupancy during the drain | %.0f%% | of %d slots × drain time, counting the added %s per call |\n", 100*r.erpBusyFraction, r.erpLimit, r.erpLatency)
	fmt.Printf("| ERP slots busy as the sandbox saw them | %.0f%% | Σ time its admitted requests were in progress ÷ (%d slots × drain time) |\n", 100*r.erpSandboxBusy, r.erpLimit)
	ideal := time.Duration(float64(r.erpRequests) / r.erpBudget() * float64(time.Second))
	fmt.Printf("| **PF-3 goal**: drain ÷ ideal (ERP requests ÷ budget) | **%.2f×** | ideal %s = %d requests ÷ %.0f calls/s; goal ≤ 1.10× |\n",
		r.drain.Seconds()/max(ideal.Seconds(), 1e-9), secs(ideal), r.erpRequests, r.erpBudget())
	if r.drain > 0 && r.cpuSeconds > 0 {
		fmt.Printf("| process CPU during the drain / returns refunded per CPU-second | %.2f cores / %.2f | the whole stack runs in this process |\n",
			r.cpuSeconds/r.drain.Seconds(), float64(r.refunded)/r.cpuSeconds)
	}
	fmt.Printf("| returns database: write transactions / commits per return | %.1f / %.1f | |\n",
		float64(r.ev.txs)/float64(max(r.refunded, 1)), float64(r.ev.commits)/float64(max(r.refunded, 1)))
	fmt.Printf("| ERP requests refused by the account limit (429, retried by the connector) | %d | of %d requests |\n", r.erpRefused, r.erpRequests)
	fmt.Printf("| workflow step retries / Shopify THROTTLED answers during the burst | %d / %d | |\n", r.workflowRetries, r.shopifyThrottled)
	fmt.Printf("| workflow runner busy during the drain (Σ step time over %d workers) | %.0f%% | %s of %s |\n",
		returnsWorkers, 100*r.ev.runnerBusy.Seconds()/max(r.drain.Seconds(), 1e-9), secs(r.ev.runnerBusy), secs(r.drain))
	if len(r.notRefunded) > 0 {
		fmt.Printf("| not refunded, by state | %v | %d among the %d returns whose lines repeat a SKU |\n", r.notRefunded, r.failedRepeats, r.repeats)
	}
	fmt.Printf("\nWhat bounds the drain: the ERP's concurrency limit and the SQLite single writer; the runner's workers (summed) spent %.0f%% of the drain "+
		"waiting on system API calls and %.0f%% waiting for the SQLite write connection, and the ERP saw at most %d of its %d slots busy "+
		"and %.0f%% of its call budget; accepting is separate from the runner and finished in %s.\n",
		100*r.ev.blocked[runnerRPC].Seconds()/max(r.drain.Seconds(), 1e-9), 100*r.ev.blocked[runnerSQL].Seconds()/max(r.drain.Seconds(), 1e-9),
		r.erpMaxInFlight, r.erpLimit, 100*r.erpRate()/r.erpBudget(), secs(r.accept.elapsed))
	fmt.Printf("Blocked time over the %s drain (block profile of this process): %s.\n", secs(r.drain), blockedLine(r.ev.blocked, max(r.drain, time.Millisecond)))
	fmt.Printf("Where a return's time went, by state (mean per return, share): %s.\n", stateBreakdown(r.ev, max(r.refunded, 1)))
	fmt.Printf("Where the runner's time went, by step (mean per return, share): %s.\n", breakdown(r.ev.stepTime, max(r.refunded, 1)))
}

func envDuration(k string, def time.Duration) time.Duration {
	if v, err := time.ParseDuration(os.Getenv(k)); err == nil && v > 0 {
		return v
	}
	return def
}

// sqRow prints one raw commit-rate row.
func sqRow(sq rawSQLiteResult, err error, why string) {
	if err != nil {
		fmt.Printf("| raw store commits | | | failed: %v | | | |\n", err)
		return
	}
	grouped := ""
	if sq.dbCommits > 0 && sq.commits.n > 0 {
		grouped = fmt.Sprintf(" (%.2f transactions per database commit)", float64(sq.commits.n)/float64(sq.dbCommits))
	}
	fmt.Printf("| raw commits, pkg/store (%s, %s): single-row INSERT transactions from %d goroutine(s) | %d | %s | %.0f tx/s | %s | %s | %s%s |\n",
		sq.journal, sq.syncMode, sq.writers, sq.commits.n, secs(sq.commits.elapsed), sq.commits.rate(), ms(sq.commits.p(50)), ms(sq.commits.p(99)), why, grouped)
}
