package store

import (
	"context"
	"database/sql"
	"sync"
)

// maxStatements bounds each pool's prepared statements. Queries are constant strings in the
// code, so a few hundred cover every one; past the bound a query runs unprepared (as before)
// rather than growing the cache.
const maxStatements = 512

// stmtCache keeps one prepared statement per query text for a pool, so a hot query is parsed
// and planned once per connection instead of on every call. SQLite only: pgx already keeps a
// per-connection statement cache for PostgreSQL.
type stmtCache struct {
	pool    *sql.DB
	dialect Dialect

	mu    sync.RWMutex
	stmts map[string]*sql.Stmt
}

func newStmtCache(pool *sql.DB, d Dialect) *stmtCache {
	return &stmtCache{pool: pool, dialect: d, stmts: make(map[string]*sql.Stmt)}
}

// get returns the prepared statement for query (written with $N placeholders), or nil when it
// is not cached and cannot be (the cache is full, or preparing failed: the caller then runs the
// query unprepared and gets the engine's own error).
func (c *stmtCache) get(ctx context.Context, query string) *sql.Stmt {
	if c == nil {
		return nil
	}
	s, ok, full := c.lookup(query)
	if ok || full {
		return s
	}
	return c.prepare(ctx, query)
}

// lookup returns the prepared statement for query, if any, and whether the cache is full.
func (c *stmtCache) lookup(query string) (s *sql.Stmt, ok, full bool) {
	if c == nil {
		return nil, false, true
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	s, ok = c.stmts[query]
	return s, ok, len(c.stmts) >= maxStatements
}

// prepare prepares query on the pool (on a connection of its own: never from inside a
// transaction on the same pool).
func (c *stmtCache) prepare(ctx context.Context, query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.stmts[query]; ok {
		return s
	}
	s, err := c.pool.PrepareContext(context.WithoutCancel(ctx), c.dialect.Rebind(query))
	if err != nil {
		return nil
	}
	c.stmts[query] = s
	return s
}

// close closes every statement.
func (c *stmtCache) close() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, s := range c.stmts {
		_ = s.Close()
		delete(c.stmts, q)
	}
}

// size is how many statements are prepared.
func (c *stmtCache) size() int {
	if c == nil {
		return 0
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.stmts)
}
