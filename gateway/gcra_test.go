package gateway

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/retailbridge/retailbridge/pkg/testkit"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

// The in-process GCRA decides as the Redis script does: a burst, then one request per emission
// interval, with retry-after naming exactly when the next one is allowed.
func TestProcessGCRAAdmitsBurstThenRate(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	g := newProcessGCRA(clock.now, 100)
	p := RateLimit{Rate: 10, Period: time.Second, Burst: 5} // one every 100 ms
	for i := range 5 {
		d := g.allow("k", p)
		if !d.allowed {
			t.Fatalf("request %d of the burst refused: %+v", i+1, d)
		}
		if want := 4 - i; d.remaining != want {
			t.Errorf("request %d: remaining %d, want %d", i+1, d.remaining, want)
		}
	}
	d := g.allow("k", p)
	if d.allowed {
		t.Fatalf("request 6 allowed past the burst of 5")
	}
	if d.retryAfter != 100*time.Millisecond {
		t.Errorf("retry after %v, want 100ms", d.retryAfter)
	}
	clock.t = clock.t.Add(d.retryAfter - time.Nanosecond)
	if g.allow("k", p).allowed {
		t.Errorf("allowed 1 ns before retry-after")
	}
	clock.t = clock.t.Add(time.Nanosecond)
	if !g.allow("k", p).allowed {
		t.Errorf("refused at retry-after")
	}
	if g.allow("other", p).allowed != true {
		t.Errorf("another caller shares the first caller's state")
	}
	// Over a sustained overload the count allowed is burst + rate × time, exactly (the window
	// includes both ends: the burst at 0 s and the hundredth emission at 10 s).
	allowed := 0
	start := clock.t
	for clock.t.Sub(start) <= 10*time.Second {
		if g.allow("sustained", p).allowed {
			allowed++
		}
		clock.t = clock.t.Add(time.Millisecond)
	}
	if want := 5 + 10*10; allowed != want {
		t.Errorf("sustained overload allowed %d in 10 s, want %d (burst 5 + 10/s × 10 s)", allowed, want)
	}
}

// The state holds at most maxKeys callers, however many come: expired callers go first.
func TestProcessGCRAIsBounded(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	g := newProcessGCRA(clock.now, 1000)
	p := RateLimit{Rate: 1, Period: time.Second, Burst: 1}
	for i := range 50_000 {
		g.allow("caller-"+strconv.Itoa(i), p)
		if i%100 == 0 {
			clock.t = clock.t.Add(10 * time.Millisecond)
		}
	}
	if n := g.size(); n > 1000 {
		t.Fatalf("state holds %d callers, want at most 1000", n)
	}
	// A caller inside its window keeps its state while expired ones are swept.
	g.allow("live", p)
	if g.allow("live", p).allowed {
		t.Errorf("the live caller's state was dropped by the sweep")
	}
}

// commandCalls reads how many times Redis ran cmd (INFO commandstats).
func commandCalls(t testing.TB, rdb *redis.Client, cmd string) int {
	t.Helper()
	info, err := rdb.Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(info, "\n") {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "cmdstat_"+cmd+":calls=")
		if !ok {
			continue
		}
		n, _ := strconv.Atoi(strings.SplitN(rest, ",", 2)[0])
		return n
	}
	return 0
}

// Against a real Redis, two replicas' limiters share one limit, and the warm path calls the
// loaded GCRA script by its SHA1 (EVALSHA): the script text is sent (EVAL) at most once, when
// Redis does not know it yet.
func TestRedisLimiterIsSharedAndCallsTheScriptByHash(t *testing.T) {
	opts, err := redis.ParseURL(testkit.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { _ = rdb.Close() })
	a := newLimiter(rdb, slog.New(slog.DiscardHandler), false)
	b := newLimiter(redis.NewClient(opts), slog.New(slog.DiscardHandler), false)
	key := "rl:test:" + t.Name() + ":" + strconv.FormatInt(time.Now().UnixNano(), 10)
	// A rate so slow that no allowance refills during the test: exactly the burst is allowed.
	p := RateLimit{Rate: 1, Period: time.Hour, Burst: 40}
	evals, shas := commandCalls(t, rdb, "eval"), commandCalls(t, rdb, "evalsha")
	allowed := 0
	for i := range 200 {
		if []*limiter{a, b}[i%2].allow(context.Background(), key, p).allowed {
			allowed++
		}
	}
	if allowed != 40 {
		t.Errorf("two replicas allowed %d of 200, want the shared burst of 40", allowed)
	}
	if a.redisDownUntil.Load() != 0 || b.redisDownUntil.Load() != 0 {
		t.Fatalf("a limiter fell back to its local state; the count above is not the shared one")
	}
	gotEval, gotSha := commandCalls(t, rdb, "eval")-evals, commandCalls(t, rdb, "evalsha")-shas
	t.Logf("200 decisions: %d EVALSHA, %d EVAL", gotSha, gotEval)
	if gotSha < 200 || gotEval > 1 {
		t.Errorf("200 decisions sent %d EVALSHA and %d EVAL; want every one by hash and the script text at most once", gotSha, gotEval)
	}
}
