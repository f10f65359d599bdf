package main

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/retailbridge/retailbridge/services/sandbox/demo"
)

// devStack is one `retailbridge dev` process under measurement.
type devStack struct {
	name      string
	cmd       *exec.Cmd
	gw        string // http://host:port
	pprofAddr string
	dataDir   string
	bin       string
	demo      *demo.Dataset
	tokens    map[string]string // customer id → storefront token
}

// startDev starts `retailbridge dev` with limits that never refuse (the benchmark measures the
// cost of limiting, not its refusals): on redisURL, or on its embedded Redis when it is empty.
func startDev(bin, work, name, redisURL string) (*devStack, error) {
	return startDevLimits(bin, work, name, redisURL, false)
}

// startDevLimits is startDev; with shipped set, the stack keeps the rate limits it ships with
// (configs/rate-limits.yaml) instead.
func startDevLimits(bin, work, name, redisURL string, shipped bool) (*devStack, error) {
	d := &devStack{name: name, bin: bin, dataDir: filepath.Join(work, "data-"+name), pprofAddr: freeAddr()}
	gwAddr := freeAddr()
	limits := filepath.Join(work, "rate-limits.yaml")
	if err := os.WriteFile(limits, []byte("policies:\n"+
		"  storefront/default: {rate: 1000000, period: 1s, burst: 1000000}\n"+
		"  support/default: {rate: 1000000, period: 1s, burst: 1000000}\n"+
		"  partner/default: {rate: 1000000, period: 1s, burst: 1000000}\n"), 0o600); err != nil {
		return nil, err
	}
	d.cmd = exec.Command(bin, "dev", "--http-addr", gwAddr, "--data-dir", d.dataDir)
	// Warm means warm for the whole measurement: orders stay in the read model for an hour
	// instead of the default 30 s, after which the default re-reads each from the Shopify sandbox
	// (whose GraphQL validation then shows up in the profile of a "warm" path).
	d.cmd.Env = append(os.Environ(), "RB_LOG_LEVEL=warn", "RB_PPROF_ADDR="+d.pprofAddr, "RB_ORDER_TTL=1h")
	if !shipped {
		d.cmd.Env = append(d.cmd.Env, "RB_RATE_LIMITS="+limits)
	}
	if redisURL != "" {
		d.cmd.Env = append(d.cmd.Env, "REDIS_URL="+redisURL)
	} else {
		d.cmd.Env = slices.DeleteFunc(d.cmd.Env, func(kv string) bool { return strings.HasPrefix(kv, "REDIS_URL=") })
	}
	d.cmd.Stdout, d.cmd.Stderr = io.Discard, os.Stderr
	if err := d.cmd.Start(); err != nil {
		return nil, err
	}
	d.gw = "http://" + gwAddr
	waitHTTP(d.gw + "/readyz")
	time.Sleep(2 * time.Second)
	// The dev stack's demo data: the same seed and size as `retailbridge dev`.
	d.demo = demo.Generate(20261127, time.Now(), 40, 400)
	d.tokens = map[string]string{}
	for _, c := range d.demo.Customers {
		out, err := exec.Command(bin, "token", "--audience", "storefront", "--customer", c.ID, "--data-dir", d.dataDir).Output()
		if err != nil {
			return nil, fmt.Errorf("token: %w", err)
		}
		d.tokens[c.ID] = strings.TrimSpace(string(out))
	}
	return d, nil
}

var benchClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxIdleConns: 256}, Timeout: 30 * time.Second}

func (d *devStack) eligibility(orderID string) (int, error) {
	o := d.order(orderID)
	req, _ := http.NewRequest(http.MethodPost, d.gw+"/v1/storefront/returns/eligibility", strings.NewReader(`{"order_id":"`+orderID+`"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+d.tokens[o.CustomerID])
	resp, err := benchClient.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

func (d *devStack) order(id string) demo.Order {
	for _, o := range d.demo.Orders {
		if o.ID == id {
			return o
		}
	}
	return demo.Order{}
}

// coldRun checks every order once, at concurrency 8.
func coldRun(d *devStack, cfg config) result {
	var next atomic.Int64
	return load(min(cfg.concurrency, 8), 0, func() (bool, error) {
		i := int(next.Add(1)) - 1
		if i >= len(d.demo.Orders) {
			return false, errDone
		}
		st, err := d.eligibility(d.demo.Orders[i].ID)
		return st == http.StatusOK, err
	})
}

// warmUp reads every order into the read model, so the measured checks are warm.
func warmUp(d *devStack) error {
	var next atomic.Int64
	var failed atomic.Int64
	load(8, 0, func() (bool, error) {
		i := int(next.Add(1)) - 1
		if i >= len(d.demo.Orders) {
			return false, errDone
		}
		st, err := d.eligibility(d.demo.Orders[i].ID)
		if err != nil || st != http.StatusOK {
			failed.Add(1)
		}
		return st == http.StatusOK, err
	})
	if n := failed.Load(); n > 0 {
		return fmt.Errorf("warm-up of %s: %d of %d checks failed", d.name, n, len(d.demo.Orders))
	}
	return nil
}

// benchPath is one measured path: a URL, its wrk script and the process that serves it.
type benchPath struct {
	name, url, script string
	pid               int
	pprofAddr         string
}

func benchPaths(work, bareAddr string, barePID int, shared, embedded *devStack, prefix string) ([]benchPath, error) {
	var paths []benchPath
	add := func(name, url string, pid int, pprofAddr string, reqs []wrkRequest) error {
		script, err := wrkScript(work, fmt.Sprintf("%s-path-%d", shared.name, len(paths)), reqs)
		if pid != barePID && prefix != "" {
			name, pprofAddr = prefix+name, "" // the compared build is measured, not profiled
		}
		paths = append(paths, benchPath{name: name, url: url, script: script, pid: pid, pprofAddr: pprofAddr})
		return err
	}
	if err := add("bare gin JSON handler (baseline)", "http://"+bareAddr, barePID, "",
		[]wrkRequest{{Method: "POST", Path: "/bare", Body: `{"order_id":"5100001"}`}}); err != nil {
		return nil, err
	}
	eligibility := func(d *devStack) []wrkRequest {
		var reqs []wrkRequest
		for _, o := range d.demo.Orders {
			reqs = append(reqs, wrkRequest{Method: "POST", Path: "/v1/storefront/returns/eligibility", Token: d.tokens[o.CustomerID], Body: `{"order_id":"` + o.ID + `"}`})
		}
		return reqs
	}
	if err := add("PF-1 eligibility, warm, REDIS_URL → redis-server", shared.gw, shared.cmd.Process.Pid, shared.pprofAddr, eligibility(shared)); err != nil {
		return nil, err
	}
	if err := add("PF-1 eligibility, warm, as `make run` ships (embedded Redis)", embedded.gw, embedded.cmd.Process.Pid, embedded.pprofAddr, eligibility(embedded)); err != nil {
		return nil, err
	}
	var orders []wrkRequest
	for _, o := range shared.demo.Orders {
		orders = append(orders, wrkRequest{Method: "GET", Path: "/v1/storefront/orders/" + o.ID, Token: shared.tokens[o.CustomerID]})
	}
	if err := add("single order, warm, REDIS_URL", shared.gw, shared.cmd.Process.Pid, shared.pprofAddr, orders); err != nil {
		return nil, err
	}
	// The storefront order list from the order store, once every listing is held whole.
	calls, err := shared.fillListings()
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "bench: order listings held whole; the last fill round cost %d Shopify requests\n", calls)
	if err := add("storefront order list from the order store, page sizes 1–100 mixed, REDIS_URL", shared.gw, shared.cmd.Process.Pid,
		shared.pprofAddr, shared.orderListRequests()); err != nil {
		return nil, err
	}
	// Partner stock reads: a client-credentials token of tenant acme asking for 20 SKUs at a time
	// (available-to-sell over its two locations, less its buffer), read from the inventory
	// ledger in the process store.
	partner, err := partnerToken(shared.bin, shared.dataDir, shared.gw, benchClient)
	if err != nil {
		return nil, err
	}
	var skus []string
	for _, it := range shared.demo.Items {
		if it.Category != "gift_card" {
			skus = append(skus, it.SKU)
		}
	}
	var stock []wrkRequest
	for range 200 {
		q := make([]string, 0, 20)
		for i, start := 0, rand.IntN(len(skus)); i < 20; i++ {
			q = append(q, "skus="+skus[(start+i)%len(skus)])
		}
		stock = append(stock, wrkRequest{Method: "GET", Path: "/v1/partner/inventory/availability?" + strings.Join(q, "&"), Token: partner})
	}
	if err := add("partner availability, 20 SKUs, REDIS_URL", shared.gw, shared.cmd.Process.Pid, shared.pprofAddr, stock); err != nil {
		return nil, err
	}
	return paths, nil
}

// median returns the median of f over rs.
func median(rs []wrkResult, f func(wrkResult) float64) float64 {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	slices.Sort(v)
	if len(v) == 0 {
		return 0
	}
	return v[len(v)/2]
}

func printWarm(machine string, cfg config, rounds int, paths []benchPath, results [][]wrkResult, cold result, idleRSS, peakRSS int64) {
	fmt.Printf("\n## Warm paths (%s; wrk, %d connections, %d interleaved rounds of %s, medians)\n\n", machine, cfg.concurrency, rounds, cfg.duration)
	fmt.Println("| path | req/s | × bare req/s | p50 | p99 | p99 × bare | server CPU/req | wrk CPU/req | non-2xx |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
	bare := results[0]
	bareRPS := median(bare, wrkResult.rps)
	bareP99 := median(bare, func(r wrkResult) float64 { return float64(r.P99) })
	for i, p := range paths {
		rs := results[i]
		rps := median(rs, wrkResult.rps)
		p99 := median(rs, func(r wrkResult) float64 { return float64(r.P99) })
		var non2xx int64
		for _, r := range rs {
			non2xx += r.Non2xx + r.SocketErrors
		}
		fmt.Printf("| %s | %.0f | %.3f× | %s | %s | %.2f× | %.3f ms | %.4f ms | %d |\n", p.name, rps, rps/bareRPS,
			ms(time.Duration(median(rs, func(r wrkResult) float64 { return float64(r.P50) }))), ms(time.Duration(p99)), p99/bareP99,
			median(rs, func(r wrkResult) float64 { return cpuPerRequest(r.ServerCPU, r.Requests) }),
			median(rs, func(r wrkResult) float64 { return cpuPerRequest(r.LoadCPU, r.Requests) }), non2xx)
	}
	fmt.Printf("\nPF-1 eligibility, cold (400 distinct orders, Go client at concurrency 8): %.0f req/s, p50 %s, p99 %s, %d/%d OK\n",
		cold.rps(), ms(cold.p(50)), ms(cold.p(99)), cold.ok, cold.n)
	fmt.Printf("\n| PF-4 memory of `retailbridge dev` (REDIS_URL) | RSS |\n|---|---:|\n| idle | %.1f MB |\n| peak under the warm loads | %.1f MB |\n",
		float64(idleRSS)/1e6, float64(peakRSS)/1e6)
}

// machineLine names the machine and its load at the start: figures are comparable only within
// one run, and only as far as the machine was otherwise idle.
func machineLine() string {
	load, _ := os.ReadFile("/proc/loadavg")
	out, _ := exec.Command("go", "env", "GOVERSION").Output()
	f := strings.Fields(string(load))
	la := "?"
	if len(f) >= 3 {
		la = strings.Join(f[:3], " ")
	}
	return fmt.Sprintf("%s, %d CPUs, %s, load average %s at the start", cpuModel(), runtime.NumCPU(), strings.TrimSpace(string(out)), la)
}
