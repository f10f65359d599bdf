package cache

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestGetLoadsOnceWhileFresh(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	clock := func() time.Time { return now }
	c := New[string, int](time.Minute, 10, clock)
	var loads atomic.Int32
	load := func(context.Context) (int, error) { loads.Add(1); return 7, nil }

	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if v, _, err := c.Get(context.Background(), "k", load); err != nil || v != 7 {
				t.Errorf("Get = %d, %v; want 7, nil", v, err)
			}
		})
	}
	wg.Wait()
	if got := loads.Load(); got != 1 {
		t.Errorf("loads = %d, want 1", got)
	}
	now = now.Add(time.Minute)
	if _, _, err := c.Get(context.Background(), "k", load); err != nil {
		t.Fatal(err)
	}
	if got := loads.Load(); got != 2 {
		t.Errorf("loads after expiry = %d, want 2", got)
	}
	c.Invalidate("k")
	_, _, _ = c.Get(context.Background(), "k", load)
	if got := loads.Load(); got != 3 {
		t.Errorf("loads after invalidate = %d, want 3", got)
	}
}

func TestErrorsAreNotCached(t *testing.T) {
	t.Parallel()
	c := New[string, int](time.Minute, 10, nil)
	boom := errors.New("boom")
	if _, _, err := c.Get(context.Background(), "k", func(context.Context) (int, error) { return 0, boom }); !errors.Is(err, boom) {
		t.Fatalf("got %v, want boom", err)
	}
	v, _, err := c.Get(context.Background(), "k", func(context.Context) (int, error) { return 3, nil })
	if err != nil || v != 3 {
		t.Errorf("got %d, %v; want 3, nil", v, err)
	}
}

func TestEvictsAtCapacity(t *testing.T) {
	t.Parallel()
	c := New[string, int](time.Minute, 2, nil)
	for _, k := range []string{"a", "b", "c"} {
		_, _, _ = c.Get(context.Background(), k, func(context.Context) (int, error) { return 1, nil })
	}
	if got := c.Len(); got != 2 {
		t.Errorf("Len = %d, want 2", got)
	}
}

func TestPeekSeesOnlyFreshEntries(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	c := New[string, int](time.Minute, 10, func() time.Time { return now })
	if _, _, ok := c.Peek("k"); ok {
		t.Fatal("Peek on an empty cache = ok, want a miss")
	}
	c.Put("k", 4)
	v, asOf, ok := c.Peek("k")
	if !ok || v != 4 || !asOf.Equal(now) {
		t.Errorf("Peek = %d, %v, %t; want 4, %v, true", v, asOf, ok, now)
	}
	now = now.Add(time.Minute)
	if _, _, ok := c.Peek("k"); ok {
		t.Error("Peek of an expired entry = ok, want a miss")
	}
	if hits, misses := c.Stats(); hits != 1 || misses != 2 {
		t.Errorf("Stats = %d hits, %d misses; want 1, 2", hits, misses)
	}
}
