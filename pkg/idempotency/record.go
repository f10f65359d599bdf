package idempotency

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Record states.
const (
	stateRunning  = "running"  // locked by an executing request
	stateDone     = "done"     // executed; status, headers and body stored
	stateUnstored = "unstored" // executed; body too large to store, status and headers kept
)

// beginScript takes the lock on a new record or reports the existing one. The fingerprint is
// compared before the state so a different body is refused the same way in flight and after.
//
//	KEYS[1] record   ARGV[1] fingerprint  ARGV[2] lock token  ARGV[3] lock TTL ms  ARGV[4] now ms
//
// Returns {"acquired"}, {"mismatch"}, {"running", pttl} or {state, status, header, body}.
var beginScript = redis.NewScript(`
local r = redis.call('HMGET', KEYS[1], 'state', 'fp', 'status', 'header', 'body')
if not r[1] then
  redis.call('HSET', KEYS[1], 'state', 'running', 'fp', ARGV[1], 'token', ARGV[2], 'started', ARGV[4])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return {'acquired'}
end
if r[2] ~= ARGV[1] then
  return {'mismatch'}
end
if r[1] == 'running' then
  return {'running', redis.call('PTTL', KEYS[1])}
end
return {r[1], r[3] or '', r[4] or '', r[5] or ''}
`)

// completeScript stores the outcome and drops the lock in one step, but only for the lock's
// owner: a request that outlived its lock must not overwrite the record of the one that took
// the key over.
//
//	KEYS[1] record  ARGV[1] token  ARGV[2] state  ARGV[3] status  ARGV[4] header JSON
//	ARGV[5] body    ARGV[6] retention ms          ARGV[7] now ms
//
// Returns 1 when stored, 0 when the lock was lost.
var completeScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] then
  return 0
end
redis.call('HDEL', KEYS[1], 'token')
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'status', ARGV[3], 'header', ARGV[4], 'body', ARGV[5], 'completed', ARGV[7])
redis.call('PEXPIRE', KEYS[1], ARGV[6])
return 1
`)

// releaseScript deletes the record if the caller still owns its lock, so the key is free for a
// retry. Returns 1 when released, 0 when the lock was lost.
//
//	KEYS[1] record  ARGV[1] token
var releaseScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] then
  return 0
end
return redis.call('DEL', KEYS[1])
`)

// outcome is what begin found.
type outcome struct {
	state  string // "acquired", "mismatch", or a record state
	lockMS int64  // remaining lock lifetime when running
	resp   stored
}

// stored is a stored response.
type stored struct {
	status int
	header http.Header
	body   []byte
}

func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

func (s *Store) nowMS() string { return strconv.FormatInt(s.opts.Now().UnixMilli(), 10) }

// begin locks the record at key for token, or returns what is already there.
func (s *Store) begin(ctx context.Context, key, fp, token string) (outcome, error) {
	if s.mem != nil {
		return s.mem.begin(key, fp, token, s.opts.LockTTL)
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	v, err := beginScript.Run(ctx, s.rdb, []string{key}, fp, token, s.opts.LockTTL.Milliseconds(), s.nowMS()).Slice()
	if err != nil {
		return outcome{}, err
	}
	if len(v) == 0 {
		return outcome{}, fmt.Errorf("idempotency: empty reply from begin script")
	}
	var o outcome
	o.state, _ = v[0].(string)
	switch o.state {
	case "acquired", "mismatch":
		return o, nil
	case stateRunning:
		if len(v) == 2 {
			o.lockMS, _ = v[1].(int64)
		}
		return o, nil
	case stateDone, stateUnstored:
		if len(v) != 4 {
			break
		}
		status, _ := v[1].(string)
		header, _ := v[2].(string)
		body, _ := v[3].(string)
		o.resp.status, err = strconv.Atoi(status)
		if err != nil {
			break
		}
		if err = json.Unmarshal([]byte(header), &o.resp.header); err != nil {
			break
		}
		o.resp.body = []byte(body)
		return o, nil
	}
	return outcome{}, fmt.Errorf("idempotency: malformed record (state %q)", o.state)
}

// complete stores resp under state and drops token's lock; false means the lock was lost.
func (s *Store) complete(ctx context.Context, key, token, state string, resp stored) (bool, error) {
	if s.mem != nil {
		r, ok := s.mem.complete(key, token, state, resp, s.opts.Retention)
		if ok {
			s.persist(ctx, key, r, s.opts.Retention)
		}
		return ok, nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	header, err := json.Marshal(resp.header)
	if err != nil {
		return false, err
	}
	n, err := completeScript.Run(ctx, s.rdb, []string{key}, token, state, resp.status, header, resp.body,
		s.opts.Retention.Milliseconds(), s.nowMS()).Int()
	return n == 1, err
}

// release frees the record locked by token; false means the lock was lost.
func (s *Store) release(ctx context.Context, key, token string) (bool, error) {
	if s.mem != nil {
		return s.mem.release(key, token), nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	n, err := releaseScript.Run(ctx, s.rdb, []string{key}, token).Int()
	return n == 1, err
}

// lockRemaining converts a PTTL reply to a duration; negative replies mean no expiry info.
func lockRemaining(ms int64) time.Duration {
	if ms < 0 {
		return 0
	}
	return time.Duration(ms) * time.Millisecond
}
