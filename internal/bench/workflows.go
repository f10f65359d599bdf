package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/retailbridge/retailbridge/services/sandbox/handles"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/retailbridge/retailbridge/internal/stack"
	"github.com/retailbridge/retailbridge/pkg/auth"
	rbconfig "github.com/retailbridge/retailbridge/pkg/config"
	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/workflow"
	"github.com/retailbridge/retailbridge/services/process/returns"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
	"github.com/retailbridge/retailbridge/services/sandbox/faults"
	warehousesb "github.com/retailbridge/retailbridge/services/sandbox/warehouse"
)

// The workflow benchmarks (PF-2, PF-3) boot the whole stack in this process, as the end-to-end
// tests do, and drive returns over HTTP through the gateway from the storefront's side.

// wfStack is a stack booted for a workflow benchmark.
type wfStack struct {
	*stack.Stack
	handles.Set
	dir    string
	dbURL  string // the services' database; empty: SQLite files under dir
	client *http.Client
	tokens map[string]string
	runID  string
	warns  *warnCounter

	explainMu sync.Mutex
	explained map[string]int
}

// warnCounter keeps the first few warnings the stack logs and counts the rest.
type warnCounter struct {
	mu    sync.Mutex
	n     int
	first []string
}

func (w *warnCounter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.n++
	if len(w.first) < 5 {
		w.first = append(w.first, strings.TrimSpace(string(p)))
	}
	return len(p), nil
}

func (w *warnCounter) report(name string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.n == 0 {
		return
	}
	fmt.Fprintf(os.Stderr, "bench: %s: the stack logged %d warnings or errors; the first:\n  %s\n", name, w.n, strings.Join(w.first, "\n  "))
}

// bootWorkflowStack starts every component on loopback with the dev defaults, the test Redis,
// limits that never refuse, the given demo size, all-resellable inspections and vendors whose
// simulated parcels and warehouse move after vendorDelay. Loop's API rate limit (300/min) is
// lifted: the returns platform must not be what is measured.
func bootWorkflowStack(work, name, redisURL string, customers, orders int, vendorDelay time.Duration, mut func(*rbconfig.Config)) (*wfStack, error) {
	dir := filepath.Join(work, name)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	limits := filepath.Join(dir, "rate-limits.yaml")
	if err := os.WriteFile(limits, []byte("policies:\n"+
		"  storefront/default: {rate: 1000000, period: 1s, burst: 1000000}\n"+
		"  support/default: {rate: 1000000, period: 1s, burst: 1000000}\n"+
		"  partner/default: {rate: 1000000, period: 1s, burst: 1000000}\n"), 0o600); err != nil {
		return nil, err
	}
	env := map[string]string{"REDIS_URL": redisURL, "RB_DATA_DIR": filepath.Join(dir, "data"), "RB_RATE_LIMITS": limits}
	cfg, err := rbconfig.Load(func(k string) string { return env[k] })
	if err != nil {
		return nil, err
	}
	if mut != nil {
		mut(&cfg)
	}
	warns := &warnCounter{}
	s, err := stack.Start(context.Background(), stack.Options{
		Config: cfg, Components: stack.All, Ephemeral: true, GatewayAddr: "127.0.0.1:0",
		Logger:      slog.New(slog.NewTextHandler(warns, &slog.HandlerOptions{Level: slog.LevelWarn})),
		FastVendors: true, SandboxSettings: map[string]any{"warehouse": warehousesb.Outcomes{Resellable: 1}},
		DemoCustomers: customers, DemoOrders: orders,
	})
	if err != nil {
		return nil, err
	}
	// FastVendors moves parcels in 50 ms steps and the warehouse in 100–300 ms; the sandboxes'
	// own knobs take them down to vendorDelay (zero would mean "default", so it stays positive).
	sbs := handles.Of(s)
	ls := sbs.Loop.Settings()
	ls.Delays.PreTransit, ls.Delays.InTransit, ls.Delays.OutForDelivery, ls.Delays.Delivered = vendorDelay, vendorDelay, vendorDelay, vendorDelay
	sbs.Loop.Apply(ls)
	ws := sbs.Warehouse.Settings()
	ws.Delays = warehousesb.Delays{Receive: vendorDelay, Inspect: vendorDelay, Acknowledge: vendorDelay, Ship: vendorDelay}
	sbs.Warehouse.Apply(ws)
	sbs.Loop.SetRateLimit(0, 0)

	w := &wfStack{Stack: s, Set: sbs, dir: dir, tokens: map[string]string{}, warns: warns, explained: map[string]int{},
		runID:  strconv.FormatInt(time.Now().UnixNano(), 36),
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 512, MaxIdleConns: 512}, Timeout: 60 * time.Second}}
	now := time.Now()
	for _, c := range s.Demo.Customers {
		tok, err := s.SigningKey.Mint(auth.Claims{RegisteredClaims: jwt.RegisteredClaims{
			Issuer: cfg.Token.Issuer, Audience: jwt.ClaimStrings{cfg.Token.StorefrontAudience}, Subject: c.ID,
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)),
		}, Scope: "orders:read returns:read"})
		if err != nil {
			s.Close()
			return nil, err
		}
		w.tokens[c.ID] = tok
	}
	return w, nil
}

func (w *wfStack) do(method, path, token string, body []byte, key string) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, w.GatewayURL+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// returnRequest is one return to create: the customer and the request body.
type returnRequest struct {
	customer string
	body     []byte
	// repeatsSKU: two of the returned lines are the same SKU (the demo data has such orders).
	repeatsSKU bool
}

// eligibleReturns asks the storefront API, as a customer's order page does, which lines of
// recent delivered orders can be returned by mail, and builds one return per order of every such
// line and unit, until it has need of them.
func (w *wfStack) eligibleReturns(need, concurrency int) ([]returnRequest, error) {
	var cands []demo.Order
	for _, o := range w.Demo.Orders {
		if o.DeliveredAt != nil && time.Since(*o.DeliveredAt) < 28*24*time.Hour && o.FulfillmentModel == demo.ShipToHome &&
			o.FinancialStatus != "REFUNDED" {
			cands = append(cands, o)
		}
	}
	type found struct {
		idx int
		req returnRequest
	}
	var mu sync.Mutex
	var out []found
	var next, ok atomic.Int64
	var firstErr error
	var wg sync.WaitGroup
	for range concurrency {
		wg.Go(func() {
			for ok.Load() < int64(need) {
				i := int(next.Add(1)) - 1
				if i >= len(cands) {
					return
				}
				o := cands[i]
				st, body, err := w.do(http.MethodPost, "/v1/storefront/returns/eligibility", w.tokens[o.CustomerID],
					[]byte(`{"order_id":"`+o.ID+`"}`), "")
				if err == nil && st != http.StatusOK {
					err = fmt.Errorf("eligibility of %s: %d %s", o.ID, st, body)
				}
				var el struct {
					Lines []struct {
						OrderLineID        string   `json:"order_line_id"`
						SKU                string   `json:"sku"`
						ReturnableQuantity int      `json:"returnable_quantity"`
						Eligible           bool     `json:"eligible"`
						Methods            []string `json:"methods"`
					} `json:"lines"`
				}
				if err == nil {
					err = json.Unmarshal(body, &el)
				}
				if err != nil {
					mu.Lock()
					firstErr = errors.Join(firstErr, err)
					mu.Unlock()
					return
				}
				var lines []map[string]any
				skus := map[string]bool{}
				repeats := false
				for _, l := range el.Lines {
					if l.Eligible && l.ReturnableQuantity > 0 && slices.Contains(l.Methods, "RETURN_METHOD_MAIL") {
						repeats = repeats || skus[l.SKU]
						skus[l.SKU] = true
						lines = append(lines, map[string]any{"order_line_id": l.OrderLineID, "quantity": l.ReturnableQuantity,
							"reason": "RETURN_REASON_SIZE_OR_FIT"})
					}
				}
				if len(lines) == 0 {
					continue
				}
				b, _ := json.Marshal(map[string]any{"order_id": o.ID, "method": "RETURN_METHOD_MAIL", "lines": lines})
				mu.Lock()
				out = append(out, found{i, returnRequest{o.CustomerID, b, repeats}})
				mu.Unlock()
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if len(out) < need {
		return nil, fmt.Errorf("only %d of the %d candidate orders have lines returnable by mail; %d needed", len(out), len(cands), need)
	}
	slices.SortFunc(out, func(a, b found) int { return a.idx - b.idx })
	reqs := make([]returnRequest, need)
	for i := range reqs {
		reqs[i] = out[i].req
	}
	return reqs, nil
}

// created is one return the gateway accepted (or refused).
type created struct {
	id      string
	start   time.Time
	latency time.Duration
	status  int
	err     error
	body    string
}

// create posts one return with a fresh Idempotency-Key.
func (w *wfStack) create(i int, r returnRequest) created {
	c := created{start: time.Now()}
	st, body, err := w.do(http.MethodPost, "/v1/storefront/returns", w.tokens[r.customer], r.body, fmt.Sprintf("bench-%s-%d", w.runID, i))
	c.latency, c.status, c.err = time.Since(c.start), st, err
	if err == nil && st == http.StatusOK {
		var resp struct {
			Return struct {
				ID string `json:"id"`
			} `json:"return"`
		}
		if err := json.Unmarshal(body, &resp); err != nil || resp.Return.ID == "" {
			c.err = fmt.Errorf("create answered %s", body)
		}
		c.id = resp.Return.ID
	} else if err == nil {
		c.body = string(body)
	}
	return c
}

// finished is a workflow's end as its durable history records it.
type finished struct {
	state string
	at    time.Time // the transition into the terminal state
}

// waitTerminal waits until every return reached a terminal state, reading the workflow state
// the returns service keeps (a sweep that stops at the first return still moving, so that
// polling stays light), and returns each one's terminal state and time from its history.
func (w *wfStack) waitTerminal(ids []string, timeout time.Duration) (map[string]finished, error) {
	ctx := context.Background()
	out := make(map[string]finished, len(ids))
	pending := slices.Clone(ids)
	deadline := time.Now().Add(timeout)
	check := func(id string) (bool, error) {
		inst, hist, err := w.Returns.State(ctx, id)
		if err != nil {
			return false, err
		}
		if !returns.Terminal(inst.State) {
			return false, nil
		}
		if inst.State != returns.StateRefunded {
			w.explain("ended", inst.ID, inst.State, inst.LastError, hist)
		}
		f := finished{state: inst.State, at: inst.UpdatedAt}
		for _, e := range hist {
			if e.Kind == "transition" && e.State == inst.State {
				f.at = e.At
			}
		}
		out[id] = f
		return true, nil
	}
	for len(pending) > 0 {
		if time.Now().After(deadline) {
			// One last full sweep to say where the rest are.
			stuck := map[string]int{}
			for _, id := range pending {
				done, err := check(id)
				if err != nil {
					return out, err
				}
				if !done {
					inst, hist, _ := w.Returns.State(ctx, id)
					if stuck[inst.State] == 0 {
						w.explain("stuck", inst.ID, inst.State, inst.LastError, hist)
					}
					stuck[inst.State]++
				}
			}
			if len(stuck) > 0 {
				return out, fmt.Errorf("%d returns not finished after %s, by state: %v", len(ids)-len(out), timeout, stuck)
			}
			return out, nil
		}
		i := 0
		for ; i < len(pending); i++ {
			done, err := check(pending[i])
			if err != nil {
				return out, err
			}
			if !done {
				break
			}
		}
		pending = pending[i:]
		if len(pending) > 0 {
			time.Sleep(50 * time.Millisecond)
		}
	}
	return out, nil
}

// explain prints the end of a return's history to stderr (at most a few returns per run).
func (w *wfStack) explain(what, id, state, lastErr string, hist []workflow.Entry) {
	w.explainMu.Lock()
	w.explained[what]++
	n := w.explained[what]
	w.explainMu.Unlock()
	if (what == "ended" && n > 1) || n > 3 {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "bench: return %s %s in %s (last error %q); history:\n", id, what, state, lastErr)
	for _, e := range hist[max(0, len(hist)-12):] {
		fmt.Fprintf(&b, "  %s %-20s %-10s %-16s %s %s\n", e.At.Format("15:04:05.000"), e.State, e.Kind, e.System, e.Description, e.Outcome)
	}
	fmt.Fprint(os.Stderr, b.String())
}

// loadAverage is the machine's 1-minute load average: the runs share the machine.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) > 0 {
		return f[0]
	}
	return "?"
}

// cpuSeconds is this process's user+system CPU time.
func cpuSeconds() float64 {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		s = s[i+1:]
	}
	f := strings.Fields(s)
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[11], 64) // utime: field 14 of the whole line
	st, _ := strconv.ParseFloat(f[12], 64)
	return (u + st) / 100 // USER_HZ
}

// wfEvidence is what the stack's own records say about where a run's time and work went.
type wfEvidence struct {
	steps, stepAttempts   int
	runnerBusy            time.Duration // Σ (finished_at − started_at) of the steps: the runner runs one at a time
	stepTime              map[string]time.Duration
	blocked               map[string]time.Duration // by category, from this process's block profile
	ignoredBy             map[string]int           // ignored signals by name
	inbox, outbox, timers int
	ignored, retries      int
	stateTime             map[string]time.Duration // summed over the returns
	stateCount            map[string]int
	jsMsgs                uint64
	// txs and commits are the returns database's write transactions and database commits
	// over the run (store.DB.Commits): measured, relay marks included.
	txs, commits            uint64
	shopifyPoints, loopReqs int64
	nsRequests              int64
}

// jetStreamMessages counts the messages in the stack's streams.
func (w *wfStack) jetStreamMessages() uint64 {
	nc, err := nats.Connect(w.NATSURL)
	if err != nil {
		return 0
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var n uint64
	for name := range js.StreamNames(ctx).Name() {
		if s, err := js.Stream(ctx, name); err == nil {
			n += s.CachedInfo().State.Msgs
		}
	}
	return n
}

// evidence reads the returns database of a closed stack.
func (w *wfStack) evidence(ev *wfEvidence, ids []string) error {
	ctx := context.Background()
	u := w.dbURL
	if u == "" {
		u = "sqlite:" + filepath.Join(w.dir, "data", "returns.db")
	}
	db, err := store.Open(ctx, u, store.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	one := func(q string, dst *int) error { return db.QueryRow(ctx, q).Scan(dst) }
	for q, dst := range map[string]*int{
		`SELECT COUNT(*) FROM rb_workflow_steps`:                             &ev.steps,
		`SELECT COALESCE(SUM(attempts), 0) FROM rb_workflow_steps`:           &ev.stepAttempts,
		`SELECT COUNT(*) FROM rb_inbox`:                                      &ev.inbox,
		`SELECT COUNT(*) FROM rb_outbox`:                                     &ev.outbox,
		`SELECT COUNT(*) FROM rb_workflow_timers WHERE fired_at IS NOT NULL`: &ev.timers,
		`SELECT COUNT(*) FROM rb_workflow_history WHERE kind = 'ignored'`:    &ev.ignored,
		`SELECT COUNT(*) FROM rb_workflow_history WHERE kind = 'retry'`:      &ev.retries,
	} {
		if err := one(q, dst); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	if ev.ignoredBy, err = ignoredSignals(ctx, db); err != nil {
		return err
	}
	ev.stepTime = map[string]time.Duration{}
	rows, err := db.Query(ctx, `SELECT step, started_at, finished_at FROM rb_workflow_steps WHERE finished_at IS NOT NULL`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var step string
		var a, b time.Time
		if err := rows.Scan(&step, &a, &b); err != nil {
			rows.Close()
			return err
		}
		ev.runnerBusy += b.Sub(a)
		ev.stepTime[step] += b.Sub(a)
	}
	rows.Close()
	ev.stateTime, ev.stateCount = map[string]time.Duration{}, map[string]int{}
	rows, err = db.Query(ctx, `SELECT workflow_id, at, state FROM rb_workflow_history WHERE kind IN ('started', 'transition') ORDER BY workflow_id, seq`)
	if err != nil {
		return err
	}
	var prevID, prevState string
	var prevAt time.Time
	for rows.Next() {
		var id, state string
		var at time.Time
		if err := rows.Scan(&id, &at, &state); err != nil {
			rows.Close()
			return err
		}
		if id == prevID {
			ev.stateTime[prevState] += at.Sub(prevAt)
			ev.stateCount[prevState]++
		}
		prevID, prevState, prevAt = id, state, at
	}
	rows.Close()
	return rows.Err()
}

// ignoredSignals counts the signals the workflows recorded as ignored, by signal name.
func ignoredSignals(ctx context.Context, db *store.DB) (map[string]int, error) {
	out := map[string]int{}
	rows, err := db.Query(ctx, `SELECT description, COUNT(*) FROM rb_workflow_history WHERE kind = 'ignored' GROUP BY description`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var desc string
		var n int
		if err := rows.Scan(&desc, &n); err != nil {
			return nil, err
		}
		name := strings.TrimPrefix(desc, "signal ")
		if i := strings.IndexByte(name, ' '); i > 0 {
			name = name[:i]
		}
		out[name] += n
	}
	return out, rows.Err()
}

// pf2Result is the end-to-end workflow rate.
type pf2Result struct {
	n, concurrency int
	vendorDelay    time.Duration
	accept         result // creation requests
	refused        int
	elapsed        time.Duration   // first request → last return refunded
	completion     []time.Duration // request → refunded, per return
	notRefunded    map[string]int
	load           string // /proc/loadavg's 1-minute figure when the run started
	failedRepeats  int    // not refunded, of the returns whose lines repeat a SKU
	repeats        int    // returns whose lines repeat a SKU
	cpuCores       float64
	dbURL          string // empty: SQLite
	ev             wfEvidence
}

func (r pf2Result) rate() float64 { return float64(len(r.completion)) / r.elapsed.Seconds() }

func (r pf2Result) p(q float64) time.Duration { return result{latencies: r.completion}.p(q) }

// runPF2 creates n returns at a fixed concurrency through the gateway and waits for every one
// to be refunded.
func runPF2(work, redisURL, dbURL string, n, concurrency, customers, orders int, vendorDelay, timeout time.Duration) (pf2Result, error) {
	res := pf2Result{n: n, concurrency: concurrency, vendorDelay: vendorDelay, notRefunded: map[string]int{}, load: loadAverage(), dbURL: dbURL}
	name := "pf2"
	if dbURL != "" {
		name = "pf2-postgres"
	}
	w, err := bootWorkflowStack(work, name, redisURL, customers, orders, vendorDelay, func(c *rbconfig.Config) { c.DatabaseURL = dbURL })
	if err != nil {
		return res, err
	}
	w.dbURL = dbURL
	closed := false
	defer func() {
		if !closed {
			w.Close()
		}
		w.warns.report("PF-2")
	}()
	// Zero-latency, unthrottled vendors: lift the demo shop's Shopify Plus cost budget too, so
	// that what is measured is Retailbridge (the points spent are reported as evidence).
	w.Shopify.SetThrottle(1e12, 1e12)
	reqs, err := w.eligibleReturns(n, 8)
	if err != nil {
		return res, err
	}
	shop0, loop0, ns0 := w.Shopify.Stats().PointsSpent, w.Loop.Stats().Requests, w.NetSuite.Stats().Requests

	runtime.SetBlockProfileRate(int(10 * time.Microsecond))
	defer runtime.SetBlockProfileRate(0)
	blocked0 := blockTotals()
	db := w.Database("returns")
	tx0, c0 := db.Commits()
	cpu0, t0 := cpuSeconds(), time.Now()
	outs := make([]created, n)
	var next atomic.Int64
	res.accept = load(concurrency, 0, func() (bool, error) {
		i := int(next.Add(1)) - 1
		if i >= n {
			return false, errDone
		}
		outs[i] = w.create(i, reqs[i])
		return outs[i].id != "", outs[i].err
	})
	var ids []string
	for _, c := range outs {
		if c.id == "" {
			res.refused++
			if res.refused <= 3 {
				fmt.Fprintf(os.Stderr, "bench: PF-2 create refused: %d %v %s\n", c.status, c.err, c.body)
			}
			continue
		}
		ids = append(ids, c.id)
	}
	fin, werr := w.waitTerminal(ids, timeout)
	end := time.Now()
	tx1, c1 := db.Commits()
	res.ev.txs, res.ev.commits = tx1-tx0, c1-c0
	res.cpuCores = (cpuSeconds() - cpu0) / end.Sub(t0).Seconds()
	res.ev.blocked = blockDelta(blocked0, blockTotals())
	var last time.Time
	for i, c := range outs {
		if reqs[i].repeatsSKU {
			res.repeats++
		}
		f, ok := fin[c.id]
		if c.id == "" || !ok {
			continue
		}
		if f.state != returns.StateRefunded {
			res.notRefunded[f.state]++
			if reqs[i].repeatsSKU {
				res.failedRepeats++
			}
			continue
		}
		res.completion = append(res.completion, f.at.Sub(c.start))
		if f.at.After(last) {
			last = f.at
		}
	}
	slices.Sort(res.completion)
	res.elapsed = last.Sub(t0)
	res.ev.jsMsgs = w.jetStreamMessages()
	res.ev.shopifyPoints = w.Shopify.Stats().PointsSpent - shop0
	res.ev.loopReqs = w.Loop.Stats().Requests - loop0
	res.ev.nsRequests = w.NetSuite.Stats().Requests - ns0
	w.Close()
	closed = true
	if err := w.evidence(&res.ev, ids); err != nil {
		fmt.Fprintln(os.Stderr, "bench: PF-2 evidence:", err)
	}
	if werr != nil {
		return res, werr
	}
	if len(res.completion) == 0 {
		return res, errors.New("no return was refunded")
	}
	return res, nil
}

// pf3Result is the burst against a governed ERP.
type pf3Result struct {
	burst, erpLimit    int
	erpLatency         time.Duration
	shopifyPlus        bool
	load               string
	failedRepeats      int
	repeats            int
	accept             result
	refused            int
	drain              time.Duration // burst start → last return refunded
	refunded           int
	notRefunded        map[string]int
	erpRequests        int64 // NetSuite API requests during the burst and drain
	erpRefused         int64 // answered 429 by the account's concurrency limit (then retried)
	erpMaxInFlight     int64
	shopifyThrottled   int64
	workflowRetries    int
	erpBusyFraction    float64
	erpSandboxBusy     float64 // the sandbox's own Σ request time ÷ (slots × drain)
	erpPeakWindowRate  float64 // highest ERP call rate over a 1 s window
	drainRateWorkflows float64
	// cpuSeconds is this process's CPU time over the drain: on a shared machine, workflows per
	// CPU-second compare runs that got different shares of it.
	cpuSeconds float64
	ev         wfEvidence
}

// erpBudget is the most calls per second the account's concurrency limit admits when every call
// takes the added latency (Little's law).
func (r pf3Result) erpBudget() float64 { return float64(r.erpLimit) / r.erpLatency.Seconds() }

func (r pf3Result) erpRate() float64 {
	if r.drain <= 0 {
		return 0
	}
	return float64(r.erpRequests) / r.drain.Seconds()
}

// runPF3 fires burst return creations at once at a stack whose NetSuite account serves
// erpLimit requests at a time (and Retailbridge's connector is configured with that share),
// each taking erpLatency, then waits for the backlog to drain.
func runPF3(work, redisURL string, burst, erpLimit, customers, orders int, erpLatency, vendorDelay, timeout time.Duration, shopifyPlus bool) (pf3Result, error) {
	res := pf3Result{burst: burst, erpLimit: erpLimit, erpLatency: erpLatency, shopifyPlus: shopifyPlus, notRefunded: map[string]int{}, load: loadAverage()}
	w, err := bootWorkflowStack(work, "pf3", redisURL, customers, orders, vendorDelay, func(c *rbconfig.Config) {
		env := c.Env
		c.Env = func(k string) string {
			if k == "NETSUITE_MAX_CONCURRENCY" {
				return strconv.Itoa(erpLimit)
			}
			return env(k)
		}
	})
	if err != nil {
		return res, err
	}
	closed := false
	defer func() {
		if !closed {
			w.Close()
		}
		w.warns.report("PF-3")
	}()
	w.NetSuite.SetConcurrencyLimit(erpLimit)
	// The ERP is to be the bottleneck: the Shopify cost budget is lifted unless asked for, since
	// every creation re-reads its order (377 requested points) and 160 at once overdraw the demo
	// shop's Plus bucket (10,000 points, 1,000/s).
	if !shopifyPlus {
		w.Shopify.SetThrottle(1e12, 1e12)
	}
	reqs, err := w.eligibleReturns(burst, 8)
	if err != nil {
		return res, err
	}
	w.NetSuite.Faults().Set(faults.Settings{Latency: erpLatency})
	ns0, shop0 := w.NetSuite.Stats(), w.Shopify.Stats()

	// Sample the ERP's request counter to find the peak call rate over any one-second window.
	var samples []struct {
		at time.Time
		n  int64
	}
	sampleCtx, stopSampling := context.WithCancel(context.Background())
	var sampling sync.WaitGroup
	sampling.Go(func() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			samples = append(samples, struct {
				at time.Time
				n  int64
			}{time.Now(), w.NetSuite.Stats().Requests})
			select {
			case <-sampleCtx.Done():
				return
			case <-t.C:
			}
		}
	})

	runtime.SetBlockProfileRate(int(10 * time.Microsecond))
	defer runtime.SetBlockProfileRate(0)
	blocked0 := blockTotals()
	db := w.Database("returns")
	tx0, c0 := db.Commits()
	outs := make([]created, burst)
	gate := make(chan struct{})
	var wg sync.WaitGroup
	for i := range burst {
		wg.Go(func() {
			<-gate
			outs[i] = w.create(i, reqs[i])
		})
	}
	t0, cpu0 := time.Now(), cpuSeconds()
	close(gate)
	wg.Wait()
	var ids []string
	for _, c := range outs {
		res.accept.latencies = append(res.accept.latencies, c.latency)
		res.accept.n++
		if c.id == "" {
			res.refused++
			if res.refused <= 3 {
				fmt.Fprintf(os.Stderr, "bench: PF-3 create refused: %d %v %s\n", c.status, c.err, c.body)
			}
			continue
		}
		res.accept.ok++
		ids = append(ids, c.id)
	}
	res.accept.elapsed = time.Since(t0)
	slices.Sort(res.accept.latencies)

	fin, werr := w.waitTerminal(ids, timeout)
	res.cpuSeconds = cpuSeconds() - cpu0
	res.ev.blocked = blockDelta(blocked0, blockTotals())
	tx1, c1 := db.Commits()
	res.ev.txs, res.ev.commits = tx1-tx0, c1-c0
	stopSampling()
	sampling.Wait()
	var last time.Time
	for i, c := range outs {
		if reqs[i].repeatsSKU {
			res.repeats++
		}
		f, ok := fin[c.id]
		if c.id == "" || !ok {
			continue
		}
		if f.state != returns.StateRefunded {
			res.notRefunded[f.state]++
			if reqs[i].repeatsSKU {
				res.failedRepeats++
			}
			continue
		}
		res.refunded++
		if f.at.After(last) {
			last = f.at
		}
	}
	if res.refunded > 0 {
		res.drain = last.Sub(t0)
	}
	ns := w.NetSuite.Stats()
	res.erpRequests = ns.Requests - ns0.Requests
	res.erpRefused = ns.Refused - ns0.Refused
	res.erpMaxInFlight = ns.MaxInFlight
	if res.drain > 0 {
		res.erpSandboxBusy = float64(ns.BusyNanos-ns0.BusyNanos) / (float64(erpLimit) * float64(res.drain))
	}
	res.shopifyThrottled = w.Shopify.Stats().Throttled - shop0.Throttled
	if res.drain > 0 {
		res.drainRateWorkflows = float64(res.refunded) / res.drain.Seconds()
	}
	for i := range samples {
		for j := i + 1; j < len(samples); j++ {
			if d := samples[j].at.Sub(samples[i].at); d >= time.Second {
				if r := float64(samples[j].n-samples[i].n) / d.Seconds(); r > res.erpPeakWindowRate {
					res.erpPeakWindowRate = r
				}
				break
			}
		}
	}
	// Each call holds a slot for at least the added latency: the fraction of the account's
	// slot-seconds the drain used.
	if res.drain > 0 {
		res.erpBusyFraction = float64(res.erpRequests) * erpLatency.Seconds() / (float64(erpLimit) * res.drain.Seconds())
	}
	res.ev.nsRequests = res.erpRequests
	w.Close()
	closed = true
	if err := w.evidence(&res.ev, ids); err != nil {
		fmt.Fprintln(os.Stderr, "bench: PF-3 evidence:", err)
	}
	res.workflowRetries = res.ev.retries
	if werr != nil {
		return res, werr
	}
	if res.refunded == 0 {
		return res, errors.New("no return was refunded")
	}
	return res, nil
}

// blockedLine says where the runner and the other writers waited, in seconds over wall.
func blockedLine(b map[string]time.Duration, wall time.Duration) string {
	var parts []string
	for _, k := range []string{runnerSQL, runnerRPC, runnerIdle, runnerOther, consumerSQL, relaySQL, relayPublish, createSQL} {
		if d := b[k]; d > 0 {
			parts = append(parts, fmt.Sprintf("%s %s (%.0f%% of the wall time)", k, secs(d), 100*d.Seconds()/wall.Seconds()))
		}
	}
	return strings.Join(parts, "; ")
}

// stateBreakdown lists the states in which returns spent their time, longest first.
func stateBreakdown(ev wfEvidence, n int) string { return breakdown(ev.stateTime, n) }

// breakdown lists durations summed over n returns, longest first, as a mean per return and share.
func breakdown(times map[string]time.Duration, n int) string {
	type st struct {
		name string
		d    time.Duration
	}
	var all []st
	var total time.Duration
	for k, v := range times {
		all = append(all, st{k, v})
		total += v
	}
	sort.Slice(all, func(i, j int) bool { return all[i].d > all[j].d })
	var parts []string
	for _, s := range all {
		if len(parts) == 6 {
			break
		}
		parts = append(parts, fmt.Sprintf("%s %.1f ms (%.0f%%)", s.name, float64(s.d.Microseconds())/1000/float64(max(n, 1)),
			100*float64(s.d)/float64(max(total, 1))))
	}
	return strings.Join(parts, ", ")
}
