package stack

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
)

func embedded(t testing.TB) *redis.Client {
	t.Helper()
	m, url, err := startEmbeddedRedis()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// TestRedisSnapshotRoundTrip: every kind of key the gateway writes comes back after a restart
// with its value, and its TTL shortened by the downtime; what expired meanwhile does not.
func TestRedisSnapshotRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), redisSnapshotFile)
	src := embedded(t)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(src.HSet(ctx, "idem:a", "state", "done", "status", "201", "body", `{"id":"r1","note":"ünïcode \"quoted\""}`).Err())
	must(src.PExpire(ctx, "idem:a", time.Hour).Err())
	must(src.Set(ctx, "rate:x", "1733580000.5", 10*time.Second).Err())
	must(src.Set(ctx, "forever", "v", 0).Err())
	must(src.Set(ctx, "short", "gone", 2*time.Second).Err())
	must(src.RPush(ctx, "list", "a", "b", "a").Err())
	must(src.SAdd(ctx, "set", "x", "y").Err())
	must(src.ZAdd(ctx, "zset", redis.Z{Member: "m", Score: 1.5}, redis.Z{Member: "n", Score: -2}).Err())
	saved := time.Now()
	must(saveRedis(ctx, src, path, saved))

	dst := embedded(t)
	n, err := restoreRedis(ctx, dst, path, saved.Add(5*time.Second))
	must(err)
	if n != 6 {
		t.Errorf("restored %d keys, want 6 (the seventh expired while down)", n)
	}
	if got := dst.HGetAll(ctx, "idem:a").Val(); !cmp.Equal(got, src.HGetAll(ctx, "idem:a").Val()) {
		t.Errorf("hash: %v", got)
	}
	if ttl := dst.PTTL(ctx, "idem:a").Val(); ttl > time.Hour-5*time.Second || ttl < time.Hour-10*time.Second {
		t.Errorf("hash TTL %v, want an hour less the 5 s down", ttl)
	}
	if got := dst.Get(ctx, "rate:x").Val(); got != "1733580000.5" {
		t.Errorf("string: %q", got)
	}
	if ttl := dst.PTTL(ctx, "forever").Val(); ttl != -1 {
		t.Errorf("a key without TTL came back with %v", ttl)
	}
	if dst.Exists(ctx, "short").Val() != 0 {
		t.Error("a key that expired while the stack was down came back")
	}
	if got := dst.LRange(ctx, "list", 0, -1).Val(); !cmp.Equal(got, []string{"a", "b", "a"}) {
		t.Errorf("list: %v", got)
	}
	if got := dst.SMembers(ctx, "set").Val(); len(got) != 2 {
		t.Errorf("set: %v", got)
	}
	if got := dst.ZRangeWithScores(ctx, "zset", 0, -1).Val(); !cmp.Equal(got, []redis.Z{{Member: "n", Score: -2}, {Member: "m", Score: 1.5}}) {
		t.Errorf("zset: %v", got)
	}
	if n, err := restoreRedis(ctx, embedded(t), filepath.Join(t.TempDir(), "none.json"), saved); n != 0 || err != nil {
		t.Errorf("restoring without a snapshot: %d, %v", n, err)
	}
}
