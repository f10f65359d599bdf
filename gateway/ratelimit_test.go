package gateway

import (
	"context"
	"io"
	"log/slog"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/retailbridge/retailbridge/pkg/testkit"
)

// slowProxy forwards TCP to a real Redis, holding every answer back by delay while slow is on.
type slowProxy struct {
	lis   net.Listener
	slow  atomic.Bool
	delay time.Duration
}

func newSlowProxy(t testing.TB, target string, delay time.Duration) *slowProxy {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &slowProxy{lis: lis, delay: delay}
	t.Cleanup(func() { _ = lis.Close() })
	go func() {
		for {
			c, err := lis.Accept()
			if err != nil {
				return
			}
			go p.serve(c, target)
		}
	}()
	return p
}

func (p *slowProxy) serve(c net.Conn, target string) {
	defer c.Close()
	up, err := net.Dial("tcp", target)
	if err != nil {
		return
	}
	defer up.Close()
	go func() { _, _ = io.Copy(up, c) }()
	buf := make([]byte, 32<<10)
	for {
		n, err := up.Read(buf)
		if n > 0 {
			if p.slow.Load() {
				time.Sleep(p.delay) // the slow network this test is about
			}
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// One slow answer from the shared store is decided locally on its own and does not switch the
// replica to its local limiter; only slowAfter slow answers in a row (or an unreachable store)
// do, because a replica deciding alone admits up to the whole policy by itself.
func TestSlowRateLimitStoreSwitchesOnlyAfterRepeatedTimeouts(t *testing.T) {
	opts, err := redis.ParseURL(testkit.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	proxy := newSlowProxy(t, opts.Addr, 2*redisTimeout)
	opts.Addr = proxy.lis.Addr().String()
	// As the stack configures its client: the limiter's budget bounds every round trip.
	opts.MaxRetries, opts.ContextTimeoutEnabled = 0, true
	opts.ReadTimeout, opts.WriteTimeout = redisTimeout, redisTimeout
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { _ = rdb.Close() })
	l := newLimiter(rdb, slog.New(slog.DiscardHandler), false)
	p := RateLimit{Rate: 100, Period: time.Second, Burst: 100}
	key := "rl:test:" + t.Name() + ":" + time.Now().Format(time.RFC3339Nano)
	ctx := context.Background()

	if d := l.allow(ctx, key, p); !d.allowed {
		t.Fatalf("first request refused: %+v", d)
	}
	proxy.slow.Store(true)
	for i := 1; i < slowAfter; i++ {
		if d := l.allow(ctx, key, p); !d.allowed {
			t.Fatalf("slow answer %d refused: %+v", i, d)
		}
		if l.redisDownUntil.Load() != 0 {
			t.Fatalf("after %d slow answer(s) the replica switched to its local limiter; want only after %d in a row", i, slowAfter)
		}
	}
	l.allow(ctx, key, p)
	if l.redisDownUntil.Load() == 0 {
		t.Fatalf("after %d slow answers in a row the replica still waits on the store", slowAfter)
	}
}
