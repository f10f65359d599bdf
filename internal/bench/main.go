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
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
	if len(os.Args) > 1 && os.Args[1] == "orders" {
		// The order-to-cash figures only (`go run ./internal/bench orders` under scripts/with-redis.sh).
		if err := runOrders(); err != nil {
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
	if len(os.Args) > 1 && os.Args[1] == "mixed" {
		// The mixed storefront load and the noisy neighbour (`scripts/bench.sh mixed`).
		if err := runMixed(); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	// `warm`: the HTTP paths and memory only (scripts/bench.sh warm).
	warmOnly := len(os.Args) > 1 && os.Args[1] == "warm"
	if err := run(warmOnly); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// serveBare is the baseline: gin decoding a small JSON body and answering JSON, nothing else.
func serveBare(addr string) {
	_ = http.ListenAndServe(addr, bareHandler())
}

func bareHandler() http.Handler {
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
	return r
}

type config struct {
	concurrency int
	duration    time.Duration
}

func run(warmOnly bool) error {
	redisURL := os.Getenv("RB_TEST_REDIS_URL")
	if redisURL == "" {
		return errors.New("RB_TEST_REDIS_URL is not set; run `make bench`")
	}
	cfg := config{concurrency: envInt("BENCH_CONCURRENCY", 32), duration: time.Duration(envInt("BENCH_SECONDS", 10)) * time.Second}
	rounds := envInt("BENCH_ROUNDS", 3)
	machine := machineLine()
	work, err := os.MkdirTemp("", "rb-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	bin := filepath.Join(work, "retailbridge")
	if b := os.Getenv("BENCH_BIN"); b != "" {
		bin = b // another build (an earlier commit's) measured by this harness
	} else if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
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

	// Full stacks: one on the real Redis (REDIS_URL), one as `make run` ships (embedded Redis).
	shared, err := startDev(bin, work, "redis", redisURL)
	if err != nil {
		return err
	}
	defer stop(shared.cmd)
	embedded, err := startDev(bin, work, "embedded", "")
	if err != nil {
		return err
	}
	defer stop(embedded.cmd)
	idleRSS := rss(shared.cmd.Process.Pid)

	// Cold: every order checked for the first time (vendor round trips, Shopify throttle obeyed),
	// with a Go client at concurrency 8: the vendors bound it, not the load generator.
	cold := coldRun(shared, cfg)
	if err := warmUp(embedded); err != nil {
		return err
	}
	paths, err := benchPaths(work, bareAddr, bare.Process.Pid, shared, embedded, "")
	if err != nil {
		return err
	}
	// BENCH_COMPARE_BIN: another build (an earlier commit's) measured in the same rounds, so a
	// before/after comparison shares its baseline and the machine's load.
	if other := os.Getenv("BENCH_COMPARE_BIN"); other != "" {
		oShared, err := startDev(other, work, "compare-redis", redisURL)
		if err != nil {
			return err
		}
		defer stop(oShared.cmd)
		oEmbedded, err := startDev(other, work, "compare-embedded", "")
		if err != nil {
			return err
		}
		defer stop(oEmbedded.cmd)
		coldRun(oShared, cfg)
		if err := warmUp(oEmbedded); err != nil {
			return err
		}
		more, err := benchPaths(work, bareAddr, bare.Process.Pid, oShared, oEmbedded, "compared build: ")
		if err != nil {
			return err
		}
		paths = append(paths, more[1:]...)
	}
	var peak atomic.Int64
	sampler, cancelSampler := context.WithCancel(context.Background())
	defer cancelSampler()
	go func() {
		for sampler.Err() == nil {
			if r := rss(shared.cmd.Process.Pid); r > peak.Load() {
				peak.Store(r)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	// Rounds interleave the paths, so a burst of load from elsewhere on the shared machine falls
	// on every path alike; each path's figures are the medians over the rounds.
	if dir := os.Getenv("BENCH_PROFILE_DIR"); dir != "" {
		// A missing directory would lose every profile silently (fetch cannot create the file).
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	cpuBefore := readMachineCPU()
	results := make([][]wrkResult, len(paths))
	profiles := make([]string, len(paths))
	threads := max(1, min(2, runtime.NumCPU()/2))
	for round := range rounds {
		for i, p := range paths {
			var prof chan error
			if round == 0 && p.pprofAddr != "" {
				// BENCH_PROFILE_DIR keeps the profiles for `go tool pprof` after the run.
				profiles[i] = filepath.Join(cmp.Or(os.Getenv("BENCH_PROFILE_DIR"), work), fmt.Sprintf("cpu-%d.pprof", i))
				prof = make(chan error, 1)
				go func() {
					time.Sleep(cfg.duration / 5)
					prof <- fetch(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", p.pprofAddr, max(int(cfg.duration.Seconds()*3/5), 1)), profiles[i])
				}()
			}
			fmt.Fprintf(os.Stderr, "bench: round %d/%d: %s …\n", round+1, rounds, p.name)
			r, err := runWrk(p.url, p.script, threads, cfg.concurrency, cfg.duration, p.pid)
			if prof != nil {
				if perr := <-prof; perr != nil {
					profiles[i] = ""
				}
			}
			if err != nil {
				return fmt.Errorf("%s: %w", p.name, err)
			}
			results[i] = append(results[i], r)
		}
	}
	cancelSampler()
	printWarm(machine, cfg, rounds, paths, results, cold, idleRSS, peak.Load())
	fmt.Printf("\nShared machine: %s; load average %s at the end.\n", machineShare(cpuBefore, readMachineCPU(), results), loadAverageNow())
	for i, p := range paths {
		if profiles[i] == "" {
			continue
		}
		for _, view := range []struct{ flag, name string }{{"-flat", "flat"}, {"-cum", "cumulative"}} {
			out, err := exec.Command("go", "tool", "pprof", "-top", view.flag, "-nodecount=25", bin, profiles[i]).CombinedOutput()
			if err != nil {
				continue
			}
			fmt.Printf("\nCPU profile of `retailbridge dev`, %s (top 25, %s):\n\n```\n%s```\n", p.name, view.name, trimProfile(out))
		}
	}
	// The workflow benchmarks boot their own stack in this process: stop the others first.
	stop(shared.cmd)
	stop(embedded.cmd)
	stop(bare)
	if warmOnly {
		return nil
	}
	return errors.Join(runWorkflows(), runOrders())
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
