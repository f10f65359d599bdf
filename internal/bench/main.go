// Command bench measures Retailbridge against a baseline in the same run on the same machine:
//
//	PF-1  return eligibility through the full stack (gateway with JWT and Redis rate limiting →
//	      returns process → commerce and ERP system APIs → sandboxes), cold (every order read
//	      from the vendor) and warm (read model), next to a bare gin JSON handler;
//	PF-4  resident memory of `retailbridge dev` idle and under the PF-1 load;
//
//	PF-2  return-to-refund workflows completed per second end to end (the whole stack in this
//	      process, parcels and warehouse moving in 50 ms, vendor API limits lifted), next to the
//	      raw JetStream publish/consume rate and the raw SQLite commit rate measured in the same
//	      run, with what the stack's records and this process's block profile say bounds it;
//	PF-3  a burst of ten times PF-2's concurrency of return creations against an ERP whose
//	      concurrency limit is low and whose every call is slow: accept latency, drain time, and
//	      the ERP's observed concurrency and call rate against its budget;
//
// plus a CPU profile of the dev process under warm load. It needs RB_TEST_REDIS_URL (make bench
// starts a real redis-server) and prints Markdown tables.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/retailbridge/retailbridge/services/sandbox/demo"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "bare" {
		serveBare(os.Args[2])
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "inventory" {
		// The inventory ledger only (`make bench-inventory`).
		if err := runInventory(); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "workflows" {
		// PF-2 and PF-3 only (`go run ./internal/bench workflows` under scripts/with-redis.sh).
		if err := runWorkflows(); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// serveBare is the baseline: gin decoding a small JSON body and answering JSON, nothing else.
func serveBare(addr string) {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.POST("/bare", func(c *gin.Context) {
		var in struct {
			OrderID string `json:"order_id"`
		}
		if err := c.ShouldBindJSON(&in); err != nil {
			c.AbortWithStatus(http.StatusBadRequest)
			return
		}
		c.JSON(http.StatusOK, gin.H{"order_id": in.OrderID, "eligible": true, "reason": "REASON_UNSPECIFIED"})
	})
	_ = http.ListenAndServe(addr, r)
}

type config struct {
	concurrency int
	duration    time.Duration
}

func run() error {
	redisURL := os.Getenv("RB_TEST_REDIS_URL")
	if redisURL == "" {
		return errors.New("RB_TEST_REDIS_URL is not set; run `make bench`")
	}
	cfg := config{concurrency: envInt("BENCH_CONCURRENCY", 32), duration: time.Duration(envInt("BENCH_SECONDS", 10)) * time.Second}
	work, err := os.MkdirTemp("", "rb-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	bin := filepath.Join(work, "retailbridge")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		return fmt.Errorf("build: %v\n%s", err, out)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}

	// Baseline.
	bareAddr := freeAddr()
	bare := exec.Command(self, "bare", bareAddr)
	if err := bare.Start(); err != nil {
		return err
	}
	defer stop(bare)
	waitHTTP("http://" + bareAddr + "/bare")

	// Full stack.
	gwAddr, pprofAddr := freeAddr(), freeAddr()
	dataDir := filepath.Join(work, "data")
	// The limiter runs on every request (a Redis round trip) with limits high enough never to
	// refuse: the benchmark measures the cost of limiting, not its refusals.
	limits := filepath.Join(work, "rate-limits.yaml")
	if err := os.WriteFile(limits, []byte("policies:\n"+
		"  storefront/default: {rate: 1000000, period: 1s, burst: 1000000}\n"+
		"  support/default: {rate: 1000000, period: 1s, burst: 1000000}\n"+
		"  partner/default: {rate: 1000000, period: 1s, burst: 1000000}\n"), 0o600); err != nil {
		return err
	}
	dev := exec.Command(bin, "dev", "--http-addr", gwAddr, "--data-dir", dataDir)
	dev.Env = append(os.Environ(), "REDIS_URL="+redisURL, "RB_LOG_LEVEL=warn", "RB_PPROF_ADDR="+pprofAddr,
		"RB_RATE_LIMITS="+limits)
	dev.Stdout, dev.Stderr = io.Discard, os.Stderr
	if err := dev.Start(); err != nil {
		return err
	}
	defer stop(dev)
	gw := "http://" + gwAddr
	waitHTTP(gw + "/readyz")
	time.Sleep(2 * time.Second)
	idleRSS := rss(dev.Process.Pid)

	// The dev stack's demo data: the same seed and size as `retailbridge dev`.
	ds := demo.Generate(20261127, time.Now(), 40, 400)
	tokens := map[string]string{}
	for _, c := range ds.Customers {
		out, err := exec.Command(bin, "token", "--audience", "storefront", "--customer", c.ID, "--data-dir", dataDir).Output()
		if err != nil {
			return fmt.Errorf("token: %w", err)
		}
		tokens[c.ID] = strings.TrimSpace(string(out))
	}
	type target struct{ token, body string }
	var targets []target
	for _, o := range ds.Orders {
		targets = append(targets, target{tokens[o.CustomerID], `{"order_id":"` + o.ID + `"}`})
	}

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxIdleConns: 256}, Timeout: 30 * time.Second}
	post := func(url, token, body string) (int, error) {
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}

	// Cold: every order read for the first time (vendor round trips, Shopify throttle obeyed).
	var next atomic.Int64
	cold := load(min(cfg.concurrency, 8), 0, func() (bool, error) {
		i := int(next.Add(1)) - 1
		if i >= len(targets) {
			return false, errDone
		}
		st, err := post(gw+"/v1/storefront/returns/eligibility", targets[i].token, targets[i].body)
		return st == http.StatusOK, err
	})

	bareRes := load(cfg.concurrency, cfg.duration, func() (bool, error) {
		st, err := post("http://"+bareAddr+"/bare", "", `{"order_id":"5100001"}`)
		return st == http.StatusOK, err
	})

	var peak atomic.Int64
	sampler, cancelSampler := context.WithCancel(context.Background())
	go func() {
		for sampler.Err() == nil {
			if r := rss(dev.Process.Pid); r > peak.Load() {
				peak.Store(r)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	profPath := filepath.Join(work, "cpu.pprof")
	go func() {
		time.Sleep(cfg.duration / 4)
		_ = fetch(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", pprofAddr, max(int(cfg.duration.Seconds()/2), 1)), profPath)
	}()
	warm := load(cfg.concurrency, cfg.duration, func() (bool, error) {
		t := targets[rand.IntN(len(targets))]
		st, err := post(gw+"/v1/storefront/returns/eligibility", t.token, t.body)
		return st == http.StatusOK, err
	})
	time.Sleep(time.Second)
	cancelSampler()

	// Partner stock reads: a client-credentials token of tenant acme asking for 20 SKUs at a time
	// (available-to-sell over its two locations, less its buffer), read from the inventory
	// ledger in the process store.
	partner, err := partnerToken(bin, dataDir, gw, client)
	if err != nil {
		return err
	}
	var skus []string
	for _, it := range ds.Items {
		if it.Category != "gift_card" {
			skus = append(skus, it.SKU)
		}
	}
	get := func(url, token string) (int, error) {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	stock := load(cfg.concurrency, cfg.duration, func() (bool, error) {
		q := make([]string, 0, 20)
		for i, start := 0, rand.IntN(len(skus)); i < 20; i++ {
			q = append(q, "skus="+skus[(start+i)%len(skus)])
		}
		st, err := get(gw+"/v1/partner/inventory/availability?"+strings.Join(q, "&"), partner)
		return st == http.StatusOK, err
	})

	host, _ := os.Hostname()
	_ = host
	fmt.Printf("\n## Benchmarks (%s, %d CPUs, %s, concurrency %d, %s per run)\n\n", cpuModel(), runtime.NumCPU(), runtime.Version(), cfg.concurrency, cfg.duration)
	fmt.Println("| run | requests | ok | req/s | p50 | p99 | ratio to bare req/s | p99 ratio |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---:|")
	row := func(name string, r result) {
		fmt.Printf("| %s | %d | %d | %.0f | %s | %s | %.3f | %.2f |\n", name, r.n, r.ok, r.rps(), ms(r.p(50)), ms(r.p(99)),
			r.rps()/bareRes.rps(), float64(r.p(99))/float64(bareRes.p(99)))
	}
	row("bare gin JSON handler (baseline)", bareRes)
	row("PF-1 eligibility, warm (read model)", warm)
	row("PF-1 eligibility, cold (vendor round trip, concurrency 8)", cold)
	row("partner availability, 20 SKUs (client-credentials token, from the ledger)", stock)
	fmt.Printf("\n| PF-4 memory of `retailbridge dev` | RSS |\n|---|---:|\n| idle | %.1f MB |\n| peak under warm load | %.1f MB |\n",
		float64(idleRSS)/1e6, float64(peak.Load())/1e6)
	if out, err := exec.Command("go", "tool", "pprof", "-top", "-cum", "-nodecount=40", bin, profPath).CombinedOutput(); err == nil {
		fmt.Printf("\nCPU profile of `retailbridge dev` under warm load (top 40, cumulative):\n\n```\n%s```\n", trimProfile(out))
	} else {
		fmt.Fprintf(os.Stderr, "pprof: %v %s\n", err, out)
	}
	// The workflow benchmarks boot their own stack in this process: stop the others first.
	stop(dev)
	stop(bare)
	return runWorkflows()
}

// partnerToken registers an acme client with the CLI, as an operator would, and takes a token
// from the OAuth 2.0 token endpoint.
func partnerToken(bin, dataDir, gw string, client *http.Client) (string, error) {
	out, err := exec.Command(bin, "clients", "create", "--data-dir", dataDir, "--tenant", "acme", "--scopes", "inventory:read").Output()
	if err != nil {
		return "", fmt.Errorf("clients create: %w", err)
	}
	var id, secret string
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(line, "client_id:"); ok {
			id = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(line, "client_secret:"); ok {
			secret = strings.TrimSpace(v)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, gw+"/oauth/token", strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, secret)
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		return "", fmt.Errorf("token endpoint: %d %v", resp.StatusCode, err)
	}
	return tok.AccessToken, nil
}

var errDone = errors.New("done")

type result struct {
	n, ok     int
	elapsed   time.Duration
	latencies []time.Duration
}

func (r result) rps() float64 { return float64(r.n) / r.elapsed.Seconds() }

func (r result) p(q float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	return r.latencies[min(len(r.latencies)-1, int(float64(len(r.latencies))*q/100))]
}

// load runs fn from workers until d passes (or fn says done when d is 0).
func load(workers int, d time.Duration, fn func() (bool, error)) result {
	var mu sync.Mutex
	var res result
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			var lat []time.Duration
			n, ok := 0, 0
			for d == 0 || time.Now().Before(deadline) {
				t := time.Now()
				good, err := fn()
				if errors.Is(err, errDone) {
					break
				}
				lat = append(lat, time.Since(t))
				n++
				if good && err == nil {
					ok++
				}
			}
			mu.Lock()
			res.n += n
			res.ok += ok
			res.latencies = append(res.latencies, lat...)
			mu.Unlock()
		})
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	slices.Sort(res.latencies)
	return res
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

func rss(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb * 1000
		}
	}
	return 0
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "model name") {
			if _, v, ok := strings.Cut(l, ":"); ok {
				return strings.TrimSpace(v)
			}
		}
	}
	return runtime.GOARCH
}

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func waitHTTP(url string) {
	for i := 0; i < 600; i++ {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode < 500 || resp.StatusCode == http.StatusMethodNotAllowed {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func fetch(url, path string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(f, resp.Body)
	return err
}

func stop(c *exec.Cmd) {
	if c.Process != nil {
		_ = c.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = c.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = c.Process.Kill()
		}
	}
}

func trimProfile(out []byte) string {
	lines := strings.Split(string(out), "\n")
	for i, l := range lines {
		if strings.Contains(l, "flat%") {
			return strings.Join(lines[max(0, i-2):], "\n")
		}
	}
	return string(out)
}

func envInt(k string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(k)); err == nil && v > 0 {
		return v
	}
	return def
}
