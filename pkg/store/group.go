package store

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// Group commit (SQLite only).
//
// SQLite has one writer connection, and every commit in WAL mode with synchronous=FULL costs a
// WAL append and an fsync. Most writers of a process service (the workflow runner recording a
// step, a consumer recording an inbox row and its signal, a return being created) run small
// transactions of a few statements each, so the fsync, not the statements, bounds the rate. The
// group commits several of those transactions at once: while one caller's transaction runs on
// the open database transaction, the callers arriving queue for their turn; when it finishes,
// its work is kept in a savepoint and the turn passes to the next in line, which adds its own
// work to the same database transaction; whoever finishes when nobody waits (or when the group
// is full or 10 ms old) commits once for all of them and wakes them with the one outcome.
//
// What each caller sees is unchanged: its function runs alone on the writer (one at a time, in
// arrival order, each seeing the writes of the ones before), its effects commit atomically or
// not at all, and InTx returns only once they are durable. A function that fails is rolled back
// to its savepoint and leaves the others' work in place. If the shared COMMIT fails, every member
// gets that error (a conflict reruns each member's whole function, as before). Statements run
// with a context that is not cancelled: interrupting a statement makes SQLite roll back the
// whole database transaction, which would take the other members' work with it. Instead a
// caller whose context has ended by the time its function returns is rolled back to its
// savepoint and gets the context's error, as database/sql does with a cancelled transaction.

// maxGroup and maxGroupAge bound how many transactions share one commit and for how long one
// stays open, so that the first member's wait for the later members' statements stays short
// (a consumer's handler may be slow, and each member's function runs in turn).
const (
	maxGroup    = 64
	maxGroupAge = 10 * time.Millisecond
)

// group is the SQLite writer's turn-taking and its open database transaction.
type group struct {
	db *sql.DB
	// txs and commits count the callers' transactions and the database transactions committed
	// (DB.Commits).
	txs, commits *atomic.Uint64
	// maxAge is maxGroupAge (tests that must see a group form raise it).
	maxAge time.Duration

	mu    sync.Mutex
	busy  bool      // a caller holds the turn (runs its function, or commits)
	queue []*waiter // callers waiting for the turn, oldest first
	open  *batch    // the database transaction being filled, nil between commits
}

type waiter struct{ turn chan struct{} }

// batch is one database transaction shared by up to maxGroup callers.
type batch struct {
	tx      *sql.Tx
	began   time.Time
	members int           // callers whose work it holds (their savepoints were released)
	done    chan struct{} // closed once committed or rolled back
	err     error         // the outcome, valid once done is closed
	broken  error         // set when a savepoint could not be rolled back: the batch must not commit
}

func newGroup(db *sql.DB, txs, commits *atomic.Uint64) *group {
	return &group{db: db, txs: txs, commits: commits, maxAge: maxGroupAge}
}

// enter waits for the caller's turn on the writer; on error the caller does not hold it.
func (g *group) enter(ctx context.Context) error {
	g.mu.Lock()
	if !g.busy {
		g.busy = true
		g.mu.Unlock()
		return nil
	}
	w := &waiter{turn: make(chan struct{})}
	g.queue = append(g.queue, w)
	g.mu.Unlock()
	select {
	case <-w.turn:
		return nil
	case <-ctx.Done():
	}
	g.mu.Lock()
	for i, q := range g.queue {
		if q == w {
			g.queue = append(g.queue[:i], g.queue[i+1:]...)
			g.mu.Unlock()
			return ctx.Err()
		}
	}
	g.mu.Unlock()
	// The turn was handed over as ctx ended: pass it on, contributing nothing.
	g.leave(nil)
	return ctx.Err()
}

// leave ends the caller's turn. With joined set, the caller's work is in the open batch: the
// turn passes to the next caller when one waits and the batch has room, and otherwise the
// batch commits now. It returns the batch the caller must wait for (nil when it joined none).
func (g *group) leave(joined *batch) *batch {
	g.mu.Lock()
	b := g.open
	if b != nil && len(g.queue) > 0 && b.members < maxGroup && b.broken == nil && time.Since(b.began) < g.maxAge {
		g.handOver()
		g.mu.Unlock()
		return joined
	}
	g.open = nil
	g.mu.Unlock()
	if b != nil {
		b.finish(g.txs, g.commits)
	}
	g.mu.Lock()
	if len(g.queue) > 0 {
		g.handOver()
	} else {
		g.busy = false
	}
	g.mu.Unlock()
	return joined
}

// handOver gives the turn to the oldest waiter; g.mu is held and busy stays set.
func (g *group) handOver() {
	w := g.queue[0]
	g.queue = g.queue[1:]
	close(w.turn)
}

// finish commits the batch (or rolls it back when it is broken or empty) and wakes its members.
// The counters move as the COMMIT is issued, and back if it fails: whoever sees the batch's
// effects in the database then also sees them counted (a test that waits for a state and then
// reads DB.Commits must not race the members' wake-up).
func (b *batch) finish(txs, commits *atomic.Uint64) {
	switch {
	case b.broken != nil:
		_ = b.tx.Rollback()
		b.err = b.broken
	case b.members == 0:
		b.err = b.tx.Rollback()
	default:
		n := uint64(b.members)
		txs.Add(n)
		commits.Add(1)
		if b.err = b.tx.Commit(); b.err != nil {
			txs.Add(^(n - 1))
			commits.Add(^uint64(0))
			_ = b.tx.Rollback()
		}
	}
	close(b.done)
}

// batch returns the open database transaction, beginning one when none is open; the caller
// holds the turn.
func (g *group) batch() (*batch, error) {
	g.mu.Lock()
	b := g.open
	g.mu.Unlock()
	if b != nil {
		return b, nil
	}
	// Not the caller's context: the transaction outlives the caller that began it.
	tx, err := g.db.BeginTx(context.Background(), nil)
	if err != nil {
		return nil, err
	}
	b = &batch{tx: tx, began: time.Now(), done: make(chan struct{})}
	g.mu.Lock()
	g.open = b
	g.mu.Unlock()
	return b, nil
}

// runGrouped runs fn as one member of a group commit; see the comment at the top of the file.
func (db *DB) runGrouped(ctx context.Context, fn func(tx *Tx) error) (err error) {
	if err := db.group.enter(ctx); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		// As database/sql does with a transaction begun on a context that ended.
		db.group.leave(nil)
		return err
	}
	b, err := db.group.batch()
	if err != nil {
		db.group.leave(nil)
		return err
	}
	stmtCtx := context.WithoutCancel(ctx)
	if _, err := b.tx.ExecContext(stmtCtx, "SAVEPOINT rb_member"); err != nil {
		b.broken = err
		db.group.leave(nil)
		return err
	}
	tx := &Tx{tx: b.tx, dialect: db.dialect, statements: &db.statements, touched: db.watches.begin(), stmtCtx: stmtCtx}
	defer func() {
		if p := recover(); p != nil {
			b.undo(stmtCtx)
			db.group.leave(nil)
			panic(p)
		}
	}()
	err = fn(tx)
	if err == nil {
		// A context that ended while fn ran rolls its work back, as database/sql rolls back a
		// transaction whose context ends before the commit: callers rely on it (a workflow
		// runner that is stopping must not record its cancelled call as the step's outcome).
		err = ctx.Err()
	}
	if err != nil {
		b.undo(stmtCtx)
		db.group.leave(nil)
		return err
	}
	if _, err := b.tx.ExecContext(stmtCtx, "RELEASE rb_member"); err != nil {
		b.undo(stmtCtx)
		db.group.leave(nil)
		return err
	}
	b.members++
	<-db.group.leave(b).done
	if b.err != nil {
		// An unknown outcome (the commit may have landed): the watched counters move anyway.
		tx.touched.commit()
		return b.err
	}
	tx.touched.commit()
	for _, f := range tx.afterCommit {
		f()
	}
	return nil
}

// undo rolls the member's savepoint back; if that fails, the batch can no longer be trusted and
// is rolled back whole (its members get the error).
func (b *batch) undo(ctx context.Context) {
	if _, err := b.tx.ExecContext(ctx, "ROLLBACK TO rb_member"); err != nil {
		b.broken = errors.Join(errors.New("store: a grouped transaction could not be rolled back to its savepoint"), err)
		return
	}
	if _, err := b.tx.ExecContext(ctx, "RELEASE rb_member"); err != nil {
		b.broken = errors.Join(errors.New("store: a grouped transaction could not release its savepoint"), err)
	}
}
