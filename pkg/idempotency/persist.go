package idempotency

import (
	"context"
	"encoding/json"
	"strconv"
	"time"
)

// An in-process store still writes every outcome through to its Redis, with plain commands in
// one pipelined round trip (no script), in the same layout the scripts use, and reads them back
// when it starts: the development stack snapshots its embedded Redis to the data directory, so
// a retry after a restart still replays. Locks are not written: a restart ends the requests that
// held them, so their keys are free at once.

// persist writes a completed record r to Redis (a released lock was never written, so a release
// has nothing to delete there).
func (s *Store) persist(ctx context.Context, key string, r memRecord, retention time.Duration) {
	if s.rdb == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	header, _ := json.Marshal(r.resp.header) // an http.Header always marshals
	pipe := s.rdb.Pipeline()
	pipe.Del(ctx, key) // a record of an earlier run under the same key, expired here
	pipe.HSet(ctx, key, "state", r.state, "fp", r.fp, "status", r.resp.status, "header", header, "body", r.resp.body,
		"completed", s.nowMS())
	pipe.PExpire(ctx, key, retention)
	if _, err := pipe.Exec(ctx); err != nil {
		s.opts.Logger.WarnContext(ctx, "idempotency record not written through to Redis; it is kept in process until a restart",
			"record", key, "error", err.Error())
	}
}

// restore loads the completed records of a previous run from Redis into the in-process store.
func (s *Store) restore(ctx context.Context) {
	if s.rdb == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 10*s.opts.Timeout)
	defer cancel()
	n := 0
	iter := s.rdb.Scan(ctx, 0, s.opts.KeyPrefix+"*", 1000).Iterator()
	for iter.Next(ctx) && n < s.opts.MaxRecords {
		key := iter.Val()
		f, err := s.rdb.HGetAll(ctx, key).Result()
		if err != nil {
			break
		}
		ttl, err := s.rdb.PTTL(ctx, key).Result()
		if err != nil || ttl <= 0 || (f["state"] != stateDone && f["state"] != stateUnstored) {
			continue
		}
		resp := stored{body: []byte(f["body"])}
		if resp.status, err = strconv.Atoi(f["status"]); err != nil || json.Unmarshal([]byte(f["header"]), &resp.header) != nil {
			continue
		}
		s.mem.put(key, f["fp"], f["state"], resp, ttl)
		n++
	}
	if err := iter.Err(); err != nil {
		s.opts.Logger.WarnContext(ctx, "idempotency records of the previous run not restored", "error", err.Error())
	}
}
