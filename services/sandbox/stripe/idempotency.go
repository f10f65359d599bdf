package stripe

import (
	"slices"
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

// maxIdempotencyKeys bounds the keys the store holds. Stripe keeps every key for 24 hours; a
// sandbox doing so under a sustained load grows without bound, so past this many the oldest
// finished keys are forgotten first (a replay of one then executes again, as it would after
// 24 hours at Stripe).
const maxIdempotencyKeys = 100_000

// idempotencyStore keeps answers by key for IdempotencyTTL, at most max of them. The account has
// one API key, so keys need no further scoping.
type idempotencyStore struct {
	now func() time.Time
	max int

	mu        sync.Mutex
	entries   map[string]*idempotencyEntry
	lastSweep time.Time
}

func newIdempotencyStore(now func() time.Time) *idempotencyStore {
	return &idempotencyStore{now: now, max: maxIdempotencyKeys, entries: map[string]*idempotencyEntry{}, lastSweep: now()}
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
	if len(st.entries) >= st.max {
		st.shrink(now)
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

// shrink makes room when the store is full: expired keys go first, then the oldest finished
// eighth, so the cost of a scan is spread over many requests. Keys in flight are kept. The
// caller holds mu.
func (st *idempotencyStore) shrink(now time.Time) {
	st.lastSweep = now.Add(-time.Minute)
	st.sweep(now)
	if len(st.entries) < st.max {
		return
	}
	done := make([]time.Time, 0, len(st.entries))
	for _, e := range st.entries {
		if e.done {
			done = append(done, e.at)
		}
	}
	if len(done) == 0 {
		return
	}
	slices.SortFunc(done, func(a, b time.Time) int { return a.Compare(b) })
	cut := done[min(len(done)-1, max(st.max/8, 1)-1)]
	for k, e := range st.entries {
		if e.done && !e.at.After(cut) {
			delete(st.entries, k)
		}
	}
}

// size is how many keys the store holds.
func (st *idempotencyStore) size() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return len(st.entries)
}
