package gateway

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"

	"github.com/retailbridge/retailbridge/pkg/auth"
	"github.com/retailbridge/retailbridge/pkg/errs"
)

// limiter enforces GCRA limits in Redis, shared by every gateway replica. When Redis cannot be
// reached it falls back to a per-replica token bucket of the same policy, so backends stay
// protected (each replica then admits up to the policy on its own).
type limiter struct {
	redis  *redis_rate.Limiter
	pipe   *pipelinedRedis // redis's client: concurrent decisions share a round trip
	logger *slog.Logger
	// process, when set, holds the state in this process instead of Redis (gcra.go): the
	// embedded-Redis development stack, where this process is the only gateway.
	process *processGCRA

	mu    sync.Mutex
	local map[string]*rate.Limiter
	// redisDownUntil (unix nanoseconds) skips Redis for a while after it failed, so an outage
	// costs one failed round trip per interval instead of one per request.
	redisDownUntil atomic.Int64
	// slowInARow counts consecutive round trips that ran out of time. One slow answer (a GC
	// pause, a busy machine) is decided locally on its own; only slowAfter in a row, or an error
	// that says Redis is not there, switch the replica to its local limiter for a while — every
	// replica deciding alone admits up to the policy by itself, which a blip must not cause.
	slowInARow atomic.Int32
}

// redisRetryInterval is how long the limiter stays local after Redis failed; redisTimeout
// bounds one limiter round trip.
const (
	redisRetryInterval = 2 * time.Second
	redisTimeout       = 300 * time.Millisecond
	slowAfter          = 3
)

// processLimiterKeys bounds the callers the in-process state holds (about 100 bytes each).
const processLimiterKeys = 200_000

// newLimiter keeps the limits in Redis (redis_rate's GCRA script, loaded once and then called
// by its SHA1 with EVALSHA, so a real Redis never re-parses it; decisions made at the same time
// share a pipeline, redispipe.go), or in this process when inProcess is set.
func newLimiter(rdb *redis.Client, logger *slog.Logger, inProcess bool) *limiter {
	l := &limiter{logger: logger, local: map[string]*rate.Limiter{}}
	if rdb != nil {
		l.pipe = newPipelinedRedis(rdb)
		l.redis = redis_rate.NewLimiter(l.pipe)
	}
	if inProcess {
		l.process = newProcessGCRA(time.Now, processLimiterKeys)
	}
	return l
}

type decision struct {
	allowed    bool
	remaining  int
	retryAfter time.Duration
	resetAfter time.Duration
}

func (l *limiter) allow(ctx context.Context, key string, p RateLimit) decision {
	if l.process != nil {
		return l.process.allow(key, p)
	}
	if time.Now().UnixNano() >= l.redisDownUntil.Load() {
		// A slow or unreachable Redis must not eat the request's budget.
		rctx, cancel := context.WithTimeout(ctx, redisTimeout)
		res, err := l.redis.Allow(rctx, key, redis_rate.Limit{Rate: p.Rate, Burst: p.Burst, Period: p.Period})
		cancel()
		if err == nil {
			l.slowInARow.Store(0)
			return decision{allowed: res.Allowed > 0, remaining: res.Remaining, retryAfter: res.RetryAfter, resetAfter: res.ResetAfter}
		}
		if slow(err) && ctx.Err() == nil && l.slowInARow.Add(1) < slowAfter {
			return l.allowLocal(key, p)
		}
		l.slowInARow.Store(0)
		l.redisDownUntil.Store(time.Now().Add(redisRetryInterval).UnixNano())
		l.logger.WarnContext(ctx, "rate limit store unavailable; using the local limiter", "error", err.Error(), "retry_in", redisRetryInterval.String())
	}
	return l.allowLocal(key, p)
}

// slow reports whether err is a round trip that ran out of time (as opposed to a store that
// refused the connection or answered an error).
func slow(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

func (l *limiter) allowLocal(key string, p RateLimit) decision {
	l.mu.Lock()
	lim, ok := l.local[key]
	if !ok {
		if len(l.local) > 100_000 {
			clear(l.local)
		}
		lim = rate.NewLimiter(rate.Limit(float64(p.Rate)/p.Period.Seconds()), p.Burst)
		l.local[key] = lim
	}
	l.mu.Unlock()
	r := lim.Reserve()
	if d := r.Delay(); d > 0 {
		r.Cancel()
		return decision{allowed: false, retryAfter: d, resetAfter: d}
	}
	return decision{allowed: true, remaining: int(lim.Tokens())}
}

// rateLimit applies the caller's policy for the route's class and sends the IETF
// RateLimit-Policy / RateLimit headers. The key is per caller: customer, agent, or partner
// client within its tenant.
func (g *Gateway) rateLimit(aud auth.Audience) gin.HandlerFunc {
	return func(c *gin.Context) {
		pr, _ := auth.FromContext(c.Request.Context())
		class, p := g.cfg.RateLimits.For(aud, routeClass(c.Request))
		name := string(aud) + "-" + class
		d := g.limiter.allow(c.Request.Context(), "rl:"+string(aud)+":"+class+":"+pr.Tenant+":"+pr.Subject, p)
		// Concatenation, not fmt: these two headers are on every limited request.
		c.Header("RateLimit-Policy", `"`+name+`";q=`+strconv.Itoa(p.Burst)+";w="+
			strconv.Itoa(int(math.Ceil(p.Period.Seconds()*float64(p.Burst)/float64(p.Rate)))))
		c.Header("RateLimit", `"`+name+`";r=`+strconv.Itoa(max(d.remaining, 0))+";t="+strconv.Itoa(ceilSeconds(d.resetAfter)))
		if !d.allowed {
			retry := max(ceilSeconds(d.retryAfter), 1)
			g.problem(c, errs.NewProblem(http.StatusTooManyRequests, "rate_limited", "Too many requests",
				"rate limit exceeded; retry after "+strconv.Itoa(retry)+" s").WithRetryAfter(retry))
			return
		}
		c.Next()
	}
}

func ceilSeconds(d time.Duration) int { return int(math.Ceil(d.Seconds())) }
