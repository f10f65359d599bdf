package main

import (
	"bufio"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// shopifyCalls is how many HTTP requests a dev stack's commerce connector has sent to Shopify,
// read from the gateway's /metrics (one process: every layer shares the registry).
func (d *devStack) shopifyCalls() (int64, error) {
	resp, err := benchClient.Get(d.gw + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var n int64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "retailbridge_vendor_request_duration_seconds_count{") || !strings.Contains(line, `vendor="shopify"`) {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			return 0, err
		}
		n += int64(v)
	}
	return n, sc.Err()
}

// fillListings lists every customer's orders until a whole round costs Shopify nothing: the order
// store reads each listing whole once (in the background), then serves it alone. It reports the
// Shopify requests of that last round (0 unless it gave up after a minute).
func (d *devStack) fillListings() (int64, error) {
	var last int64 = -1
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline) && last != 0; time.Sleep(500 * time.Millisecond) {
		before, err := d.shopifyCalls()
		if err != nil {
			return 0, err
		}
		for _, tok := range d.tokens {
			req, _ := http.NewRequest(http.MethodGet, d.gw+"/v1/storefront/orders?page_size=7", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := benchClient.Do(req)
			if err != nil {
				return 0, err
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return 0, fmt.Errorf("order list: %d", resp.StatusCode)
			}
		}
		after, err := d.shopifyCalls()
		if err != nil {
			return 0, err
		}
		last = after - before
	}
	return last, nil
}

// orderListRequests are first pages of every customer's order list at mixed page sizes (to a
// page cache each size is another key; to the order store the same rows).
func (d *devStack) orderListRequests() []wrkRequest {
	var reqs []wrkRequest
	for _, tok := range d.tokens {
		for _, size := range []int{1, 5, 10, 20, 50, 100} {
			reqs = append(reqs, wrkRequest{Method: "GET", Path: "/v1/storefront/orders?page_size=" + strconv.Itoa(size), Token: tok})
		}
	}
	return reqs
}
