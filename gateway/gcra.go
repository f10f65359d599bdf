package gateway

import (
	"sync"
	"time"
)

// processGCRA is the limiter's state kept in this process: the same GCRA as the Redis script
// (redis_rate's allowN: theoretical arrival time per key, burst offset, the same remaining,
// retry-after and reset-after), without a round trip. It is exact only while this process is
// the only gateway, which is what `retailbridge dev` with its embedded Redis is: that Redis
// listens on a loopback port nobody else is told, so no replica can share it. With REDIS_URL
// set the state stays in Redis, where every replica sees it.
//
// It holds at most maxKeys callers. A key whose theoretical arrival time has passed carries no
// state (a fresh key decides the same), so it is dropped first; only when more than maxKeys
// callers are all inside their window at once are the oldest-looking dropped, which lets each of
// those callers start over with a full burst — the same as Redis evicting a key under
// maxmemory.
type processGCRA struct {
	now     func() time.Time
	maxKeys int

	mu  sync.Mutex
	tat map[string]int64 // theoretical arrival time, unix nanoseconds
}

func newProcessGCRA(now func() time.Time, maxKeys int) *processGCRA {
	return &processGCRA{now: now, maxKeys: maxKeys, tat: make(map[string]int64)}
}

// allow decides one request of cost 1 for key under p.
func (g *processGCRA) allow(key string, p RateLimit) decision {
	emission := int64(p.Period) / int64(max(p.Rate, 1))
	burstOffset := emission * int64(p.Burst)
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now().UnixNano()
	tat, ok := g.tat[key]
	if !ok || tat < now {
		tat = now
	}
	newTat := tat + emission
	diff := now - (newTat - burstOffset)
	if diff < 0 {
		return decision{allowed: false, retryAfter: time.Duration(-diff), resetAfter: time.Duration(tat - now)}
	}
	if !ok && len(g.tat) >= g.maxKeys {
		g.evict(now)
	}
	g.tat[key] = newTat
	return decision{allowed: true, remaining: int(diff / max(emission, 1)), retryAfter: -1, resetAfter: time.Duration(newTat - now)}
}

// evict drops the keys whose window has passed; if that frees nothing, it drops an eighth of the
// keys (map order: arbitrary ones) so that the sweep's cost is spread over many requests.
func (g *processGCRA) evict(now int64) {
	for k, t := range g.tat {
		if t <= now {
			delete(g.tat, k)
		}
	}
	if len(g.tat) < g.maxKeys {
		return
	}
	drop := max(g.maxKeys/8, 1)
	for k := range g.tat {
		if drop == 0 {
			break
		}
		delete(g.tat, k)
		drop--
	}
}

// size is how many callers the state holds.
func (g *processGCRA) size() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.tat)
}
