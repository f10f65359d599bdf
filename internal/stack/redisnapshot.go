package stack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// The embedded Redis of `dev` (miniredis) lives in memory. So that restarting `make run` keeps
// the gateway's idempotency records (a replay after a restart still answers
// Idempotent-Replayed: true), webhook dedup and rate-limit state, its keys are snapshotted with
// their remaining TTLs to <data>/redis-snapshot.json every redisSnapshotEvery and on shutdown,
// and restored at startup, minus the time the stack was down. A crash loses at most the last
// interval's writes, which the process services' own idempotency keys still guard.
//
// miniredis never expires keys by itself; the same loop moves its clock with real time, so
// records expire in development as they do in Redis.
const (
	redisSnapshotFile  = "redis-snapshot.json"
	redisSnapshotEvery = time.Second
)

// snapshotScript reads every key atomically (scripts run alone), so a record written by a
// script is never half in a snapshot.
var snapshotScript = redis.NewScript(`
local out = {}
for _, k in ipairs(redis.call('KEYS', '*')) do
  local t = redis.call('TYPE', k)
  if type(t) == 'table' then t = t['ok'] end
  local v = nil
  if t == 'string' then v = {redis.call('GET', k)}
  elseif t == 'hash' then v = redis.call('HGETALL', k)
  elseif t == 'list' then v = redis.call('LRANGE', k, 0, -1)
  elseif t == 'set' then v = redis.call('SMEMBERS', k)
  elseif t == 'zset' then v = redis.call('ZRANGE', k, 0, -1, 'WITHSCORES')
  end
  if v ~= nil then
    table.insert(out, {k, t, tostring(redis.call('PTTL', k)), v})
  end
end
return cjson.encode(out)
`)

// redisSnapshot is the file's content.
type redisSnapshot struct {
	SavedAt time.Time     `json:"saved_at"`
	Keys    []snapshotKey `json:"keys"`
}

// snapshotKey is one key: its name, type, TTL in milliseconds (-1 = none) and values (a
// string's value, a hash's fields and values, a list's or set's members, a sorted set's members
// and scores).
type snapshotKey struct {
	Key    string   `json:"key"`
	Type   string   `json:"type"`
	TTLms  int64    `json:"ttl_ms"`
	Values []string `json:"values"`
}

// startEmbeddedRedis starts the development Redis on loopback with the state of the last run,
// and keeps that state on disk while the stack runs.
func (s *Stack) startEmbeddedRedis() (string, error) {
	m, url, err := startEmbeddedRedis()
	if err != nil {
		return "", err
	}
	path := filepath.Join(s.opts.Config.DataDir, redisSnapshotFile)
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr()})
	if n, err := restoreRedis(s.ctx, rdb, path, time.Now()); err != nil {
		s.logger.Warn("embedded redis: the previous run's state was not restored", "file", path, "error", err.Error())
	} else if n > 0 {
		s.logger.Info("embedded redis: restored the previous run's keys", "keys", n)
	}
	save := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := saveRedis(ctx, rdb, path, time.Now()); err != nil {
			s.logger.Warn("embedded redis: snapshot failed", "file", path, "error", err.Error())
		}
	}
	s.wg.Go(func() { s.keepRedisSnapshot(m, save) })
	s.closers = append(s.closers, func() { save(); _ = rdb.Close(); m.Close() })
	return url, nil
}

// keepRedisSnapshot moves the embedded Redis's clock and snapshots it when it changed, until
// the stack stops (the final snapshot is a closer, taken after the gateway stopped).
func (s *Stack) keepRedisSnapshot(m *miniredis.Miniredis, save func()) {
	t := time.NewTicker(redisSnapshotEvery)
	defer t.Stop()
	last, commands := time.Now(), -1
	for {
		select {
		case <-s.ctx.Done():
			return
		case now := <-t.C:
			m.FastForward(now.Sub(last))
			last = now
			if c := m.CommandCount(); c != commands {
				save()
				commands = m.CommandCount() // the snapshot's own commands are not changes
			}
		}
	}
}

// saveRedis writes every key of rdb to path, atomically.
func saveRedis(ctx context.Context, rdb *redis.Client, path string, now time.Time) error {
	raw, err := snapshotScript.Run(ctx, rdb, nil).Text()
	if err != nil {
		return err
	}
	var rows [][]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &rows); err != nil {
		return fmt.Errorf("decode snapshot: %w", err)
	}
	snap := redisSnapshot{SavedAt: now.UTC(), Keys: make([]snapshotKey, 0, len(rows))}
	for _, r := range rows {
		var k snapshotKey
		var ttl string
		if len(r) != 4 || json.Unmarshal(r[0], &k.Key) != nil || json.Unmarshal(r[1], &k.Type) != nil ||
			json.Unmarshal(r[2], &ttl) != nil {
			return errors.New("malformed snapshot row")
		}
		// cjson encodes an empty table as {}: no values.
		_ = json.Unmarshal(r[3], &k.Values)
		if k.TTLms, err = strconv.ParseInt(ttl, 10, 64); err != nil {
			return fmt.Errorf("ttl of %q: %w", k.Key, err)
		}
		snap.Keys = append(snap.Keys, k)
	}
	b, err := json.Marshal(snap)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// restoreRedis loads the snapshot at path into rdb, shortening each TTL by the time since it
// was saved and leaving out what expired meanwhile. It returns how many keys it restored.
func restoreRedis(ctx context.Context, rdb *redis.Client, path string, now time.Time) (int, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var snap redisSnapshot
	if err := json.Unmarshal(b, &snap); err != nil {
		return 0, err
	}
	down := max(now.Sub(snap.SavedAt), 0)
	n := 0
	_, err = rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range snap.Keys {
			ttl := time.Duration(k.TTLms) * time.Millisecond
			if k.TTLms >= 0 {
				if ttl -= down; ttl <= 0 {
					continue
				}
			}
			if !restoreKey(ctx, p, k) {
				continue
			}
			if k.TTLms >= 0 {
				p.PExpire(ctx, k.Key, ttl)
			}
			n++
		}
		return nil
	})
	return n, err
}

func restoreKey(ctx context.Context, p redis.Pipeliner, k snapshotKey) bool {
	vals := make([]any, len(k.Values))
	for i, v := range k.Values {
		vals[i] = v
	}
	switch {
	case len(vals) == 0:
		return false
	case k.Type == "string":
		p.Set(ctx, k.Key, k.Values[0], 0)
	case k.Type == "hash":
		p.HSet(ctx, k.Key, vals...)
	case k.Type == "list":
		p.RPush(ctx, k.Key, vals...)
	case k.Type == "set":
		p.SAdd(ctx, k.Key, vals...)
	case k.Type == "zset":
		zs := make([]redis.Z, 0, len(k.Values)/2)
		for i := 0; i+1 < len(k.Values); i += 2 {
			score, err := strconv.ParseFloat(k.Values[i+1], 64)
			if err != nil {
				return false
			}
			zs = append(zs, redis.Z{Member: k.Values[i], Score: score})
		}
		p.ZAdd(ctx, k.Key, zs...)
	default:
		return false
	}
	return true
}
