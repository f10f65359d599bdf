package store

import (
	"context"
	"database/sql"
	"errors"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/retailbridge/retailbridge/pkg/errs"
)

// Tx is a transaction in progress. It is valid only inside the function given to InTx.
type Tx struct {
	tx          *sql.Tx
	dialect     Dialect
	afterCommit []func()
	// touched marks the watched tables this transaction named, whose counters move once it
	// commits (cache.go).
	touched *touched
	// statements is the DB's statement counter.
	statements *atomic.Uint64
	// stmtCtx, when set (a grouped SQLite transaction, group.go), replaces the caller's context
	// for statements: cancelling one would roll back the other members' work too.
	stmtCtx context.Context
}

func (tx *Tx) ctx(ctx context.Context) context.Context {
	if tx.stmtCtx != nil {
		return tx.stmtCtx
	}
	return ctx
}

// Dialect returns the engine the transaction runs on.
func (tx *Tx) Dialect() Dialect { return tx.dialect }

// Exec runs a statement written with $N placeholders.
func (tx *Tx) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	tx.touched.mark(query)
	tx.statements.Add(1)
	return tx.tx.ExecContext(tx.ctx(ctx), tx.dialect.Rebind(query), args...)
}

// Query runs a query written with $N placeholders.
func (tx *Tx) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	tx.touched.mark(query)
	tx.statements.Add(1)
	return tx.tx.QueryContext(tx.ctx(ctx), tx.dialect.Rebind(query), args...)
}

// QueryRow runs a single-row query written with $N placeholders.
func (tx *Tx) QueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	tx.touched.mark(query)
	tx.statements.Add(1)
	return tx.tx.QueryRowContext(tx.ctx(ctx), tx.dialect.Rebind(query), args...)
}

// AfterCommit registers f to run once the transaction has committed; it never runs for an attempt
// that rolls back. Use it to nudge workers (an outbox relay), never for effects that must not be
// lost: the process may die between the commit and f.
func (tx *Tx) AfterCommit(f func()) { tx.afterCommit = append(tx.afterCommit, f) }

// TxOptions choose a transaction's isolation. The zero value is the engine's default: READ
// COMMITTED on PostgreSQL; SQLite transactions are always serializable.
type TxOptions struct {
	// Isolation applies to PostgreSQL only. With sql.LevelSerializable or LevelRepeatableRead,
	// serialization failures are retried by InTxWith.
	Isolation sql.IsolationLevel
	// ReadOnly runs the transaction on SQLite's read-only pool and as READ ONLY on PostgreSQL.
	ReadOnly bool
}

// InTx runs fn in a transaction with default options; see InTxWith.
func (db *DB) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	return db.InTxWith(ctx, TxOptions{}, fn)
}

// InTxWith runs fn in a transaction and commits when fn returns nil. When the engine reports a
// conflict that is safe to retry — SQLite BUSY, a PostgreSQL serialization failure or deadlock —
// the whole transaction runs again, so fn must confine its effects to tx. fn's own errors are
// returned unchanged; a conflict that outlasts every attempt comes back as a retryable
// errs.Unavailable with reason "store_contention". A panic in fn rolls back and re-panics.
func (db *DB) InTxWith(ctx context.Context, opts TxOptions, fn func(tx *Tx) error) error {
	delay := db.opts.TxBackoff
	var err error
	for attempt := 1; ; attempt++ {
		err = db.runTx(ctx, opts, fn)
		if err == nil || !isTxConflict(err) {
			return err
		}
		if attempt >= db.opts.TxAttempts {
			break
		}
		// Jitter keeps competing writers from colliding again in lockstep.
		sleep := delay/2 + rand.N(delay/2+1)
		t := time.NewTimer(sleep)
		select {
		case <-ctx.Done():
			t.Stop()
			return errors.Join(err, ctx.Err())
		case <-t.C:
		}
		if delay < 32*db.opts.TxBackoff {
			delay *= 2
		}
	}
	return errs.Wrap(err, errs.Unavailable, "store_contention", "the database is busy; try again")
}

func (db *DB) runTx(ctx context.Context, opts TxOptions, fn func(tx *Tx) error) (err error) {
	if db.group != nil && !opts.ReadOnly {
		return db.runGrouped(ctx, fn)
	}
	pool := db.write
	var sqlOpts *sql.TxOptions
	switch db.dialect {
	case Postgres:
		sqlOpts = &sql.TxOptions{Isolation: opts.Isolation, ReadOnly: opts.ReadOnly}
	case SQLite:
		// SQLite is serializable whatever is asked; read-only work goes to the read-only pool,
		// which begins DEFERRED and so never takes the write lock.
		if opts.ReadOnly {
			pool = db.read
		}
	}
	sqlTx, err := pool.BeginTx(ctx, sqlOpts)
	if err != nil {
		return err
	}
	tx := &Tx{tx: sqlTx, dialect: db.dialect, statements: &db.statements}
	if !opts.ReadOnly {
		tx.touched = db.watches.begin()
	}
	defer func() {
		if p := recover(); p != nil {
			_ = sqlTx.Rollback()
			panic(p)
		}
	}()
	if err := fn(tx); err != nil {
		_ = sqlTx.Rollback()
		return err
	}
	// Counted as the COMMIT is issued, and taken back if it fails, so that whoever sees the
	// transaction's effects also sees it counted (group.go, finish).
	if !opts.ReadOnly {
		db.writeTxs.Add(1)
		db.commits.Add(1)
	}
	if err := sqlTx.Commit(); err != nil {
		if !opts.ReadOnly {
			db.writeTxs.Add(^uint64(0))
			db.commits.Add(^uint64(0))
		}
		// An unknown outcome (the commit may have landed): the watched counters move anyway.
		tx.touched.commit()
		return err
	}
	tx.touched.commit()
	for _, f := range tx.afterCommit {
		f()
	}
	return nil
}

// isTxConflict reports whether err means "run the whole transaction again".
func isTxConflict(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff { // primary result code; extended codes keep it in the low byte
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return true
		}
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "40001", "40P01": // serialization_failure, deadlock_detected
			return true
		}
	}
	return false
}

// IsConflict reports whether err is the engine saying two transactions collided, so that running
// the same work again may well succeed: a unique or primary-key violation (two writers picking the
// same key), a PostgreSQL serialization failure or deadlock, SQLite BUSY or LOCKED. InTx already
// reruns the last three by itself; a unique violation it returns, because business uniqueness
// ("one refund per return line") also shows up that way and only the caller knows which it is.
func IsConflict(err error) bool {
	return isTxConflict(err) || IsUniqueViolation(err)
}

// IsRetryable is the one classifier of "try again later" for work over the store: event
// consumers and the workflow runner retry what it accepts and dead-letter or fail the rest. An
// error classified through pkg/errs keeps its classification (a Conflict such as a version check
// that lost, an Unavailable, an AlreadyExists that is final), except Internal, the kind of
// anything unexpected; otherwise an engine conflict (IsConflict) is retryable.
func IsRetryable(err error) bool {
	if err == nil {
		return false
	}
	if e := errs.As(err); e != nil && (e.Retryable || e.Kind != errs.Internal) {
		return e.Retryable
	}
	return errs.IsRetryable(err) || IsConflict(err)
}

// IsUniqueViolation reports whether err is a unique or primary-key constraint violation, the way
// business uniqueness ("one refund per return line") shows up on either engine.
func IsUniqueViolation(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}
