package gateway

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/retailbridge/retailbridge/pkg/testkit"
)

// Decisions made at the same time share pipelines, and sharing changes no decision: 64
// requests at once on each of several keys are allowed exactly each key's burst, against a
// real Redis, while far fewer pipelines than decisions are sent.
func TestConcurrentDecisionsSharePipelinesAndStayExact(t *testing.T) {
	opts, err := redis.ParseURL(testkit.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { _ = rdb.Close() })
	l := newLimiter(rdb, slog.New(slog.DiscardHandler), false)
	// A rate so slow that nothing refills during the test: exactly the burst per key.
	p := RateLimit{Rate: 1, Period: time.Hour, Burst: 25}
	prefix := "rl:test:" + t.Name() + ":" + strconv.FormatInt(time.Now().UnixNano(), 10) + ":"
	const keys, workers, each = 4, 64, 5
	allowed := make([]atomic.Int64, keys)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for w := range workers {
		wg.Go(func() {
			<-start
			for i := range each {
				k := (w + i) % keys
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				if l.allow(ctx, prefix+strconv.Itoa(k), p).allowed {
					allowed[k].Add(1)
				}
				cancel()
			}
		})
	}
	close(start)
	wg.Wait()
	if l.redisDownUntil.Load() != 0 {
		t.Fatal("the limiter fell back to its local state; the counts are not Redis's")
	}
	for k := range keys {
		if n := allowed[k].Load(); n != int64(p.Burst) {
			t.Errorf("key %d: %d of %d allowed, want the burst of %d", k, n, workers*each/keys, p.Burst)
		}
	}
	pipes, calls := l.pipe.pipelines.Load(), l.pipe.calls.Load()
	t.Logf("%d decisions in %d pipelines", calls, pipes)
	if calls != workers*each || pipes >= calls {
		t.Errorf("%d decisions went in %d pipelines; want %d decisions sharing pipelines", calls, pipes, workers*each)
	}
}
