// Package audit is the log of privileged actions (refund overrides, cancellations, exception
// decisions, returns created on a customer's behalf, partner writes): append-only rows in the
// durable SQL store, each chained to the one before by a SHA-256 hash, so an entry altered,
// removed or inserted after the fact breaks the chain and Verify names the first broken link.
//
// The chain: entry n's hash is SHA-256(prev_hash ‖ canonical(entry n)), where prev_hash is entry
// n-1's hash (64 zeros for the first entry) and canonical is the entry's fields as JSON in a
// fixed order with times in RFC 3339 UTC microseconds. Appends are serialised (a PostgreSQL
// advisory lock, SQLite's single writer) and seq is the primary key, so concurrent gateways
// never fork the chain.
package audit

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/retailbridge/retailbridge/pkg/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Genesis is the prev_hash of the first entry.
var Genesis = strings.Repeat("0", 64)

// Entry is one privileged action.
type Entry struct {
	Seq           int64     `json:"seq"`
	At            time.Time `json:"at"`
	Actor         string    `json:"actor"`
	Tenant        string    `json:"tenant"`
	Action        string    `json:"action"`
	Outcome       int       `json:"outcome"`
	Origin        string    `json:"origin"`
	CorrelationID string    `json:"correlation_id"`
	PrevHash      string    `json:"prev_hash"`
	Hash          string    `json:"hash"`
}

// canonical is what an entry's hash covers, in a fixed field order.
func (e Entry) canonical() []byte {
	b, _ := json.Marshal(struct {
		Seq           int64  `json:"seq"`
		At            string `json:"at"`
		Actor         string `json:"actor"`
		Tenant        string `json:"tenant"`
		Action        string `json:"action"`
		Outcome       int    `json:"outcome"`
		Origin        string `json:"origin"`
		CorrelationID string `json:"correlation_id"`
	}{e.Seq, e.At.UTC().Format("2006-01-02T15:04:05.000000Z"), e.Actor, e.Tenant, e.Action, e.Outcome, e.Origin, e.CorrelationID})
	return b
}

// ChainHash is the hash of e chained after prev.
func ChainHash(prev string, e Entry) string {
	h := sha256.New()
	h.Write([]byte(prev))
	h.Write(e.canonical())
	return hex.EncodeToString(h.Sum(nil))
}

// Log is the audit log in a SQL database.
type Log struct {
	db  *store.DB
	now func() time.Time
}

// lockKey serialises appends on PostgreSQL.
var lockKey = func() int64 {
	h := fnv.New64a()
	h.Write([]byte("retailbridge/audit/append"))
	return int64(h.Sum64())
}()

// Open migrates db's audit table and returns the log.
func Open(ctx context.Context, db *store.DB, now func() time.Time) (*Log, error) {
	if err := db.Migrate(ctx, "audit", migrations); err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	return &Log{db: db, now: now}, nil
}

// Append adds e at the end of the chain (its Seq, At when zero, PrevHash and Hash are set here)
// and returns it as stored.
func (l *Log) Append(ctx context.Context, e Entry) (Entry, error) {
	if e.At.IsZero() {
		e.At = l.now()
	}
	e.At = e.At.UTC().Truncate(time.Microsecond)
	err := l.db.InTx(ctx, func(tx *store.Tx) error {
		if tx.Dialect() == store.Postgres {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockKey); err != nil {
				return err
			}
		}
		e.Seq, e.PrevHash = 1, Genesis
		var seq int64
		var hash string
		err := tx.QueryRow(ctx, `SELECT seq, hash FROM rb_audit_log ORDER BY seq DESC LIMIT 1`).Scan(&seq, &hash)
		switch {
		case err == nil:
			e.Seq, e.PrevHash = seq+1, hash
		case !errors.Is(err, sqlErrNoRows):
			return err
		}
		e.Hash = ChainHash(e.PrevHash, e)
		_, err = tx.Exec(ctx, `INSERT INTO rb_audit_log (seq, at_us, actor, tenant, action, outcome, origin, correlation_id, prev_hash, hash)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			e.Seq, e.At.UnixMicro(), e.Actor, e.Tenant, e.Action, e.Outcome, e.Origin, e.CorrelationID, e.PrevHash, e.Hash)
		return err
	})
	if err != nil {
		return Entry{}, fmt.Errorf("audit: append: %w", err)
	}
	return e, nil
}
