package e2e

import (
	"bytes"
	"io"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/pkg/config"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
)

// The warm paths of the benchmark (internal/bench, PF-1) in process, for allocations per request
// and CPU profiles (`go test -run XXX -bench Warm -benchmem -cpuprofile … ./e2e/`) that a loaded
// machine does not move: the whole stack on a real Redis, one order already read, requests sent
// by a plain client (the contract-checking client of the tests would dominate the profile).
// Figures include the client's own allocations, which are the same before and after a change.

func BenchmarkWarmEligibility(b *testing.B) {
	h := newStack(b, devSampling)
	o := h.Demo.Scenario(demo.ScenarioMultipleQuantity)
	body := []byte(`{"order_id":"` + o.ID + `"}`)
	benchWarm(b, h, http.MethodPost, "/v1/storefront/returns/eligibility", h.token(b, demo.DemoCustomerID), body)
}

func BenchmarkWarmOrder(b *testing.B) {
	h := newStack(b, devSampling)
	o := h.Demo.Scenario(demo.ScenarioMultipleQuantity)
	benchWarm(b, h, http.MethodGet, "/v1/storefront/orders/"+o.ID, h.token(b, demo.DemoCustomerID), nil)
}

// devSampling records the share of traces `retailbridge dev` records by default (the tests
// record every trace).
func devSampling(c *config.Config) { c.TraceSampleRatio = 0.1 }

func benchWarm(b *testing.B, h *harness, method, path, token string, body []byte) {
	b.Helper()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	do := func() {
		var r io.Reader
		if body != nil {
			r = bytes.NewReader(body)
		}
		req, err := http.NewRequest(method, h.GatewayURL+path, r)
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("%s %s: %d", method, path, resp.StatusCode)
		}
	}
	for range 20 { // warm: the order read, the token verified, connections open
		do()
	}
	b.ReportAllocs()
	cpu := processCPU(b)
	for b.Loop() {
		do()
	}
	// CPU of the whole process (stack and client) per request, from the OS: less moved by other
	// work on a shared machine than the wall time per request.
	b.ReportMetric(float64((processCPU(b)-cpu).Nanoseconds())/float64(b.N), "cpu-ns/op")
}

func processCPU(tb testing.TB) time.Duration {
	tb.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
