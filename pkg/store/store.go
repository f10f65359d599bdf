// Package store is the SQL state of Retailbridge's process services: one handle over SQLite (the
// embedded default) or PostgreSQL (DATABASE_URL), versioned migrations that each service embeds,
// and transactions that retry what the engine says is safe to retry.
//
// Queries are written once with $1-style placeholders and run on both engines. SQLite runs in WAL
// mode with synchronous=FULL (NORMAL can lose a committed transaction on power loss), foreign keys
// on, one writer connection that starts every transaction with BEGIN IMMEDIATE, and a pool of
// read-only connections for reads outside transactions.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // registers the "sqlite" database/sql driver
)

// Options tune a DB. The zero value is usable.
type Options struct {
	// BusyTimeout is how long SQLite waits for another process's lock before reporting BUSY,
	// after which InTx retries the transaction. Default 5s.
	BusyTimeout time.Duration
	// Readers is the size of SQLite's read-only connection pool. Default 4.
	Readers int
	// MaxConns caps PostgreSQL connections. Default 10.
	MaxConns int
	// TxAttempts is how many times InTx runs a transaction that fails with SQLite BUSY or a
	// PostgreSQL serialization failure or deadlock. Default 10.
	TxAttempts int
	// TxBackoff is the first retry delay; it doubles per attempt (with jitter) up to 32×. Default 5ms.
	TxBackoff time.Duration
	// SerialCommits turns SQLite's group commit off (group.go): each write transaction then
	// commits, and fsyncs, on its own. For measurements and for comparison only.
	SerialCommits bool
}

func (o Options) withDefaults() Options {
	if o.BusyTimeout <= 0 {
		o.BusyTimeout = 5 * time.Second
	}
	if o.Readers <= 0 {
		o.Readers = 4
	}
	if o.MaxConns <= 0 {
		o.MaxConns = 10
	}
	if o.TxAttempts <= 0 {
		o.TxAttempts = 10
	}
	if o.TxBackoff <= 0 {
		o.TxBackoff = 5 * time.Millisecond
	}
	return o
}

// DB is a process service's database.
type DB struct {
	dialect Dialect
	write   *sql.DB // SQLite: exactly one connection; PostgreSQL: the pool
	read    *sql.DB // SQLite: read-only pool; PostgreSQL: the same pool as write
	opts    Options
	// readStmts holds the read pool's prepared statements (SQLite only; nil on PostgreSQL,
	// whose driver caches statements itself).
	readStmts *stmtCache
	// watches are the change counters behind the read caches (cache.go).
	watches watchList
	// caches are the read caches by name (readCache).
	caches sync.Map
	// statements counts the statements run through db (and its transactions), so tests can
	// prove a read was answered from memory.
	statements atomic.Uint64
	// group shares commits between SQLite's write transactions (group.go); nil on PostgreSQL.
	group *group
	// writeTxs counts committed write transactions (InTx calls that committed); commits counts
	// the database COMMITs that made them durable, fewer when the group commit shares them.
	writeTxs, commits atomic.Uint64
}

// Statements returns how many SQL statements db and its transactions have run since Open.
func (db *DB) Statements() uint64 { return db.statements.Load() }

// Commits reports the write transactions committed through InTx since Open and the database
// commits (on SQLite, WAL appends each with an fsync) that made them durable: with the group
// commit several transactions share one commit. Both count a COMMIT as it is issued (and take it
// back if it fails), so whoever sees a transaction's effects sees it counted.
func (db *DB) Commits() (transactions, commits uint64) {
	return db.writeTxs.Load(), db.commits.Load()
}

// Open connects to rawURL and checks the connection:
//
//   - postgres://… or postgresql://… — PostgreSQL through pgx;
//   - sqlite:PATH, sqlite://PATH, file:PATH or a bare PATH — a SQLite file (created if missing);
//   - sqlite::memory: — a private in-memory SQLite database (one connection, for tests).
func Open(ctx context.Context, rawURL string, opts Options) (*DB, error) {
	opts = opts.withDefaults()
	switch {
	case strings.HasPrefix(rawURL, "postgres://"), strings.HasPrefix(rawURL, "postgresql://"):
		return openPostgres(ctx, rawURL, opts)
	case rawURL == "":
		return nil, errors.New("store: empty database URL")
	}
	path := rawURL
	for _, prefix := range []string{"sqlite://", "sqlite:", "file://", "file:"} {
		if strings.HasPrefix(path, prefix) {
			path = strings.TrimPrefix(path, prefix)
			break
		}
	}
	if i := strings.IndexByte(path, '?'); i >= 0 {
		return nil, fmt.Errorf("store: SQLite URL %q: parameters are set through Options, not the URL", rawURL)
	}
	if path == "" {
		return nil, fmt.Errorf("store: SQLite URL %q has no path", rawURL)
	}
	return openSQLite(ctx, path, opts)
}

func openPostgres(ctx context.Context, rawURL string, opts Options) (*DB, error) {
	db, err := sql.Open("pgx", rawURL)
	if err != nil {
		return nil, fmt.Errorf("store: open postgres: %w", err)
	}
	db.SetMaxOpenConns(opts.MaxConns)
	db.SetMaxIdleConns(opts.MaxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: connect postgres %s: %w", redact(rawURL), err)
	}
	return &DB{dialect: Postgres, write: db, read: db, opts: opts}, nil
}

func openSQLite(ctx context.Context, path string, opts Options) (*DB, error) {
	memory := path == ":memory:"
	busy := strconv.FormatInt(opts.BusyTimeout.Milliseconds(), 10)
	common := url.Values{}
	common.Add("_pragma", "busy_timeout("+busy+")")
	common.Add("_pragma", "foreign_keys(1)")
	common.Set("_time_format", "sqlite")

	wq := cloneValues(common)
	if !memory {
		wq.Add("_pragma", "journal_mode(WAL)")
	}
	wq.Add("_pragma", "synchronous(FULL)")
	// BEGIN IMMEDIATE takes the write lock up front, so a transaction waits (busy_timeout) instead
	// of failing halfway when it first writes.
	wq.Set("_txlock", "immediate")
	write, err := sql.Open("sqlite", path+"?"+wq.Encode())
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	// The writer connection switches the file to WAL before any reader opens it.
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("store: open sqlite %s: %w", path, err)
	}
	db := &DB{dialect: SQLite, write: write, read: write, opts: opts}
	if !opts.SerialCommits {
		db.group = newGroup(write, &db.writeTxs, &db.commits)
	}
	if memory {
		return db, nil
	}

	rq := cloneValues(common)
	rq.Add("_pragma", "query_only(1)")
	read, err := sql.Open("sqlite", path+"?"+rq.Encode())
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("store: open sqlite %s: %w", path, err)
	}
	read.SetMaxOpenConns(opts.Readers)
	read.SetMaxIdleConns(opts.Readers)
	if err := read.PingContext(ctx); err != nil {
		write.Close()
		read.Close()
		return nil, fmt.Errorf("store: open sqlite %s: %w", path, err)
	}
	db.read = read
	db.readStmts = newStmtCache(read, SQLite)
	return db, nil
}

func cloneValues(v url.Values) url.Values {
	c := make(url.Values, len(v))
	for k, vs := range v {
		c[k] = append([]string(nil), vs...)
	}
	return c
}

// redact drops the password from a database URL for error messages.
func redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// Dialect returns the engine behind db.
func (db *DB) Dialect() Dialect { return db.dialect }

// Close closes every connection.
func (db *DB) Close() error {
	db.readStmts.close()
	err := db.write.Close()
	if db.read != db.write {
		err = errors.Join(err, db.read.Close())
	}
	return err
}

// Exec runs a statement outside a transaction (on SQLite, through the writer connection).
func (db *DB) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	db.statements.Add(1)
	defer db.watches.changed(query)
	return db.write.ExecContext(ctx, db.dialect.Rebind(query), args...)
}

// Query runs a read outside a transaction (on SQLite, through the read-only pool). Its statement
// is prepared once per query text and connection (stmt.go): reads outside transactions are the
// hot ones (eligibility, order and stock reads).
func (db *DB) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	db.statements.Add(1)
	if s := db.readStmts.get(ctx, query); s != nil {
		return s.QueryContext(ctx, args...)
	}
	return db.read.QueryContext(ctx, db.dialect.Rebind(query), args...)
}

// QueryRow runs a single-row read outside a transaction.
func (db *DB) QueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	db.statements.Add(1)
	if s := db.readStmts.get(ctx, query); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return db.read.QueryRowContext(ctx, db.dialect.Rebind(query), args...)
}
