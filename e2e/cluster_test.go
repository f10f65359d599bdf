package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/retailbridge/retailbridge/pkg/events"
	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/telemetry"
)

// localLimiterWarning is what a gateway logs when it stops using the shared rate-limit store.
const localLimiterWarning = "rate limit store unavailable; using the local limiter"

// clusterReturns is how many returns the cluster test drives.
const clusterReturns = 50

// clusterLimits are generous everywhere but eligibility, the limit the gateways must share.
const clusterLimits = `policies:
  storefront/default: {rate: 100000, period: 1s, burst: 100000}
  storefront/eligibility: {rate: 20, period: 1s, burst: 20}
  support/default: {rate: 100000, period: 1s, burst: 100000}
  partner/default: {rate: 100000, period: 1s, burst: 100000}
`

// Issue 8 A8, the production topology under fire: a three-node JetStream cluster, PostgreSQL,
// Redis, two returns replicas and two gateways started as separate stacks. Returns go in through
// both gateways, every Idempotency-Key sent to both; a third of the way through the burst one
// returns replica is killed, halfway the NATS node leading the most streams. Every return must
// end refunded, with each vendor side effect made once, nothing dead-lettered, no vendor
// webhook abandoned, and the gateways enforcing one shared rate limit.
//
// It runs alone (not in parallel): its rate-limit load must keep the limit overloaded.
func TestClusterSurvivesLosingAReturnsReplicaAndANATSNode(t *testing.T) {
	ct := startClusterTopology(t, clusterLimits)
	js := ct.jetStream(t)
	// The services keep the provisioned streams as strong as they are and make the others with
	// RB_STREAM_REPLICAS: a one-replica stream on the killed node would stall publishing.
	if weak := weakenedStreams(ct.streamInfos(t, js)); len(weak) > 0 {
		t.Fatalf("the services left streams with fewer than %d replicas: %s", streamReplicas, strings.Join(weak, ", "))
	}
	lines := ct.g1.eligibleLines(t, clusterReturns)
	before := readLedger(t, ct.vendors, lines)

	b := ct.newBurst(t, lines)
	b.at(clusterReturns/3, func() { ct.killReplica(t, b) })
	b.at(clusterReturns/2, func() { ct.killBusiestNATSNode(t, b, js) })
	start := time.Now()
	ids := b.run(t)
	accepted := time.Since(start)
	refunded := ct.waitRefunded(t, ids)
	t.Logf("A8: %d returns accepted in %v, all settled %v after the first request", len(ids),
		accepted.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	if n := ct.returnRows(t); n != len(lines) {
		t.Errorf("the returns table holds %d returns for %d requests (keys): want one each", n, len(lines))
	}
	after := readLedger(t, ct.vendors, lines)
	fates := webhookFates(t, ct.vendors)
	infos := ct.streamInfos(t, js)
	deadLetters := infos[events.DeadLetterStream].State.Msgs
	limitErr := ct.measureSharedLimit(t)

	t.Logf("A8: %d keys, each sent to both gateways: %d returns acknowledged, %d answers replayed, %d requests retried; refunded %d of %d",
		len(lines), len(ids), b.replayed.Load(), b.retries.Load(), refunded, len(ids))
	var dups int64
	for _, e := range after.effectsSince(before, lines) {
		t.Logf("A8: %s: %d made, %d duplicates", e.name, e.made, e.dups)
		dups += e.dups
		if e.dups > 0 || e.made != int64(len(lines)) {
			t.Errorf("%s: %d made for %d returns (%d duplicates); want exactly one per return", e.name, e.made, len(lines), e.dups)
		}
	}
	var abandoned int64
	for _, f := range fates {
		t.Logf("A8: webhooks %v", f)
		abandoned += f.abandoned + f.unacknowledged
	}
	t.Logf("A8: dead letters %d, webhooks abandoned %d, duplicates at the sandboxes %d, shared rate-limit error %+.2f%% "+
		"(gateways fell back to local limiters %d times in the whole run)",
		deadLetters, abandoned, dups, 100*limitErr, ct.warnings.count(localLimiterWarning))
	if deadLetters != 0 {
		t.Errorf("%d dead letters, want 0", deadLetters)
		logDeadLetters(t, js)
	}
	if abandoned != 0 {
		t.Errorf("%d vendor webhooks abandoned or never acknowledged, want 0", abandoned)
	}
	if weak := weakenedStreams(infos); len(weak) > 0 {
		t.Errorf("streams weakened while running: %s", strings.Join(weak, ", "))
	}
}

// killReplica kills returns replica 2, which must have taken work by then.
func (ct *clusterTopology) killReplica(t *testing.T, b *clusterBurst) {
	t.Helper()
	served, called := rpcCount(t, ct.replica.Metrics, "server"), rpcCount(t, ct.replica.Metrics, "client")
	ct.replica.Close() // the replica dies with whatever it had claimed
	// Its claims on workflow steps expire after the lease (30 s); the shared business clock jumps
	// past it instead of the test waiting.
	ct.clock.Advance(time.Minute)
	t.Logf("killed returns replica 2 after %d acknowledged returns; it had served %d calls from gateway 2 and made %d calls to system APIs",
		b.acked.Load(), served, called)
	if served == 0 || called == 0 {
		t.Errorf("returns replica 2 took no work before it was killed (served %d, called %d): the kill proves nothing", served, called)
	}
}

// killBusiestNATSNode shuts down the node leading the most streams; the others elect new leaders.
func (ct *clusterTopology) killBusiestNATSNode(t *testing.T, b *clusterBurst, js jetstream.JetStream) {
	t.Helper()
	infos := ct.streamInfos(t, js)
	leader, led := busiestLeader(infos)
	if err := ct.nats.Kill(leader); err != nil {
		t.Error(err)
	}
	t.Logf("killed NATS node %s, leader of %d of %d streams, after %d acknowledged returns",
		leader, led, len(infos), b.acked.Load())
}

// clusterBurst drives one return per line through both gateways at once, with the same key at each,
// retrying what a careful client retries, and runs actions when enough returns are acknowledged.
type clusterBurst struct {
	ct      *clusterTopology
	lines   []eligibleLine
	actions []clusterBurstAction
	// acked counts keys a gateway has answered 200 for; replayed the answers marked
	// Idempotent-Replayed; retries the requests sent again (no answer, 409, 429 or 5xx).
	acked, replayed, retries atomic.Int64
}

type clusterBurstAction struct {
	after int
	do    func()
}

func (ct *clusterTopology) newBurst(t *testing.T, lines []eligibleLine) *clusterBurst {
	t.Helper()
	return &clusterBurst{ct: ct, lines: lines}
}

// at runs do (on the test goroutine) once n returns are acknowledged.
func (b *clusterBurst) at(n int, do func()) {
	b.actions = append(b.actions, clusterBurstAction{after: n, do: do})
}

// run sends the burst and returns the return id of each line; every key's two answers must name
// one return.
func (b *clusterBurst) run(t *testing.T) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	answers := make([][2]string, len(b.lines))
	var mu sync.Mutex
	var failures []string
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i, l := range b.lines {
		sem <- struct{}{}
		key := fmt.Sprintf("a8-%d", i)
		body, _ := json.Marshal(createReturn(l.order, l.line, 1))
		token := b.ct.g1.token(t, l.customer) // one key signs for both gateways
		var pair sync.WaitGroup
		for g, h := range []*harness{b.ct.g1, b.ct.g2} {
			pair.Go(func() {
				if g != i%2 {
					// The gateways take turns at going first, so each executes about half the
					// keys; the other copy follows closely enough to race it now and then.
					time.Sleep(5 * time.Millisecond)
				}
				id, err := b.create(ctx, h, token, key, body)
				mu.Lock()
				defer mu.Unlock()
				answers[i][g] = id
				if err != nil {
					failures = append(failures, fmt.Sprintf("%s at gateway %d: %v", key, g+1, err))
				}
			})
		}
		wg.Go(func() {
			pair.Wait()
			b.acked.Add(1)
			<-sem
		})
		b.runDue(t)
	}
	for len(b.actions) > 0 {
		eventually(t, "the burst reaches its next fault", func() bool { return b.acked.Load() >= int64(b.actions[0].after) })
		b.runDue(t)
	}
	wg.Wait()
	for _, f := range failures {
		t.Error(f)
	}
	ids := make([]string, 0, len(answers))
	for i, a := range answers {
		if a[0] == "" || a[0] != a[1] {
			t.Errorf("key a8-%d: gateway 1 answered return %q, gateway 2 %q; want one return", i, a[0], a[1])
		}
		if a[0] != "" && !slices.Contains(ids, a[0]) {
			ids = append(ids, a[0])
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	return ids
}

// runDue runs the actions whose threshold has been reached.
func (b *clusterBurst) runDue(t *testing.T) {
	t.Helper()
	for len(b.actions) > 0 && b.acked.Load() >= int64(b.actions[0].after) {
		a := b.actions[0]
		b.actions = b.actions[1:]
		a.do()
	}
}

// create posts the return until a gateway decides: 200 (first execution or replay) ends it; no
// answer, 409 (the other gateway holds the key), 429 and 5xx are retried with the same key.
func (b *clusterBurst) create(ctx context.Context, h *harness, token, key string, body []byte) (string, error) {
	var last string
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.GatewayURL+"/v1/storefront/returns", bytes.NewReader(body))
		if err != nil {
			return "", err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Idempotency-Key", key+"."+h.run)
		resp, err := h.client.Do(req)
		if err == nil {
			raw, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			switch {
			case resp.StatusCode == http.StatusOK:
				var r returnJSON
				if err := json.Unmarshal(raw, &r); err != nil || r.Return.ID == "" {
					return "", fmt.Errorf("200 without a return: %s", raw)
				}
				if resp.Header.Get("Idempotent-Replayed") == "true" {
					b.replayed.Add(1)
				}
				return r.Return.ID, nil
			case resp.StatusCode == http.StatusConflict, resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode >= 500:
				last = fmt.Sprintf("%d %s", resp.StatusCode, raw)
			default:
				return "", fmt.Errorf("%d %s", resp.StatusCode, raw)
			}
		} else {
			last = err.Error()
		}
		b.retries.Add(1)
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("no decision before the deadline; last answer %s", last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// waitRefunded polls the returns through both gateways (support API) until every one is
// refunded, and reports how many are; a return stuck or ended otherwise is listed with its
// timeline.
func (ct *clusterTopology) waitRefunded(t *testing.T, ids []string) int {
	t.Helper()
	tok := ct.g1.supportToken(t, "ops", "support:read")
	state := map[string]returnJSON{}
	deadline := time.Now().Add(2 * time.Minute) // a bound for a stuck return, not a speed target
	for {
		pending := 0
		for i, id := range ids {
			if state[id].Return.State == "refunded" {
				continue
			}
			h := []*harness{ct.g1, ct.g2}[i%2]
			resp := h.do(t, http.MethodGet, "/v1/support/returns/"+id, tok, nil)
			if resp.Status == http.StatusOK {
				var r returnJSON
				resp.JSON(t, &r)
				state[id] = r
			}
			if state[id].Return.State != "refunded" {
				pending++
			}
		}
		if pending == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	refunded := 0
	for _, id := range ids {
		r := state[id]
		if r.Return.State == "refunded" {
			refunded++
			continue
		}
		var steps []string
		for _, e := range r.Timeline {
			steps = append(steps, e.State+": "+e.Description)
		}
		t.Errorf("return %s (order %s) is %q, not refunded; timeline %q", id, r.Return.OrderID, r.Return.State, steps)
	}
	return refunded
}

// measureSharedLimit overloads one customer's eligibility limit through both gateways at once and
// returns how far the allowed count is from what the policy allows (burst 20 + 20/s); both
// gateways keep the limit in the one Redis, so together they allow what one would.
func (ct *clusterTopology) measureSharedLimit(t *testing.T) float64 {
	t.Helper()
	const rate, burst, duration = 20.0, 20.0, 3 * time.Second
	customer := ct.g1.Demo.Customers[len(ct.g1.Demo.Customers)-1].ID
	order := ct.g1.Demo.OrdersOf(customer)[0].ID
	tok := ct.g1.token(t, customer)
	fallbacks := ct.warnings.count(localLimiterWarning)
	var allowed, refused atomic.Int64
	var first, last atomic.Int64
	var gaps sendGaps
	var wg sync.WaitGroup
	deadline := time.Now().Add(duration)
	for w := range 4 {
		h := []*harness{ct.g1, ct.g2}[w%2]
		wg.Go(func() {
			for time.Now().Before(deadline) {
				sent := gaps.sent()
				first.CompareAndSwap(0, sent)
				resp := h.do(t, http.MethodPost, "/v1/storefront/returns/eligibility", tok, eligibility(order))
				switch resp.Status {
				case http.StatusOK:
					allowed.Add(1)
					for prev := last.Load(); sent > prev && !last.CompareAndSwap(prev, sent); prev = last.Load() {
					}
				case http.StatusTooManyRequests:
					refused.Add(1)
				default:
					t.Errorf("eligibility: %d %s", resp.Status, resp.Body)
					return
				}
			}
		})
	}
	wg.Wait()
	window := time.Duration(last.Load() - first.Load())
	want := burst + rate*window.Seconds()
	got := float64(allowed.Load())
	limitErr := (got - want) / want
	t.Logf("A8: shared limit through both gateways: allowed %d, refused %d; the policy allows %.1f (burst %.0f + %.0f/s × %.3fs); error %+.2f%%",
		allowed.Load(), refused.Load(), want, burst, rate, window.Seconds(), 100*limitErr)
	if n := ct.warnings.count(localLimiterWarning) - fallbacks; n > 0 {
		// A round trip to Redis over the gateway's budget (300 ms, which a starved machine
		// running the race detector can take) switches that gateway to its own limiter for a
		// while, and each replica then admits the policy by itself (RL-3's fallback).
		t.Logf("A8: NOT JUDGED: the gateways fell back to their local limiters %d times during the measurement "+
			"(Redis slower than their budget on this machine now); the error above is the fallback's, not the shared limit's", n)
		return limitErr
	}
	if got > math.Max(want*1.05, want+1) {
		t.Errorf("allowed %v, the policy allows %.1f: the gateways do not share the limit (more than 5%% over)", got, want)
	}
	switch maxGap := gaps.max(); {
	case refused.Load() < allowed.Load():
		t.Logf("refused %d < allowed %d: the load did not overload the limit on this machine now; the lower bound is not judged", refused.Load(), allowed.Load())
	case maxGap > 500*time.Millisecond:
		t.Logf("the load paused for %v (longer than the burst covers): the lower bound is not judged", maxGap)
	case got < want*0.95:
		t.Errorf("allowed %v, the policy allows %.1f: more than 5%% under (the limit is enforced too hard)", got, want)
	}
	return limitErr
}

// sendGaps records when requests were sent, to find the longest pause in the load.
type sendGaps struct {
	mu    sync.Mutex
	times []int64
}

func (g *sendGaps) sent() int64 {
	now := time.Now().UnixNano()
	g.mu.Lock()
	g.times = append(g.times, now)
	g.mu.Unlock()
	return now
}

func (g *sendGaps) max() time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	slices.Sort(g.times)
	var out time.Duration
	for i := 1; i < len(g.times); i++ {
		out = max(out, time.Duration(g.times[i]-g.times[i-1]))
	}
	return out
}

// logDeadLetters lists the dead letters, grouped by consumer and reason, with the events they
// were: the evidence for a failing run.
func logDeadLetters(t *testing.T, js jetstream.JetStream) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	list, err := events.NewDeadLetters(nil, js, nil).List(ctx, events.ListOptions{Limit: 1000})
	if err != nil {
		t.Logf("list dead letters: %v", err)
		return
	}
	groups := map[string][]string{}
	var order []string
	for _, d := range list {
		g := fmt.Sprintf("consumer %s, %s/%s retryable=%v, attempts %d: %s", d.Consumer, d.Kind, d.Reason, d.Retryable, d.Attempts, d.Error)
		if _, ok := groups[g]; !ok {
			order = append(order, g)
		}
		groups[g] = append(groups[g], fmt.Sprintf("%s %s (subject %s)", d.EventType, d.EventID, d.Event.GetSubject()))
	}
	for _, g := range order {
		t.Logf("dead letters ×%d — %s; events %q", len(groups[g]), g, groups[g])
	}
}

// rpcCount is how many gRPC calls a stack's processes served (side "server") or made ("client").
func rpcCount(t *testing.T, m *telemetry.Metrics, side string) uint64 {
	t.Helper()
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var n uint64
	for _, f := range families {
		if f.GetName() != "retailbridge_rpc_duration_seconds" {
			continue
		}
		for _, metric := range f.GetMetric() {
			for _, l := range metric.GetLabel() {
				if l.GetName() == "side" && l.GetValue() == side {
					n += metric.GetHistogram().GetSampleCount()
				}
			}
		}
	}
	return n
}

// returnRows counts the returns in the shared database: one per key, however often and through
// whichever gateway a key was sent.
func (ct *clusterTopology) returnRows(t *testing.T) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	db, err := store.Open(ctx, ct.dbURL, store.Options{MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM returns`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
