package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The mixed storefront load (issue 9): order list, single order and eligibility at a fixed
// rate from outside, against `retailbridge dev` with REDIS_URL and its shipped rate limits, and
// a noisy-neighbour check: one customer cycling page_size at their rate limit while another
// customer lists their orders.
//
// The load is open-loop: requests are sent on a fixed schedule whatever the answers take, and
// each latency is measured from the moment the request was due, so a slow server shows as
// latency instead of as fewer requests (closed-loop generators such as wrk hide it: they wait
// for an answer before sending the next request). wrk cannot hold a rate, and at 800 req/s a Go
// client needs a few percent of a core: the generator's own CPU per request is reported next
// to the server's.

// mixedRequest is one request of the mix, built once and sent many times.
type mixedRequest struct {
	path, method, url, token, body string
}

// mixedSample is one answer: which path, its status (0: no answer) and latency from when it
// was due.
type mixedSample struct {
	path    string
	status  int
	latency time.Duration
}

// mixedClient has connections enough for every request in flight.
var mixedClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1024, MaxIdleConns: 1024, DisableCompression: true},
	Timeout: 30 * time.Second}

func (m mixedRequest) send() int {
	var body io.Reader
	if m.body != "" {
		body = strings.NewReader(m.body)
	}
	req, _ := http.NewRequest(m.method, m.url, body)
	req.Header.Set("Authorization", "Bearer "+m.token)
	if m.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := mixedClient.Do(req)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// maxInFlight bounds the open-loop generator: past it a due request is counted as not sent
// (the server is that far behind) rather than queued.
const maxInFlight = 2000

// openLoop sends pick(i) at rate per second for d; it returns every answer, and how many were
// due but not sent because maxInFlight requests were already waiting.
func openLoop(ctx context.Context, rate float64, d time.Duration, pick func(i int) mixedRequest) ([]mixedSample, int) {
	var mu sync.Mutex
	var samples []mixedSample
	var wg sync.WaitGroup
	var inFlight atomic.Int64
	skipped := 0
	start := time.Now()
	interval := time.Duration(float64(time.Second) / rate)
	for i := 0; ctx.Err() == nil; i++ {
		due := start.Add(time.Duration(i) * interval)
		if due.Sub(start) >= d {
			break
		}
		if w := time.Until(due); w > 0 {
			time.Sleep(w)
		}
		if inFlight.Load() >= maxInFlight {
			skipped++
			continue
		}
		r := pick(i)
		inFlight.Add(1)
		wg.Go(func() {
			defer inFlight.Add(-1)
			st := r.send()
			s := mixedSample{path: r.path, status: st, latency: time.Since(due)}
			mu.Lock()
			samples = append(samples, s)
			mu.Unlock()
		})
	}
	wg.Wait()
	return samples, skipped
}

// mixedStats summarises the samples of one path.
type mixedStats struct {
	n, ok, tooMany, server, other int
	p50, p99                      time.Duration
}

func summarise(samples []mixedSample, path string) mixedStats {
	var st mixedStats
	var lat []time.Duration
	for _, s := range samples {
		if path != "" && s.path != path {
			continue
		}
		st.n++
		switch {
		case s.status >= 200 && s.status < 300:
			st.ok++
		case s.status == http.StatusTooManyRequests:
			st.tooMany++
		case s.status >= 500:
			st.server++
		default:
			st.other++ // includes no answer at all (status 0)
		}
		lat = append(lat, s.latency)
	}
	slices.Sort(lat)
	if len(lat) > 0 {
		st.p50 = lat[len(lat)*50/100]
		st.p99 = lat[min(len(lat)-1, len(lat)*99/100)]
	}
	return st
}

func share(a, n int) string {
	if n == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f %%", 100*float64(a)/float64(n))
}

// runMixed is `scripts/bench.sh mixed`.
func runMixed() error {
	redisURL := os.Getenv("RB_TEST_REDIS_URL")
	if redisURL == "" {
		return errors.New("RB_TEST_REDIS_URL is not set; run scripts/bench.sh mixed")
	}
	rate := float64(envInt("BENCH_MIXED_RATE", 800))
	d := time.Duration(envInt("BENCH_MIXED_SECONDS", 20)) * time.Second
	noisyRate := float64(envInt("BENCH_NOISY_RATE", 20)) // storefront/default in configs/rate-limits.yaml
	machine := machineLine()
	work, err := os.MkdirTemp("", "rb-bench-mixed-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	bin := filepath.Join(work, "retailbridge")
	if b := os.Getenv("BENCH_BIN"); b != "" {
		bin = b
	} else if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		return fmt.Errorf("build: %v\n%s", err, out)
	}
	dev, err := startDevLimits(bin, work, "mixed", redisURL, true)
	if err != nil {
		return err
	}
	defer stop(dev.cmd)
	idle := rss(dev.cmd.Process.Pid)
	if err := warmUp(dev); err != nil {
		return err
	}
	if _, err := dev.fillListings(); err != nil {
		return err
	}
	mix, noisy, victim := dev.mixedRequests()
	return measureMixed(dev, machine, rate, noisyRate, d, idle, mix, noisy, victim)
}

// mixedRequests builds the mix (every customer but two: 40 % eligibility, 30 % single order,
// 30 % order list at page sizes 1–100), the noisy customer's list at every page size in turn,
// and the victim's list.
func (d *devStack) mixedRequests() (mix, noisy, victim []mixedRequest) {
	ids := make([]string, 0, len(d.demo.Customers))
	for _, c := range d.demo.Customers {
		ids = append(ids, c.ID)
	}
	slices.Sort(ids)
	noisyID, victimID := ids[0], ids[1]
	for _, o := range d.demo.Orders {
		tok := d.tokens[o.CustomerID]
		if o.CustomerID == noisyID || o.CustomerID == victimID {
			continue
		}
		for range 4 {
			mix = append(mix, mixedRequest{path: "eligibility", method: http.MethodPost, url: d.gw + "/v1/storefront/returns/eligibility",
				token: tok, body: `{"order_id":"` + o.ID + `"}`})
		}
		for range 3 {
			mix = append(mix, mixedRequest{path: "single order", method: http.MethodGet, url: d.gw + "/v1/storefront/orders/" + o.ID, token: tok})
		}
		for range 3 {
			size := []int{1, 5, 10, 20, 50, 100}[rand.IntN(6)]
			mix = append(mix, mixedRequest{path: "order list", method: http.MethodGet,
				url: d.gw + "/v1/storefront/orders?page_size=" + strconv.Itoa(size), token: tok})
		}
	}
	for size := 1; size <= 100; size++ {
		noisy = append(noisy, mixedRequest{path: "noisy", method: http.MethodGet,
			url: d.gw + "/v1/storefront/orders?page_size=" + strconv.Itoa(size), token: d.tokens[noisyID]})
	}
	victim = []mixedRequest{{path: "victim", method: http.MethodGet, url: d.gw + "/v1/storefront/orders?page_size=10", token: d.tokens[victimID]}}
	return mix, noisy, victim
}

// phase runs the mix (and, when noisy is set, the noisy customer) with the victim's list at
// 5 req/s, and measures the server's CPU and peak memory meanwhile.
func phase(dev *devStack, rate, noisyRate float64, d time.Duration, mix, noisy, victim []mixedRequest) (samples []mixedSample, skipped int, cpu time.Duration, gen time.Duration, peak int64) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var peakRSS atomic.Int64
	go func() {
		for ctx.Err() == nil {
			if r := rss(dev.cmd.Process.Pid); r > peakRSS.Load() {
				peakRSS.Store(r)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	before, genBefore := procCPU(dev.cmd.Process.Pid), selfCPU()
	var mu sync.Mutex
	var wg sync.WaitGroup
	run := func(r float64, reqs []mixedRequest, order bool) {
		wg.Go(func() {
			s, sk := openLoop(ctx, r, d, func(i int) mixedRequest {
				if order {
					return reqs[i%len(reqs)]
				}
				return reqs[rand.IntN(len(reqs))]
			})
			mu.Lock()
			samples, skipped = append(samples, s...), skipped+sk
			mu.Unlock()
		})
	}
	run(rate, mix, false)
	run(5, victim, true)
	if noisy != nil {
		run(noisyRate, noisy, true)
	}
	wg.Wait()
	return samples, skipped, procCPU(dev.cmd.Process.Pid) - before, selfCPU() - genBefore, peakRSS.Load()
}

// selfCPU is this process's user+system CPU time so far: the load generator's.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func measureMixed(dev *devStack, machine string, rate, noisyRate float64, d time.Duration, idle int64, mix, noisy, victim []mixedRequest) error {
	fmt.Fprintf(os.Stderr, "bench: mixed storefront load at %.0f req/s for %s …\n", rate, d)
	quiet, qSkipped, qCPU, qGen, qPeak := phase(dev, rate, noisyRate, d, mix, nil, victim)
	fmt.Fprintf(os.Stderr, "bench: the same with a noisy neighbour cycling page_size at %.0f req/s …\n", noisyRate)
	loud, lSkipped, lCPU, lGen, lPeak := phase(dev, rate, noisyRate, d, mix, noisy, victim)

	fmt.Printf("\n## Mixed storefront load (%s; open loop at %.0f req/s for %s: 40 %% eligibility, 30 %% single order, "+
		"30 %% order list at page sizes 1–100, %d customers' tokens; `retailbridge dev` with REDIS_URL and the shipped rate limits)\n\n",
		machine, rate, d, len(dev.demo.Customers)-2)
	fmt.Println("| phase | path | requests | 2xx | 429 | 5xx | other / no answer | p50 | p99 |")
	fmt.Println("|---|---|---:|---:|---:|---:|---:|---:|---:|")
	row := func(ph string, samples []mixedSample, path string) mixedStats {
		st := summarise(samples, path)
		name := path
		if name == "" {
			name = "all (victim and noisy included)"
		}
		fmt.Printf("| %s | %s | %d | %s | %s | %s | %s | %s | %s |\n", ph, name, st.n, share(st.ok, st.n), share(st.tooMany, st.n),
			share(st.server, st.n), share(st.other, st.n), ms(st.p50), ms(st.p99))
		return st
	}
	var fails []string
	for _, ph := range []struct {
		name    string
		samples []mixedSample
		noisy   bool
	}{{"mixed", quiet, false}, {"mixed + noisy neighbour", loud, true}} {
		for _, p := range []string{"eligibility", "single order", "order list", "", "victim", "noisy"} {
			if p == "noisy" && !ph.noisy {
				continue
			}
			st := row(ph.name, ph.samples, p)
			if p == "" && st.server > 0 {
				fails = append(fails, fmt.Sprintf("%s: %d answers 5xx", ph.name, st.server))
			}
			if p == "victim" && st.ok != st.n {
				fails = append(fails, fmt.Sprintf("%s: the victim's list answered %d of %d 2xx", ph.name, st.ok, st.n))
			}
		}
	}
	perReq := func(cpu time.Duration, samples []mixedSample) float64 {
		return cpuPerRequest(cpu, int64(len(samples)))
	}
	fmt.Printf("\n| phase | sent | due but not sent (%d in flight) | server CPU/req | generator CPU/req | RSS peak |\n|---|---:|---:|---:|---:|---:|\n", maxInFlight)
	fmt.Printf("| mixed | %d | %d | %.3f ms | %.3f ms | %.1f MB |\n", len(quiet), qSkipped, perReq(qCPU, quiet), perReq(qGen, quiet), float64(qPeak)/1e6)
	fmt.Printf("| mixed + noisy neighbour | %d | %d | %.3f ms | %.3f ms | %.1f MB |\n", len(loud), lSkipped, perReq(lCPU, loud), perReq(lGen, loud), float64(lPeak)/1e6)
	fmt.Printf("\nRSS idle before the load: %.1f MB. Load average %s at the end.\n", float64(idle)/1e6, loadAverageNow())
	if len(fails) > 0 {
		fmt.Printf("\n**Mixed load goals not met**: %s.\n", strings.Join(fails, "; "))
		return fmt.Errorf("mixed load: %s", strings.Join(fails, "; "))
	}
	fmt.Println("\nMixed load goals met: 0 % 5xx, and the victim's order list answered 2xx throughout, with and without the noisy neighbour.")
	return nil
}
