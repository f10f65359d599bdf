package main

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// shopifyCalls is how many HTTP requests the dev stack's commerce connector has sent to Shopify,
// read from the gateway's /metrics (one process: every layer shares the registry).
func shopifyCalls(client *http.Client, gw string) (int64, error) {
	resp, err := client.Get(gw + "/metrics")
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

// orderListBench measures the storefront order list served by the order store: first every
// customer's listing is read whole once (the store fills per listing), then a load of first
// pages at mixed page sizes (each page size is a different listing to a cache, the same rows to
// the store), counting Shopify requests during the load and the answers' statuses.
func orderListBench(cfg config, client *http.Client, gw string, tokens map[string]string) (result, int64, map[int]int, error) {
	get := func(path, token string) (int, error) {
		req, _ := http.NewRequest(http.MethodGet, gw+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	var toks []string
	for _, t := range tokens {
		toks = append(toks, t)
	}
	// Fill: list every customer until a whole round costs Shopify nothing (at most a minute).
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		before, err := shopifyCalls(client, gw)
		if err != nil {
			return result{}, 0, nil, err
		}
		for _, t := range toks {
			if _, err := get("/v1/storefront/orders?page_size=7", t); err != nil {
				return result{}, 0, nil, err
			}
		}
		if after, _ := shopifyCalls(client, gw); after == before {
			break
		}
	}
	before, err := shopifyCalls(client, gw)
	if err != nil {
		return result{}, 0, nil, err
	}
	sizes := []int{1, 5, 10, 20, 50, 100}
	statuses := map[int]int{}
	var mu = make(chan struct{}, 1)
	r := load(cfg.concurrency, cfg.duration, func() (bool, error) {
		st, err := get(fmt.Sprintf("/v1/storefront/orders?page_size=%d", sizes[rand.IntN(len(sizes))]), toks[rand.IntN(len(toks))])
		mu <- struct{}{}
		statuses[st]++
		<-mu
		return st == http.StatusOK, err
	})
	after, err := shopifyCalls(client, gw)
	return r, after - before, statuses, err
}
