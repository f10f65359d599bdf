// Package cache is the read-through cache process services keep in front of system APIs:
// entries are fresh for a TTL, concurrent misses for one key cost one load, and entries can be
// invalidated when a webhook says the source changed.
package cache

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

// Cache maps string-like keys to values loaded on miss.
type Cache[K ~string, V any] struct {
	ttl        time.Duration
	maxEntries int
	now        func() time.Time

	mu      sync.RWMutex
	entries map[K]entry[V]
	flight  singleflight.Group

	hits, misses atomic.Int64
}

type entry[V any] struct {
	value V
	asOf  time.Time
}

// New returns a cache whose entries stay fresh for ttl, holding at most maxEntries.
func New[K ~string, V any](ttl time.Duration, maxEntries int, now func() time.Time) *Cache[K, V] {
	if now == nil {
		now = time.Now
	}
	return &Cache[K, V]{ttl: ttl, maxEntries: maxEntries, now: now, entries: make(map[K]entry[V])}
}

// Get returns the value for key and when it was loaded, calling load on a miss or a stale entry.
// Concurrent misses for the same key share one load. Errors are not cached.
func (c *Cache[K, V]) Get(ctx context.Context, key K, load func(context.Context) (V, error)) (V, time.Time, error) {
	if e, ok := c.fresh(key); ok {
		c.hits.Add(1)
		return e.value, e.asOf, nil
	}
	c.misses.Add(1)
	res, err, _ := c.flight.Do(string(key), func() (any, error) {
		// A load that finished between our miss and this flight already filled the entry.
		if e, ok := c.fresh(key); ok {
			return e, nil
		}
		// The shared load must not die because the first caller went away: it keeps the
		// caller's values and deadline, not its cancellation.
		lctx := context.WithoutCancel(ctx)
		if dl, ok := ctx.Deadline(); ok {
			var cancel context.CancelFunc
			lctx, cancel = context.WithDeadline(lctx, dl)
			defer cancel()
		}
		v, err := load(lctx)
		if err != nil {
			return nil, err
		}
		e := entry[V]{value: v, asOf: c.now()}
		c.put(key, e)
		return e, nil
	})
	if err != nil {
		var zero V
		return zero, time.Time{}, err
	}
	e := res.(entry[V])
	return e.value, e.asOf, nil
}

// Peek returns the value for key and when it was loaded if a fresh entry is held, without loading.
// Callers that batch their loads (one backend call for many keys) Peek every key, fetch the
// missing ones together and Put them. Peek counts as a hit or a miss like Get.
func (c *Cache[K, V]) Peek(key K) (V, time.Time, bool) {
	if e, ok := c.fresh(key); ok {
		c.hits.Add(1)
		return e.value, e.asOf, true
	}
	c.misses.Add(1)
	var zero V
	return zero, time.Time{}, false
}

func (c *Cache[K, V]) fresh(key K) (entry[V], bool) {
	if c.ttl <= 0 {
		return entry[V]{}, false
	}
	c.mu.RLock()
	e, ok := c.entries[key]
	c.mu.RUnlock()
	return e, ok && c.now().Sub(e.asOf) < c.ttl
}

// Put stores value for key as loaded now (used when a webhook carries the new state).
func (c *Cache[K, V]) Put(key K, value V) { c.put(key, entry[V]{value: value, asOf: c.now()}) }

// Invalidate drops key, so the next Get loads from the source.
func (c *Cache[K, V]) Invalidate(key K) {
	c.mu.Lock()
	delete(c.entries, key)
	c.mu.Unlock()
	c.flight.Forget(string(key))
}

// Stats returns hit and miss counts since creation.
func (c *Cache[K, V]) Stats() (hits, misses int64) { return c.hits.Load(), c.misses.Load() }

// Len returns the number of entries held.
func (c *Cache[K, V]) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
}

func (c *Cache[K, V]) put(key K, e entry[V]) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[key]; !ok && len(c.entries) >= c.maxEntries {
		c.evictLocked()
	}
	c.entries[key] = e
}

// evictLocked drops expired entries, or one arbitrary entry when none has expired.
func (c *Cache[K, V]) evictLocked() {
	now := c.now()
	for k, e := range c.entries {
		if now.Sub(e.asOf) >= c.ttl {
			delete(c.entries, k)
		}
	}
	if len(c.entries) < c.maxEntries {
		return
	}
	for k := range c.entries {
		delete(c.entries, k)
		return
	}
}
