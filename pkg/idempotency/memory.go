package idempotency

import (
	"errors"
	"maps"
	"sync"
	"time"
)

// A process that is the only user of its Redis (the development stack's embedded server, which
// nothing else can reach) gains nothing from keeping records there: each Lua call would be
// interpreted afresh by the embedded server, for state no other process can read. Options.
// InProcess keeps the records in this process instead, with the same transitions as the
// scripts in record.go: begin takes the lock or reports the record, complete and release act
// only for the lock's owner, locks expire after LockTTL and records after Retention. Expiry
// follows Options.Now, the one clock of the process. Several gateway replicas must share Redis
// and never set InProcess.

// DefaultMaxRecordBytes bounds the response bodies an in-process store keeps (Options.
// MaxRecordBytes).
const DefaultMaxRecordBytes = 64 << 20

// DefaultMaxRecords bounds the records an in-process store keeps (Options.MaxRecords).
const DefaultMaxRecords = 100_000

// errMemoryFull is begin's answer when every record slot holds an unexpired record: the request
// is refused (503, like an unreachable Redis) rather than executed unguarded or forgetting a
// stored outcome.
var errMemoryFull = errors.New("idempotency: in-process store full of unexpired records")

// memRecord is one in-process record.
type memRecord struct {
	state   string
	fp      string
	token   string
	expires time.Time
	resp    stored
}

// memRecords is the in-process record store.
type memRecords struct {
	now        func() time.Time
	maxRecords int
	maxBytes   int
	mu         sync.Mutex
	records    map[string]*memRecord
	bytes      int // stored body bytes
	lastSweep  time.Time
}

func newMemRecords(opts Options) *memRecords {
	return &memRecords{now: opts.Now, maxRecords: opts.MaxRecords, maxBytes: opts.MaxRecordBytes,
		records: map[string]*memRecord{}, lastSweep: opts.Now()}
}

// live returns key's record unless it has expired (an expired one is dropped).
func (m *memRecords) live(key string, now time.Time) *memRecord {
	r := m.records[key]
	if r != nil && !now.Before(r.expires) {
		m.drop(key, r)
		return nil
	}
	return r
}

func (m *memRecords) drop(key string, r *memRecord) {
	m.bytes -= len(r.resp.body)
	delete(m.records, key)
}

// sweep drops every expired record.
func (m *memRecords) sweep(now time.Time) {
	for k, r := range m.records {
		if !now.Before(r.expires) {
			m.drop(k, r)
		}
	}
	m.lastSweep = now
}

// begin is beginScript in process.
func (m *memRecords) begin(key, fp, token string, lockTTL time.Duration) (outcome, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	r := m.live(key, now)
	if r == nil {
		// Sweep at most once a minute, or when full: the cost stays amortised over the inserts.
		if len(m.records) >= m.maxRecords || now.Sub(m.lastSweep) >= time.Minute {
			m.sweep(now)
		}
		if len(m.records) >= m.maxRecords {
			return outcome{}, errMemoryFull
		}
		m.records[key] = &memRecord{state: stateRunning, fp: fp, token: token, expires: now.Add(lockTTL)}
		return outcome{state: "acquired"}, nil
	}
	if r.fp != fp {
		return outcome{state: "mismatch"}, nil
	}
	if r.state == stateRunning {
		return outcome{state: stateRunning, lockMS: r.expires.Sub(now).Milliseconds()}, nil
	}
	resp := r.resp
	resp.header = maps.Clone(resp.header) // the replay adds its own headers to the map it gets
	return outcome{state: r.state, resp: resp}, nil
}

// complete is completeScript in process. A body that would push the store past its byte budget
// is not kept: the record becomes "executed, response not stored", as for an oversized body, so
// a retry is refused rather than executed again.
func (m *memRecords) complete(key, token, state string, resp stored, retention time.Duration) (memRecord, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	r := m.live(key, now)
	if r == nil || r.token != token {
		return memRecord{}, false
	}
	if m.bytes+len(resp.body) > m.maxBytes {
		m.sweep(now)
	}
	if m.bytes+len(resp.body) > m.maxBytes {
		state, resp.body = stateUnstored, nil
	}
	resp.body = append([]byte(nil), resp.body...) // the caller's buffer is reused by the response
	r.state, r.token, r.resp, r.expires = state, "", resp, now.Add(retention)
	m.bytes += len(resp.body)
	return *r, true
}

// put stores a completed record restored from Redis, expiring after ttl.
func (m *memRecords) put(key, fp, state string, resp stored, ttl time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if old := m.records[key]; old != nil {
		m.drop(key, old)
	}
	m.records[key] = &memRecord{state: state, fp: fp, expires: m.now().Add(ttl), resp: resp}
	m.bytes += len(resp.body)
}

// release is releaseScript in process.
func (m *memRecords) release(key, token string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.live(key, m.now())
	if r == nil || r.token != token {
		return false
	}
	m.drop(key, r)
	return true
}
