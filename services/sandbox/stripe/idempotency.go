package stripe

import (
	"sync"
	"time"
)

// keyState is what the idempotency store says about a request's key.
type keyState int

const (
	keyFresh    keyState = iota // first use (or the earlier one expired): execute and store
	keyReplay                   // answered before with the same parameters: replay
	keyInFlight                 // the first request with this key is still executing: 409
	keyMismatch                 // used before with other parameters: 400
)

// idempotencyEntry is one key's first request and, once it finished, its answer.
type idempotencyEntry struct {
	fingerprint string // method, path and sorted parameters
	requestID   string // the first request's id, sent back as Original-Request on replays
	done        bool
	res         result
	at          time.Time
}

// idempotencyStore keeps answers by key for IdempotencyTTL. The account has one API key, so
// keys need no further scoping.
type idempotencyStore struct {
	now func() time.Time

	mu        sync.Mutex
	entries   map[string]*idempotencyEntry
	lastSweep time.Time
}

func newIdempotencyStore(now func() time.Time) *idempotencyStore {
	return &idempotencyStore{now: now, entries: map[string]*idempotencyEntry{}, lastSweep: now()}
}

// begin looks key up for a request with fingerprint. A fresh key is reserved as in flight until
// finish; for a replay, the first request's entry is returned (a copy: it no longer changes).
func (st *idempotencyStore) begin(key, fingerprint, requestID string) (idempotencyEntry, keyState) {
	now := st.now()
	st.mu.Lock()
	defer st.mu.Unlock()
	st.sweep(now)
	if e, ok := st.entries[key]; ok && now.Sub(e.at) < IdempotencyTTL {
		switch {
		case e.fingerprint != fingerprint:
			return idempotencyEntry{}, keyMismatch
		case !e.done:
			return idempotencyEntry{}, keyInFlight
		default:
			return *e, keyReplay
		}
	}
	st.entries[key] = &idempotencyEntry{fingerprint: fingerprint, requestID: requestID, at: now}
	return idempotencyEntry{}, keyFresh
}

// finish stores res under key when the endpoint executed, and forgets the key when it did not,
// so a corrected request with the same key runs.
func (st *idempotencyStore) finish(key string, res result) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if !res.executed {
		delete(st.entries, key)
		return
	}
	if e, ok := st.entries[key]; ok {
		e.done, e.res = true, res
	}
}

// sweep prunes expired keys, at most once a minute of the store's clock. The caller holds mu.
func (st *idempotencyStore) sweep(now time.Time) {
	if now.Sub(st.lastSweep) < time.Minute {
		return
	}
	st.lastSweep = now
	for k, e := range st.entries {
		if e.done && now.Sub(e.at) >= IdempotencyTTL {
			delete(st.entries, k)
		}
	}
}
